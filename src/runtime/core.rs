//! One task's state and the only code that changes it.
//!
//! A [`TaskCore`] is shared by the task actor and the running handler. Every change goes through
//! [`TaskCore::apply`]: under the task's lock it builds the next snapshot and the event, commits
//! both (with index changes) as one atomic write, and only then updates the in-memory copy and
//! publishes it. The lock keeps sequence numbers gap-free and in order, and makes a cancel racing a
//! completion end in exactly one final state: whichever commits first wins, the other is refused.
//!
//! Publication is not acknowledgement: a published state may be applied but not yet flushed, so
//! whoever answers a client waits for the published ticket to be durable first.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::{Mutex, watch};

use crate::protocol::{
    Artifact, Message, Role, StreamResponse, Task, TaskArtifactUpdateEvent,
    TaskPushNotificationConfig, TaskState, TaskStatus, TaskStatusUpdateEvent, Timestamp,
};
use crate::store::{Applied, Before, Commit, Log, StoreError, TaskRecord, now_ms};

/// Events after which the snapshot is rewritten (reads fold at most this many).
const SNAPSHOT_EVERY: u64 = 8;

/// What the outside may know of a task: its latest applied state and the ticket that makes it
/// durable.
#[derive(Debug, Clone)]
pub(crate) struct Published {
    /// The task's state (the task itself is read with [`TaskCore::snapshot`]).
    pub state: TaskState,
    pub reply: Option<Arc<Message>>,
    pub ticket: u64,
    /// Every event below this sequence number is in the log, in batches up to `ticket`.
    pub next_seq: u64,
}

impl Published {
    /// Whether a blocking SendMessage can answer now.
    pub fn settled(&self) -> bool {
        self.reply.is_some() || self.state.is_terminal() || self.state.is_interrupted()
    }
}

/// A change the handler or the runtime asks for.
#[derive(Debug)]
pub(crate) enum Change {
    Status(TaskState, Option<Message>),
    Artifact {
        artifact: Artifact,
        append: bool,
        last_chunk: bool,
    },
    /// A follow-up message from the client: appended to history, the task goes back to working.
    UserMessage(Message),
    /// A retry after a crash: counted, the task goes (back) to working.
    Resume,
    /// The agent answers with a bare Message and no task.
    Reply(Message),
}

/// Why a change was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Refused {
    Terminal(TaskState),
    Duplicate(String),
    NotAllowed(&'static str),
    Storage(String),
}

impl From<StoreError> for Refused {
    fn from(e: StoreError) -> Self {
        Self::Storage(e.to_string())
    }
}

pub(crate) struct TaskCore {
    pub id: String,
    pub context_id: String,
    log: Log,
    record: Mutex<TaskRecord>,
    published: watch::Sender<Published>,
    /// Set when a write failed after the change was made in memory: the task then refuses
    /// further changes, and the next start rebuilds it from the log.
    out_of_step: AtomicBool,
    /// Ids of the task's webhooks: every event gets an outbox entry for each. Changed and read
    /// only while `record` is locked, so a config applies from exactly one event on.
    push: std::sync::Mutex<Vec<String>>,
}

