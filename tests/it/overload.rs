//! Bounded mailboxes: a full agent answers 429 with Retry-After; nothing is lost or stuck.

use std::time::Duration;

use serde_json::{Value, json};

use crate::common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_mailbox_answers_429_and_loses_nothing() {
    let (s, _) = scripted(|spec| {
        spec.mailbox.capacity = 2;
        spec.mailbox.concurrency = 2;
        spec.mailbox.admission_timeout_ms = 50;
    })
    .await;
    let mut calls = Vec::new();
    for i in 0..50 {
        let s = &s;
        calls.push(async move {
            let body = json!({"jsonrpc": "2.0", "id": i, "method": "SendMessage",
                "params": {"message": {"messageId": format!("load-{i}"), "role": "ROLE_USER", "parts": [{"text": "slow:200"}]}}});
            let resp = s.client.post(&s.url).header("A2A-Version", "1.0").json(&body).send().await.unwrap();
            let status = resp.status().as_u16();
            let retry_after = resp.headers().get("retry-after").map(|v| v.to_str().unwrap().to_owned());
            let v: Value = resp.json().await.unwrap();
            (status, retry_after, v)
        });
    }
    let results = futures_util::future::join_all(calls).await;
    let mut accepted = 0;
    let mut rejected = 0;
    for (status, retry_after, v) in &results {
        match status {
            200 => {
                assert_eq!(state(&v["result"]["task"]), "TASK_STATE_COMPLETED", "{v}");
                accepted += 1;
            }
            429 => {
                assert_eq!(retry_after.as_deref(), Some("1"));
                assert_eq!(code(v), -32000);
                assert_eq!(v["error"]["data"][0]["reason"], "RESOURCE_EXHAUSTED");
                rejected += 1;
            }
            other => panic!("unexpected status {other}: {v}"),
        }
    }
    assert!(
        accepted >= 2 && rejected > 0,
        "accepted {accepted}, rejected {rejected}"
    );
    assert_eq!(accepted + rejected, 50);
    // every accepted task is there and final; no rejected one left a trace
    let list = s.rpc("ListTasks", json!({"pageSize": 100})).await["result"].clone();
    assert_eq!(list["totalSize"], accepted);
    assert!(
        list["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| state(t) == "TASK_STATE_COMPLETED")
    );
    // the mailbox drains back to empty
    let drained = eventually(Duration::from_secs(2), || async {
        s.runtime.mailbox_depth("scripted") == 0
    })
    .await;
    assert!(drained);
    let idle = eventually(Duration::from_secs(2), || async {
        s.runtime.live_tasks() == 0
    })
    .await;
    assert!(
        idle,
        "every task actor stopped once idle: memory goes back to where it was"
    );
    assert!(s.runtime.log().active_tasks().unwrap().is_empty());
    assert_eq!(s.runtime.log().queue_depth(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_past_the_server_limit_get_503_at_once() {
    let http = a2a_runtime::transport::HttpConfig {
        max_in_flight: 3,
        ..Default::default()
    };
    let (s, _) = scripted_with(http, |_| {}).await;
    let calls = (0..12).map(|i| {
        let s = &s;
        async move {
            let body = json!({"jsonrpc": "2.0", "id": i, "method": "SendMessage",
                "params": {"message": {"messageId": format!("cap-{i}"), "role": "ROLE_USER", "parts": [{"text": "slow:300"}]}}});
            let r = s.client.post(&s.url).header("A2A-Version", "1.0").json(&body).send().await.unwrap();
            (r.status().as_u16(), r.headers().get("retry-after").is_some())
        }
    });
    let series = r#"a2a_server_refused_total{limit="requests",binding="http"}"#;
    let before = s.metric(series).await;
    let results = futures_util::future::join_all(calls).await;
    let ok = results.iter().filter(|(s, _)| *s == 200).count();
    let refused = results
        .iter()
        .filter(|(s, retry)| *s == 503 && *retry)
        .count();
    assert_eq!(ok + refused, 12, "{results:?}");
    assert!(ok >= 3 && refused >= 1, "{results:?}");
    // Every 503 was counted (other tests of this process may add theirs).
    assert!(s.metric(series).await >= before + refused as f64);
}

/// gRPC shares the server's in-flight limit, and open streams (SSE and gRPC) have a bound of
/// their own: past it, a new stream is refused at once and starts no task.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_and_grpc_take_bounded_slots() {
    use a2a_runtime::client::{Client, ClientError, ClientOptions};
    let http = a2a_runtime::transport::HttpConfig {
        max_streams: 2,
        ..Default::default()
    };
    let (s, _) = scripted_with(http, |_| {}).await;
    let stream_body = |i: usize| {
        json!({"jsonrpc": "2.0", "id": i, "method": "SendStreamingMessage",
            "params": {"message": {"messageId": format!("stream-{i}"), "role": "ROLE_USER", "parts": [{"text": "slow:1500"}]}}})
    };
    let open = |i: usize| {
        s.client
            .post(&s.url)
            .header("A2A-Version", "1.0")
            .json(&stream_body(i))
            .send()
    };
    let a = open(1).await.unwrap();
    let b = open(2).await.unwrap();
    assert_eq!(a.status(), 200);
    assert_eq!(b.status(), 200);
    // The third SSE stream is refused with 429 and Retry-After.
    let c = open(3).await.unwrap();
    assert_eq!(c.status(), 429);
    assert!(c.headers().get("retry-after").is_some());
    let v: Value = c.json().await.unwrap();
    assert_eq!(v["error"]["data"][0]["reason"], "RESOURCE_EXHAUSTED", "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("open streams")
    );
    // So is a gRPC stream; a unary gRPC call still goes through.
    let mut opts = ClientOptions {
        bindings: vec!["GRPC".into()],
        ..ClientOptions::default()
    };
    opts.retry.max_attempts = 1;
    let grpc = Client::discover(&s.url, opts).await.unwrap();
    let req = a2a_runtime::client::text_request("x", None, None, false);
    match grpc.send_streaming(&req).await {
        Err(ClientError::A2a { reason, .. }) => assert_eq!(reason, "RESOURCE_EXHAUSTED"),
        Err(other) => panic!("expected RESOURCE_EXHAUSTED, got {other}"),
        Ok(_) => panic!("a third stream was opened"),
    }
    assert!(grpc.send_text("unary").await.is_ok());
    // The refused streams started no task.
    let list = s.rpc("ListTasks", json!({})).await["result"].clone();
    assert_eq!(
        list["totalSize"], 3,
        "two streamed tasks and the unary one: {list}"
    );
    // Once a stream ends, its slot is free again.
    drop(a);
    let freed = eventually(Duration::from_secs(5), || async {
        open(4).await.is_ok_and(|r| r.status() == 200)
    })
    .await;
    assert!(freed);
}

/// gRPC calls count against the same in-flight limit as HTTP ones.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_calls_past_the_server_limit_are_refused_at_once() {
    use a2a_runtime::client::{Client, ClientError, ClientOptions};
    let http = a2a_runtime::transport::HttpConfig {
        max_in_flight: 2,
        ..Default::default()
    };
    let (s, _) = scripted_with(http, |_| {}).await;
    let mut opts = ClientOptions {
        bindings: vec!["GRPC".into()],
        ..ClientOptions::default()
    };
    opts.retry.max_attempts = 1;
    let grpc = Client::discover(&s.url, opts).await.unwrap();
    let series = r#"a2a_server_refused_total{limit="requests",binding="grpc"}"#;
    let before = s.metric(series).await;
    let calls = (0..8).map(|_| grpc.send_text("slow:300"));
    let results = futures_util::future::join_all(calls).await;
    let ok = results.iter().filter(|r| r.is_ok()).count();
    let refused = results
        .iter()
        .filter(
            |r| matches!(r, Err(ClientError::A2a { reason, .. }) if reason == "RESOURCE_EXHAUSTED"),
        )
        .count();
    assert_eq!(ok + refused, 8, "{results:?}");
    assert!(ok >= 1 && refused >= 1, "{results:?}");
    assert!(s.metric(series).await >= before + refused as f64);
}
