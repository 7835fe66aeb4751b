//! The one writer: group commit.
//!
//! Every commit of every task goes through one bounded queue. The write loop takes whatever is
//! queued (up to [`MAX_BATCH`] commits), checks idempotency claims, applies all of it as one
//! atomic batch to the [staging layer](super::staging) (in memory, visible to readers at once)
//! and hands each committer a ticket (the batch number). A thread of its own (engine calls block;
//! on a runtime worker they would stall every task queued there) hands what is staged to the
//! engine as one batch and, in `fsync` mode, flushes whenever someone waits for a ticket that is
//! not durable yet (an answer to a client, never a mere write); then it moves the *durable
//! frontier* to the newest batch the flush covered. Under load a second thread takes the
//! flushes, so one batch is written to disk while the next is handed to the engine. So while one
//! flush runs, the next batches are staged, one engine batch and one fsync serve every waiting
//! task, and a task's intermediate writes cost no fsync of their own.
//!
//! Frontiers: `applied` is the newest batch readers can see; `durable` is the newest batch that
//! survives a crash. `durable <= applied` always; in `buffered` mode they move together and the
//! engine's background flush bounds what a crash can lose.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Condvar, Mutex};

use tokio::sync::{mpsc, oneshot, watch};

use super::claims::ClaimFilter;
use super::staging::{STAGED_LIMIT, Staging};
use super::{Commit, Store, StoreError};

/// Most commits folded into one batch.
pub const MAX_BATCH: usize = 1024;

/// Staged bytes past which the flush thread hands them to the engine without being asked.
const DRAIN_AT: usize = 1 << 20;

/// Longest a change stays staged in `fsync` mode when nobody waits for it to be durable (a
/// stream's events, a push delivery's bookkeeping). `buffered` mode hands each batch over at
/// once: lingering there gave p99 latencies of 16–25 ms against 0.6 ms (measured at c=1 and
/// c=64), for no throughput at c=64.
pub const LINGER: std::time::Duration = std::time::Duration::from_millis(10);

/// When a commit counts as acknowledged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Durability {
    /// After the batch holding it was flushed to disk (fsync).
    #[default]
    Fsync,
    /// After the batch holding it was written; the engine flushes within its background interval.
    Buffered,
}

/// The outcome of a commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    /// Applied in the batch with this ticket.
    Done(u64),
    /// Not applied: the idempotency claim belongs to this task.
    Duplicate(String),
}

#[derive(Debug, Clone, Copy)]
struct Frontier {
    durable: u64,
    failed: bool,
}

/// Tells when more of the log became durable (or the store failed) after it was taken: take it
/// before a read, wait on it after, and no change in between is missed.
pub struct DurableWatch(watch::Receiver<Frontier>);

impl DurableWatch {
    /// Completes when the durable frontier moved since the watch was taken or last waited on.
    pub async fn moved(&mut self) {
        let _ = self.0.changed().await;
    }
}

struct Request {
    commit: Commit,
    reply: oneshot::Sender<Result<Applied, StoreError>>,
}

/// The handle committers use; cheap to clone.
#[derive(Clone)]
pub(crate) struct StoreWriter {
    tx: mpsc::Sender<Request>,
    frontier: watch::Receiver<Frontier>,
    shared: Arc<Shared>,
}

