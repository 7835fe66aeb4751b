//! The client side of `a2a`: `card`, `send`, `get`, `list`, `cancel`, `stream`, `subscribe`.
//! Human-readable output by default, `--json` for scripts; exit status 0 on success, 1 with the
//! A2A error name on failure.

use a2a_runtime::client::{Client, ClientError, ClientOptions, EventStream, Token, text_request};
use a2a_runtime::protocol::{
    CancelTaskRequest, GetTaskRequest, ListTasksRequest, Part, SendMessageResponse, StreamResponse,
    Task, TaskState,
};

/// Options every client command takes.
#[derive(clap::Args, Debug, Clone)]
pub struct Common {
    /// The agent's URL (its base; the card is at /.well-known/agent-card.json below it).
    pub url: String,
    /// Print JSON instead of text.
    #[arg(long, global = true)]
    pub json: bool,
    /// An extra header, `Name: value` (repeatable).
    #[arg(long = "header", global = true)]
    pub headers: Vec<String>,
    /// A bearer token (sent as `Authorization: Bearer …`).
    #[arg(long, env = "A2A_TOKEN", global = true)]
    pub token: Option<String>,
    /// A command that prints a bearer token (e.g. `gcloud auth print-identity-token`); run
    /// again when the agent refuses the token it printed.
    #[arg(long, global = true, conflicts_with = "token")]
    pub token_command: Option<String>,
    /// Which binding to prefer: jsonrpc, rest or grpc.
    #[arg(long, global = true)]
    pub binding: Option<String>,
}

#[derive(clap::Subcommand, Debug)]
pub enum ClientCommand {
    /// Show an agent's card.
    Card(Common),
    /// Send a message and print the answer.
    Send {
        #[command(flatten)]
        common: Common,
        /// The text of the message.
        text: String,
        /// Attach a file (sent inline, base64; repeatable).
        #[arg(long = "file")]
        files: Vec<std::path::PathBuf>,
        /// Attach structured data: a JSON value (repeatable).
        #[arg(long = "data")]
        data: Vec<String>,
        /// Continue this context.
        #[arg(long)]
        context: Option<String>,
        /// Continue this task (one waiting for input).
        #[arg(long)]
        task: Option<String>,
        /// Answer as soon as the task exists (returnImmediately).
        #[arg(long)]
        no_wait: bool,
    },
    /// Show a task.
    Get {
        #[command(flatten)]
        common: Common,
        task: String,
    },
    /// List tasks.
    List {
        #[command(flatten)]
        common: Common,
        #[arg(long)]
        context: Option<String>,
        /// A state, e.g. completed or TASK_STATE_COMPLETED.
        #[arg(long)]
        status: Option<String>,
    },
    /// Cancel a task.
    Cancel {
        #[command(flatten)]
        common: Common,
        task: String,
    },
    /// Send a message and print its events as they arrive.
    Stream {
        #[command(flatten)]
        common: Common,
        text: String,
    },
    /// Follow a task's events.
    Subscribe {
        #[command(flatten)]
        common: Common,
        task: String,
    },
}

fn options(c: &Common) -> Result<ClientOptions, ClientError> {
    let mut opts = ClientOptions::default();
    for h in &c.headers {
        let (k, v) = h
            .split_once(':')
            .ok_or_else(|| ClientError::Protocol(format!("--header {h:?}: use `Name: value`")))?;
        opts.headers
            .push((k.trim().to_owned(), v.trim().to_owned()));
    }
    if let Some(t) = &c.token {
        opts.headers
            .push(("Authorization".into(), format!("Bearer {t}")));
    }
    if let Some(cmd) = c.token_command.clone() {
        opts = opts.bearer(move || token_from(cmd.clone()));
    }
    match c.binding.as_deref().map(str::to_ascii_lowercase).as_deref() {
        None => {}
        Some("rest" | "http+json") => opts.bindings = vec!["HTTP+JSON".into(), "JSONRPC".into()],
        Some("jsonrpc") => opts.bindings = vec!["JSONRPC".into(), "HTTP+JSON".into()],
        Some("grpc") => opts.bindings = vec!["GRPC".into()],
        Some(other) => {
            return Err(ClientError::Protocol(format!(
                "--binding {other:?}: jsonrpc, rest or grpc"
            )));
        }
    }
    Ok(opts)
}

