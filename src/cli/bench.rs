//! `a2a bench URL`: an open-loop load generator. Sends start at a constant rate whatever the
//! answers do, and each latency counts from the moment its send was due, so a slow server
//! cannot hide its queueing (no coordinated omission). At most `--concurrency` calls are in
//! flight; one that waits for a slot is late, and its lateness is in its latency.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use a2a_runtime::client::{Client, ClientError, ClientOptions, RetryPolicy, text_request};
use tokio::sync::{Mutex, Semaphore};

#[derive(clap::Args, Debug)]
pub struct BenchArgs {
    /// The agent's URL.
    pub url: String,
    /// Sends per second.
    #[arg(long, default_value_t = 1000.0)]
    pub rate: f64,
    /// Seconds to run.
    #[arg(long, default_value_t = 10.0)]
    pub duration: f64,
    /// Calls in flight at most.
    #[arg(long, default_value_t = 64)]
    pub concurrency: usize,
    /// SendStreamingMessage, read to the end, instead of a blocking SendMessage.
    #[arg(long)]
    pub stream: bool,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    /// Which binding: jsonrpc or rest.
    #[arg(long, default_value = "jsonrpc")]
    pub binding: String,
}

#[derive(Default)]
struct Results {
    latencies_us: Vec<u64>,
    errors: BTreeMap<String, u64>,
}

pub async fn run(args: BenchArgs) -> Result<(), ClientError> {
    let total = (args.rate * args.duration).round().clamp(1.0, 10_000_000.0) as u64;
    let bindings = match args.binding.to_ascii_lowercase().as_str() {
        "rest" | "http+json" => vec!["HTTP+JSON".into()],
        _ => vec!["JSONRPC".into()],
    };
    let opts = ClientOptions {
        bindings,
        // Measure the server, not the client's patience: no retries.
        retry: RetryPolicy {
            max_attempts: 1,
            ..RetryPolicy::default()
        },
        ..ClientOptions::default()
    };
    let client = Client::discover(&args.url, opts).await?;
    let slots = Arc::new(Semaphore::new(args.concurrency.max(1)));
    let results = Arc::new(Mutex::new(Results {
        latencies_us: Vec::with_capacity(total as usize),
        ..Results::default()
    }));
    let interval = Duration::from_secs_f64(1.0 / args.rate.max(0.001));
    let start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..total {
        let due = start + interval.mul_f64(i as f64);
        tokio::time::sleep_until(due.into()).await;
        let Ok(slot) = slots.clone().acquire_owned().await else {
            break;
        };
        let (client, results, stream) = (client.clone(), results.clone(), args.stream);
        tasks.spawn(async move {
            let req = text_request("bench", None, None, false);
            let outcome = if stream {
                match client.send_streaming(&req).await {
                    Ok(mut s) => {
                        let mut r = Ok(());
                        while let Some(ev) = s.next().await {
                            if let Err(e) = ev {
                                r = Err(e);
                                break;
                            }
                        }
                        r
                    }
                    Err(e) => Err(e),
                }
            } else {
                client.send(&req).await.map(|_| ())
            };
            let latency = due.elapsed();
            drop(slot);
            let mut r = results.lock().await;
            match outcome {
                Ok(()) => r.latencies_us.push(latency.as_micros() as u64),
                Err(e) => *r.errors.entry(e.name().to_owned()).or_default() += 1,
            }
        });
        // Keep the join set from holding every finished task.
        while tasks.try_join_next().is_some() {}
    }
    while tasks.join_next().await.is_some() {}
    let elapsed = start.elapsed().as_secs_f64();
    let mut r = results.lock().await;
    r.latencies_us.sort_unstable();
    let pct = |p: f64| -> f64 {
        let v = &r.latencies_us;
        if v.is_empty() {
            return 0.0;
        }
        v[((v.len() - 1) as f64 * p).round() as usize] as f64 / 1000.0
    };
    let ok = r.latencies_us.len() as u64;
    let errors: u64 = r.errors.values().sum();
    let report = serde_json::json!({
        "url": args.url,
        "binding": client.binding(),
        "stream": args.stream,
        "target_rate": args.rate,
        "sent": ok + errors,
        "ok": ok,
        "errors": r.errors,
        "seconds": elapsed,
        "throughput": ok as f64 / elapsed,
        "latency_ms": {"p50": pct(0.5), "p90": pct(0.9), "p99": pct(0.99), "p999": pct(0.999), "max": pct(1.0)},
    });
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).unwrap_or_default()
        );
    } else {
        println!(
            "{} sends at {:.0}/s for {:.1} s over {}{}: {ok} ok, {errors} errors, {:.0} ok/s",
            ok + errors,
            args.rate,
            elapsed,
            client.binding(),
            if args.stream { " (streaming)" } else { "" },
            ok as f64 / elapsed
        );
        println!(
            "latency from the intended send time: p50 {:.3} ms  p90 {:.3} ms  p99 {:.3} ms  p999 {:.3} ms  max {:.3} ms",
            pct(0.5),
            pct(0.9),
            pct(0.99),
            pct(0.999),
            pct(1.0)
        );
        for (kind, n) in &r.errors {
            println!("  {kind}: {n}");
        }
    }
    if ok == 0 && errors > 0 {
        return Err(r
            .errors
            .keys()
            .next()
            .map(|k| ClientError::Protocol(format!("every call failed ({k})")))
            .unwrap_or_else(|| ClientError::Protocol("every call failed".into())));
    }
    Ok(())
}
