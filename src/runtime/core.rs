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

use std::sync::Arc;

use tokio::sync::{Mutex, watch};

use crate::protocol::{
    Artifact, Message, Role, StreamResponse, Task, TaskArtifactUpdateEvent, TaskState, TaskStatus,
    TaskStatusUpdateEvent, Timestamp,
};
use crate::store::{Applied, Commit, Log, StoreError, TaskRecord};

/// Events after which the snapshot is rewritten (reads fold at most this many).
const SNAPSHOT_EVERY: u64 = 8;

/// What the outside may know of a task: its latest applied state and the ticket that makes it
/// durable.
#[derive(Debug, Clone)]
pub(crate) struct Published {
    pub task: Arc<Task>,
    pub reply: Option<Arc<Message>>,
    pub ticket: u64,
    /// Every event below this sequence number is in the log, in batches up to `ticket`.
    pub next_seq: u64,
}

impl Published {
    /// Whether a blocking SendMessage can answer now.
    pub fn settled(&self) -> bool {
        self.reply.is_some()
            || self.task.status.state.is_terminal()
            || self.task.status.state.is_interrupted()
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
}

impl std::fmt::Debug for TaskCore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TaskCore")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl TaskCore {
    /// Wraps a record that is already in the log (written with `ticket`).
    pub fn new(log: Log, record: TaskRecord, ticket: u64) -> Arc<Self> {
        let published = Published {
            task: Arc::new(record.task.clone()),
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
        })
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
        let state = rec.task.status.state;
        if state.is_terminal() {
            return Err(Refused::Terminal(state));
        }
        let mut next = rec.clone();
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
        let mut events = Vec::with_capacity(changes.len());
        for change in changes {
            let state = next.task.status.state;
            if state.is_terminal() {
                return Err(Refused::Terminal(state));
            }
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
                    next.task.history.push(message);
                    next.attempts = 1;
                    snapshot = true;
                    status_event(TaskStatus {
                        state: TaskState::Working,
                        message: None,
                        timestamp: now,
                    })
                }
                Change::Resume => {
                    next.attempts += 1;
                    snapshot = true;
                    status_event(TaskStatus {
                        state: TaskState::Working,
                        message: None,
                        timestamp: now,
                    })
                }
                Change::Reply(message) => {
                    if state != TaskState::Submitted || next.next_seq > 2 {
                        return Err(Refused::NotAllowed(
                            "a bare Message reply is only allowed before any task event",
                        ));
                    }
                    let message = self.agent_message(message);
                    next.reply = Some(message.clone());
                    next.task.status = TaskStatus {
                        state: TaskState::Completed,
                        message: Some(message.clone()),
                        timestamp: now,
                    };
                    snapshot = true;
                    StreamResponse::Message(message)
                }
            };
            next.task.apply_event(&event).map_err(Refused::NotAllowed)?;
            events.push((
                next.next_seq,
                serde_json::to_vec(&event).unwrap_or_default(),
            ));
            next.next_seq += 1;
        }
        if snapshot || next.next_seq - next.snapshot_seq >= SNAPSHOT_EVERY {
            snapshot = true;
            next.snapshot_seq = next.next_seq;
        }
        let mut commit = Commit::task(Some(&rec), &next, events, snapshot);
        if let Some(owner) = claim
            && let Some(m) = next.task.history.last()
        {
            commit = commit.claiming(&next.agent, owner, &m.message_id, &next.task.id);
        }
        let ticket = match self.log.commit(commit).await? {
            Applied::Done(t) => t,
            Applied::Duplicate(other) => return Err(Refused::Duplicate(other)),
        };
        *rec = next;
        self.published.send_replace(Published {
            task: Arc::new(rec.task.clone()),
            reply: rec.reply.clone().map(Arc::new),
            next_seq: rec.next_seq,
            ticket,
        });
        Ok(ticket)
    }

    /// Agent messages carry the task's ids and the agent role.
    fn agent_message(&self, mut m: Message) -> Message {
        m.role = Role::Agent;
        m.task_id = self.id.clone();
        m.context_id = self.context_id.clone();
        if m.message_id.is_empty() {
            m.message_id = uuid::Uuid::new_v4().to_string();
        }
        m
    }
}

/// A new task's first record and its first event (the Task itself).
pub(crate) fn new_task(
    id: String,
    context_id: String,
    agent: &str,
    owner: &str,
    mut message: Message,
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
    let first = serde_json::to_vec(&StreamResponse::Task(record.task.clone())).unwrap_or_default();
    let commit = Commit::task(None, &record, vec![(1, first)], true).claiming(
        agent,
        owner,
        &message_id,
        &id,
    );
    (record, commit)
}
