//! Agents that call agents: a "writer" served by one runtime, and an "editor" in another that
//! asks the writer for a draft through `ctx.remote` (a plain call), then hands follow-up turns
//! to it whole with `ctx.delegate` (its events mirrored as the editor's own). Both runtimes are
//! in this process, each on its own port, talking real HTTP.
//!
//! Run with: `cargo run --example delegating`

use a2a_runtime::client::{Client, text_request};
use a2a_runtime::protocol::{SendMessageResponse, Task};
use a2a_runtime::{Agent, AgentError, AgentSpec, Delegated, RuntimeConfig, Server, TaskContext};

/// Writes a draft: the text, shouted.
struct Writer;

impl Agent for Writer {
    async fn on_message(&self, ctx: TaskContext) -> Result<(), AgentError> {
        ctx.working("drafting").await?;
        ctx.artifact_text("draft", ctx.text().to_uppercase())
            .await?;
        ctx.complete().await
    }
}

/// Gets a draft from the writer, then reviews it; "rewrite: …" hands the turn to the writer.
struct Editor {
    writer: String,
}

fn first_text(task: &Task) -> String {
    task.artifacts
        .first()
        .and_then(|a| a.parts.first())
        .and_then(|p| p.text.clone())
        .unwrap_or_default()
}

impl Agent for Editor {
    async fn on_message(&self, ctx: TaskContext) -> Result<(), AgentError> {
        let writer = ctx.remote(&self.writer).await?;
        if ctx.text().starts_with("rewrite:") {
            // The writer's task becomes this task: its events are mirrored here, and canceling
            // this task would cancel the writer's.
            return match ctx.delegate(&writer, None).await? {
                Delegated::Finished => Ok(()),
                Delegated::Unreachable(e) => Err(format!("the writer is unreachable: {e}").into()),
            };
        }
        ctx.working("asking the writer for a draft").await?;
        let answer = writer
            .send(text_request(&ctx.text(), None, None, false))
            .await
            .map_err(|e| AgentError::Failed(format!("the writer failed: {e}")))?;
        let draft = match answer {
            SendMessageResponse::Task(t) => first_text(&t),
            SendMessageResponse::Message(m) => m.text(),
        };
        ctx.artifact_text("review", format!("{draft} (reviewed: fine, but loud)"))
            .await?;
        ctx.complete().await
    }
}

/// A server on a free port with one agent; nothing but this example's own traffic.
async fn serve(
    dir: std::path::PathBuf,
    name: &str,
    agent: impl Agent,
) -> Result<Server, Box<dyn std::error::Error>> {
    Ok(Server::builder(RuntimeConfig::new(dir))
        .listen("127.0.0.1:0".parse()?)
        .agent(AgentSpec::new(name), agent)
        .start()
        .await?)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::temp_dir().join(format!("a2a-delegating-{}", std::process::id()));
    let writers = serve(dir.join("writer"), "writer", Writer).await?;
    let writer_url = format!("{}/agents/writer", writers.base_url());
    let editor = Editor {
        writer: writer_url.clone(),
    };
    let editors = serve(dir.join("editor"), "editor", editor).await?;
    let editor_url = format!("{}/agents/editor", editors.base_url());
    println!("writer at {writer_url}\neditor at {editor_url}");

    let client = Client::discover(&editor_url, Default::default()).await?;
    for text in ["a short story", "rewrite: a better story"] {
        match client.send_text(text).await? {
            SendMessageResponse::Task(t) => {
                println!("{text:?} -> {:?}: {}", t.status.state, first_text(&t));
            }
            SendMessageResponse::Message(m) => println!("{text:?} -> {}", m.text()),
        }
    }
    let remote = editors.runtime().remote(&writer_url).await?;
    println!(
        "the editor's breaker for the writer: {:?}",
        remote.breaker_state()
    );

    editors.shutdown().await?;
    writers.shutdown().await?;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
