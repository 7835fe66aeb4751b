//! Retention: a task keeps its newest events (a resume from before them gets the task and a
//! `resync` signal, never a silent gap); final tasks expire with everything they own.

use std::time::Duration;

use a2a_runtime::transport::HttpConfig;
use serde_json::json;

use crate::common::{code, result, scripted_full, state, uuid};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resume_from_before_the_kept_events_gets_the_task_and_a_resync_signal() {
    let (s, _) = scripted_full(
        |c| c.retention.max_events_per_task = 64,
        HttpConfig::default(),
        |_| {},
    )
    .await;
    // The task, working, 200 artifacts, completed: 203 events, of which the newest ~64 are kept.
    let task = s.send("steps:200").await["task"].clone();
    assert_eq!(state(&task), "TASK_STATE_COMPLETED");
    let id = task["id"].as_str().unwrap();
    // GetTask still has everything: the snapshot holds what the dropped events said.
    assert_eq!(
        s.get_task(id).await["artifacts"].as_array().unwrap().len(),
        200
    );

    let mut reader = s
        .stream("SubscribeToTask", json!({"id": id}), Some("5"))
        .await
        .expect("a stream");
    let first = reader.next().await.expect("an event");
    assert_eq!(first.event.as_deref(), Some("resync"));
    assert_eq!(first.id.as_deref(), Some("203"));
    assert_eq!(result(&first)["task"]["id"], id);
    assert_eq!(state(&result(&first)["task"]), "TASK_STATE_COMPLETED");
    assert_eq!(
        result(&first)["task"]["artifacts"]
            .as_array()
            .unwrap()
            .len(),
        200
    );
    assert!(reader.comments >= 1, "a comment names the skipped events");
    assert!(
        reader.next().await.is_none(),
        "a final task's stream ends there"
    );

    // From inside what is kept: the events themselves, no signal.
    let events = s
        .stream_all("SubscribeToTask", json!({"id": id}), Some("190"))
        .await;
    let ids: Vec<u64> = events
        .iter()
        .map(|e| e.id.as_deref().unwrap().parse().unwrap())
        .collect();
    assert_eq!(ids, (191..=203).collect::<Vec<_>>());
    assert!(events.iter().all(|e| e.event.is_none()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_final_tasks_go_with_everything_they_own() {
    let (s, agent) = scripted_full(|_| {}, HttpConfig::default(), |_| {}).await;
    let message_id = uuid();
    let done = s
        .send_msg(
            json!({"messageId": message_id, "role": "ROLE_USER", "parts": [{"text": "hi"}]}),
            json!({"taskPushNotificationConfig": {"url": "https://example.com/hook"}}),
        )
        .await["task"]
        .clone();
    let done_id = done["id"].as_str().unwrap().to_owned();
    let waiting = s.send("input").await["task"].clone();
    let waiting_id = waiting["id"].as_str().unwrap().to_owned();
    let reply = s.send("reply").await;
    assert!(reply.get("message").is_some());

    // Everything final before "now + 1 s" expires; the input-required task is not final.
    let cutoff = u64::try_from(a2a_runtime::protocol::Timestamp::now().unix_nanos()).unwrap()
        + Duration::from_secs(1).as_nanos() as u64;
    let reaped = s.runtime.log().reap(cutoff, 100).await.unwrap();
    assert_eq!(
        reaped, 2,
        "the completed task and the hidden bare-reply one"
    );

    assert_eq!(
        code(&s.rpc("GetTask", json!({"id": done_id})).await),
        -32001
    );
    let r = s
        .rpc(
            "GetTaskPushNotificationConfig",
            json!({"taskId": done_id, "id": done_id}),
        )
        .await;
    assert_eq!(code(&r), -32001);
    let listed = s.rpc("ListTasks", json!({})).await;
    assert_eq!(listed["result"]["totalSize"], 1);
    assert_eq!(listed["result"]["tasks"][0]["id"], waiting_id.as_str());
    assert_eq!(
        state(&s.get_task(&waiting_id).await),
        "TASK_STATE_INPUT_REQUIRED"
    );
    // The messageId is free again: a resend makes a new task (and runs the agent again).
    let again = s
        .send_msg(
            json!({"messageId": message_id, "role": "ROLE_USER", "parts": [{"text": "hi"}]}),
            json!({}),
        )
        .await["task"]
        .clone();
    assert_ne!(again["id"], done_id.as_str());
    assert_eq!(agent.runs_of(&message_id), 2);
    // Nothing of the reaped tasks is left in the log.
    let left = s.runtime.log().reap(cutoff, 100).await.unwrap();
    assert_eq!(left, 1, "only the new task, final since");
}
