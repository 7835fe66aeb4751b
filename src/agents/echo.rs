//! `echo`: completes each task with an artifact holding the text it received. When the turn
//! runs again after a restart, the artifact's metadata says which attempt it is (`"attempt": 2`).
//!
//! Settings (`[settings]` in the manifest):
//! - `delay_ms` (default 0): work this long before answering (reports WORKING first, and stops
//!   early when the task is canceled). Useful to try cancellation, overload and recovery.
//! - `chunks` (default 0): stream the artifact as this many appended chunks, each holding the
//!   text and, in its metadata, `emittedAt` (RFC 3339, ms): what the streaming benchmark
//!   measures event latency and fan-out rate with.
//! - `chunk_every_ms` (default 0): pause between chunks (0: as fast as the log takes them).

use std::time::Duration;

use crate::runtime::{Agent, AgentError, TaskContext, text_artifact};

/// The echo agent.
#[derive(Debug, Clone, Default)]
pub struct Echo {
    pub delay: Duration,
    pub chunks: u64,
    pub chunk_every: Duration,
}

impl Echo {
    /// Reads `[settings]`.
    pub fn from_settings(settings: &toml::Table) -> Result<Self, String> {
        let number = |key: &str| match settings.get(key) {
            None => Ok(0),
            Some(toml::Value::Integer(n)) if *n >= 0 => Ok(u64::try_from(*n).unwrap_or(0)),
            Some(v) => Err(format!(
                "settings.{key} must be a non-negative integer, got {v:?}"
            )),
        };
        if let Some(k) = settings
            .keys()
            .find(|k| !matches!(k.as_str(), "delay_ms" | "chunks" | "chunk_every_ms"))
        {
            return Err(format!(
                "unknown echo setting {k:?} (known: delay_ms, chunks, chunk_every_ms)"
            ));
        }
        Ok(Self {
            delay: Duration::from_millis(number("delay_ms")?),
            chunks: number("chunks")?,
            chunk_every: Duration::from_millis(number("chunk_every_ms")?),
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
        if self.chunks > 0 {
            return self.in_chunks(&ctx).await;
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

impl Echo {
    async fn in_chunks(&self, ctx: &TaskContext) -> Result<(), AgentError> {
        let id = crate::ids::random();
        for i in 0..self.chunks {
            let mut chunk = text_artifact("echo", ctx.text());
            chunk.artifact_id.clone_from(&id);
            let mut meta = serde_json::Map::new();
            meta.insert("chunk".into(), i.into());
            meta.insert(
                "emittedAt".into(),
                crate::protocol::Timestamp::now().to_string().into(),
            );
            chunk.metadata = Some(meta);
            ctx.artifact_chunk(chunk, i > 0, i + 1 == self.chunks)
                .await?;
            if !self.chunk_every.is_zero() {
                tokio::time::sleep(self.chunk_every).await;
            }
        }
        ctx.complete().await
    }
}
