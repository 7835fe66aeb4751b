//! Inbound bindings. Each translates wire calls into [`Runtime`](crate::Runtime) calls and
//! runtime results back into wire shapes; none holds task logic.

pub mod admin;
mod card;
pub mod grpc;
pub mod http;
mod jsonrpc;
mod legacy;
mod limits;
mod ops;
mod rest;

pub use card::{CardUrls, agent_card};
pub use http::{HttpConfig, router, serve};
pub use limits::Limits;
