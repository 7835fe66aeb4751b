//! Versioned records as they sit on disk.
//!
//! Every value the log keeps is an [`Envelope`]: a bincode (`=2.0.1`, standard config) struct
//! holding the record kind, the schema version, a CRC32 of the payload and the payload. Payloads
//! are plain bincode structs (`…V1`) whose A2A content is JSON bytes: never bincode a type with
//! `serde_json::Value`, tagged enums or skipped fields (they fail or silently shift on the next
//! field). A shipped `…Vn` is never edited: add `…Vn+1` and upcast when reading.
//!
//! Byte fields go through `serde_bytes`: bincode writes them exactly as it writes a `Vec<u8>`
//! (a length, then the bytes) but in one copy instead of one call per byte.

use serde::{Deserialize, Serialize};

use super::StoreError;
use crate::protocol::{StreamResponse, Task};

/// Bytes a single record may claim when decoded (guards against corrupt length prefixes).
const DECODE_LIMIT: usize = 256 << 20;

fn config() -> impl bincode::config::Config {
    bincode::config::standard().with_limit::<DECODE_LIMIT>()
}

/// What a record holds. Append variants only; the number is the on-disk tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordKind {
    Task = 1,
    Event = 2,
    /// Consecutive events of one task written together (one key for a whole commit).
    Events = 3,
    /// A webhook config of a task.
    PushConfig = 4,
    /// A pending push delivery.
    Outbox = 5,
    /// A push delivery that ran out of attempts.
    DeadLetter = 6,
}

/// The outer frame of every record. Field order and types are frozen.
#[derive(Debug, Serialize, Deserialize)]
struct Envelope {
    kind: u8,
    schema: u16,
    crc32: u32,
    #[serde(with = "serde_bytes")]
    payload: Vec<u8>,
}

/// A task's snapshot, version 1.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct TaskRecordV1 {
    agent: String,
    owner: String,
    next_seq: u64,
    attempts: u32,
    /// The task as ProtoJSON (`Task`), with its whole history and artifacts; empty in a
    /// header-only record, whose task is its first event (`next_seq` is then 1).
    #[serde(with = "serde_bytes")]
    task_json: Vec<u8>,
    /// The bare `Message` the agent answered with instead of a task (ProtoJSON), or empty.
    #[serde(with = "serde_bytes")]
    reply_json: Vec<u8>,
}

/// One event of a task's log, version 1.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct EventRecordV1 {
    seq: u64,
    /// The event exactly as it goes on the wire (`StreamResponse` ProtoJSON).
    #[serde(with = "serde_bytes")]
    json: Vec<u8>,
}

/// Consecutive events of one task, version 1: the event with sequence number `first_seq`, then
/// the next ones, each as its wire bytes.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct EventsV1 {
    first_seq: u64,
    events: Vec<serde_bytes::ByteBuf>,
}

/// A task as the runtime keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskRecord {
    pub task: Task,
    /// The agent that owns the task.
    pub agent: String,
    /// The principal that created it (tasks are visible only to their owner).
    pub owner: String,
    /// The sequence number the next event of this task gets (events start at 1).
    pub next_seq: u64,
    /// How many times a handler turn was started for the current message (recovery counts up).
    pub attempts: u32,
    /// Set when the agent answered with a bare Message: the task is then hidden from clients.
    pub reply: Option<crate::protocol::Message>,
    /// `next_seq` of the snapshot on disk: events from here on are folded in when reading.
    /// Not stored (it is the stored snapshot's own `next_seq`).
    pub snapshot_seq: u64,
}

/// One persisted event of a task.
#[derive(Debug, Clone, PartialEq)]
pub struct EventRecord {
    pub seq: u64,
    pub json: Vec<u8>,
}

impl EventRecord {
    /// Decodes the wire bytes.
    pub fn event(&self) -> Result<StreamResponse, StoreError> {
        serde_json::from_slice(&self.json)
            .map_err(|e| StoreError::Corrupt(format!("event {}: {e}", self.seq)))
    }
}

pub(super) fn seal(kind: RecordKind, schema: u16, payload: Vec<u8>) -> Vec<u8> {
    let env = Envelope {
        kind: kind as u8,
        schema,
        crc32: crc32fast::hash(&payload),
        payload,
    };
    // Encoding plain structs into a Vec cannot fail.
    bincode::serde::encode_to_vec(&env, config()).unwrap_or_default()
}

/// Seals a plain struct (no `Value`, enums or skipped fields: see the module docs).
pub(super) fn seal_bincode<T: Serialize>(kind: RecordKind, schema: u16, payload: &T) -> Vec<u8> {
    seal(
        kind,
        schema,
        bincode::serde::encode_to_vec(payload, config()).unwrap_or_default(),
    )
}

