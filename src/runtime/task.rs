//! The task actor: one per live task. It runs the task's turns one after another (each in its
//! own tokio task, so CancelTask reaches it while a handler runs), and tells its session when it
//! is idle so the session can stop it. Its state lives in the log; stopping it loses nothing.

use std::collections::VecDeque;
use std::sync::Arc;

use futures_util::FutureExt;
use ractor::{Actor, ActorProcessingErr, ActorRef};
use tokio::sync::{OwnedSemaphorePermit, oneshot};
use tokio_util::sync::CancellationToken;

use super::agent::AgentError;
use super::context::TaskContext;
use super::core::{Change, Refused, TaskCore};
use super::session::SessionMsg;
use super::{AgentShared, LiveGuard};
use crate::protocol::{
    A2aError, ErrorKind, Message, Part, Role, Task, TaskPushNotificationConfig, TaskState,
};

/// Handler attempts after which a task that keeps being interrupted by crashes is failed.
const MAX_ATTEMPTS: u32 = 3;

/// What a turn produced for the caller who asked for it.
pub(crate) enum Accepted {
    /// The turn runs; `ticket` makes its first write durable.
    Running { core: Arc<TaskCore>, ticket: u64 },
    /// The message was sent before and belongs to this task.
    Duplicate(String),
}

pub(crate) type TurnReply = oneshot::Sender<Result<Accepted, A2aError>>;

pub(crate) enum TurnKind {
    /// The first turn of a task whose first record is already written.
    New,
    /// A follow-up message from `owner`.
    Continue {
        message: Box<Message>,
        owner: String,
        /// A webhook sent with the message: stored before the turn's first event.
        push: Option<Box<TaskPushNotificationConfig>>,
    },
    /// The turn a crash interrupted, run again.
    Resume,
}

pub(crate) struct Turn {
    pub kind: TurnKind,
    /// The agent mailbox slot this turn holds until its handler is done.
    pub permit: Option<OwnedSemaphorePermit>,
    pub reply: Option<TurnReply>,
}

pub(crate) enum TaskMsg {
    Turn(Box<Turn>),
    Cancel(oneshot::Sender<Result<Task, A2aError>>),
    /// Stores or deletes a webhook; answers with the write's ticket.
    Push(PushChange, oneshot::Sender<Result<u64, A2aError>>),
    TurnDone,
}

pub(crate) enum PushChange {
    Put(Box<TaskPushNotificationConfig>),
    Delete(String),
}

impl TaskMsg {
    /// Answers the sender that its message cannot be delivered.
    pub(crate) fn refuse(self, err: A2aError) {
        match self {
            TaskMsg::Turn(turn) => {
                if let Some(r) = turn.reply {
                    let _ = r.send(Err(err));
                }
            }
            TaskMsg::Cancel(r) => {
                let _ = r.send(Err(err));
            }
            TaskMsg::Push(_, r) => {
                let _ = r.send(Err(err));
            }
            TaskMsg::TurnDone => {}
        }
    }
}

pub(crate) struct TaskActor;

pub(crate) struct TaskArgs {
    pub core: Arc<TaskCore>,
    pub agent: Arc<AgentShared>,
    pub session: ActorRef<SessionMsg>,
}

pub(crate) struct TaskActorState {
    core: Arc<TaskCore>,
    agent: Arc<AgentShared>,
    session: ActorRef<SessionMsg>,
    queue: VecDeque<Turn>,
    running: Option<CancellationToken>,
    /// Turn, Cancel and Push messages finished; the session compares it with what it sent.
    handled: u64,
    _live: LiveGuard,
}

impl Actor for TaskActor {
    type Msg = TaskMsg;
    type State = TaskActorState;
    type Arguments = TaskArgs;

    async fn pre_start(
        &self,
        _myself: ActorRef<TaskMsg>,
        args: TaskArgs,
    ) -> Result<TaskActorState, ActorProcessingErr> {
        let live = LiveGuard::register(&args.agent.live, args.core.clone());
        Ok(TaskActorState {
            core: args.core,
            agent: args.agent,
            session: args.session,
            queue: VecDeque::new(),
            running: None,
            handled: 0,
            _live: live,
        })
    }

