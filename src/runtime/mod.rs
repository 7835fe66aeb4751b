//! The actor system: a supervisor of agent actors, a session actor per live `contextId`, a task
//! actor per live task, bounded admission in front of every agent, and the eleven operations as
//! [`Runtime`] methods that every binding calls.
//!
//! ```text
//! Runtime ── AgentSupervisor ── Agent(name) ── Session(contextId) ── Task(taskId)
//!                                 ▲ admission: a semaphore permit per request, carried to the
//!                                   task's turn and released when its handler is done
//! ```

mod agent;
mod agent_actor;
mod children;
mod context;
mod core;
mod delegate;
mod live;
mod operations;
mod push_config;
pub mod remote;
mod session;
mod stream;
mod supervisor;
mod task;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use ractor::{Actor, ActorRef};
use tokio::sync::{Semaphore, oneshot};

pub use agent::{Agent, AgentError};
pub use context::{TaskContext, text_artifact};
pub use delegate::{Delegated, Delegation, REMOTE_KEY, delegation_of};
pub use push_config::retry_dead_letters;
pub use stream::{StreamEvent, TaskStream};

pub(crate) use self::agent::DynAgent;
use self::agent_actor::AgentMsg;
use self::core::{Change, TaskCore};
pub(crate) use self::live::{LiveGuard, LiveTasks};
use self::remote::{RemoteAgent, RemoteOptions, Remotes};
use self::supervisor::{AgentSupervisor, SupervisorMsg};
use self::task::{TaskMsg, Turn, TurnKind};
use crate::config::{AgentSpec, OnRestart};
use crate::protocol::{A2aError, ErrorKind, Message, Part, TaskState};
use crate::push::PushSettings;
use crate::store::{Durability, Log, Retention, SledStore, Store, StoreError};

/// The principal of requests that carry no credentials.
pub const ANONYMOUS: &str = "anonymous";

/// Errors that stop the runtime from starting or an agent from being added.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RuntimeError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("push sender: {0}")]
    Push(#[from] crate::push::StartError),
    #[error("agent {0:?} is already running")]
    DuplicateAgent(String),
    #[error("invalid agent manifest: {0}")]
    InvalidSpec(String),
    #[error("actor system: {0}")]
    Actor(String),
    /// An actor or a reply channel of the actor system failed; its error is the source.
    #[error("actor system: {context}: {source}")]
    ActorFailed {
        context: &'static str,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A remote agent a manifest names could not be set up.
    #[error("remote agent {url}: {source}")]
    Remote {
        url: String,
        #[source]
        source: crate::client::ClientError,
    },
}

/// How the runtime stores its log.
#[derive(Debug, Clone)]
pub struct RuntimeConfig {
    pub data_dir: PathBuf,
    pub durability: Durability,
    /// Commits the store writer queues before committers wait.
    pub writer_queue: usize,
    /// Memory the log may use to cache its pages (sled's page cache).
    pub cache_bytes: u64,
    /// Memory for the filter that spares most idempotency checks a read of the log: ~10 bits
    /// per key the log holds keeps false positives near 1% (0: no filter, every check reads).
    pub claim_filter_bytes: usize,
    /// How push notifications are delivered.
    pub push: PushSettings,
    /// What the log keeps, and for how long.
    pub retention: Retention,
    /// How agents reach remote agents (see [`remote`]).
    pub remote: RemoteOptions,
}

impl RuntimeConfig {
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            data_dir: data_dir.into(),
            durability: Durability::Fsync,
            writer_queue: 8192,
            cache_bytes: 512 << 20,
            claim_filter_bytes: 16 << 20,
            push: PushSettings::default(),
            retention: Retention::default(),
            remote: RemoteOptions::default(),
        }
    }
}

/// What every actor of one agent shares.
pub(crate) struct AgentShared {
    pub spec: AgentSpec,
    pub handler: Arc<dyn DynAgent>,
    /// The bounded mailbox: one permit per admitted request, held until its turn is done.
    pub mailbox: Arc<Semaphore>,
    /// Handlers running at once.
    pub running: Arc<Semaphore>,
    pub log: Log,
    pub live: Arc<LiveTasks>,
    pub remotes: Arc<Remotes>,
}

/// An agent as the runtime holds it: shared parts plus its (restartable) actor.
pub(crate) struct AgentEntry {
    pub shared: Arc<AgentShared>,
    actor: RwLock<Option<ActorRef<AgentMsg>>>,
    pub healthy: AtomicBool,
}

impl AgentEntry {
    fn actor(&self) -> Option<ActorRef<AgentMsg>> {
        self.actor.read().ok().and_then(|a| a.clone())
    }

