//! One scenario table run over every binding: the same operations give the same results and the
//! same errors (by `ErrorInfo.reason`), because every binding calls the same runtime operations.

use serde_json::{Value, json};

use a2a_runtime::protocol::grpc::BytesCodec;
use prost_reflect::prost::Message as _;
use prost_reflect::{DynamicMessage, MessageDescriptor};

use crate::common::{SseReader, TestServer, scripted, uuid};

#[derive(Debug, Clone, Copy)]
enum Binding {
    JsonRpc,
    Rest,
    Grpc,
}

/// What a call gave: the result, or the error's `ErrorInfo.reason`.
type Outcome = Result<Value, String>;

impl Binding {
    /// Calls `method` with `params` (its 1.0 ProtoJSON params).
    async fn call(self, s: &TestServer, method: &str, params: Value) -> Outcome {
        match self {
            Binding::JsonRpc => {
                let r = s.rpc(method, params).await;
                match r.get("error") {
                    Some(e) => Err(e["data"][0]["reason"].as_str().unwrap_or("?").to_owned()),
                    None => Ok(r["result"].clone()),
                }
            }
            Binding::Rest => {
                let resp = rest_request(s, method, &params).send().await.unwrap();
                let status = resp.status().as_u16();
                let ct = resp.headers()["content-type"].to_str().unwrap().to_owned();
                assert!(ct.starts_with("application/json"), "{method}: {ct}");
                let body: Value = resp.json().await.unwrap();
                match body.get("error") {
                    Some(e) => {
                        assert_eq!(e["code"], status, "{method}: code repeats the HTTP status");
                        assert!(e["status"].is_string(), "{method}: {body}");
                        assert!(status >= 400, "{method}: {status}");
                        Err(e["details"][0]["reason"].as_str().unwrap_or("?").to_owned())
                    }
                    None => {
                        assert_eq!(status, 200, "{method}: {body}");
                        // Empty is `{}` over REST, `null` over JSON-RPC.
                        Ok(if body == json!({}) { Value::Null } else { body })
                    }
                }
            }
            Binding::Grpc => {
                let (mut client, path, input, output) = grpc_call(s, method, &params).await;
                match client.unary(input, path, BytesCodec).await {
                    Ok(resp) => {
                        let json = grpc_json(&output, resp.into_inner());
                        Ok(if json == json!({}) { Value::Null } else { json })
                    }
                    Err(status) => Err(grpc_reason(&status)),
                }
            }
        }
    }

    /// A streaming method: every StreamResponse until the stream closes, or the error before it.
    async fn stream(
        self,
        s: &TestServer,
        method: &str,
        params: Value,
    ) -> Result<Vec<Value>, String> {
        let reader = self.open(s, method, params).await?;
        Ok(reader
            .collect()
            .await
            .iter()
            .map(|e| self.data(e))
            .collect())
    }

    /// The StreamResponse an SSE event carries.
    fn data(self, e: &crate::common::SseEvent) -> Value {
        match self {
            Binding::JsonRpc => e.data["result"].clone(),
            Binding::Rest | Binding::Grpc => e.data.clone(),
        }
    }

    /// Opens a streaming method, or gives the error before it.
    async fn open(self, s: &TestServer, method: &str, params: Value) -> Result<Events, String> {
        if let Binding::Grpc = self {
            let (mut client, path, input, output) = grpc_call(s, method, &params).await;
            let stream = client
                .server_streaming(input, path, BytesCodec)
                .await
                .map_err(|st| grpc_reason(&st))?
                .into_inner();
            return Ok(Events::Grpc(stream, output));
        }
        self.open_sse(s, method, params).await.map(Events::Sse)
    }

    async fn open_sse(
        self,
        s: &TestServer,
        method: &str,
        params: Value,
    ) -> Result<SseReader, String> {
        let resp = match self {
            Binding::JsonRpc => s
                .client
                .post(&s.url)
                .header("A2A-Version", "1.0")
                .json(&json!({"jsonrpc": "2.0", "id": 9, "method": method, "params": params})),
            Binding::Rest => rest_request(s, method, &params),
            Binding::Grpc => unreachable!("gRPC streams are not SSE"),
        }
        .send()
        .await
        .unwrap();
        let ct = resp.headers()["content-type"].to_str().unwrap().to_owned();
        if !ct.starts_with("text/event-stream") {
            let body: Value = resp.json().await.unwrap();
            let reason = match self {
                Binding::JsonRpc => &body["error"]["data"][0]["reason"],
                _ => &body["error"]["details"][0]["reason"],
            };
            return Err(reason.as_str().unwrap_or("?").to_owned());
        }
        Ok(SseReader::new(resp))
    }
}

