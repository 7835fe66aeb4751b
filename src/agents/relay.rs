//! `relay`: forwards each message to one remote A2A agent and streams the remote task's events
//! back as its own task's events (see [`TaskContext::delegate`]). Canceling the relay's task
//! cancels the remote task (cascading cancel). A follow-up message to a relay task waiting for
//! input continues the remote task.
//!
//! Settings (`[settings]` in the manifest):
//! - `url` (required): the remote agent's base URL (its card is discovered there).

use crate::runtime::{Agent, AgentError, Delegated, TaskContext};

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

impl Agent for Relay {
    async fn on_message(&self, ctx: TaskContext) -> Result<(), AgentError> {
        // A follow-up continues the remote task this task already relays to.
        let earlier = ctx.delegated_to();
        let url = earlier
            .as_ref()
            .map_or(self.url.as_str(), |d| d.url.as_str());
        let remote = ctx.remote(url).await?;
        let remote_task = earlier.as_ref().map(|d| d.task_id.as_str());
        match ctx.delegate(&remote, remote_task).await? {
            Delegated::Finished => Ok(()),
            Delegated::Unreachable(e) => {
                Err(AgentError::Failed(format!("remote agent {url}: {e}")))
            }
        }
    }
}
