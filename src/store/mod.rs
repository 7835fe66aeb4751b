//! The durable log: every task snapshot, every event, and the indexes that find them.
//!
//! [`Store`] is the small key-value contract an engine implements (sled by default, see
//! [`SledStore`]); [`Log`] is what the runtime talks to: typed reads, and commits that go through
//! the single group-commit writer (`store/writer.rs`).
//!
//! Key layout (one keyspace, so one batch changes snapshot, events and indexes atomically):
//!
//! | key | value |
//! | --- | --- |
//! | `t/{task}` | [`TaskRecord`]: a snapshot, written when a later turn starts and every few events |
//! | `e/{task}\0{seq: u64 BE}` | the events of one commit, from `seq` on ([`EventRecord::decode_all`]); seq 0 is the task's header |
//! | `i/{agent}\0{owner}\0{messageId}` | task id: idempotent sends |
//! | `r/{status time: u64 BE nanos}{task}` | `{state}{agent}\0{owner}\0{context}`: tasks not yet final |
//! | `s/{status time: u64 BE nanos}{task}` | the same, for final tasks |
//! | `h/{status time: u64 BE nanos}{task}` | the same, for tasks hidden behind a bare-Message reply |
//! | `p/`, `o/`, `d/` | push configs, the outbox, dead letters (`store/push.rs`) |
//!
//! A task is its snapshot plus the events after it ([`Log::task`] folds them), so emitting an
//! artifact or a progress update writes one key. A new task has no snapshot: its log starts with
//! a header (owner, agent, attempts) at sequence number 0 and its first event is the whole task,
//! so creating it writes one record where a snapshot and an event would be two; the first
//! snapshot comes with its next turn, a reply, or every few events. `r/` is the recovery index
//! (only unfinished tasks, no scan of the rest); `r/` and `s/` together are ListTasks' index,
//! newest status first. Every write costs several microseconds in sled, so the layout keeps
//! writes per task few: an echo task commits 6 keys from submit to completion, of which 3 reach
//! sled when both commits fall in one flush period (the `r/` entry cancels out and the two
//! event records fold into one: see `staging.rs`). Stores written before the header moved into
//! the log keep it as a `t/` record with no task in it; both read the same.

mod claims;
#[cfg(test)]
pub(crate) mod failing;
mod push;
mod reads;
#[cfg(test)]
pub(crate) mod recording;
mod records;
mod retention;
mod sled_store;
mod staging;
pub(crate) mod writer;

use std::sync::Arc;

use base64::Engine;

pub use push::{DeadLetter, Lane, OutboxEntry, now_ms};
pub use reads::page_token_is_valid;
pub use records::{EventRecord, TaskRecord};
pub use retention::{MIN_EVENTS_KEPT, Retention};
pub use sled_store::SledStore;
pub use staging::STAGED_LIMIT;
pub use writer::{Applied, Durability, DurableWatch};

use crate::protocol::{TaskState, Timestamp};

/// Errors of the storage layer.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    #[error("storage I/O failed: {0}")]
    Io(String),
    /// The engine (or the OS under it) failed; its error is the source. Shared, since one
    /// failure reaches every waiter. The message repeats the source's, for logs that print only
    /// the top error.
    #[error("storage I/O failed: {context}: {source}")]
    Engine {
        context: String,
        #[source]
        source: EngineError,
    },
    /// An earlier write or flush failed, so nothing is acknowledged any more; the source is
    /// that first failure.
    #[error("the store stopped acknowledging after a failure: {0}")]
    Failed(#[source] Arc<StoreError>),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("the store writer has stopped")]
    Closed,
}

impl StoreError {
    /// An engine failure in `context`, keeping `source`.
    pub fn engine(
        context: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Self::Engine {
            context: context.into(),
            source: EngineError(Arc::new(source)),
        }
    }
}

/// An engine's error, shared (cheap to clone). Its source is the engine's error itself, so a
/// walk down `Error::source` reaches it (to downcast to `std::io::Error`, say).
#[derive(Debug, Clone)]
pub struct EngineError(Arc<dyn std::error::Error + Send + Sync>);

