//! The node: the root actor of a [`Server`](super::Server). It supervises one actor per
//! listener, restarting (rebinding) a listener that dies with backoff for as long as the server
//! runs, marks it down in the runtime's readiness meanwhile, and drives the metrics recorder's
//! upkeep.
//!
//! Mailboxes: the node's messages are its own timers, a restart per child and fault injection,
//! so its queue stays as small as its set of children. A listener takes no messages from
//! outside; the traffic it serves is bounded by the HTTP binding's in-flight limit and the
//! agents' admission, not by a mailbox. Connections and requests are plain tokio tasks under
//! their listener: an actor per connection would add a hop per request and give nothing a
//! restart could bring back (a connection that failed is gone with its peer).

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use metrics_exporter_prometheus::PrometheusHandle;
use ractor::{Actor, ActorId, ActorProcessingErr, ActorRef, SupervisionEvent};
use tokio::net::TcpListener;
use tokio::sync::watch;

use super::ServerError;
use crate::runtime::Runtime;
use crate::transport;

/// A part of the node that can be down (named in `/readyz`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Part {
    /// The HTTP listener (JSON-RPC, REST, cards, health, metrics).
    Http,
    /// The gRPC listener.
    Grpc,
}

impl Part {
    fn name(self) -> &'static str {
        match self {
            Self::Http => "http listener",
            Self::Grpc => "grpc listener",
        }
    }
}

/// Restart backoff: 100 ms doubling per restart within the last minute, at most 5 s.
const BACKOFF_BASE: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(5);
const RESTART_MEMORY: Duration = Duration::from_secs(60);
/// How often the Prometheus recorder drains histogram samples.
const UPKEEP_EVERY: Duration = Duration::from_secs(5);

pub(crate) enum NodeMsg {
    Restart(Part),
    Upkeep,
    /// Fault injection: kill a child as a crash would.
    Kill(Part),
}

pub(super) struct NodeArgs {
    pub runtime: Runtime,
    pub metrics: Option<PrometheusHandle>,
    pub http: (TcpListener, SocketAddr, axum::Router),
    pub grpc: Option<(TcpListener, SocketAddr, transport::grpc::A2aGrpc)>,
    /// Becomes true when the server stops: listeners stop accepting and are not restarted.
    pub stop: watch::Receiver<bool>,
}

/// What a listener serves.
#[derive(Clone)]
enum Binding {
    Http(axum::Router),
    Grpc(transport::grpc::A2aGrpc),
}

/// Whether the server is stopping: told so, or its `Server` is gone (the sender dropped).
fn stopping(stop: &watch::Receiver<bool>) -> bool {
    *stop.borrow() || stop.has_changed().is_err()
}

/// A listener as the node knows it: enough to start it again.
struct ListenerSpec {
    part: Part,
    addr: SocketAddr,
    binding: Binding,
    /// The socket bound at start (so start-up fails on a taken port); later starts rebind.
    first: Mutex<Option<TcpListener>>,
    stop: watch::Receiver<bool>,
    /// The running accept loop, so the node can end it the moment the listener dies (a killed
    /// actor's state, which also holds it, lives on inside the supervision event until dropped).
    accept_loop: Mutex<Option<tokio::task::AbortHandle>>,
}

struct Child {
    spec: Arc<ListenerSpec>,
    actor: Option<ActorRef<ListenerMsg>>,
    restarts: VecDeque<Instant>,
}

pub(super) struct Node;

pub(crate) struct NodeState {
    runtime: Runtime,
    metrics: Option<PrometheusHandle>,
    children: HashMap<Part, Child>,
    by_actor: HashMap<ActorId, Part>,
    stop: watch::Receiver<bool>,
}

