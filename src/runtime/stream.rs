//! A task's events as a stream, read from the log at the reader's own pace.
//!
//! A [`TaskStream`] keeps a cursor (the last sequence number it handed out) and reads the
//! events after it from the log, in small pages, when the task's actor publishes a change (or,
//! for a task with no live actor, on a short poll). It hands out only events that are durable:
//! for a live task, those below the published frontier once its ticket is flushed; otherwise
//! everything in the log once what was applied is flushed. A slow reader holds no buffer but its
//! page, and never slows the task or other readers.
//!
//! The sequence number is the SSE `id`, so a reader that comes back with `Last-Event-ID` gets
//! every event after it, once, in order.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use super::internal;
use super::live::LiveTasks;
use tokio::sync::watch;

use crate::protocol::{A2aError, ErrorKind, StreamResponse};
use crate::store::{EventRecord, Log};

/// Events read per page.
const PAGE: usize = 64;
/// How often a task with no live actor is looked at again.
const POLL: Duration = Duration::from_millis(200);
/// How long a new task's first event waits to learn whether the agent answers with a bare
/// Message instead (then the stream is that Message alone).
const HOLD_FIRST: Duration = Duration::from_millis(100);

/// One event ready for the wire: its sequence number and its `StreamResponse` JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamEvent {
    pub seq: u64,
    pub json: Vec<u8>,
    /// Set when retention removed events the reader had not seen (`first..=last`): this event
    /// is then the whole task as of `seq`, standing in for them.
    pub skipped: Option<(u64, u64)>,
}

impl From<EventRecord> for StreamEvent {
    fn from(e: EventRecord) -> Self {
        Self {
            seq: e.seq,
            json: e.json,
            skipped: None,
        }
    }
}

/// What every stream reads from: the log, the live tasks, and the runtime's shutdown signal.
#[derive(Clone)]
pub(crate) struct StreamSource {
    pub log: Log,
    pub live: Arc<LiveTasks>,
    pub shutdown: watch::Receiver<bool>,
}

/// The events of one task, from a cursor on, until the task is final or interrupted.
pub struct TaskStream {
    log: Log,
    live: Arc<LiveTasks>,
    shutdown: watch::Receiver<bool>,
    task_id: String,
    /// The last sequence number read from the log.
    read: u64,
    /// A snapshot to hand out first (SubscribeToTask, follow-up turns).
    first: Option<StreamEvent>,
    pending: VecDeque<StreamEvent>,
    /// Set for a new task's stream: its first event is held back (see [`HOLD_FIRST`]).
    hold_first: bool,
    done: bool,
    /// The last sequence number handed out (what a reader resumes after).
    sent: u64,
    /// Set for SubscribeToTask: an interrupted state in the first snapshot does not end it.
    watch_waiting: bool,
    /// The slot this stream holds among the server's open streams, released when it is dropped.
    slot: Option<tokio::sync::OwnedSemaphorePermit>,
}

impl std::fmt::Debug for TaskStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TaskStream")
            .field("task_id", &self.task_id)
            .field("read", &self.read)
            .finish()
    }
}

/// Whether the stream ends after this event: a final or interrupted state, or a bare Message.
/// Runs for every event and every subscriber, so it reads no more than it must: an artifact
/// chunk (the bulk of a busy stream) is known by its first key, and otherwise only the state is
/// decoded (the rest of the JSON is skipped, not built).
fn closes(json: &[u8]) -> bool {
    closes_with(json, true)
}

/// [`closes`], where an interrupted state counts only if `interrupted` says so.
fn closes_with(json: &[u8], interrupted: bool) -> bool {
    if json.starts_with(br#"{"artifactUpdate""#) {
        return false;
    }
    #[derive(serde::Deserialize)]
    struct Status {
        state: crate::protocol::TaskState,
    }
    #[derive(serde::Deserialize)]
    struct WithStatus {
        status: Status,
    }
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Peek {
        status_update: Option<WithStatus>,
        task: Option<WithStatus>,
        artifact_update: Option<serde::de::IgnoredAny>,
    }
    match serde_json::from_slice::<Peek>(json) {
        Ok(Peek {
            status_update: Some(WithStatus { status }),
            ..
        })
        | Ok(Peek {
            task: Some(WithStatus { status }),
            ..
        }) => status.state.is_terminal() || (interrupted && status.state.is_interrupted()),
        Ok(Peek {
            artifact_update: Some(_),
            ..
        }) => false,
        // A bare Message ends the stream, and so does anything unreadable.
        _ => true,
    }
}

impl TaskStream {
    pub(crate) fn new(
        src: StreamSource,
        task_id: String,
        after: u64,
        first: Option<StreamEvent>,
    ) -> Self {
        let StreamSource {
            log,
            live,
            shutdown,
        } = src;
        Self {
            log,
            live,
            shutdown,
            task_id,
            read: after,
            first,
            pending: VecDeque::new(),
            hold_first: false,
            done: false,
            sent: after,
            watch_waiting: false,
            slot: None,
        }
    }

    /// A SubscribeToTask stream: starting on a task that waits for input, it stays open for
    /// what the next turn brings (the conformance suite's STREAM-SUB-002 subscribes to an
    /// input-required task and expects the stream to end at its final state).
    pub(crate) fn watching_waiting(mut self) -> Self {
        self.watch_waiting = true;
        self
    }

    /// A new task's stream: from its first event, which waits briefly to see whether the agent
    /// answers with a bare Message.
    pub(crate) fn for_new_task(src: StreamSource, task_id: String) -> Self {
        Self {
            hold_first: true,
            ..Self::new(src, task_id, 0, None)
        }
    }

    /// Holds `slot` (a place among a bounded number of open streams) until the stream is dropped.
    pub fn holding(mut self, slot: tokio::sync::OwnedSemaphorePermit) -> Self {
        self.slot = Some(slot);
        self
    }

