//! SendStreamingMessage and SubscribeToTask over real SSE: order, ids, closing rules, resume.

use serde_json::{Value, json};

use crate::common::*;

fn msg(text: &str) -> Value {
    json!({"message": {"messageId": uuid(), "role": "ROLE_USER", "parts": [{"text": text}]}})
}

/// Sequence numbers are the SSE ids: consecutive, from `first`.
fn assert_consecutive(events: &[SseEvent], first: u64) {
    for (i, e) in events.iter().enumerate() {
        assert_eq!(
            e.id.as_deref(),
            Some((first + i as u64).to_string().as_str()),
            "{events:?}"
        );
        assert_eq!(e.event, None, "not an error event");
        assert_eq!(e.data["jsonrpc"], "2.0");
        assert_eq!(e.data["id"], 5, "each event is a response to the request");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_streamed_task_starts_with_the_task_and_closes_when_final() {
    let (s, _) = scripted(|_| {}).await;
    let events = s
        .stream_all("SendStreamingMessage", msg("slow:150"), None)
        .await;
    assert_consecutive(&events, 1);
    assert!(
        result(&events[0]).get("task").is_some(),
        "first the task: {events:?}"
    );
    assert_eq!(
        result(&events[1])["statusUpdate"]["status"]["state"],
        "TASK_STATE_WORKING"
    );
    assert!(result(&events[2]).get("artifactUpdate").is_some());
    let last = events.last().unwrap();
    assert_eq!(
        result(last)["statusUpdate"]["status"]["state"],
        "TASK_STATE_COMPLETED"
    );
    assert_eq!(
        events.len(),
        4,
        "and the stream closed after the final state"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bare_message_reply_streams_alone() {
    let (s, _) = scripted(|_| {}).await;
    let events = s
        .stream_all("SendStreamingMessage", msg("reply"), None)
        .await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(
        result(&events[0])["message"]["parts"][0]["text"],
        "direct answer"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_task_closes_the_stream() {
    let (s, _) = scripted(|_| {}).await;
    let events = s
        .stream_all("SendStreamingMessage", msg("input"), None)
        .await;
    let last = events.last().unwrap();
    assert_eq!(
        result(last)["statusUpdate"]["status"]["state"],
        "TASK_STATE_INPUT_REQUIRED"
    );
    // the follow-up streams from a snapshot of the task, then its new events
    let id = result(&events[0])["task"]["id"].clone();
    let follow = json!({"message": {"messageId": uuid(), "role": "ROLE_USER", "taskId": id, "parts": [{"text": "done"}]}});
    let more = s.stream_all("SendStreamingMessage", follow, None).await;
    assert!(result(&more[0]).get("task").is_some());
    assert_eq!(
        result(more.last().unwrap())["statusUpdate"]["status"]["state"],
        "TASK_STATE_COMPLETED"
    );
    let first_id: u64 = more[0].id.as_deref().unwrap().parse().unwrap();
    assert!(
        first_id > events.len() as u64 - 1,
        "ids keep counting across turns"
    );
    assert_consecutive(&more, first_id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscribe_starts_with_the_current_task() {
    let (s, _) = scripted(|_| {}).await;
    let r = s
        .send_msg(
            json!({"messageId": uuid(), "role": "ROLE_USER", "parts": [{"text": "slow:300"}]}),
            json!({"returnImmediately": true}),
        )
        .await;
    let id = r["task"]["id"].as_str().unwrap().to_owned();
    let events = s
        .stream_all("SubscribeToTask", json!({"id": id}), None)
        .await;
    assert_eq!(result(&events[0])["task"]["id"], id.as_str());
    let first: u64 = events[0].id.as_deref().unwrap().parse().unwrap();
    assert_consecutive(&events, first);
    assert_eq!(
        result(events.last().unwrap())["statusUpdate"]["status"]["state"],
        "TASK_STATE_COMPLETED"
    );
    // a final task: UnsupportedOperation as a plain JSON-RPC error, before any event
    let err = s
        .stream("SubscribeToTask", json!({"id": id}), None)
        .await
        .unwrap_err();
    assert_eq!(code(&err), -32004);
    let err = s
        .stream("SubscribeToTask", json!({"id": "no-such-task"}), None)
        .await
        .unwrap_err();
    assert_eq!(code(&err), -32001);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_stream_resumes_from_last_event_id_without_gap_or_duplicate() {
    let (s, _) = scripted(|_| {}).await;
    let mut first = s
        .stream("SendStreamingMessage", msg("slow:300"), None)
        .await
        .unwrap();
    let e1 = first.next().await.unwrap();
    let task_id = result(&e1)["task"]["id"].as_str().unwrap().to_owned();
    drop(first); // the connection drops after the first event; the task goes on
    let rest = s
        .stream_all("SubscribeToTask", json!({"id": task_id}), e1.id.as_deref())
        .await;
    assert_consecutive(&rest, 2);
    assert_eq!(
        result(rest.last().unwrap())["statusUpdate"]["status"]["state"],
        "TASK_STATE_COMPLETED"
    );
    // resuming from the start replays the same events, byte for byte the same results
    let all = s
        .stream_all("SubscribeToTask", json!({"id": task_id}), Some("0"))
        .await;
    assert_consecutive(&all, 1);
    assert_eq!(all.len(), rest.len() + 1);
    for (a, b) in all[1..].iter().zip(&rest) {
        assert_eq!(result(a), result(b));
    }
    // resuming a final task at its end closes at once
    let last = rest.last().unwrap().id.clone().unwrap();
    let none = s
        .stream_all("SubscribeToTask", json!({"id": task_id}), Some(&last))
        .await;
    assert!(none.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_streams_get_keep_alive_comments() {
    let http = a2a_runtime::transport::HttpConfig {
        keep_alive: std::time::Duration::from_millis(50),
        ..Default::default()
    };
    let (s, _) = scripted_with(http, |_| {}).await;
    let mut reader = s
        .stream("SendStreamingMessage", msg("slow:400"), None)
        .await
        .unwrap();
    while reader.next().await.is_some() {}
    assert!(
        reader.comments >= 2,
        "keep-alive comments while the task worked: {}",
        reader.comments
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscriber_that_never_reads_holds_up_nothing() {
    let (s, _) = scripted(|_| {}).await;
    // big events, so a reader that stops reading fills the socket buffers quickly
    let stalled = s
        .stream(
            "SendStreamingMessage",
            msg(&format!("slow:50:{}", "x".repeat(200_000))),
            None,
        )
        .await
        .unwrap();
    let r = s
        .send_msg(
            json!({"messageId": uuid(), "role": "ROLE_USER", "parts": [{"text": "slow:100"}]}),
            json!({"returnImmediately": true}),
        )
        .await;
    let id = r["task"]["id"].as_str().unwrap().to_owned();
    let events = s
        .stream_all("SubscribeToTask", json!({"id": id}), None)
        .await;
    assert_eq!(
        result(events.last().unwrap())["statusUpdate"]["status"]["state"],
        "TASK_STATE_COMPLETED"
    );
    // the stalled stream's own task finished too: the agent never waited for its reader
    let list = s
        .rpc("ListTasks", json!({"status": "TASK_STATE_COMPLETED"}))
        .await;
    assert_eq!(list["result"]["totalSize"], 2);
    drop(stalled);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_ends_streams_saying_where_to_resume() {
    let (s, _) = scripted(|_| {}).await;
    let mut reader = s
        .stream("SendStreamingMessage", msg("slow:3000"), None)
        .await
        .unwrap();
    let first = reader.next().await.unwrap();
    let second = reader.next().await.unwrap(); // WORKING
    assert_eq!(second.id.as_deref(), Some("2"));
    let runtime = s.runtime.clone();
    let stopping = tokio::spawn(async move {
        runtime
            .shutdown(std::time::Duration::from_millis(200))
            .await
    });
    let last = reader
        .next()
        .await
        .expect("a last event before the stream ends");
    assert_eq!(last.event.as_deref(), Some("error"));
    let info = &last.data["error"]["data"][0];
    assert_eq!(info["metadata"]["lastEventId"], "2", "{last:?}");
    assert_eq!(info["metadata"]["taskId"], result(&first)["task"]["id"]);
    assert!(
        last.data["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Last-Event-ID: 2")
    );
    assert!(reader.next().await.is_none(), "then the stream closes");
    stopping.await.unwrap().unwrap();
}