impl Node {
    /// Spawns the node and its listeners; fails if a listener cannot start.
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
        let (actor, _) = Actor::spawn_linked(None, Listener, child.spec.clone(), myself.get_cell())
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
        let mut specs = vec![(
            Part::Http,
            args.http.0,
            args.http.1,
            Binding::Http(args.http.2),
        )];
        if let Some((l, addr, service)) = args.grpc {
            specs.push((Part::Grpc, l, addr, Binding::Grpc(service)));
        }
        let mut st = NodeState {
            runtime: args.runtime,
            metrics: args.metrics,
            children: HashMap::new(),
            by_actor: HashMap::new(),
            stop: args.stop.clone(),
        };
        for (part, listener, addr, binding) in specs {
            let spec = Arc::new(ListenerSpec {
                part,
                addr,
                binding,
                first: Mutex::new(Some(listener)),
                stop: args.stop.clone(),
                accept_loop: Mutex::new(None),
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
        let Some(part) = st.by_actor.remove(&id) else {
            return Ok(());
        };
        if let Some(child) = st.children.get_mut(&part) {
            child.actor = None;
            // The old accept loop must not go on accepting beside the one the restart starts.
            if let Some(accepting) = child
                .spec
                .accept_loop
                .lock()
                .ok()
                .and_then(|mut a| a.take())
            {
                accepting.abort();
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

/// Stops the node and its listeners; open connections get up to `wait` to close.
pub(super) async fn stop(node: ActorRef<NodeMsg>, wait: Duration) {
    let _ = node
        .stop_and_wait(None, Some(wait + Duration::from_secs(1)))
        .await;
}

/// A listener actor: accepts on its socket in a task of its own. The task ends when the actor
/// stops (its state is dropped), and when it dies the node aborts it at once (a killed actor's
/// state is handed to the supervisor inside the event, so dropping it cannot be relied on).
struct Listener;

pub(crate) enum ListenerMsg {
    /// The accept loop ended while the server was not stopping.
    Ended(String),
}

struct ServeTask(tokio::task::JoinHandle<()>);

impl Drop for ServeTask {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl Actor for Listener {
    type Msg = ListenerMsg;
    type State = ServeTask;
    type Arguments = Arc<ListenerSpec>;

    async fn pre_start(
        &self,
        myself: ActorRef<ListenerMsg>,
        spec: Arc<ListenerSpec>,
    ) -> Result<ServeTask, ActorProcessingErr> {
        let first = spec.first.lock().ok().and_then(|mut f| f.take());
        let listener = match first {
            Some(l) => l,
            None => TcpListener::bind(spec.addr)
                .await
                .map_err(|e| format!("cannot listen on {}: {e}", spec.addr))?,
        };
        tracing::debug!(part = spec.part.name(), addr = %spec.addr, "listening");
        let stop = spec.stop.clone();
        let binding = spec.binding.clone();
        let task = tokio::spawn(async move {
            let mut until = stop.clone();
            let shutdown = async move {
                let _ = until.wait_for(|s| *s).await;
            };
            let ended = match binding {
                Binding::Http(app) => {
                    transport::serve(listener, app, shutdown).await;
                    "the accept loop ended".to_owned()
                }
                Binding::Grpc(service) => {
                    match transport::grpc::serve(listener, service, shutdown).await {
                        Ok(()) => "the gRPC server ended".to_owned(),
                        Err(e) => format!("the gRPC server failed: {e}"),
                    }
                }
            };
            if !stopping(&stop) {
                let _ = myself.cast(ListenerMsg::Ended(ended));
            }
        });
        if let Ok(mut accepting) = spec.accept_loop.lock() {
            *accepting = Some(task.abort_handle());
        }
        Ok(ServeTask(task))
    }

    async fn handle(
        &self,
        _myself: ActorRef<ListenerMsg>,
        msg: ListenerMsg,
        _task: &mut ServeTask,
    ) -> Result<(), ActorProcessingErr> {
        match msg {
            ListenerMsg::Ended(why) => Err(why.into()),
        }
    }

    async fn post_stop(
        &self,
        _myself: ActorRef<ListenerMsg>,
        task: &mut ServeTask,
    ) -> Result<(), ActorProcessingErr> {
        // A graceful stop: the accept loop saw the stop signal; let open connections finish.
        let _ = tokio::time::timeout(Duration::from_secs(1), &mut task.0).await;
        Ok(())
    }
}
