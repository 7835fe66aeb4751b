//! The four push-config operations and the dead-letter queue, as [`Runtime`] methods.
//!
//! A webhook of an unfinished task is changed by the task's actor (through [`TaskCore`]'s
//! lock), so it applies from one exact event on; a final task writes no more events, so its
//! configs are written directly.

use base64::Engine;
use tokio::sync::oneshot;

use super::task::{PushChange, TaskMsg};
use super::{Runtime, internal};
use crate::protocol::{
    A2aError, ErrorKind, ListTaskPushNotificationConfigsRequest,
    ListTaskPushNotificationConfigsResponse, TaskPushNotificationConfig,
    TaskPushNotificationConfigRequest, validate,
};
use crate::push::{MAX_CONFIGS_PER_TASK, validate_config};
use crate::store::{Applied, Commit, DeadLetter, now_ms};

/// Largest page of ListTaskPushNotificationConfigs.
const MAX_PAGE: usize = 100;

impl Runtime {
    /// CreateTaskPushNotificationConfig: stores a webhook of a task (replacing one with the same
    /// id); every event of the task from now on is delivered to it.
    pub async fn create_push_config(
        &self,
        agent: &str,
        caller: &str,
        mut cfg: TaskPushNotificationConfig,
    ) -> Result<TaskPushNotificationConfig, A2aError> {
        validate::required_id(&cfg.task_id, "taskId")?;
        self.push_or_err(agent)?;
        let rec = self.visible_task(agent, caller, &cfg.task_id)?;
        validate_config(&mut cfg, "", self.inner.push)?;
        let existing = self
            .inner
            .log
            .push_configs(&cfg.task_id)
            .map_err(internal)?;
        if existing.len() >= MAX_CONFIGS_PER_TASK && !existing.iter().any(|c| c.id == cfg.id) {
            return Err(A2aError::with_message(
                ErrorKind::InvalidParams,
                format!(
                    "task {} already has {MAX_CONFIGS_PER_TASK} push configs; delete one first",
                    cfg.task_id
                ),
            ));
        }
        cfg.tenant.clear();
        let ticket = if rec.task.status.state.is_terminal() {
            self.commit_direct(Commit::put_push_config(&cfg)).await?
        } else {
            self.push_change(agent, &rec, PushChange::Put(Box::new(cfg.clone())))
                .await?
        };
        self.inner.log.durable(ticket).await.map_err(internal)?;
        Ok(cfg)
    }

    /// GetTaskPushNotificationConfig. An unknown config is TaskNotFound, as the spec says.
    pub async fn get_push_config(
        &self,
        agent: &str,
        caller: &str,
        req: TaskPushNotificationConfigRequest,
    ) -> Result<TaskPushNotificationConfig, A2aError> {
        validate::required_id(&req.task_id, "taskId")?;
        self.push_or_err(agent)?;
        self.visible_task(agent, caller, &req.task_id)?;
        let id = if req.id.is_empty() {
            &req.task_id
        } else {
            &req.id
        };
        self.inner
            .log
            .push_config(&req.task_id, id)
            .map_err(internal)?
            .ok_or_else(|| {
                A2aError::with_message(
                    ErrorKind::TaskNotFound,
                    format!("task {} has no push config {id:?}", req.task_id),
                )
                .meta("taskId", &req.task_id)
            })
    }

    /// ListTaskPushNotificationConfigs, by config id, paged (`pageSize` 1–100, default all up to
    /// 100; `pageToken` is opaque).
    pub async fn list_push_configs(
        &self,
        agent: &str,
        caller: &str,
        req: ListTaskPushNotificationConfigsRequest,
    ) -> Result<ListTaskPushNotificationConfigsResponse, A2aError> {
        validate::required_id(&req.task_id, "taskId")?;
        self.push_or_err(agent)?;
        let size = match req.page_size {
            0 => MAX_PAGE,
            n if (1..=MAX_PAGE as i32).contains(&n) => n as usize,
            _ => {
                return Err(A2aError::invalid_field(
                    "pageSize",
                    format!("must be between 1 and {MAX_PAGE}"),
                ));
            }
        };
        let after = if req.page_token.is_empty() {
            None
        } else {
            let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(&req.page_token)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(|| {
                    A2aError::invalid_field("pageToken", "is not a token this server issued")
                })?;
            Some(raw)
        };
        self.visible_task(agent, caller, &req.task_id)?;
        let all = self
            .inner
            .log
            .push_configs(&req.task_id)
            .map_err(internal)?;
        let mut rest = all
            .into_iter()
            .filter(|c| after.as_ref().is_none_or(|a| c.id > *a))
            .peekable();
        let configs: Vec<_> = rest.by_ref().take(size).collect();
        let next_page_token = match (rest.peek(), configs.last()) {
            (Some(_), Some(last)) => {
                base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(last.id.as_bytes())
            }
            _ => String::new(),
        };
        Ok(ListTaskPushNotificationConfigsResponse {
            configs,
            next_page_token,
        })
    }