impl std::fmt::Display for EngineError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for EngineError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&*self.0)
    }
}

/// One change in a batch.
#[derive(Debug, Clone)]
pub enum Op {
    Put(Vec<u8>, Vec<u8>),
    /// A put of a key that does not exist yet (a new task's records, a new event, an index
    /// entry under a new time). Engines treat it as [`Op::Put`]; the staging layer may drop it
    /// together with a delete that follows, or fold it into the record before it.
    Create(Vec<u8>, Vec<u8>),
    Delete(Vec<u8>),
}

/// Key/value pairs read from a store.
pub type Entries<'a> = Box<dyn Iterator<Item = Result<(Vec<u8>, Vec<u8>), StoreError>> + 'a>;

/// The contract of a storage engine: ordered keys, atomic batches, an explicit flush.
pub trait Store: Send + Sync + 'static {
    /// Reads one key (including writes applied but not yet flushed).
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError>;
    /// Keys in `[from, to)`, ascending, or descending when `reverse`.
    fn range(&self, from: &[u8], to: &[u8], reverse: bool) -> Entries<'_>;
    /// Applies every op or none.
    fn apply(&self, ops: Vec<Op>) -> Result<(), StoreError>;
    /// Makes everything applied before the call durable, blocking until it is (the writer calls
    /// it on a thread of its own). `Ok` means it survives a crash.
    fn flush(&self) -> Result<(), StoreError>;
}

/// The exclusive upper bound of all keys starting with `prefix`.
fn prefix_end(prefix: &[u8]) -> Vec<u8> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return end;
        }
    }
    vec![0xff; prefix.len() + 1]
}

fn task_key(id: &str) -> Vec<u8> {
    [b"t/", id.as_bytes()].concat()
}
fn event_prefix(task: &str) -> Vec<u8> {
    [b"e/", task.as_bytes(), b"\0"].concat()
}
fn event_key(task: &str, seq: u64) -> Vec<u8> {
    [event_prefix(task).as_slice(), &seq.to_be_bytes()].concat()
}
fn idem_key(agent: &str, owner: &str, message_id: &str) -> Vec<u8> {
    [
        claims::CLAIM_PREFIX,
        agent.as_bytes(),
        b"\0",
        owner.as_bytes(),
        b"\0",
        message_id.as_bytes(),
    ]
    .concat()
}

/// Events records folded into one by the staging layer stay below this size: a task streaming
/// many events in one flush period would otherwise be re-encoded on every event.
const FOLD_LIMIT: usize = 16 << 10;

/// The staging layer's [`Merge`](staging::Merge): a new event record of a task that continues
/// the fresh record before it becomes part of that record, one key instead of two (a quick
/// task's first and last events land in one key).
fn fold_events(prev_key: &[u8], prev: &[u8], key: &[u8], value: &[u8]) -> Option<Vec<u8>> {
    fn task_part(k: &[u8]) -> Option<&[u8]> {
        k.get(..k.len().checked_sub(8)?)
    }
    if !key.starts_with(b"e/") || prev.len() > FOLD_LIMIT || task_part(prev_key)? != task_part(key)?
    {
        return None;
    }
    let mut events = EventRecord::decode_all(prev).ok()?;
    let more = EventRecord::decode_all(value).ok()?;
    if events.last()?.seq.checked_add(1)? != more.first()?.seq {
        return None;
    }
    let first = events.first()?.seq;
    events.extend(more);
    Some(EventRecord::encode_run(
        first,
        events.into_iter().map(|e| e.json).collect(),
    ))
}

/// The task's entry in the status index: `r/` while unfinished, `s/` once final, `h/` for a
/// task hidden behind a bare-Message reply (listed nowhere; only the reaper reads it).
fn index_entry(t: &TaskRecord) -> (Vec<u8>, Vec<u8>) {
    let nanos = t
        .task
        .status
        .timestamp
        .map(Timestamp::unix_nanos)
        .unwrap_or(0);
    let nanos = u64::try_from(nanos.max(0)).unwrap_or(u64::MAX);
    let prefix: &[u8] = if t.reply.is_some() {
        b"h/"
    } else if t.task.status.state.is_terminal() {
        b"s/"
    } else {
        b"r/"
    };
    let key = [prefix, &nanos.to_be_bytes(), t.task.id.as_bytes()].concat();
    let state = u8::try_from(t.task.status.state.number()).unwrap_or(0);
    let value = [
        &[state][..],
        t.agent.as_bytes(),
        b"\0",
        t.owner.as_bytes(),
        b"\0",
        t.task.context_id.as_bytes(),
    ]
    .concat();
    (key, value)
}

