//! `relay`: forwards each message to one remote A2A agent and streams the remote task's events
//! back as its own task's events. Canceling the relay's task cancels the remote task (cascading
//! cancel). A follow-up message to a relay task waiting for input continues the remote task.
//!
//! Settings (`[settings]` in the manifest):
//! - `url` (required): the remote agent's base URL (its card is discovered there).

use crate::client::{Client, ClientOptions, text_request};
use crate::protocol::{CancelTaskRequest, StreamResponse, TaskState};
use crate::runtime::{Agent, AgentError, TaskContext};

/// The relay agent.
#[derive(Debug, Clone)]
pub struct Relay {
    url: String,
}

impl Relay {
    pub fn new(url: impl Into<String>) -> Self {
        Self { url: url.into() }
    }

    /// Reads `[settings]`.
    pub fn from_settings(settings: &toml::Table) -> Result<Self, String> {
        if let Some(k) = settings.keys().find(|k| k.as_str() != "url") {
            return Err(format!("unknown relay setting {k:?} (known: url)"));
        }
        match settings.get("url") {
            Some(toml::Value::String(u)) if u.starts_with("http") => Ok(Self::new(u.clone())),
            _ => Err("settings.url must be the remote agent's http(s) URL".into()),
        }
    }
}

/// The remote task a relay task stands for, kept in the relay task's metadata.
const REMOTE_TASK: &str = "relayRemoteTaskId";

impl Agent for Relay {
    async fn on_message(&self, ctx: TaskContext) -> Result<(), AgentError> {
        let client = Client::discover(&self.url, ClientOptions::default())
            .await
            .map_err(|e| AgentError::Failed(format!("remote agent {}: {e}", self.url)))?;
        // A follow-up continues the remote task this task already relays to.
        let remote_task = ctx.task().history.iter().rev().find_map(|m| {
            m.metadata
                .as_ref()?
                .get(REMOTE_TASK)?
                .as_str()
                .map(str::to_owned)
        });
        let mut req = text_request(&ctx.text(), None, remote_task.as_deref(), false);
        if let Some(m) = req.message.as_mut() {
            m.parts.clone_from(&ctx.message().parts);
        }
        let mut stream = client
            .send_streaming(&req)
            .await
            .map_err(|e| AgentError::Failed(format!("remote agent: {e}")))?;
        let mut remote_id = remote_task;
        loop {
            let ev = tokio::select! {
                ev = stream.next() => ev,
                () = ctx.cancelled() => {
                    // Cascading cancel: the remote task goes too.
                    if let Some(id) = &remote_id {
                        let _ = client.cancel_task(&CancelTaskRequest { id: id.clone(), ..Default::default() }).await;
                    }
                    return Ok(());
                }
            };
            let Some(ev) = ev else {
                // The remote stream ended without a final state: treat it as done.
                return ctx.complete().await;
            };
            match ev.map_err(|e| AgentError::Failed(format!("remote agent: {e}")))? {
                StreamResponse::Task(t) => remote_id = Some(t.id),
                StreamResponse::Message(m) => return ctx.reply(m).await,
                StreamResponse::ArtifactUpdate(u) => {
                    ctx.artifact_chunk(u.artifact, u.append, u.last_chunk)
                        .await?;
                }
                StreamResponse::StatusUpdate(u) => {
                    let text = u
                        .status
                        .message
                        .as_ref()
                        .map(|m| m.text())
                        .unwrap_or_default();
                    match u.status.state {
                        TaskState::Working | TaskState::Submitted => ctx.working(text).await?,
                        TaskState::Completed => return ctx.complete_with(text).await,
                        TaskState::Failed => return ctx.fail(text).await,
                        TaskState::Rejected => return ctx.reject(text).await,
                        TaskState::Canceled => {
                            return ctx
                                .fail(format!("the remote task was canceled {text}"))
                                .await;
                        }
                        TaskState::InputRequired => {
                            // Remember the remote task for the follow-up.
                            let mut q =
                                crate::protocol::Message::agent(vec![crate::protocol::Part::text(
                                    text,
                                )]);
                            let mut meta = serde_json::Map::new();
                            meta.insert(
                                REMOTE_TASK.into(),
                                remote_id.clone().unwrap_or_default().into(),
                            );
                            q.metadata = Some(meta);
                            return ctx.input_required_with(q).await;
                        }
                        TaskState::AuthRequired => return ctx.auth_required(text).await,
                        _ => {}
                    }
                }
            }
        }
    }
}
