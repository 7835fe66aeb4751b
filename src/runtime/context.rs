//! What a handler gets for one turn: the message, the task so far, cancellation, and emitters.

use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use super::agent::AgentError;
use super::core::{Change, Refused, TaskCore};
use super::remote::{RemoteAgent, Remotes};
use crate::protocol::{Artifact, Message, Part, Task, TaskState};

/// One turn of one task, handed to [`Agent::on_message`](super::Agent::on_message).
///
/// Every emitter persists its event to the log before it returns (`Ok` means readers and
/// subscribers can see it); once the task is final, emitters return [`AgentError::TaskClosed`].
#[derive(Clone)]
pub struct TaskContext {
    pub(crate) core: Arc<TaskCore>,
    pub(crate) message: Arc<Message>,
    pub(crate) task: Arc<Task>,
    pub(crate) cancel: CancellationToken,
    pub(crate) attempt: u32,
    pub(crate) remotes: Arc<Remotes>,
}

impl std::fmt::Debug for TaskContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TaskContext")
            .field("task_id", &self.core.id)
            .field("attempt", &self.attempt)
            .finish_non_exhaustive()
    }
}

/// A one-part text artifact with a fresh id.
pub fn text_artifact(name: impl Into<String>, text: impl Into<String>) -> Artifact {
    Artifact {
        artifact_id: crate::ids::random(),
        name: name.into(),
        parts: vec![Part::text(text)],
        ..Artifact::default()
    }
}

fn text_message(text: impl Into<String>) -> Option<Message> {
    let text = text.into();
    (!text.is_empty()).then(|| Message::agent(vec![Part::text(text)]))
}

impl TaskContext {
    /// The message this turn answers.
    pub fn message(&self) -> &Message {
        &self.message
    }

    /// The text parts of the message, joined by newlines.
    pub fn text(&self) -> String {
        self.message.text()
    }

    /// The task as it was when the turn started: history (this message included) and artifacts.
    pub fn task(&self) -> &Task {
        &self.task
    }

    pub fn task_id(&self) -> &str {
        &self.core.id
    }

    pub fn context_id(&self) -> &str {
        &self.core.context_id
    }

    /// True when this turn runs again because the server stopped while an earlier attempt of
    /// the same turn was running. Side effects of the earlier attempt may have happened.
    pub fn is_retry(&self) -> bool {
        self.attempt > 1
    }

    /// 1 for the first attempt of this turn, then 2, 3, ... after crashes.
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// Cancelled when CancelTask is called (or the turn times out). The handler should stop
    /// soon after; it is aborted after the manifest's `cancel_grace_ms`.
    pub fn cancellation(&self) -> &CancellationToken {
        &self.cancel
    }

    pub fn is_cancelled(&self) -> bool {
        self.cancel.is_cancelled()
    }

    /// The remote agent at `url` (its base URL or card URL), reached through the runtime's
    /// actor for it: bounded calls in flight, one circuit breaker per remote for every task.
    /// [`TaskContext::delegate`] hands a whole turn to it.
    pub async fn remote(&self, url: &str) -> Result<RemoteAgent, AgentError> {
        self.remotes
            .get(url)
            .await
            .map_err(|e| AgentError::Failed(format!("remote agent {url}: {e}")))
    }

    /// The same, calling it with extra `headers` (say `Authorization` or an API key).
    pub async fn remote_with(
        &self,
        url: &str,
        headers: &[(String, String)],
    ) -> Result<RemoteAgent, AgentError> {
        self.remotes
            .get_with(url, headers)
            .await
            .map_err(|e| AgentError::Failed(format!("remote agent {url}: {e}")))
    }

    /// Completes when the task is cancelled.
    pub async fn cancelled(&self) {
        self.cancel.cancelled().await
    }

    async fn emit(&self, change: Change) -> Result<(), AgentError> {
        self.emit_all(vec![change]).await
    }

    async fn emit_all(&self, changes: Vec<Change>) -> Result<(), AgentError> {
        match self.core.apply_all(changes, None).await {
            Ok(_) => Ok(()),
            Err(Refused::Terminal(_)) => Err(AgentError::TaskClosed),
            Err(Refused::Storage(e)) => Err(AgentError::Storage(e)),
            Err(Refused::NotAllowed(why)) => Err(AgentError::Failed(why.to_owned())),
            Err(Refused::Duplicate(_)) => Err(AgentError::Failed("duplicate message".into())),
        }
    }