/// Bytes of events one read returns at most (past its first event).
pub const PAGE_BYTES: usize = 4 << 20;

/// What a task was before a commit changes it: nothing (a new task), or its place in the status
/// index. Taken with [`Before::of`] before the task is changed, so the change can be made in
/// place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Before {
    New,
    /// The task's status index key and value.
    Indexed(Vec<u8>, Vec<u8>),
}

impl Before {
    /// The state of an existing task, as the next commit needs to know it.
    pub fn of(rec: &TaskRecord) -> Self {
        let (k, v) = index_entry(rec);
        Self::Indexed(k, v)
    }
}

/// A set of changes that the writer applies atomically, with an optional idempotency claim.
#[derive(Debug, Default)]
pub struct Commit {
    pub(crate) ops: Vec<Op>,
    /// `(idempotency key, task id)`: apply only if no other task claimed the key first.
    pub(crate) claim: Option<(Vec<u8>, String)>,
    /// Outbox lanes this commit adds deliveries to: the push sender is told once it applies.
    pub(crate) lanes: Vec<Lane>,
}

impl Commit {
    /// Moves a task from `prev` (none for a new task) to `next`, appends `events`
    /// (`(seq, StreamResponse JSON)`) and keeps the status index in step. With `snapshot`, the
    /// task's snapshot is rewritten too; without, readers rebuild it from the events. A new task's
    /// first event must be the task itself, with sequence number 1: it gets no snapshot, only a
    /// header at sequence number 0 of its log (`snapshot` is ignored for it).
    pub fn task(
        prev: Before,
        next: &TaskRecord,
        events: Vec<(u64, Vec<u8>)>,
        snapshot: bool,
    ) -> Self {
        let mut ops = Vec::with_capacity(4);
        let id = &next.task.id;
        let first = events.first().map(|&(seq, _)| seq);
        let jsons = events.into_iter().map(|(_, json)| json);
        match (&prev, first) {
            // A new task's log starts with its header at sequence number 0, in the same record
            // as its first events: one key where a snapshot key and an event key would be two.
            (Before::New, _) => {
                let run = std::iter::once(next.encode_header()).chain(jsons);
                ops.push(Op::Create(
                    event_key(id, 0),
                    EventRecord::encode_run(0, run.collect()),
                ));
            }
            // One key for all of a commit's events (they are consecutive).
            (Before::Indexed(..), Some(first)) => ops.push(Op::Create(
                event_key(id, first),
                EventRecord::encode_run(first, jsons.collect()),
            )),
            (Before::Indexed(..), None) => {}
        }
        if snapshot && matches!(prev, Before::Indexed(..)) {
            ops.push(Op::Put(task_key(id), next.encode()));
        }
        // A bare-Message reply is hidden (`h/`): the client never saw a task, so it is neither
        // listed nor found; only a repeated send of the same messageId gets the reply again.
        let (key, value) = index_entry(next);
        match prev {
            Before::Indexed(k, v) if k == key && v == value => {}
            Before::Indexed(k, _) if k == key => ops.push(Op::Put(key, value)),
            // The entry moves: its key holds the status time, so the new key is new.
            Before::Indexed(k, _) => {
                ops.push(Op::Delete(k));
                ops.push(Op::Create(key, value));
            }
            Before::New => ops.push(Op::Create(key, value)),
        }
        Self {
            ops,
            ..Self::default()
        }
    }