    async fn handle(
        &self,
        myself: ActorRef<TaskMsg>,
        msg: TaskMsg,
        st: &mut TaskActorState,
    ) -> Result<(), ActorProcessingErr> {
        match msg {
            TaskMsg::Turn(turn) => {
                if st.running.is_some() {
                    st.queue.push_back(*turn);
                } else {
                    start_turn(&myself, st, *turn).await;
                }
            }
            TaskMsg::Cancel(reply) => {
                cancel(st, reply).await;
                st.handled += 1;
                report_if_idle(st);
            }
            TaskMsg::Push(change, reply) => {
                let r = match change {
                    PushChange::Put(cfg) => st.core.put_push_config(&cfg).await,
                    PushChange::Delete(id) => st.core.delete_push_config(&id).await,
                };
                let _ = reply.send(r.map_err(|e| refused_to_error(e, &st.core.id)));
                st.handled += 1;
                report_if_idle(st);
            }
            TaskMsg::TurnDone => {
                st.running = None;
                st.handled += 1;
                while st.running.is_none() {
                    let Some(next) = st.queue.pop_front() else {
                        break;
                    };
                    start_turn(&myself, st, next).await;
                }
                report_if_idle(st);
            }
        }
        Ok(())
    }
}

fn report_if_idle(st: &TaskActorState) {
    if st.running.is_none() && st.queue.is_empty() {
        let _ = st.session.cast(SessionMsg::TaskIdle {
            task_id: st.core.id.clone(),
            handled: st.handled,
        });
    }
}

fn refused_to_error(r: Refused, task_id: &str) -> A2aError {
    match r {
        Refused::Terminal(s) => A2aError::task_closed(task_id, s),
        Refused::Storage(e) => {
            A2aError::with_message(ErrorKind::Internal, format!("storage failed: {e}"))
        }
        Refused::NotAllowed(why) => A2aError::with_message(ErrorKind::InvalidParams, why),
        Refused::Duplicate(other) => A2aError::with_message(
            ErrorKind::InvalidParams,
            format!("duplicate of a message of task {other}"),
        ),
    }
}

async fn start_turn(myself: &ActorRef<TaskMsg>, st: &mut TaskActorState, turn: Turn) {
    let Turn {
        kind,
        permit,
        reply,
    } = turn;
    let core = st.core.clone();
    let answer = |r: Result<Accepted, A2aError>| {
        if let Some(reply) = reply {
            let _ = reply.send(r);
        }
    };
    let started = match kind {
        TurnKind::New => Ok(core.latest().ticket),
        TurnKind::Continue {
            message,
            owner,
            push,
        } => {
            let message_id = message.message_id.clone();
            let pushed = match push {
                Some(cfg) => core.put_push_config(&cfg).await.map(|_| ()),
                None => Ok(()),
            };
            let applied = match pushed {
                Ok(()) => {
                    let claim = st.agent.spec.idempotent_sends.then_some(owner.as_str());
                    core.apply(Change::UserMessage(*message), claim).await
                }
                Err(e) => Err(e),
            };
            match applied {
                // A retried follow-up that raced its original to a now final task gets the task.
                Err(Refused::Terminal(s)) => {
                    match st
                        .agent
                        .log
                        .idempotent_task(&st.agent.spec.name, &owner, &message_id)
                    {
                        Ok(Some(task)) => Err(Refused::Duplicate(task)),
                        _ => Err(Refused::Terminal(s)),
                    }
                }
                other => other,
            }
        }
        TurnKind::Resume => {
            let attempts = core.record().await.attempts;
            if attempts >= MAX_ATTEMPTS {
                let why = format!(
                    "gave up after {attempts} attempts, each interrupted by a server restart"
                );
                let _ = core
                    .apply(
                        Change::Status(
                            TaskState::Failed,
                            Some(Message::agent(vec![Part::text(why)])),
                        ),
                        None,
                    )
                    .await;
                Err(Refused::NotAllowed("too many attempts"))
            } else {
                core.apply(Change::Resume, None).await
            }
        }
    };
    let ticket = match started {
        Ok(t) => t,
        Err(Refused::Duplicate(other)) => {
            answer(Ok(Accepted::Duplicate(other)));
            st.handled += 1;
            return;
        }
        Err(r) => {
            answer(Err(refused_to_error(r, &core.id)));
            st.handled += 1;
            return;
        }
    };
    let record = core.record().await;
    let message = record
        .task
        .history
        .iter()
        .rev()
        .find(|m| m.role == Role::User)
        .cloned()
        .unwrap_or_default();
    let cancel = CancellationToken::new();
    let ctx = TaskContext {
        core: core.clone(),
        message: Arc::new(message),
        task: Arc::new(record.task),
        cancel: cancel.clone(),
        attempt: record.attempts,
        remotes: st.agent.remotes.clone(),
    };
    st.running = Some(cancel);
    answer(Ok(Accepted::Running { core, ticket }));
    tokio::spawn(run_turn(st.agent.clone(), ctx, permit, myself.clone()));
}