/// Runs `cmd` with `sh -c` for a token: its output, trimmed. Its expiry is unknown, so it is
/// kept until the agent refuses it.
async fn token_from(cmd: String) -> Result<Token, String> {
    let out = tokio::process::Command::new("sh")
        .args(["-c", &cmd])
        .output()
        .await
        .map_err(|e| format!("--token-command {cmd:?}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "--token-command {cmd:?} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let value = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    if value.is_empty() {
        return Err(format!("--token-command {cmd:?} printed nothing"));
    }
    Ok(Token {
        value,
        expires_at: None,
    })
}

/// The parts `--file` and `--data` add to a message.
fn attachments(files: &[std::path::PathBuf], data: &[String]) -> Result<Vec<Part>, ClientError> {
    let mut parts = Vec::new();
    for path in files {
        let bytes = std::fs::read(path)
            .map_err(|e| ClientError::Protocol(format!("--file {}: {e}", path.display())))?;
        let mut p = Part::raw(&bytes);
        p.filename = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        p.media_type = media_type(path).into();
        parts.push(p);
    }
    for d in data {
        let v = serde_json::from_str(d)
            .map_err(|e| ClientError::Protocol(format!("--data {d:?} is not JSON: {e}")))?;
        parts.push(Part::data(v));
    }
    Ok(parts)
}

/// A media type from a file's extension (the common ones; anything else is octet-stream).
fn media_type(path: &std::path::Path) -> &'static str {
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase());
    match ext.as_deref() {
        Some("txt" | "md") => "text/plain",
        Some("json") => "application/json",
        Some("csv") => "text/csv",
        Some("html" | "htm") => "text/html",
        Some("pdf") => "application/pdf",
        Some("png") => "image/png",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("gif") => "image/gif",
        Some("svg") => "image/svg+xml",
        Some("wav") => "audio/wav",
        Some("mp3") => "audio/mpeg",
        _ => "application/octet-stream",
    }
}

/// Runs a client command; the error is printed by the caller with its name.
pub async fn run(cmd: ClientCommand) -> Result<(), ClientError> {
    let common = match &cmd {
        ClientCommand::Card(c) => c,
        ClientCommand::Send { common, .. }
        | ClientCommand::Get { common, .. }
        | ClientCommand::List { common, .. }
        | ClientCommand::Cancel { common, .. }
        | ClientCommand::Stream { common, .. }
        | ClientCommand::Subscribe { common, .. } => common,
    };
    let client = Client::discover(&common.url, options(common)?).await?;
    let json = common.json;
    match cmd {
        ClientCommand::Card(_) => {
            let card = client.card();
            if json {
                return print_json(card);
            }
            println!("{} {}  {}", card.name, card.version, card.description);
            for i in &card.supported_interfaces {
                println!(
                    "  {:<10} {}  (A2A {})",
                    i.protocol_binding, i.url, i.protocol_version
                );
            }
            let c = &card.capabilities;
            println!(
                "  streaming: {}  push: {}  extended card: {}",
                c.streaming.unwrap_or(false),
                c.push_notifications.unwrap_or(false),
                c.extended_agent_card.unwrap_or(false)
            );
            for s in &card.skills {
                println!("  skill {}: {}", s.id, s.description);
            }
            Ok(())
        }
        ClientCommand::Send {
            text,
            files,
            data,
            context,
            task,
            no_wait,
            ..
        } => {
            let mut req = text_request(&text, context.as_deref(), task.as_deref(), no_wait);
            if let Some(m) = req.message.as_mut() {
                m.parts.extend(attachments(&files, &data)?);
            }
            match client.send(&req).await? {
                SendMessageResponse::Task(t) if !json => print_task(&t),
                SendMessageResponse::Message(m) if !json => {
                    println!("{}", m.text());
                    Ok(())
                }
                other => print_json(&other),
            }
        }
        ClientCommand::Get { task, .. } => {
            let t = client
                .get_task(&GetTaskRequest {
                    id: task,
                    ..GetTaskRequest::default()
                })
                .await?;
            if json { print_json(&t) } else { print_task(&t) }
        }
        ClientCommand::List {
            context, status, ..
        } => {
            let state = match status {
                Some(s) => Some(parse_state(&s)?),
                None => None,
            };
            let page = client
                .list_tasks(&ListTasksRequest {
                    context_id: context.unwrap_or_default(),
                    status: state.unwrap_or_default(),
                    ..ListTasksRequest::default()
                })
                .await?;
            if json {
                return print_json(&page);
            }
            println!(
                "{:<36}  {:<15}  {:<36}  UPDATED",
                "TASK", "STATE", "CONTEXT"
            );
            for t in &page.tasks {
                println!(
                    "{:<36}  {:<15}  {:<36}  {}",
                    t.id,
                    state_name(t.status.state),
                    t.context_id,
                    t.status
                        .timestamp
                        .map(|ts| ts.to_string())
                        .unwrap_or_default()
                );
            }
            println!("({} of {})", page.tasks.len(), page.total_size);
            Ok(())
        }
        ClientCommand::Cancel { task, .. } => {
            let t = client
                .cancel_task(&CancelTaskRequest {
                    id: task,
                    ..CancelTaskRequest::default()
                })
                .await?;
            if json { print_json(&t) } else { print_task(&t) }
        }
        ClientCommand::Stream { text, .. } => {
            let stream = client
                .send_streaming(&text_request(&text, None, None, false))
                .await?;
            follow(stream, json).await
        }
        ClientCommand::Subscribe { task, .. } => {
            follow(client.subscribe(&task, None).await?, json).await
        }
    }
}