    /// Makes the commit conditional: it applies only if no task claimed `(owner, message_id)`.
    pub fn claiming(mut self, agent: &str, owner: &str, message_id: &str, task_id: &str) -> Self {
        let key = idem_key(agent, owner, message_id);
        self.ops
            .push(Op::Put(key.clone(), task_id.as_bytes().to_vec()));
        self.claim = Some((key, task_id.to_owned()));
        self
    }
}

/// How full the idempotency claim filter is (see [`Log::claim_filter`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClaimFilterStats {
    pub keys: u64,
    pub design_load: u64,
    pub ready: bool,
}

/// What ListTasks asks for.
#[derive(Debug, Clone, Default)]
pub struct TaskQuery {
    pub agent: String,
    pub owner: String,
    pub context_id: String,
    pub state: Option<TaskState>,
    pub status_after: Option<Timestamp>,
    pub page_size: usize,
    pub page_token: String,
}

/// One page of ListTasks.
#[derive(Debug)]
pub struct TaskPage {
    pub tasks: Vec<TaskRecord>,
    pub next_page_token: String,
    pub total_size: usize,
}

/// The log the runtime reads and writes.
#[derive(Clone)]
pub struct Log {
    store: Arc<dyn Store>,
    writer: writer::StoreWriter,
    outbox: Arc<OutboxSignal>,
    /// Events kept per task (see [`Retention`]).
    max_events: u64,
}

/// Tells the push sender which lanes got new deliveries. Bounded: when the sender falls behind,
/// lanes are dropped and `wake` makes it scan the outbox instead.
struct OutboxSignal {
    tx: tokio::sync::mpsc::Sender<Lane>,
    rx: std::sync::Mutex<Option<tokio::sync::mpsc::Receiver<Lane>>>,
    wake: tokio::sync::Notify,
}

/// What the push sender listens to (see [`Log::take_outbox_signals`]).
pub struct OutboxSignals {
    /// Lanes that got new deliveries.
    pub lanes: tokio::sync::mpsc::Receiver<Lane>,
    /// Fires when signals were lost: the outbox must be scanned.
    pub overflow: Overflow,
}

/// See [`OutboxSignals::overflow`].
pub struct Overflow(Arc<OutboxSignal>);

impl Overflow {
    /// Waits until signals are lost.
    pub async fn wait(&self) {
        self.0.wake.notified().await;
    }
}

/// Lane signals queued before the push sender scans instead.
const OUTBOX_SIGNALS: usize = 4096;

impl std::fmt::Debug for Log {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Log").finish_non_exhaustive()
    }
}

impl Log {
    /// Starts the group-commit writer over `store`, with a filter of about `claim_filter_bytes`
    /// over the idempotency keys (0: none; see `store/claims.rs`). Needs a tokio runtime.
    pub fn open(
        engine: Arc<dyn Store>,
        durability: Durability,
        queue_capacity: usize,
        claim_filter_bytes: usize,
    ) -> Self {
        let staging = Arc::new(staging::Staging::new(engine, fold_events));
        let claims = Arc::new(claims::ClaimFilter::new(claim_filter_bytes));
        let writer =
            writer::StoreWriter::spawn(staging.clone(), claims.clone(), durability, queue_capacity);
        let store: Arc<dyn Store> = staging;
        claims::scan_in_background(claims.clone(), &store);
        let (tx, rx) = tokio::sync::mpsc::channel(OUTBOX_SIGNALS);
        let outbox = Arc::new(OutboxSignal {
            tx,
            rx: std::sync::Mutex::new(Some(rx)),
            wake: tokio::sync::Notify::new(),
        });
        Self {
            store,
            writer,
            outbox,
            max_events: Retention::default().max_events_per_task,
        }
    }

    /// Keeps `n` events per task (at least [`MIN_EVENTS_KEPT`]).
    pub fn with_max_events(mut self, n: u64) -> Self {
        self.max_events = n.max(MIN_EVENTS_KEPT);
        self
    }

    /// Events kept per task.
    pub fn max_events(&self) -> u64 {
        self.max_events
    }

    /// The lane signals, for the one push sender (`None` once taken).
    pub fn take_outbox_signals(&self) -> Option<OutboxSignals> {
        let lanes = self.outbox.rx.lock().ok()?.take()?;
        Some(OutboxSignals {
            lanes,
            overflow: Overflow(self.outbox.clone()),
        })
    }