impl StoreWriter {
    pub(crate) fn spawn(
        store: Arc<Staging>,
        claims: Arc<ClaimFilter>,
        durability: Durability,
        capacity: usize,
    ) -> Self {
        let (tx, rx) = mpsc::channel(capacity.max(1));
        let (frontier_tx, frontier) = watch::channel(Frontier {
            durable: 0,
            failed: false,
        });
        let shared = Arc::new(Shared {
            applied: AtomicU64::new(0),
            wanted: AtomicU64::new(0),
            hand_over: Signal::default(),
            closed: AtomicBool::new(false),
            frontier: frontier_tx,
            drained: tokio::sync::Notify::new(),
            handed: AtomicU64::new(0),
            flusher: Signal::default(),
            claims,
            failure: std::sync::Mutex::new(None),
        });
        tokio::spawn(write_loop(store.clone(), rx, shared.clone(), durability));
        // Engine batches and flushes block: they get threads of their own.
        let (for_hand_over, for_flush, store_for_flush) =
            (shared.clone(), shared.clone(), store.clone());
        let started = std::thread::Builder::new()
            // Thread names show 15 bytes in ps and perf.
            .name("a2a-store-give".into())
            .spawn(move || hand_over_loop(store, for_hand_over, durability))
            .and_then(|_| match durability {
                Durability::Fsync => std::thread::Builder::new()
                    .name("a2a-store-flush".into())
                    .spawn(move || flush_loop(store_for_flush, for_flush))
                    .map(drop),
                Durability::Buffered => Ok(()),
            });
        if let Err(e) = started {
            // Nothing could reach the disk: say so to every waiter instead of hanging them.
            tracing::error!(error = %e, "cannot start the store threads; acknowledgements stop");
            shared.fail(StoreError::engine("cannot start the store threads", e));
            shared.closed.store(true, Ordering::Release);
            shared.hand_over.wake();
        }
        Self {
            tx,
            frontier,
            shared,
        }
    }

    pub(crate) async fn commit(&self, commit: Commit) -> Result<Applied, StoreError> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Request { commit, reply })
            .await
            .map_err(|_| StoreError::Closed)?;
        rx.await.map_err(|_| StoreError::Closed)?
    }

    pub(crate) async fn durable(&self, ticket: u64) -> Result<(), StoreError> {
        if self.frontier.borrow().durable >= ticket {
            return Ok(());
        }
        self.shared.wanted.fetch_max(ticket, Ordering::AcqRel);
        self.shared.hand_over.wake();
        let mut rx = self.frontier.clone();
        let f = *rx
            .wait_for(|f| f.durable >= ticket || f.failed)
            .await
            .map_err(|_| StoreError::Closed)?;
        if f.durable >= ticket {
            Ok(())
        } else {
            Err(self.shared.failure())
        }
    }

    /// The newest applied batch: waiting for it to be durable makes a read "read committed".
    pub(crate) fn applied(&self) -> u64 {
        self.shared.applied.load(Ordering::Acquire)
    }

    pub(crate) fn claims(&self) -> &ClaimFilter {
        &self.shared.claims
    }

    pub(crate) fn queue_depth(&self) -> usize {
        self.tx.max_capacity() - self.tx.capacity()
    }

    /// A watch of the durable frontier from now on: see [`DurableWatch`].
    pub(crate) fn durable_watch(&self) -> DurableWatch {
        let mut rx = self.frontier.clone();
        rx.mark_unchanged();
        DurableWatch(rx)
    }

    /// Whether a write or flush failed: from then on nothing is acknowledged.
    pub(crate) fn failed(&self) -> bool {
        self.frontier.borrow().failed
    }
}

impl Shared {
    /// Records the first failure and stops acknowledgements.
    fn fail(&self, e: StoreError) {
        if let Ok(mut first) = self.failure.lock() {
            first.get_or_insert_with(|| Arc::new(e));
        }
        self.frontier.send_modify(|f| f.failed = true);
    }

    /// The refusal a waiter gets once the store failed, naming the first failure.
    fn failure(&self) -> StoreError {
        match self.failure.lock().ok().and_then(|f| f.clone()) {
            Some(first) => StoreError::Failed(first),
            None => StoreError::Io("the store failed; see the server log".into()),
        }
    }
}

