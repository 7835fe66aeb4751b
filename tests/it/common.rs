//! Test helpers: a real server on 127.0.0.1:0 over a real sled log in a temp dir, a JSON-RPC
//! client, a scripted agent, and `eventually` for waiting on conditions with a deadline.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use a2a_runtime::agents::Echo;
use a2a_runtime::transport::HttpConfig;
use a2a_runtime::{
    Agent, AgentError, AgentSpec, Runtime, RuntimeConfig, Server, TaskContext, text_artifact,
};
use serde_json::{Value, json};

pub struct TestServer {
    pub url: String,
    /// The default agent over gRPC (`host:port`).
    pub grpc: String,
    pub runtime: Runtime,
    pub client: reqwest::Client,
    /// The server itself (its node actor and listeners).
    pub server: Server,
    _dir: tempfile::TempDir,
}

impl TestServer {
    /// A server whose agents `setup` adds.
    pub async fn start<F, Fut>(setup: F) -> Self
    where
        F: FnOnce(Runtime) -> Fut,
        Fut: Future<Output = ()>,
    {
        Self::start_with(HttpConfig::default(), setup).await
    }

    pub async fn start_with<F, Fut>(http: HttpConfig, setup: F) -> Self
    where
        F: FnOnce(Runtime) -> Fut,
        Fut: Future<Output = ()>,
    {
        Self::start_full(|_| {}, http, setup).await
    }

    /// A server whose runtime settings `tweak` changes.
    pub async fn start_full<F, Fut>(
        tweak: impl FnOnce(&mut RuntimeConfig),
        http: HttpConfig,
        setup: F,
    ) -> Self
    where
        F: FnOnce(Runtime) -> Fut,
        Fut: Future<Output = ()>,
    {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut config = RuntimeConfig::new(dir.path());
        tweak(&mut config);
        let any_port = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
        let server = Server::builder(config)
            .listen(any_port)
            .grpc(any_port)
            .http(http)
            .open()
            .await
            .expect("runtime opens");
        setup(server.runtime().clone()).await;
        let server = server.start().await.expect("server starts");
        Self {
            url: server.base_url(),
            grpc: server.grpc_url().expect("gRPC is served"),
            runtime: server.runtime().clone(),
            client: reqwest::Client::new(),
            server,
            _dir: dir,
        }
    }

    /// A server with the built-in echo agent as default.
    pub async fn echo() -> Self {
        Self::start(|rt| async move {
            let mut spec = AgentSpec::new("echo");
            spec.default = true;
            rt.add_agent(spec, Echo::default()).await.expect("echo");
        })
        .await
    }

    /// Calls `method` on the default agent and returns the whole JSON-RPC response.
    pub async fn rpc(&self, method: &str, params: Value) -> Value {
        self.rpc_at("/", method, params).await
    }

    pub async fn rpc_at(&self, path: &str, method: &str, params: Value) -> Value {
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
        let resp = self
            .client
            .post(format!("{}{path}", self.url))
            .header("A2A-Version", "1.0")
            .json(&body)
            .send()
            .await
            .expect("request");
        assert_eq!(resp.status(), 200, "JSON-RPC answers 200");
        resp.json().await.expect("JSON body")
    }

    /// Sends raw bytes with the given headers; returns status, headers and body text.
    pub async fn raw(
        &self,
        path: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> (u16, reqwest::header::HeaderMap, String) {
        let mut req = self.client.post(format!("{}{path}", self.url)).body(body);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let resp = req.send().await.expect("request");
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        (status, headers, resp.text().await.expect("body"))
    }

    /// SendMessage with a fresh messageId; returns the `result`.
    pub async fn send(&self, text: &str) -> Value {
        self.send_msg(
            json!({"messageId": uuid(), "role": "ROLE_USER", "parts": [{"text": text}]}),
            json!({}),
        )
        .await
    }

    pub async fn send_msg(&self, message: Value, configuration: Value) -> Value {
        let r = self
            .rpc(
                "SendMessage",
                json!({"message": message, "configuration": configuration}),
            )
            .await;
        r.get("result")
            .cloned()
            .unwrap_or_else(|| panic!("SendMessage failed: {r}"))
    }

    /// GETs `path` and returns its JSON body.
    pub async fn get_json(&self, path: &str) -> Value {
        self.client
            .get(format!("{}{path}", self.url))
            .send()
            .await
            .expect("request")
            .json()
            .await
            .expect("a JSON body")
    }

    /// GETs a REST `path` as a 1.0 client (`A2A-Version: 1.0`) and returns its JSON body.
    pub async fn rest_get(&self, path: &str) -> Value {
        self.client
            .get(format!("{}{path}", self.url))
            .header("A2A-Version", "1.0")
            .send()
            .await
            .expect("request")
            .json()
            .await
            .expect("a JSON body")
    }

    /// A sample of `/metrics` by its name and labels as Prometheus prints them (0 if absent).
    pub async fn metric(&self, series: &str) -> f64 {
        let text = self
            .client
            .get(format!("{}/metrics", self.url))
            .send()
            .await
            .expect("request")
            .text()
            .await
            .expect("metrics text");
        text.lines()
            .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0.0)
    }

