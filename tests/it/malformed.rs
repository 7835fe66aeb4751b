//! Malformed input: every case gets a JSON-RPC error, none panics, none leaves a task behind.

use serde_json::{Value, json};

use crate::common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_requests_get_errors_and_leave_nothing_stuck() {
    let s = TestServer::echo().await;
    let h = [("Content-Type", "application/json"), ("A2A-Version", "1.0")];
    let valid = serde_json::to_string(&json!({"jsonrpc": "2.0", "id": 1, "method": "SendMessage",
        "params": {"message": {"messageId": "m-valid", "role": "ROLE_USER", "parts": [{"text": "ok"}]}}}))
    .unwrap();
    let mut cases: Vec<(String, Vec<u8>, i64)> = Vec::new();
    // truncated at every length
    for cut in (1..valid.len()).step_by(7) {
        cases.push((
            format!("truncated at {cut}"),
            valid.as_bytes()[..cut].to_vec(),
            -32700,
        ));
    }
    // invalid UTF-8 inside a string
    let mut bad_utf8 = valid.clone().into_bytes();
    let at = valid.find("ok").unwrap();
    bad_utf8[at] = 0xff;
    cases.push(("invalid utf-8".into(), bad_utf8, -32700));
    // deeply nested
    let deep = format!(
        "{{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"SendMessage\",\"params\":{}{}}}",
        "[".repeat(5000),
        "]".repeat(5000)
    );
    cases.push((
        "deeply nested params (an array, not an object)".into(),
        deep.into_bytes(),
        -32602,
    ));
    let deep_meta = format!(
        "{{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"SendMessage\",\"params\":{{\"message\":{{\"messageId\":\"d\",\"role\":\"ROLE_USER\",\"parts\":[{{\"data\":{}1{}}}]}}}}}}",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    cases.push((
        "deeply nested data part".into(),
        deep_meta.into_bytes(),
        -32600,
    ));
    // wrong types in every position
    for (what, params) in [
        ("message is a number", json!({"message": 1})),
        (
            "parts is an object",
            json!({"message": {"messageId": "a", "role": "ROLE_USER", "parts": {"text": "x"}}}),
        ),
        (
            "metadata is an array",
            json!({"message": {"messageId": "a", "role": "ROLE_USER", "parts": [{"text": "x"}], "metadata": [1]}}),
        ),
        (
            "configuration is a string",
            json!({"message": {"messageId": "a", "role": "ROLE_USER", "parts": [{"text": "x"}]}, "configuration": "x"}),
        ),
        (
            "returnImmediately is a string",
            json!({"message": {"messageId": "a", "role": "ROLE_USER", "parts": [{"text": "x"}]}, "configuration": {"returnImmediately": "yes"}}),
        ),
        (
            "historyLength too big",
            json!({"message": {"messageId": "a", "role": "ROLE_USER", "parts": [{"text": "x"}]}, "configuration": {"historyLength": 1e20}}),
        ),
        (
            "a part with nothing",
            json!({"message": {"messageId": "a", "role": "ROLE_USER", "parts": [{"mediaType": "text/plain"}]}}),
        ),
        (
            "a part with two contents",
            json!({"message": {"messageId": "a", "role": "ROLE_USER", "parts": [{"text": "x", "data": {}}]}}),
        ),
        (
            "role as unknown number",
            json!({"message": {"messageId": "a", "role": 99, "parts": [{"text": "x"}]}}),
        ),
    ] {
        let body = serde_json::to_vec(
            &json!({"jsonrpc": "2.0", "id": 1, "method": "SendMessage", "params": params}),
        )
        .unwrap();
        cases.push((what.into(), body, -32602));
    }
    for (what, body, want) in cases {
        let (status, _, text) = s.raw("/", &h, body).await;
        assert_eq!(status, 200, "{what}");
        let v: Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{what}: not JSON ({e}): {text}"));
        assert_eq!(code(&v), want, "{what}: {v}");
        assert!(
            !v["error"]["message"].as_str().unwrap_or("").is_empty(),
            "{what}: a clear message"
        );
    }
    // nothing was created, nothing is stuck, and the server still works
    let list = s.rpc("ListTasks", json!({})).await;
    assert_eq!(list["result"]["totalSize"], 0, "{list}");
    assert!(s.runtime.log().active_tasks().unwrap().is_empty());
    assert_eq!(
        state(&s.send("after the storm").await["task"]),
        "TASK_STATE_COMPLETED"
    );
}
