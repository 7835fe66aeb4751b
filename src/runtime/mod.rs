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
mod context;
mod core;
mod session;
mod supervisor;
mod task;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use ractor::{Actor, ActorRef};
use tokio::sync::{Semaphore, oneshot};

pub use agent::{Agent, AgentError};
pub use context::{TaskContext, text_artifact};

use self::agent::DynAgent;
use self::agent_actor::AgentMsg;
use self::core::{Change, Published, TaskCore};
use self::supervisor::{AgentSupervisor, SupervisorMsg};
use self::task::{Accepted, TaskMsg, Turn, TurnKind};
use crate::config::{AgentSpec, OnRestart};
use crate::protocol::{
    A2aError, CancelTaskRequest, ErrorKind, GetTaskRequest, ListTasksRequest, ListTasksResponse,
    Message, Part, SendMessageRequest, SendMessageResponse, Task, TaskState, validate,
};
use crate::store::{Applied, Durability, Log, SledStore, Store, StoreError, TaskQuery};

/// The principal of requests that carry no credentials.
pub const ANONYMOUS: &str = "anonymous";

/// Errors that stop the runtime from starting or an agent from being added.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RuntimeError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("agent {0:?} is already running")]
    DuplicateAgent(String),
    #[error("invalid agent manifest: {0}")]
    InvalidSpec(String),
    #[error("actor system: {0}")]
    Actor(String),
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
}

