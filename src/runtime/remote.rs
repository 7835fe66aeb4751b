//! Remote agents as actors. Every call this process makes to one remote agent goes through one
//! [`RemoteAgent`]: a handle holding a bounded mailbox (a semaphore permit per call in flight,
//! waited for up to a deadline) and the remote's circuit breaker and retry budget, in front of an
//! actor that owns the discovered [`Client`]. The actor discovers the card once for all callers
//! (and again when it grows stale or after failures); its calls run as their own tasks, each
//! holding its permit until it is done (a stream holds it until dropped). The actor is
//! supervised: one that dies is started again, and the handle keeps working.
//!
//! [`Remotes`] is the runtime's registry, one [`RemoteAgent`] per URL, so every task of every
//! agent shares one breaker per remote; it is bounded, and drops idle remotes when full.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use ractor::{Actor, ActorId, ActorProcessingErr, ActorRef, SupervisionEvent};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, oneshot};

use crate::client::resilience::{Breaker, RetryBudget};
use crate::client::{BreakerState, Client, ClientError, ClientOptions, EventStream};
use crate::protocol::{
    AgentCard, CancelTaskRequest, GetTaskRequest, ListTasksRequest, ListTasksResponse,
    SendMessageRequest, SendMessageResponse, StreamResponse, Task,
};

/// How each remote agent is reached.
#[derive(Debug, Clone)]
pub struct RemoteOptions {
    /// Calls in flight at once (streams included); more wait for a free slot.
    pub capacity: usize,
    /// How long a call waits for a free slot before failing with `REMOTE_BUSY`.
    pub admission_timeout: Duration,
    /// How long a discovered card is used before it is fetched again (the HTTP cache still
    /// applies, so a fresh card costs no request).
    pub card_refresh: Duration,
    /// Remote agents kept at once; when full, one with no call in flight is dropped.
    pub max_remotes: usize,
    pub client: ClientOptions,
}

impl Default for RemoteOptions {
    fn default() -> Self {
        Self {
            capacity: 256,
            admission_timeout: Duration::from_secs(5),
            card_refresh: Duration::from_secs(60),
            max_remotes: 1024,
            client: ClientOptions::default(),
        }
    }
}

/// One remote agent, shared by every caller in this process.
#[derive(Clone)]
pub struct RemoteAgent {
    inner: Arc<RemoteInner>,
}

impl std::fmt::Debug for RemoteAgent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteAgent")
            .field("url", &self.inner.url)
            .field("breaker", &self.inner.breaker.state())
            .finish_non_exhaustive()
    }
}

struct RemoteInner {
    url: String,
    opts: RemoteOptions,
    mailbox: Arc<Semaphore>,
    breaker: Arc<Breaker>,
    budget: Arc<RetryBudget>,
    actor: RwLock<Option<ActorRef<RemoteMsg>>>,
    /// The last card discovered, for callers that pick among remotes (the router).
    card: RwLock<Option<AgentCard>>,
}

enum Op {
    Send(SendMessageRequest),
    Stream(SendMessageRequest),
    Subscribe(String, Option<u64>),
    Get(GetTaskRequest),
    List(ListTasksRequest),
    Cancel(CancelTaskRequest),
    Card,
}

enum Done {
    Sent(SendMessageResponse),
    Stream(Box<EventStream>),
    Task(Task),
    List(ListTasksResponse),
    Card(AgentCard),
}

/// The answer, with the call's slot: a stream keeps it for its life, anything else drops it.
type Reply = oneshot::Sender<Result<(Done, OwnedSemaphorePermit), ClientError>>;

enum RemoteMsg {
    Call(Box<Op>, OwnedSemaphorePermit, Reply),
    /// Fault injection: makes the actor fail, so tests can watch it come back.
    Crash,
}

/// A stream of a remote task's events; holds its slot in the remote's mailbox until dropped.
#[derive(Debug)]
pub struct RemoteStream {
    events: Box<EventStream>,
    _permit: OwnedSemaphorePermit,
}

impl RemoteStream {
    /// The next event; `None` once the remote task reached a final or interrupted state.
    pub async fn next(&mut self) -> Option<Result<StreamResponse, ClientError>> {
        self.events.next().await
    }
}

/// The actor answered a call with another call's kind of answer (a bug, not the remote's).
fn mismatch() -> ClientError {
    ClientError::Protocol("the remote agent's actor answered with the wrong kind of result".into())
}

fn busy(url: &str) -> ClientError {
    ClientError::A2a {
        reason: "REMOTE_BUSY".into(),
        code: 429,
        message: format!("every call slot to {url} is in use; try again later"),
    }
}

fn gone(url: &str) -> ClientError {
    ClientError::Transport(format!(
        "the actor for {url} stopped; it is being restarted"
    ))
}