    pub(crate) fn set_actor(&self, actor: Option<ActorRef<AgentMsg>>) {
        if let Ok(mut a) = self.actor.write() {
            *a = actor;
        }
    }
}

/// What recovery did at start-up.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RecoveryReport {
    pub resumed: usize,
    pub failed: usize,
    /// Input- or auth-required tasks: they wait for their client, nothing to do.
    pub waiting: usize,
}

struct Inner {
    log: Log,
    agents: RwLock<HashMap<String, Arc<AgentEntry>>>,
    live: Arc<LiveTasks>,
    supervisor: ActorRef<SupervisorMsg>,
    remotes: Arc<Remotes>,
    closing: AtomicBool,
    /// Readiness says "draining" while requests are still served (a server's drain notice).
    draining: AtomicBool,
    /// Webhook addresses allowed (checked again when connecting).
    push: crate::push::AddressPolicy,
    /// Set when the runtime stops: open streams end, telling readers where to resume.
    shutdown: tokio::sync::watch::Sender<bool>,
    /// Parts serving this runtime from outside it (the server's listeners) that are down now,
    /// with why. Keyed by a fixed name per part, so it stays as small as the server.
    down: std::sync::Mutex<std::collections::BTreeMap<&'static str, String>>,
}

/// The runtime: agents, their actors and the log. Cheap to clone.
///
/// # Examples
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use a2a_runtime::{Agent, AgentError, AgentSpec, Runtime, RuntimeConfig, TaskContext};
///
/// struct Shout;
/// impl Agent for Shout {
///     async fn on_message(&self, ctx: TaskContext) -> Result<(), AgentError> {
///         ctx.artifact_text("loud", ctx.text().to_uppercase()).await?;
///         ctx.complete().await
///     }
/// }
///
/// let runtime = Runtime::open(RuntimeConfig::new("./data")).await?;
/// runtime.add_agent(AgentSpec::new("shout"), Shout).await?;
/// runtime.recover().await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Runtime {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime").finish_non_exhaustive()
    }
}

/// Deletes final tasks older than `ttl`, a bounded batch at a time, every minute.
async fn reap_loop(log: Log, ttl: Duration, mut shutdown: tokio::sync::watch::Receiver<bool>) {
    const BATCH: usize = 256;
    loop {
        let now = crate::protocol::Timestamp::now().unix_nanos();
        let cutoff = u64::try_from(now - ttl.as_nanos() as i128).unwrap_or(0);
        loop {
            match log.reap(cutoff, BATCH).await {
                Ok(n) if n == BATCH => tokio::task::yield_now().await,
                Ok(n) => {
                    if n > 0 {
                        tracing::info!(tasks = n, "retention: deleted expired final tasks");
                    }
                    break;
                }
                Err(e) => {
                    tracing::error!(error = %e, "retention: reaping failed");
                    break;
                }
            }
        }
        tokio::select! {
            () = tokio::time::sleep(Duration::from_secs(60)) => {}
            _ = shutdown.wait_for(|s| *s) => return,
        }
    }
}

/// A child's exit as a supervisor reads it from a supervision event: which actor, and why (its
/// error, its stop reason, or "stopped"); `None` for events that are no exit.
pub(crate) fn child_exit(evt: &ractor::SupervisionEvent) -> Option<(ractor::ActorId, String)> {
    match evt {
        ractor::SupervisionEvent::ActorFailed(cell, err) => Some((cell.get_id(), err.to_string())),
        ractor::SupervisionEvent::ActorTerminated(cell, _, reason) => Some((
            cell.get_id(),
            reason.clone().unwrap_or_else(|| "stopped".into()),
        )),
        _ => None,
    }
}

/// What a runtime runs beside its actors: the push sender and the reaper, each restartable,
/// and its agent supervisor. A [`Server`](crate::Server) runs the first two under its node
/// (restarted if they die) and watches the third; a bare [`Runtime`] runs them as tasks.
pub(crate) struct Background {
    pub push: Option<Run>,
    pub reaper: Option<Run>,
    pub supervisor: ractor::ActorCell,
}

/// Starts one run of a restartable part; a run ends with the runtime's shutdown signal.
pub(crate) type Run = Arc<dyn Fn() -> futures_util::future::BoxFuture<'static, ()> + Send + Sync>;

impl Background {
    /// Runs the push sender and the reaper as plain tasks (no supervision).
    fn spawn_tasks(self) {
        for run in [self.push, self.reaper].into_iter().flatten() {
            tokio::spawn(run());
        }
    }
}