struct Shared {
    applied: AtomicU64,
    /// The newest ticket someone waits to see durable: flushes happen only for waiters.
    wanted: AtomicU64,
    /// Wakes the hand-over thread: it has something to look at (a waiter, or the writer stopped).
    hand_over: Signal,
    closed: AtomicBool,
    frontier: watch::Sender<Frontier>,
    /// Fires after each hand-over to the engine (the writer may be waiting for room).
    drained: tokio::sync::Notify,
    /// The newest batch handed to the engine whole (`fsync` mode): what a flush makes durable.
    handed: AtomicU64,
    /// Wakes the flush thread.
    flusher: Signal,
    /// The first failure, which every later refusal names as its source.
    failure: std::sync::Mutex<Option<Arc<StoreError>>>,
    /// Which idempotency keys the log may hold.
    claims: Arc<ClaimFilter>,
}

async fn write_loop(
    store: Arc<Staging>,
    mut rx: mpsc::Receiver<Request>,
    shared: Arc<Shared>,
    durability: Durability,
) {
    let _closing = CloseOnDrop(shared.clone());
    let claims = shared.claims.clone();
    let claim_reads = metrics::counter!("a2a_store_claim_reads_total");
    let mut buf = Vec::with_capacity(MAX_BATCH);
    let mut ticket = 0u64;
    while rx.recv_many(&mut buf, MAX_BATCH).await > 0 {
        // Group commit: give committers that are about to write a moment to join this batch.
        for _ in 0..16 {
            tokio::task::yield_now().await;
            if buf.len() >= MAX_BATCH || rx.is_empty() {
                break;
            }
            let room = MAX_BATCH - buf.len();
            rx.recv_many(&mut buf, room).await;
        }
        let mut ops = Vec::new();
        let mut claimed: HashMap<Vec<u8>, String> = HashMap::new();
        let mut waiting = Vec::with_capacity(buf.len());
        // Answered after the batch is applied, so the task they name can be read.
        let mut duplicates = Vec::new();
        for Request { commit, reply } in buf.drain(..) {
            if let Some((key, task)) = &commit.claim {
                let owner = match claimed.get(key) {
                    Some(t) => Some(t.clone()),
                    // Almost every claim is new: the filter says so without reading sled.
                    None if !claims.may_contain(key) => None,
                    None => {
                        claim_reads.increment(1);
                        match store.get(key) {
                            Ok(v) => v.map(|b| String::from_utf8_lossy(&b).into_owned()),
                            Err(e) => {
                                let _ = reply.send(Err(e));
                                continue;
                            }
                        }
                    }
                };
                if let Some(other) = owner {
                    duplicates.push((reply, other));
                    continue;
                }
                // Into the filter before the claim is staged: it never answers "absent" for a
                // key the log holds.
                claims.insert(key);
                claimed.insert(key.clone(), task.clone());
            }
            ops.extend(commit.ops);
            waiting.push(reply);
        }
        if waiting.is_empty() {
            for (reply, other) in duplicates {
                let _ = reply.send(Ok(Applied::Duplicate(other)));
            }
            continue;
        }
        metrics::histogram!("a2a_store_batch_commits").record(waiting.len() as f64);
        wait_for_room(&store, &shared).await;
        let result = if shared.frontier.borrow().failed {
            Err(shared.failure())
        } else {
            store.stage(ops);
            Ok(())
        };
        ticket += 1;
        if result.is_ok() {
            shared.applied.store(ticket, Ordering::Release);
            if durability == Durability::Buffered {
                shared.frontier.send_modify(|f| f.durable = ticket);
            }
            // The flush thread hands it to the engine when someone waits for it to be durable,
            // within `LINGER`, or now when this much has piled up; in `buffered` mode, where
            // nobody waits, at once.
            if durability == Durability::Buffered || store.staged_bytes() > DRAIN_AT {
                shared.hand_over.wake();
            }
        }
        for reply in waiting {
            let _ = reply.send(result.clone().map(|()| Applied::Done(ticket)));
        }
        for (reply, other) in duplicates {
            let _ = reply.send(Ok(Applied::Duplicate(other)));
        }
    }
}