impl RemoteAgent {
    /// The remote agent's base URL.
    pub fn url(&self) -> &str {
        &self.inner.url
    }

    /// Its circuit breaker's state.
    pub fn breaker_state(&self) -> BreakerState {
        self.inner.breaker.state()
    }

    /// The card last discovered, if any (see [`RemoteAgent::card`] to fetch it).
    pub fn known_card(&self) -> Option<AgentCard> {
        self.inner.card.read().ok().and_then(|c| c.clone())
    }

    /// Calls in flight now.
    pub fn in_flight(&self) -> usize {
        self.inner.opts.capacity - self.inner.mailbox.available_permits()
    }

    async fn call(&self, op: Op) -> Result<(Done, OwnedSemaphorePermit), ClientError> {
        let url = &self.inner.url;
        // An open breaker fails at once, without waiting for a slot.
        if self.inner.breaker.state() == BreakerState::Open {
            return Err(ClientError::CircuitOpen(
                self.inner.opts.client.breaker.failures_to_open,
            ));
        }
        let permit = tokio::time::timeout(
            self.inner.opts.admission_timeout,
            self.inner.mailbox.clone().acquire_owned(),
        )
        .await
        .map_err(|_| busy(url))?
        .map_err(|_| gone(url))?;
        let actor = self
            .inner
            .actor
            .read()
            .ok()
            .and_then(|a| a.clone())
            .ok_or_else(|| gone(url))?;
        let (tx, rx) = oneshot::channel();
        actor
            .cast(RemoteMsg::Call(Box::new(op), permit, tx))
            .map_err(|_| gone(url))?;
        rx.await.map_err(|_| gone(url))?
    }

    /// SendMessage (retried: the message keeps its `messageId`).
    pub async fn send(&self, req: SendMessageRequest) -> Result<SendMessageResponse, ClientError> {
        match self.call(Op::Send(req)).await?.0 {
            Done::Sent(r) => Ok(r),
            _ => Err(mismatch()),
        }
    }

    /// SendStreamingMessage.
    pub async fn send_streaming(
        &self,
        req: SendMessageRequest,
    ) -> Result<RemoteStream, ClientError> {
        self.stream(Op::Stream(req)).await
    }

    /// SubscribeToTask, from after `last_event_id` when given.
    pub async fn subscribe(
        &self,
        task_id: &str,
        last_event_id: Option<u64>,
    ) -> Result<RemoteStream, ClientError> {
        self.stream(Op::Subscribe(task_id.to_owned(), last_event_id))
            .await
    }

    async fn stream(&self, op: Op) -> Result<RemoteStream, ClientError> {
        match self.call(op).await? {
            (Done::Stream(events), permit) => Ok(RemoteStream {
                events,
                _permit: permit,
            }),
            _ => Err(mismatch()),
        }
    }

    /// GetTask.
    pub async fn get_task(&self, req: GetTaskRequest) -> Result<Task, ClientError> {
        match self.call(Op::Get(req)).await?.0 {
            Done::Task(t) => Ok(t),
            _ => Err(mismatch()),
        }
    }

    /// ListTasks.
    pub async fn list_tasks(
        &self,
        req: ListTasksRequest,
    ) -> Result<ListTasksResponse, ClientError> {
        match self.call(Op::List(req)).await?.0 {
            Done::List(l) => Ok(l),
            _ => Err(mismatch()),
        }
    }

    /// CancelTask.
    pub async fn cancel_task(&self, req: CancelTaskRequest) -> Result<Task, ClientError> {
        match self.call(Op::Cancel(req)).await?.0 {
            Done::Task(t) => Ok(t),
            _ => Err(mismatch()),
        }
    }

    /// The remote's card, discovered now if it is not known yet.
    pub async fn card(&self) -> Result<AgentCard, ClientError> {
        match self.call(Op::Card).await?.0 {
            Done::Card(c) => Ok(c),
            _ => Err(mismatch()),
        }
    }

    /// Fault injection for tests: makes the remote's actor fail.
    #[doc(hidden)]
    pub fn crash_actor(&self) -> bool {
        let actor = self.inner.actor.read().ok().and_then(|a| a.clone());
        actor.is_some_and(|a| a.cast(RemoteMsg::Crash).is_ok())
    }
}

/// The actor that owns one remote agent's client.
struct RemoteActor;

struct RemoteState {
    inner: Arc<RemoteInner>,
    client: Option<(Client, Instant)>,
}

