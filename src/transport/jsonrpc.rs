//! The JSON-RPC binding: one POST per call, methods named as in A2A 1.0.

use serde_json::Value;

use crate::Runtime;
use crate::protocol::{
    A2aError, CancelTaskRequest, ErrorKind, GetTaskRequest, ListTaskPushNotificationConfigsRequest,
    ListTasksRequest, SendMessageRequest, SubscribeToTaskRequest, TaskPushNotificationConfig,
    TaskPushNotificationConfigRequest, jsonrpc, negotiate,
};
use crate::runtime::TaskStream;

/// The outcome of one call: the response body (or, for the streaming methods, the stream to send
/// as server-sent events), and the error if it failed (for the HTTP status).
pub(crate) struct Reply {
    pub body: Vec<u8>,
    pub error: Option<ErrorKind>,
    pub stream: Option<(Value, TaskStream)>,
}

/// What a call carries besides its body.
pub(crate) struct Call<'a> {
    pub agent: &'a str,
    pub caller: &'a str,
    pub version: Option<&'a str>,
    /// The SSE `Last-Event-ID` header: SubscribeToTask resumes after it.
    pub last_event_id: Option<u64>,
}

enum Answer {
    Body(Vec<u8>),
    Stream(TaskStream),
}

impl Reply {
    fn err(id: &Value, e: &A2aError) -> Self {
        Self {
            body: jsonrpc::error(id, e),
            error: Some(e.kind),
            stream: None,
        }
    }
}

/// Handles a JSON-RPC request body addressed to `agent`.
pub(crate) async fn call(runtime: &Runtime, call: Call<'_>, body: &[u8]) -> Reply {
    let req = match jsonrpc::parse_request(body) {
        Ok(r) => r,
        Err((id, e)) => return Reply::err(&id, &e),
    };
    let id = req.id;
    if let Err(e) = negotiate(call.version) {
        return Reply::err(&id, &e);
    }
    match dispatch(runtime, &call, &id, req.method, req.params).await {
        Ok(Answer::Body(body)) => Reply {
            body,
            error: None,
            stream: None,
        },
        Ok(Answer::Stream(stream)) => Reply {
            body: Vec::new(),
            error: None,
            stream: Some((id, stream)),
        },
        Err(e) => Reply::err(&id, &e),
    }
}

fn ok<T: serde::Serialize>(id: &Value, result: &T) -> Result<Answer, A2aError> {
    Ok(Answer::Body(jsonrpc::success(id, result)))
}

async fn dispatch(
    runtime: &Runtime,
    call: &Call<'_>,
    id: &Value,
    method: &str,
    params: Option<&serde_json::value::RawValue>,
) -> Result<Answer, A2aError> {
    let (agent, caller) = (call.agent, call.caller);
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
        "SendStreamingMessage" => {
            let p: SendMessageRequest = jsonrpc::parse_params(params)?;
            Ok(Answer::Stream(
                runtime.send_streaming(agent, caller, p).await?,
            ))
        }
        "SubscribeToTask" => {
            let p: SubscribeToTaskRequest = jsonrpc::parse_params(params)?;
            Ok(Answer::Stream(
                runtime
                    .subscribe(agent, caller, p, call.last_event_id)
                    .await?,
            ))
        }
        "CreateTaskPushNotificationConfig" => {
            let p: TaskPushNotificationConfig = jsonrpc::parse_params(params)?;
            ok(id, &runtime.create_push_config(agent, caller, p).await?)
        }
        "GetTaskPushNotificationConfig" => {
            let p: TaskPushNotificationConfigRequest = jsonrpc::parse_params(params)?;
            ok(id, &runtime.get_push_config(agent, caller, p).await?)
        }
        "ListTaskPushNotificationConfigs" => {
            let p: ListTaskPushNotificationConfigsRequest = jsonrpc::parse_params(params)?;
            ok(id, &runtime.list_push_configs(agent, caller, p).await?)
        }
        "DeleteTaskPushNotificationConfig" => {
            let p: TaskPushNotificationConfigRequest = jsonrpc::parse_params(params)?;
            runtime.delete_push_config(agent, caller, p).await?;
            ok(id, &())
        }
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