pub(crate) fn internal(e: impl std::fmt::Display) -> A2aError {
    A2aError::with_message(ErrorKind::Internal, format!("internal error: {e}"))
}

impl Runtime {
    /// Opens the sled log in `config.data_dir` and starts the actor system.
    pub async fn open(config: RuntimeConfig) -> Result<Self, RuntimeError> {
        let store = Self::sled(&config)?;
        Self::with_store(store, &config).await
    }

    fn sled(config: &RuntimeConfig) -> Result<Arc<dyn Store>, RuntimeError> {
        let background_flush = match config.durability {
            Durability::Fsync => Some(1000),
            Durability::Buffered => Some(100),
        };
        let store = SledStore::open(&config.data_dir, config.cache_bytes, background_flush)?;
        Ok(Arc::new(store))
    }

    /// Starts the actor system over any [`Store`] (`config.data_dir` and `cache_bytes` unused),
    /// and the push sender, which delivers what the outbox holds (also what a restart left).
    pub async fn with_store(
        store: Arc<dyn Store>,
        config: &RuntimeConfig,
    ) -> Result<Self, RuntimeError> {
        let (runtime, background) = Self::boot(store, config).await?;
        background.spawn_tasks();
        Ok(runtime)
    }

    /// The runtime, and what runs beside it for the caller to supervise (a `Server`'s node).
    pub(crate) async fn open_supervised(
        store: Option<Arc<dyn Store>>,
        config: &RuntimeConfig,
    ) -> Result<(Self, Background), RuntimeError> {
        let store = match store {
            Some(s) => s,
            None => Self::sled(config)?,
        };
        Self::boot(store, config).await
    }

    async fn boot(
        store: Arc<dyn Store>,
        config: &RuntimeConfig,
    ) -> Result<(Self, Background), RuntimeError> {
        let log = Log::open(
            store,
            config.durability,
            config.writer_queue,
            config.claim_filter_bytes,
        )
        .with_max_events(config.retention.max_events_per_task);
        let shutdown = tokio::sync::watch::Sender::new(false);
        let push = crate::push::sender::Sender::new(
            log.clone(),
            config.push.clone(),
            shutdown.subscribe(),
        )?
        .map(|sender| {
            // Every run rescans the outbox first, so a restarted sender misses nothing.
            let sender = Arc::new(sender);
            let run: Run = Arc::new(move || {
                let sender = sender.clone();
                Box::pin(async move { sender.run().await })
            });
            run
        });
        // Retention's reaper: every run starts with a pass, then one a minute.
        let reaper = config.retention.finished_ttl.map(|ttl| {
            let (log, stop) = (log.clone(), shutdown.subscribe());
            let run: Run = Arc::new(move || Box::pin(reap_loop(log.clone(), ttl, stop.clone())));
            run
        });
        let (supervisor, _) = Actor::spawn(None, AgentSupervisor, ()).await.map_err(|e| {
            RuntimeError::ActorFailed {
                context: "cannot start the agent supervisor",
                source: Box::new(e),
            }
        })?;
        let remotes = Arc::new(
            Remotes::start(config.remote.clone())
                .await
                .map_err(RuntimeError::Actor)?,
        );
        let background = Background {
            push,
            reaper,
            supervisor: supervisor.get_cell(),
        };
        let runtime = Self {
            inner: Arc::new(Inner {
                log,
                agents: RwLock::new(HashMap::new()),
                live: Arc::new(LiveTasks::default()),
                supervisor,
                remotes,
                closing: AtomicBool::new(false),
                draining: AtomicBool::new(false),
                push: config.push.policy,
                shutdown,
                down: std::sync::Mutex::new(std::collections::BTreeMap::new()),
            }),
        };
        Ok((runtime, background))
    }

    /// Starts an agent actor for `agent`, configured by `spec`.
    pub async fn add_agent(&self, spec: AgentSpec, agent: impl Agent) -> Result<(), RuntimeError> {
        self.add_dyn_agent(spec, Arc::new(agent)).await
    }

