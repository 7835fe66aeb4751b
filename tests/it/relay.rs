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
