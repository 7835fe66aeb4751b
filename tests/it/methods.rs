//! Every method's success paths: SendMessage, GetTask, ListTasks, CancelTask, the agent card.

use std::collections::HashSet;
use std::sync::atomic::Ordering;
use std::time::Duration;

use serde_json::{Value, json};

use crate::common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_message_blocks_until_completed_with_an_artifact() {
    let s = TestServer::echo().await;
    let r = s.send("hello").await;
    let task = &r["task"];
    assert_eq!(state(task), "TASK_STATE_COMPLETED");
    assert_eq!(task["artifacts"][0]["parts"][0]["text"], "hello");
    assert_eq!(task["history"][0]["role"], "ROLE_USER");
    assert!(task["contextId"].as_str().is_some_and(|c| !c.is_empty()));
    assert!(task["status"]["timestamp"].as_str().is_some());
    // what was answered is what GetTask reads back
    let got = s.get_task(task["id"].as_str().unwrap()).await;
    assert_eq!(&got, task);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn return_immediately_answers_before_the_task_is_done() {
    let (s, _) = scripted(|_| {}).await;
    let r = s
        .send_msg(
            json!({"messageId": uuid(), "role": "ROLE_USER", "parts": [{"text": "slow:300"}]}),
            json!({"returnImmediately": true}),
        )
        .await;
    let st = state(&r["task"]).to_owned();
    assert!(
        st == "TASK_STATE_SUBMITTED" || st == "TASK_STATE_WORKING",
        "{st}"
    );
    let id = r["task"]["id"].as_str().unwrap().to_owned();
    let done = eventually(Duration::from_secs(5), || async {
        state(&s.get_task(&id).await) == "TASK_STATE_COMPLETED"
    })
    .await;
    assert!(done, "the task completes in the background");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bare_message_reply_is_answered_as_a_message() {
    let (s, _) = scripted(|_| {}).await;
    let r = s.send("reply").await;
    assert_eq!(r["message"]["role"], "ROLE_AGENT");
    assert_eq!(r["message"]["parts"][0]["text"], "direct answer");
    assert!(r.get("task").is_none());
    let list = s.rpc("ListTasks", json!({})).await;
    assert_eq!(
        list["result"]["totalSize"], 0,
        "no task was shown to the client, none is listed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_task_trims_history() {
    let (s, _) = scripted(|_| {}).await;
    let first = s.send("input").await;
    let id = first["task"]["id"].as_str().unwrap().to_owned();
    s.send_msg(json!({"messageId": uuid(), "role": "ROLE_USER", "taskId": id, "parts": [{"text": "again"}]}), json!({})).await;
    let full = s.get_task(&id).await;
    let n = full["history"].as_array().unwrap().len();
    assert!(n >= 3, "user, agent question, user: {full}");
    let none = s
        .rpc("GetTask", json!({"id": id, "historyLength": 0}))
        .await;
    assert!(none["result"].get("history").is_none());
    let one = s
        .rpc("GetTask", json!({"id": id, "historyLength": 1}))
        .await;
    assert_eq!(one["result"]["history"].as_array().unwrap().len(), 1);
    assert_eq!(
        one["result"]["history"][0],
        full["history"][n - 1],
        "the most recent one"
    );
    let neg = s
        .rpc("GetTask", json!({"id": id, "historyLength": -1}))
        .await;
    assert_eq!(code(&neg), -32602);
    let sent = s
        .send_msg(
            json!({"messageId": uuid(), "role": "ROLE_USER", "parts": [{"text": "x"}]}),
            json!({"historyLength": 0}),
        )
        .await;
    assert!(
        sent["task"].get("history").is_none(),
        "configuration.historyLength applies to the answer"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_tasks_filters_sorts_and_pages() {
    let (s, _) = scripted(|_| {}).await;
    let mut ids = Vec::new();
    for i in 0..7 {
        let ctx = if i % 2 == 0 { "ctx-even" } else { "ctx-odd" };
        let text = if i == 6 { "input" } else { "hi" };
        let r = s.send_msg(json!({"messageId": uuid(), "role": "ROLE_USER", "contextId": ctx, "parts": [{"text": text}]}), json!({})).await;
        ids.push(r["task"]["id"].as_str().unwrap().to_owned());
    }
    let all = s.rpc("ListTasks", json!({})).await["result"].clone();
    for k in ["tasks", "nextPageToken", "pageSize", "totalSize"] {
        assert!(all.get(k).is_some(), "{k} is always present: {all}");
    }
    assert_eq!(all["totalSize"], 7);
    assert_eq!(all["pageSize"], 50);
    assert_eq!(all["nextPageToken"], "");
    let listed: Vec<&str> = all["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    let mut newest_first: Vec<&str> = ids.iter().map(String::as_str).collect();
    newest_first.reverse();
    assert_eq!(listed, newest_first, "newest status first");
    assert!(
        all["tasks"][0].get("artifacts").is_none(),
        "artifacts absent unless asked for"
    );

    let even = s.rpc("ListTasks", json!({"contextId": "ctx-even"})).await["result"].clone();
    assert_eq!(even["totalSize"], 4);
    assert!(
        even["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["contextId"] == "ctx-even")
    );
    let waiting = s
        .rpc("ListTasks", json!({"status": "TASK_STATE_INPUT_REQUIRED"}))
        .await["result"]
        .clone();
    assert_eq!(waiting["totalSize"], 1);
    assert_eq!(waiting["tasks"][0]["id"], ids[6].as_str());
    // An unknown state (the official JS SDK sends "UNRECOGNIZED" when no filter is set) or
    // number is no filter, as protobuf's lenient JSON parsing reads it; a wrong type is refused.
    for unknown in [json!("UNRECOGNIZED"), json!(99)] {
        let r = s.rpc("ListTasks", json!({"status": unknown})).await;
        assert_eq!(
            r["result"]["totalSize"], 7,
            "{unknown} lists everything: {r}"
        );
    }
    let rest = s.rest_get("/tasks?status=UNRECOGNIZED").await;
    assert_eq!(rest["totalSize"], 7, "REST too: {rest}");
    // A state number as a string, as a REST query carries it, still filters.
    let waiting_rest = s.rest_get("/tasks?status=6").await;
    assert_eq!(
        waiting_rest["totalSize"], 1,
        "status=6 is INPUT_REQUIRED: {waiting_rest}"
    );
    let wrong = s.rpc("ListTasks", json!({"status": {"state": 1}})).await;
    assert_eq!(code(&wrong), -32602, "{wrong}");
    let both = s
        .rpc(
            "ListTasks",
            json!({"contextId": "ctx-odd", "status": "TASK_STATE_COMPLETED"}),
        )
        .await["result"]
        .clone();
    assert_eq!(both["totalSize"], 3);

    let with = s
        .rpc(
            "ListTasks",
            json!({"includeArtifacts": true, "historyLength": 0}),
        )
        .await["result"]
        .clone();
    assert!(with["tasks"][1]["artifacts"].is_array());
    assert!(with["tasks"][1].get("history").is_none());

    // pages of 3: every task exactly once, the last token empty
    let mut seen = Vec::new();
    let mut token = String::new();
    for page in 0.. {
        let r = s
            .rpc("ListTasks", json!({"pageSize": 3, "pageToken": token}))
            .await["result"]
            .clone();
        assert_eq!(r["totalSize"], 7);
        assert_eq!(r["pageSize"], 3);
        seen.extend(
            r["tasks"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t["id"].as_str().unwrap().to_owned()),
        );
        token = r["nextPageToken"].as_str().unwrap().to_owned();
        if token.is_empty() {
            assert_eq!(page, 2);
            break;
        }
    }
    assert_eq!(seen.len(), 7);
    assert_eq!(seen.iter().collect::<HashSet<_>>().len(), 7);

    // statusTimestampAfter keeps tasks whose status time is at or after it
    let cut = all["tasks"][2]["status"]["timestamp"]
        .as_str()
        .unwrap()
        .to_owned();
    let recent = s
        .rpc("ListTasks", json!({"statusTimestampAfter": cut}))
        .await["result"]
        .clone();
    assert_eq!(recent["totalSize"], 3);

    for bad in [
        json!({"pageSize": 0}),
        json!({"pageSize": 101}),
        json!({"pageToken": "not-a-token"}),
        json!({"historyLength": -2}),
    ] {
        assert_eq!(
            code(&s.rpc("ListTasks", bad.clone()).await),
            -32602,
            "{bad}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_reaches_the_running_handler() {
    let (s, agent) = scripted(|_| {}).await;
    let r = s
        .send_msg(
            json!({"messageId": uuid(), "role": "ROLE_USER", "parts": [{"text": "slow:5000"}]}),
            json!({"returnImmediately": true}),
        )
        .await;
    let id = r["task"]["id"].as_str().unwrap().to_owned();
    let canceled = s.rpc("CancelTask", json!({"id": id})).await;
    assert_eq!(
        state(&canceled["result"]),
        "TASK_STATE_CANCELED",
        "{canceled}"
    );
    let seen = eventually(Duration::from_secs(3), || async {
        agent.cancels_seen.load(Ordering::SeqCst) == 1
    })
    .await;
    assert!(seen, "the handler's cancellation token fired");
    assert_eq!(state(&s.get_task(&id).await), "TASK_STATE_CANCELED");
    let again = s.rpc("CancelTask", json!({"id": id})).await;
    assert_eq!(code(&again), -32002, "a final task is not cancelable");
    assert_eq!(again["error"]["data"][0]["reason"], "TASK_NOT_CANCELABLE");
    let unknown = s.rpc("CancelTask", json!({"id": "no-such-task"})).await;
    assert_eq!(code(&unknown), -32001);
    let done = s.send("hi").await;
    let cancel_done = s.rpc("CancelTask", json!({"id": done["task"]["id"]})).await;
    assert_eq!(code(&cancel_done), -32002);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancel_racing_completion_ends_in_exactly_one_final_state() {
    let (s, _) = scripted(|_| {}).await;
    for delay in [0u64, 1, 2, 3, 5, 8] {
        let r = s
            .send_msg(
                json!({"messageId": uuid(), "role": "ROLE_USER", "parts": [{"text": format!("slow:{delay}")}]}),
                json!({"returnImmediately": true}),
            )
            .await;
        let id = r["task"]["id"].as_str().unwrap().to_owned();
        let cancel = s.rpc("CancelTask", json!({"id": id})).await;
        let final_state = eventually(Duration::from_secs(3), || async {
            let t = s.get_task(&id).await;
            matches!(state(&t), "TASK_STATE_CANCELED" | "TASK_STATE_COMPLETED")
        })
        .await;
        assert!(final_state);
        let t = s.get_task(&id).await;
        match cancel.get("result") {
            Some(c) => assert_eq!(state(&t), "TASK_STATE_CANCELED", "cancel won: {c}"),
            None => {
                assert_eq!(code(&cancel), -32002);
                assert_eq!(state(&t), "TASK_STATE_COMPLETED");
            }
        }
        // and it stays there: no later event overwrote the final state
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert_eq!(state(&s.get_task(&id).await), state(&t));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_disconnects_does_not_cancel_its_task() {
    let (s, _) = scripted(|_| {}).await;
    let message_id = uuid();
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "SendMessage",
        "params": {"message": {"messageId": message_id, "role": "ROLE_USER", "parts": [{"text": "slow:400"}]}}});
    let quick = reqwest::Client::builder()
        .timeout(Duration::from_millis(100))
        .build()
        .unwrap();
    let r = quick
        .post(&s.url)
        .header("A2A-Version", "1.0")
        .json(&body)
        .send()
        .await;
    assert!(r.is_err(), "the client gave up before the task finished");
    // the same messageId finds the task, which finished anyway
    let done = eventually(Duration::from_secs(5), || async {
        let r = s.send_msg(json!({"messageId": message_id, "role": "ROLE_USER", "parts": [{"text": "slow:400"}]}), json!({})).await;
        state(&r["task"]) == "TASK_STATE_COMPLETED"
    })
    .await;
    assert!(done);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repeated_message_id_runs_the_agent_once() {
    let (s, agent) = scripted(|_| {}).await;
    let message_id = uuid();
    let msg =
        json!({"messageId": message_id, "role": "ROLE_USER", "parts": [{"text": "slow:100"}]});
    // a retry storm: the same message, concurrently and then again
    let mut calls = Vec::new();
    for _ in 0..20 {
        let s = &s;
        let msg = msg.clone();
        calls.push(async move { s.send_msg(msg, json!({})).await });
    }
    let results: Vec<Value> = futures_util::future::join_all(calls).await;
    let first = s.send_msg(msg.clone(), json!({})).await;
    let id = first["task"]["id"].as_str().unwrap();
    for r in &results {
        assert_eq!(r["task"]["id"], id, "every retry gets the original task");
        assert_eq!(
            state(&r["task"]),
            "TASK_STATE_COMPLETED",
            "a blocking retry waits for the original"
        );
    }
    assert_eq!(agent.runs_of(&message_id), 1);
    assert_eq!(
        s.rpc("ListTasks", json!({})).await["result"]["totalSize"],
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_cards_are_served_with_caching_headers() {
    let s = TestServer::echo().await;
    let resp = s
        .client
        .get(format!("{}/.well-known/agent-card.json", s.url))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let h = resp.headers().clone();
    assert!(h["cache-control"].to_str().unwrap().contains("max-age="));
    let etag = h["etag"].to_str().unwrap().to_owned();
    let last_modified = h["last-modified"].to_str().unwrap().to_owned();
    let card: Value = resp.json().await.unwrap();
    assert_eq!(card["name"], "echo");
    assert_eq!(card["supportedInterfaces"][0]["protocolBinding"], "JSONRPC");
    assert_eq!(card["supportedInterfaces"][0]["protocolVersion"], "1.0");
    assert_eq!(card["supportedInterfaces"][0]["url"], format!("{}/", s.url));
    assert_eq!(card["capabilities"]["streaming"], true);
    for k in [
        "name",
        "description",
        "version",
        "defaultInputModes",
        "defaultOutputModes",
        "skills",
    ] {
        assert!(card.get(k).is_some(), "{k}");
    }

    let inm = s
        .client
        .get(format!("{}/.well-known/agent-card.json", s.url))
        .header("If-None-Match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(inm.status(), 304);
    assert_eq!(inm.headers()["etag"].to_str().unwrap(), etag);
    let ims = s
        .client
        .get(format!("{}/.well-known/agent-card.json", s.url))
        .header("If-Modified-Since", &last_modified)
        .send()
        .await
        .unwrap();
    assert_eq!(ims.status(), 304);
    let stale = s
        .client
        .get(format!("{}/.well-known/agent-card.json", s.url))
        .header("If-None-Match", "\"other\"")
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status(), 200);

    let named: Value = s
        .client
        .get(format!("{}/agents/echo/.well-known/agent-card.json", s.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        named["supportedInterfaces"][0]["url"],
        format!("{}/agents/echo", s.url)
    );
    let missing = s
        .client
        .get(format!("{}/agents/nope/.well-known/agent-card.json", s.url))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    // the named endpoint serves the same agent
    let r = s.rpc_at("/agents/echo", "SendMessage", json!({"message": {"messageId": uuid(), "role": "ROLE_USER", "parts": [{"text": "x"}]}})).await;
    assert_eq!(state(&r["result"]["task"]), "TASK_STATE_COMPLETED");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agents_are_separate_task_spaces() {
    let s = TestServer::start(|rt| async move {
        for name in ["alpha", "beta"] {
            rt.add_agent(
                a2a_runtime::AgentSpec::new(name),
                a2a_runtime::agents::Echo::default(),
            )
            .await
            .unwrap();
        }
    })
    .await;
    let msg = json!({"message": {"messageId": "shared-id", "role": "ROLE_USER", "parts": [{"text": "x"}]}});
    let a = s.rpc_at("/agents/alpha", "SendMessage", msg.clone()).await["result"]["task"].clone();
    let b = s.rpc_at("/agents/beta", "SendMessage", msg).await["result"]["task"].clone();
    assert_ne!(
        a["id"], b["id"],
        "the same messageId sent to two agents makes two tasks"
    );
    let cross = s
        .rpc_at("/agents/beta", "GetTask", json!({"id": a["id"]}))
        .await;
    assert_eq!(
        code(&cross),
        -32001,
        "one agent's task is not found through another"
    );
    let list = s.rpc_at("/agents/alpha", "ListTasks", json!({})).await;
    assert_eq!(list["result"]["totalSize"], 1);
    let body = serde_json::to_vec(
        &json!({"jsonrpc": "2.0", "id": 1, "method": "GetTask", "params": {"id": a["id"]}}),
    )
    .unwrap();
    let (status, _, text) = s
        .raw(
            "/agents/gamma",
            &[("Content-Type", "application/json"), ("A2A-Version", "1.0")],
            body,
        )
        .await;
    assert_eq!(status, 404, "no such agent");
    assert_eq!(code(&serde_json::from_str(&text).unwrap()), -32600);
}
