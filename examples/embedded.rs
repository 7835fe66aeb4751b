//! A custom agent embedded in a program: a multi-turn "greeter" that asks for a name when the
//! message has none, served over A2A next to the built-in echo agent.
//!
//! Run with: `cargo run --example embedded` (then try the curl lines it prints; Ctrl-C stops it).

use a2a_runtime::protocol::{Message, SendMessageRequest, SendMessageResponse};
use a2a_runtime::runtime::ANONYMOUS;
use a2a_runtime::{Agent, AgentError, AgentSpec, RuntimeConfig, Server, TaskContext, agents::Echo};

/// Greets by name; asks for the name first if the message is empty.
struct Greeter;

impl Agent for Greeter {
    async fn on_message(&self, ctx: TaskContext) -> Result<(), AgentError> {
        let name = ctx.text();
        if name.trim().is_empty() {
            // The task waits in INPUT_REQUIRED; the client's next message with this taskId
            // starts the next turn, with the whole history in `ctx.task()`.
            return ctx.input_required("What is your name?").await;
        }
        ctx.working("thinking of a greeting").await?;
        if ctx.is_retry() {
            tracing::info!(task = ctx.task_id(), "running again after a restart");
        }
        ctx.artifact_text("greeting", format!("Hello, {}!", name.trim()))
            .await?;
        ctx.complete().await
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt().with_env_filter("info").init();
    let data = std::env::temp_dir().join("a2a-embedded-example");
    let mut spec = AgentSpec::new("greeter");
    spec.description = "Greets you by name".into();
    spec.default = true;
    spec.mailbox.capacity = 64;
    let server = Server::builder(RuntimeConfig::new(&data))
        .listen("127.0.0.1:7421".parse()?)
        .agent(spec, Greeter)
        .agent(AgentSpec::new("echo"), Echo::default())
        .start()
        .await?;

    // Calling an agent in-process goes through the same path as a request over HTTP.
    let req = SendMessageRequest {
        message: Some(Message::user_text(uuid(), "Ada")),
        ..Default::default()
    };
    let runtime = server.runtime();
    if let SendMessageResponse::Task(task) = runtime.send("greeter", ANONYMOUS, req).await? {
        println!(
            "in-process: {:?} -> {}",
            task.status.state,
            task.artifacts[0].parts[0].text.as_deref().unwrap_or("")
        );
    }

    let url = server.base_url();
    println!(
        "serving greeter at {url}/ (card at /.well-known/agent-card.json, metrics at /metrics)"
    );
    println!(
        r#"try: curl -s {url}/ -H 'A2A-Version: 1.0' -H 'Content-Type: application/json' -d '{{"jsonrpc":"2.0","id":1,"method":"SendMessage","params":{{"message":{{"messageId":"{}","role":"ROLE_USER","parts":[{{"text":"Grace"}}]}}}}}}'"#,
        uuid()
    );
    server
        .run_until(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}

fn uuid() -> String {
    uuid::Uuid::new_v4().to_string()
}
