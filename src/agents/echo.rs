//! `echo`: completes each task with an artifact holding the text it received. When the turn
//! runs again after a restart, the artifact's metadata says which attempt it is (`"attempt": 2`).
//!
//! Settings (`[settings]` in the manifest):
//! - `delay_ms` (default 0): work this long before answering (reports WORKING first, and stops
//!   early when the task is canceled). Useful to try cancellation, overload and recovery.

use std::time::Duration;

use crate::runtime::{Agent, AgentError, TaskContext, text_artifact};

/// The echo agent.
#[derive(Debug, Clone, Default)]
pub struct Echo {
    pub delay: Duration,
}

impl Echo {
    /// Reads `[settings]`.
    pub fn from_settings(settings: &toml::Table) -> Result<Self, String> {
        let delay = match settings.get("delay_ms") {
            None => 0,
            Some(toml::Value::Integer(n)) if *n >= 0 => u64::try_from(*n).unwrap_or(0),
            Some(v) => {
                return Err(format!(
                    "settings.delay_ms must be a non-negative integer, got {v:?}"
                ));
            }
        };
        if let Some(k) = settings.keys().find(|k| k.as_str() != "delay_ms") {
            return Err(format!("unknown echo setting {k:?} (known: delay_ms)"));
        }
        Ok(Self {
            delay: Duration::from_millis(delay),
        })
    }
}

impl Agent for Echo {
    async fn on_message(&self, ctx: TaskContext) -> Result<(), AgentError> {
        if !self.delay.is_zero() {
            ctx.working("echoing").await?;
            tokio::select! {
                () = tokio::time::sleep(self.delay) => {}
                () = ctx.cancelled() => return Ok(()),
            }
        }
        let mut artifact = text_artifact("echo", ctx.text());
        if ctx.is_retry() {
            // Say so: the turn ran again after a restart (see `recovery.on_restart`).
            let mut meta = serde_json::Map::new();
            meta.insert("attempt".into(), ctx.attempt().into());
            artifact.metadata = Some(meta);
        }
        ctx.complete_with_artifacts(vec![artifact]).await
    }
}
