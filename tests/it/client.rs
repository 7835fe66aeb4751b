//! The library client (`a2a_runtime::client`) against a real server, over JSON-RPC and REST.

use a2a_runtime::client::{Client, ClientError, ClientOptions, text_request};
use a2a_runtime::protocol::{
    CancelTaskRequest, GetTaskRequest, ListTasksRequest, SendMessageResponse, StreamResponse,
    TaskState,
};

use crate::common::scripted;

fn task_of(r: SendMessageResponse) -> a2a_runtime::protocol::Task {
    match r {
        SendMessageResponse::Task(t) => t,
        other => panic!("expected a task, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_client_works_over_both_http_bindings() {
    let (s, _) = scripted(|_| {}).await;
    for binding in ["JSONRPC", "HTTP+JSON"] {
        let opts = ClientOptions {
            bindings: vec![binding.into()],
            ..ClientOptions::default()
        };
        let client = Client::discover(&s.url, opts).await.unwrap();
        assert_eq!(client.binding(), binding);
        assert_eq!(client.card().name, "scripted");

        let done = task_of(client.send_text("hello").await.unwrap());
        assert_eq!(done.status.state, TaskState::Completed, "{binding}");
        let got = client
            .get_task(&GetTaskRequest {
                id: done.id.clone(),
                ..GetTaskRequest::default()
            })
            .await
            .unwrap();
        assert_eq!(got.id, done.id);
        let page = client
            .list_tasks(&ListTasksRequest::default())
            .await
            .unwrap();
        assert!(page.tasks.iter().any(|t| t.id == done.id));

        // A stream: the task, updates, the final state; then the stream ends.
        let mut stream = client
            .send_streaming(&text_request("steps:2", None, None, false))
            .await
            .unwrap();
        let mut events = Vec::new();
        while let Some(ev) = stream.next().await {
            events.push(ev.unwrap());
        }
        assert!(
            matches!(events[0], StreamResponse::Task(_)),
            "{binding}: {events:?}"
        );
        assert!(
            matches!(events.last(), Some(StreamResponse::StatusUpdate(u)) if u.status.state == TaskState::Completed)
        );
        assert_eq!(
            events
                .iter()
                .filter(|e| matches!(e, StreamResponse::ArtifactUpdate(_)))
                .count(),
            2
        );

        // Subscribe to a waiting task: it stays open until the cancel ends it.
        let waiting = task_of(client.send_text("input").await.unwrap());
        assert_eq!(waiting.status.state, TaskState::InputRequired);
        let mut sub = client.subscribe(&waiting.id, None).await.unwrap();
        assert!(matches!(
            sub.next().await,
            Some(Ok(StreamResponse::Task(_)))
        ));
        let canceled = client
            .cancel_task(&CancelTaskRequest {
                id: waiting.id.clone(),
                ..CancelTaskRequest::default()
            })
            .await
            .unwrap();
        assert_eq!(canceled.status.state, TaskState::Canceled);
        match sub.next().await {
            Some(Ok(StreamResponse::StatusUpdate(u))) => {
                assert_eq!(u.status.state, TaskState::Canceled)
            }
            other => panic!("{binding}: {other:?}"),
        }
        assert!(sub.next().await.is_none());

        // Errors carry the A2A reason.
        let err = client
            .get_task(&GetTaskRequest {
                id: "nope".into(),
                ..GetTaskRequest::default()
            })
            .await
            .unwrap_err();
        assert_eq!(err.name(), "TASK_NOT_FOUND", "{binding}: {err}");
        let err = client.subscribe(&done.id, None).await.unwrap_err();
        assert_eq!(err.name(), "UNSUPPORTED_OPERATION", "{binding}: {err}");
    }
    // A URL with no agent behind it is a clear error, not a hang.
    let err = Client::discover("http://127.0.0.1:9", ClientOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(err, ClientError::Transport(_)), "{err}");
}
