//! A2A 0.3 shapes (JSON-RPC flavour) and the 1.0 ones, both ways: what the server's legacy
//! adapter (`transport::legacy`) and the client's 0.3 binding translate with (spec digest §2.5,
//! §3.6, §6). `kind` discriminators, lowercase states, `final` on status updates, `file` parts,
//! the nested push config. Pure data.

use serde_json::{Map, Value, json};

use super::{A2aError, Operation};

pub(crate) fn str_of<'a>(p: &'a Map<String, Value>, k: &str) -> &'a str {
    p.get(k).and_then(Value::as_str).unwrap_or("")
}

/// 0.3 params → 1.0 params.
pub(crate) fn params_to_v1(method1: Operation, p: &Map<String, Value>) -> Result<Value, A2aError> {
    Ok(match method1 {
        Operation::SendMessage | Operation::SendStreamingMessage => {
            let mut message = p.get("message").map(message_to_v1).unwrap_or(Value::Null);
            // 0.1 put the conversation in `sessionId`.
            if let (Some(m), Some(session)) = (message.as_object_mut(), p.get("sessionId")) {
                m.entry("contextId").or_insert_with(|| session.clone());
            }
            let mut out = json!({ "message": message });
            let cfg = p.get("configuration").and_then(Value::as_object);
            let mut cfg1 = Map::new();
            if let Some(c) = cfg {
                if let Some(b) = c.get("blocking").and_then(Value::as_bool) {
                    cfg1.insert("returnImmediately".into(), Value::Bool(!b));
                }
                for k in ["historyLength", "acceptedOutputModes"] {
                    if let Some(v) = c.get(k) {
                        cfg1.insert(k.into(), v.clone());
                    }
                }
                if let Some(pn) = c.get("pushNotificationConfig") {
                    cfg1.insert("taskPushNotificationConfig".into(), push_to_v1(pn, ""));
                }
            }
            if let Some(pn) = p.get("pushNotification") {
                cfg1.insert("taskPushNotificationConfig".into(), push_to_v1(pn, ""));
            }
            if let Some(h) = p.get("historyLength") {
                cfg1.insert("historyLength".into(), h.clone());
            }
            if !cfg1.is_empty() {
                out["configuration"] = Value::Object(cfg1);
            }
            if let Some(m) = p.get("metadata") {
                out["metadata"] = m.clone();
            }
            out
        }
        Operation::GetTask => {
            let mut out = json!({ "id": str_of(p, "id") });
            if let Some(h) = p.get("historyLength") {
                out["historyLength"] = h.clone();
            }
            out
        }
        Operation::CancelTask | Operation::SubscribeToTask => json!({ "id": str_of(p, "id") }),
        Operation::CreateTaskPushNotificationConfig => {
            let task = p
                .get("taskId")
                .or_else(|| p.get("id"))
                .and_then(Value::as_str)
                .unwrap_or("");
            let cfg = p.get("pushNotificationConfig").unwrap_or(&Value::Null);
            push_to_v1(cfg, task)
        }
        Operation::GetTaskPushNotificationConfig | Operation::DeleteTaskPushNotificationConfig => {
            json!({"taskId": str_of(p, "id"), "id": str_of(p, "pushNotificationConfigId")})
        }
        Operation::ListTaskPushNotificationConfigs => json!({ "taskId": str_of(p, "id") }),
        _ => Value::Object(Map::new()),
    })
}

pub(crate) fn role_to_v1(r: &str) -> &str {
    match r {
        "user" => "ROLE_USER",
        "agent" => "ROLE_AGENT",
        other => other,
    }
}

pub(crate) fn message_to_v1(m: &Value) -> Value {
    let Some(m) = m.as_object() else {
        return m.clone();
    };
    let mut out = Map::new();
    for (k, v) in m {
        match k.as_str() {
            "kind" => {}
            "role" => {
                out.insert(
                    k.clone(),
                    Value::String(role_to_v1(v.as_str().unwrap_or("")).into()),
                );
            }
            "parts" => {
                let parts = v
                    .as_array()
                    .map(|a| a.iter().map(part_to_v1).collect())
                    .unwrap_or_default();
                out.insert(k.clone(), Value::Array(parts));
            }
            _ => {
                out.insert(k.clone(), v.clone());
            }
        }
    }
    // 0.1 messages had no id.
    out.entry("messageId")
        .or_insert_with(|| Value::String(crate::ids::random()));
    Value::Object(out)
}