/// An open stream of either kind, yielding SSE-shaped events (gRPC messages as their ProtoJSON).
enum Events {
    Sse(SseReader),
    Grpc(tonic::codec::Streaming<bytes::Bytes>, MessageDescriptor),
}

impl Events {
    async fn next(&mut self) -> Option<crate::common::SseEvent> {
        match self {
            Events::Sse(r) => r.next().await,
            Events::Grpc(stream, desc) => {
                let msg = stream.message().await.expect("a well-formed stream")?;
                Some(crate::common::SseEvent {
                    id: None,
                    event: None,
                    data: grpc_json(desc, msg),
                })
            }
        }
    }

    async fn collect(mut self) -> Vec<crate::common::SseEvent> {
        let mut out = Vec::new();
        while let Some(e) = self.next().await {
            out.push(e);
        }
        out
    }
}

/// A gRPC client for the test server's default agent, and the request built from ProtoJSON.
async fn grpc_call(
    s: &TestServer,
    method: &str,
    params: &Value,
) -> (
    tonic::client::Grpc<tonic::transport::Channel>,
    http::uri::PathAndQuery,
    tonic::Request<bytes::Bytes>,
    MessageDescriptor,
) {
    let pool = a2a_runtime::protocol::grpc::descriptors();
    let m = pool
        .get_service_by_name(a2a_runtime::protocol::grpc::SERVICE)
        .and_then(|svc| svc.methods().find(|m| m.name() == method))
        .unwrap_or_else(|| panic!("no rpc {method}"));
    let input = DynamicMessage::deserialize(m.input(), params.clone())
        .unwrap_or_else(|e| panic!("{method} params {params}: {e}"));
    let channel = tonic::transport::Channel::from_shared(format!("http://{}", s.grpc))
        .unwrap()
        .connect()
        .await
        .expect("gRPC connects");
    let mut client = tonic::client::Grpc::new(channel);
    client.ready().await.expect("gRPC ready");
    let path = format!("/{}/{method}", a2a_runtime::protocol::grpc::SERVICE)
        .parse()
        .unwrap();
    let mut request = tonic::Request::new(bytes::Bytes::from(input.encode_to_vec()));
    request.metadata_mut().insert(
        "a2a-version",
        tonic::metadata::MetadataValue::from_static("1.0"),
    );
    (client, path, request, m.output())
}

fn grpc_json(desc: &MessageDescriptor, bytes: bytes::Bytes) -> Value {
    let msg = DynamicMessage::decode(desc.clone(), bytes).expect("a well-formed message");
    serde_json::to_value(&msg).unwrap()
}

fn grpc_reason(status: &tonic::Status) -> String {
    a2a_runtime::protocol::grpc::error_info(status)
        .map(|(reason, _)| reason)
        .unwrap_or_else(|| format!("no ErrorInfo in {status:?}"))
}