    pub async fn get_task(&self, id: &str) -> Value {
        let r = self.rpc("GetTask", json!({"id": id})).await;
        r.get("result")
            .cloned()
            .unwrap_or_else(|| panic!("GetTask failed: {r}"))
    }
}

pub fn uuid() -> String {
    format!("m-{}", ::uuid::Uuid::new_v4())
}

/// The JSON-RPC error code of a response.
pub fn code(resp: &Value) -> i64 {
    resp["error"]["code"]
        .as_i64()
        .unwrap_or_else(|| panic!("expected an error, got {resp}"))
}

pub fn state(task: &Value) -> &str {
    task["status"]["state"].as_str().unwrap_or("")
}

/// Polls `cond` every 10 ms until it holds or `deadline` passes.
pub async fn eventually<F, Fut>(deadline: Duration, mut cond: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let end = tokio::time::Instant::now() + deadline;
    loop {
        if cond().await {
            return true;
        }
        if tokio::time::Instant::now() > end {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// An agent whose behaviour is chosen by the message text, and that counts what it does.
#[derive(Default, Clone)]
pub struct Scripted {
    /// Handler runs per messageId.
    pub runs: Arc<Mutex<HashMap<String, usize>>>,
    /// Cancellations the handler observed.
    pub cancels_seen: Arc<AtomicUsize>,
}

impl Scripted {
    pub fn runs_of(&self, message_id: &str) -> usize {
        self.runs
            .lock()
            .unwrap()
            .get(message_id)
            .copied()
            .unwrap_or(0)
    }
}

impl Agent for Scripted {
    async fn on_message(&self, ctx: TaskContext) -> Result<(), AgentError> {
        *self
            .runs
            .lock()
            .unwrap()
            .entry(ctx.message().message_id.clone())
            .or_default() += 1;
        let text = ctx.text();
        match text.split(':').next().unwrap_or("") {
            "input" => ctx.input_required("what next?").await,
            "panic" => panic!("boom in handler"),
            "fail" => Err("it broke".into()),
            "reply" => ctx.reply_text("direct answer").await,
            "slow" => {
                let ms: u64 = text
                    .split(':')
                    .nth(1)
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(300);
                ctx.working("working slowly").await?;
                tokio::select! {
                    () = tokio::time::sleep(Duration::from_millis(ms)) => {}
                    () = ctx.cancelled() => {
                        self.cancels_seen.fetch_add(1, Ordering::SeqCst);
                        return Ok(());
                    }
                }
                ctx.complete_with_artifacts(vec![text_artifact("slow", "done")])
                    .await
            }
            "silent" => Ok(()),
            "churn" => {
                // `churn:N:BYTES`: N big events that replace one artifact, so the log grows by
                // N × BYTES while the task itself stays one artifact large.
                let mut args = text
                    .split(':')
                    .skip(1)
                    .map(|s| s.parse::<usize>().unwrap_or(1));
                let (n, bytes) = (args.next().unwrap_or(10), args.next().unwrap_or(1024));
                for i in 0..n {
                    let mut artifact =
                        text_artifact("churn", format!("{i:08}{}", "z".repeat(bytes)));
                    artifact.artifact_id = "churn".into();
                    ctx.artifact_chunk(artifact, false, false).await?;
                }
                ctx.complete().await
            }
            "steps" => {
                let n: usize = text
                    .split(':')
                    .nth(1)
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(3);
                ctx.working("stepping").await?;
                for i in 0..n {
                    ctx.artifact_text(format!("step-{i}"), format!("step {i}"))
                        .await?;
                }
                ctx.complete().await
            }
            "badappend" => {
                let chunk = a2a_runtime::protocol::Artifact {
                    artifact_id: "never-started".into(),
                    parts: vec![a2a_runtime::protocol::Part::text("x")],
                    ..Default::default()
                };
                ctx.artifact_chunk(chunk, true, false).await
            }
            _ => {
                let history = ctx.task().history.len();
                ctx.artifact_text("echo", format!("{text} (turn with {history} messages)"))
                    .await?;
                ctx.complete().await
            }
        }
    }
}

/// A server whose default agent is `Scripted`, with `spec` tweaks applied.
pub async fn scripted(tweak: impl FnOnce(&mut AgentSpec)) -> (TestServer, Scripted) {
    scripted_with(HttpConfig::default(), tweak).await
}

/// The same, with HTTP settings of its own.
pub async fn scripted_with(
    http: HttpConfig,
    tweak: impl FnOnce(&mut AgentSpec),
) -> (TestServer, Scripted) {
    scripted_full(|_| {}, http, tweak).await
}

/// The same, with runtime settings of its own too.
pub async fn scripted_full(
    runtime: impl FnOnce(&mut RuntimeConfig),
    http: HttpConfig,
    tweak: impl FnOnce(&mut AgentSpec),
) -> (TestServer, Scripted) {
    let agent = Scripted::default();
    let a = agent.clone();
    let server = TestServer::start_full(runtime, http, |rt| async move {
        let mut spec = AgentSpec::new("scripted");
        spec.default = true;
        tweak(&mut spec);
        rt.add_agent(spec, a).await.expect("scripted agent");
    })
    .await;
    (server, agent)
}

/// One server-sent event.
#[derive(Debug, Clone)]
pub struct SseEvent {
    pub id: Option<String>,
    pub event: Option<String>,
    pub data: Value,
}

/// A reader of `text/event-stream` per the W3C rules: `\n` or `\r\n` line ends, comments,
/// multi-line `data:` joined with `\n`, blank line ends an event.
#[derive(Debug)]
pub struct SseReader {
    resp: reqwest::Response,
    buf: String,
    pub comments: usize,
}

impl SseReader {
    pub fn new(resp: reqwest::Response) -> Self {
        Self {
            resp,
            buf: String::new(),
            comments: 0,
        }
    }

    /// The next event, or `None` when the server closed the stream.
    pub async fn next(&mut self) -> Option<SseEvent> {
        loop {
            let normalized = self.buf.replace("\r\n", "\n");
            if let Some(end) = normalized.find("\n\n") {
                let block = normalized[..end].to_owned();
                self.buf = normalized[end + 2..].to_owned();
                let (mut id, mut event, mut data) = (None, None, Vec::new());
                for line in block.lines() {
                    if line.starts_with(':') {
                        self.comments += 1;
                        continue;
                    }
                    let (field, value) = line
                        .split_once(':')
                        .map(|(f, v)| (f, v.strip_prefix(' ').unwrap_or(v)))
                        .unwrap_or((line, ""));
                    match field {
                        "id" => id = Some(value.to_owned()),
                        "event" => event = Some(value.to_owned()),
                        "data" => data.push(value.to_owned()),
                        _ => {}
                    }
                }
                if data.is_empty() {
                    continue; // a comment-only block (keep-alive)
                }
                let data = serde_json::from_str(&data.join("\n")).expect("event data is JSON");
                return Some(SseEvent { id, event, data });
            }
            match self.resp.chunk().await.expect("stream reads") {
                Some(bytes) => self.buf.push_str(&String::from_utf8_lossy(&bytes)),
                None => return None,
            }
        }
    }

    /// Every remaining event.
    pub async fn collect(mut self) -> Vec<SseEvent> {
        let mut out = Vec::new();
        while let Some(e) = self.next().await {
            out.push(e);
        }
        out
    }
}

impl TestServer {
    /// Calls a streaming method; returns the SSE reader, or the plain JSON-RPC error answer.
    pub async fn stream(
        &self,
        method: &str,
        params: Value,
        last_event_id: Option<&str>,
    ) -> Result<SseReader, Value> {
        let body = json!({"jsonrpc": "2.0", "id": 5, "method": method, "params": params});
        let mut req = self
            .client
            .post(&self.url)
            .header("A2A-Version", "1.0")
            .json(&body);
        if let Some(id) = last_event_id {
            req = req.header("Last-Event-ID", id);
        }
        let resp = req.send().await.expect("request");
        let ct = resp
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        if ct.starts_with("text/event-stream") {
            Ok(SseReader::new(resp))
        } else {
            Err(resp.json().await.expect("a JSON-RPC error"))
        }
    }
}

impl TestServer {
    /// Every event of a stream that must start (not answer a plain error), until it closes.
    pub async fn stream_all(
        &self,
        method: &str,
        params: Value,
        last_event_id: Option<&str>,
    ) -> Vec<SseEvent> {
        match self.stream(method, params, last_event_id).await {
            Ok(reader) => reader.collect().await,
            Err(e) => panic!("{method} answered an error instead of a stream: {e}"),
        }
    }
}

/// The `result` of an SSE event's JSON-RPC envelope.
pub fn result(e: &SseEvent) -> &Value {
    &e.data["result"]
}