impl std::fmt::Debug for TaskCore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TaskCore")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl TaskCore {
    /// Wraps a record that is already in the log (written with `ticket`), whose webhooks are
    /// `push` (config ids).
    pub fn new(log: Log, record: TaskRecord, ticket: u64, push: Vec<String>) -> Arc<Self> {
        let published = Published {
            state: record.task.status.state,
            reply: record.reply.clone().map(Arc::new),
            ticket,
            next_seq: record.next_seq,
        };
        Arc::new(Self {
            id: record.task.id.clone(),
            context_id: record.task.context_id.clone(),
            log,
            record: Mutex::new(record),
            published: watch::Sender::new(published),
            out_of_step: AtomicBool::new(false),
            push: std::sync::Mutex::new(push),
        })
    }

    /// Wraps a task read from the log, with its webhooks.
    pub fn load(log: Log, record: TaskRecord) -> Result<Arc<Self>, StoreError> {
        let push = log
            .push_configs(&record.task.id)?
            .into_iter()
            .map(|c| c.id)
            .collect();
        Ok(Self::new(log, record, 0, push))
    }

    fn push_ids(&self) -> Vec<String> {
        self.push.lock().map(|p| p.clone()).unwrap_or_default()
    }

    /// Stores a webhook of this task (replacing one with the same id): every event from the next
    /// one on is delivered to it. Returns the write's ticket.
    pub async fn put_push_config(&self, cfg: &TaskPushNotificationConfig) -> Result<u64, Refused> {
        let _rec = self.record.lock().await;
        let ticket = self.commit_ticket(Commit::put_push_config(cfg)).await?;
        if let Ok(mut push) = self.push.lock()
            && !push.contains(&cfg.id)
        {
            push.push(cfg.id.clone());
        }
        Ok(ticket)
    }

    /// Deletes a webhook of this task and its pending deliveries. Returns the write's ticket.
    pub async fn delete_push_config(&self, id: &str) -> Result<u64, Refused> {
        let _rec = self.record.lock().await;
        let ticket = self
            .commit_ticket(Commit::delete_push_config(&self.log, &self.id, id)?)
            .await?;
        if let Ok(mut push) = self.push.lock() {
            push.retain(|p| p != id);
        }
        Ok(ticket)
    }

    async fn commit_ticket(&self, commit: Commit) -> Result<u64, Refused> {
        match self.log.commit(commit).await? {
            Applied::Done(t) => Ok(t),
            Applied::Duplicate(other) => Err(Refused::Duplicate(other)),
        }
    }

    pub fn watch(&self) -> watch::Receiver<Published> {
        self.published.subscribe()
    }

    pub fn latest(&self) -> Published {
        self.published.borrow().clone()
    }

    /// The current record (a copy).
    pub async fn record(&self) -> TaskRecord {
        self.record.lock().await.clone()
    }

    /// The task and what was published with it, read together.
    pub async fn snapshot(&self) -> (Task, Published) {
        let rec = self.record.lock().await;
        (rec.task.clone(), self.latest())
    }

    /// Persists a change, then publishes it. With `claim`, the change applies only if no other
    /// message already claimed `(owner, messageId)`.
    pub async fn apply(&self, change: Change, claim: Option<&str>) -> Result<u64, Refused> {
        self.apply_all(vec![change], claim).await
    }

    /// Persists several changes as one atomic write (one batch entry, consecutive sequence
    /// numbers), then publishes the result.
    pub async fn apply_all(
        &self,
        changes: Vec<Change>,
        claim: Option<&str>,
    ) -> Result<u64, Refused> {
        let mut rec = self.record.lock().await;
        if self.out_of_step.load(Ordering::Acquire) {
            return Err(Refused::Storage(
                "an earlier write of this task failed; a restart recovers it".into(),
            ));
        }
        check(&rec, &changes)?;
        // The change is made in place (a task can hold megabytes of artifacts: no copy per
        // event). A commit carrying an idempotency claim may be refused, so it keeps a copy to
        // go back to; any other failed commit leaves the task out of step (see `out_of_step`).
        let before = Before::of(&rec);
        let backup = claim.is_some().then(|| rec.clone());
        let now = Some(Timestamp::now());
        let (task_id, context_id) = (self.id.clone(), self.context_id.clone());
        let status_event = |status: TaskStatus| {
            StreamResponse::StatusUpdate(TaskStatusUpdateEvent {
                task_id: task_id.clone(),
                context_id: context_id.clone(),
                status,
                metadata: None,
            })
        };
        // A turn's start rewrites the snapshot (the client's message is in no event); otherwise
        // events only append, and the snapshot is refreshed once enough of them piled up to
        // fold on every read.
        let mut snapshot = false;
        let first_seq = rec.next_seq;
        let mut events = Vec::with_capacity(changes.len());
        for change in changes {
            let event = match change {
                Change::Status(new_state, message) => {
                    let message = message.map(|m| self.agent_message(m));
                    status_event(TaskStatus {
                        state: new_state,
                        message,
                        timestamp: now,
                    })
                }
                Change::Artifact {
                    artifact,
                    append,
                    last_chunk,
                } => StreamResponse::ArtifactUpdate(TaskArtifactUpdateEvent {
                    task_id: task_id.clone(),
                    context_id: context_id.clone(),
                    artifact,
                    append,
                    last_chunk,
                    metadata: None,
                }),
                Change::UserMessage(mut message) => {
                    message.task_id = task_id.clone();
                    message.context_id = context_id.clone();
                    rec.task.history.push(message);
                    rec.attempts = 1;
                    snapshot = true;
                    status_event(TaskStatus {
                        state: TaskState::Working,
                        message: None,
                        timestamp: now,
                    })
                }
                Change::Resume => {
                    rec.attempts += 1;
                    snapshot = true;
                    status_event(TaskStatus {
                        state: TaskState::Working,
                        message: None,
                        timestamp: now,
                    })
                }
                Change::Reply(message) => {
                    let message = self.agent_message(message);
                    rec.reply = Some(message.clone());
                    rec.task.status = TaskStatus {
                        state: TaskState::Completed,
                        message: Some(message.clone()),
                        timestamp: now,
                    };
                    snapshot = true;
                    StreamResponse::Message(message)
                }
            };
            // `check` ruled out every failure of this fold.
            let _ = rec.task.apply_event(&event);
            events.push((rec.next_seq, serde_json::to_vec(&event).unwrap_or_default()));
            rec.next_seq += 1;
        }
        if snapshot || rec.next_seq - rec.snapshot_seq >= SNAPSHOT_EVERY {
            snapshot = true;
            rec.snapshot_seq = rec.next_seq;
        }
        let mut commit = Commit::task(before, &rec, events, snapshot).outbox(
            &self.id,
            &self.push_ids(),
            first_seq..rec.next_seq,
            now_ms(),
        );
        // Retention: with a fresh snapshot, the oldest events past the per-task limit go.
        let keep = self.log.max_events();
        if snapshot
            && rec.next_seq > keep + 1
            && let Err(e) = commit.compact_events(&self.log, &self.id, rec.next_seq - keep)
        {
            return Err(self.undo(backup, &mut rec, e));
        }
        if let Some(owner) = claim
            && let Some(m) = rec.task.history.last()
        {
            commit = commit.claiming(&rec.agent, owner, &m.message_id, &rec.task.id);
        }
        let ticket = match self.log.commit(commit).await {
            Ok(Applied::Done(t)) => t,
            Ok(Applied::Duplicate(other)) => {
                if let Some(b) = backup {
                    *rec = b;
                }
                return Err(Refused::Duplicate(other));
            }
            Err(e) => return Err(self.undo(backup, &mut rec, e)),
        };
        self.published.send_replace(Published {
            state: rec.task.status.state,
            reply: rec.reply.clone().map(Arc::new),
            next_seq: rec.next_seq,
            ticket,
        });
        Ok(ticket)
    }

    /// A change made in place could not be written: go back to `backup`, or (without one) mark
    /// the task out of step with the log.
    fn undo(&self, backup: Option<TaskRecord>, rec: &mut TaskRecord, e: StoreError) -> Refused {
        match backup {
            Some(b) => *rec = b,
            None => self.out_of_step.store(true, Ordering::Release),
        }
        e.into()
    }

    /// Agent messages carry the task's ids and the agent role.
    fn agent_message(&self, mut m: Message) -> Message {
        m.role = Role::Agent;
        m.task_id = self.id.clone();
        m.context_id = self.context_id.clone();
        if m.message_id.is_empty() {
            m.message_id = crate::ids::random();
        }
        m
    }
}