    /// DeleteTaskPushNotificationConfig: idempotent (deleting what is not there succeeds); its
    /// pending deliveries go with it.
    pub async fn delete_push_config(
        &self,
        agent: &str,
        caller: &str,
        req: TaskPushNotificationConfigRequest,
    ) -> Result<(), A2aError> {
        validate::required_id(&req.task_id, "taskId")?;
        self.push_or_err(agent)?;
        let rec = self.visible_task(agent, caller, &req.task_id)?;
        let id = if req.id.is_empty() {
            &req.task_id
        } else {
            &req.id
        };
        let ticket = if rec.task.status.state.is_terminal() {
            let commit =
                Commit::delete_push_config(&self.inner.log, &req.task_id, id).map_err(internal)?;
            self.commit_direct(commit).await?
        } else {
            self.push_change(agent, &rec, PushChange::Delete(id.clone()))
                .await?
        };
        self.inner.log.durable(ticket).await.map_err(internal)
    }

    async fn commit_direct(&self, commit: Commit) -> Result<u64, A2aError> {
        match self.inner.log.commit(commit).await.map_err(internal)? {
            Applied::Done(t) => Ok(t),
            Applied::Duplicate(_) => Err(internal("unexpected idempotency conflict")),
        }
    }

    async fn push_change(
        &self,
        agent: &str,
        rec: &crate::store::TaskRecord,
        change: PushChange,
    ) -> Result<u64, A2aError> {
        let entry = self.agent_or_err(agent)?;
        let (tx, rx) = oneshot::channel();
        self.route(
            &entry,
            rec.task.context_id.clone(),
            rec.task.id.clone(),
            None,
            TaskMsg::Push(change, tx),
        )?;
        rx.await
            .map_err(|_| internal("the task actor stopped before answering"))?
    }

    /// Dead letters with ids above `after`, oldest first (at most `limit`); only durable ones.
    pub async fn dead_letters(
        &self,
        after: u64,
        limit: usize,
    ) -> Result<Vec<(u64, DeadLetter)>, A2aError> {
        self.inner.log.read_committed().await.map_err(internal)?;
        self.inner.log.dead_letters(after, limit).map_err(internal)
    }

    /// Puts dead letters back into the outbox (fresh attempts and window): `ids`, or every one
    /// when `ids` is `None`. Returns how many were requeued; unknown ids are skipped.
    pub async fn retry_dead_letters(&self, ids: Option<&[u64]>) -> Result<usize, A2aError> {
        retry_dead_letters(&self.inner.log, ids)
            .await
            .map_err(internal)
    }
}

/// [`Runtime::retry_dead_letters`] on a bare log (the offline `a2a dlq retry --data`).
pub async fn retry_dead_letters(
    log: &crate::store::Log,
    ids: Option<&[u64]>,
) -> Result<usize, crate::store::StoreError> {
    let mut done = 0;
    match ids {
        Some(ids) => {
            for &id in ids {
                if let Some(dead) = log.dead_letter(id)? {
                    log.commit(Commit::requeue(id, &dead, now_ms())).await?;
                    done += 1;
                }
            }
        }
        None => {
            // Only what is dead now: a delivery that dies again gets a new, higher id, and
            // must not be picked up again by this same call.
            let last = log.last_dead_letter_id()?;
            let mut after = 0;
            while after < last {
                let page = log.dead_letters(after, 1000)?;
                let Some(&(end, _)) = page.last() else {
                    break;
                };
                for (id, dead) in page.into_iter().filter(|(id, _)| *id <= last) {
                    log.commit(Commit::requeue(id, &dead, now_ms())).await?;
                    done += 1;
                }
                after = end;
            }
        }
    }
    // Requeued deliveries are pending work again: durable before the caller hears so.
    log.read_committed().await?;
    Ok(done)
}