pub(super) fn open(bytes: &[u8], want: RecordKind) -> Result<(u16, Vec<u8>), StoreError> {
    let (kind, schema, payload) = open_any(bytes)?;
    if kind != want as u8 {
        return Err(StoreError::Corrupt(format!(
            "expected record kind {}, found {kind}",
            want as u8
        )));
    }
    Ok((schema, payload))
}

/// Checks a record's frame and returns its kind, schema and payload.
fn open_any(bytes: &[u8]) -> Result<(u8, u16, Vec<u8>), StoreError> {
    let (env, _): (Envelope, usize) = bincode::serde::decode_from_slice(bytes, config())
        .map_err(|e| StoreError::Corrupt(format!("envelope: {e}")))?;
    if crc32fast::hash(&env.payload) != env.crc32 {
        return Err(StoreError::Corrupt("checksum mismatch".into()));
    }
    Ok((env.kind, env.schema, env.payload))
}

pub(super) fn decode<T: serde::de::DeserializeOwned>(
    payload: &[u8],
    what: &str,
) -> Result<T, StoreError> {
    bincode::serde::decode_from_slice(payload, config())
        .map(|(v, _)| v)
        .map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
}

impl TaskRecord {
    /// Encodes as the newest schema.
    pub fn encode(&self) -> Vec<u8> {
        self.encode_with(
            self.next_seq,
            serde_json::to_vec(&self.task).unwrap_or_default(),
        )
    }

    /// Encodes the record without its task, for a new task whose first event (seq 1) is the
    /// whole task: readers fold it from there, and the task's JSON is stored once, not twice.
    /// It is kept as sequence number 0 of the task's event log (stores written before session 6
    /// of development kept it as the task's snapshot key; both read the same).
    pub fn encode_header(&self) -> Vec<u8> {
        self.encode_with(1, Vec::new())
    }

    fn encode_with(&self, next_seq: u64, task_json: Vec<u8>) -> Vec<u8> {
        let v1 = TaskRecordV1 {
            agent: self.agent.clone(),
            owner: self.owner.clone(),
            next_seq,
            attempts: self.attempts,
            task_json,
            reply_json: self
                .reply
                .as_ref()
                .and_then(|m| serde_json::to_vec(m).ok())
                .unwrap_or_default(),
        };
        seal(
            RecordKind::Task,
            1,
            bincode::serde::encode_to_vec(&v1, config()).unwrap_or_default(),
        )
    }

    /// Decodes any known schema.
    pub fn decode(bytes: &[u8]) -> Result<Self, StoreError> {
        match open(bytes, RecordKind::Task)? {
            (1, payload) => {
                let v1: TaskRecordV1 = decode(&payload, "task record v1")?;
                let task = if v1.task_json.is_empty() {
                    Task::default()
                } else {
                    serde_json::from_slice(&v1.task_json)
                        .map_err(|e| StoreError::Corrupt(format!("task json: {e}")))?
                };
                let reply = if v1.reply_json.is_empty() {
                    None
                } else {
                    Some(
                        serde_json::from_slice(&v1.reply_json)
                            .map_err(|e| StoreError::Corrupt(format!("reply json: {e}")))?,
                    )
                };
                Ok(Self {
                    task,
                    agent: v1.agent,
                    owner: v1.owner,
                    next_seq: v1.next_seq,
                    attempts: v1.attempts,
                    reply,
                    snapshot_seq: v1.next_seq,
                })
            }
            (v, _) => Err(StoreError::Corrupt(format!(
                "unknown task record schema {v}"
            ))),
        }
    }
}

impl EventRecord {
    /// Encodes consecutive events, the first with sequence number `first_seq`, as one record.
    pub fn encode_run(first_seq: u64, events: Vec<Vec<u8>>) -> Vec<u8> {
        let events = events.into_iter().map(serde_bytes::ByteBuf::from).collect();
        let v1 = EventsV1 { first_seq, events };
        seal(
            RecordKind::Events,
            1,
            bincode::serde::encode_to_vec(&v1, config()).unwrap_or_default(),
        )
    }

    /// Decodes a record of single events or of a run of them.
    pub fn decode_all(bytes: &[u8]) -> Result<Vec<Self>, StoreError> {
        match open_any(bytes)? {
            (k, 1, payload) if k == RecordKind::Events as u8 => {
                let run: EventsV1 = decode(&payload, "events record v1")?;
                Ok(run
                    .events
                    .into_iter()
                    .zip(run.first_seq..)
                    .map(|(json, seq)| Self {
                        seq,
                        json: json.into_vec(),
                    })
                    .collect())
            }
            (k, _, _) if k == RecordKind::Event as u8 => Ok(vec![Self::decode(bytes)?]),
            (k, v, _) => Err(StoreError::Corrupt(format!(
                "unknown event record kind {k} schema {v}"
            ))),
        }
    }

