//! Failures stay where they happen: a panicking or failing handler fails only its task; a dead
//! agent actor is restarted.

use std::time::Duration;

use serde_json::json;

use crate::common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn supervision_panic_in_handler_fails_only_its_task() {
    let (s, _) = scripted(|_| {}).await;
    let r = s.send("panic").await;
    assert_eq!(state(&r["task"]), "TASK_STATE_FAILED");
    let why = r["task"]["status"]["message"]["parts"][0]["text"]
        .as_str()
        .unwrap();
    assert!(why.contains("boom in handler"), "{why}");
    assert_eq!(
        state(&s.send("next").await["task"]),
        "TASK_STATE_COMPLETED",
        "the agent keeps serving"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn supervision_error_in_handler_fails_its_task_with_the_error() {
    let (s, _) = scripted(|_| {}).await;
    let r = s.send("fail").await;
    assert_eq!(state(&r["task"]), "TASK_STATE_FAILED");
    assert_eq!(
        r["task"]["status"]["message"]["parts"][0]["text"],
        "it broke"
    );
    assert_eq!(state(&s.send("next").await["task"]), "TASK_STATE_COMPLETED");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handler_that_returns_without_a_final_state_completes_its_task() {
    let (s, _) = scripted(|_| {}).await;
    assert_eq!(
        state(&s.send("silent").await["task"]),
        "TASK_STATE_COMPLETED"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_turn_that_times_out_fails() {
    let (s, agent) = scripted(|spec| {
        spec.timeouts.turn_secs = 1;
        spec.timeouts.cancel_grace_ms = 100;
    })
    .await;
    let r = s.send("slow:10000").await;
    assert_eq!(state(&r["task"]), "TASK_STATE_FAILED");
    assert!(
        r["task"]["status"]["message"]["parts"][0]["text"]
            .as_str()
            .unwrap()
            .contains("timed out")
    );
    assert_eq!(
        agent.cancels_seen.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "the handler was told to stop"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn supervision_agent_actor_failure_is_restarted() {
    let (s, _) = scripted(|spec| spec.restart.backoff_ms = 300).await;
    assert!(s.runtime.is_healthy("scripted"));
    assert!(s.runtime.crash_agent_actor("scripted"));
    let down = eventually(Duration::from_secs(3), || async {
        !s.runtime.is_healthy("scripted")
    })
    .await;
    assert!(down, "the actor died");
    let back = eventually(Duration::from_secs(3), || async {
        s.runtime.is_healthy("scripted")
    })
    .await;
    assert!(back, "restarted after its backoff");
    assert_eq!(
        state(&s.send("after restart").await["task"]),
        "TASK_STATE_COMPLETED"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn supervision_restart_intensity_marks_the_agent_unhealthy() {
    let (s, _) = scripted(|spec| {
        spec.restart.backoff_ms = 1;
        spec.restart.max_restarts = 2;
        spec.restart.window_secs = 60;
    })
    .await;
    for _ in 0..3 {
        let _ = eventually(Duration::from_secs(3), || async {
            s.runtime.crash_agent_actor("scripted")
        })
        .await;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let down = eventually(Duration::from_secs(3), || async {
        !s.runtime.is_healthy("scripted")
    })
    .await;
    assert!(down);
    let r = s.client.post(&s.url).header("A2A-Version", "1.0")
        .json(&json!({"jsonrpc": "2.0", "id": 1, "method": "SendMessage", "params": {"message": {"messageId": uuid(), "role": "ROLE_USER", "parts": [{"text": "x"}]}}}))
        .send().await.unwrap();
    let ready = s
        .client
        .get(format!("{}/readyz", s.url))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 503);
    assert!(ready.text().await.unwrap().contains("scripted"));
    assert_eq!(
        r.status(),
        429,
        "an agent that is down refuses with Retry-After instead of hanging"
    );
}
