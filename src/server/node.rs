//! The node: the root actor of a [`Server`](super::Server). It supervises one actor per part
//! that runs beside the agents: each listener (HTTP, gRPC), the push sender and the reaper. A
//! part that dies (killed, panicked, or failed, like a listener whose socket broke) is marked
//! down in the runtime's readiness and restarted with backoff for as long as the server runs:
//! a listener rebinds its address, a push sender rescans the outbox and goes on delivering, a
//! reaper starts a pass. The node also watches the runtime's agent supervisor (linked under it)
//! and reports it down if it dies, and drives the metrics recorder's upkeep.
//!
//! Mailboxes: the node's messages are its own timers, a restart per child and fault injection,
//! so its queue stays as small as its set of children. A part takes no messages from outside;
//! the traffic a listener serves is bounded by `Limits` and the agents' admission, not by a
//! mailbox. Connections and requests are plain tokio tasks under their listener: an actor per
//! connection would add a hop per request and give nothing a restart could bring back (a
//! connection that failed is gone with its peer).

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use metrics_exporter_prometheus::PrometheusHandle;
use ractor::{Actor, ActorCell, ActorId, ActorProcessingErr, ActorRef, SupervisionEvent};
use tokio::net::TcpListener;
use tokio::sync::watch;

use super::ServerError;
use crate::runtime::{Background, Runtime};
use crate::transport;

/// A part of the node that can be down (named in `/readyz`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Part {
    /// The HTTP listener (JSON-RPC, REST, cards, health, metrics).
    Http,
    /// The gRPC listener.
    Grpc,
    /// The push sender (webhook deliveries from the outbox).
    PushSender,
    /// Retention's reaper.
    Reaper,
}

impl Part {
    fn name(self) -> &'static str {
        match self {
            Self::Http => "http listener",
            Self::Grpc => "grpc listener",
            Self::PushSender => "push sender",
            Self::Reaper => "reaper",
        }
    }
}

/// Restart backoff: 100 ms doubling per restart within the last minute, at most 5 s.
const BACKOFF_BASE: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(5);
const RESTART_MEMORY: Duration = Duration::from_secs(60);
/// How often the Prometheus recorder drains histogram samples.
const UPKEEP_EVERY: Duration = Duration::from_secs(5);
/// What readiness calls the runtime's agent supervisor.
const AGENT_SUPERVISOR: &str = "agent supervisor";

pub(crate) enum NodeMsg {
    Restart(Part),
    Upkeep,
    /// Fault injection: kill a child as a crash would.
    Kill(Part),
}

pub(super) struct NodeArgs {
    pub runtime: Runtime,
    pub background: Background,
    pub metrics: Option<PrometheusHandle>,
    pub http: (TcpListener, SocketAddr, axum::Router),
    pub grpc: Option<(TcpListener, SocketAddr, transport::grpc::A2aGrpc)>,
    /// Becomes true when the server stops: parts stop and are not restarted.
    pub stop: watch::Receiver<bool>,
}

/// Whether the server is stopping: told so, or its `Server` is gone (the sender dropped).
fn stopping(stop: &watch::Receiver<bool>) -> bool {
    *stop.borrow() || stop.has_changed().is_err()
}

/// One run of a part: `Ok` when it ended because it was told to (not restarted), `Err` when it
/// failed (restarted, like a panic or a kill).
type Job = Arc<dyn Fn() -> BoxFuture<'static, Result<(), String>> + Send + Sync>;

/// A part as the node knows it: enough to start it again.
struct PartSpec {
    part: Part,
    job: Job,
    stop: watch::Receiver<bool>,
    /// The running job's task, so the node can end it the moment the part dies (a killed
    /// actor's state, which also holds it, lives on inside the supervision event until dropped).
    running: Mutex<Option<tokio::task::AbortHandle>>,
}

