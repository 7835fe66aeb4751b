//! Streaming benchmark client: opens N SubscribeToTask streams on one task of a running
//! `a2a serve`, and reports the server's resident memory per 1,000 open (idle) streams and the
//! time from the final event's status timestamp to its arrival at each subscriber.
//!
//! Run with `benches/sse.sh` (it starts the server with a slow echo agent).
//! Arguments: URL SERVER_PID [N=1000]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

fn rss_kib(pid: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

fn now_ms() -> i128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i128)
        .unwrap_or(0)
}

fn rpc(method: &str, params: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
}

/// Reads SSE blocks until one whose data satisfies `want`; returns that data.
async fn read_until(
    resp: &mut reqwest::Response,
    buf: &mut String,
    want: impl Fn(&Value) -> bool,
) -> Option<Value> {
    loop {
        while let Some(end) = buf.find("\n\n") {
            let block: String = buf.drain(..end + 2).collect();
            if let Some(data) = block.lines().find_map(|l| l.strip_prefix("data: "))
                && let Ok(v) = serde_json::from_str::<Value>(data)
                && want(&v)
            {
                return Some(v);
            }
        }
        let chunk = resp.chunk().await.ok()??;
        buf.push_str(&String::from_utf8_lossy(&chunk));
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let url = args.next().ok_or("usage: sse_fanout URL SERVER_PID [N]")?;
    let pid = args.next().ok_or("usage: sse_fanout URL SERVER_PID [N]")?;
    let n: usize = args.next().map(|v| v.parse()).transpose()?.unwrap_or(1000);
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()?;
    let send = rpc(
        "SendMessage",
        json!({"message": {"messageId": format!("fanout-{}", now_ms()), "role": "ROLE_USER", "parts": [{"text": "fan out"}]},
               "configuration": {"returnImmediately": true}}),
    );
    let r: Value = client
        .post(&url)
        .header("A2A-Version", "1.0")
        .json(&send)
        .send()
        .await?
        .json()
        .await?;
    let task = r["result"]["task"]["id"]
        .as_str()
        .ok_or("no task id")?
        .to_owned();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = rss_kib(&pid);

    let mut streams = Vec::with_capacity(n);
    for _ in 0..n {
        let mut resp = client
            .post(&url)
            .header("A2A-Version", "1.0")
            .json(&rpc("SubscribeToTask", json!({"id": task})))
            .send()
            .await?;
        let mut buf = String::new();
        read_until(&mut resp, &mut buf, |v| v["result"].get("task").is_some())
            .await
            .ok_or("no first event")?;
        streams.push((resp, buf));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let open = rss_kib(&pid);
    let per_1000 = (open.saturating_sub(before)) as f64 / 1024.0 * 1000.0 / n as f64;
    println!(
        "idle streams: {n}; server RSS {:.1} MB -> {:.1} MB; {per_1000:.1} MB per 1,000 streams",
        before as f64 / 1024.0,
        open as f64 / 1024.0
    );

    let waits = streams.into_iter().map(|(mut resp, mut buf)| {
        tokio::spawn(async move {
            let done = read_until(&mut resp, &mut buf, |v| {
                v["result"]["statusUpdate"]["status"]["state"] == "TASK_STATE_COMPLETED"
            })
            .await?;
            let arrived = now_ms();
            let stamp = done["result"]["statusUpdate"]["status"]["timestamp"]
                .as_str()?
                .to_owned();
            Some((stamp, arrived))
        })
    });
    let mut lat = Vec::new();
    for w in waits {
        if let Some((stamp, arrived)) = w.await? {
            let t = time_ms(&stamp).ok_or("bad timestamp")?;
            lat.push(arrived - t);
        }
    }
    lat.sort();
    let pct = |p: f64| {
        lat.get(((lat.len() as f64 - 1.0) * p).round() as usize)
            .copied()
            .unwrap_or(-1)
    };
    println!(
        "final event to {} subscribers: status time -> arrival p50 {} ms, p99 {} ms, max {} ms",
        lat.len(),
        pct(0.5),
        pct(0.99),
        lat.last().copied().unwrap_or(-1)
    );
    Ok(())
}

/// Milliseconds since the epoch of an RFC 3339 UTC timestamp with milliseconds.
fn time_ms(s: &str) -> Option<i128> {
    let t = a2a_runtime::protocol::Timestamp::parse(s)?;
    Some(t.unix_nanos() / 1_000_000)
}