/// A 0.3 `file` part's fields and the 1.0 Part fields they become.
const FILE_FIELDS: [(&str, &str); 4] = [
    ("bytes", "raw"),
    ("uri", "url"),
    ("mimeType", "mediaType"),
    ("name", "filename"),
];

pub(crate) fn part_to_v1(p: &Value) -> Value {
    let kind = p
        .get("kind")
        .or_else(|| p.get("type"))
        .and_then(Value::as_str)
        .unwrap_or("");
    let mut out = Map::new();
    match kind {
        "file" => {
            let f = p.get("file").cloned().unwrap_or(Value::Null);
            for (v03, v1) in FILE_FIELDS {
                if let Some(v) = f.get(v03) {
                    out.insert(v1.into(), v.clone());
                }
            }
        }
        "data" => {
            out.insert("data".into(), p.get("data").cloned().unwrap_or(Value::Null));
        }
        _ => {
            out.insert("text".into(), p.get("text").cloned().unwrap_or(Value::Null));
        }
    }
    if let Some(m) = p.get("metadata") {
        out.insert("metadata".into(), m.clone());
    }
    Value::Object(out)
}

/// 0.3 `PushNotificationConfig` (nested, `schemes[]`) → 1.0 `TaskPushNotificationConfig`.
pub(crate) fn push_to_v1(cfg: &Value, task: &str) -> Value {
    let mut out = json!({ "url": cfg.get("url").cloned().unwrap_or(Value::Null) });
    if !task.is_empty() {
        out["taskId"] = Value::String(task.into());
    }
    for k in ["id", "token"] {
        if let Some(v) = cfg.get(k) {
            out[k] = v.clone();
        }
    }
    if let Some(auth) = cfg.get("authentication") {
        let scheme = auth
            .get("schemes")
            .and_then(Value::as_array)
            .and_then(|s| s.first())
            .cloned()
            .unwrap_or(Value::String(String::new()));
        out["authentication"] = json!({
            "scheme": scheme,
            "credentials": auth.get("credentials").cloned().unwrap_or(Value::String(String::new())),
        });
    }
    out
}

/// 1.0 result → 0.3 result.
pub(crate) fn result_to_v03(method1: Operation, p: &Map<String, Value>, r: Value) -> Value {
    match method1 {
        Operation::SendMessage => match (r.get("task"), r.get("message")) {
            (Some(t), _) => task_to_v03(t),
            (_, Some(m)) => message_to_v03(m),
            _ => r,
        },
        Operation::GetTask | Operation::CancelTask => task_to_v03(&r),
        Operation::CreateTaskPushNotificationConfig | Operation::GetTaskPushNotificationConfig => {
            push_to_v03(&r)
        }
        Operation::ListTaskPushNotificationConfigs => Value::Array(
            r.get("configs")
                .and_then(Value::as_array)
                .map(|a| a.iter().map(push_to_v03).collect())
                .unwrap_or_default(),
        ),
        Operation::GetExtendedAgentCard => card_to_v03(&r, str_of(p, "url")),
        _ => r,
    }
}

pub(crate) fn push_to_v03(c: &Value) -> Value {
    let mut inner = json!({ "url": c.get("url").cloned().unwrap_or(Value::Null) });
    for k in ["id", "token"] {
        if let Some(v) = c.get(k) {
            inner[k] = v.clone();
        }
    }
    if let Some(a) = c.get("authentication") {
        inner["authentication"] = json!({
            "schemes": [a.get("scheme").cloned().unwrap_or(Value::Null)],
            "credentials": a.get("credentials").cloned().unwrap_or(Value::Null),
        });
    }
    json!({ "taskId": c.get("taskId").cloned().unwrap_or(Value::Null), "pushNotificationConfig": inner })
}

/// `TASK_STATE_INPUT_REQUIRED` → `input-required`.
pub(crate) fn state_to_v03(s: &str) -> String {
    match s.strip_prefix("TASK_STATE_") {
        Some("UNSPECIFIED") | None => "unknown".into(),
        Some(rest) => rest.to_ascii_lowercase().replace('_', "-"),
    }
}

