//! In-process send→complete through the whole runtime (admission, agent, session and task
//! actors, the log with group commit), without HTTP. Run with `cargo bench --bench send`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use a2a_runtime::agents::Echo;
use a2a_runtime::protocol::{Message, SendMessageRequest};
use a2a_runtime::runtime::ANONYMOUS;
use a2a_runtime::{AgentSpec, Durability, Runtime, RuntimeConfig};
use criterion::{Criterion, criterion_group, criterion_main};

fn send_to_complete(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    for durability in [Durability::Fsync, Durability::Buffered] {
        let dir = tempfile::tempdir().unwrap();
        let runtime = rt.block_on(async {
            let cfg = RuntimeConfig {
                durability,
                ..RuntimeConfig::new(dir.path())
            };
            let runtime = Runtime::open(cfg).await.unwrap();
            runtime
                .add_agent(AgentSpec::new("echo"), Echo::default())
                .await
                .unwrap();
            runtime
        });
        let n = Arc::new(AtomicU64::new(0));
        let name = format!("send_to_complete/{durability:?}").to_lowercase();
        c.bench_function(&name, |b| {
            b.to_async(&rt).iter(|| {
                let id = format!("bench-{}", n.fetch_add(1, Ordering::Relaxed));
                let req = SendMessageRequest {
                    message: Some(Message::user_text(id, "hello")),
                    ..Default::default()
                };
                let runtime = runtime.clone();
                async move { runtime.send("echo", ANONYMOUS, req).await.unwrap() }
            })
        });
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(50);
    targets = send_to_complete
}
criterion_main!(benches);