    /// Applies a commit (batched with others). `Ok(Applied::Done(ticket))` means readers see it; it
    /// is durable once [`Log::durable`] on the ticket returns. `Applied::Duplicate(task)` means
    /// the commit's idempotency claim was taken by `task` and nothing was written.
    pub async fn commit(&self, mut commit: Commit) -> Result<Applied, StoreError> {
        let lanes = std::mem::take(&mut commit.lanes);
        let applied = self.writer.commit(commit).await?;
        if matches!(applied, Applied::Done(_)) {
            for lane in lanes {
                if self.outbox.tx.try_send(lane).is_err() {
                    // Never wait on the sender: it scans the outbox instead.
                    self.outbox.wake.notify_one();
                }
            }
        }
        Ok(applied)
    }

    /// Waits until the commit with `ticket` is durable (immediately in `buffered` mode).
    pub async fn durable(&self, ticket: u64) -> Result<(), StoreError> {
        self.writer.durable(ticket).await
    }

    /// Waits until everything applied so far is durable, so what a read returns next cannot be
    /// lost by a crash (reads never show an acknowledgement the disk does not hold).
    pub async fn read_committed(&self) -> Result<(), StoreError> {
        self.writer.durable(self.writer.applied()).await
    }

    /// A watch that completes when more of the log becomes durable: what a waiter for another
    /// writer's commit takes before it reads and waits on after, instead of polling.
    pub fn durable_watch(&self) -> DurableWatch {
        self.writer.durable_watch()
    }

