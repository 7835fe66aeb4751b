//! `tck`: the agent the official A2A conformance suite (TCK) drives. It behaves by the prefix of
//! each message's `messageId`, as the suite's scenarios say (see `../shared/spec/tck.md` and the
//! suite's `scenarios/*.feature`); `tck/actors/tck.toml` serves it with everything the suite
//! probes declared (streaming, push, the extended card, a required extension).
//!
//! | `messageId` prefix | behaviour |
//! | --- | --- |
//! | `tck-complete-task` | completes with the agent message "Hello from TCK" |
//! | `tck-message-response` | answers with a bare Message "Direct message response" |
//! | `tck-input-required` | goes to (or stays in) INPUT_REQUIRED |
//! | `tck-reject-task` | rejects the task |
//! | `tck-artifact-text` / `-file` / `-file-url` / `-data` | one artifact of that kind, then completes |
//! | `tck-stream-001`, `-003`, `-ordering-001`, `tck-stream-artifact-text` / `-file` | WORKING, an artifact, COMPLETED |
//! | `tck-stream-artifact-chunked` | WORKING, two chunks of one artifact, COMPLETED |
//! | `tck-stream-002` | COMPLETED |
//! | `test-resubscribe-message-id` | WORKING, 4 s, COMPLETED |
//! | `tck-cap-ext-004` | refused with ExtensionSupportRequired unless the required extension is activated |
//! | anything else | completes with an agent message naming the messageId |

use std::time::Duration;

use serde_json::json;

use crate::protocol::{A2aError, Artifact, ErrorKind, Message, Part};
use crate::runtime::{Agent, AgentError, TaskContext, text_artifact};

/// The extension the suite's CORE-CAP-004 expects declared as required.
pub const REQUIRED_EXTENSION: &str = "urn:a2a:tck:required-extension";

/// The conformance-suite agent.
#[derive(Debug, Clone, Default)]
pub struct Tck;

fn artifact(name: &str, part: Part) -> Artifact {
    Artifact {
        artifact_id: crate::ids::random(),
        name: name.into(),
        parts: vec![part],
        ..Artifact::default()
    }
}

fn file_part(mut part: Part) -> Part {
    part.filename = "output.txt".into();
    part.media_type = "text/plain".into();
    part
}

impl Agent for Tck {
    fn admit(&self, message: &Message, extensions: &[String]) -> Result<(), A2aError> {
        if message.message_id.starts_with("tck-cap-ext-004")
            && !extensions.iter().any(|e| e == REQUIRED_EXTENSION)
        {
            return Err(A2aError::with_message(
                ErrorKind::ExtensionSupportRequired,
                format!("this agent requires extension {REQUIRED_EXTENSION}"),
            )
            .meta("extension", REQUIRED_EXTENSION));
        }
        Ok(())
    }

    async fn on_message(&self, ctx: TaskContext) -> Result<(), AgentError> {
        let id = ctx.message().message_id.clone();
        let is = |prefix: &str| id.starts_with(prefix);
        // Follow-ups to a waiting task behave by their own prefix too (the suite sends
        // `tck-input-required` to keep it waiting, `tck-complete-task` to finish it).
        if is("tck-stream-artifact-chunked") {
            ctx.working("").await?;
            let mut first = text_artifact("chunked", "chunk-1 ");
            ctx.artifact_chunk(first.clone(), false, false).await?;
            first.parts = vec![Part::text("chunk-2")];
            ctx.artifact_chunk(first, true, true).await?;
            return ctx.complete().await;
        }
        let streamed = [
            (
                "tck-stream-artifact-text",
                Part::text("Streamed text content"),
            ),
            ("tck-stream-artifact-file", file_part(Part::raw(b"tck"))),
            ("tck-stream-ordering-001", Part::text("Ordered output")),
            ("tck-stream-001", Part::text("Stream hello from TCK")),
            ("tck-stream-003", Part::text("Stream task lifecycle")),
        ];
        if let Some((_, part)) = streamed.into_iter().find(|(p, _)| is(p)) {
            ctx.working("").await?;
            ctx.artifact(artifact("output", part)).await?;
            return ctx.complete().await;
        }
        let one_artifact = [
            ("tck-artifact-text", Part::text("Generated text content")),
            (
                "tck-artifact-file-url",
                file_part(Part::url("https://example.com/output.txt")),
            ),
            ("tck-artifact-file", file_part(Part::raw(b"tck"))),
            (
                "tck-artifact-data",
                Part::data(json!({"key": "value", "count": 42})),
            ),
        ];
        if let Some((_, part)) = one_artifact.into_iter().find(|(p, _)| is(p)) {
            ctx.artifact(artifact("output", part)).await?;
            return ctx.complete().await;
        }
        if is("tck-stream-002") {
            return ctx.complete().await;
        }
        if is("test-resubscribe-message-id") {
            ctx.working("").await?;
            tokio::select! {
                () = tokio::time::sleep(Duration::from_secs(4)) => {}
                () = ctx.cancelled() => return Ok(()),
            }
            return ctx.complete().await;
        }
        if is("tck-message-response") {
            return ctx.reply_text("Direct message response").await;
        }
        if is("tck-input-required") {
            return ctx.input_required("Please provide more input").await;
        }
        if is("tck-reject-task") {
            return ctx.reject("rejected").await;
        }
        if is("tck-complete-task") {
            return ctx.complete_with("Hello from TCK").await;
        }
        ctx.complete_with(format!("Unhandled messageId prefix: {id}"))
            .await
    }
}
