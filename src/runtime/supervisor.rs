//! The agent supervisor: starts every agent actor, and restarts one that dies, with exponential
//! backoff, within its manifest's restart intensity (`max_restarts` in `window_secs`). Past that
//! the agent is marked unhealthy and left stopped. ractor's default would stop the supervisor when
//! any child exits; this one overrides `handle_supervisor_evt`.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use ractor::{Actor, ActorId, ActorProcessingErr, ActorRef, SupervisionEvent};
use tokio::sync::oneshot;

use super::AgentEntry;
use super::agent_actor::AgentActor;

pub(crate) enum SupervisorMsg {
    Start(Arc<AgentEntry>, oneshot::Sender<Result<(), String>>),
    Restart(String),
}

pub(crate) struct AgentSupervisor;

pub(crate) struct SupervisorState {
    agents: HashMap<String, (Arc<AgentEntry>, VecDeque<Instant>)>,
    by_actor: HashMap<ActorId, String>,
}

impl AgentSupervisor {
    async fn spawn_agent(
        myself: &ActorRef<SupervisorMsg>,
        st: &mut SupervisorState,
        entry: &Arc<AgentEntry>,
    ) -> Result<(), String> {
        let (actor, _) =
            Actor::spawn_linked(None, AgentActor, entry.shared.clone(), myself.get_cell())
                .await
                .map_err(|e| format!("cannot start agent {}: {e}", entry.shared.spec.name))?;
        st.by_actor
            .insert(actor.get_id(), entry.shared.spec.name.clone());
        entry.set_actor(Some(actor));
        Ok(())
    }
}

impl Actor for AgentSupervisor {
    type Msg = SupervisorMsg;
    type State = SupervisorState;
    type Arguments = ();

    async fn pre_start(
        &self,
        _myself: ActorRef<SupervisorMsg>,
        _: (),
    ) -> Result<SupervisorState, ActorProcessingErr> {
        Ok(SupervisorState {
            agents: HashMap::new(),
            by_actor: HashMap::new(),
        })
    }

    async fn handle(
        &self,
        myself: ActorRef<SupervisorMsg>,
        msg: SupervisorMsg,
        st: &mut SupervisorState,
    ) -> Result<(), ActorProcessingErr> {
        match msg {
            SupervisorMsg::Start(entry, reply) => {
                let r = Self::spawn_agent(&myself, st, &entry).await;
                if r.is_ok() {
                    st.agents
                        .insert(entry.shared.spec.name.clone(), (entry, VecDeque::new()));
                }
                let _ = reply.send(r);
            }
            SupervisorMsg::Restart(name) => {
                if let Some((entry, _)) = st.agents.get(&name).cloned()
                    && let Err(e) = Self::spawn_agent(&myself, st, &entry).await
                {
                    tracing::error!(agent = %name, error = %e, "restart failed");
                    entry.healthy.store(false, Ordering::Release);
                }
            }
        }
        Ok(())
    }

    async fn handle_supervisor_evt(
        &self,
        myself: ActorRef<SupervisorMsg>,
        evt: SupervisionEvent,
        st: &mut SupervisorState,
    ) -> Result<(), ActorProcessingErr> {
        let Some((id, why)) = super::child_exit(&evt) else {
            return Ok(());
        };
        let Some(name) = st.by_actor.remove(&id) else {
            return Ok(());
        };
        let Some((entry, restarts)) = st.agents.get_mut(&name) else {
            return Ok(());
        };
        entry.set_actor(None);
        let policy = &entry.shared.spec.restart;
        let now = Instant::now();
        let window = Duration::from_secs(policy.window_secs);
        while restarts
            .front()
            .is_some_and(|t| now.duration_since(*t) > window)
        {
            restarts.pop_front();
        }
        if restarts.len() >= policy.max_restarts as usize {
            tracing::error!(agent = %name, reason = %why, "agent died too often; marked unhealthy and not restarted");
            metrics::counter!("a2a_agent_given_up_total", "agent" => name.clone()).increment(1);
            entry.healthy.store(false, Ordering::Release);
            return Ok(());
        }
        metrics::counter!("a2a_agent_restarts_total", "agent" => name.clone()).increment(1);
        restarts.push_back(now);
        let exp = u32::try_from(restarts.len().saturating_sub(1))
            .unwrap_or(16)
            .min(16);
        let backoff = Duration::from_millis(policy.backoff_ms.saturating_mul(1u64 << exp));
        tracing::warn!(agent = %name, reason = %why, backoff_ms = backoff.as_millis() as u64, "agent actor died; restarting");
        let me = myself.clone();
        tokio::spawn(async move {
            tokio::time::sleep(backoff).await;
            let _ = me.cast(SupervisorMsg::Restart(name));
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use crate::config::AgentSpec;
    use crate::runtime::{Agent, AgentError, Runtime, RuntimeConfig, TaskContext};
    use crate::store::failing::Failing;

    struct Quick;

    impl Agent for Quick {
        async fn on_message(&self, ctx: TaskContext) -> Result<(), AgentError> {
            ctx.complete().await
        }
    }

    /// Waits (in paused time: at once) until `cond` holds; returns how long that took.
    async fn until(cond: impl Fn() -> bool) -> Duration {
        let start = tokio::time::Instant::now();
        while !cond() {
            assert!(
                start.elapsed() < Duration::from_secs(3600),
                "never happened"
            );
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        start.elapsed()
    }

    /// A dead agent actor comes back after its backoff, doubled per restart in the window; the
    /// death past `max_restarts` is the last, and readiness names the agent from then on.
    #[tokio::test(start_paused = true)]
    async fn supervision_restarts_with_doubling_backoff_then_gives_up() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Failing::open(dir.path()));
        let rt = Runtime::with_store(store, &RuntimeConfig::new(dir.path()))
            .await
            .unwrap();
        let mut spec = AgentSpec::new("flaky");
        spec.restart.backoff_ms = 10_000;
        spec.restart.max_restarts = 2;
        spec.restart.window_secs = 3600;
        rt.add_agent(spec, Quick).await.unwrap();
        for n in 0..2u32 {
            assert!(rt.crash_agent_actor("flaky"));
            until(|| !rt.is_healthy("flaky")).await;
            let took = until(|| rt.is_healthy("flaky")).await;
            let backoff = Duration::from_millis(10_000 << n);
            assert!(
                took >= backoff - Duration::from_millis(5) && took < backoff * 2,
                "restart {n} came after {took:?}, its backoff is {backoff:?}"
            );
        }
        assert!(rt.crash_agent_actor("flaky"));
        until(|| !rt.is_healthy("flaky")).await;
        tokio::time::sleep(Duration::from_secs(600)).await;
        assert!(!rt.is_healthy("flaky"), "given up on: not restarted");
        let why = rt.unready_reasons().join("; ");
        assert!(why.contains("agents not running: flaky"), "{why}");
    }
}