    /// Encodes as the newest schema.
    pub fn encode(&self) -> Vec<u8> {
        let v1 = EventRecordV1 {
            seq: self.seq,
            json: self.json.clone(),
        };
        seal(
            RecordKind::Event,
            1,
            bincode::serde::encode_to_vec(&v1, config()).unwrap_or_default(),
        )
    }

    /// Decodes any known schema.
    pub fn decode(bytes: &[u8]) -> Result<Self, StoreError> {
        match open(bytes, RecordKind::Event)? {
            (1, payload) => {
                let v1: EventRecordV1 = decode(&payload, "event record v1")?;
                Ok(Self {
                    seq: v1.seq,
                    json: v1.json,
                })
            }
            (v, _) => Err(StoreError::Corrupt(format!(
                "unknown event record schema {v}"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{Message, Part, TaskState, TaskStatus, Timestamp};

    fn sample_task() -> TaskRecord {
        TaskRecord {
            task: Task {
                id: "t-1".into(),
                context_id: "c-1".into(),
                status: TaskStatus {
                    state: TaskState::Completed,
                    message: None,
                    timestamp: Timestamp::parse("2026-01-02T03:04:05.678Z"),
                },
                history: vec![Message::user_text("m-1", "hello")],
                artifacts: vec![crate::protocol::Artifact {
                    artifact_id: "a-1".into(),
                    parts: vec![Part::text("hello")],
                    ..Default::default()
                }],
                metadata: None,
            },
            agent: "echo".into(),
            owner: "anonymous".into(),
            next_seq: 4,
            attempts: 1,
            reply: None,
            snapshot_seq: 4,
        }
    }

    /// The bytes of schema v1 are kept in `tests/fixtures`: if this fails, a change broke reading
    /// data written by an earlier build. Add a new schema version instead of editing v1.
    #[test]
    fn v1_fixtures_still_decode() {
        let task_bytes = include_bytes!("../../tests/fixtures/task_record_v1.bin");
        assert_eq!(TaskRecord::decode(task_bytes).unwrap(), sample_task());
        let event_bytes = include_bytes!("../../tests/fixtures/event_record_v1.bin");
        let ev = EventRecord::decode(event_bytes).unwrap();
        assert_eq!(ev.seq, 7);
        assert_eq!(ev.json, br#"{"statusUpdate":{"taskId":"t-1","contextId":"c-1","status":{"state":"TASK_STATE_WORKING"}}}"#);
        let run_bytes = include_bytes!("../../tests/fixtures/events_record_v1.bin");
        let run = EventRecord::decode_all(run_bytes).unwrap();
        assert_eq!(run.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![5, 6]);
        assert_eq!(run[1].json, br#"{"statusUpdate":{"taskId":"t-1","contextId":"c-1","status":{"state":"TASK_STATE_COMPLETED"}}}"#);
        assert_eq!(
            EventRecord::decode_all(event_bytes).unwrap(),
            vec![ev.clone()],
            "single-event records still read"
        );
        assert_eq!(
            EventRecord::encode_run(5, run.iter().map(|e| e.json.clone()).collect()),
            run_bytes
        );
        // The current encoder still writes exactly the fixture bytes.
        assert_eq!(sample_task().encode(), task_bytes);
        assert_eq!(ev.encode(), event_bytes);
    }

    #[test]
    fn corruption_is_detected() {
        let mut bytes = sample_task().encode();
        let last = bytes.len() - 1;
        bytes[last] ^= 0xff;
        assert!(matches!(
            TaskRecord::decode(&bytes),
            Err(StoreError::Corrupt(_))
        ));
        assert!(TaskRecord::decode(&[1, 2, 3]).is_err());
        assert!(EventRecord::decode(&sample_task().encode()).is_err());
    }

    #[test]
    #[ignore = "writes the fixtures; run once when a new schema version is added"]
    fn write_fixtures() {
        std::fs::write("tests/fixtures/task_record_v1.bin", sample_task().encode()).unwrap();
        let ev = EventRecord {
            seq: 7,
            json: br#"{"statusUpdate":{"taskId":"t-1","contextId":"c-1","status":{"state":"TASK_STATE_WORKING"}}}"#.to_vec(),
        };
        std::fs::write("tests/fixtures/event_record_v1.bin", ev.encode()).unwrap();
        let run = EventRecord::encode_run(
            5,
            vec![
                br#"{"artifactUpdate":{"taskId":"t-1","contextId":"c-1","artifact":{"artifactId":"a-1","parts":[{"text":"x"}]}}}"#.to_vec(),
                br#"{"statusUpdate":{"taskId":"t-1","contextId":"c-1","status":{"state":"TASK_STATE_COMPLETED"}}}"#.to_vec(),
            ],
        );
        std::fs::write("tests/fixtures/events_record_v1.bin", run).unwrap();
    }
}