/// Waits while more than [`STAGED_LIMIT`] bytes are staged (the engine or the disk is slow).
async fn wait_for_room(store: &Staging, shared: &Shared) {
    loop {
        let drained = shared.drained.notified();
        tokio::pin!(drained);
        drained.as_mut().enable();
        if store.staged_bytes() <= STAGED_LIMIT || shared.frontier.borrow().failed {
            return;
        }
        shared.hand_over.wake();
        drained.await;
    }
}

/// Tells a writer waiting for room that the engine took what was staged; on an engine error,
/// stops acknowledgements (the changes stay readable but never become durable).
fn handed_over(shared: &Shared, done: Result<(), StoreError>) -> bool {
    if let Err(e) = &done {
        tracing::error!(error = %e, "the store failed; acknowledgements stop");
        shared.fail(e.clone());
    }
    shared.drained.notify_waiters();
    done.is_ok()
}

/// Tells the flush thread the writer is gone, also when the runtime drops the write loop midway:
/// the thread then lets go of the store (and the engine's lock on its directory).
struct CloseOnDrop(Arc<Shared>);

impl Drop for CloseOnDrop {
    fn drop(&mut self) {
        self.0.closed.store(true, Ordering::Release);
        self.0.hand_over.wake();
    }
}

/// The hand-over thread: moves what is staged to the engine when someone waits for it to be
/// durable, when it has lingered long enough, or at once in `buffered` mode.
///
/// In `fsync` mode it flushes too, unless more waiters came while it handed a batch over: then
/// the flush thread flushes that batch while this thread prepares and hands over the next
/// (measured at c=64: about 6% less CPU per request and 5–10% more throughput). Inside sled 0.34
/// the two take turns: a flush holds the shared side of sled's global batch lock until the
/// device answers, and a batch takes it exclusively. A lone waiter (c=1) pays no hand-off
/// between threads (that cost ~50 µs of latency per request).
fn hand_over_loop(store: Arc<Staging>, shared: Arc<Shared>, durability: Durability) {
    loop {
        // Staged changes wait at most `LINGER` for someone to ask for them.
        shared
            .hand_over
            .wait(|| (store.staged_bytes() > 0).then_some(LINGER));
        let mut handed = false;
        // Everything applied so far rides along: one engine batch for every waiting committer.
        while durability == Durability::Fsync
            && shared.wanted.load(Ordering::Acquire) > shared.handed.load(Ordering::Acquire)
        {
            let target = shared.applied.load(Ordering::Acquire);
            if !handed_over(&shared, store.drain()) {
                shared.flusher.wake();
                return;
            }
            shared.handed.store(target, Ordering::Release);
            handed = true;
            if shared.wanted.load(Ordering::Acquire) > target {
                shared.flusher.wake();
            } else if !flush(&store, &shared, target) {
                return;
            }
        }
        // Nobody waits (lingered long enough, much piled up, or `buffered`): hand it over unflushed.
        if !handed && store.staged_bytes() > 0 && !handed_over(&shared, store.drain()) {
            shared.flusher.wake();
            return;
        }
        if shared.closed.load(Ordering::Acquire) {
            // Whatever the writer staged last goes to the engine before the thread lets go.
            if let Err(e) = store.drain() {
                tracing::error!(error = %e, "the store failed at shutdown");
            }
            shared.flusher.wake();
            return;
        }
    }
}

/// The flush thread (`fsync` mode): flushes what the hand-over thread handed over while that
/// thread hands over the next batch.
fn flush_loop(store: Arc<Staging>, shared: Arc<Shared>) {
    loop {
        shared.flusher.wait(|| None);
        loop {
            let handed = shared.handed.load(Ordering::Acquire);
            let flushed = shared.frontier.borrow().durable;
            if handed <= flushed || shared.wanted.load(Ordering::Acquire) <= flushed {
                break;
            }
            if !flush(&store, &shared, handed) {
                return;
            }
        }
        if shared.closed.load(Ordering::Acquire) || shared.frontier.borrow().failed {
            return;
        }
    }
}