/// Refuses what cannot apply, before anything changes: any change after a final state, a
/// bare-Message reply once the task has events, an append to an artifact that does not exist.
fn check(rec: &TaskRecord, changes: &[Change]) -> Result<(), Refused> {
    let mut state = rec.task.status.state;
    let mut artifacts: HashSet<&str> = rec
        .task
        .artifacts
        .iter()
        .map(|a| a.artifact_id.as_str())
        .collect();
    for change in changes {
        if state.is_terminal() {
            return Err(Refused::Terminal(state));
        }
        match change {
            Change::Status(s, _) => state = *s,
            Change::Artifact {
                artifact,
                append: true,
                ..
            } if !artifacts.contains(artifact.artifact_id.as_str()) => {
                return Err(Refused::NotAllowed(
                    "append to an artifact that does not exist",
                ));
            }
            Change::Artifact { artifact, .. } => {
                artifacts.insert(artifact.artifact_id.as_str());
            }
            Change::UserMessage(_) | Change::Resume => state = TaskState::Working,
            Change::Reply(_) if state != TaskState::Submitted || rec.next_seq > 2 => {
                return Err(Refused::NotAllowed(
                    "a bare Message reply is only allowed before any task event",
                ));
            }
            Change::Reply(_) => state = TaskState::Completed,
        }
    }
    Ok(())
}

/// A new task's first record and its first event (the Task itself).
/// With `push`, the task is created with that webhook (its id and task id already set), which
/// gets every event from the first one. With `idempotent`, the commit claims the message id.
pub(crate) fn new_task(
    id: String,
    context_id: String,
    agent: &str,
    owner: &str,
    mut message: Message,
    push: Option<&TaskPushNotificationConfig>,
    idempotent: bool,
) -> (TaskRecord, Commit) {
    message.task_id = id.clone();
    message.context_id = context_id.clone();
    let message_id = message.message_id.clone();
    let task = Task {
        id: id.clone(),
        context_id,
        status: TaskStatus {
            state: TaskState::Submitted,
            message: None,
            timestamp: Some(Timestamp::now()),
        },
        artifacts: Vec::new(),
        history: vec![message],
        metadata: None,
    };
    let record = TaskRecord {
        task,
        agent: agent.to_owned(),
        owner: owner.to_owned(),
        next_seq: 2,
        attempts: 1,
        reply: None,
        snapshot_seq: 1,
    };
    // `{"task": …}`, the StreamResponse form, written without copying the task.
    let mut first = br#"{"task":"#.to_vec();
    let _ = serde_json::to_writer(&mut first, &record.task);
    first.push(b'}');
    let mut commit = Commit::task(Before::New, &record, vec![(1, first)], true);
    if idempotent {
        commit = commit.claiming(agent, owner, &message_id, &id);
    }
    if let Some(cfg) = push {
        let put = Commit::put_push_config(cfg);
        commit.ops.extend(put.ops);
        commit = commit.outbox(&id, std::slice::from_ref(&cfg.id), 1..2, now_ms());
    }
    (record, commit)
}

#[cfg(test)]
mod tests;
