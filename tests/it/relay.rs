//! The `relay` kind: a task on one server relayed to an agent on another, events streamed back,
//! follow-ups continued, and a cancel that cascades to the remote task.

use std::time::Duration;

use a2a_runtime::AgentSpec;
use a2a_runtime::agents::Relay;
use serde_json::json;

use crate::common::{TestServer, eventually, scripted, state, uuid};

async fn relay_to(remote: &TestServer) -> TestServer {
    let url = remote.url.clone();
    TestServer::start(|rt| async move {
        let mut spec = AgentSpec::new("relay");
        spec.default = true;
        rt.add_agent(spec, Relay::new(url)).await.unwrap();
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relayed_task_mirrors_the_remote_one() {
    let (remote, _) = scripted(|_| {}).await;
    let relay = relay_to(&remote).await;

    let done = relay.send("steps:2").await["task"].clone();
    assert_eq!(state(&done), "TASK_STATE_COMPLETED", "{done}");
    let names: Vec<&str> = done["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["step-0", "step-1"]);
    let remote_tasks = remote.rpc("ListTasks", json!({})).await;
    assert_eq!(remote_tasks["result"]["totalSize"], 1);

    // Multi-turn: the follow-up continues the same remote task.
    let waiting = relay.send("input").await["task"].clone();
    assert_eq!(state(&waiting), "TASK_STATE_INPUT_REQUIRED", "{waiting}");
    let id = waiting["id"].as_str().unwrap();
    let follow = json!({"messageId": uuid(), "role": "ROLE_USER", "taskId": id, "parts": [{"text": "carry on"}]});
    let finished = relay.send_msg(follow, json!({})).await["task"].clone();
    assert_eq!(state(&finished), "TASK_STATE_COMPLETED", "{finished}");
    let listed = remote.rpc("ListTasks", json!({"historyLength": 10})).await;
    assert_eq!(
        listed["result"]["totalSize"], 2,
        "no new remote task for the follow-up"
    );
    let continued = listed["result"]["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["history"].as_array().unwrap().len() > 2)
        .expect("the remote task got the follow-up");
    assert_eq!(state(continued), "TASK_STATE_COMPLETED");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn canceling_a_relayed_task_cancels_the_remote_task() {
    let (remote, _) = scripted(|_| {}).await;
    let relay = relay_to(&remote).await;
    let started = relay
        .send_msg(
            json!({"messageId": uuid(), "role": "ROLE_USER", "parts": [{"text": "slow:10000"}]}),
            json!({"returnImmediately": true}),
        )
        .await["task"]
        .clone();
    let id = started["id"].as_str().unwrap().to_owned();
    // Wait for the remote task to be working.
    let working = eventually(Duration::from_secs(10), || async {
        let l = remote
            .rpc("ListTasks", json!({"status": "TASK_STATE_WORKING"}))
            .await;
        l["result"]["totalSize"] == 1
    })
    .await;
    assert!(working);
    let canceled = relay.rpc("CancelTask", json!({"id": id})).await;
    assert_eq!(
        state(&canceled["result"]),
        "TASK_STATE_CANCELED",
        "{canceled}"
    );
    let cascaded = eventually(Duration::from_secs(10), || async {
        let l = remote
            .rpc("ListTasks", json!({"status": "TASK_STATE_CANCELED"}))
            .await;
        l["result"]["totalSize"] == 1
    })
    .await;
    assert!(cascaded, "the remote task was canceled too");
}

/// A remote that records the `x-api-key` of every request and answers every stream with a
/// completed task.
async fn key_recorder(seen: std::sync::Arc<std::sync::Mutex<Vec<String>>>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let card = json!({"name": "keyed", "description": "", "version": "1",
        "supportedInterfaces": [{"url": format!("{url}/"), "protocolBinding": "JSONRPC", "protocolVersion": "1.0"}],
        "capabilities": {"streaming": true}, "defaultInputModes": [], "defaultOutputModes": [], "skills": []});
    let record = move |headers: &axum::http::HeaderMap| {
        let key = headers
            .get("x-api-key")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("-");
        seen.lock().unwrap().push(key.to_owned());
    };
    let r2 = record.clone();
    let app = axum::Router::new()
        .route(
            "/.well-known/agent-card.json",
            axum::routing::get(move |h: axum::http::HeaderMap| {
                record(&h);
                let card = card.clone();
                async move { axum::Json(card) }
            }),
        )
        .route(
            "/",
            axum::routing::post(move |h: axum::http::HeaderMap| {
                r2(&h);
                async move {
                    let task = json!({"jsonrpc": "2.0", "id": 1, "result": {"task": {"id": "r-1",
                        "contextId": "c-1", "status": {"state": "TASK_STATE_COMPLETED"}}}});
                    (
                        [("content-type", "text/event-stream")],
                        format!("id: 1\ndata: {task}\n\n"),
                    )
                }
            }),
        );
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    url
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relay_calls_its_remote_with_the_headers_its_manifest_names() {
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let remote = key_recorder(seen.clone()).await;
    // The value comes from the environment (PATH: set wherever tests run).
    let settings: toml::Table = toml::from_str(&format!(
        "url = \"{remote}\"\nheaders = {{ X-Api-Key = \"k-${{PATH}}\" }}"
    ))
    .unwrap();
    let want = format!("k-{}", std::env::var("PATH").unwrap());
    // Started the way `a2a serve` starts a manifest: the remote is registered with its headers
    // up front (so a cascading cancel after a restart carries them), without calling it yet.
    let server = TestServer::start(|rt| async move {
        let mut spec = AgentSpec::new("relay");
        spec.default = true;
        spec.kind = "relay".into();
        spec.settings = settings;
        a2a_runtime::agents::spawn(&rt, spec).await.unwrap();
    })
    .await;
    assert!(
        seen.lock().unwrap().is_empty(),
        "no request before a task needs one"
    );
    let t = server.send("hello").await["task"].clone();
    assert_eq!(state(&t), "TASK_STATE_COMPLETED", "{t}");
    let seen = seen.lock().unwrap().clone();
    assert!(seen.len() >= 2, "card and call: {seen:?}");
    assert!(seen.iter().all(|k| *k == want), "{seen:?}");

    // A variable that is not set stops the manifest, naming it.
    let settings: toml::Table = toml::from_str(
        "url = \"http://x\"\nheaders = { X-Api-Key = \"${A2A_TEST_NOT_SET_ANYWHERE}\" }",
    )
    .unwrap();
    let err = Relay::from_settings(&settings).unwrap_err();
    assert!(err.contains("A2A_TEST_NOT_SET_ANYWHERE"), "{err}");
}