/// The REST request for a 1.0 method and its params.
fn rest_request(s: &TestServer, method: &str, p: &Value) -> reqwest::RequestBuilder {
    let str_of = |k: &str| p[k].as_str().unwrap_or("").to_owned();
    let (verb, path, body) = match method {
        "SendMessage" => ("POST", "/message:send".to_owned(), Some(p.clone())),
        "SendStreamingMessage" => ("POST", "/message:stream".to_owned(), Some(p.clone())),
        "GetTask" => ("GET", format!("/tasks/{}", str_of("id")), None),
        "ListTasks" => ("GET", "/tasks".to_owned(), None),
        "CancelTask" => (
            "POST",
            format!("/tasks/{}:cancel", str_of("id")),
            Some(json!({})),
        ),
        "SubscribeToTask" => ("POST", format!("/tasks/{}:subscribe", str_of("id")), None),
        "CreateTaskPushNotificationConfig" => (
            "POST",
            format!("/tasks/{}/pushNotificationConfigs", str_of("taskId")),
            Some(p.clone()),
        ),
        "ListTaskPushNotificationConfigs" => (
            "GET",
            format!("/tasks/{}/pushNotificationConfigs", str_of("taskId")),
            None,
        ),
        "GetTaskPushNotificationConfig" => (
            "GET",
            format!(
                "/tasks/{}/pushNotificationConfigs/{}",
                str_of("taskId"),
                str_of("id")
            ),
            None,
        ),
        "DeleteTaskPushNotificationConfig" => (
            "DELETE",
            format!(
                "/tasks/{}/pushNotificationConfigs/{}",
                str_of("taskId"),
                str_of("id")
            ),
            None,
        ),
        other => panic!("no REST route for {other}"),
    };
    let url = format!("{}{path}", s.url);
    let mut req = s
        .client
        .request(verb.parse().unwrap(), url)
        .header("A2A-Version", "1.0");
    // Scalars that are not in the path go in the query, as §1.3 says.
    if body.is_none() {
        let query: Vec<(String, String)> = p
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(k, _)| !["id", "taskId"].contains(&k.as_str()))
            .map(|(k, v)| {
                (
                    k.clone(),
                    v.as_str().map_or_else(|| v.to_string(), str::to_owned),
                )
            })
            .collect();
        req = req.query(&query);
    }
    match body {
        Some(b) => req.json(&b),
        None => req,
    }
}

fn msg(text: &str) -> Value {
    json!({"messageId": uuid(), "role": "ROLE_USER", "parts": [{"text": text}]})
}

fn state(v: &Value) -> &str {
    v["status"]["state"].as_str().unwrap_or("")
}

