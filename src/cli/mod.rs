//! Subcommands of the `a2a` binary other than `serve` (part of the binary, not the library).

pub mod bench;
pub mod client;
pub mod dlq;
