//! The JSON-RPC binding: one POST per call, methods named as in A2A 1.0.

use serde_json::Value;

use crate::Runtime;
use crate::protocol::{
    A2aError, CancelTaskRequest, ErrorKind, GetTaskRequest, ListTasksRequest, SendMessageRequest,
    jsonrpc, negotiate,
};

/// The outcome of one call: the response body, and the error if it failed (for the HTTP status).
pub(crate) struct Reply {
    pub body: Vec<u8>,
    pub error: Option<ErrorKind>,
}

impl Reply {
    fn err(id: &Value, e: &A2aError) -> Self {
        Self {
            body: jsonrpc::error(id, e),
            error: Some(e.kind),
        }
    }
}

/// Handles a JSON-RPC request body addressed to `agent`.
pub(crate) async fn call(
    runtime: &Runtime,
    agent: &str,
    caller: &str,
    version: Option<&str>,
    body: &[u8],
) -> Reply {
    let req = match jsonrpc::parse_request(body) {
        Ok(r) => r,
        Err((id, e)) => return Reply::err(&id, &e),
    };
    let id = req.id;
    if let Err(e) = negotiate(version) {
        return Reply::err(&id, &e);
    }
    match dispatch(runtime, agent, caller, &id, req.method, req.params).await {
        Ok(body) => Reply { body, error: None },
        Err(e) => Reply::err(&id, &e),
    }
}

fn ok<T: serde::Serialize>(id: &Value, result: &T) -> Result<Vec<u8>, A2aError> {
    Ok(jsonrpc::success(id, result))
}

async fn dispatch(
    runtime: &Runtime,
    agent: &str,
    caller: &str,
    id: &Value,
    method: &str,
    params: Option<&serde_json::value::RawValue>,
) -> Result<Vec<u8>, A2aError> {
    match method {
        "SendMessage" => {
            let p: SendMessageRequest = jsonrpc::parse_params(params)?;
            ok(id, &runtime.send(agent, caller, p).await?)
        }
        "GetTask" => {
            let p: GetTaskRequest = jsonrpc::parse_params(params)?;
            ok(id, &runtime.get_task(agent, caller, p).await?)
        }
        "ListTasks" => {
            let p: ListTasksRequest = jsonrpc::parse_params(params)?;
            ok(id, &runtime.list_tasks(agent, caller, p).await?)
        }
        "CancelTask" => {
            let p: CancelTaskRequest = jsonrpc::parse_params(params)?;
            ok(id, &runtime.cancel_task(agent, caller, p).await?)
        }
        "SendStreamingMessage" | "SubscribeToTask" => Err(A2aError::with_message(
            ErrorKind::UnsupportedOperation,
            format!("{method}: this agent does not declare capabilities.streaming"),
        )),
        "CreateTaskPushNotificationConfig"
        | "GetTaskPushNotificationConfig"
        | "ListTaskPushNotificationConfigs"
        | "DeleteTaskPushNotificationConfig" => Err(A2aError::with_message(
            ErrorKind::PushNotificationNotSupported,
            format!("{method}: this agent does not declare capabilities.pushNotifications"),
        )),
        "GetExtendedAgentCard" => Err(A2aError::with_message(
            ErrorKind::UnsupportedOperation,
            "GetExtendedAgentCard: this agent does not declare capabilities.extendedAgentCard",
        )),
        other => Err(A2aError::with_message(
            ErrorKind::MethodNotFound,
            format!("Method not found: {other}"),
        )
        .meta("method", other)),
    }
}
