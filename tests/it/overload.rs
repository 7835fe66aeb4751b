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
    let results = futures_util::future::join_all(calls).await;
    let ok = results.iter().filter(|(s, _)| *s == 200).count();
    let refused = results
        .iter()
        .filter(|(s, retry)| *s == 503 && *retry)
        .count();
    assert_eq!(ok + refused, 12, "{results:?}");
    assert!(ok >= 3 && refused >= 1, "{results:?}");
}