async fn cancel(st: &TaskActorState, reply: oneshot::Sender<Result<Task, A2aError>>) {
    match st
        .core
        .apply(Change::Status(TaskState::Canceled, None), None)
        .await
    {
        Ok(ticket) => {
            if let Some(token) = &st.running {
                token.cancel();
            }
            let core = st.core.clone();
            let log = st.agent.log.clone();
            let remotes = st.running.is_none().then(|| st.agent.remotes.clone());
            // Answer once the cancel is durable, without holding up the actor.
            tokio::spawn(async move {
                let (task, p) = core.snapshot().await;
                // A waiting task that delegated to a remote one: the remote task goes too (a
                // running turn does this itself, see `TaskContext::delegate`).
                if let Some((remotes, d)) = remotes.zip(super::delegation_of(&task)) {
                    tokio::spawn(async move {
                        if let Ok(remote) = remotes.find(&d.url).await {
                            super::delegate::cancel_remote(&remote, &d.task_id).await;
                        }
                    });
                }
                let r = match log.durable(ticket.max(p.ticket)).await {
                    Ok(()) => Ok(task),
                    Err(e) => Err(A2aError::with_message(ErrorKind::Internal, e.to_string())),
                };
                let _ = reply.send(r);
            });
        }
        Err(Refused::Terminal(s)) => {
            let _ = reply.send(Err(A2aError::not_cancelable(&st.core.id, s)));
        }
        Err(r) => {
            let _ = reply.send(Err(refused_to_error(r, &st.core.id)));
        }
    }
}

enum Outcome {
    Returned(Result<(), AgentError>),
    Panicked(String),
    TimedOut,
    Canceled,
}

/// Runs one handler turn to its end and settles the task whatever the handler did.
async fn run_turn(
    agent: Arc<AgentShared>,
    ctx: TaskContext,
    permit: Option<OwnedSemaphorePermit>,
    actor: ActorRef<TaskMsg>,
) {
    let core = ctx.core.clone();
    let cancel = ctx.cancel.clone();
    let _slot = agent.running.clone().acquire_owned().await;
    // The handler runs inside this task (no spawn of its own per turn); a panic is caught here
    // and fails the task, and dropping the future is what aborts a handler past its grace.
    let handler = agent.handler.clone();
    let timeouts = &agent.spec.timeouts;
    let outcome = {
        let turn = std::panic::AssertUnwindSafe(handler.call(ctx)).catch_unwind();
        tokio::pin!(turn);
        tokio::select! {
            r = &mut turn => returned(r),
            () = tokio::time::sleep(timeouts.turn()) => {
                cancel.cancel();
                let _ = tokio::time::timeout(timeouts.cancel_grace(), &mut turn).await;
                Outcome::TimedOut
            }
            () = cancel.cancelled() => {
                let _ = tokio::time::timeout(timeouts.cancel_grace(), &mut turn).await;
                Outcome::Canceled
            }
        }
        // A handler still running past its grace is dropped here: that is its abort.
    };
    let fail = |text: String| {
        Change::Status(
            TaskState::Failed,
            Some(Message::agent(vec![Part::text(text)])),
        )
    };
    let settle = match outcome {
        Outcome::Returned(Ok(())) => {
            let p = core.latest();
            (!p.settled()).then_some(Change::Status(TaskState::Completed, None))
        }
        Outcome::Returned(Err(AgentError::TaskClosed)) | Outcome::Canceled => None,
        Outcome::Returned(Err(e)) => Some(fail(e.to_string())),
        Outcome::Panicked(msg) => {
            tracing::warn!(task_id = %core.id, agent = %agent.spec.name, panic = %msg, "handler panicked; task failed");
            Some(fail(format!("the agent failed: {msg}")))
        }
        Outcome::TimedOut => Some(fail(format!(
            "the turn timed out after {} s",
            timeouts.turn_secs
        ))),
    };
    if let Some(change) = settle
        && let Err(Refused::Storage(e)) = core.apply(change, None).await
    {
        tracing::error!(task_id = %core.id, error = %e, "cannot settle task");
    }
    drop(permit);
    let _ = actor.cast(TaskMsg::TurnDone);
}

fn returned(r: Result<Result<(), AgentError>, Box<dyn std::any::Any + Send>>) -> Outcome {
    match r {
        Ok(r) => Outcome::Returned(r),
        Err(payload) => {
            let msg = payload
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "panic".to_owned());
            Outcome::Panicked(msg)
        }
    }
}