    pub(crate) async fn add_dyn_agent(
        &self,
        spec: AgentSpec,
        handler: Arc<dyn DynAgent>,
    ) -> Result<(), RuntimeError> {
        spec.validate().map_err(RuntimeError::InvalidSpec)?;
        let name = spec.name.clone();
        if self.entry(&name).is_some() {
            return Err(RuntimeError::DuplicateAgent(name));
        }
        let shared = Arc::new(AgentShared {
            mailbox: Arc::new(Semaphore::new(spec.mailbox.capacity)),
            running: Arc::new(Semaphore::new(spec.mailbox.concurrency)),
            spec,
            handler,
            log: self.inner.log.clone(),
            live: self.inner.live.clone(),
            remotes: self.inner.remotes.clone(),
        });
        let entry = Arc::new(AgentEntry {
            shared,
            actor: RwLock::new(None),
            healthy: AtomicBool::new(true),
        });
        let (tx, rx) = oneshot::channel();
        self.inner
            .supervisor
            .cast(SupervisorMsg::Start(entry.clone(), tx))
            .map_err(|e| RuntimeError::Actor(e.to_string()))?;
        rx.await
            .map_err(|e| RuntimeError::ActorFailed {
                context: "the agent supervisor did not answer",
                source: Box::new(e),
            })?
            .map_err(RuntimeError::Actor)?;
        if let Ok(mut agents) = self.inner.agents.write() {
            agents.insert(name, entry);
        }
        Ok(())
    }

    /// The remote agent at `url`, shared by every agent of this runtime (one breaker per
    /// remote); see [`TaskContext::remote`] for handlers.
    pub async fn remote(&self, url: &str) -> Result<RemoteAgent, crate::client::ClientError> {
        self.inner.remotes.get(url).await
    }

    /// The same, calling it with extra `headers` (credentials).
    pub async fn remote_with(
        &self,
        url: &str,
        headers: &[(String, String)],
    ) -> Result<RemoteAgent, crate::client::ClientError> {
        self.inner.remotes.get_with(url, headers).await
    }

    fn entry(&self, name: &str) -> Option<Arc<AgentEntry>> {
        self.inner
            .agents
            .read()
            .ok()
            .and_then(|a| a.get(name).cloned())
    }

    /// The manifests of the running agents, sorted by name.
    pub fn agents(&self) -> Vec<AgentSpec> {
        let mut specs: Vec<AgentSpec> = self
            .inner
            .agents
            .read()
            .map(|a| a.values().map(|e| e.shared.spec.clone()).collect())
            .unwrap_or_default();
        specs.sort_by(|a, b| a.name.cmp(&b.name));
        specs
    }

    /// The default agent: the one whose manifest says `default = true`, else the first by name.
    pub fn default_agent(&self) -> Option<String> {
        let agents = self.agents();
        agents
            .iter()
            .find(|a| a.default)
            .or(agents.first())
            .map(|a| a.name.clone())
    }

    /// The manifest of one agent.
    pub fn agent(&self, name: &str) -> Option<AgentSpec> {
        self.entry(name).map(|e| e.shared.spec.clone())
    }

    /// Whether the agent's actor is running (false after it exceeded its restart intensity).
    pub fn is_healthy(&self, name: &str) -> bool {
        self.entry(name)
            .is_some_and(|e| e.healthy.load(Ordering::Acquire) && e.actor().is_some())
    }

    /// Why this runtime should not be sent traffic now (what `/readyz` names); empty when ready:
    /// shutting down, a store that can no longer write, an agent given up on, a part of the node
    /// down, the agent supervisor dead.
    pub fn unready_reasons(&self) -> Vec<String> {
        let mut why = Vec::new();
        if self.inner.closing.load(Ordering::Acquire) || self.inner.draining.load(Ordering::Acquire)
        {
            why.push("draining: the server is shutting down".to_owned());
        }
        if self.inner.log.is_failed() {
            why.push("the store cannot write (see the server log)".to_owned());
        }
        let down: Vec<String> = self
            .agents()
            .into_iter()
            .map(|a| a.name)
            .filter(|n| !self.is_healthy(n))
            .collect();
        if !down.is_empty() {
            why.push(format!("agents not running: {}", down.join(", ")));
        }
        if let Ok(parts) = self.inner.down.lock() {
            why.extend(
                parts
                    .iter()
                    .map(|(part, reason)| format!("{part}: {reason}")),
            );
        }
        why
    }

    /// Marks a part that serves this runtime (a listener) down with `reason`, or up with `None`.
    pub(crate) fn set_down(&self, part: &'static str, reason: Option<String>) {
        if let Ok(mut parts) = self.inner.down.lock() {
            match reason {
                Some(r) => parts.insert(part, r),
                None => parts.remove(part),
            };
        }
    }

    /// Makes readiness say "draining" while everything is still served: load balancers stop
    /// sending new traffic before the listeners close.
    pub(crate) fn announce_drain(&self) {
        self.inner.draining.store(true, Ordering::Release);
    }

