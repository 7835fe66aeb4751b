//! The push-notification part of the log: webhook configs, the outbox, the dead-letter queue.
//!
//! | key | value |
//! | --- | --- |
//! | `p/{task}\0{config}` | [`PushConfigRecord`]: a webhook of the task |
//! | `o/{task}\0{config}\0{seq: u64 BE}` | [`OutboxEntry`]: event `seq` not yet delivered to that webhook |
//! | `d/{id: u64 BE}` | [`DeadLetter`]: a delivery that ran out of attempts |
//!
//! An outbox entry is written in the same batch as its event (see [`Commit::outbox`]), so an
//! event is never in the log without its pending deliveries. One *lane* per (task, webhook)
//! holds that webhook's entries of that task in sequence order: the sender delivers a lane's head
//! before the next entry, which keeps deliveries in order per task.

use serde::{Deserialize, Serialize};

use super::records::{RecordKind, decode, open, seal_bincode};
use super::{Commit, Log, Op, StoreError, prefix_end};
use crate::protocol::TaskPushNotificationConfig;

/// One (task, webhook) pair: the unit of in-order delivery.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Lane {
    pub task: String,
    pub config: String,
}

impl Lane {
    pub fn new(task: impl Into<String>, config: impl Into<String>) -> Self {
        Self {
            task: task.into(),
            config: config.into(),
        }
    }

    fn prefix(&self) -> Vec<u8> {
        [
            b"o/",
            self.task.as_bytes(),
            b"\0",
            self.config.as_bytes(),
            b"\0",
        ]
        .concat()
    }

    fn entry_key(&self, seq: u64) -> Vec<u8> {
        [self.prefix().as_slice(), &seq.to_be_bytes()].concat()
    }

    /// Parses `o/{task}\0{config}\0{seq}`.
    fn parse(key: &[u8]) -> Option<(Self, u64)> {
        let rest = key.strip_prefix(b"o/")?;
        let (head, seq) = rest.split_at_checked(rest.len().checked_sub(8)?)?;
        let head = head.strip_suffix(b"\0")?;
        let mut parts = head.splitn(2, |b| *b == 0);
        let task = std::str::from_utf8(parts.next()?).ok()?;
        let config = std::str::from_utf8(parts.next()?).ok()?;
        Some((
            Self::new(task, config),
            u64::from_be_bytes(seq.try_into().ok()?),
        ))
    }
}

fn config_prefix(task: &str) -> Vec<u8> {
    [b"p/", task.as_bytes(), b"\0"].concat()
}
fn config_key(task: &str, id: &str) -> Vec<u8> {
    [config_prefix(task).as_slice(), id.as_bytes()].concat()
}
fn dead_key(id: u64) -> Vec<u8> {
    [b"d/".as_slice(), &id.to_be_bytes()].concat()
}

/// A stored webhook config, version 1: the config as ProtoJSON.
#[derive(Debug, Serialize, Deserialize)]
struct PushConfigV1 {
    #[serde(with = "serde_bytes")]
    json: Vec<u8>,
}

/// A webhook of a task, as stored.
pub struct PushConfigRecord;

impl PushConfigRecord {
    pub fn encode(cfg: &TaskPushNotificationConfig) -> Vec<u8> {
        let v1 = PushConfigV1 {
            json: serde_json::to_vec(cfg).unwrap_or_default(),
        };
        seal_bincode(RecordKind::PushConfig, 1, &v1)
    }

    pub fn decode(bytes: &[u8]) -> Result<TaskPushNotificationConfig, StoreError> {
        match open(bytes, RecordKind::PushConfig)? {
            (1, payload) => {
                let v1: PushConfigV1 = decode(&payload, "push config v1")?;
                serde_json::from_slice(&v1.json)
                    .map_err(|e| StoreError::Corrupt(format!("push config json: {e}")))
            }
            (v, _) => Err(StoreError::Corrupt(format!(
                "unknown push config schema {v}"
            ))),
        }
    }
}

/// A pending delivery, version 1 (also the in-memory form).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxEntry {
    /// When the event was written (or the entry re-queued from the dead-letter queue), in Unix
    /// milliseconds: the retry window counts from here.
    pub created_ms: u64,
    /// Attempts made so far.
    pub attempts: u32,
    /// Why the last attempt failed.
    pub last_error: String,
}

