//! The HTTP+JSON binding's own rules: routes under an agent and a tenant, both verbs of
//! subscribe, HTTP statuses and `google.rpc.Status` bodies, content types, versions.

use serde_json::{Value, json};

use crate::common::{TestServer, scripted, uuid};

async fn req(
    s: &TestServer,
    verb: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> (u16, String, Value) {
    let mut r = s
        .client
        .request(verb.parse().unwrap(), format!("{}{path}", s.url));
    for (k, v) in headers {
        r = r.header(*k, *v);
    }
    if let Some(b) = body {
        r = r.body(b.to_owned());
    }
    let resp = r.send().await.unwrap();
    let status = resp.status().as_u16();
    let ct = resp
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let text = resp.text().await.unwrap();
    (
        status,
        ct,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

const V1: (&str, &str) = ("A2A-Version", "1.0");
const JSON: (&str, &str) = ("Content-Type", "application/json");

fn send_body(text: &str) -> String {
    json!({"message": {"messageId": uuid(), "role": "ROLE_USER", "parts": [{"text": text}]}})
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routes_answer_under_agents_and_tenants_with_the_right_statuses() {
    let (s, _) = scripted(|_| {}).await;
    // The card lists the HTTP bindings at the same base (and gRPC, which the test server runs).
    let card = s.get_json("/.well-known/agent-card.json").await;
    let bindings: Vec<&str> = card["supportedInterfaces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["protocolBinding"].as_str().unwrap())
        .collect();
    assert_eq!(bindings, ["JSONRPC", "HTTP+JSON", "GRPC"]);
    assert_eq!(card["supportedInterfaces"][1]["url"], s.url.as_str());

    // a2a+json is accepted; answers are application/json
    let (st, ct, v) = req(
        &s,
        "POST",
        "/message:send",
        &[V1, ("Content-Type", "application/a2a+json")],
        Some(&send_body("input")),
    )
    .await;
    assert_eq!((st, ct.as_str()), (200, "application/json"), "{v}");
    let id = v["task"]["id"].as_str().unwrap().to_owned();
    // the same task under the agent's own path and under a tenant
    for path in [
        format!("/tasks/{id}"),
        format!("/agents/scripted/tasks/{id}"),
        format!("/acme/tasks/{id}"),
        format!("/agents/scripted/acme/tasks/{id}?historyLength=1"),
    ] {
        let (st, _, v) = req(&s, "GET", &path, &[V1], None).await;
        assert_eq!(st, 200, "{path}: {v}");
        assert_eq!(v["id"], id.as_str());
    }
    // subscribe answers on GET and POST (the task waits for input: the stream stays open for
    // what comes next; the headers are enough here)
    for verb in ["GET", "POST"] {
        let resp = s
            .client
            .request(
                verb.parse().unwrap(),
                format!("{}/tasks/{id}:subscribe", s.url),
            )
            .header("A2A-Version", "1.0")
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "{verb}");
        assert_eq!(
            resp.headers()["content-type"],
            "text/event-stream",
            "{verb}"
        );
    }
    // cancel, then cancel again: 409 with TASK_NOT_CANCELABLE
    let (st, _, v) = req(&s, "POST", &format!("/tasks/{id}:cancel"), &[V1], None).await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["status"]["state"], "TASK_STATE_CANCELED");
    let (st, ct, v) = req(
        &s,
        "POST",
        &format!("/tasks/{id}:cancel"),
        &[V1, JSON],
        Some("{}"),
    )
    .await;
    assert_eq!((st, ct.as_str()), (409, "application/json"));
    assert_eq!(v["error"]["code"], 409);
    assert_eq!(v["error"]["status"], "FAILED_PRECONDITION");
    assert_eq!(
        v["error"]["details"][0]["@type"],
        "type.googleapis.com/google.rpc.ErrorInfo"
    );
    assert_eq!(v["error"]["details"][0]["reason"], "TASK_NOT_CANCELABLE");
    assert_eq!(v["error"]["details"][0]["domain"], "a2a-protocol.org");

    for (verb, path, headers, body, want_status, want_reason) in [
        (
            "GET",
            "/tasks/nope".to_owned(),
            vec![V1],
            None,
            404,
            "TASK_NOT_FOUND",
        ),
        (
            "GET",
            "/tasks".to_owned(),
            vec![],
            None,
            400,
            "VERSION_NOT_SUPPORTED",
        ),
        (
            "GET",
            "/tasks".to_owned(),
            vec![("A2A-Version", "2.0")],
            None,
            400,
            "VERSION_NOT_SUPPORTED",
        ),
        (
            "POST",
            "/message:send".to_owned(),
            vec![V1, ("Content-Type", "text/plain")],
            Some(send_body("x")),
            415,
            "CONTENT_TYPE_NOT_SUPPORTED",
        ),
        (
            "POST",
            "/message:send".to_owned(),
            vec![V1, JSON],
            Some("{not json".to_owned()),
            400,
            "PARSE_ERROR",
        ),
        (
            "POST",
            "/message:send".to_owned(),
            vec![V1, JSON],
            Some("{\"message\":{}}".to_owned()),
            400,
            "INVALID_PARAMS",
        ),
        (
            "GET",
            "/tasks?pageSize=0x10".to_owned(),
            vec![V1],
            None,
            400,
            "INVALID_PARAMS",
        ),
        (
            "GET",
            "/tasks?pageSize=lots".to_owned(),
            vec![V1],
            None,
            400,
            "INVALID_PARAMS",
        ),
        (
            "GET",
            "/no/such/route/here".to_owned(),
            vec![V1],
            None,
            404,
            "METHOD_NOT_FOUND",
        ),
        (
            "DELETE",
            format!("/tasks/{id}"),
            vec![V1],
            None,
            404,
            "METHOD_NOT_FOUND",
        ),
        (
            "GET",
            "/agents/ghost/tasks/x".to_owned(),
            vec![V1],
            None,
            404,
            "METHOD_NOT_FOUND",
        ),
        (
            "GET",
            "/extendedAgentCard".to_owned(),
            vec![V1],
            None,
            400,
            "UNSUPPORTED_OPERATION",
        ),
    ] {
        let (st, ct, v) = req(&s, verb, &path, &headers, body.as_deref()).await;
        assert_eq!(st, want_status, "{verb} {path}: {v}");
        assert!(ct.starts_with("application/json"), "{verb} {path}: {ct}");
        assert_eq!(
            v["error"]["details"][0]["reason"], want_reason,
            "{verb} {path}: {v}"
        );
        assert_eq!(v["error"]["code"], want_status);
    }
    // query parameters filter ListTasks
    let (_, _, v) = req(
        &s,
        "GET",
        "/tasks?status=TASK_STATE_CANCELED&pageSize=1&includeArtifacts=true",
        &[V1],
        None,
    )
    .await;
    assert_eq!(v["totalSize"], 1, "{v}");
    assert_eq!(v["pageSize"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rest_streams_carry_bare_stream_responses() {
    let (s, _) = scripted(|_| {}).await;
    let resp = s
        .client
        .post(format!("{}/message:stream", s.url))
        .header("A2A-Version", "1.0")
        .header("Content-Type", "application/json")
        .body(send_body("steps:1"))
        .send()
        .await
        .unwrap();
    let events = crate::common::SseReader::new(resp).collect().await;
    assert!(events[0].data.get("task").is_some(), "{:?}", events[0]);
    assert!(events[0].data.get("jsonrpc").is_none());
    assert_eq!(
        events.last().unwrap().data["statusUpdate"]["status"]["state"],
        "TASK_STATE_COMPLETED"
    );
    let ids: Vec<u64> = events
        .iter()
        .map(|e| e.id.as_deref().unwrap().parse().unwrap())
        .collect();
    assert_eq!(ids, (1..=ids.len() as u64).collect::<Vec<_>>());
}
