//! Streaming benchmark: an agent streams a 50 MB artifact in 1 MB chunks while 10 subscribers
//! read it over SSE; prints the peak resident memory of the process (server and clients share
//! it) and checks that GetTask returns the artifact assembled.
//!
//! Run with: `cargo run --release --example chunked_artifact` (`SUBSCRIBERS=N` to vary them)

use a2a_runtime::protocol::{Artifact, Part};
use a2a_runtime::{Agent, AgentError, AgentSpec, RuntimeConfig, Server, TaskContext};
use serde_json::{Value, json};

const CHUNKS: usize = 50;
const CHUNK: usize = 1 << 20;
const SUBSCRIBERS: usize = 10;

fn subscribers() -> usize {
    std::env::var("SUBSCRIBERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(SUBSCRIBERS)
        .max(1)
}

struct Chunker;

impl Agent for Chunker {
    async fn on_message(&self, ctx: TaskContext) -> Result<(), AgentError> {
        let chunk = "x".repeat(CHUNK);
        for i in 0..CHUNKS {
            let artifact = Artifact {
                artifact_id: "big".into(),
                name: "big".into(),
                parts: vec![Part::text(chunk.clone())],
                ..Default::default()
            };
            ctx.artifact_chunk(artifact, i > 0, i == CHUNKS - 1).await?;
            // give the subscribers a moment to subscribe before the bulk arrives
            if i == 0 {
                tokio::time::sleep(std::time::Duration::from_millis(300)).await;
            }
        }
        ctx.complete().await
    }
}

fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
        .map(|kib| kib / 1024.0)
        .unwrap_or(0.0)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::temp_dir().join(format!("a2a-chunked-{}", std::process::id()));
    let mut spec = AgentSpec::new("chunker");
    spec.default = true;
    let server = Server::builder(RuntimeConfig {
        cache_bytes: 64 << 20,
        ..RuntimeConfig::new(&dir)
    })
    .listen("127.0.0.1:0".parse()?)
    .grace(std::time::Duration::from_secs(1))
    .agent(spec, Chunker)
    .start()
    .await?;
    let url = format!("{}/", server.base_url());
    let client = reqwest::Client::new();
    let call = |method: &str, params: Value| json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
    let r: Value = client
        .post(&url)
        .header("A2A-Version", "1.0")
        .json(&call("SendMessage", json!({"message": {"messageId": "big-1", "role": "ROLE_USER", "parts": [{"text": "go"}]}, "configuration": {"returnImmediately": true}})))
        .send()
        .await?
        .json()
        .await?;
    let task = r["result"]["task"]["id"]
        .as_str()
        .ok_or("no task")?
        .to_owned();
    let before = peak_rss_mb();
    let readers = (0..subscribers()).map(|_| {
        let (client, url, body) = (
            client.clone(),
            url.clone(),
            call("SubscribeToTask", json!({"id": task})),
        );
        tokio::spawn(async move {
            let mut resp = client
                .post(&url)
                .header("A2A-Version", "1.0")
                .json(&body)
                .send()
                .await
                .ok()?;
            let mut bytes = 0usize;
            while let Ok(Some(chunk)) = resp.chunk().await {
                bytes += chunk.len();
            }
            Some(bytes)
        })
    });
    let mut received = Vec::new();
    for r in readers {
        received.push(r.await?.unwrap_or(0));
    }
    let got: Value = client
        .post(&url)
        .header("A2A-Version", "1.0")
        .json(&call("GetTask", json!({"id": task})))
        .send()
        .await?
        .json()
        .await?;
    let assembled: usize = got["result"]["artifacts"][0]["parts"]
        .as_array()
        .map(|p| {
            p.iter()
                .map(|p| p["text"].as_str().map_or(0, str::len))
                .sum()
        })
        .unwrap_or(0);
    println!(
        "artifact of {CHUNKS} x {} MiB: each of {} subscribers read {:.1} MB; GetTask assembled {:.1} MB",
        CHUNK >> 20,
        subscribers(),
        received.first().copied().unwrap_or(0) as f64 / 1e6,
        assembled as f64 / 1e6
    );
    println!(
        "peak RSS of the process: {:.0} MB (before the subscribers: {before:.0} MB)",
        peak_rss_mb()
    );
    server.shutdown().await?;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
