//! Older clients: A2A 0.3 (and the 0.1/0.2 `tasks/send` family) over JSON-RPC, translated to and
//! from the 1.0 operations (spec digest §2.5, §3.6, §6).
//!
//! A request without `A2A-Version` (or with `0.x`) that names a 0.3 method is served here: its
//! params are rewritten into 1.0 ProtoJSON, run through the same [`ops::invoke`] as every other
//! binding, and the result (or each stream event) is rewritten into the 0.3 shape: `kind`
//! discriminators, lowercase states, `final` on status updates, `file` parts, the nested push
//! config. 1.0 method names with a 0.3 version still get VersionNotSupported, as the spec asks.

use serde_json::{Map, Value, json};

use super::ops::{self, Answer};
use crate::Runtime;
use crate::protocol::v03::*;
use crate::protocol::{A2aError, ErrorKind, Operation};

/// Whether `version` (the `A2A-Version` header) asks for a pre-1.0 protocol.
pub(crate) fn is_legacy(version: Option<&str>) -> bool {
    let v = version.map(str::trim).unwrap_or("");
    v.is_empty() || v.starts_with("0.")
}

/// A legacy answer: the 0.3 result, or a stream whose events [`event`] rewrites.
pub(crate) enum Legacy {
    Result(Value),
    Stream(Box<crate::runtime::TaskStream>),
}

/// Runs a legacy call.
pub(crate) async fn call(
    runtime: &Runtime,
    call: &ops::Call<'_>,
    method1: Operation,
    params: Option<&serde_json::value::RawValue>,
) -> Result<Legacy, A2aError> {
    let p: Value = match params {
        Some(raw) => serde_json::from_str(raw.get()).map_err(|e| {
            A2aError::with_message(ErrorKind::InvalidParams, format!("invalid params: {e}"))
        })?,
        None => Value::Object(Map::new()),
    };
    let p = p.as_object().cloned().unwrap_or_default();
    let params1 = params_to_v1(method1, &p)?;
    let raw = serde_json::value::to_raw_value(&params1)
        .map_err(|e| A2aError::with_message(ErrorKind::Internal, e.to_string()))?;
    let answer = ops::invoke(runtime, call, method1, Some(&raw)).await?;
    let result = match answer {
        Answer::Stream(s) => return Ok(Legacy::Stream(s)),
        Answer::Empty => Value::Null,
        Answer::Json(bytes) => serde_json::from_slice::<Value>(&bytes)
            .map_err(|e| A2aError::with_message(ErrorKind::Internal, e.to_string()))?,
    };
    Ok(Legacy::Result(result_to_v03(method1, &p, result)))
}

// ---------------------------------------------------------------------------------------------
// 0.3 over REST (`/v1/...`): the JSON of the 0.3 proto (`a2a.v1`), which differs from 0.3's
// JSON-RPC shapes: `content` for a message's parts, `file`/`data` sub-messages, the status
// message named `update` (JSON `message`), `TASK_STATE_CANCELLED`, push configs named
// `tasks/{id}/pushNotificationConfigs/{configId}`. Clients send either field-name style.

/// Reads a field by its JSON name or its proto name.
fn field<'a>(v: &'a Value, camel: &str, snake: &str) -> Option<&'a Value> {
    v.get(camel).or_else(|| v.get(snake))
}

/// The 1.0 params of a `/v1` REST call: the route's path params with the 0.3-proto body
/// translated.
pub(crate) fn rest_params(
    method1: Operation,
    path_params: &Map<String, Value>,
    body: &[u8],
) -> Result<Value, A2aError> {
    let body: Value = if body.iter().all(u8::is_ascii_whitespace) {
        Value::Object(Map::new())
    } else {
        serde_json::from_slice(body).map_err(|e| {
            A2aError::with_message(
                ErrorKind::ParseError,
                format!("the request body is not JSON: {e}"),
            )
        })?
    };
    let mut out = match method1 {
        Operation::SendMessage | Operation::SendStreamingMessage => {
            let m = field(&body, "message", "request").unwrap_or(&Value::Null);
            let mut out = json!({ "message": proto_message_to_v1(m) });
            if let Some(c) = body.get("configuration") {
                let mut cfg = Map::new();
                // proto3 JSON leaves out a false `blocking`: a configuration without it asks not
                // to block (no configuration at all blocks).
                let blocking = c.get("blocking").and_then(Value::as_bool).unwrap_or(false);
                cfg.insert("returnImmediately".into(), Value::Bool(!blocking));
                if let Some(h) = field(c, "historyLength", "history_length") {
                    cfg.insert("historyLength".into(), h.clone());
                }
                if let Some(m) = field(c, "acceptedOutputModes", "accepted_output_modes") {
                    cfg.insert("acceptedOutputModes".into(), m.clone());
                }
                if let Some(pn) = field(c, "pushNotification", "push_notification") {
                    cfg.insert("taskPushNotificationConfig".into(), push_to_v1(pn, ""));
                }
                out["configuration"] = Value::Object(cfg);
            }
            if let Some(m) = body.get("metadata") {
                out["metadata"] = m.clone();
            }
            out
        }
        Operation::CreateTaskPushNotificationConfig => {
            let cfg = body.get("config").unwrap_or(&body);
            let pnc =
                field(cfg, "pushNotificationConfig", "push_notification_config").unwrap_or(cfg);
            let mut out = push_to_v1(pnc, "");
            if let Some(id) =
                field(&body, "configId", "config_id").filter(|v| v.as_str() != Some(""))
            {
                out["id"] = id.clone();
            }
            out
        }
        _ => Value::Object(Map::new()),
    };
    if let Some(o) = out.as_object_mut() {
        o.extend(path_params.clone());
    }
    Ok(out)
}

