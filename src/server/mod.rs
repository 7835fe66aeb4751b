//! The one way to serve agents: [`Server`] installs the metrics recorder, opens the runtime,
//! starts the agents, recovers what a crash left, binds the listeners under one supervising
//! actor (the node), and shuts all of it down in order. The `a2a` binary, the integration tests
//! and the examples all start through it; an embedding program does too.
//!
//! ```no_run
//! use a2a_runtime::server::Server;
//! use a2a_runtime::{AgentSpec, RuntimeConfig, agents::Echo};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let server = Server::builder(RuntimeConfig::new("./data"))
//!     .listen("127.0.0.1:7420".parse()?)
//!     .agent(AgentSpec::new("echo"), Echo::default())
//!     .start()
//!     .await?;
//! println!("serving at {}", server.base_url());
//! server
//!     .run_until(async {
//!         let _ = tokio::signal::ctrl_c().await;
//!     })
//!     .await?;
//! # Ok(()) }
//! ```
//!
//! Order of shutdown: the listeners stop accepting, running tasks get their grace period, the
//! log is flushed, then open connections get a moment to close.

mod node;

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use metrics_exporter_prometheus::PrometheusHandle;
use ractor::ActorRef;

pub use self::node::Part;
use self::node::{Node, NodeArgs, NodeMsg};
use crate::config::AgentSpec;
use crate::runtime::{Agent, Background, DynAgent, Runtime, RuntimeConfig, RuntimeError};
use crate::store::{Store, StoreError};
use crate::transport::{self, CardUrls, HttpConfig};

/// Why a server did not start or stop cleanly. Each keeps its cause.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServerError {
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
    #[error("agent {name:?}: {source}")]
    Agent {
        name: String,
        #[source]
        source: RuntimeError,
    },
    #[error("recovery failed: {0}")]
    Recovery(#[source] RuntimeError),
    #[error("cannot listen on {addr} ({part}): {source}")]
    Bind {
        part: &'static str,
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot install the metrics recorder: {0}")]
    Metrics(String),
    #[error("the node actor: {0}")]
    Node(String),
    #[error("final flush failed: {0}")]
    Flush(#[source] StoreError),
}

/// Where `/metrics` gets its figures.
#[derive(Debug, Clone, Default)]
pub enum Metrics {
    /// Install this library's Prometheus recorder as the process's recorder (once per process;
    /// later servers in the same process share it). Fails if the program installed another.
    #[default]
    Install,
    /// Use a recorder the program installed itself.
    Handle(PrometheusHandle),
    /// No `/metrics` route (what is recorded goes to whatever recorder the process has).
    Off,
}

/// The process-wide recorder this library installed, if it did.
fn installed_recorder() -> Result<PrometheusHandle, ServerError> {
    static HANDLE: OnceLock<Result<PrometheusHandle, String>> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            metrics_exporter_prometheus::PrometheusBuilder::new()
                .install_recorder()
                .map_err(|e| e.to_string())
        })
        .clone()
        .map_err(ServerError::Metrics)
}

/// An agent waiting for the runtime to open.
enum PendingAgent {
    /// Built from Rust.
    Embedded(AgentSpec, Arc<dyn DynAgent>),
    /// A built-in kind a manifest names ([`crate::agents::spawn`]).
    Manifest(AgentSpec),
}

/// Settings of a [`Server`], before it opens anything.
pub struct ServerBuilder {
    runtime: RuntimeConfig,
    store: Option<Arc<dyn Store>>,
    http_addr: SocketAddr,
    grpc_addr: Option<SocketAddr>,
    http: HttpConfig,
    metrics: Metrics,
    grace: Duration,
    drain_notice: Duration,
    agents: Vec<PendingAgent>,
}

impl std::fmt::Debug for ServerBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerBuilder")
            .field("http_addr", &self.http_addr)
            .field("grpc_addr", &self.grpc_addr)
            .finish_non_exhaustive()
    }
}

impl ServerBuilder {
    /// The HTTP address (JSON-RPC, REST, cards, health, metrics). Default `127.0.0.1:7420`;
    /// port 0 picks a free one ([`Server::http_addr`] says which).
    pub fn listen(mut self, addr: SocketAddr) -> Self {
        self.http_addr = addr;
        self
    }

    /// Also serve the default agent over gRPC on `addr`.
    pub fn grpc(mut self, addr: SocketAddr) -> Self {
        self.grpc_addr = Some(addr);
        self
    }

    /// Settings of the HTTP binding (its `metrics` and `grpc_url` are set by the server).
    pub fn http(mut self, http: HttpConfig) -> Self {
        self.http = http;
        self
    }

    /// Where `/metrics` gets its figures (default: install this library's recorder).
    pub fn metrics(mut self, metrics: Metrics) -> Self {
        self.metrics = metrics;
        self
    }