/// A listener's job: the socket bound at start (so start-up fails on a taken port), rebound on
/// every later run, served until the stop signal.
fn listener_job(
    first: TcpListener,
    addr: SocketAddr,
    serve: impl Fn(TcpListener, BoxFuture<'static, ()>) -> BoxFuture<'static, Result<(), String>>
    + Send
    + Sync
    + 'static,
    stop: watch::Receiver<bool>,
) -> Job {
    let first = Arc::new(Mutex::new(Some(first)));
    let serve = Arc::new(serve);
    Arc::new(move || {
        let (first, serve, mut until) = (first.clone(), serve.clone(), stop.clone());
        Box::pin(async move {
            let taken = first.lock().ok().and_then(|mut f| f.take());
            let listener = match taken {
                Some(l) => l,
                None => TcpListener::bind(addr)
                    .await
                    .map_err(|e| format!("cannot listen on {addr}: {e}"))?,
            };
            let shutdown = Box::pin(async move {
                let _ = until.wait_for(|s| *s).await;
            });
            serve(listener, shutdown).await
        })
    })
}

struct Child {
    spec: Arc<PartSpec>,
    actor: Option<ActorRef<PartMsg>>,
    restarts: VecDeque<Instant>,
}

pub(super) struct Node;

pub(crate) struct NodeState {
    runtime: Runtime,
    metrics: Option<PrometheusHandle>,
    children: HashMap<Part, Child>,
    by_actor: HashMap<ActorId, Part>,
    agent_supervisor: ActorId,
    stop: watch::Receiver<bool>,
}

impl Node {
    /// Spawns the node and its parts; fails if one cannot start.
    pub(super) async fn start(args: NodeArgs) -> Result<ActorRef<NodeMsg>, ServerError> {
        let (node, _) = Actor::spawn(None, Node, args)
            .await
            .map_err(|e| ServerError::Node(e.to_string()))?;
        Ok(node)
    }

    async fn spawn_child(
        myself: &ActorRef<NodeMsg>,
        st: &mut NodeState,
        part: Part,
    ) -> Result<(), String> {
        let Some(child) = st.children.get_mut(&part) else {
            return Ok(());
        };
        let (actor, _) =
            Actor::spawn_linked(None, PartActor, child.spec.clone(), myself.get_cell())
                .await
                .map_err(|e| format!("cannot start the {}: {e}", part.name()))?;
        st.by_actor.insert(actor.get_id(), part);
        child.actor = Some(actor);
        st.runtime.set_down(part.name(), None);
        Ok(())
    }

    /// Marks `part` down and schedules its restart, unless the server is stopping.
    fn schedule_restart(myself: &ActorRef<NodeMsg>, st: &mut NodeState, part: Part, why: &str) {
        st.runtime.set_down(part.name(), Some(why.to_owned()));
        if stopping(&st.stop) {
            return;
        }
        let Some(child) = st.children.get_mut(&part) else {
            return;
        };
        let now = Instant::now();
        while child
            .restarts
            .front()
            .is_some_and(|t| now.duration_since(*t) > RESTART_MEMORY)
        {
            child.restarts.pop_front();
        }
        let exp = u32::try_from(child.restarts.len()).unwrap_or(16).min(16);
        let backoff = BACKOFF_BASE.saturating_mul(1 << exp).min(BACKOFF_MAX);
        child.restarts.push_back(now);
        metrics::counter!("a2a_node_restarts_total", "part" => part.name()).increment(1);
        tracing::warn!(part = part.name(), reason = %why, backoff_ms = backoff.as_millis() as u64, "restarting");
        myself.send_after(backoff, move || NodeMsg::Restart(part));
    }
}

impl Actor for Node {
    type Msg = NodeMsg;
    type State = NodeState;
    type Arguments = NodeArgs;

    async fn pre_start(
        &self,
        myself: ActorRef<NodeMsg>,
        args: NodeArgs,
    ) -> Result<NodeState, ActorProcessingErr> {
        let NodeArgs {
            runtime,
            background,
            metrics,
            http,
            grpc,
            stop,
        } = args;
        let mut jobs: Vec<(Part, Job)> = Vec::new();
        let (listener, addr, app) = http;
        let serve_http = move |l: TcpListener, shutdown: BoxFuture<'static, ()>| {
            let app = app.clone();
            Box::pin(async move {
                transport::serve(l, app, shutdown).await;
                Ok(())
            }) as BoxFuture<'static, Result<(), String>>
        };
        jobs.push((
            Part::Http,
            listener_job(listener, addr, serve_http, stop.clone()),
        ));
        if let Some((listener, addr, service)) = grpc {
            let serve_grpc = move |l: TcpListener, shutdown: BoxFuture<'static, ()>| {
                let service = service.clone();
                Box::pin(async move {
                    transport::grpc::serve(l, service, shutdown)
                        .await
                        .map_err(|e| format!("the gRPC server failed: {e}"))
                }) as BoxFuture<'static, Result<(), String>>
            };
            jobs.push((
                Part::Grpc,
                listener_job(listener, addr, serve_grpc, stop.clone()),
            ));
        }
        let runtime_parts = [
            (Part::PushSender, background.push),
            (Part::Reaper, background.reaper),
        ];
        for (part, run) in runtime_parts {
            if let Some(run) = run {
                // They end only when told to (the runtime's shutdown): that run is not failed.
                let job: Job = Arc::new(move || {
                    let one = run();
                    Box::pin(async move {
                        one.await;
                        Ok(())
                    })
                });
                jobs.push((part, job));
            }
        }
        // The agent supervisor is the runtime's (agents are added through it): the node hears
        // of its death and reports it, and restarts nothing in its place.
        let agent_supervisor: ActorCell = background.supervisor;
        agent_supervisor.link(myself.get_cell());
        let mut st = NodeState {
            runtime,
            metrics,
            children: HashMap::new(),
            by_actor: HashMap::new(),
            agent_supervisor: agent_supervisor.get_id(),
            stop: stop.clone(),
        };
        for (part, job) in jobs {
            let spec = Arc::new(PartSpec {
                part,
                job,
                stop: stop.clone(),
                running: Mutex::new(None),
            });
            st.children.insert(
                part,
                Child {
                    spec,
                    actor: None,
                    restarts: VecDeque::new(),
                },
            );
            Self::spawn_child(&myself, &mut st, part).await?;
        }
        if st.metrics.is_some() {
            myself.send_interval(UPKEEP_EVERY, || NodeMsg::Upkeep);
        }
        Ok(st)
    }

    async fn handle(
        &self,
        myself: ActorRef<NodeMsg>,
        msg: NodeMsg,
        st: &mut NodeState,
    ) -> Result<(), ActorProcessingErr> {
        match msg {
            NodeMsg::Upkeep => {
                // Histograms buffer samples until upkeep drains them.
                if let Some(m) = &st.metrics {
                    m.run_upkeep();
                }
            }
            NodeMsg::Restart(part) => {
                if stopping(&st.stop) {
                    return Ok(());
                }
                if let Err(why) = Self::spawn_child(&myself, st, part).await {
                    Self::schedule_restart(&myself, st, part, &why);
                }
            }
            NodeMsg::Kill(part) => {
                if let Some(actor) = st.children.get(&part).and_then(|c| c.actor.as_ref()) {
                    actor.kill();
                }
            }
        }
        Ok(())
    }

    async fn handle_supervisor_evt(
        &self,
        myself: ActorRef<NodeMsg>,
        evt: SupervisionEvent,
        st: &mut NodeState,
    ) -> Result<(), ActorProcessingErr> {
        let Some((id, why)) = crate::runtime::child_exit(&evt) else {
            return Ok(());
        };
        if id == st.agent_supervisor {
            if !stopping(&st.stop) {
                tracing::error!(reason = %why, "the agent supervisor died; agents are no longer restarted");
                st.runtime.set_down(AGENT_SUPERVISOR, Some(why));
            }
            return Ok(());
        }
        let Some(part) = st.by_actor.remove(&id) else {
            return Ok(());
        };
        if let Some(child) = st.children.get_mut(&part) {
            child.actor = None;
            // The old run must not go on (accepting, delivering) beside the one the restart
            // starts.
            if let Some(running) = child.spec.running.lock().ok().and_then(|mut r| r.take()) {
                running.abort();
            }
        }
        Self::schedule_restart(&myself, st, part, &why);
        Ok(())
    }

    async fn post_stop(
        &self,
        _myself: ActorRef<NodeMsg>,
        st: &mut NodeState,
    ) -> Result<(), ActorProcessingErr> {
        for child in st.children.values_mut() {
            if let Some(actor) = child.actor.take() {
                let _ = actor
                    .stop_and_wait(None, Some(Duration::from_secs(2)))
                    .await;
            }
        }
        Ok(())
    }
}