    /// The task is working; `text` (if not empty) becomes the status message.
    pub async fn working(&self, text: impl Into<String>) -> Result<(), AgentError> {
        self.emit(Change::Status(TaskState::Working, text_message(text)))
            .await
    }

    /// Adds an artifact, or replaces the one with the same `artifactId`.
    pub async fn artifact(&self, artifact: Artifact) -> Result<(), AgentError> {
        self.emit(Change::Artifact {
            artifact,
            append: false,
            last_chunk: false,
        })
        .await
    }

    /// Adds a one-part text artifact.
    pub async fn artifact_text(
        &self,
        name: impl Into<String>,
        text: impl Into<String>,
    ) -> Result<(), AgentError> {
        self.artifact(text_artifact(name, text)).await
    }

    /// Streams an artifact in chunks: the first chunk with `append = false`, the rest with
    /// `append = true` (their parts are added to the artifact with the same id); the last one
    /// with `last_chunk = true`.
    pub async fn artifact_chunk(
        &self,
        artifact: Artifact,
        append: bool,
        last_chunk: bool,
    ) -> Result<(), AgentError> {
        self.emit(Change::Artifact {
            artifact,
            append,
            last_chunk,
        })
        .await
    }

    /// The task is completed.
    pub async fn complete(&self) -> Result<(), AgentError> {
        self.emit(Change::Status(TaskState::Completed, None)).await
    }

    /// Adds `artifacts` and completes the task, as one write: a quick handler's whole answer
    /// costs one round trip to the log.
    pub async fn complete_with_artifacts(
        &self,
        artifacts: Vec<Artifact>,
    ) -> Result<(), AgentError> {
        let mut changes: Vec<Change> = artifacts
            .into_iter()
            .map(|artifact| Change::Artifact {
                artifact,
                append: false,
                last_chunk: false,
            })
            .collect();
        changes.push(Change::Status(TaskState::Completed, None));
        self.emit_all(changes).await
    }

    /// The task is completed, with a status message.
    pub async fn complete_with(&self, text: impl Into<String>) -> Result<(), AgentError> {
        self.emit(Change::Status(TaskState::Completed, text_message(text)))
            .await
    }

    /// The task failed.
    pub async fn fail(&self, text: impl Into<String>) -> Result<(), AgentError> {
        self.emit(Change::Status(TaskState::Failed, text_message(text)))
            .await
    }

    /// The agent refuses the task.
    pub async fn reject(&self, text: impl Into<String>) -> Result<(), AgentError> {
        self.emit(Change::Status(TaskState::Rejected, text_message(text)))
            .await
    }

    /// The task waits for the client's next message; `text` asks for it.
    pub async fn input_required(&self, text: impl Into<String>) -> Result<(), AgentError> {
        self.emit(Change::Status(TaskState::InputRequired, text_message(text)))
            .await
    }

    /// The same, with a whole message as the status message (parts, metadata).
    pub async fn input_required_with(&self, message: Message) -> Result<(), AgentError> {
        self.emit(Change::Status(TaskState::InputRequired, Some(message)))
            .await
    }

    /// The task waits for credentials; `text` says which.
    pub async fn auth_required(&self, text: impl Into<String>) -> Result<(), AgentError> {
        self.emit(Change::Status(TaskState::AuthRequired, text_message(text)))
            .await
    }

    /// The same, with a whole message as the status message.
    pub async fn auth_required_with(&self, message: Message) -> Result<(), AgentError> {
        self.emit(Change::Status(TaskState::AuthRequired, Some(message)))
            .await
    }

    /// Any state, with a whole status message (what a delegated task mirrors).
    pub(crate) async fn status_with(
        &self,
        state: TaskState,
        message: Option<Message>,
    ) -> Result<(), AgentError> {
        self.emit(Change::Status(state, message)).await
    }

    /// Answers with a bare Message instead of a task (only as the first thing a new task does).
    pub async fn reply(&self, message: Message) -> Result<(), AgentError> {
        self.emit(Change::Reply(message)).await
    }

    /// Answers with a bare text Message.
    pub async fn reply_text(&self, text: impl Into<String>) -> Result<(), AgentError> {
        self.reply(Message::agent(vec![Part::text(text)])).await
    }
}