impl RemoteState {
    /// The client, discovering the card when there is none or it is stale.
    async fn client(&mut self) -> Result<Client, ClientError> {
        let refresh = self.inner.opts.card_refresh;
        if let Some((c, at)) = &self.client
            && at.elapsed() < refresh
        {
            return Ok(c.clone());
        }
        let inner = &self.inner;
        if !inner.breaker.admit() {
            return Err(ClientError::CircuitOpen(
                inner.opts.client.breaker.failures_to_open,
            ));
        }
        match Client::discover_guarded(
            &inner.url,
            inner.opts.client.clone(),
            inner.breaker.clone(),
            inner.budget.clone(),
        )
        .await
        {
            Ok(c) => {
                inner.breaker.success();
                if let Ok(mut card) = inner.card.write() {
                    *card = Some(c.card().clone());
                }
                self.client = Some((c.clone(), Instant::now()));
                Ok(c)
            }
            Err(e) => {
                inner.breaker.failure();
                // A stale client still works better than none while the card cannot be had.
                match &self.client {
                    Some((c, _)) if !matches!(e, ClientError::Protocol(_)) => Ok(c.clone()),
                    _ => Err(e),
                }
            }
        }
    }
}

async fn run(client: Client, op: Op) -> Result<Done, ClientError> {
    Ok(match op {
        Op::Send(r) => Done::Sent(client.send(&r).await?),
        Op::Stream(r) => Done::Stream(Box::new(client.send_streaming(&r).await?)),
        Op::Subscribe(id, last) => Done::Stream(Box::new(client.subscribe(&id, last).await?)),
        Op::Get(r) => Done::Task(client.get_task(&r).await?),
        Op::List(r) => Done::List(client.list_tasks(&r).await?),
        Op::Cancel(r) => Done::Task(client.cancel_task(&r).await?),
        Op::Card => Done::Card(client.card().clone()),
    })
}

impl Actor for RemoteActor {
    type Msg = RemoteMsg;
    type State = RemoteState;
    type Arguments = Arc<RemoteInner>;

    async fn pre_start(
        &self,
        _myself: ActorRef<RemoteMsg>,
        inner: Arc<RemoteInner>,
    ) -> Result<RemoteState, ActorProcessingErr> {
        Ok(RemoteState {
            inner,
            client: None,
        })
    }

    async fn handle(
        &self,
        _myself: ActorRef<RemoteMsg>,
        msg: RemoteMsg,
        st: &mut RemoteState,
    ) -> Result<(), ActorProcessingErr> {
        match msg {
            RemoteMsg::Call(op, permit, reply) => {
                // Discovery happens here, one at a time for all callers; the call itself runs
                // on its own so a slow remote never blocks this actor.
                match st.client().await {
                    Ok(client) => {
                        tokio::spawn(async move {
                            let _ = reply.send(run(client, *op).await.map(|d| (d, permit)));
                        });
                    }
                    Err(e) => {
                        let _ = reply.send(Err(e));
                    }
                }
            }
            RemoteMsg::Crash => return Err("crash requested (fault injection)".into()),
        }
        Ok(())
    }
}

/// Restarts remote actors that die; they hold nothing that cannot be discovered again.
struct RemoteSupervisor;

enum SupervisorMsg {
    Start(Arc<RemoteInner>, oneshot::Sender<Result<(), String>>),
    Restart(Arc<RemoteInner>),
}

impl RemoteSupervisor {
    async fn spawn(
        myself: &ActorRef<SupervisorMsg>,
        children: &mut HashMap<ActorId, Arc<RemoteInner>>,
        inner: Arc<RemoteInner>,
    ) -> Result<(), String> {
        let (actor, _) = Actor::spawn_linked(None, RemoteActor, inner.clone(), myself.get_cell())
            .await
            .map_err(|e| format!("cannot start the actor for {}: {e}", inner.url))?;
        children.insert(actor.get_id(), inner.clone());
        if let Ok(mut a) = inner.actor.write() {
            *a = Some(actor);
        }
        Ok(())
    }
}

impl Actor for RemoteSupervisor {
    type Msg = SupervisorMsg;
    type State = HashMap<ActorId, Arc<RemoteInner>>;
    type Arguments = ();

    async fn pre_start(
        &self,
        _myself: ActorRef<SupervisorMsg>,
        _: (),
    ) -> Result<Self::State, ActorProcessingErr> {
        Ok(HashMap::new())
    }

    async fn handle(
        &self,
        myself: ActorRef<SupervisorMsg>,
        msg: SupervisorMsg,
        children: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        match msg {
            SupervisorMsg::Start(inner, reply) => {
                let _ = reply.send(Self::spawn(&myself, children, inner).await);
            }
            SupervisorMsg::Restart(inner) => {
                if let Err(e) = Self::spawn(&myself, children, inner).await {
                    tracing::error!(error = %e, "remote agent actor restart failed");
                }
            }
        }
        Ok(())
    }

