//! The A2A error model (spec digest §5): JSON-RPC codes, `google.rpc.ErrorInfo` reasons, and the
//! HTTP status each binding uses.

use std::collections::BTreeMap;
use std::fmt;

use serde_json::{Value, json};

/// The domain of every A2A `ErrorInfo`.
pub const ERROR_DOMAIN: &str = "a2a-protocol.org";

/// Which error it is: each kind has a fixed JSON-RPC code and `ErrorInfo` reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    ParseError,
    InvalidRequest,
    MethodNotFound,
    InvalidParams,
    Internal,
    TaskNotFound,
    TaskNotCancelable,
    PushNotificationNotSupported,
    UnsupportedOperation,
    ContentTypeNotSupported,
    InvalidAgentResponse,
    ExtendedAgentCardNotConfigured,
    ExtensionSupportRequired,
    VersionNotSupported,
    /// The agent's mailbox stayed full past the admission deadline (not an A2A code: we use
    /// -32000, the start of the JSON-RPC implementation-defined server-error range, with HTTP 429).
    Overloaded,
}

impl ErrorKind {
    /// Every kind.
    pub const ALL: [Self; 15] = [
        Self::ParseError,
        Self::InvalidRequest,
        Self::MethodNotFound,
        Self::InvalidParams,
        Self::Internal,
        Self::TaskNotFound,
        Self::TaskNotCancelable,
        Self::PushNotificationNotSupported,
        Self::UnsupportedOperation,
        Self::ContentTypeNotSupported,
        Self::InvalidAgentResponse,
        Self::ExtendedAgentCardNotConfigured,
        Self::ExtensionSupportRequired,
        Self::VersionNotSupported,
        Self::Overloaded,
    ];

    /// The kind a JSON-RPC code stands for (for answers that carry no `ErrorInfo`, as 0.3's).
    pub fn from_code(code: i64) -> Option<Self> {
        Self::ALL.into_iter().find(|k| i64::from(k.code()) == code)
    }

    /// The JSON-RPC error code.
    pub fn code(self) -> i32 {
        match self {
            Self::ParseError => -32700,
            Self::InvalidRequest => -32600,
            Self::MethodNotFound => -32601,
            Self::InvalidParams => -32602,
            Self::Internal => -32603,
            Self::TaskNotFound => -32001,
            Self::TaskNotCancelable => -32002,
            Self::PushNotificationNotSupported => -32003,
            Self::UnsupportedOperation => -32004,
            Self::ContentTypeNotSupported => -32005,
            Self::InvalidAgentResponse => -32006,
            Self::ExtendedAgentCardNotConfigured => -32007,
            Self::ExtensionSupportRequired => -32008,
            Self::VersionNotSupported => -32009,
            Self::Overloaded => -32000,
        }
    }

    /// The `google.rpc.ErrorInfo` reason.
    pub fn reason(self) -> &'static str {
        match self {
            Self::ParseError => "PARSE_ERROR",
            Self::InvalidRequest => "INVALID_REQUEST",
            Self::MethodNotFound => "METHOD_NOT_FOUND",
            Self::InvalidParams => "INVALID_PARAMS",
            Self::Internal => "INTERNAL_ERROR",
            Self::TaskNotFound => "TASK_NOT_FOUND",
            Self::TaskNotCancelable => "TASK_NOT_CANCELABLE",
            Self::PushNotificationNotSupported => "PUSH_NOTIFICATION_NOT_SUPPORTED",
            Self::UnsupportedOperation => "UNSUPPORTED_OPERATION",
            Self::ContentTypeNotSupported => "CONTENT_TYPE_NOT_SUPPORTED",
            Self::InvalidAgentResponse => "INVALID_AGENT_RESPONSE",
            Self::ExtendedAgentCardNotConfigured => "EXTENDED_AGENT_CARD_NOT_CONFIGURED",
            Self::ExtensionSupportRequired => "EXTENSION_SUPPORT_REQUIRED",
            Self::VersionNotSupported => "VERSION_NOT_SUPPORTED",
            Self::Overloaded => "RESOURCE_EXHAUSTED",
        }
    }

    /// The HTTP status of the REST binding (the conformance suite's table: spec 1.0.0, which
    /// the suite checks, where 1.0.1 moved most to 400; clients decide by `ErrorInfo.reason`).
    pub fn http_status(self) -> u16 {
        match self {
            Self::TaskNotFound | Self::MethodNotFound => 404,
            Self::TaskNotCancelable => 409,
            Self::ContentTypeNotSupported => 415,
            Self::InvalidAgentResponse => 502,
            Self::Internal => 500,
            Self::Overloaded => 429,
            Self::ParseError
            | Self::InvalidRequest
            | Self::InvalidParams
            | Self::PushNotificationNotSupported
            | Self::UnsupportedOperation
            | Self::ExtendedAgentCardNotConfigured
            | Self::ExtensionSupportRequired
            | Self::VersionNotSupported => 400,
        }
    }

    /// The gRPC status code (number and name) of the gRPC binding, and of `status` in REST
    /// error bodies (the conformance suite's table).
    pub fn grpc_status(self) -> (i32, &'static str) {
        match self {
            Self::TaskNotFound => (5, "NOT_FOUND"),
            Self::TaskNotCancelable
            | Self::ExtendedAgentCardNotConfigured
            | Self::ExtensionSupportRequired => (9, "FAILED_PRECONDITION"),
            Self::PushNotificationNotSupported
            | Self::UnsupportedOperation
            | Self::VersionNotSupported
            | Self::MethodNotFound => (12, "UNIMPLEMENTED"),
            Self::ContentTypeNotSupported
            | Self::ParseError
            | Self::InvalidRequest
            | Self::InvalidParams => (3, "INVALID_ARGUMENT"),
            Self::InvalidAgentResponse | Self::Internal => (13, "INTERNAL"),
            Self::Overloaded => (8, "RESOURCE_EXHAUSTED"),
        }
    }

    /// The message used when no better one is given.
    pub fn default_message(self) -> &'static str {
        match self {
            Self::ParseError => "Invalid JSON payload",
            Self::InvalidRequest => "Request payload validation error",
            Self::MethodNotFound => "Method not found",
            Self::InvalidParams => "Invalid parameters",
            Self::Internal => "Internal error",
            Self::TaskNotFound => "Task not found",
            Self::TaskNotCancelable => "Task cannot be canceled",
            Self::PushNotificationNotSupported => "Push Notification is not supported",
            Self::UnsupportedOperation => "This operation is not supported",
            Self::ContentTypeNotSupported => "Incompatible content types",
            Self::InvalidAgentResponse => "Invalid agent response",
            Self::ExtendedAgentCardNotConfigured => "Authenticated Extended Card is not configured",
            Self::ExtensionSupportRequired => "Extension support required",
            Self::VersionNotSupported => "Version not supported",
            Self::Overloaded => "Agent is overloaded; retry later",
        }
    }
}

