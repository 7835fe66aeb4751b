//! Memory under stalled readers, measured as this process's RSS: its own test binary, so no
//! other test shares the process while it measures.

#[allow(dead_code)]
#[path = "it/common.rs"]
mod common;

use common::scripted_full;
use serde_json::{Value, json};

fn msg(text: &str) -> Value {
    json!({"message": {"messageId": common::uuid(), "role": "ROLE_USER", "parts": [{"text": text}]}})
}

/// This process's resident memory, in bytes (Linux).
fn rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    kb * 1024
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscribers_that_never_read_do_not_grow_memory() {
    // A small page cache, so the log's own caching does not hide what streams hold.
    let (s, _) = scripted_full(
        |c| c.cache_bytes = 8 << 20,
        a2a_runtime::transport::HttpConfig::default(),
        |_| {},
    )
    .await;
    let before = rss();
    // 1,500 events of 64 KB (~94 MB through the log) while nine subscribers never read.
    let mut stalled = vec![
        s.stream("SendStreamingMessage", msg("churn:1500:65536"), None)
            .await
            .unwrap(),
    ];
    let first = s.rpc("ListTasks", json!({})).await;
    let id = first["result"]["tasks"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for _ in 0..8 {
        stalled.push(
            s.stream("SubscribeToTask", json!({"id": id}), Some("0"))
                .await
                .unwrap(),
        );
    }
    // Another subscriber reads everything (counting, not keeping) to the end meanwhile.
    let mut reader = s
        .stream("SubscribeToTask", json!({"id": id}), Some("0"))
        .await
        .unwrap();
    let (mut events, mut bytes, mut peak) = (0usize, 0u64, 0u64);
    let mut last = Value::Null;
    while let Some(e) = reader.next().await {
        events += 1;
        bytes += e.data.to_string().len() as u64;
        last = e.data;
        if events % 100 == 0 {
            peak = peak.max(rss());
        }
    }
    assert_eq!(
        last["result"]["statusUpdate"]["status"]["state"], "TASK_STATE_COMPLETED",
        "the reading subscriber got to the end while the others stalled"
    );
    assert_eq!(events, 1502, "the task, 1,500 artifacts, completed");
    // Were the stalled streams buffered, memory would grow by 9 × the data (~850 MB). It grows
    // by about the data once whether or not anyone stalls (the log's writing, measured with no
    // stalled reader: 111–113 MB here), plus a page and socket buffers per stalled stream.
    let grown = peak.saturating_sub(before);
    eprintln!(
        "with 9 stalled subscribers: RSS +{} MB for {} MB of events",
        grown >> 20,
        bytes >> 20
    );
    assert!(
        grown < 2 * bytes,
        "memory grew by {} MB while {} MB went through the log",
        grown >> 20,
        bytes >> 20
    );
    drop(stalled);
}