    /// How long `/readyz` says "draining" before the listeners close, while requests are still
    /// served, so load balancers stop sending first (default 0: close at once).
    pub fn drain_notice(mut self, notice: Duration) -> Self {
        self.drain_notice = notice;
        self
    }

    /// How long running tasks get to finish when the server stops (default 10 s).
    pub fn grace(mut self, grace: Duration) -> Self {
        self.grace = grace;
        self
    }

    /// Runs the runtime over this store instead of opening sled in the data directory (a
    /// store that fails, for tests; another engine).
    pub fn store(mut self, store: Arc<dyn Store>) -> Self {
        self.store = Some(store);
        self
    }

    /// Adds an agent written in Rust.
    pub fn agent(mut self, spec: AgentSpec, agent: impl Agent) -> Self {
        self.agents
            .push(PendingAgent::Embedded(spec, Arc::new(agent)));
        self
    }

    /// Adds an agent whose manifest names a built-in kind (`echo`, `relay`, `router`, `tck`).
    pub fn manifest(mut self, spec: AgentSpec) -> Self {
        self.agents.push(PendingAgent::Manifest(spec));
        self
    }

    /// Installs the metrics recorder, opens the runtime and adds the agents; serves nothing
    /// yet. Add more agents through [`Server::runtime`], then [`Server::start`].
    pub async fn open(self) -> Result<Server, ServerError> {
        // Before anything records: the store, the agents and recovery take metric handles.
        let metrics = match self.metrics {
            Metrics::Install => Some(installed_recorder()?),
            Metrics::Handle(h) => Some(h),
            Metrics::Off => None,
        };
        let (runtime, background) = Runtime::open_supervised(self.store, &self.runtime).await?;
        for pending in self.agents {
            let (name, added) = match pending {
                PendingAgent::Embedded(spec, agent) => {
                    (spec.name.clone(), runtime.add_dyn_agent(spec, agent).await)
                }
                PendingAgent::Manifest(spec) => (
                    spec.name.clone(),
                    crate::agents::spawn(&runtime, spec).await,
                ),
            };
            added.map_err(|source| ServerError::Agent { name, source })?;
        }
        Ok(Server {
            runtime,
            background: Some(background),
            metrics,
            http_addr: self.http_addr,
            grpc_addr: self.grpc_addr,
            http: self.http,
            grace: self.grace,
            drain_notice: self.drain_notice,
            running: None,
        })
    }

    /// [`open`](Self::open), then [`Server::start`].
    pub async fn start(self) -> Result<Server, ServerError> {
        self.open().await?.start().await
    }
}

/// What a started server holds.
struct Running {
    node: ActorRef<NodeMsg>,
    stop: tokio::sync::watch::Sender<bool>,
    base_url: String,
    grpc_url: Option<String>,
}

impl Drop for Running {
    /// A server dropped without [`Server::shutdown`] still stops listening (and its node stops;
    /// the log is flushed by its own background flush, not waited for).
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        self.node.stop(None);
    }
}

/// A runtime and the listeners serving it, under one supervising actor.
pub struct Server {
    runtime: Runtime,
    /// What runs beside the runtime (push sender, reaper), until the node takes it.
    background: Option<Background>,
    metrics: Option<PrometheusHandle>,
    http_addr: SocketAddr,
    grpc_addr: Option<SocketAddr>,
    http: HttpConfig,
    grace: Duration,
    drain_notice: Duration,
    running: Option<Running>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("http_addr", &self.http_addr)
            .field("grpc_addr", &self.grpc_addr)
            .finish_non_exhaustive()
    }
}

impl Server {
    /// A server over the runtime `config` describes; see [`ServerBuilder`].
    pub fn builder(config: RuntimeConfig) -> ServerBuilder {
        ServerBuilder {
            runtime: config,
            store: None,
            http_addr: SocketAddr::from(([127, 0, 0, 1], 7420)),
            grpc_addr: None,
            http: HttpConfig::default(),
            metrics: Metrics::default(),
            grace: Duration::from_secs(10),
            drain_notice: Duration::ZERO,
            agents: Vec::new(),
        }
    }

    /// The runtime: its operations are the same ones the bindings call.
    pub fn runtime(&self) -> &Runtime {
        &self.runtime
    }

    /// The HTTP address, bound once started (the real port when 0 was asked for).
    pub fn http_addr(&self) -> SocketAddr {
        self.http_addr
    }

    /// The gRPC address, when gRPC is served.
    pub fn grpc_addr(&self) -> Option<SocketAddr> {
        self.grpc_addr
    }

    /// The origin cards advertise: the HTTP config's `public_url`, else `http://` and the
    /// bound address.
    pub fn base_url(&self) -> String {
        match &self.running {
            Some(r) => r.base_url.clone(),
            None => self.origin(),
        }
    }

    /// The gRPC `host:port` cards advertise, when gRPC is served.
    pub fn grpc_url(&self) -> Option<String> {
        self.running.as_ref().and_then(|r| r.grpc_url.clone())
    }

