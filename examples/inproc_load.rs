use a2a_runtime::agents::Echo;
use a2a_runtime::protocol::{Message, SendMessageRequest};
use a2a_runtime::runtime::ANONYMOUS;
use a2a_runtime::{AgentSpec, Runtime, RuntimeConfig};
use std::time::Instant;
#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let dir = tempfile::tempdir().unwrap();
    let rt = Runtime::open(RuntimeConfig::new(dir.path())).await.unwrap();
    let mut spec = AgentSpec::new("echo");
    spec.mailbox.capacity = 1024;
    spec.mailbox.concurrency = 256;
    rt.add_agent(spec, Echo::default()).await.unwrap();
    let start = Instant::now();
    let n = 64;
    let per = 400;
    let tasks: Vec<_> = (0..n)
        .map(|w| {
            let rt = rt.clone();
            tokio::spawn(async move {
                for i in 0..per {
                    let req = SendMessageRequest {
                        message: Some(Message::user_text(format!("w{w}-{i}"), "hello")),
                        ..Default::default()
                    };
                    rt.send("echo", ANONYMOUS, req).await.unwrap();
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    println!(
        "in-process c=64: {:.0} sends/s",
        (n * per) as f64 / start.elapsed().as_secs_f64()
    );
}