/// An error as it goes on the wire: a kind, a message for humans, `ErrorInfo` metadata and, for
/// invalid parameters, the field at fault (sent as a `google.rpc.BadRequest` field violation).
#[derive(Debug, Clone, PartialEq)]
pub struct A2aError {
    pub kind: ErrorKind,
    pub message: String,
    pub metadata: BTreeMap<String, String>,
    pub field: Option<String>,
}

impl A2aError {
    /// An error with the kind's default message.
    pub fn new(kind: ErrorKind) -> Self {
        Self {
            kind,
            message: kind.default_message().to_owned(),
            metadata: BTreeMap::new(),
            field: None,
        }
    }

    /// An error with a specific message.
    pub fn with_message(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            ..Self::new(kind)
        }
    }

    /// InvalidParams naming the field at fault.
    pub fn invalid_field(field: impl Into<String>, description: impl Into<String>) -> Self {
        let field = field.into();
        let description = description.into();
        Self {
            message: format!("Invalid parameters: {field}: {description}"),
            field: Some(field),
            ..Self::new(ErrorKind::InvalidParams)
        }
    }

    /// TaskNotFound for a task id.
    pub fn task_not_found(task_id: &str) -> Self {
        Self::with_message(
            ErrorKind::TaskNotFound,
            format!("Task not found: {task_id}"),
        )
        .meta("taskId", task_id)
    }

    /// UnsupportedOperation: the task is final and accepts no more messages.
    pub fn task_closed(task_id: &str, state: crate::protocol::TaskState) -> Self {
        Self::with_message(
            ErrorKind::UnsupportedOperation,
            format!(
                "Task {task_id} is in a final state ({}) and accepts no more messages",
                state.as_str()
            ),
        )
        .meta("taskId", task_id)
    }

    /// TaskNotCancelable: the task is already final.
    pub fn not_cancelable(task_id: &str, state: crate::protocol::TaskState) -> Self {
        Self::with_message(
            ErrorKind::TaskNotCancelable,
            format!(
                "Task {task_id} is in a final state ({}) and cannot be canceled",
                state.as_str()
            ),
        )
        .meta("taskId", task_id)
    }

    /// Adds one `ErrorInfo.metadata` entry.
    pub fn meta(mut self, key: &str, value: impl Into<String>) -> Self {
        self.metadata.insert(key.to_owned(), value.into());
        self
    }

    /// The typed details: an `ErrorInfo`, then a `BadRequest` when a field is at fault.
    pub fn details(&self) -> Value {
        let mut details = vec![json!({
            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
            "reason": self.kind.reason(),
            "domain": ERROR_DOMAIN,
            "metadata": self.metadata,
        })];
        if let Some(field) = &self.field {
            details.push(json!({
                "@type": "type.googleapis.com/google.rpc.BadRequest",
                "fieldViolations": [{"field": field, "description": self.message}],
            }));
        }
        Value::Array(details)
    }

    /// The REST error body: `google.rpc.Status` as JSON, under `error`.
    pub fn to_rest(&self) -> Value {
        json!({"error": {
            "code": self.kind.http_status(),
            "status": self.kind.grpc_status().1,
            "message": self.message,
            "details": self.details(),
        }})
    }

    /// The JSON-RPC `error` member.
    pub fn to_jsonrpc(&self) -> Value {
        json!({"code": self.kind.code(), "message": self.message, "data": self.details()})
    }
}

impl fmt::Display for A2aError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} ({}): {}",
            self.kind.reason(),
            self.kind.code(),
            self.message
        )
    }
}

impl std::error::Error for A2aError {}