async fn scenario(b: Binding) {
    let (s, _) = scripted(|_| {}).await;
    let reason = |r: Outcome| r.expect_err("an error");

    // send (blocking), get with history, list with filters
    let done = b
        .call(&s, "SendMessage", json!({"message": msg("hello")}))
        .await
        .unwrap();
    let task = &done["task"];
    let id = task["id"].as_str().unwrap().to_owned();
    assert_eq!(state(task), "TASK_STATE_COMPLETED", "{b:?}");
    let got = b
        .call(&s, "GetTask", json!({"id": id, "historyLength": 0}))
        .await
        .unwrap();
    assert_eq!(got["id"], id.as_str());
    assert!(
        got.get("history").is_none(),
        "{b:?}: historyLength 0 → no history: {got}"
    );
    let waiting = b
        .call(&s, "SendMessage", json!({"message": msg("input")}))
        .await
        .unwrap();
    let waiting_id = waiting["task"]["id"].as_str().unwrap().to_owned();
    let listed = b
        .call(
            &s,
            "ListTasks",
            json!({"status": "TASK_STATE_INPUT_REQUIRED", "pageSize": 10}),
        )
        .await
        .unwrap();
    assert_eq!(listed["totalSize"], 1, "{b:?}: {listed}");
    assert_eq!(listed["tasks"][0]["id"], waiting_id.as_str());
    let all = b
        .call(&s, "ListTasks", json!({"includeArtifacts": true}))
        .await
        .unwrap();
    assert_eq!(all["totalSize"], 2);
    assert!(all["tasks"][1]["artifacts"].is_array(), "{b:?}: {all}");
    // a bare-message reply
    let reply = b
        .call(&s, "SendMessage", json!({"message": msg("reply")}))
        .await
        .unwrap();
    assert_eq!(reply["message"]["role"], "ROLE_AGENT");

    // streaming: the task first, then updates, closing after the final state
    let events = b
        .stream(
            &s,
            "SendStreamingMessage",
            json!({"message": msg("steps:2")}),
        )
        .await
        .unwrap();
    assert!(events[0].get("task").is_some(), "{b:?}: {events:?}");
    assert_eq!(
        events.last().unwrap()["statusUpdate"]["status"]["state"],
        "TASK_STATE_COMPLETED"
    );
    assert_eq!(
        events
            .iter()
            .filter(|e| e.get("artifactUpdate").is_some())
            .count(),
        2
    );

    // push config CRUD on the waiting task
    let cfg = json!({"taskId": waiting_id, "id": "hook", "url": "https://example.com/hook"});
    let created = b
        .call(&s, "CreateTaskPushNotificationConfig", cfg)
        .await
        .unwrap();
    assert_eq!(created["id"], "hook");
    let one = json!({"taskId": waiting_id, "id": "hook"});
    assert_eq!(
        b.call(&s, "GetTaskPushNotificationConfig", one.clone())
            .await
            .unwrap(),
        created
    );
    let configs = b
        .call(
            &s,
            "ListTaskPushNotificationConfigs",
            json!({"taskId": waiting_id}),
        )
        .await
        .unwrap();
    assert_eq!(configs["configs"][0], created);
    assert_eq!(
        b.call(&s, "DeleteTaskPushNotificationConfig", one.clone())
            .await
            .unwrap(),
        Value::Null
    );
    assert_eq!(
        b.call(&s, "DeleteTaskPushNotificationConfig", one.clone())
            .await
            .unwrap(),
        Value::Null
    );
    assert_eq!(
        reason(b.call(&s, "GetTaskPushNotificationConfig", one).await),
        "TASK_NOT_FOUND"
    );

    // subscribe to the waiting task: the task first; the stream stays open for what comes next
    let mut sub = b
        .open(&s, "SubscribeToTask", json!({"id": waiting_id}))
        .await
        .unwrap();
    let first = b.data(&sub.next().await.unwrap());
    assert_eq!(state(&first["task"]), "TASK_STATE_INPUT_REQUIRED", "{b:?}");

    // cancel it (the subscriber sees that, and its stream ends); a second cancel is refused
    let canceled = b
        .call(&s, "CancelTask", json!({"id": waiting_id}))
        .await
        .unwrap();
    assert_eq!(state(&canceled), "TASK_STATE_CANCELED");
    let rest: Vec<Value> = sub.collect().await.iter().map(|e| b.data(e)).collect();
    assert_eq!(rest.len(), 1, "{b:?}: {rest:?}");
    assert_eq!(
        rest[0]["statusUpdate"]["status"]["state"],
        "TASK_STATE_CANCELED"
    );
    assert_eq!(
        reason(b.call(&s, "CancelTask", json!({"id": waiting_id})).await),
        "TASK_NOT_CANCELABLE"
    );

    // errors
    assert_eq!(
        reason(b.call(&s, "GetTask", json!({"id": "nope"})).await),
        "TASK_NOT_FOUND"
    );
    assert_eq!(
        reason(b.call(&s, "CancelTask", json!({"id": "nope"})).await),
        "TASK_NOT_FOUND"
    );
    assert_eq!(
        reason(
            b.stream(&s, "SubscribeToTask", json!({"id": id}))
                .await
                .map(|_| Value::Null)
        ),
        "UNSUPPORTED_OPERATION"
    );
    assert_eq!(
        reason(
            b.stream(&s, "SubscribeToTask", json!({"id": "nope"}))
                .await
                .map(|_| Value::Null)
        ),
        "TASK_NOT_FOUND"
    );
    let to_final = json!({"message": {"messageId": uuid(), "role": "ROLE_USER", "taskId": id, "parts": [{"text": "more"}]}});
    assert_eq!(
        reason(b.call(&s, "SendMessage", to_final).await),
        "UNSUPPORTED_OPERATION"
    );
    let no_parts = json!({"message": {"messageId": uuid(), "role": "ROLE_USER", "parts": []}});
    assert_eq!(
        reason(b.call(&s, "SendMessage", no_parts).await),
        "INVALID_PARAMS"
    );
    assert_eq!(
        reason(b.call(&s, "ListTasks", json!({"pageSize": 1000})).await),
        "INVALID_PARAMS"
    );
    assert_eq!(
        reason(
            b.call(
                &s,
                "CreateTaskPushNotificationConfig",
                json!({"taskId": "nope", "url": "https://x.example/h"})
            )
            .await
        ),
        "TASK_NOT_FOUND"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_scenario_over_json_rpc() {
    scenario(Binding::JsonRpc).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_scenario_over_rest() {
    scenario(Binding::Rest).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_scenario_over_grpc() {
    scenario(Binding::Grpc).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_statuses_carry_the_suites_codes_and_an_error_info() {
    let (s, _) = scripted(|_| {}).await;
    // The card lists gRPC as a bare host:port.
    let card = s.get_json("/.well-known/agent-card.json").await;
    assert_eq!(card["supportedInterfaces"][2]["protocolBinding"], "GRPC");
    assert_eq!(card["supportedInterfaces"][2]["url"], s.grpc.as_str());

    let code = |method: &'static str, params: Value, version: Option<&'static str>| {
        let s = &s;
        async move {
            let (mut client, path, mut req, _) = grpc_call(s, method, &params).await;
            match version {
                Some(v) => {
                    req.metadata_mut().insert(
                        "a2a-version",
                        tonic::metadata::MetadataValue::from_static(v),
                    );
                }
                None => {
                    req.metadata_mut().remove("a2a-version");
                }
            }
            let status = client.unary(req, path, BytesCodec).await.unwrap_err();
            (status.code(), grpc_reason(&status))
        }
    };
    use tonic::Code;
    assert_eq!(
        code("GetTask", json!({"id": "nope"}), Some("1.0")).await,
        (Code::NotFound, "TASK_NOT_FOUND".into())
    );
    assert_eq!(
        code("GetTask", json!({"id": "nope"}), None).await,
        (Code::Unimplemented, "VERSION_NOT_SUPPORTED".into())
    );
    assert_eq!(
        code("GetTask", json!({"id": "nope"}), Some("2.0")).await,
        (Code::Unimplemented, "VERSION_NOT_SUPPORTED".into())
    );
    assert_eq!(
        code(
            "SendMessage",
            json!({"message": {"messageId": "m", "role": "ROLE_USER"}}),
            Some("1.0")
        )
        .await,
        (Code::InvalidArgument, "INVALID_PARAMS".into())
    );
    assert_eq!(
        code("GetExtendedAgentCard", json!({}), Some("1.0")).await,
        (Code::Unimplemented, "UNSUPPORTED_OPERATION".into())
    );
    let done = Binding::Grpc
        .call(&s, "SendMessage", json!({"message": msg("hi")}))
        .await
        .unwrap();
    let id = done["task"]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        code("CancelTask", json!({"id": id}), Some("1.0")).await,
        (Code::FailedPrecondition, "TASK_NOT_CANCELABLE".into())
    );
}

/// An agent whose manifest turns streaming and push notifications off: its card says so, and
/// every binding refuses those operations with the spec's errors (CORE-CAP-001..003).
async fn capabilities_follow_the_manifest(b: Binding) {
    let (s, _) = scripted(|spec| {
        spec.streaming = false;
        spec.push_notifications = false;
    })
    .await;
    let card = s.get_json("/.well-known/agent-card.json").await;
    assert_eq!(card["capabilities"]["streaming"], false, "{card}");
    assert_eq!(card["capabilities"]["pushNotifications"], false, "{card}");

    let done = b
        .call(&s, "SendMessage", json!({"message": msg("hi")}))
        .await
        .unwrap();
    let id = done["task"]["id"].as_str().unwrap().to_owned();
    let stream = b
        .open(&s, "SendStreamingMessage", json!({"message": msg("hi")}))
        .await
        .err();
    assert_eq!(stream.as_deref(), Some("UNSUPPORTED_OPERATION"), "{b:?}");
    let sub = b.open(&s, "SubscribeToTask", json!({"id": id})).await.err();
    assert_eq!(sub.as_deref(), Some("UNSUPPORTED_OPERATION"), "{b:?}");

    let no_push = Err("PUSH_NOTIFICATION_NOT_SUPPORTED".to_owned());
    let config = json!({"id": "c1", "url": "https://example.com/hook"});
    let create = json!({"taskId": id, "id": "c1", "url": "https://example.com/hook"});
    let by_id = json!({"taskId": id, "id": "c1"});
    for (method, params) in [
        ("CreateTaskPushNotificationConfig", create),
        ("GetTaskPushNotificationConfig", by_id.clone()),
        ("ListTaskPushNotificationConfigs", json!({"taskId": id})),
        ("DeleteTaskPushNotificationConfig", by_id),
    ] {
        assert_eq!(b.call(&s, method, params).await, no_push, "{b:?} {method}");
    }
    let inline =
        json!({"message": msg("hi"), "configuration": {"taskPushNotificationConfig": config}});
    assert_eq!(b.call(&s, "SendMessage", inline).await, no_push, "{b:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn capabilities_follow_the_manifest_over_json_rpc() {
    capabilities_follow_the_manifest(Binding::JsonRpc).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn capabilities_follow_the_manifest_over_rest() {
    capabilities_follow_the_manifest(Binding::Rest).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn capabilities_follow_the_manifest_over_grpc() {
    capabilities_follow_the_manifest(Binding::Grpc).await;
}
