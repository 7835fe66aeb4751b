//! Streaming benchmark client: opens N SubscribeToTask streams on one task of a running
//! `a2a serve`, and reports the server's resident memory per 1,000 open (idle) streams; then,
//! as the agent streams its chunks, the events per second delivered to all subscribers and the
//! time from each event's write to its arrival (p50, p99), and the same for the final event.
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

    // Every subscriber reads the chunks (each stamped `emittedAt` by the agent just before it
    // is written) and the final event, noting when each arrived. The client shares the machine
    // with the server, so it looks for the two markers in the bytes instead of parsing JSON.
    let readers: Vec<_> = streams
        .into_iter()
        .map(|(mut resp, buf)| {
            tokio::spawn(async move {
                let mut chunk_lat = Vec::new();
                let mut first_emitted = i128::MAX;
                let mut buf = buf.into_bytes();
                loop {
                    let Some(end) = find(&buf, b"\n\n") else {
                        let chunk = resp.chunk().await.ok()??;
                        buf.extend_from_slice(&chunk);
                        continue;
                    };
                    let arrived = now_ms();
                    let block: Vec<u8> = buf.drain(..end + 2).collect();
                    const EMITTED: &[u8] = br#""emittedAt":""#;
                    if let Some(at) = find(&block, EMITTED) {
                        let stamp = block.get(at + EMITTED.len()..at + EMITTED.len() + 24)?;
                        let t = time_ms(std::str::from_utf8(stamp).ok()?)?;
                        first_emitted = first_emitted.min(t);
                        chunk_lat.push(arrived - t);
                    } else if find(&block, b"TASK_STATE_COMPLETED").is_some() {
                        let v: Value =
                            serde_json::from_slice(block.strip_prefix(b"data: ").unwrap_or(&block))
                                .ok()
                                .or_else(|| {
                                    let line = block
                                        .split(|b| *b == b'\n')
                                        .find(|l| l.starts_with(b"data: "))?;
                                    serde_json::from_slice(&line[6..]).ok()
                                })?;
                        let t =
                            time_ms(v["result"]["statusUpdate"]["status"]["timestamp"].as_str()?)?;
                        return Some((chunk_lat, first_emitted, arrived - t, arrived));
                    }
                }
            })
        })
        .collect();
    let (mut chunk_lat, mut final_lat) = (Vec::new(), Vec::new());
    let (mut first, mut last) = (i128::MAX, 0i128);
    for r in readers {
        if let Some((lats, emitted, fin, arrived)) = r.await? {
            chunk_lat.extend(lats);
            final_lat.push(fin);
            first = first.min(emitted);
            last = last.max(arrived);
        }
    }
    let pct = |v: &mut Vec<i128>, p: f64| {
        v.sort_unstable();
        v.get(((v.len() as f64 - 1.0) * p).round() as usize)
            .copied()
            .unwrap_or(-1)
    };
    if !chunk_lat.is_empty() {
        let secs = (last - first) as f64 / 1000.0;
        println!(
            "fan-out: {} chunk events to {} subscribers in {secs:.2} s = {:.0} events/s delivered; write -> arrival p50 {} ms, p99 {} ms",
            chunk_lat.len() / final_lat.len().max(1),
            final_lat.len(),
            chunk_lat.len() as f64 / secs,
            pct(&mut chunk_lat, 0.5),
            pct(&mut chunk_lat, 0.99),
        );
    }
    println!(
        "final event to {} subscribers: status time -> arrival p50 {} ms, p99 {} ms",
        final_lat.len(),
        pct(&mut final_lat, 0.5),
        pct(&mut final_lat, 0.99),
    );
    Ok(())
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Milliseconds since the epoch of an RFC 3339 UTC timestamp with milliseconds.
fn time_ms(s: &str) -> Option<i128> {
    let t = a2a_runtime::protocol::Timestamp::parse(s)?;
    Some(t.unix_nanos() / 1_000_000)
}