    /// Requests admitted and not yet finished, per agent (the mailbox depth gauge).
    pub fn mailbox_depth(&self, name: &str) -> usize {
        self.entry(name)
            .map(|e| e.shared.spec.mailbox.capacity - e.shared.mailbox.available_permits())
            .unwrap_or(0)
    }

    /// Tasks with a live actor right now (they stop when idle; this returns to 0 at rest).
    pub fn live_tasks(&self) -> usize {
        self.inner.live.len()
    }

    pub(crate) fn stream_source(&self) -> stream::StreamSource {
        stream::StreamSource {
            log: self.inner.log.clone(),
            live: self.inner.live.clone(),
            shutdown: self.inner.shutdown.subscribe(),
        }
    }

    /// The log (for tools and tests).
    pub fn log(&self) -> &Log {
        &self.inner.log
    }

    /// Fault injection for supervision tests: kills the agent supervisor.
    #[doc(hidden)]
    pub fn kill_agent_supervisor(&self) {
        self.inner.supervisor.kill();
    }

    /// Fault injection for supervision tests: makes the agent's actor fail.
    #[doc(hidden)]
    pub fn crash_agent_actor(&self, name: &str) -> bool {
        self.entry(name)
            .and_then(|e| e.actor())
            .is_some_and(|a| a.cast(AgentMsg::Crash).is_ok())
    }

    /// Resumes or fails every task a previous run left unfinished, as each agent's manifest says.
    /// Call once, after adding the agents.
    pub async fn recover(&self) -> Result<RecoveryReport, RuntimeError> {
        let mut report = RecoveryReport::default();
        for rec in self.inner.log.active_tasks()? {
            let state = rec.task.status.state;
            if state.is_interrupted() {
                report.waiting += 1;
                continue;
            }
            let entry = self.entry(&rec.agent);
            let policy = entry.as_ref().map(|e| e.shared.spec.recovery.on_restart);
            let core = TaskCore::load(self.inner.log.clone(), rec.clone())?;
            match (entry, policy) {
                (Some(entry), Some(OnRestart::Resume)) => {
                    let turn = Turn {
                        kind: TurnKind::Resume,
                        permit: None,
                        reply: None,
                    };
                    self.route(
                        &entry,
                        rec.task.context_id.clone(),
                        rec.task.id.clone(),
                        Some(core),
                        TaskMsg::Turn(Box::new(turn)),
                    )
                    .map_err(|e| RuntimeError::Actor(e.to_string()))?;
                    report.resumed += 1;
                }
                (entry, _) => {
                    let why = if entry.is_some() {
                        "the server restarted while this task was running".to_owned()
                    } else {
                        format!("agent {:?} is no longer configured", rec.agent)
                    };
                    let fail = Change::Status(
                        TaskState::Failed,
                        Some(Message::agent(vec![Part::text(why)])),
                    );
                    if let Ok(ticket) = core.apply(fail, None).await {
                        self.inner.log.durable(ticket).await?;
                    }
                    report.failed += 1;
                }
            }
        }
        Ok(report)
    }

    fn route(
        &self,
        entry: &AgentEntry,
        context_id: String,
        task_id: String,
        core: Option<Arc<TaskCore>>,
        msg: TaskMsg,
    ) -> Result<(), A2aError> {
        let unavailable = || {
            A2aError::with_message(
                ErrorKind::Overloaded,
                format!(
                    "agent {} is restarting; retry later",
                    entry.shared.spec.name
                ),
            )
        };
        let Some(actor) = entry.actor() else {
            return Err(unavailable());
        };
        actor
            .cast(AgentMsg::Route {
                context_id,
                task_id,
                core,
                msg,
            })
            .map_err(|_| unavailable())
    }

    /// Stops admitting requests, waits up to `grace` for admitted ones to finish, and flushes the
    /// log. Tasks still running after `grace` are resumed or failed by the next start's recovery.
    pub async fn shutdown(&self, grace: Duration) -> Result<(), StoreError> {
        self.inner.closing.store(true, Ordering::Release);
        self.inner.shutdown.send_replace(true);
        let entries: Vec<Arc<AgentEntry>> = self
            .inner
            .agents
            .read()
            .map(|a| a.values().cloned().collect())
            .unwrap_or_default();
        let drained = async {
            for e in &entries {
                let cap = u32::try_from(e.shared.spec.mailbox.capacity).unwrap_or(u32::MAX);
                if let Ok(all) = e.shared.mailbox.acquire_many(cap).await {
                    all.forget();
                }
            }
        };
        if tokio::time::timeout(grace, drained).await.is_err() {
            tracing::warn!("grace period over with tasks still running; recovery will handle them");
        }
        self.inner.log.flush().await
    }
}
