//! The session actor: one per live `contextId`. It routes each message to its task's actor
//! (starting one from the log when needed), keeps each task's turns in order (a task actor runs
//! them one by one), and stops task actors once they are idle. It is itself stopped by its agent
//! when it has no live tasks (passivation): its state is all in the log.

use std::sync::Arc;

use ractor::{Actor, ActorProcessingErr, ActorRef, SupervisionEvent};

use super::AgentShared;
use super::agent_actor::AgentMsg;
use super::children::Children;
use super::core::TaskCore;
use super::task::{TaskActor, TaskArgs, TaskMsg};
use crate::protocol::{A2aError, ErrorKind};

pub(crate) enum SessionMsg {
    /// Deliver `msg` to task `task_id`; `core` is given for a task that was just created.
    Route {
        task_id: String,
        core: Option<Arc<TaskCore>>,
        msg: TaskMsg,
    },
    /// A task actor has nothing running or queued after finishing `handled` messages.
    TaskIdle { task_id: String, handled: u64 },
}

pub(crate) struct SessionActor;

pub(crate) struct SessionArgs {
    pub context_id: String,
    pub agent: Arc<AgentShared>,
    pub parent: ActorRef<AgentMsg>,
    /// The agent's gauge of live task actors.
    pub live_task_actors: metrics::Gauge,
}

pub(crate) struct SessionState {
    context_id: String,
    agent: Arc<AgentShared>,
    parent: ActorRef<AgentMsg>,
    /// Live task actors, by task id.
    tasks: Children<TaskMsg>,
    /// Route messages handled, reported to the agent so it stops this session only when idle.
    processed: u64,
    live_task_actors: metrics::Gauge,
}

impl Actor for SessionActor {
    type Msg = SessionMsg;
    type State = SessionState;
    type Arguments = SessionArgs;

    async fn pre_start(
        &self,
        _myself: ActorRef<SessionMsg>,
        a: SessionArgs,
    ) -> Result<SessionState, ActorProcessingErr> {
        Ok(SessionState {
            context_id: a.context_id,
            agent: a.agent,
            parent: a.parent,
            tasks: Children::default(),
            processed: 0,
            live_task_actors: a.live_task_actors,
        })
    }

    async fn handle(
        &self,
        myself: ActorRef<SessionMsg>,
        msg: SessionMsg,
        st: &mut SessionState,
    ) -> Result<(), ActorProcessingErr> {
        match msg {
            SessionMsg::Route { task_id, core, msg } => {
                st.processed += 1;
                route(&myself, st, task_id, core, msg).await;
                report_if_idle(st);
            }
            SessionMsg::TaskIdle { task_id, handled } => {
                if let Some((actor, sent)) = st.tasks.get(&task_id)
                    && *sent == handled
                {
                    actor.stop(None);
                    st.forget(&task_id);
                }
                report_if_idle(st);
            }
        }
        Ok(())
    }

    /// A task actor that dies (a runtime bug, not a handler failure: those are caught) is
    /// forgotten; the session keeps serving its other tasks.
    async fn handle_supervisor_evt(
        &self,
        _myself: ActorRef<SessionMsg>,
        evt: SupervisionEvent,
        st: &mut SessionState,
    ) -> Result<(), ActorProcessingErr> {
        let exited = match &evt {
            SupervisionEvent::ActorFailed(cell, err) => {
                tracing::error!(context_id = %st.context_id, error = %err, "task actor failed");
                cell.get_id()
            }
            SupervisionEvent::ActorTerminated(cell, ..) => cell.get_id(),
            _ => return Ok(()),
        };
        // An actor stopped for being idle was forgotten already; one that died is forgotten here.
        if st.tasks.exited(exited) {
            st.count(-1.0);
        }
        Ok(())
    }
}

/// However a session ends, the task actors it still tracks end with it (ractor kills an exiting
/// actor's children), so they leave the gauge with it.
impl Drop for SessionState {
    fn drop(&mut self) {
        if !self.tasks.is_empty() {
            self.count(-(self.tasks.len() as f64));
        }
    }
}

impl SessionState {
    /// Keeps a new task actor, sent one message so far.
    fn track(&mut self, task_id: String, actor: ActorRef<TaskMsg>) {
        self.tasks.insert(task_id, actor, 1);
        self.count(1.0);
    }

    /// Forgets the actor of `task_id` (it stopped, or is being stopped).
    fn forget(&mut self, task_id: &str) {
        if self.tasks.forget(task_id) {
            self.count(-1.0);
        }
    }

    /// Moves the gauge of live task actors (they stop when idle: one that only grows is a leak).
    fn count(&self, by: f64) {
        self.live_task_actors.increment(by);
    }
}

/// Tells the agent this session has no live tasks, so it may stop it (it checks that it sent
/// nothing since).
fn report_if_idle(st: &SessionState) {
    if st.tasks.is_empty() {
        let _ = st.parent.cast(AgentMsg::SessionIdle {
            context_id: st.context_id.clone(),
            processed: st.processed,
        });
    }
}

async fn route(
    myself: &ActorRef<SessionMsg>,
    st: &mut SessionState,
    task_id: String,
    core: Option<Arc<TaskCore>>,
    msg: TaskMsg,
) {
    if let Some((actor, sent)) = st.tasks.get_mut(&task_id) {
        match actor.cast(msg) {
            Ok(()) => {
                *sent += 1;
                return;
            }
            Err(ractor::MessagingErr::SendErr(back)) => {
                st.forget(&task_id);
                return spawn_and_send(myself, st, task_id, core, back).await;
            }
            Err(_) => {
                st.forget(&task_id);
                return;
            }
        }
    }
    spawn_and_send(myself, st, task_id, core, msg).await
}

async fn spawn_and_send(
    myself: &ActorRef<SessionMsg>,
    st: &mut SessionState,
    task_id: String,
    core: Option<Arc<TaskCore>>,
    msg: TaskMsg,
) {
    let core = match core {
        Some(c) => c,
        None => match st.agent.log.task(&task_id) {
            Ok(Some(rec)) => match TaskCore::load(st.agent.log.clone(), rec) {
                Ok(core) => core,
                Err(e) => {
                    return msg.refuse(A2aError::with_message(ErrorKind::Internal, e.to_string()));
                }
            },
            Ok(None) => return msg.refuse(A2aError::task_not_found(&task_id)),
            Err(e) => {
                return msg.refuse(A2aError::with_message(ErrorKind::Internal, e.to_string()));
            }
        },
    };
    let args = TaskArgs {
        core,
        agent: st.agent.clone(),
        session: myself.clone(),
    };
    match Actor::spawn_linked(None, TaskActor, args, myself.get_cell()).await {
        Ok((actor, _)) => match actor.cast(msg) {
            Ok(()) => st.track(task_id, actor),
            Err(ractor::MessagingErr::SendErr(back)) => {
                back.refuse(A2aError::new(ErrorKind::Internal))
            }
            Err(_) => {}
        },
        Err(e) => msg.refuse(A2aError::with_message(
            ErrorKind::Internal,
            format!("cannot start task actor: {e}"),
        )),
    }
}
