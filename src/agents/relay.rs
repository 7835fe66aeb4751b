//! `relay`: forwards each message to one remote A2A agent and streams the remote task's events
//! back as its own task's events (see [`TaskContext::delegate`]). Canceling the relay's task
//! cancels the remote task (cascading cancel). A follow-up message to a relay task waiting for
//! input continues the remote task.
//!
//! Settings (`[settings]` in the manifest):
//! - `url` (required): the remote agent's base URL (its card is discovered there).
//! - `headers` (optional): `{ Name = "value" }` sent on every call to it; `${VAR}` in a value
//!   is read from the environment (credentials stay out of the manifest).

use crate::runtime::{Agent, AgentError, Delegated, TaskContext};

/// The relay agent.
#[derive(Debug, Clone)]
pub struct Relay {
    url: String,
    headers: Vec<(String, String)>,
}

impl Relay {
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            headers: Vec::new(),
        }
    }

    /// Calls the remote agent with these extra headers.
    #[must_use]
    pub fn with_headers(mut self, headers: Vec<(String, String)>) -> Self {
        self.headers = headers;
        self
    }

    /// Reads `[settings]`.
    pub fn from_settings(settings: &toml::Table) -> Result<Self, String> {
        if let Some(k) = settings
            .keys()
            .find(|k| !matches!(k.as_str(), "url" | "headers"))
        {
            return Err(format!("unknown relay setting {k:?} (known: url, headers)"));
        }
        let headers = super::headers_setting(settings.get("headers"), "settings.headers")?;
        match settings.get("url") {
            Some(toml::Value::String(u)) if u.starts_with("http") => {
                Ok(Self::new(u.clone()).with_headers(headers))
            }
            _ => Err("settings.url must be the remote agent's http(s) URL".into()),
        }
    }
}

impl Relay {
    /// The remote agent and the headers it is called with.
    pub fn target(&self) -> (&str, &[(String, String)]) {
        (&self.url, &self.headers)
    }
}

impl Agent for Relay {
    async fn on_message(&self, ctx: TaskContext) -> Result<(), AgentError> {
        // A follow-up continues the remote task this task already relays to.
        let earlier = ctx.delegated_to();
        let url = earlier
            .as_ref()
            .map_or(self.url.as_str(), |d| d.url.as_str());
        let remote = ctx.remote_with(url, &self.headers).await?;
        let remote_task = earlier.as_ref().map(|d| d.task_id.as_str());
        match ctx.delegate(&remote, remote_task).await? {
            Delegated::Finished => Ok(()),
            Delegated::Unreachable(e) => {
                Err(AgentError::Failed(format!("remote agent {url}: {e}")))
            }
        }
    }
}