async fn follow(mut stream: EventStream, json: bool) -> Result<(), ClientError> {
    while let Some(ev) = stream.next().await {
        let ev = ev?;
        if json {
            print_json(&ev)?;
            continue;
        }
        match &ev {
            StreamResponse::Task(t) => println!("task {} [{}]", t.id, state_name(t.status.state)),
            StreamResponse::Message(m) => println!("{}", m.text()),
            StreamResponse::StatusUpdate(u) => {
                let text = u
                    .status
                    .message
                    .as_ref()
                    .map(|m| m.text())
                    .unwrap_or_default();
                let state = state_name(u.status.state);
                if text.is_empty() {
                    println!("[{state}]");
                } else {
                    println!("[{state}] {text}");
                }
            }
            StreamResponse::ArtifactUpdate(u) => {
                println!(
                    "[artifact {}] {}",
                    u.artifact.name,
                    parts_text(&u.artifact.parts)
                );
            }
        }
    }
    Ok(())
}

fn parts_text(parts: &[Part]) -> String {
    parts
        .iter()
        .map(|p| match (&p.text, &p.url, &p.raw, &p.data) {
            (Some(t), ..) => t.clone(),
            (_, Some(u), ..) => u.clone(),
            (_, _, Some(_), _) => format!("<{} bytes: {}>", p.media_type, p.filename),
            (_, _, _, Some(d)) => d.to_string(),
            _ => String::new(),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn print_task(t: &Task) -> Result<(), ClientError> {
    println!(
        "task {}  [{}]  context {}",
        t.id,
        state_name(t.status.state),
        t.context_id
    );
    if let Some(m) = &t.status.message {
        println!("  {}", m.text());
    }
    for a in &t.artifacts {
        println!("  artifact {}: {}", a.name, parts_text(&a.parts));
    }
    Ok(())
}

fn print_json<T: serde::Serialize>(v: &T) -> Result<(), ClientError> {
    let s = serde_json::to_string_pretty(v).map_err(|e| ClientError::Protocol(e.to_string()))?;
    println!("{s}");
    Ok(())
}

/// `completed` for TASK_STATE_COMPLETED.
fn state_name(s: TaskState) -> String {
    let wire = serde_json::to_value(s)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    wire.trim_start_matches("TASK_STATE_")
        .to_ascii_lowercase()
        .replace('_', "-")
}

fn parse_state(s: &str) -> Result<TaskState, ClientError> {
    let wire = if s.starts_with("TASK_STATE_") {
        s.to_owned()
    } else {
        format!("TASK_STATE_{}", s.to_ascii_uppercase().replace('-', "_"))
    };
    serde_json::from_value(serde_json::Value::String(wire))
        .map_err(|_| ClientError::Protocol(format!("--status {s:?} is not a task state")))
}
