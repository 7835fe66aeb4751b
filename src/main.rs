//! The `a2a` command line: parses arguments, calls the library, nothing else.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use a2a_runtime::push::{AddressPolicy, PushSettings};
use a2a_runtime::runtime::remote::RemoteOptions;
use a2a_runtime::store::Retention;
use a2a_runtime::transport::HttpConfig;
use a2a_runtime::{Durability, RuntimeConfig, Server, config};
use clap::{Parser, Subcommand, ValueEnum};

mod cli;

// sled and the HTTP stack allocate a lot from every thread; glibc malloc contends on its arenas.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "a2a",
    version,
    about = "A2A 1.0 runtime: serve agents as supervised actors over a durable log"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve every agent whose manifest is in the actors directory.
    Serve(ServeArgs),
    /// The push-notification dead-letter queue: deliveries that ran out of attempts.
    #[command(subcommand)]
    Dlq(cli::dlq::DlqCommand),
    #[command(flatten)]
    Client(cli::client::ClientCommand),
    /// Open-loop load: sends at a constant rate, latency from each send's due time.
    Bench(cli::bench::BenchArgs),
}

#[derive(clap::Args)]
struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:7420")]
    listen: SocketAddr,
    /// Directory of the durable log (created if missing).
    #[arg(long, default_value = "./data")]
    data: PathBuf,
    /// Directory of agent manifests (*.toml).
    #[arg(long, default_value = "./actors")]
    actors: PathBuf,
    /// When a write counts as acknowledged: after fsync, or after the write (flushed within 100 ms).
    #[arg(long, value_enum, default_value = "fsync")]
    durability: DurabilityArg,
    /// Memory the log may use as its page cache, in MiB.
    #[arg(long, default_value_t = 512)]
    cache_mb: u64,
    /// Memory for the filter that spares idempotency checks a read of the log, in MiB: holds
    /// ~13 million keys per 16 MiB at ~1% false positives (0 turns it off).
    #[arg(long, default_value_t = 16)]
    claim_filter_mb: usize,
    /// Largest request body in bytes; larger ones get 413.
    #[arg(long, default_value_t = 10 << 20)]
    max_body_bytes: usize,
    /// Requests served at once (all routes, HTTP and gRPC); more get 503 with Retry-After.
    #[arg(long, default_value_t = 10_000)]
    max_in_flight: usize,
    /// Streams open at once (SSE and gRPC); more get 429 with Retry-After.
    #[arg(long, default_value_t = 10_000)]
    max_streams: usize,
    /// Seconds between keep-alive comments on idle SSE streams (so proxies do not cut them).
    #[arg(long, default_value_t = 15)]
    sse_keepalive_secs: u64,
    /// Also serve the default agent over gRPC (lf.a2a.v1.A2AService) on this address.
    #[arg(long)]
    grpc_listen: Option<SocketAddr>,
    /// Base URL that agent cards advertise (default: http:// plus the request's Host).
    #[arg(long)]
    public_url: Option<String>,
    /// Seconds /readyz says "draining" on SIGINT/SIGTERM before the listeners close, while
    /// requests are still served (so load balancers stop sending first).
    #[arg(long, default_value_t = 0)]
    drain_notice_secs: u64,
    /// Seconds running tasks get to finish on SIGINT/SIGTERM before the log is flushed.
    #[arg(long, default_value_t = 10)]
    grace_secs: u64,
    /// Let webhooks reach this host (127.0.0.0/8, ::1, localhost). Off by default (SSRF).
    #[arg(long)]
    push_allow_loopback: bool,
    /// Let webhooks reach private and link-local networks (10/8, 172.16/12, 192.168/16,
    /// 169.254/16 including cloud metadata, fc00::/7). Off by default (SSRF).
    #[arg(long)]
    push_allow_private: bool,
    /// Attempts per push delivery before it goes to the dead-letter queue.
    #[arg(long, default_value_t = 10)]
    push_max_attempts: u32,
    /// Seconds after its event that a push delivery is retried at most.
    #[arg(long, default_value_t = 86_400)]
    push_window_secs: u64,
    /// Seconds one push attempt may take.
    #[arg(long, default_value_t = 10)]
    push_timeout_secs: u64,
    /// First push retry waits up to this many ms (full jitter), doubling per attempt (max 5 min).
    #[arg(long, default_value_t = 500)]
    push_backoff_ms: u64,
    /// Events kept per task; a reader resuming from before them gets the task and a resync event.
    #[arg(long, default_value_t = 10_000)]
    retain_events: u64,
    /// Days a final task is kept (with its events, webhooks and idempotency keys); 0 = forever.
    #[arg(long, default_value_t = 30)]
    retain_days: u64,
    /// Bearer token for the admin routes (/admin/…); without it they answer only local callers.
    #[arg(long, env = "A2A_ADMIN_TOKEN")]
    admin_token: Option<String>,
    /// Calls in flight at once to each remote agent (relay, router, `ctx.remote`).
    #[arg(long, default_value_t = 256)]
    remote_capacity: usize,
    /// How long a call to a remote agent waits for a free slot before failing (REMOTE_BUSY).
    #[arg(long, default_value_t = 5000)]
    remote_admission_ms: u64,
}