/// Flushes the engine, which holds every batch up to `handed`, and moves the durable frontier
/// there (both threads may flush at once: the frontier only moves forward). `false` when the
/// engine failed: acknowledgements stop.
fn flush(store: &Staging, shared: &Shared, handed: u64) -> bool {
    if shared.frontier.borrow().durable >= handed {
        return true;
    }
    let started = std::time::Instant::now();
    if let Err(e) = store.flush_engine() {
        tracing::error!(error = %e, "the store failed; acknowledgements stop");
        shared.fail(e);
        return false;
    }
    shared
        .frontier
        .send_modify(|f| f.durable = f.durable.max(handed));
    metrics::histogram!("a2a_store_flush_seconds").record(started.elapsed().as_secs_f64());
    true
}

/// A flag and a condition variable: how the writer wakes the hand-over thread and that thread
/// the flush thread.
#[derive(Default)]
struct Signal {
    set: Mutex<bool>,
    cond: Condvar,
}

impl Signal {
    fn wake(&self) {
        // A poisoned lock only means a thread panicked holding it; the flag is still a bool.
        *self.set.lock().unwrap_or_else(|p| p.into_inner()) = true;
        self.cond.notify_one();
    }

    /// Waits until woken, or, when `linger` (asked each time round) gives a time, at most that.
    fn wait(&self, linger: impl Fn() -> Option<std::time::Duration>) {
        let mut set = self.set.lock().unwrap_or_else(|p| p.into_inner());
        while !*set {
            let Some(limit) = linger() else {
                set = self.cond.wait(set).unwrap_or_else(|p| p.into_inner());
                continue;
            };
            let (s, timeout) = self
                .cond
                .wait_timeout(set, limit)
                .unwrap_or_else(|p| p.into_inner());
            set = s;
            if timeout.timed_out() {
                break;
            }
        }
        *set = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::recording::Recording;
    use crate::store::{Op, SledStore};

    fn staged(engine: Arc<dyn Store>) -> Arc<Staging> {
        Arc::new(Staging::new(engine, |_, _, _, _| None))
    }

    /// A claim filter that has scanned `engine`, so checks trust it.
    fn filter(engine: Arc<dyn Store>) -> Arc<ClaimFilter> {
        let f = Arc::new(ClaimFilter::new(1 << 16));
        f.fill_from(Arc::downgrade(&engine)).unwrap();
        assert!(f.is_ready());
        f
    }

    fn put(i: usize) -> Commit {
        Commit {
            ops: vec![Op::Put(format!("k/{i:04}").into_bytes(), vec![1; 64])],
            ..Commit::default()
        }
    }

    async fn setup(durability: Durability) -> (tempfile::TempDir, Arc<Recording>, StoreWriter) {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Recording::open(dir.path()));
        let writer = StoreWriter::spawn(
            staged(store.clone()),
            filter(store.clone()),
            durability,
            1024,
        );
        (dir, store, writer)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn many_committers_share_batches_and_flushes() {
        let (_dir, store, writer) = setup(Durability::Fsync).await;
        let commits = (0..200).map(|i| {
            let w = writer.clone();
            tokio::spawn(async move {
                let Applied::Done(t) = w.commit(put(i)).await.unwrap() else {
                    panic!("no claim, no duplicate")
                };
                w.durable(t).await.unwrap();
            })
        });
        for c in commits.collect::<Vec<_>>() {
            c.await.unwrap();
        }
        let (applies, flushes) = (store.applies(), store.flushes());
        assert!(
            applies < 200,
            "commits were grouped into batches: {applies}"
        );
        assert!(
            (1..200).contains(&flushes),
            "one flush serves several committers: {flushes}"
        );
        for i in 0..200 {
            assert!(store.get(format!("k/{i:04}").as_bytes()).unwrap().is_some());
        }
    }

    /// Under steady load the hand-over and flush threads work at once; still, a commit is
    /// acknowledged as durable only after a flush that began once the engine held it.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn durable_means_flushed_while_hand_overs_and_flushes_overlap() {
        let (_dir, store, writer) = setup(Durability::Fsync).await;
        let committers = (0..16).map(|c| {
            let (w, store) = (writer.clone(), store.clone());
            tokio::spawn(async move {
                for i in 0..100 {
                    let key = c * 1000 + i;
                    let Applied::Done(t) = w.commit(put(key)).await.unwrap() else {
                        panic!("no claim, no duplicate")
                    };
                    w.durable(t).await.unwrap();
                    let flushed = store.flushed(format!("k/{key:04}").as_bytes());
                    assert!(flushed, "k/{key:04} acknowledged before a flush covered it");
                }
            })
        });
        for c in committers.collect::<Vec<_>>() {
            c.await.unwrap();
        }
        assert!(store.flushes() < 1600, "flushes are shared");
    }