fn proto_message_to_v1(m: &Value) -> Value {
    let mut out = Map::new();
    for (camel, snake) in [
        ("messageId", "message_id"),
        ("contextId", "context_id"),
        ("taskId", "task_id"),
    ] {
        if let Some(v) = field(m, camel, snake) {
            out.insert(camel.into(), v.clone());
        }
    }
    for k in ["role", "metadata", "extensions"] {
        if let Some(v) = m.get(k) {
            out.insert(k.into(), v.clone());
        }
    }
    let parts = m
        .get("content")
        .or_else(|| m.get("parts"))
        .and_then(Value::as_array)
        .map(|ps| ps.iter().map(proto_part_to_v1).collect())
        .unwrap_or_default();
    out.insert("parts".into(), Value::Array(parts));
    Value::Object(out)
}

fn proto_part_to_v1(p: &Value) -> Value {
    let mut out = Map::new();
    if let Some(t) = p.get("text") {
        out.insert("text".into(), t.clone());
    } else if let Some(f) = p.get("file") {
        if let Some(u) = field(f, "fileWithUri", "file_with_uri") {
            out.insert("url".into(), u.clone());
        }
        if let Some(b) = field(f, "fileWithBytes", "file_with_bytes") {
            out.insert("raw".into(), b.clone());
        }
        if let Some(t) = field(f, "mimeType", "mime_type") {
            out.insert("mediaType".into(), t.clone());
        }
        if let Some(n) = f.get("name") {
            out.insert("filename".into(), n.clone());
        }
    } else if let Some(d) = p.get("data") {
        out.insert("data".into(), d.get("data").cloned().unwrap_or(Value::Null));
    }
    if let Some(m) = p.get("metadata") {
        out.insert("metadata".into(), m.clone());
    }
    Value::Object(out)
}

/// A 1.0 result → the 0.3-proto JSON a `/v1` REST client expects.
pub(crate) fn rest_result(method1: Operation, r: Value) -> Value {
    match method1 {
        Operation::SendMessage => match (r.get("task"), r.get("message")) {
            (Some(t), _) => json!({ "task": proto_task(t) }),
            (_, Some(m)) => json!({ "message": proto_message(m) }),
            _ => r,
        },
        Operation::GetTask | Operation::CancelTask => proto_task(&r),
        Operation::CreateTaskPushNotificationConfig | Operation::GetTaskPushNotificationConfig => {
            proto_push(&r)
        }
        Operation::ListTaskPushNotificationConfigs => json!({
            "configs": r.get("configs").and_then(Value::as_array)
                .map(|a| a.iter().map(proto_push).collect::<Vec<_>>()).unwrap_or_default(),
        }),
        _ => r,
    }
}

/// A 1.0 stream event → the 0.3-proto `StreamResponse` JSON.
pub(crate) fn rest_event(json: &[u8]) -> Vec<u8> {
    let Ok(v) = serde_json::from_slice::<Value>(json) else {
        return json.to_vec();
    };
    let out = if let Some(t) = v.get("task") {
        json!({ "task": proto_task(t) })
    } else if let Some(m) = v.get("message") {
        json!({ "message": proto_message(m) })
    } else if let Some(u) = v.get("statusUpdate") {
        let status = proto_status(u.get("status").unwrap_or(&Value::Null));
        let state = u["status"]["state"].as_str().unwrap_or("");
        json!({ "statusUpdate": {
            "taskId": u.get("taskId"), "contextId": u.get("contextId"), "status": status,
            "final": is_final(&state_to_v03(state)),
        }})
    } else if let Some(u) = v.get("artifactUpdate") {
        json!({ "artifactUpdate": {
            "taskId": u.get("taskId"), "contextId": u.get("contextId"),
            "artifact": proto_artifact(u.get("artifact").unwrap_or(&Value::Null)),
            "append": u.get("append").cloned().unwrap_or(Value::Bool(false)),
            "lastChunk": u.get("lastChunk").cloned().unwrap_or(Value::Bool(false)),
        }})
    } else {
        v
    };
    serde_json::to_vec(&out).unwrap_or_default()
}