#[derive(Clone, Copy, ValueEnum)]
enum DurabilityArg {
    Fsync,
    Buffered,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,sled=warn,ractor=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("a2a: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = match cli.command {
        Command::Serve(args) => rt.block_on(serve(args)),
        Command::Dlq(cmd) => rt.block_on(cli::dlq::run(cmd)),
        Command::Bench(args) => rt
            .block_on(cli::bench::run(args))
            .map_err(|e| e.to_string()),
        Command::Client(cmd) => match rt.block_on(cli::client::run(cmd)) {
            Ok(()) => Ok(()),
            // The message starts with the error's name (TASK_NOT_FOUND, TRANSPORT, ...).
            Err(e) => Err(e.to_string()),
        },
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("a2a: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(args: ServeArgs) -> Result<(), String> {
    let manifests = config::load_manifests(&args.actors).map_err(|e| e.to_string())?;
    let durability = match args.durability {
        DurabilityArg::Fsync => Durability::Fsync,
        DurabilityArg::Buffered => Durability::Buffered,
    };
    let push = PushSettings {
        policy: AddressPolicy {
            allow_loopback: args.push_allow_loopback,
            allow_private: args.push_allow_private,
        },
        max_attempts: args.push_max_attempts.max(1),
        window: Duration::from_secs(args.push_window_secs),
        timeout: Duration::from_secs(args.push_timeout_secs.max(1)),
        backoff_base: Duration::from_millis(args.push_backoff_ms),
        ..PushSettings::default()
    };
    let config = RuntimeConfig {
        durability,
        cache_bytes: args.cache_mb << 20,
        claim_filter_bytes: args.claim_filter_mb.saturating_mul(1 << 20),
        push,
        retention: Retention {
            max_events_per_task: args.retain_events,
            finished_ttl: (args.retain_days > 0)
                .then(|| Duration::from_secs(args.retain_days * 24 * 3600)),
        },
        remote: RemoteOptions {
            capacity: args.remote_capacity.max(1),
            admission_timeout: Duration::from_millis(args.remote_admission_ms),
            ..RemoteOptions::default()
        },
        ..RuntimeConfig::new(&args.data)
    };
    let http = HttpConfig {
        max_body_bytes: args.max_body_bytes,
        public_url: args.public_url.clone(),
        max_in_flight: args.max_in_flight,
        max_streams: args.max_streams,
        admin_token: args.admin_token.clone(),
        keep_alive: Duration::from_secs(args.sse_keepalive_secs.max(1)),
        ..HttpConfig::default()
    };
    let mut builder = Server::builder(config)
        .listen(args.listen)
        .http(http)
        .grace(Duration::from_secs(args.grace_secs))
        .drain_notice(Duration::from_secs(args.drain_notice_secs));
    if let Some(addr) = args.grpc_listen {
        builder = builder.grpc(addr);
    }
    let mut paths = Vec::with_capacity(manifests.len());
    for (path, spec) in manifests {
        paths.push((spec.name.clone(), path));
        builder = builder.manifest(spec);
    }
    let server = builder.start().await.map_err(|e| match &e {
        // Name the manifest that describes the agent that failed.
        a2a_runtime::ServerError::Agent { name, source } => {
            match paths.iter().find(|(n, _)| n == name) {
                Some((_, path)) => format!("{}: {source}", path.display()),
                None => e.to_string(),
            }
        }
        _ => e.to_string(),
    })?;
    let runtime = server.runtime();
    let base = server.base_url();
    let default = runtime.default_agent();
    for spec in runtime.agents() {
        let also = if Some(&spec.name) == default.as_ref() {
            format!("  (default, also {base}/)")
        } else {
            String::new()
        };
        println!("agent {:<12} {base}/agents/{}{also}", spec.name, spec.name);
    }
    println!(
        "listening on {} (data {}, durability {:?})",
        server.http_addr(),
        args.data.display(),
        durability
    );
    if let Some(url) = server.grpc_url() {
        println!("grpc on {url} (the default agent, lf.a2a.v1.A2AService)");
    }
    server
        .run_until(shutdown_signal())
        .await
        .map_err(|e| e.to_string())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}
