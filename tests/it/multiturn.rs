//! Multi-turn conversations: input-required, follow-ups, context rules, final tasks.

use serde_json::json;

use crate::common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_follow_up_continues_an_input_required_task_in_its_context() {
    let (s, _) = scripted(|_| {}).await;
    let first = s.send("input").await;
    let task = &first["task"];
    assert_eq!(state(task), "TASK_STATE_INPUT_REQUIRED");
    assert_eq!(task["status"]["message"]["parts"][0]["text"], "what next?");
    let (id, ctx) = (
        task["id"].as_str().unwrap(),
        task["contextId"].as_str().unwrap(),
    );

    // no contextId: inherited from the task
    let follow_up = uuid();
    let second = s.send_msg(json!({"messageId": follow_up, "role": "ROLE_USER", "taskId": id, "parts": [{"text": "done"}]}), json!({})).await;
    let t = &second["task"];
    assert_eq!(t["id"], id);
    assert_eq!(t["contextId"], ctx);
    assert_eq!(state(t), "TASK_STATE_COMPLETED");
    let history = t["history"].as_array().unwrap();
    assert_eq!(history.first().unwrap()["parts"][0]["text"], "input");
    assert!(
        history
            .iter()
            .any(|m| m["parts"][0]["text"] == "done" && m["contextId"] == ctx)
    );
    assert!(
        t["artifacts"][0]["parts"][0]["text"]
            .as_str()
            .unwrap()
            .starts_with("done")
    );

    // a retried follow-up (same messageId) gets the task, even though it is final now
    let again = s.send_msg(json!({"messageId": follow_up, "role": "ROLE_USER", "taskId": id, "parts": [{"text": "done"}]}), json!({})).await;
    assert_eq!(again["task"]["id"], id);
    assert_eq!(state(&again["task"]), "TASK_STATE_COMPLETED");

    // a final task accepts no more messages
    let late = s.rpc("SendMessage", json!({"message": {"messageId": uuid(), "role": "ROLE_USER", "taskId": id, "parts": [{"text": "more"}]}})).await;
    assert_eq!(code(&late), -32004);
    assert_eq!(late["error"]["data"][0]["reason"], "UNSUPPORTED_OPERATION");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mismatched_context_or_unknown_task_is_rejected() {
    let (s, _) = scripted(|_| {}).await;
    let first = s.send("input").await;
    let id = first["task"]["id"].as_str().unwrap();
    let wrong = s
        .rpc("SendMessage", json!({"message": {"messageId": uuid(), "role": "ROLE_USER", "taskId": id, "contextId": "another", "parts": [{"text": "x"}]}}))
        .await;
    assert_eq!(code(&wrong), -32602);
    assert!(
        wrong["error"]["message"]
            .as_str()
            .unwrap()
            .contains("contextId")
    );
    let unknown = s.rpc("SendMessage", json!({"message": {"messageId": uuid(), "role": "ROLE_USER", "taskId": "nope", "parts": [{"text": "x"}]}})).await;
    assert_eq!(code(&unknown), -32001);
    // the waiting task is untouched
    assert_eq!(state(&s.get_task(id).await), "TASK_STATE_INPUT_REQUIRED");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_context_id_from_the_client_starts_a_task_in_that_context() {
    let (s, _) = scripted(|_| {}).await;
    let a = s.send_msg(json!({"messageId": uuid(), "role": "ROLE_USER", "contextId": "conv-1", "parts": [{"text": "a"}]}), json!({})).await;
    let b = s.send_msg(json!({"messageId": uuid(), "role": "ROLE_USER", "contextId": "conv-1", "parts": [{"text": "b"}]}), json!({})).await;
    assert_eq!(a["task"]["contextId"], "conv-1");
    assert_eq!(b["task"]["contextId"], "conv-1");
    assert_ne!(a["task"]["id"], b["task"]["id"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_follow_up_sent_twice_at_once_runs_once() {
    let (s, agent) = scripted(|_| {}).await;
    let first = s.send("input").await;
    let id = first["task"]["id"].as_str().unwrap().to_owned();
    let follow_up = uuid();
    let msg = json!({"messageId": follow_up, "role": "ROLE_USER", "taskId": id, "parts": [{"text": "slow:100"}]});
    let (a, b) = tokio::join!(
        s.send_msg(msg.clone(), json!({})),
        s.send_msg(msg, json!({}))
    );
    for r in [&a, &b] {
        assert_eq!(r["task"]["id"], id.as_str());
        assert_eq!(state(&r["task"]), "TASK_STATE_COMPLETED", "{r}");
    }
    assert_eq!(agent.runs_of(&follow_up), 1);
    let t = s.get_task(&id).await;
    let copies = t["history"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["messageId"] == follow_up.as_str())
        .count();
    assert_eq!(
        copies, 1,
        "the refused duplicate left no trace in the history: {t}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn appending_to_an_artifact_that_does_not_exist_fails_the_task() {
    let (s, _) = scripted(|_| {}).await;
    let r = s.send("badappend").await;
    assert_eq!(state(&r["task"]), "TASK_STATE_FAILED");
    assert!(
        r["task"]["status"]["message"]["parts"][0]["text"]
            .as_str()
            .unwrap()
            .contains("does not exist")
    );
    assert!(
        r["task"].get("artifacts").is_none(),
        "nothing of the refused change was kept"
    );
}