pub(crate) fn is_final(state: &str) -> bool {
    matches!(
        state,
        "completed" | "failed" | "canceled" | "rejected" | "input-required" | "auth-required"
    )
}

pub(crate) fn status_to_v03(s: &Value) -> Value {
    let mut out =
        json!({ "state": state_to_v03(s.get("state").and_then(Value::as_str).unwrap_or("")) });
    if let Some(m) = s.get("message") {
        out["message"] = message_to_v03(m);
    }
    if let Some(t) = s.get("timestamp") {
        out["timestamp"] = t.clone();
    }
    out
}

/// The shape every mapping of a Task shares: ids kept, status, artifacts and history mapped by
/// the functions of the target shape.
pub(crate) fn map_task(
    t: &Value,
    status: fn(&Value) -> Value,
    artifact: fn(&Value) -> Value,
    message: fn(&Value) -> Value,
) -> Value {
    let mut out = json!({
        "id": t.get("id").cloned().unwrap_or(Value::Null),
        "contextId": t.get("contextId").cloned().unwrap_or(Value::Null),
        "status": status(t.get("status").unwrap_or(&Value::Null)),
    });
    if let Some(a) = t.get("artifacts").and_then(Value::as_array) {
        out["artifacts"] = Value::Array(a.iter().map(artifact).collect());
    }
    if let Some(h) = t.get("history").and_then(Value::as_array) {
        out["history"] = Value::Array(h.iter().map(message).collect());
    }
    if let Some(m) = t.get("metadata").filter(|m| !m.is_null()) {
        out["metadata"] = m.clone();
    }
    out
}

/// An object (message or artifact) with each of its `parts` mapped by `part`.
pub(crate) fn map_parts(v: &Value, part: fn(&Value) -> Value) -> Map<String, Value> {
    let mut out = v.as_object().cloned().unwrap_or_default();
    if let Some(parts) = out.get("parts").and_then(Value::as_array) {
        let parts = parts.iter().map(part).collect();
        out.insert("parts".into(), Value::Array(parts));
    }
    out
}

pub(crate) fn task_to_v03(t: &Value) -> Value {
    let mut out = map_task(t, status_to_v03, artifact_to_v03, message_to_v03);
    out["kind"] = json!("task");
    out
}

pub(crate) fn message_to_v03(m: &Value) -> Value {
    let mut out = map_parts(m, part_to_v03);
    out.insert("kind".into(), Value::String("message".into()));
    if let Some(r) = out.get("role").and_then(Value::as_str) {
        let r = match r {
            "ROLE_AGENT" => "agent",
            _ => "user",
        };
        out.insert("role".into(), Value::String(r.into()));
    }
    Value::Object(out)
}

pub(crate) fn part_to_v03(p: &Value) -> Value {
    let meta = p.get("metadata").cloned();
    let mut out = if let Some(t) = p.get("text") {
        json!({"kind": "text", "text": t})
    } else if p.get("raw").is_some() || p.get("url").is_some() {
        let mut file = Map::new();
        for (v03, v1) in FILE_FIELDS {
            if let Some(v) = p.get(v1) {
                file.insert(v03.into(), v.clone());
            }
        }
        json!({"kind": "file", "file": file})
    } else {
        // 0.3 data parts are objects; anything else is wrapped, as the Python SDK does.
        let data = p.get("data").cloned().unwrap_or(Value::Null);
        if data.is_object() {
            json!({"kind": "data", "data": data})
        } else {
            json!({"kind": "data", "data": {"value": data}})
        }
    };
    if let Some(m) = meta {
        out["metadata"] = m;
    }
    out
}

pub(crate) fn artifact_to_v03(a: &Value) -> Value {
    Value::Object(map_parts(a, part_to_v03))
}

