//! Integration tests over real HTTP on 127.0.0.1 and a real sled log in a temp dir.

mod bindings;
mod client;
mod common;
mod jsonrpc_errors;
mod legacy;
mod malformed;
mod methods;
mod multiturn;
mod overload;
mod push;
mod relay;
mod rest;
mod retention;
mod router;
mod streaming;
mod supervision;
#[path = "../support/webhook.rs"]
mod webhook;
