//! Tasks, messages, parts, artifacts and stream events: the ProtoJSON shapes of spec digest §3.
//!
//! Output follows ProtoJSON presence rules (plain fields are omitted when default); input accepts
//! what ProtoJSON parsers accept (snake_case names, `null` as unset, enum numbers).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::de::{null_default, proto_enum};
use super::timestamp::Timestamp;

/// A `google.protobuf.Struct`: a JSON object.
pub type Metadata = Map<String, Value>;

fn is_false(b: &bool) -> bool {
    !*b
}

proto_enum! {
    /// The lifecycle state of a task (spec digest §3.4).
    TaskState {
        Unspecified = 0 => "TASK_STATE_UNSPECIFIED",
        Submitted = 1 => "TASK_STATE_SUBMITTED",
        Working = 2 => "TASK_STATE_WORKING",
        Completed = 3 => "TASK_STATE_COMPLETED",
        Failed = 4 => "TASK_STATE_FAILED",
        Canceled = 5 => "TASK_STATE_CANCELED",
        InputRequired = 6 => "TASK_STATE_INPUT_REQUIRED",
        Rejected = 7 => "TASK_STATE_REJECTED",
        AuthRequired = 8 => "TASK_STATE_AUTH_REQUIRED",
    }
}

impl TaskState {
    /// Completed, failed, canceled or rejected: nothing can change the task any more.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            Self::Completed | Self::Failed | Self::Canceled | Self::Rejected
        )
    }

    /// Input-required or auth-required: the task waits for the client.
    pub fn is_interrupted(self) -> bool {
        matches!(self, Self::InputRequired | Self::AuthRequired)
    }
}

proto_enum! {
    /// Who wrote a message.
    Role {
        Unspecified = 0 => "ROLE_UNSPECIFIED",
        User = 1 => "ROLE_USER",
        Agent = 2 => "ROLE_AGENT",
    }
}

/// One piece of content: exactly one of `text`, `raw`, `url`, `data` (checked by
/// [`Part::content_count`] at the request boundary).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Part {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Inline bytes, base64 on the wire (kept in its wire form).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Metadata>,
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub filename: String,
    #[serde(
        default,
        alias = "media_type",
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub media_type: String,
}

impl Part {
    /// A text part.
    pub fn text(t: impl Into<String>) -> Self {
        Self {
            text: Some(t.into()),
            ..Self::default()
        }
    }

    /// A structured-data part.
    pub fn data(v: Value) -> Self {
        Self {
            data: Some(v),
            ..Self::default()
        }
    }

    /// A file reference part.
    pub fn url(u: impl Into<String>) -> Self {
        Self {
            url: Some(u.into()),
            ..Self::default()
        }
    }

    /// An inline-bytes part (encoded as standard base64).
    pub fn raw(bytes: &[u8]) -> Self {
        use base64::Engine;
        Self {
            raw: Some(base64::engine::general_purpose::STANDARD.encode(bytes)),
            ..Self::default()
        }
    }

    /// How many of the `content` oneof members are set (must be exactly one).
    pub fn content_count(&self) -> usize {
        usize::from(self.text.is_some())
            + usize::from(self.raw.is_some())
            + usize::from(self.url.is_some())
            + usize::from(self.data.is_some())
    }
}

/// One turn of a conversation.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Message {
    #[serde(default, alias = "message_id", deserialize_with = "null_default")]
    pub message_id: String,
    #[serde(
        default,
        alias = "context_id",
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub context_id: String,
    #[serde(
        default,
        alias = "task_id",
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub task_id: String,
    #[serde(default, deserialize_with = "null_default")]
    pub role: Role,
    #[serde(default, deserialize_with = "null_default")]
    pub parts: Vec<Part>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Metadata>,
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub extensions: Vec<String>,
    #[serde(
        default,
        alias = "reference_task_ids",
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub reference_task_ids: Vec<String>,
}

impl Message {
    /// A message from the agent with the given parts and a fresh id.
    pub fn agent(parts: Vec<Part>) -> Self {
        Self {
            message_id: crate::ids::random(),
            role: Role::Agent,
            parts,
            ..Self::default()
        }
    }