    async fn handle_supervisor_evt(
        &self,
        myself: ActorRef<SupervisorMsg>,
        evt: SupervisionEvent,
        children: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        let (cell, failed) = match &evt {
            SupervisionEvent::ActorFailed(cell, _) => (cell, true),
            SupervisionEvent::ActorTerminated(cell, ..) => (cell, false),
            _ => return Ok(()),
        };
        let Some(inner) = children.remove(&cell.get_id()) else {
            return Ok(());
        };
        if let Ok(mut a) = inner.actor.write() {
            *a = None;
        }
        // A stopped actor was dropped from the registry on purpose; a failed one comes back.
        if failed {
            tracing::warn!(remote = %inner.url, "remote agent actor died; restarting");
            metrics::counter!("a2a_remote_actor_restarts_total").increment(1);
            let me = myself.clone();
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(50)).await;
                let _ = me.cast(SupervisorMsg::Restart(inner));
            });
        }
        Ok(())
    }
}

/// The remote agents of one runtime, one per URL.
pub struct Remotes {
    opts: RemoteOptions,
    supervisor: ActorRef<SupervisorMsg>,
    agents: Mutex<HashMap<String, RemoteAgent>>,
}

impl std::fmt::Debug for Remotes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Remotes").finish_non_exhaustive()
    }
}

impl Remotes {
    /// Starts the registry's supervisor.
    pub async fn start(opts: RemoteOptions) -> Result<Self, String> {
        let (supervisor, _) = Actor::spawn(None, RemoteSupervisor, ())
            .await
            .map_err(|e| format!("cannot start the remote agents' supervisor: {e}"))?;
        Ok(Self {
            opts,
            supervisor,
            agents: Mutex::new(HashMap::new()),
        })
    }

    /// The remote agent at `url` (its base URL or its card's URL), started on first use.
    pub async fn get(&self, url: &str) -> Result<RemoteAgent, ClientError> {
        self.get_with(url, &[]).await
    }

    /// The same, calling it with extra `headers` (credentials, say); each set of headers gets
    /// its own remote agent (and breaker).
    pub async fn get_with(
        &self,
        url: &str,
        headers: &[(String, String)],
    ) -> Result<RemoteAgent, ClientError> {
        let url = url.trim_end_matches('/').to_owned();
        let mut key = url.clone();
        for (k, v) in headers {
            key.push_str(&format!("\n{k}: {v}"));
        }
        if let Some(r) = self.agents.lock().ok().and_then(|a| a.get(&key).cloned()) {
            return Ok(r);
        }
        let mut opts = self.opts.clone();
        opts.client.headers.extend(headers.iter().cloned());
        let inner = Arc::new(RemoteInner {
            url: url.clone(),
            opts,
            mailbox: Arc::new(Semaphore::new(self.opts.capacity)),
            breaker: Arc::new(Breaker::new(self.opts.client.breaker.clone())),
            budget: Arc::new(RetryBudget::new(&self.opts.client.retry)),
            actor: RwLock::new(None),
            card: RwLock::new(None),
        });
        let (tx, rx) = oneshot::channel();
        self.supervisor
            .cast(SupervisorMsg::Start(inner.clone(), tx))
            .map_err(|_| gone(&key))?;
        rx.await
            .map_err(|_| gone(&key))?
            .map_err(ClientError::Transport)?;
        let fresh = RemoteAgent { inner };
        let mut agents = self
            .agents
            .lock()
            .map_err(|_| ClientError::Transport("the remote registry is poisoned".into()))?;
        // Two callers may have started the same remote at once: keep the first.
        if let Some(r) = agents.get(&key) {
            stop(&fresh);
            return Ok(r.clone());
        }
        if agents.len() >= self.opts.max_remotes {
            let idle = agents
                .iter()
                .find(|(_, r)| r.in_flight() == 0)
                .map(|(k, _)| k.clone());
            match idle.and_then(|k| agents.remove(&k)) {
                Some(old) => stop(&old),
                None => {
                    stop(&fresh);
                    return Err(busy("remote agents (every one has calls in flight)"));
                }
            }
        }
        agents.insert(key, fresh.clone());
        Ok(fresh)
    }

    /// A remote agent already started for `url`, whatever its headers (a cancel that cascades
    /// after the fact uses the credentials the task was delegated with), else a new one.
    pub async fn find(&self, url: &str) -> Result<RemoteAgent, ClientError> {
        let url = url.trim_end_matches('/');
        let known = self.agents.lock().ok().and_then(|a| {
            a.values()
                .filter(|r| r.inner.url == url)
                .max_by_key(|r| r.inner.opts.client.headers.len())
                .cloned()
        });
        match known {
            Some(r) => Ok(r),
            None => self.get(url).await,
        }
    }

    /// Remote agents known now.
    pub fn len(&self) -> usize {
        self.agents.lock().map_or(0, |a| a.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn stop(remote: &RemoteAgent) {
    if let Some(a) = remote.inner.actor.read().ok().and_then(|a| a.clone()) {
        a.stop(None);
    }
}

impl Drop for Remotes {
    fn drop(&mut self) {
        self.supervisor.stop(None);
    }
}
