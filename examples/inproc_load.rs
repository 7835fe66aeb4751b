//! In-process load: 64 concurrent senders calling `Runtime::send` on the echo agent, no HTTP.
//! Separates the runtime and log's cost from the transport's. Durability fsync, a fresh log in
//! a temp dir.
//!
//! Run with: `cargo run --release --example inproc_load`

use std::time::Instant;

use a2a_runtime::agents::Echo;
use a2a_runtime::protocol::{Message, SendMessageRequest};
use a2a_runtime::runtime::ANONYMOUS;
use a2a_runtime::{AgentSpec, Runtime, RuntimeConfig};

const SENDERS: usize = 64;
const SENDS_EACH: usize = 500;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::temp_dir().join(format!("a2a-inproc-load-{}", std::process::id()));
    let runtime = Runtime::open(RuntimeConfig::new(&dir)).await?;
    let mut spec = AgentSpec::new("echo");
    spec.mailbox.capacity = 1024;
    spec.mailbox.concurrency = 256;
    runtime.add_agent(spec, Echo::default()).await?;
    let start = Instant::now();
    let senders: Vec<_> = (0..SENDERS)
        .map(|w| {
            let runtime = runtime.clone();
            tokio::spawn(async move {
                for i in 0..SENDS_EACH {
                    let message = Message::user_text(format!("load-{w}-{i}"), "hello");
                    let req = SendMessageRequest {
                        message: Some(message),
                        ..Default::default()
                    };
                    runtime.send("echo", ANONYMOUS, req).await?;
                }
                Ok::<(), a2a_runtime::protocol::A2aError>(())
            })
        })
        .collect();
    for s in senders {
        s.await??;
    }
    let rate = (SENDERS * SENDS_EACH) as f64 / start.elapsed().as_secs_f64();
    println!("in-process, {SENDERS} concurrent senders: {rate:.0} sends/s");
    runtime.shutdown(std::time::Duration::from_secs(5)).await?;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
