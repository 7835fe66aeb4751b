//! a2a-runtime: an [A2A](https://a2a-protocol.org) 1.0 runtime where every agent, session and task
//! is a supervised actor with a bounded mailbox, and every state change is written to a durable
//! log before anyone hears of it.
//!
//! # Writing and serving an agent
//!
//! Implement [`Agent`]: one call per turn of a task, with everything about it in a
//! [`TaskContext`]. Every emitter returns once its event is in the log.
//!
//! ```no_run
//! use a2a_runtime::{Agent, AgentError, AgentSpec, RuntimeConfig, Server, TaskContext};
//!
//! struct Greeter;
//!
//! impl Agent for Greeter {
//!     async fn on_message(&self, ctx: TaskContext) -> Result<(), AgentError> {
//!         if ctx.text().is_empty() {
//!             // The task waits; the client's next message with this taskId is the next turn.
//!             return ctx.input_required("What is your name?").await;
//!         }
//!         ctx.working("thinking").await?;
//!         ctx.artifact_text("greeting", format!("hello, {}", ctx.text())).await?;
//!         ctx.complete().await
//!     }
//! }
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let mut spec = AgentSpec::new("greeter");
//! spec.mailbox.capacity = 64; // requests admitted at once; more wait, then get 429
//! let server = Server::builder(RuntimeConfig::new("./data"))
//!     .listen("127.0.0.1:7420".parse()?)
//!     .agent(spec, Greeter)
//!     .start() // opens the log, starts the agents, recovers, then listens
//!     .await?;
//! server
//!     .run_until(async {
//!         let _ = tokio::signal::ctrl_c().await;
//!     })
//!     .await?; // stop accepting, let running tasks finish, flush the log
//! # Ok(()) }
//! ```
//!
//! [`Server`] serves JSON-RPC, REST and agent cards on one address (and gRPC on another, with
//! [`server::ServerBuilder::grpc`]), `/metrics`, `/healthz` and `/readyz`. The same operations
//! are methods of [`Runtime`] (`send`, `get_task`, `list_tasks`, `cancel_task`, ...), which is
//! what the bindings call, and what a program calls in-process ([`Server::runtime`]).
//!
//! # Layers
//!
//! Dependencies point one way: [`protocol`] (the wire model, no I/O) ← [`store`] (the log) ←
//! [`runtime`] (actors, [`Agent`], [`TaskContext`]) ← [`transport`] (HTTP, JSON-RPC) ←
//! [`agents`] (built-in kinds) ← the `a2a` binary. [`config`] holds the manifest model.
//!
//! # What is promised
//!
//! - An acknowledged task survives `kill -9` (durability `fsync`, the default).
//! - A repeated `messageId` from the same caller to the same agent runs the agent once.
//! - A full agent answers 429 with `Retry-After`; no queue grows without bound.
//! - A handler that panics or fails fails only its own task.

pub mod agents;
pub mod backoff;
pub mod client;
pub mod config;
pub mod ids;
pub mod protocol;
pub mod push;
pub mod runtime;
pub mod server;
pub mod store;
pub mod transport;

pub use config::AgentSpec;
pub use runtime::{
    Agent, AgentError, Delegated, RecoveryReport, Runtime, RuntimeConfig, RuntimeError,
    TaskContext, text_artifact,
};
pub use server::{Server, ServerError};
pub use store::Durability;