/// Stops the node and its parts; open connections get up to `wait` to close.
pub(super) async fn stop(node: ActorRef<NodeMsg>, wait: Duration) {
    let _ = node
        .stop_and_wait(None, Some(wait + Duration::from_secs(1)))
        .await;
}

/// A part's actor: runs one run of its job in a task of its own. The task ends when the actor
/// stops (its state is dropped), and when it dies the node aborts it at once (a killed actor's
/// state is handed to the supervisor inside the event, so dropping it cannot be relied on).
struct PartActor;

pub(crate) enum PartMsg {
    /// The run failed (an error or a panic) while the server was not stopping.
    Failed(String),
}

struct RunTask(tokio::task::JoinHandle<()>);

impl Drop for RunTask {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl Actor for PartActor {
    type Msg = PartMsg;
    type State = RunTask;
    type Arguments = Arc<PartSpec>;

    async fn pre_start(
        &self,
        myself: ActorRef<PartMsg>,
        spec: Arc<PartSpec>,
    ) -> Result<RunTask, ActorProcessingErr> {
        tracing::debug!(part = spec.part.name(), "starting");
        let (job, stop) = (spec.job.clone(), spec.stop.clone());
        let task = tokio::spawn(async move {
            let failure = match AssertUnwindSafe(job()).catch_unwind().await {
                Ok(Ok(())) => None,
                Ok(Err(e)) => Some(e),
                Err(_) => Some("it panicked".to_owned()),
            };
            if let Some(why) = failure
                && !stopping(&stop)
            {
                let _ = myself.cast(PartMsg::Failed(why));
            }
        });
        if let Ok(mut running) = spec.running.lock() {
            *running = Some(task.abort_handle());
        }
        Ok(RunTask(task))
    }

    async fn handle(
        &self,
        _myself: ActorRef<PartMsg>,
        msg: PartMsg,
        _task: &mut RunTask,
    ) -> Result<(), ActorProcessingErr> {
        match msg {
            PartMsg::Failed(why) => Err(why.into()),
        }
    }

    async fn post_stop(
        &self,
        _myself: ActorRef<PartMsg>,
        task: &mut RunTask,
    ) -> Result<(), ActorProcessingErr> {
        // A graceful stop: the run saw the stop signal; let it finish (open connections).
        let _ = tokio::time::timeout(Duration::from_secs(1), &mut task.0).await;
        Ok(())
    }
}
