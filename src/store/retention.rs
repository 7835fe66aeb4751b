//! Retention: how much of the log is kept.
//!
//! Two rules keep the log from growing without bound:
//! - a task keeps its newest [`Retention::max_events_per_task`] events; older ones are deleted
//!   when its snapshot is rewritten (the snapshot holds everything they said). A reader resuming
//!   from before that point gets the task snapshot and a signal that events were skipped
//!   ([`crate::runtime::StreamEvent::skipped`]), never a silent gap;
//! - a final task (and a hidden bare-reply one) is deleted, with its events, webhooks, pending
//!   deliveries and idempotency keys, [`Retention::finished_ttl`] after its last status change.

use std::time::Duration;

use super::{Commit, Log, Op, StoreError, event_key, event_prefix, idem_key, prefix_end, task_key};
use crate::protocol::Role;

/// What the log keeps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Retention {
    /// Events kept per task (at least 64).
    pub max_events_per_task: u64,
    /// How long a final task is kept; `None` keeps it forever.
    pub finished_ttl: Option<Duration>,
}

impl Default for Retention {
    fn default() -> Self {
        Self {
            max_events_per_task: 10_000,
            finished_ttl: Some(Duration::from_secs(30 * 24 * 3600)),
        }
    }
}

/// Fewest events a task keeps, whatever the setting: more than one snapshot interval.
pub const MIN_EVENTS_KEPT: u64 = 64;

impl Commit {
    /// Deletes the event records of `task` that lie wholly below sequence number `keep_from`
    /// (a record holding events on both sides stays).
    pub fn compact_events(
        &mut self,
        log: &Log,
        task: &str,
        keep_from: u64,
    ) -> Result<(), StoreError> {
        let prefix = event_prefix(task);
        // Records are keyed by their first event: every one starting at or below `keep_from`
        // but the last of them ends below it.
        let mut keys: Vec<Vec<u8>> = log
            .store
            .range(
                &prefix,
                &event_key(task, keep_from.saturating_add(1)),
                false,
            )
            .map(|kv| kv.map(|(k, _)| k))
            .collect::<Result<_, _>>()?;
        keys.pop();
        self.ops.extend(keys.into_iter().map(Op::Delete));
        Ok(())
    }
}

impl Log {
    /// Deletes up to `limit` tasks whose final (or hidden) status is older than `before_nanos`
    /// (Unix time), oldest first, with everything that belongs to them. Returns how many went.
    pub async fn reap(&self, before_nanos: u64, limit: usize) -> Result<usize, StoreError> {
        let mut ops = Vec::new();
        let mut reaped = 0;
        for index in [b"s/", b"h/"] {
            let upto = [&index[..], &before_nanos.to_be_bytes()].concat();
            let expired: Vec<Vec<u8>> = self
                .store
                .range(index, &upto, false)
                .take(limit - reaped)
                .map(|kv| kv.map(|(k, _)| k))
                .collect::<Result<_, _>>()?;
            for key in expired {
                let id = String::from_utf8_lossy(&key[10..]).into_owned();
                if let Some(rec) = self.task(&id)? {
                    for m in rec.task.history.iter().filter(|m| m.role == Role::User) {
                        ops.push(Op::Delete(idem_key(&rec.agent, &rec.owner, &m.message_id)));
                    }
                }
                ops.push(Op::Delete(task_key(&id)));
                for prefix in [
                    event_prefix(&id),
                    [b"p/", id.as_bytes(), b"\0"].concat(),
                    [b"o/", id.as_bytes(), b"\0"].concat(),
                ] {
                    for kv in self.store.range(&prefix, &prefix_end(&prefix), false) {
                        ops.push(Op::Delete(kv?.0));
                    }
                }
                ops.push(Op::Delete(key));
                reaped += 1;
            }
        }
        if !ops.is_empty() {
            self.commit(Commit {
                ops,
                ..Commit::default()
            })
            .await?;
        }
        Ok(reaped)
    }
}