/// A 1.0 stream event (StreamResponse JSON) → the 0.3 result it is sent as.
pub(crate) fn event_to_v03(json: &[u8]) -> Vec<u8> {
    let Ok(v) = serde_json::from_slice::<Value>(json) else {
        return json.to_vec();
    };
    let out = if let Some(t) = v.get("task") {
        task_to_v03(t)
    } else if let Some(m) = v.get("message") {
        message_to_v03(m)
    } else if let Some(u) = v.get("statusUpdate") {
        let status = status_to_v03(u.get("status").unwrap_or(&Value::Null));
        let state = status["state"].as_str().unwrap_or("").to_owned();
        json!({
            "kind": "status-update",
            "taskId": u.get("taskId").cloned().unwrap_or(Value::Null),
            "contextId": u.get("contextId").cloned().unwrap_or(Value::Null),
            "status": status,
            "final": is_final(&state),
        })
    } else if let Some(u) = v.get("artifactUpdate") {
        json!({
            "kind": "artifact-update",
            "taskId": u.get("taskId").cloned().unwrap_or(Value::Null),
            "contextId": u.get("contextId").cloned().unwrap_or(Value::Null),
            "artifact": artifact_to_v03(u.get("artifact").unwrap_or(&Value::Null)),
            "append": u.get("append").cloned().unwrap_or(Value::Bool(false)),
            "lastChunk": u.get("lastChunk").cloned().unwrap_or(Value::Bool(false)),
        })
    } else {
        v
    };
    serde_json::to_vec(&out).unwrap_or_default()
}

/// A 1.0 card → the 0.3 card (`/.well-known/agent.json`): `url` and `preferredTransport` for
/// the JSON-RPC interface, the rest as `additionalInterfaces`.
pub(crate) fn card_to_v03(card: &Value, _url_hint: &str) -> Value {
    let interfaces = card
        .get("supportedInterfaces")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let url = interfaces
        .first()
        .and_then(|i| i.get("url"))
        .cloned()
        .unwrap_or(Value::Null);
    let additional: Vec<Value> = interfaces
        .iter()
        .map(|i| json!({"url": i.get("url"), "transport": i.get("protocolBinding")}))
        .collect();
    let caps = card.get("capabilities").cloned().unwrap_or(json!({}));
    with_common_card_fields(
        card,
        json!({
        "protocolVersion": "0.3.0",
        "url": url,
        "preferredTransport": "JSONRPC",
        "additionalInterfaces": additional,
        "capabilities": {
            "streaming": caps.get("streaming").cloned().unwrap_or(Value::Bool(false)),
            "pushNotifications": caps.get("pushNotifications").cloned().unwrap_or(Value::Bool(false)),
            "extensions": caps.get("extensions").cloned().unwrap_or(json!([])),
        },
        "supportsAuthenticatedExtendedCard": caps.get("extendedAgentCard").cloned().unwrap_or(Value::Bool(false)),
        }),
    )
}

/// `specific` (the fields one card shape has its own way) plus the fields 0.3 and 1.0 cards
/// name and shape alike, taken from `card`.
fn with_common_card_fields(card: &Value, specific: Value) -> Value {
    let Value::Object(mut out) = specific else {
        return specific;
    };
    for k in ["name", "description", "version"] {
        out.insert(k.into(), card.get(k).cloned().unwrap_or(Value::Null));
    }
    for k in ["defaultInputModes", "defaultOutputModes", "skills"] {
        out.insert(k.into(), card.get(k).cloned().unwrap_or(json!([])));
    }
    if let Some(p) = card.get("provider") {
        out.insert("provider".into(), p.clone());
    }
    Value::Object(out)
}

// ---------------------------------------------------------------------------------------------
// The other way, for a client talking to a 0.3 agent: 1.0 requests out, 0.3 answers back in.