impl OutboxEntry {
    pub fn new(created_ms: u64) -> Self {
        Self {
            created_ms,
            attempts: 0,
            last_error: String::new(),
        }
    }

    pub fn encode(&self) -> Vec<u8> {
        seal_bincode(RecordKind::Outbox, 1, self)
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, StoreError> {
        match open(bytes, RecordKind::Outbox)? {
            (1, payload) => decode(&payload, "outbox entry v1"),
            (v, _) => Err(StoreError::Corrupt(format!(
                "unknown outbox entry schema {v}"
            ))),
        }
    }
}

/// A delivery that gave up, version 1 (also the in-memory form).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadLetter {
    pub task: String,
    pub config: String,
    pub seq: u64,
    /// The webhook URL when it gave up.
    pub url: String,
    pub attempts: u32,
    pub error: String,
    pub created_ms: u64,
    pub dead_ms: u64,
}

impl DeadLetter {
    pub fn encode(&self) -> Vec<u8> {
        seal_bincode(RecordKind::DeadLetter, 1, self)
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, StoreError> {
        match open(bytes, RecordKind::DeadLetter)? {
            (1, payload) => decode(&payload, "dead letter v1"),
            (v, _) => Err(StoreError::Corrupt(format!(
                "unknown dead letter schema {v}"
            ))),
        }
    }

    pub fn lane(&self) -> Lane {
        Lane::new(&self.task, &self.config)
    }
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

impl Commit {
    /// Adds an outbox entry for each event `seqs` of `task` and each webhook in `configs`.
    pub fn outbox(
        mut self,
        task: &str,
        configs: &[String],
        seqs: std::ops::Range<u64>,
        created_ms: u64,
    ) -> Self {
        if configs.is_empty() || seqs.is_empty() {
            return self;
        }
        let value = OutboxEntry::new(created_ms).encode();
        for config in configs {
            let lane = Lane::new(task, config.as_str());
            for seq in seqs.clone() {
                self.ops
                    .push(Op::Create(lane.entry_key(seq), value.clone()));
            }
            self.lanes.push(lane);
        }
        self
    }

    /// Stores (or replaces) a webhook config of its task.
    pub fn put_push_config(cfg: &TaskPushNotificationConfig) -> Self {
        Self {
            ops: vec![Op::Put(
                config_key(&cfg.task_id, &cfg.id),
                PushConfigRecord::encode(cfg),
            )],
            ..Self::default()
        }
    }

    /// Deletes a webhook config and every delivery still pending for it.
    pub fn delete_push_config(log: &Log, task: &str, id: &str) -> Result<Self, StoreError> {
        let mut ops = vec![Op::Delete(config_key(task, id))];
        let prefix = Lane::new(task, id).prefix();
        for kv in log.store.range(&prefix, &prefix_end(&prefix), false) {
            ops.push(Op::Delete(kv?.0));
        }
        Ok(Self {
            ops,
            ..Self::default()
        })
    }

    /// A delivery succeeded (or can never happen): its entry goes.
    pub fn outbox_done(lane: &Lane, seq: u64) -> Self {
        Self {
            ops: vec![Op::Delete(lane.entry_key(seq))],
            ..Self::default()
        }
    }

    /// Records a failed attempt on a pending delivery.
    pub fn outbox_retry(lane: &Lane, seq: u64, entry: &OutboxEntry) -> Self {
        Self {
            ops: vec![Op::Put(lane.entry_key(seq), entry.encode())],
            ..Self::default()
        }
    }

    /// Moves a delivery from the outbox to the dead-letter queue as `id`.
    pub fn dead_letter(id: u64, dead: &DeadLetter) -> Self {
        Self {
            ops: vec![
                Op::Delete(dead.lane().entry_key(dead.seq)),
                Op::Put(dead_key(id), dead.encode()),
            ],
            ..Self::default()
        }
    }

    /// Moves a dead letter back into the outbox, with fresh attempts and window.
    pub fn requeue(id: u64, dead: &DeadLetter, now_ms: u64) -> Self {
        let lane = dead.lane();
        Self {
            ops: vec![
                Op::Delete(dead_key(id)),
                Op::Put(lane.entry_key(dead.seq), OutboxEntry::new(now_ms).encode()),
            ],
            lanes: vec![lane],
            ..Self::default()
        }
    }
}

impl Log {
    /// The webhook configs of a task, by id.
    pub fn push_configs(&self, task: &str) -> Result<Vec<TaskPushNotificationConfig>, StoreError> {
        let prefix = config_prefix(task);
        self.store
            .range(&prefix, &prefix_end(&prefix), false)
            .map(|kv| PushConfigRecord::decode(&kv?.1))
            .collect()
    }

    /// One webhook config of a task.
    pub fn push_config(
        &self,
        task: &str,
        id: &str,
    ) -> Result<Option<TaskPushNotificationConfig>, StoreError> {
        self.store
            .get(&config_key(task, id))?
            .map(|b| PushConfigRecord::decode(&b))
            .transpose()
    }

    /// The oldest pending delivery of a lane.
    pub fn outbox_head(&self, lane: &Lane) -> Result<Option<(u64, OutboxEntry)>, StoreError> {
        let prefix = lane.prefix();
        match self
            .store
            .range(&prefix, &prefix_end(&prefix), false)
            .next()
        {
            None => Ok(None),
            Some(kv) => {
                let (k, v) = kv?;
                let (_, seq) =
                    Lane::parse(&k).ok_or_else(|| StoreError::Corrupt("outbox key".into()))?;
                Ok(Some((seq, OutboxEntry::decode(&v)?)))
            }
        }
    }

    /// Lanes with pending deliveries, in key order, starting after `after`; at most `limit`.
    /// Reads one key per lane (it seeks past the rest of each lane).
    pub fn outbox_lanes(
        &self,
        after: Option<&Lane>,
        limit: usize,
    ) -> Result<Vec<Lane>, StoreError> {
        let mut from = match after {
            Some(l) => prefix_end(&l.prefix()),
            None => b"o/".to_vec(),
        };
        let end = prefix_end(b"o/");
        let mut out = Vec::new();
        while out.len() < limit {
            let Some(kv) = self.store.range(&from, &end, false).next() else {
                break;
            };
            let (k, _) = kv?;
            let (lane, _) =
                Lane::parse(&k).ok_or_else(|| StoreError::Corrupt("outbox key".into()))?;
            from = prefix_end(&lane.prefix());
            out.push(lane);
        }
        Ok(out)
    }

    /// Dead letters with ids above `after`, oldest first; at most `limit`.
    pub fn dead_letters(
        &self,
        after: u64,
        limit: usize,
    ) -> Result<Vec<(u64, DeadLetter)>, StoreError> {
        let from = dead_key(after.saturating_add(1));
        self.store
            .range(&from, &prefix_end(b"d/"), false)
            .take(limit)
            .map(|kv| {
                let (k, v) = kv?;
                let id = k
                    .get(2..10)
                    .and_then(|s| s.try_into().ok())
                    .map(u64::from_be_bytes)
                    .ok_or_else(|| StoreError::Corrupt("dead letter key".into()))?;
                Ok((id, DeadLetter::decode(&v)?))
            })
            .collect()
    }

    /// One dead letter.
    pub fn dead_letter(&self, id: u64) -> Result<Option<DeadLetter>, StoreError> {
        self.store
            .get(&dead_key(id))?
            .map(|b| DeadLetter::decode(&b))
            .transpose()
    }

    /// The highest dead-letter id in use (0 when the queue was always empty).
    pub fn last_dead_letter_id(&self) -> Result<u64, StoreError> {
        match self.store.range(b"d/", &prefix_end(b"d/"), true).next() {
            None => Ok(0),
            Some(kv) => Ok(kv?
                .0
                .get(2..10)
                .and_then(|s| s.try_into().ok())
                .map(u64::from_be_bytes)
                .unwrap_or(0)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lane_keys_round_trip_and_sort_by_sequence() {
        let lane = Lane::new("task-1", "cfg");
        assert_eq!(Lane::parse(&lane.entry_key(7)), Some((lane.clone(), 7)));
        assert!(lane.entry_key(2) < lane.entry_key(256));
        assert_eq!(Lane::parse(b"o/x"), None);
        assert_eq!(Lane::parse(b"p/task\0cfg\0\0\0\0\0\0\0\0\x01"), None);
    }
}