    /// A message from the user with one text part.
    pub fn user_text(message_id: impl Into<String>, text: impl Into<String>) -> Self {
        Self {
            message_id: message_id.into(),
            role: Role::User,
            parts: vec![Part::text(text)],
            ..Self::default()
        }
    }

    /// The text parts joined by newlines.
    pub fn text(&self) -> String {
        let texts: Vec<&str> = self
            .parts
            .iter()
            .filter_map(|p| p.text.as_deref())
            .collect();
        texts.join("\n")
    }
}

/// A task's state, with the message that explains it and when it was reached.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TaskStatus {
    #[serde(default, deserialize_with = "null_default")]
    pub state: TaskState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<Message>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<Timestamp>,
}

/// An output of a task.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Artifact {
    #[serde(default, alias = "artifact_id", deserialize_with = "null_default")]
    pub artifact_id: String,
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub name: String,
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub description: String,
    #[serde(default, deserialize_with = "null_default")]
    pub parts: Vec<Part>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Metadata>,
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub extensions: Vec<String>,
}

/// A unit of work and everything known about it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Task {
    #[serde(default, deserialize_with = "null_default")]
    pub id: String,
    #[serde(
        default,
        alias = "context_id",
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub context_id: String,
    #[serde(default, deserialize_with = "null_default")]
    pub status: TaskStatus,
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub artifacts: Vec<Artifact>,
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub history: Vec<Message>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Metadata>,
}

impl Task {
    /// Folds one event of this task into it: the single definition of what each event does to a
    /// task, used both when an event is produced and when a task is rebuilt from its log.
    ///
    /// # Errors
    ///
    /// Appending to an artifact that does not exist.
    pub fn apply_event(&mut self, event: &StreamResponse) -> Result<(), &'static str> {
        match event {
            StreamResponse::Task(t) => *self = t.clone(),
            StreamResponse::Message(_) => {}
            StreamResponse::StatusUpdate(u) => {
                if let Some(m) = &u.status.message {
                    self.history.push(m.clone());
                }
                self.status = u.status.clone();
            }
            StreamResponse::ArtifactUpdate(u) => {
                let existing = self
                    .artifacts
                    .iter_mut()
                    .find(|a| a.artifact_id == u.artifact.artifact_id);
                match (existing, u.append) {
                    (Some(a), true) => a.parts.extend(u.artifact.parts.iter().cloned()),
                    (None, true) => return Err("append to an artifact that does not exist"),
                    (Some(a), false) => *a = u.artifact.clone(),
                    (None, false) => self.artifacts.push(u.artifact.clone()),
                }
            }
        }
        Ok(())
    }

    /// Keeps only the `n` most recent history messages (spec digest §7.4); `None` keeps all.
    pub fn trim_history(&mut self, history_length: Option<i32>) {
        if let Some(n) = history_length {
            let keep = usize::try_from(n.max(0)).unwrap_or(0);
            let len = self.history.len();
            if len > keep {
                self.history.drain(..len - keep);
            }
        }
    }
}

/// A change of a task's status, as streamed and pushed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskStatusUpdateEvent {
    #[serde(default, alias = "task_id", deserialize_with = "null_default")]
    pub task_id: String,
    #[serde(default, alias = "context_id", deserialize_with = "null_default")]
    pub context_id: String,
    #[serde(default, deserialize_with = "null_default")]
    pub status: TaskStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Metadata>,
}

/// A new artifact or a chunk of one, as streamed and pushed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskArtifactUpdateEvent {
    #[serde(default, alias = "task_id", deserialize_with = "null_default")]
    pub task_id: String,
    #[serde(default, alias = "context_id", deserialize_with = "null_default")]
    pub context_id: String,
    #[serde(default, deserialize_with = "null_default")]
    pub artifact: Artifact,
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "is_false"
    )]
    pub append: bool,
    #[serde(
        default,
        alias = "last_chunk",
        deserialize_with = "null_default",
        skip_serializing_if = "is_false"
    )]
    pub last_chunk: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Metadata>,
}

/// One event of a stream, and the body of a push notification.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum StreamResponse {
    Task(Task),
    Message(Message),
    #[serde(alias = "status_update")]
    StatusUpdate(TaskStatusUpdateEvent),
    #[serde(alias = "artifact_update")]
    ArtifactUpdate(TaskArtifactUpdateEvent),
}