/// 1.0 params → 0.3 params.
pub(crate) fn params_to_v03(method1: Operation, p: &Value) -> Value {
    let s = |k: &str| p.get(k).cloned().unwrap_or(Value::Null);
    match method1 {
        Operation::SendMessage | Operation::SendStreamingMessage => {
            let mut out = json!({ "message": message_to_v03(&s("message")) });
            if let Some(c) = p.get("configuration") {
                let mut cfg = Map::new();
                let immediately = c.get("returnImmediately").and_then(Value::as_bool);
                cfg.insert(
                    "blocking".into(),
                    Value::Bool(!immediately.unwrap_or(false)),
                );
                for k in ["historyLength", "acceptedOutputModes"] {
                    if let Some(v) = c.get(k) {
                        cfg.insert(k.into(), v.clone());
                    }
                }
                if let Some(pn) = c.get("taskPushNotificationConfig") {
                    let nested = push_to_v03(pn);
                    cfg.insert(
                        "pushNotificationConfig".into(),
                        nested["pushNotificationConfig"].clone(),
                    );
                }
                out["configuration"] = Value::Object(cfg);
            }
            if let Some(m) = p.get("metadata") {
                out["metadata"] = m.clone();
            }
            out
        }
        Operation::GetTask => {
            let mut out = json!({ "id": s("id") });
            if let Some(h) = p.get("historyLength") {
                out["historyLength"] = h.clone();
            }
            out
        }
        Operation::CreateTaskPushNotificationConfig => push_to_v03(p),
        Operation::GetTaskPushNotificationConfig | Operation::DeleteTaskPushNotificationConfig => {
            json!({ "id": s("taskId"), "pushNotificationConfigId": s("id") })
        }
        Operation::ListTaskPushNotificationConfigs => json!({ "id": s("taskId") }),
        Operation::GetExtendedAgentCard => json!({}),
        _ => json!({ "id": s("id") }),
    }
}

/// `input-required` → `TASK_STATE_INPUT_REQUIRED`.
pub(crate) fn state_to_v1(s: &str) -> String {
    match s {
        "" | "unknown" => "TASK_STATE_UNSPECIFIED".into(),
        // 0.3's proto spelling.
        "cancelled" => "TASK_STATE_CANCELED".into(),
        other => format!(
            "TASK_STATE_{}",
            other.to_ascii_uppercase().replace('-', "_")
        ),
    }
}

pub(crate) fn status_to_v1(s: &Value) -> Value {
    let state = s.get("state").and_then(Value::as_str).unwrap_or("");
    let mut out = json!({ "state": state_to_v1(state) });
    if let Some(m) = s.get("message").filter(|m| !m.is_null()) {
        out["message"] = message_to_v1(m);
    }
    if let Some(t) = s.get("timestamp").filter(|t| !t.is_null()) {
        out["timestamp"] = t.clone();
    }
    out
}

pub(crate) fn artifact_to_v1(a: &Value) -> Value {
    Value::Object(map_parts(a, part_to_v1))
}

pub(crate) fn task_to_v1(t: &Value) -> Value {
    map_task(t, status_to_v1, artifact_to_v1, message_to_v1)
}

/// A 0.3 answer that is a task or a message (`kind`) → the 1.0 `{"task"}` / `{"message"}`.
fn task_or_message_to_v1(r: &Value) -> Value {
    match r.get("kind").and_then(Value::as_str) {
        Some("message") => json!({ "message": message_to_v1(r) }),
        _ => json!({ "task": task_to_v1(r) }),
    }
}

/// 0.3 result → 1.0 result.
pub(crate) fn result_to_v1(method1: Operation, r: &Value) -> Value {
    let push = |c: &Value| {
        let task = c.get("taskId").and_then(Value::as_str).unwrap_or("");
        push_to_v1(c.get("pushNotificationConfig").unwrap_or(c), task)
    };
    match method1 {
        Operation::SendMessage => task_or_message_to_v1(r),
        Operation::GetTask | Operation::CancelTask => task_to_v1(r),
        Operation::CreateTaskPushNotificationConfig | Operation::GetTaskPushNotificationConfig => {
            push(r)
        }
        Operation::ListTaskPushNotificationConfigs => json!({
            "configs": r.as_array().map(|a| a.iter().map(push).collect::<Vec<_>>()).unwrap_or_default()
        }),
        Operation::GetExtendedAgentCard => card_to_v1(r),
        _ => r.clone(),
    }
}

