//! The `Agent` trait users implement, and its error type.

use std::future::Future;
use std::pin::Pin;

use super::context::TaskContext;
use crate::protocol::{A2aError, Message};

/// An A2A agent: called once per turn of a task with everything about it in a [`TaskContext`].
///
/// # Examples
///
/// ```
/// use a2a_runtime::{Agent, AgentError, TaskContext};
///
/// struct Greeter;
///
/// impl Agent for Greeter {
///     async fn on_message(&self, ctx: TaskContext) -> Result<(), AgentError> {
///         ctx.working("thinking").await?;
///         ctx.artifact_text("greeting", format!("hello, {}", ctx.text())).await?;
///         ctx.complete().await
///     }
/// }
/// ```
///
/// A turn that returns `Ok` without reaching a final or interrupted state completes the task; one
/// that returns `Err` or panics fails it with the error as the status message.
pub trait Agent: Send + Sync + 'static {
    /// Handles one turn: the first message of a task, a follow-up to an input-required task, or
    /// a retry after a crash ([`TaskContext::is_retry`]).
    fn on_message(&self, ctx: TaskContext) -> impl Future<Output = Result<(), AgentError>> + Send;

    /// Looks at a SendMessage before anything is created: an `Err` is the caller's answer (say,
    /// `ExtensionSupportRequired` or `ContentTypeNotSupported`) and no task comes to be.
    /// `extensions` are the ones the client activated (`A2A-Extensions`). Accepts everything by
    /// default.
    fn admit(&self, message: &Message, extensions: &[String]) -> Result<(), A2aError> {
        let _ = (message, extensions);
        Ok(())
    }
}

/// The boxed future of a turn.
pub(crate) type TurnFuture<'a> = Pin<Box<dyn Future<Output = Result<(), AgentError>> + Send + 'a>>;

/// Object-safe form of [`Agent`], so the runtime can hold agents of any type.
pub(crate) trait DynAgent: Send + Sync + 'static {
    fn call(&self, ctx: TaskContext) -> TurnFuture<'_>;
    fn admit(&self, message: &Message, extensions: &[String]) -> Result<(), A2aError>;
}

impl<A: Agent> DynAgent for A {
    fn call(&self, ctx: TaskContext) -> TurnFuture<'_> {
        Box::pin(self.on_message(ctx))
    }

    fn admit(&self, message: &Message, extensions: &[String]) -> Result<(), A2aError> {
        Agent::admit(self, message, extensions)
    }
}

/// Why a turn failed, or why an emit was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AgentError {
    /// The handler gave up; the message becomes the failed task's status message.
    #[error("{0}")]
    Failed(String),
    /// The task already reached a final state (completed, canceled, ...): nothing more can be
    /// emitted. A handler that sees this should return.
    #[error("the task is already in a final state")]
    TaskClosed,
    /// The log could not persist the event.
    #[error("storage failed: {0}")]
    Storage(String),
}

impl From<String> for AgentError {
    fn from(s: String) -> Self {
        Self::Failed(s)
    }
}

impl From<&str> for AgentError {
    fn from(s: &str) -> Self {
        Self::Failed(s.to_owned())
    }
}
