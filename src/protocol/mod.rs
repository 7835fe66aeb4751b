//! The A2A wire model: ProtoJSON serde types, the JSON-RPC envelope, the gRPC messages and
//! status details, errors and version negotiation. Pure data: no I/O, no actors.

mod card;
pub(crate) mod de;
mod error;
pub mod grpc;
pub mod jsonrpc;
mod operation;
mod requests;
mod timestamp;
mod types;
pub(crate) mod v03;
pub mod validate;
mod version;

pub use card::*;
pub use error::{A2aError, ERROR_DOMAIN, ErrorKind};
pub use operation::{Operation, RestRoute, Verb, percent_encode};
pub use requests::*;
pub use timestamp::Timestamp;
pub use types::*;
pub use version::{PROTOCOL_VERSION, VERSION_HEADER, Version, negotiate};

#[cfg(test)]
mod tests;
