//! The binding's error rules: version negotiation, content type, envelope, methods, capabilities,
//! body limit.

use serde_json::{Value, json};

use crate::common::*;

fn send_body() -> Vec<u8> {
    serde_json::to_vec(&json!({"jsonrpc": "2.0", "id": 9, "method": "SendMessage",
        "params": {"message": {"messageId": uuid(), "role": "ROLE_USER", "parts": [{"text": "v"}]}}}))
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn versions_other_than_1_0_are_refused() {
    let s = TestServer::echo().await;
    let ct = ("Content-Type", "application/json");
    for headers in [
        vec![ct],
        vec![ct, ("A2A-Version", "")],
        vec![ct, ("A2A-Version", "0.3")],
        vec![ct, ("A2A-Version", "2.0")],
    ] {
        let (status, _, body) = s.raw("/", &headers, send_body()).await;
        let v: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(status, 200);
        assert_eq!(code(&v), -32009, "{headers:?}");
        assert_eq!(v["id"], 9);
        assert_eq!(v["error"]["data"][0]["reason"], "VERSION_NOT_SUPPORTED");
        assert_eq!(v["error"]["data"][0]["domain"], "a2a-protocol.org");
    }
    let (_, _, body) = s.raw("/?A2A-Version=1.0", &[ct], send_body()).await;
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        state(&v["result"]["task"]),
        "TASK_STATE_COMPLETED",
        "the version may come as a query parameter"
    );
    let (_, _, body) = s
        .raw("/", &[ct, ("A2A-Version", "1.0.3")], send_body())
        .await;
    assert!(
        body.contains("TASK_STATE_COMPLETED"),
        "patch versions are ignored"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn content_type_is_checked_before_parsing() {
    let s = TestServer::echo().await;
    let v1 = ("A2A-Version", "1.0");
    let (status, headers, body) = s
        .raw(
            "/",
            &[("Content-Type", "text/plain"), v1],
            b"not even json".to_vec(),
        )
        .await;
    assert_eq!(status, 200);
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    assert_eq!(code(&serde_json::from_str(&body).unwrap()), -32005);
    for ct in ["application/json; charset=utf-8", "application/a2a+json"] {
        let (_, _, body) = s.raw("/", &[("Content-Type", ct), v1], send_body()).await;
        assert!(body.contains("TASK_STATE_COMPLETED"), "{ct}: {body}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn envelope_errors() {
    let s = TestServer::echo().await;
    let h = [("Content-Type", "application/json"), ("A2A-Version", "1.0")];
    let cases: Vec<(&[u8], i64, Value)> = vec![
        (b"{\"jsonrpc\":\"2.0\",\"id\":1,", -32700, Value::Null),
        (b"{]", -32700, Value::Null),
        (
            b"[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"GetTask\"}]",
            -32600,
            Value::Null,
        ),
        (
            b"{\"jsonrpc\":\"1.0\",\"id\":3,\"method\":\"GetTask\"}",
            -32600,
            json!(3),
        ),
        (b"{\"jsonrpc\":\"2.0\",\"id\":4}", -32600, json!(4)),
        (
            b"{\"jsonrpc\":\"2.0\",\"id\":{\"a\":1},\"method\":\"GetTask\"}",
            -32600,
            Value::Null,
        ),
        (
            b"{\"jsonrpc\":\"2.0\",\"id\":\"x\",\"method\":\"message/send\",\"params\":{}}",
            -32601,
            json!("x"),
        ),
        (
            b"{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"GetTask\",\"params\":[1]}",
            -32602,
            json!(5),
        ),
        (b"\"just a string\"", -32600, Value::Null),
    ];
    for (body, want, id) in cases {
        let (status, _, text) = s.raw("/", &h, body.to_vec()).await;
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(status, 200);
        assert_eq!(code(&v), want, "{}", String::from_utf8_lossy(body));
        assert_eq!(v["id"], id, "{}", String::from_utf8_lossy(body));
        assert_eq!(v["jsonrpc"], "2.0");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_params_name_the_field() {
    let s = TestServer::echo().await;
    let cases = [
        (json!({}), "message"),
        (
            json!({"message": {"role": "ROLE_USER", "parts": [{"text": "x"}]}}),
            "message.messageId",
        ),
        (
            json!({"message": {"messageId": "m", "parts": [{"text": "x"}]}}),
            "message.role",
        ),
        (
            json!({"message": {"messageId": "m", "role": "ROLE_USER"}}),
            "message.parts",
        ),
        (
            json!({"message": {"messageId": "m", "role": "ROLE_USER", "parts": []}}),
            "message.parts",
        ),
        (
            json!({"message": {"messageId": "m", "role": "ROLE_USER", "parts": [{}]}}),
            "message.parts[0]",
        ),
        (
            json!({"message": {"messageId": "m", "role": "ROLE_USER", "parts": [{"text": "a", "url": "b"}]}}),
            "message.parts[0]",
        ),
        (
            json!({"message": {"messageId": "m", "role": "ROLE_USER", "parts": [{"text": 5}]}}),
            "message.parts[0].text",
        ),
        (
            json!({"message": {"messageId": "m", "role": "ROLE_WIZARD", "parts": [{"text": "x"}]}}),
            "message.role",
        ),
        (
            json!({"message": {"messageId": 7, "role": "ROLE_USER", "parts": [{"text": "x"}]}}),
            "message.messageId",
        ),
        (
            json!({"message": {"messageId": "m", "role": "ROLE_USER", "parts": [{"raw": "!!"}]}}),
            "message.parts[0].raw",
        ),
        (
            json!({"message": {"messageId": "m", "role": "ROLE_USER", "parts": [{"text": "x"}]}, "configuration": {"historyLength": -1}}),
            "configuration.historyLength",
        ),
        (json!({"message": "text"}), "message"),
    ];
    for (params, field) in cases {
        let r = s.rpc("SendMessage", params.clone()).await;
        assert_eq!(code(&r), -32602, "{params}");
        let violation = r["error"]["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["@type"] == "type.googleapis.com/google.rpc.BadRequest");
        assert_eq!(
            violation.unwrap()["fieldViolations"][0]["field"],
            field,
            "{params}: {r}"
        );
        assert!(r["error"]["message"].as_str().unwrap().contains(field));
    }
    let r = s.rpc("GetTask", json!({})).await;
    assert_eq!(code(&r), -32602);
    assert_eq!(
        s.rpc("GetTask", json!({"id": "nope"})).await["error"]["code"],
        -32001
    );
    assert_eq!(
        s.rpc(
            "ListTasks",
            // An unknown state name is no filter (as protobuf's lenient parsing reads it);
            // a value of the wrong type is an error.
            json!({"total": "garbage", "status": true})
        )
        .await["error"]["code"],
        -32602
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn empty_params_and_undeclared_capabilities_get_their_errors() {
    let s = TestServer::echo().await;
    for (method, want) in [
        ("SendStreamingMessage", -32602),
        ("SubscribeToTask", -32602),
        ("CreateTaskPushNotificationConfig", -32602),
        ("GetTaskPushNotificationConfig", -32602),
        ("ListTaskPushNotificationConfigs", -32602),
        ("DeleteTaskPushNotificationConfig", -32602),
        ("GetExtendedAgentCard", -32004),
        ("NoSuchMethod", -32601),
    ] {
        let r = s.rpc(method, json!({})).await;
        assert_eq!(code(&r), want, "{method}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_body_gets_413_before_it_is_read() {
    let http = a2a_runtime::transport::HttpConfig {
        max_body_bytes: 64 << 10,
        ..Default::default()
    };
    let s = TestServer::start_with(http, |rt| async move {
        let mut spec = a2a_runtime::AgentSpec::new("echo");
        spec.default = true;
        rt.add_agent(spec, a2a_runtime::agents::Echo::default())
            .await
            .unwrap();
    })
    .await;
    let big = format!(
        "{{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"SendMessage\",\"params\":{{\"message\":{{\"messageId\":\"m\",\"role\":\"ROLE_USER\",\"parts\":[{{\"text\":\"{}\"}}]}}}}}}",
        "x".repeat(200 << 10)
    );
    let (status, _, body) = s
        .raw(
            "/",
            &[("Content-Type", "application/json"), ("A2A-Version", "1.0")],
            big.clone().into_bytes(),
        )
        .await;
    assert_eq!(status, 413);
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(code(&v), -32600);
    // without a Content-Length (chunked), the limit still holds
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> = big
        .into_bytes()
        .chunks(8192)
        .map(|c| Ok(c.to_vec()))
        .collect();
    let stream = futures_util::stream::iter(chunks);
    let resp = s
        .client
        .post(&s.url)
        .header("Content-Type", "application/json")
        .header("A2A-Version", "1.0")
        // the server stops reading this connection: keep it out of the client's pool
        .header("Connection", "close")
        .body(reqwest::Body::wrap_stream(stream))
        .send()
        .await;
    // The server answers 413 as soon as the limit is passed and stops reading; the client may
    // see that answer or, still writing, a closed connection.
    match resp {
        Ok(r) => assert_eq!(r.status(), 413),
        Err(e) => assert!(e.is_request(), "{e}"),
    }
    // and the server keeps serving
    assert_eq!(
        state(&s.send("still here").await["task"]),
        "TASK_STATE_COMPLETED"
    );
}