    /// The task this stream follows.
    pub fn task_id(&self) -> &str {
        &self.task_id
    }

    /// The next event, or `None` once the stream is over.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: an event is handed out only by the call that returns it.
    pub async fn next(&mut self) -> Option<Result<StreamEvent, A2aError>> {
        if let Some(first) = self.first.take() {
            // A subscriber to a waiting task watches what comes next; only a final state in
            // the snapshot ends its stream.
            self.done = closes_with(&first.json, !self.watch_waiting);
            self.sent = first.seq;
            return Some(Ok(first));
        }
        if self.hold_first
            && let Err(e) = self.hold_back_first().await
        {
            return Some(Err(e));
        }
        loop {
            if let Some(ev) = self.pending.pop_front() {
                if closes(&ev.json) {
                    self.done = true;
                    self.pending.clear();
                }
                self.sent = ev.seq;
                return Some(Ok(ev));
            }
            if self.done {
                return None;
            }
            if *self.shutdown.borrow() {
                self.done = true;
                return Some(Err(self.shutting_down()));
            }
            if let Err(e) = self.fill().await {
                self.done = true;
                return Some(Err(e));
            }
        }
    }

    /// Reads the next page of durable events, waiting for the task to change when there is none.
    async fn fill(&mut self) -> Result<(), A2aError> {
        loop {
            if let Some(core) = self.live.get(&self.task_id) {
                let mut watch = core.watch();
                let published = watch.borrow_and_update().clone();
                if published.next_seq > self.read + 1 {
                    let page = self
                        .log
                        .events_after(&self.task_id, self.read, PAGE)
                        .map_err(internal)?;
                    let page: Vec<EventRecord> = page
                        .into_iter()
                        .filter(|e| e.seq < published.next_seq)
                        .collect();
                    self.log.durable(published.ticket).await.map_err(internal)?;
                    return self.take(page).await;
                }
                // Woken by the next publication, by the task's state going away with its actor
                // (the sender drops once nobody holds the core: then read the log), or by the
                // server stopping. An idle stream costs no wake-ups.
                drop(core);
                let mut shutdown = self.shutdown.clone();
                tokio::select! {
                    _ = watch.changed() => {}
                    _ = shutdown.wait_for(|s| *s) => return Ok(()),
                }
                continue;
            }
            // No live actor: nothing writes this task, so what the log holds is complete once
            // flushed; an actor starting meanwhile is caught by the second look.
            let page = self
                .log
                .events_after(&self.task_id, self.read, PAGE)
                .map_err(internal)?;
            if self.live.get(&self.task_id).is_some() {
                continue;
            }
            if !page.is_empty() {
                self.log.read_committed().await.map_err(internal)?;
                return self.take(page).await;
            }
            // Caught up with a final task: nothing will follow.
            if let Some(rec) = self.log.task(&self.task_id).map_err(internal)?
                && rec.task.status.state.is_terminal()
            {
                self.done = true;
                return Ok(());
            }
            self.pause(POLL).await;
            if *self.shutdown.borrow() {
                return Ok(());
            }
        }
    }

    /// The last event of a stream the server ends because it stops: nothing is lost, the reader
    /// resumes after the last id it got.
    fn shutting_down(&self) -> A2aError {
        A2aError::with_message(
            ErrorKind::Overloaded,
            format!(
                "the server is shutting down; nothing is lost: resubscribe (SubscribeToTask) with Last-Event-ID: {}",
                self.sent
            ),
        )
        .meta("taskId", &self.task_id)
        .meta("lastEventId", self.sent.to_string())
        .meta("retryAfterSeconds", "1")
    }

    /// Waits up to `d`, or less if the server starts shutting down.
    async fn pause(&mut self, d: Duration) {
        let mut shutdown = self.shutdown.clone();
        let _ = tokio::time::timeout(d, shutdown.wait_for(|s| *s)).await;
    }

    async fn take(&mut self, page: Vec<EventRecord>) -> Result<(), A2aError> {
        if let Some(first) = page.first()
            && first.seq > self.read + 1
        {
            return self.resync(first.seq).await;
        }
        if let Some(last) = page.last() {
            self.read = last.seq;
        }
        self.pending.extend(page.into_iter().map(StreamEvent::from));
        Ok(())
    }

    /// The events after the cursor are gone (retention kept only those from `first_kept`): hand
    /// out the task as it is now instead, flagged, and go on after it.
    async fn resync(&mut self, first_kept: u64) -> Result<(), A2aError> {
        self.log.read_committed().await.map_err(internal)?;
        let rec = self
            .log
            .task(&self.task_id)
            .map_err(internal)?
            .ok_or_else(|| A2aError::task_not_found(&self.task_id))?;
        let seq = rec.next_seq.saturating_sub(1);
        let json = serde_json::to_vec(&StreamResponse::Task(rec.task)).map_err(internal)?;
        let skipped = Some((self.read + 1, first_kept - 1));
        self.read = seq;
        self.pending.push_back(StreamEvent { seq, json, skipped });
        Ok(())
    }

    async fn hold_back_first(&mut self) -> Result<(), A2aError> {
        self.hold_first = false;
        let deadline = tokio::time::Instant::now() + HOLD_FIRST;
        while self.pending.len() < 2 && !self.done {
            match tokio::time::timeout_at(deadline, self.fill()).await {
                Ok(r) => r?,
                Err(_) => break,
            }
        }
        let second_is_message = self.pending.get(1).is_some_and(|e| {
            matches!(
                serde_json::from_slice(&e.json),
                Ok(StreamResponse::Message(_))
            )
        });
        if second_is_message {
            self.pending.pop_front();
        }
        Ok(())
    }
}