impl RuntimeConfig {
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            data_dir: data_dir.into(),
            durability: Durability::Fsync,
            writer_queue: 8192,
            cache_bytes: 512 << 20,
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

/// Tasks with a live actor, so a repeated send can wait for the original's outcome.
#[derive(Default)]
pub(crate) struct LiveTasks(Mutex<HashMap<String, Arc<TaskCore>>>);

/// Removes a task from [`LiveTasks`] when its actor's state is dropped, however it ends.
pub(crate) struct LiveGuard(Arc<LiveTasks>, String);

impl LiveGuard {
    pub(crate) fn register(live: &Arc<LiveTasks>, core: Arc<TaskCore>) -> Self {
        let id = core.id.clone();
        if let Ok(mut m) = live.0.lock() {
            m.insert(id.clone(), core);
        }
        Self(live.clone(), id)
    }
}

impl Drop for LiveGuard {
    fn drop(&mut self) {
        if let Ok(mut m) = self.0.0.lock() {
            m.remove(&self.1);
        }
    }
}

impl LiveTasks {
    fn get(&self, id: &str) -> Option<Arc<TaskCore>> {
        self.0.lock().ok().and_then(|m| m.get(id).cloned())
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
    closing: AtomicBool,
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

fn internal(e: impl std::fmt::Display) -> A2aError {
    A2aError::with_message(ErrorKind::Internal, format!("internal error: {e}"))
}

impl Runtime {
    /// Opens the sled log in `config.data_dir` and starts the actor system.
    pub async fn open(config: RuntimeConfig) -> Result<Self, RuntimeError> {
        let background_flush = match config.durability {
            Durability::Fsync => Some(1000),
            Durability::Buffered => Some(100),
        };
        let store = SledStore::open(&config.data_dir, config.cache_bytes, background_flush)?;
        Self::with_store(Arc::new(store), config.durability, config.writer_queue).await
    }

    /// Starts the actor system over any [`Store`].
    pub async fn with_store(
        store: Arc<dyn Store>,
        durability: Durability,
        writer_queue: usize,
    ) -> Result<Self, RuntimeError> {
        let log = Log::open(store, durability, writer_queue);
        let (supervisor, _) = Actor::spawn(None, AgentSupervisor, ())
            .await
            .map_err(|e| RuntimeError::Actor(e.to_string()))?;
        Ok(Self {
            inner: Arc::new(Inner {
                log,
                agents: RwLock::new(HashMap::new()),
                live: Arc::new(LiveTasks::default()),
                supervisor,
                closing: AtomicBool::new(false),
            }),
        })
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
            .map_err(|e| RuntimeError::Actor(e.to_string()))?
            .map_err(RuntimeError::Actor)?;
        if let Ok(mut agents) = self.inner.agents.write() {
            agents.insert(name, entry);
        }
        Ok(())
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

    /// Requests admitted and not yet finished, per agent (the mailbox depth gauge).
    pub fn mailbox_depth(&self, name: &str) -> usize {
        self.entry(name)
            .map(|e| e.shared.spec.mailbox.capacity - e.shared.mailbox.available_permits())
            .unwrap_or(0)
    }

    /// Tasks with a live actor right now (they stop when idle; this returns to 0 at rest).
    pub fn live_tasks(&self) -> usize {
        self.inner.live.0.lock().map(|m| m.len()).unwrap_or(0)
    }

    /// The log (for tools and tests).
    pub fn log(&self) -> &Log {
        &self.inner.log
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
            let core = TaskCore::new(self.inner.log.clone(), rec.clone(), 0);
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

    fn agent_or_err(&self, name: &str) -> Result<Arc<AgentEntry>, A2aError> {
        self.entry(name).ok_or_else(|| {
            A2aError::with_message(
                ErrorKind::InvalidRequest,
                format!("no agent named {name:?}"),
            )
        })
    }

    /// Reads a task the caller may see: owned by `caller`, of `agent`, and not a bare-message reply.
    fn visible_task(
        &self,
        agent: &str,
        caller: &str,
        id: &str,
    ) -> Result<crate::store::TaskRecord, A2aError> {
        match self.inner.log.task(id).map_err(internal)? {
            Some(rec) if rec.agent == agent && rec.owner == caller && rec.reply.is_none() => {
                Ok(rec)
            }
            _ => Err(A2aError::task_not_found(id)),
        }
    }

    /// SendMessage: creates a task (or continues `message.taskId`), runs the agent's handler and,
    /// unless `returnImmediately`, answers when the task is final or interrupted.
    pub async fn send(
        &self,
        agent: &str,
        caller: &str,
        req: SendMessageRequest,
    ) -> Result<SendMessageResponse, A2aError> {
        let message = validate::send_message(&req)?.clone();
        let entry = self.agent_or_err(agent)?;
        let cfg = req.configuration.unwrap_or_default();
        let (immediate, history) = (cfg.return_immediately, cfg.history_length);
        if self.inner.closing.load(Ordering::Acquire) {
            return Err(A2aError::with_message(
                ErrorKind::Overloaded,
                "the server is shutting down",
            ));
        }
        // A repeated messageId gets the original task. New tasks are checked by the store writer
        // as it creates them; the read here is for follow-ups (whose task may be final by now)
        // and for retries that would otherwise wait for a full mailbox.
        let immediate_slot = entry.shared.mailbox.clone().try_acquire_owned().ok();
        if (immediate_slot.is_none() || !message.task_id.is_empty())
            && let Some(existing) = self
                .inner
                .log
                .idempotent_task(agent, caller, &message.message_id)
                .map_err(internal)?
        {
            return self.answer_existing(&existing, immediate, history).await;
        }
        let admission = Duration::from_millis(entry.shared.spec.mailbox.admission_timeout_ms);
        let permit = match immediate_slot {
            Some(p) => p,
            None => {
                match tokio::time::timeout(admission, entry.shared.mailbox.clone().acquire_owned())
                    .await
                {
                    Ok(Ok(p)) => p,
                    _ => {
                        metrics::counter!("a2a_admission_rejected_total", "agent" => agent.to_owned()).increment(1);
                        return Err(A2aError::with_message(
                            ErrorKind::Overloaded,
                            format!(
                                "agent {agent} is at capacity ({} requests); retry later",
                                entry.shared.spec.mailbox.capacity
                            ),
                        )
                        .meta("retryAfterSeconds", "1"));
                    }
                }
            }
        };
        let (tx, rx) = oneshot::channel();
        if !message.task_id.is_empty() {
            let rec = self.visible_task(agent, caller, &message.task_id)?;
            if !message.context_id.is_empty() && message.context_id != rec.task.context_id {
                return Err(A2aError::invalid_field(
                    "message.contextId",
                    format!(
                        "does not match the context {} of task {}",
                        rec.task.context_id, rec.task.id
                    ),
                ));
            }
            let state = rec.task.status.state;
            if state.is_terminal() {
                return Err(A2aError::task_closed(&rec.task.id, state));
            }
            let turn = Turn {
                kind: TurnKind::Continue {
                    message: Box::new(message),
                    owner: caller.to_owned(),
                },
                permit: Some(permit),
                reply: Some(tx),
            };
            self.route(
                &entry,
                rec.task.context_id,
                rec.task.id,
                None,
                TaskMsg::Turn(Box::new(turn)),
            )?;
        } else {
            let context_id = if message.context_id.is_empty() {
                uuid::Uuid::new_v4().to_string()
            } else {
                message.context_id.clone()
            };
            let task_id = uuid::Uuid::new_v4().to_string();
            let (record, commit) =
                core::new_task(task_id.clone(), context_id.clone(), agent, caller, message);
            let ticket = match self.inner.log.commit(commit).await.map_err(internal)? {
                Applied::Done(t) => t,
                Applied::Duplicate(other) => {
                    drop(permit);
                    return self.answer_existing(&other, immediate, history).await;
                }
            };
            let core = TaskCore::new(self.inner.log.clone(), record, ticket);
            let turn = Turn {
                kind: TurnKind::New,
                permit: Some(permit),
                reply: Some(tx),
            };
            if let Err(e) = self.route(
                &entry,
                context_id,
                task_id,
                Some(core.clone()),
                TaskMsg::Turn(Box::new(turn)),
            ) {
                let why = Message::agent(vec![Part::text(e.message.clone())]);
                let _ = core
                    .apply(Change::Status(TaskState::Failed, Some(why)), None)
                    .await;
                return Err(e);
            }
        }
        match rx
            .await
            .map_err(|_| internal("the task actor stopped before answering"))??
        {
            Accepted::Running { core, ticket } => {
                self.answer(&core, ticket, immediate, history).await
            }
            Accepted::Duplicate(other) => self.answer_existing(&other, immediate, history).await,
        }
    }

    /// Answers a send of a task that is running here: at once (after its first write is durable)
    /// or when it settles (after that state is durable).
    async fn answer(
        &self,
        core: &TaskCore,
        ticket: u64,
        immediate: bool,
        history: Option<i32>,
    ) -> Result<SendMessageResponse, A2aError> {
        let published = if immediate {
            self.inner.log.durable(ticket).await.map_err(internal)?;
            core.latest()
        } else {
            let mut rx = core.watch();
            let p = rx
                .wait_for(Published::settled)
                .await
                .map_err(|_| internal("task stopped"))?
                .clone();
            self.inner.log.durable(p.ticket).await.map_err(internal)?;
            p
        };
        Ok(response(
            &published.task,
            published.reply.as_deref(),
            history,
        ))
    }

    /// Answers a repeated send with the task the first one created: like the first send would
    /// have, waiting (when blocking) until that task settles.
    async fn answer_existing(
        &self,
        task_id: &str,
        immediate: bool,
        history: Option<i32>,
    ) -> Result<SendMessageResponse, A2aError> {
        // A reader can see the idempotency key a moment before the rest of its batch.
        let mut unseen = 0;
        loop {
            if let Some(core) = self.inner.live.get(task_id) {
                let ticket = core.latest().ticket;
                return self.answer(&core, ticket, immediate, history).await;
            }
            let Some(rec) = self.inner.log.task(task_id).map_err(internal)? else {
                unseen += 1;
                if unseen > 200 {
                    return Err(A2aError::task_not_found(task_id));
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
                continue;
            };
            let state = rec.task.status.state;
            if immediate || rec.reply.is_some() || state.is_terminal() || state.is_interrupted() {
                self.inner.log.read_committed().await.map_err(internal)?;
                return Ok(response(&rec.task, rec.reply.as_ref(), history));
            }
            // The original send is between its first write and its task actor: look again soon,
            // and answer with what there is if it does not show up (it would be a runtime bug).
            unseen += 1;
            if unseen > 400 {
                tracing::warn!(
                    task_id,
                    "unfinished task with no live actor; answering its current state"
                );
                self.inner.log.read_committed().await.map_err(internal)?;
                return Ok(response(&rec.task, rec.reply.as_ref(), history));
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// GetTask.
    pub async fn get_task(
        &self,
        agent: &str,
        caller: &str,
        req: GetTaskRequest,
    ) -> Result<Task, A2aError> {
        validate::required_id(&req.id, "id")?;
        validate::history_length(req.history_length, "historyLength")?;
        self.agent_or_err(agent)?;
        let mut rec = self.visible_task(agent, caller, &req.id)?;
        self.inner.log.read_committed().await.map_err(internal)?;
        rec.task.trim_history(req.history_length);
        Ok(rec.task)
    }

    /// ListTasks: the caller's tasks of this agent, newest status first.
    pub async fn list_tasks(
        &self,
        agent: &str,
        caller: &str,
        req: ListTasksRequest,
    ) -> Result<ListTasksResponse, A2aError> {
        self.agent_or_err(agent)?;
        let page_size = req.page_size.unwrap_or(50);
        if !(1..=100).contains(&page_size) {
            return Err(A2aError::invalid_field(
                "pageSize",
                format!("must be between 1 and 100, got {page_size}"),
            ));
        }
        validate::history_length(req.history_length, "historyLength")?;
        if !crate::store::page_token_is_valid(&req.page_token) {
            return Err(A2aError::invalid_field(
                "pageToken",
                "is not a token this server issued",
            ));
        }
        let query = TaskQuery {
            agent: agent.to_owned(),
            owner: caller.to_owned(),
            context_id: req.context_id,
            state: (req.status != TaskState::Unspecified).then_some(req.status),
            status_after: req.status_timestamp_after,
            page_size: usize::try_from(page_size).unwrap_or(50),
            page_token: req.page_token,
        };
        let page = self.inner.log.list_tasks(&query).map_err(internal)?;
        self.inner.log.read_committed().await.map_err(internal)?;
        let include_artifacts = req.include_artifacts.unwrap_or(false);
        let tasks = page
            .tasks
            .into_iter()
            .map(|mut r| {
                r.task.trim_history(req.history_length);
                if !include_artifacts {
                    r.task.artifacts.clear();
                }
                r.task
            })
            .collect();
        Ok(ListTasksResponse {
            tasks,
            next_page_token: page.next_page_token,
            page_size,
            total_size: i32::try_from(page.total_size).unwrap_or(i32::MAX),
        })
    }

    /// CancelTask: the handler's cancellation token fires; the task is CANCELED unless it reached
    /// another final state first (then TaskNotCancelable).
    pub async fn cancel_task(
        &self,
        agent: &str,
        caller: &str,
        req: CancelTaskRequest,
    ) -> Result<Task, A2aError> {
        validate::required_id(&req.id, "id")?;
        let entry = self.agent_or_err(agent)?;
        let rec = self.visible_task(agent, caller, &req.id)?;
        if rec.task.status.state.is_terminal() {
            return Err(A2aError::not_cancelable(
                &rec.task.id,
                rec.task.status.state,
            ));
        }
        let (tx, rx) = oneshot::channel();
        self.route(
            &entry,
            rec.task.context_id,
            rec.task.id,
            None,
            TaskMsg::Cancel(tx),
        )?;
        rx.await
            .map_err(|_| internal("the task actor stopped before answering"))?
    }

    /// Stops admitting requests, waits up to `grace` for admitted ones to finish, and flushes the
    /// log. Tasks still running after `grace` are resumed or failed by the next start's recovery.
    pub async fn shutdown(&self, grace: Duration) -> Result<(), StoreError> {
        self.inner.closing.store(true, Ordering::Release);
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

fn response(task: &Task, reply: Option<&Message>, history: Option<i32>) -> SendMessageResponse {
    match reply {
        Some(m) => SendMessageResponse::Message(m.clone()),
        None => {
            let mut task = task.clone();
            task.trim_history(history);
            SendMessageResponse::Task(task)
        }
    }
}
