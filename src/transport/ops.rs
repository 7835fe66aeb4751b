//! The operations every binding calls: a 1.0 method name and its params (ProtoJSON) in, the
//! result's ProtoJSON or a stream out. JSON-RPC passes its method and params straight through;
//! REST builds the params from path, query and body. Nothing here knows a wire envelope.

use serde::Serialize;
use serde_json::value::RawValue;

use crate::Runtime;
use crate::protocol::{
    A2aError, CancelTaskRequest, ErrorKind, GetTaskRequest, ListTaskPushNotificationConfigsRequest,
    ListTasksRequest, Operation, SendMessageRequest, SubscribeToTaskRequest,
    TaskPushNotificationConfig, TaskPushNotificationConfigRequest, jsonrpc,
};
use crate::runtime::TaskStream;

/// Who calls what, besides the params.
pub(crate) struct Call<'a> {
    pub agent: &'a str,
    pub caller: &'a str,
    /// The server's bounds: a stream takes an open-stream slot before anything starts.
    pub limits: &'a super::limits::Limits,
    /// The binding, as metrics name it (`http`, `grpc`).
    pub binding: &'static str,
    /// The SSE `Last-Event-ID` header: SubscribeToTask resumes after it.
    pub last_event_id: Option<u64>,
    /// Extensions the client activated (`A2A-Extensions`).
    pub extensions: &'a [String],
    /// Where the agent's card says it is served (the extended card names the same URLs).
    /// Built only when an operation needs it (GetExtendedAgentCard): it costs a few
    /// allocations, on every call otherwise.
    pub card: &'a (dyn Fn() -> super::card::CardUrls + Sync),
}

/// What an operation answers.
pub(crate) enum Answer {
    /// The result message as ProtoJSON.
    Json(Vec<u8>),
    /// `google.protobuf.Empty` (DeleteTaskPushNotificationConfig).
    Empty,
    /// Server-sent events.
    /// Server-sent events (boxed: a stream is far larger than a JSON body).
    Stream(Box<TaskStream>),
}

fn json<T: Serialize>(result: &T) -> Result<Answer, A2aError> {
    serde_json::to_vec(result)
        .map(Answer::Json)
        .map_err(|e| A2aError::with_message(ErrorKind::Internal, e.to_string()))
}

/// Runs `op` with `params`.
pub(crate) async fn invoke(
    runtime: &Runtime,
    call: &Call<'_>,
    op: Operation,
    params: Option<&RawValue>,
) -> Result<Answer, A2aError> {
    let (agent, caller) = (call.agent, call.caller);
    match op {
        Operation::SendMessage => {
            let p: SendMessageRequest = jsonrpc::parse_params(params)?;
            runtime.admit(agent, call.extensions, &p)?;
            json(&runtime.send(agent, caller, p).await?)
        }
        Operation::GetTask => {
            let p: GetTaskRequest = jsonrpc::parse_params(params)?;
            json(&runtime.get_task(agent, caller, p).await?)
        }
        Operation::ListTasks => {
            let p: ListTasksRequest = jsonrpc::parse_params(params)?;
            json(&runtime.list_tasks(agent, caller, p).await?)
        }
        Operation::CancelTask => {
            let p: CancelTaskRequest = jsonrpc::parse_params(params)?;
            json(&runtime.cancel_task(agent, caller, p).await?)
        }
        Operation::SendStreamingMessage => {
            let p: SendMessageRequest = jsonrpc::parse_params(params)?;
            runtime.admit(agent, call.extensions, &p)?;
            let slot = call.limits.stream(call.binding)?;
            let stream = runtime.send_streaming(agent, caller, p).await?;
            Ok(Answer::Stream(Box::new(stream.holding(slot))))
        }
        Operation::SubscribeToTask => {
            let p: SubscribeToTaskRequest = jsonrpc::parse_params(params)?;
            let slot = call.limits.stream(call.binding)?;
            let stream = runtime
                .subscribe(agent, caller, p, call.last_event_id)
                .await?;
            Ok(Answer::Stream(Box::new(stream.holding(slot))))
        }
        Operation::CreateTaskPushNotificationConfig => {
            let p: TaskPushNotificationConfig = jsonrpc::parse_params(params)?;
            json(&runtime.create_push_config(agent, caller, p).await?)
        }
        Operation::GetTaskPushNotificationConfig => {
            let p: TaskPushNotificationConfigRequest = jsonrpc::parse_params(params)?;
            json(&runtime.get_push_config(agent, caller, p).await?)
        }
        Operation::ListTaskPushNotificationConfigs => {
            let p: ListTaskPushNotificationConfigsRequest = jsonrpc::parse_params(params)?;
            json(&runtime.list_push_configs(agent, caller, p).await?)
        }
        Operation::DeleteTaskPushNotificationConfig => {
            let p: TaskPushNotificationConfigRequest = jsonrpc::parse_params(params)?;
            runtime.delete_push_config(agent, caller, p).await?;
            Ok(Answer::Empty)
        }
        Operation::GetExtendedAgentCard => {
            let spec = runtime.agent(agent).ok_or_else(|| {
                A2aError::with_message(ErrorKind::InvalidRequest, format!("no agent {agent:?}"))
            })?;
            json(&super::card::extended_card(&spec, &(call.card)())?)
        }
    }
}
