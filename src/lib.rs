//! a2a-runtime: an A2A 1.0 runtime where every agent, session and task is a supervised actor
//! with a bounded mailbox, and every state change is written to a durable log before anyone hears
//! of it.

pub mod agents;
pub mod config;
pub mod protocol;
pub mod runtime;
pub mod store;
pub mod transport;

pub use config::AgentSpec;
pub use runtime::{
    Agent, AgentError, RecoveryReport, Runtime, RuntimeConfig, RuntimeError, TaskContext,
    text_artifact,
};
pub use store::Durability;