    /// Flushes everything and waits for it (shutdown).
    pub async fn flush(&self) -> Result<(), StoreError> {
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || store.flush())
            .await
            .map_err(|e| StoreError::engine("flush", e))?
    }

    /// Records waiting in the writer's queue (a gauge).
    pub fn queue_depth(&self) -> usize {
        self.writer.queue_depth()
    }

    /// Whether the engine failed a write or flush. The writer then stops acknowledging for good
    /// (what it acknowledged before stays durable); the server reports itself not ready.
    pub fn is_failed(&self) -> bool {
        self.writer.failed()
    }

    /// The claim filter: keys added since start, keys it holds at ~1% false positives, and
    /// whether its start-up scan finished (until then every claim check reads the store).
    pub fn claim_filter(&self) -> ClaimFilterStats {
        let claims = self.writer.claims();
        ClaimFilterStats {
            keys: claims.added(),
            design_load: claims.design_load(),
            ready: claims.is_ready(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{Message, Part, Role, Task, TaskStatus};

    /// A task created and finished within one flush period reaches the engine as one batch of
    /// three keys (one record of its header and both events, idempotency key, final index
    /// entry), not six, and reads the same before and after.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_quick_task_reaches_the_engine_as_three_keys_in_one_batch() {
        let dir = tempfile::tempdir().unwrap();
        let engine = Arc::new(recording::Recording::open(dir.path()));
        let log = Log::open(engine.clone(), Durability::Fsync, 16, 1 << 16);
        let submitted = submitted("t-1");
        let create = Commit::task(
            Before::New,
            &submitted,
            vec![(1, first_event(&submitted))],
            true,
        )
        .claiming("echo", "alice", "m-1", "t-1");
        let Applied::Done(_) = log.commit(create).await.unwrap() else {
            panic!("a new claim")
        };
        let mut done = submitted.clone();
        done.task.status = TaskStatus {
            state: TaskState::Completed,
            message: None,
            timestamp: Some(Timestamp::now()),
        };
        done.next_seq = 3;
        let update = serde_json::to_vec(&serde_json::json!({ "statusUpdate": {
            "taskId": "t-1", "contextId": "c-1", "status": done.task.status }}))
        .unwrap();
        let finish = Commit::task(Before::of(&submitted), &done, vec![(2, update)], false);
        let Applied::Done(ticket) = log.commit(finish).await.unwrap() else {
            panic!("no claim")
        };
        let staged = log.task("t-1").unwrap().unwrap();
        assert_eq!(
            staged.task.status.state,
            TaskState::Completed,
            "read while staged"
        );
        log.writer.durable(ticket).await.unwrap();

        let batches = engine.batch_prefixes();
        assert_eq!(
            batches,
            vec![vec!["put e/", "put i/", "put s/"]],
            "one batch, no r/ entry"
        );
        let events = log.events_after("t-1", 0, 10).unwrap();
        assert_eq!(events.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![1, 2]);
        let read = log.task("t-1").unwrap().unwrap();
        assert_eq!(read.task, staged.task, "read from the engine");
        assert!(
            log.active_tasks().unwrap().is_empty(),
            "not in the recovery index"
        );
    }

    /// After a restart the claim filter learns the claims already in the engine (the start-up
    /// scan), so a repeated message id is still a duplicate, while a new one is answered by the
    /// filter alone.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_claim_made_before_a_restart_is_still_a_duplicate_after_it() {
        let dir = tempfile::tempdir().unwrap();
        let engine: Arc<dyn Store> = Arc::new(SledStore::open(dir.path(), 8 << 20, None).unwrap());
        let create = |id: &str, message_id: &str| {
            let rec = submitted(id);
            Commit::task(Before::New, &rec, vec![(1, first_event(&rec))], true)
                .claiming("echo", "alice", message_id, id)
        };
        let before = Log::open(engine.clone(), Durability::Fsync, 16, 1 << 16);
        let Applied::Done(ticket) = before.commit(create("t-1", "m-1")).await.unwrap() else {
            panic!("a new claim")
        };
        before.writer.durable(ticket).await.unwrap();

        // A new log over the same engine sees what a restarted server sees.
        let after = Log::open(engine, Durability::Fsync, 16, 1 << 16);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while !after.claim_filter().ready {
            assert!(
                std::time::Instant::now() < deadline,
                "the scan never finished"
            );
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        assert_eq!(after.claim_filter().keys, 1);
        assert!(
            after
                .writer
                .claims()
                .may_contain(&idem_key("echo", "alice", "m-1"))
        );
        assert!(
            !after
                .writer
                .claims()
                .may_contain(&idem_key("echo", "alice", "m-2"))
        );
        assert_eq!(
            after.commit(create("t-2", "m-1")).await.unwrap(),
            Applied::Duplicate("t-1".into())
        );
        let Applied::Done(_) = after.commit(create("t-3", "m-2")).await.unwrap() else {
            panic!("a new claim")
        };
        assert_eq!(
            after.commit(create("t-4", "m-2")).await.unwrap(),
            Applied::Duplicate("t-3".into()),
            "a claim made since the restart"
        );
        assert!(
            after.task("t-2").unwrap().is_none(),
            "the duplicate wrote nothing"
        );
    }

    /// A new task as the runtime creates it: submitted, its message in its history.
    fn submitted(id: &str) -> TaskRecord {
        TaskRecord {
            task: Task {
                id: id.into(),
                context_id: "c-1".into(),
                status: TaskStatus {
                    state: TaskState::Submitted,
                    message: None,
                    timestamp: Some(Timestamp::now()),
                },
                history: vec![Message {
                    message_id: "m-1".into(),
                    role: Role::User,
                    parts: vec![Part::text("hi")],
                    ..Message::default()
                }],
                ..Task::default()
            },
            agent: "echo".into(),
            owner: "alice".into(),
            next_seq: 2,
            attempts: 1,
            reply: None,
            snapshot_seq: 1,
        }
    }

    /// A new task's first event: the task itself.
    fn first_event(rec: &TaskRecord) -> Vec<u8> {
        serde_json::to_vec(&serde_json::json!({ "task": rec.task })).unwrap()
    }

    /// Stores written before a new task's header moved into its log kept it as a `t/` record
    /// (no task in it) next to an event record from sequence number 1. Such a task reads exactly
    /// as one written now, its events are the same, and its next commits apply to it.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_task_in_the_earlier_layout_reads_the_same() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(SledStore::open(dir.path(), 8 << 20, None).unwrap());
        let log = Log::open(store, Durability::Fsync, 16, 1 << 16);
        let now = submitted("t-now");
        let Applied::Done(_) = log
            .commit(Commit::task(
                Before::New,
                &now,
                vec![(1, first_event(&now))],
                false,
            ))
            .await
            .unwrap()
        else {
            panic!("no claim")
        };
        let old = submitted("t-old");
        let (index_key, index_value) = index_entry(&old);
        let earlier_layout = Commit {
            ops: vec![
                Op::Put(task_key("t-old"), old.encode_header()),
                Op::Put(
                    event_key("t-old", 1),
                    EventRecord::encode_run(1, vec![first_event(&old)]),
                ),
                Op::Put(index_key, index_value),
            ],
            ..Commit::default()
        };
        let Applied::Done(ticket) = log.commit(earlier_layout).await.unwrap() else {
            panic!("no claim")
        };
        log.durable(ticket).await.unwrap();

        let (read_now, read_old) = (
            log.task("t-now").unwrap().unwrap(),
            log.task("t-old").unwrap().unwrap(),
        );
        assert_eq!(read_now.task, now.task);
        assert_eq!(read_old.task, old.task);
        for read in [&read_now, &read_old] {
            assert_eq!((read.next_seq, read.snapshot_seq), (2, 1), "{read:?}");
            assert_eq!(
                (read.agent.as_str(), read.owner.as_str()),
                ("echo", "alice")
            );
        }
        for id in ["t-now", "t-old"] {
            let events = log.events_after(id, 0, 10).unwrap();
            assert_eq!(
                events.iter().map(|e| e.seq).collect::<Vec<_>>(),
                vec![1],
                "the header is no event: {id}"
            );
        }
        assert_eq!(
            log.active_tasks().unwrap().len(),
            2,
            "both in the recovery index"
        );
        assert!(log.task("t-none").unwrap().is_none());

        // The next turn of either writes a snapshot, which reads win over the header.
        for rec in [read_now, read_old] {
            let mut next = rec.clone();
            next.task.status.state = TaskState::Working;
            next.next_seq = 3;
            next.snapshot_seq = 3;
            let update = serde_json::to_vec(&serde_json::json!({ "statusUpdate": {
                "taskId": rec.task.id, "contextId": "c-1", "status": next.task.status }}))
            .unwrap();
            let commit = Commit::task(Before::of(&rec), &next, vec![(2, update)], true);
            let Applied::Done(ticket) = log.commit(commit).await.unwrap() else {
                panic!("no claim")
            };
            log.durable(ticket).await.unwrap();
            let read = log.task(&rec.task.id).unwrap().unwrap();
            assert_eq!(read.task.status.state, TaskState::Working);
            assert_eq!((read.next_seq, read.snapshot_seq), (3, 3));
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn event_pages_are_bounded_by_count_and_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(SledStore::open(dir.path(), 8 << 20, None).unwrap());
        let log = Log::open(store, Durability::Buffered, 16, 1 << 16);
        let big = vec![b'x'; 1 << 20];
        // 10 events of 1 MiB in commits of 3, 3, 4 (records keyed by their first event)
        let mut ops = Vec::new();
        for (first, n) in [(1u64, 3usize), (4, 3), (7, 4)] {
            ops.push(Op::Put(
                event_key("t", first),
                EventRecord::encode_run(first, vec![big.clone(); n]),
            ));
        }
        log.commit(Commit {
            ops,
            ..Commit::default()
        })
        .await
        .unwrap();
        let page = log.events_after("t", 0, 100).unwrap();
        assert_eq!(
            page.iter().map(|e| e.seq).collect::<Vec<_>>(),
            vec![1, 2, 3, 4],
            "4 MiB"
        );
        let page = log.events_after("t", 5, 2).unwrap();
        assert_eq!(
            page.iter().map(|e| e.seq).collect::<Vec<_>>(),
            vec![6, 7],
            "from inside a record"
        );
        let page = log.events_after("t", 9, 100).unwrap();
        assert_eq!(page.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![10]);
        assert!(log.events_after("t", 10, 100).unwrap().is_empty());
        assert!(log.events_after("other", 0, 100).unwrap().is_empty());
    }
}
