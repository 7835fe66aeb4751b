//! Handing a turn to a remote agent: [`TaskContext::delegate`] sends this turn's message to a
//! remote agent and mirrors the remote task's events as this task's own, and cancels the remote
//! task when this one is canceled (cascading cancel).
//!
//! The message goes out with this turn's `messageId`, so a turn that runs again after a crash
//! reaches the same remote task (the remote runs it once). When the remote task waits for input,
//! this task waits too, and remembers the remote task in its status message's metadata
//! ([`REMOTE_KEY`]); the next turn continues it with [`TaskContext::delegated_to`].

use std::time::Duration;

use serde_json::{Map, json};

use super::agent::AgentError;
use super::context::TaskContext;
use super::remote::{RemoteAgent, RemoteStream};
use crate::client::ClientError;
use crate::protocol::{
    CancelTaskRequest, Message, Part, SendMessageRequest, StreamResponse, Task, TaskState,
};

/// The status-message metadata naming the remote task a waiting task delegated to:
/// `{"url": ..., "taskId": ...}`.
pub const REMOTE_KEY: &str = "a2aRuntimeRemote";

/// Where a task's work went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delegation {
    /// The remote agent's URL.
    pub url: String,
    /// The remote task.
    pub task_id: String,
}

/// How a delegated turn ended.
#[derive(Debug)]
#[must_use]
pub enum Delegated {
    /// The remote task reached a final or interrupted state (or answered with a message, or
    /// this task was canceled); this task mirrors it.
    Finished,
    /// The remote could not be reached, or failed before it started a task: nothing was
    /// mirrored, so another agent may be tried.
    Unreachable(ClientError),
}

/// The delegation recorded in a task's history, newest first.
pub fn delegation_of(task: &Task) -> Option<Delegation> {
    task.history.iter().rev().find_map(|m| {
        let r = m.metadata.as_ref()?.get(REMOTE_KEY)?;
        Some(Delegation {
            url: r.get("url")?.as_str()?.to_owned(),
            task_id: r.get("taskId")?.as_str()?.to_owned(),
        })
    })
}

impl TaskContext {
    /// The remote task an earlier turn of this task delegated to and that waits for input.
    pub fn delegated_to(&self) -> Option<Delegation> {
        delegation_of(self.task())
    }

    /// Sends this turn's message (same parts and `messageId`) to `remote`, continuing
    /// `remote_task` when given, and mirrors the remote task here until it reaches a final or
    /// interrupted state. Canceling this task cancels the remote one.
    pub async fn delegate(
        &self,
        remote: &RemoteAgent,
        remote_task: Option<&str>,
    ) -> Result<Delegated, AgentError> {
        let message = Message {
            message_id: self.message().message_id.clone(),
            role: self.message().role,
            parts: self.message().parts.clone(),
            metadata: self.message().metadata.clone(),
            task_id: remote_task.unwrap_or_default().to_owned(),
            ..Message::default()
        };
        let req = SendMessageRequest {
            message: Some(message),
            ..SendMessageRequest::default()
        };
        // Opening is not interrupted by a cancel: the remote task may exist by then, and its
        // first event names it, so it can be canceled too.
        let mut stream = match remote.send_streaming(req).await {
            Ok(s) => s,
            Err(e) => return Ok(Delegated::Unreachable(e)),
        };
        let mut remote_id = remote_task.map(str::to_owned);
        let mut mirrored = false;
        loop {
            let ev = tokio::select! {
                ev = stream.next() => ev,
                () = self.cancelled() => {
                    if remote_id.is_none() {
                        remote_id = first_task_id(&mut stream).await;
                    }
                    if let Some(id) = &remote_id {
                        cancel_remote(remote, id).await;
                    }
                    return Ok(Delegated::Finished);
                }
            };
            let ev = match ev {
                // The remote stream ended without a final state: take it as done.
                None => {
                    self.complete().await?;
                    return Ok(Delegated::Finished);
                }
                Some(Err(e)) if !mirrored && remote_id.is_none() => {
                    return Ok(Delegated::Unreachable(e));
                }
                Some(Err(e)) => {
                    return Err(AgentError::Failed(format!(
                        "lost the remote task at {}: {e}",
                        remote.url()
                    )));
                }
                Some(Ok(ev)) => ev,
            };
            mirrored = true;
            match ev {
                StreamResponse::Task(t) => remote_id = Some(t.id),
                StreamResponse::Message(m) => {
                    self.reply(m).await?;
                    return Ok(Delegated::Finished);
                }
                StreamResponse::ArtifactUpdate(u) => {
                    remote_id.get_or_insert(u.task_id);
                    self.artifact_chunk(u.artifact, u.append, u.last_chunk)
                        .await?;
                }
                StreamResponse::StatusUpdate(u) => {
                    remote_id.get_or_insert(u.task_id);
                    // The remote's status message, whole (data parts, metadata), as ours.
                    let mut said = u.status.message.map(|mut m| {
                        m.message_id = crate::ids::random();
                        m.task_id.clear();
                        m.context_id.clear();
                        m
                    });
                    let state = match u.status.state {
                        TaskState::Submitted => TaskState::Working,
                        TaskState::Canceled => {
                            // Not canceled by us: for this task, the work failed.
                            let text = said.as_ref().map(Message::text).unwrap_or_default();
                            let why = format!("the remote task was canceled. {text}");
                            said = Some(Message::agent(vec![Part::text(why.trim_end())]));
                            TaskState::Failed
                        }
                        TaskState::InputRequired | TaskState::AuthRequired => {
                            // Wait with the remote task, remembering it for the next turn.
                            let mut q = said.unwrap_or_else(|| Message::agent(Vec::new()));
                            let mut meta = q.metadata.take().unwrap_or_else(Map::new);
                            meta.insert(
                                REMOTE_KEY.into(),
                                json!({"url": remote.url(), "taskId": remote_id.clone().unwrap_or_default()}),
                            );
                            q.metadata = Some(meta);
                            said = Some(q);
                            u.status.state
                        }
                        TaskState::Unspecified => continue,
                        other => other,
                    };
                    self.status_with(state, said).await?;
                    if state == TaskState::Working {
                        continue;
                    }
                    return Ok(Delegated::Finished);
                }
            }
        }
    }
}

/// The remote task's id from a stream's first event, waiting a little for it.
async fn first_task_id(stream: &mut RemoteStream) -> Option<String> {
    let first = tokio::time::timeout(Duration::from_secs(2), stream.next()).await;
    match first.ok()??.ok()? {
        StreamResponse::Task(t) => Some(t.id),
        StreamResponse::StatusUpdate(u) => Some(u.task_id),
        StreamResponse::ArtifactUpdate(u) => Some(u.task_id),
        StreamResponse::Message(_) => None,
    }
}

/// Cancels a remote task a canceled task delegated to; a remote that cannot be reached is
/// logged (its task expires on its side).
pub(crate) async fn cancel_remote(remote: &RemoteAgent, task_id: &str) {
    let req = CancelTaskRequest {
        id: task_id.to_owned(),
        ..Default::default()
    };
    if let Err(e) = remote.cancel_task(req).await {
        tracing::warn!(remote = %remote.url(), task = %task_id, error = %e, "cascading cancel failed");
    }
}
