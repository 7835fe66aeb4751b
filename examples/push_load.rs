//! Push benchmark client: a webhook receiver in this process, and N echo tasks sent to a running
//! `a2a serve --push-allow-loopback`, each with an inline webhook pointing here. Reports how fast
//! the tasks were sent and how many push deliveries per second arrived (every event of every
//! task: the task, its artifact, completed).
//!
//! Run with `benches/push.sh`. Arguments: URL [TASKS=5000] [CONCURRENCY=64]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::json;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let url = args
        .next()
        .ok_or("usage: push_load URL [TASKS] [CONCURRENCY]")?;
    let tasks: u64 = args.next().map(|v| v.parse()).transpose()?.unwrap_or(5000);
    let concurrency: u64 = args.next().map(|v| v.parse()).transpose()?.unwrap_or(64);

    // The webhook: counts deliveries, notes when the last one came.
    let received = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let last_ns = Arc::new(AtomicU64::new(0));
    let (r, l) = (received.clone(), last_ns.clone());
    let hook = axum::Router::new().fallback(move || {
        let (r, l) = (r.clone(), l.clone());
        async move {
            r.fetch_add(1, Ordering::Relaxed);
            l.fetch_max(start.elapsed().as_nanos() as u64, Ordering::Relaxed);
            "ok"
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let hook_url = format!("http://{}/hook", listener.local_addr()?);
    tokio::spawn(async move {
        let _ = axum::serve(listener, hook).await;
    });

    let client = reqwest::Client::new();
    let next = Arc::new(AtomicU64::new(0));
    let sent_at = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let (client, url, hook_url, next) =
            (client.clone(), url.clone(), hook_url.clone(), next.clone());
        workers.push(tokio::spawn(async move {
            let mut errors = 0u64;
            while next.fetch_add(1, Ordering::Relaxed) < tasks {
                let body = json!({"jsonrpc": "2.0", "id": 1, "method": "SendMessage", "params": {
                    "message": {"messageId": uuid::Uuid::new_v4().to_string(), "role": "ROLE_USER", "parts": [{"text": "push me"}]},
                    "configuration": {"taskPushNotificationConfig": {"url": hook_url, "token": "t"}}}});
                let ok = client
                    .post(&url)
                    .header("A2A-Version", "1.0")
                    .json(&body)
                    .send()
                    .await
                    .is_ok_and(|r| r.status().is_success());
                errors += u64::from(!ok);
            }
            errors
        }));
    }
    let mut errors = 0;
    for w in workers {
        errors += w.await?;
    }
    let send_secs = sent_at.elapsed().as_secs_f64();
    let want = tasks * 3;
    let deadline = Instant::now() + Duration::from_secs(300);
    while received.load(Ordering::Relaxed) < want && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let got = received.load(Ordering::Relaxed);
    // The receiver's clock starts at `start`, just before the first send.
    let push_secs = Duration::from_nanos(last_ns.load(Ordering::Relaxed)).as_secs_f64()
        - (sent_at - start).as_secs_f64();
    println!(
        "{tasks} tasks sent in {send_secs:.2} s ({:.0}/s, {errors} errors); {got} of {want} deliveries, the last {push_secs:.2} s after the first send: {:.0} deliveries/s",
        tasks as f64 / send_secs,
        got as f64 / push_secs,
    );
    Ok(())
}