    /// The flush thread holds the store; when the runtime goes away mid-loop it must let go, or
    /// the same data directory could not be opened again in this process (sled locks it).
    #[test]
    fn the_flush_thread_lets_go_of_the_store_when_the_runtime_stops() {
        let dir = tempfile::tempdir().unwrap();
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let store = Arc::new(SledStore::open(dir.path(), 8 << 20, None).unwrap());
            let writer =
                StoreWriter::spawn(staged(store.clone()), filter(store), Durability::Fsync, 16);
            let Applied::Done(t) = writer.commit(put(1)).await.unwrap() else {
                panic!("no claim, no duplicate")
            };
            writer.durable(t).await.unwrap();
            // The writer handle outlives the runtime: only dropping the loop can close it.
            std::mem::forget(writer);
        });
        drop(rt);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let reopened = loop {
            match SledStore::open(dir.path(), 8 << 20, None) {
                Ok(s) => break s,
                Err(e) if std::time::Instant::now() > deadline => {
                    panic!("the store is still held after the runtime stopped: {e}")
                }
                Err(_) => std::thread::sleep(std::time::Duration::from_millis(20)),
            }
        };
        assert!(
            reopened.get(b"k/0001").unwrap().is_some(),
            "the durable write is there"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn fsync_flushes_only_for_waiters_and_buffered_never() {
        let (_dir, store, writer) = setup(Durability::Fsync).await;
        let Applied::Done(t) = writer.commit(put(1)).await.unwrap() else {
            panic!()
        };
        assert_eq!(store.flushes(), 0, "a write alone costs no fsync");
        writer.durable(t).await.unwrap();
        assert_eq!(store.flushes(), 1);
        writer.durable(t).await.unwrap();
        assert_eq!(store.flushes(), 1, "already durable");

        let (_dir, store, writer) = setup(Durability::Buffered).await;
        let Applied::Done(t) = writer.commit(put(1)).await.unwrap() else {
            panic!()
        };
        writer.durable(t).await.unwrap();
        assert_eq!(store.flushes(), 0, "buffered acknowledges after the write");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_idempotency_claim_is_taken_once() {
        let (_dir, _store, writer) = setup(Durability::Fsync).await;
        let claim = |task: &str| Commit::default().claiming("agent", "owner", "message-1", task);
        let outcomes = futures_util::future::join_all((0..20).map(|i| {
            let w = writer.clone();
            let c = claim(&format!("t{i}"));
            async move { w.commit(c).await.unwrap() }
        }))
        .await;
        let done = outcomes
            .iter()
            .filter(|o| matches!(o, Applied::Done(_)))
            .count();
        assert_eq!(done, 1, "{outcomes:?}");
        let winner = outcomes
            .iter()
            .position(|o| matches!(o, Applied::Done(_)))
            .unwrap();
        for o in &outcomes {
            if let Applied::Duplicate(t) = o {
                assert_eq!(t, &format!("t{winner}"));
            }
        }
    }
}