    fn origin(&self) -> String {
        match &self.http.public_url {
            Some(u) => u.trim_end_matches('/').to_owned(),
            None => format!("http://{}", self.http_addr),
        }
    }

    /// Resumes or fails what a crash left, binds the listeners and starts the node actor that
    /// supervises them. Traffic is accepted only after recovery.
    pub async fn start(mut self) -> Result<Self, ServerError> {
        // What runs beside the runtime goes to the node once: a second start does nothing.
        let Some(background) = self.background.take() else {
            return Ok(self);
        };
        let report = self
            .runtime
            .recover()
            .await
            .map_err(ServerError::Recovery)?;
        if report != Default::default() {
            tracing::info!(
                resumed = report.resumed,
                failed = report.failed,
                waiting = report.waiting,
                "recovered unfinished tasks"
            );
        }
        let http_listener = bind("http listener", self.http_addr).await?;
        self.http_addr = local_addr("http listener", self.http_addr, &http_listener)?;
        let grpc_listener = match self.grpc_addr {
            Some(addr) => {
                let l = bind("grpc listener", addr).await?;
                self.grpc_addr = Some(local_addr("grpc listener", addr, &l)?);
                Some(l)
            }
            None => None,
        };
        let base_url = self.origin();
        // Cards name gRPC as a bare host:port: the public URL's host, else the bound address.
        let grpc_url = self.grpc_addr.map(|bound| {
            let host = self
                .http
                .public_url
                .as_deref()
                .and_then(|u| u.split("://").nth(1))
                .and_then(|rest| rest.split(['/', ':']).next())
                .map(str::to_owned)
                .unwrap_or_else(|| bound.ip().to_string());
            format!("{host}:{}", bound.port())
        });
        let http = HttpConfig {
            metrics: self.metrics.clone(),
            grpc_url: grpc_url.clone(),
            ..self.http.clone()
        };
        // One set of bounds for every binding.
        let limits = transport::Limits::new(self.http.max_in_flight, self.http.max_streams);
        let app = transport::router(self.runtime.clone(), http, limits.clone());
        let grpc = match (grpc_listener, self.grpc_addr) {
            (Some(l), Some(addr)) => {
                let service = transport::grpc::A2aGrpc::new(
                    self.runtime.clone(),
                    CardUrls {
                        base: base_url.clone(),
                        grpc: grpc_url.clone(),
                    },
                    limits.clone(),
                );
                Some((l, addr, service))
            }
            _ => None,
        };
        let (stop, stop_rx) = tokio::sync::watch::channel(false);
        let node = Node::start(NodeArgs {
            runtime: self.runtime.clone(),
            background,
            metrics: self.metrics.clone(),
            http: (http_listener, self.http_addr, app),
            grpc,
            stop: stop_rx,
        })
        .await?;
        self.running = Some(Running {
            node,
            stop,
            base_url,
            grpc_url,
        });
        Ok(self)
    }

    /// Serves until `signal` completes, then shuts down in order ([`Server::shutdown`]).
    pub async fn run_until(
        self,
        signal: impl std::future::Future<Output = ()>,
    ) -> Result<(), ServerError> {
        signal.await;
        self.shutdown().await
    }

    /// Stops accepting, gives running tasks the grace period, flushes the log, then stops the
    /// node (open connections get a second to close).
    pub async fn shutdown(self) -> Result<(), ServerError> {
        tracing::info!(
            grace_secs = self.grace.as_secs(),
            "shutting down: no new requests; letting running tasks finish"
        );
        if self.running.is_some() && !self.drain_notice.is_zero() {
            tracing::info!(
                notice_ms = self.drain_notice.as_millis() as u64,
                "draining: /readyz says so; still serving until the notice ends"
            );
            self.runtime.announce_drain();
            tokio::time::sleep(self.drain_notice).await;
        }
        if let Some(r) = &self.running {
            let _ = r.stop.send(true);
        }
        let drained = self.runtime.shutdown(self.grace).await;
        if let Some(r) = self.running {
            node::stop(r.node.clone(), Duration::from_secs(1)).await;
        }
        drained.map_err(ServerError::Flush)?;
        tracing::info!("log flushed; bye");
        Ok(())
    }

    /// Fault injection for supervision tests: kills one of the node's parts, as a crash would.
    #[doc(hidden)]
    pub fn kill_part(&self, part: Part) -> bool {
        self.running
            .as_ref()
            .is_some_and(|r| r.node.cast(NodeMsg::Kill(part)).is_ok())
    }
}

async fn bind(
    part: &'static str,
    addr: SocketAddr,
) -> Result<tokio::net::TcpListener, ServerError> {
    tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| ServerError::Bind { part, addr, source })
}

fn local_addr(
    part: &'static str,
    addr: SocketAddr,
    l: &tokio::net::TcpListener,
) -> Result<SocketAddr, ServerError> {
    l.local_addr()
        .map_err(|source| ServerError::Bind { part, addr, source })
}
