//! The one writer: group commit.
//!
//! Every commit of every task goes through one bounded queue. The write loop takes whatever is
//! queued (up to [`MAX_BATCH`] commits), checks idempotency claims, applies all of it as one
//! atomic batch and hands each committer a ticket (the batch number). In `fsync` mode a separate
//! flush loop keeps calling `flush` while there are applied-but-unflushed batches and then moves
//! the *durable frontier* to the newest batch that the flush covered; so while one flush runs, the
//! next batch is already being gathered, and one fsync serves every task in it.
//!
//! Frontiers: `applied` is the newest batch readers can see; `durable` is the newest batch that
//! survives a crash. `durable <= applied` always; in `buffered` mode they move together and the
//! engine's background flush bounds what a crash can lose.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use tokio::sync::{Notify, mpsc, oneshot, watch};

use super::{Commit, Store, StoreError};

/// Most commits folded into one batch.
pub const MAX_BATCH: usize = 1024;

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
    pub(crate) fn spawn(store: Arc<dyn Store>, durability: Durability, capacity: usize) -> Self {
        let (tx, rx) = mpsc::channel(capacity.max(1));
        let (frontier_tx, frontier) = watch::channel(Frontier {
            durable: 0,
            failed: false,
        });
        let shared = Arc::new(Shared {
            applied: AtomicU64::new(0),
            wake: Notify::new(),
            closed: AtomicBool::new(false),
            frontier: frontier_tx,
        });
        tokio::spawn(write_loop(store.clone(), rx, shared.clone(), durability));
        if durability == Durability::Fsync {
            tokio::spawn(flush_loop(store, shared.clone()));
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
        let mut rx = self.frontier.clone();
        let f = *rx
            .wait_for(|f| f.durable >= ticket || f.failed)
            .await
            .map_err(|_| StoreError::Closed)?;
        if f.durable >= ticket {
            Ok(())
        } else {
            Err(StoreError::Io("flush failed; see the server log".into()))
        }
    }

    /// The newest applied batch: waiting for it to be durable makes a read "read committed".
    pub(crate) fn applied(&self) -> u64 {
        self.shared.applied.load(Ordering::Acquire)
    }

    pub(crate) fn queue_depth(&self) -> usize {
        self.tx.max_capacity() - self.tx.capacity()
    }
}

struct Shared {
    applied: AtomicU64,
    wake: Notify,
    closed: AtomicBool,
    frontier: watch::Sender<Frontier>,
}

async fn write_loop(
    store: Arc<dyn Store>,
    mut rx: mpsc::Receiver<Request>,
    shared: Arc<Shared>,
    durability: Durability,
) {
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
                    None => match store.get(key) {
                        Ok(v) => v.map(|b| String::from_utf8_lossy(&b).into_owned()),
                        Err(e) => {
                            let _ = reply.send(Err(e));
                            continue;
                        }
                    },
                };
                if let Some(other) = owner {
                    duplicates.push((reply, other));
                    continue;
                }
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
        let result = store.apply(ops);
        ticket += 1;
        match &result {
            Ok(()) => {
                shared.applied.store(ticket, Ordering::Release);
                match durability {
                    Durability::Buffered => shared.frontier.send_modify(|f| f.durable = ticket),
                    Durability::Fsync => shared.wake.notify_one(),
                }
            }
            Err(e) => tracing::error!(error = %e, "store batch failed"),
        }
        for reply in waiting {
            let _ = reply.send(result.clone().map(|()| Applied::Done(ticket)));
        }
        for (reply, other) in duplicates {
            let _ = reply.send(Ok(Applied::Duplicate(other)));
        }
    }
    shared.closed.store(true, Ordering::Release);
    shared.wake.notify_one();
}

async fn flush_loop(store: Arc<dyn Store>, shared: Arc<Shared>) {
    let mut flushed = 0u64;
    loop {
        shared.wake.notified().await;
        loop {
            let target = shared.applied.load(Ordering::Acquire);
            if target <= flushed {
                break;
            }
            let started = std::time::Instant::now();
            match store.flush().await {
                Ok(()) => {
                    flushed = target;
                    shared.frontier.send_modify(|f| f.durable = target);
                    metrics::histogram!("a2a_store_flush_seconds")
                        .record(started.elapsed().as_secs_f64());
                }
                Err(e) => {
                    tracing::error!(error = %e, "store flush failed; acknowledgements stop");
                    shared.frontier.send_modify(|f| f.failed = true);
                    return;
                }
            }
        }
        if shared.closed.load(Ordering::Acquire) {
            return;
        }
    }
}