fn proto_status(s: &Value) -> Value {
    let state = match s.get("state").and_then(Value::as_str).unwrap_or("") {
        "TASK_STATE_CANCELED" => "TASK_STATE_CANCELLED",
        other => other,
    };
    let mut out = json!({ "state": state });
    if let Some(m) = s.get("message") {
        out["message"] = proto_message(m);
    }
    if let Some(t) = s.get("timestamp") {
        out["timestamp"] = t.clone();
    }
    out
}

fn proto_task(t: &Value) -> Value {
    map_task(t, proto_status, proto_artifact, proto_message)
}

fn proto_message(m: &Value) -> Value {
    let mut out = m.as_object().cloned().unwrap_or_default();
    out.remove("referenceTaskIds");
    if let Some(parts) = out.remove("parts") {
        let content = parts
            .as_array()
            .map(|a| a.iter().map(proto_part).collect())
            .unwrap_or_default();
        out.insert("content".into(), Value::Array(content));
    }
    Value::Object(out)
}

fn proto_artifact(a: &Value) -> Value {
    Value::Object(map_parts(a, proto_part))
}

fn proto_part(p: &Value) -> Value {
    let mut out = if let Some(t) = p.get("text") {
        json!({ "text": t })
    } else if p.get("raw").is_some() || p.get("url").is_some() {
        let mut f = Map::new();
        if let Some(b) = p.get("raw") {
            f.insert("fileWithBytes".into(), b.clone());
        }
        if let Some(u) = p.get("url") {
            f.insert("fileWithUri".into(), u.clone());
        }
        if let Some(t) = p.get("mediaType") {
            f.insert("mimeType".into(), t.clone());
        }
        if let Some(n) = p.get("filename") {
            f.insert("name".into(), n.clone());
        }
        json!({ "file": f })
    } else {
        let data = p.get("data").cloned().unwrap_or(Value::Null);
        let data = if data.is_object() {
            data
        } else {
            json!({ "value": data })
        };
        json!({ "data": { "data": data } })
    };
    if let Some(m) = p.get("metadata") {
        out["metadata"] = m.clone();
    }
    out
}

fn proto_push(c: &Value) -> Value {
    let inner = push_to_v03(c)["pushNotificationConfig"].clone();
    let task = c.get("taskId").and_then(Value::as_str).unwrap_or("");
    let id = c.get("id").and_then(Value::as_str).unwrap_or("");
    json!({
        "name": format!("tasks/{task}/pushNotificationConfigs/{id}"),
        "pushNotificationConfig": inner,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_translate_both_ways() {
        let m = message_to_v1(&json!({"kind": "message", "role": "user", "messageId": "m",
            "parts": [{"kind": "text", "text": "hi"},
                      {"kind": "file", "file": {"bytes": "dGNr", "mimeType": "text/plain", "name": "a.txt"}},
                      {"kind": "data", "data": {"k": 1}}]}));
        assert_eq!(
            m,
            json!({"role": "ROLE_USER", "messageId": "m", "parts": [
            {"text": "hi"}, {"raw": "dGNr", "mediaType": "text/plain", "filename": "a.txt"}, {"data": {"k": 1}}]})
        );
        let zero_one =
            message_to_v1(&json!({"role": "user", "parts": [{"type": "text", "text": "old"}]}));
        assert!(zero_one["messageId"].is_string());
        assert_eq!(state_to_v03("TASK_STATE_INPUT_REQUIRED"), "input-required");
        let ev: Value = serde_json::from_slice(&event_to_v03(
            br#"{"statusUpdate":{"taskId":"t","contextId":"c","status":{"state":"TASK_STATE_COMPLETED"}}}"#,
        ))
        .unwrap();
        assert_eq!(
            ev,
            json!({"kind": "status-update", "taskId": "t", "contextId": "c",
            "status": {"state": "completed"}, "final": true})
        );
        assert_eq!(
            part_to_v03(&json!({"data": [1, 2]})),
            json!({"kind": "data", "data": {"value": [1, 2]}})
        );
        assert_eq!(
            push_to_v1(
                &json!({"url": "https://x/h", "authentication": {"schemes": ["Bearer"], "credentials": "c"}}),
                "t"
            ),
            json!({"url": "https://x/h", "taskId": "t", "authentication": {"scheme": "Bearer", "credentials": "c"}})
        );
    }
}