/// A 0.3 stream event → the 1.0 `StreamResponse`.
pub(crate) fn event_to_v1(v: &Value) -> Value {
    let id = |k: &str| v.get(k).cloned().unwrap_or(Value::Null);
    match v.get("kind").and_then(Value::as_str) {
        Some("status-update") => json!({ "statusUpdate": {
            "taskId": id("taskId"),
            "contextId": id("contextId"),
            "status": status_to_v1(v.get("status").unwrap_or(&Value::Null)),
        }}),
        Some("artifact-update") => json!({ "artifactUpdate": {
            "taskId": id("taskId"),
            "contextId": id("contextId"),
            "artifact": artifact_to_v1(v.get("artifact").unwrap_or(&Value::Null)),
            "append": v.get("append").and_then(Value::as_bool).unwrap_or(false),
            "lastChunk": v.get("lastChunk").and_then(Value::as_bool).unwrap_or(false),
        }}),
        _ => task_or_message_to_v1(v),
    }
}

/// A 0.3 card (`url`, `preferredTransport`, `additionalInterfaces`) → a 1.0 card whose
/// interfaces say protocol 0.3.
pub(crate) fn card_to_v1(card: &Value) -> Value {
    let version = card
        .get("protocolVersion")
        .and_then(Value::as_str)
        .unwrap_or("0.3.0");
    let mut interfaces = vec![json!({
        "url": card.get("url").cloned().unwrap_or(Value::Null),
        "protocolBinding": card.get("preferredTransport").and_then(Value::as_str).unwrap_or("JSONRPC"),
        "protocolVersion": version,
    })];
    for i in card
        .get("additionalInterfaces")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let entry = json!({"url": i.get("url"), "protocolBinding": i.get("transport"), "protocolVersion": version});
        if !interfaces.contains(&entry) {
            interfaces.push(entry);
        }
    }
    let caps = card.get("capabilities").cloned().unwrap_or(json!({}));
    with_common_card_fields(
        card,
        json!({
            "supportedInterfaces": interfaces,
            "capabilities": {
                "streaming": caps.get("streaming").cloned().unwrap_or(Value::Bool(false)),
                "pushNotifications": caps.get("pushNotifications").cloned().unwrap_or(Value::Bool(false)),
                "extendedAgentCard": card.get("supportsAuthenticatedExtendedCard").cloned().unwrap_or(Value::Bool(false)),
            },
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the server sends a 0.3 client, the client turns back into the same 1.0 shapes.
    #[test]
    fn a_task_and_its_events_survive_the_trip_to_0_3_and_back() {
        let task = json!({
            "id": "t", "contextId": "c",
            "status": {"state": "TASK_STATE_INPUT_REQUIRED", "timestamp": "2026-01-01T00:00:00Z",
                "message": {"messageId": "q", "role": "ROLE_AGENT", "parts": [{"text": "more?"}]}},
            "artifacts": [{"artifactId": "a", "parts": [{"text": "x"},
                {"raw": "eHk=", "mediaType": "text/plain", "filename": "x.txt"},
                {"data": {"k": 1}}, {"url": "https://e.com/f"}]}],
            "history": [{"messageId": "m", "role": "ROLE_USER", "parts": [{"text": "hi"}]}],
        });
        assert_eq!(task_to_v1(&task_to_v03(&task)), task);
        for ev in [
            json!({"task": task}),
            json!({"statusUpdate": {"taskId": "t", "contextId": "c", "status": {"state": "TASK_STATE_WORKING"}}}),
            json!({"artifactUpdate": {"taskId": "t", "contextId": "c", "artifact": {"artifactId": "a",
                "parts": [{"text": "x"}]}, "append": true, "lastChunk": false}}),
        ] {
            let v03: Value =
                serde_json::from_slice(&event_to_v03(ev.to_string().as_bytes())).unwrap();
            assert_eq!(event_to_v1(&v03), ev, "{v03}");
        }
        assert_eq!(state_to_v1("cancelled"), "TASK_STATE_CANCELED");
        let send = json!({"message": {"messageId": "m", "role": "ROLE_USER", "parts": [{"text": "hi"}]},
            "configuration": {"returnImmediately": true, "historyLength": 2}});
        let p = params_to_v03(Operation::SendMessage, &send);
        assert_eq!(p["configuration"]["blocking"], false);
        assert_eq!(p["message"]["kind"], "message");
        assert_eq!(p["message"]["role"], "user");
        let back = params_to_v1(Operation::SendMessage, p.as_object().unwrap()).unwrap();
        assert_eq!(back, send);
    }
}
