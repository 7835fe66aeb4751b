//! The agent actor: one per agent. Requests reach it only after admission (the bounded mailbox
//! lives in [`AgentShared::mailbox`]); it maps each `contextId` to a session actor, starting one
//! on demand and stopping it when idle.

use std::sync::Arc;

use ractor::{Actor, ActorProcessingErr, ActorRef, SupervisionEvent};

use super::AgentShared;
use super::children::Children;
use super::core::TaskCore;
use super::session::{SessionActor, SessionArgs, SessionMsg};
use super::task::TaskMsg;
use crate::protocol::{A2aError, ErrorKind};

pub(crate) enum AgentMsg {
    Route {
        context_id: String,
        task_id: String,
        core: Option<Arc<TaskCore>>,
        msg: TaskMsg,
    },
    /// A session has no live tasks after handling `processed` messages.
    SessionIdle { context_id: String, processed: u64 },
    /// Fault injection: makes the actor fail, so tests can watch its supervisor restart it.
    Crash,
}

pub(crate) struct AgentActor;

pub(crate) struct AgentActorState {
    agent: Arc<AgentShared>,
    /// Live sessions, by context id.
    sessions: Children<SessionMsg>,
    /// Live sessions, and live task actors (which the sessions count), as gauges.
    live_sessions: metrics::Gauge,
    live_task_actors: metrics::Gauge,
}

impl Actor for AgentActor {
    type Msg = AgentMsg;
    type State = AgentActorState;
    type Arguments = Arc<AgentShared>;

    async fn pre_start(
        &self,
        _myself: ActorRef<AgentMsg>,
        agent: Arc<AgentShared>,
    ) -> Result<AgentActorState, ActorProcessingErr> {
        let name = agent.spec.name.clone();
        Ok(AgentActorState {
            agent,
            sessions: Children::default(),
            live_sessions: metrics::gauge!("a2a_live_sessions", "agent" => name.clone()),
            live_task_actors: metrics::gauge!("a2a_live_task_actors", "agent" => name),
        })
    }

    async fn handle(
        &self,
        myself: ActorRef<AgentMsg>,
        msg: AgentMsg,
        st: &mut AgentActorState,
    ) -> Result<(), ActorProcessingErr> {
        let handled = dispatch(myself, msg, st).await;
        st.count();
        handled
    }

    async fn handle_supervisor_evt(
        &self,
        _myself: ActorRef<AgentMsg>,
        evt: SupervisionEvent,
        st: &mut AgentActorState,
    ) -> Result<(), ActorProcessingErr> {
        let exited = match &evt {
            SupervisionEvent::ActorFailed(cell, err) => {
                tracing::error!(agent = %st.agent.spec.name, error = %err, "session actor failed");
                cell.get_id()
            }
            SupervisionEvent::ActorTerminated(cell, ..) => cell.get_id(),
            _ => return Ok(()),
        };
        // A session stopped for being idle was forgotten already; one that died is forgotten here.
        st.sessions.exited(exited);
        st.count();
        Ok(())
    }
}

/// Routes a message to its session (starting one when needed) or stops an idle session.
async fn dispatch(
    myself: ActorRef<AgentMsg>,
    msg: AgentMsg,
    st: &mut AgentActorState,
) -> Result<(), ActorProcessingErr> {
    match msg {
        AgentMsg::Route {
            context_id,
            task_id,
            core,
            msg,
        } => {
            let mut routed = SessionMsg::Route { task_id, core, msg };
            for _ in 0..2 {
                let session = match st.sessions.get_mut(&context_id) {
                    Some(s) => s,
                    None => {
                        let args = SessionArgs {
                            context_id: context_id.clone(),
                            agent: st.agent.clone(),
                            parent: myself.clone(),
                            live_task_actors: st.live_task_actors.clone(),
                        };
                        match Actor::spawn_linked(None, SessionActor, args, myself.get_cell()).await
                        {
                            Ok((s, _)) => st.sessions.insert(context_id.clone(), s, 0),
                            Err(e) => {
                                refuse(
                                    routed,
                                    A2aError::with_message(
                                        ErrorKind::Internal,
                                        format!("cannot start session: {e}"),
                                    ),
                                );
                                return Ok(());
                            }
                        }
                    }
                };
                match session.0.cast(routed) {
                    Ok(()) => {
                        session.1 += 1;
                        return Ok(());
                    }
                    Err(ractor::MessagingErr::SendErr(back)) => {
                        // The session stopped since we last used it: start a fresh one.
                        st.sessions.forget(&context_id);
                        routed = back;
                    }
                    Err(_) => return Ok(()),
                }
            }
            refuse(routed, A2aError::new(ErrorKind::Internal));
        }
        AgentMsg::SessionIdle {
            context_id,
            processed,
        } => {
            if let Some((session, sent)) = st.sessions.get(&context_id)
                && *sent == processed
            {
                session.stop(None);
                st.sessions.forget(&context_id);
            }
        }
        AgentMsg::Crash => return Err("crash requested (fault injection)".into()),
    }
    Ok(())
}

impl AgentActorState {
    /// Exports how many sessions are live (they stop when idle: a count that only grows is a leak).
    fn count(&self) {
        self.live_sessions.set(self.sessions.len() as f64);
    }
}

fn refuse(msg: SessionMsg, err: A2aError) {
    if let SessionMsg::Route { msg, .. } = msg {
        msg.refuse(err);
    }
}
