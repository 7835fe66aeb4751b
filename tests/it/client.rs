//! The library client (`a2a_runtime::client`) against a real server, over JSON-RPC, REST and
//! gRPC.

use a2a_runtime::client::{Client, ClientError, ClientOptions, text_request};
use a2a_runtime::protocol::{
    CancelTaskRequest, GetTaskRequest, ListTasksRequest, SendMessageResponse, StreamResponse,
    TaskPushNotificationConfig, TaskState,
};

use crate::common::scripted;

/// Every event of a streamed send of `text`, to the stream's end.
async fn stream_of(client: &Client, text: &str) -> Vec<StreamResponse> {
    let mut stream = client
        .send_streaming(&text_request(text, None, None, false))
        .await
        .unwrap();
    let mut events = Vec::new();
    while let Some(ev) = stream.next().await {
        events.push(ev.unwrap());
    }
    events
}

/// Creates webhook `hook` on `task`, reads it back and lists it, then deletes it; returns what
/// creating it answered.
async fn push_config_round_trip(client: &Client, task: &str) -> TaskPushNotificationConfig {
    let cfg = TaskPushNotificationConfig {
        task_id: task.to_owned(),
        id: "hook".into(),
        url: "https://example.com/hook".into(),
        ..Default::default()
    };
    let made = client.create_push_config(&cfg).await.unwrap();
    assert_eq!(
        client.get_push_config(task, "hook").await.unwrap().url,
        cfg.url
    );
    assert_eq!(
        client.list_push_configs(task).await.unwrap().configs.len(),
        1
    );
    client.delete_push_config(task, "hook").await.unwrap();
    made
}

fn task_of(r: SendMessageResponse) -> a2a_runtime::protocol::Task {
    match r {
        SendMessageResponse::Task(t) => t,
        other => panic!("expected a task, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_client_works_over_both_http_bindings() {
    let (s, _) = scripted(|_| {}).await;
    for binding in ["JSONRPC", "HTTP+JSON", "GRPC"] {
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
        let events = stream_of(&client, "steps:2").await;
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
        // Push configs on it, through the client.
        let made = push_config_round_trip(&client, &waiting.id).await;
        assert_eq!(made.id, "hook");
        assert!(
            client
                .list_push_configs(&waiting.id)
                .await
                .unwrap()
                .configs
                .is_empty()
        );
        let err = client.extended_card().await.unwrap_err();
        assert_eq!(err.name(), "UNSUPPORTED_OPERATION", "{binding}: {err}");
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

mod misbehaving {
    //! A remote that answers as its plan says: 503 with Retry-After, garbage, a hang, 500s.

    use std::collections::VecDeque;
    use std::sync::{Arc, Mutex};
    use std::time::{Duration, Instant};

    use a2a_runtime::client::{
        BreakerPolicy, BreakerState, Client, ClientError, ClientOptions, RetryPolicy,
    };
    use a2a_runtime::protocol::GetTaskRequest;
    use axum::http::StatusCode;
    use axum::response::IntoResponse;
    use serde_json::json;

    #[derive(Clone, Copy, Debug)]
    enum Plan {
        Ok,
        Unavailable,
        Garbage,
        Hang,
        ServerError,
    }

    struct Remote {
        url: String,
        plan: Arc<Mutex<(VecDeque<Plan>, Plan)>>,
        calls: Arc<Mutex<usize>>,
    }

    impl Remote {
        async fn start() -> Self {
            let plan = Arc::new(Mutex::new((VecDeque::new(), Plan::Ok)));
            let calls = Arc::new(Mutex::new(0));
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let url = format!("http://{}", listener.local_addr().unwrap());
            let card = json!({"name": "flaky", "description": "", "version": "1",
                "supportedInterfaces": [{"url": format!("{url}/"), "protocolBinding": "JSONRPC", "protocolVersion": "1.0"}],
                "capabilities": {}, "defaultInputModes": [], "defaultOutputModes": [], "skills": []});
            let (p, c) = (plan.clone(), calls.clone());
            let app = axum::Router::new()
                .route(
                    "/.well-known/agent-card.json",
                    axum::routing::get(move || {
                        let card = card.clone();
                        async move { axum::Json(card) }
                    }),
                )
                .route(
                    "/",
                    axum::routing::post(move || {
                        let (p, c) = (p.clone(), c.clone());
                        async move {
                            *c.lock().unwrap() += 1;
                            let step = {
                                let mut p = p.lock().unwrap();
                                let then = p.1;
                                p.0.pop_front().unwrap_or(then)
                            };
                            match step {
                                Plan::Ok => axum::Json(json!({"jsonrpc": "2.0", "id": 1, "result": {
                                    "id": "t-1", "contextId": "c-1", "status": {"state": "TASK_STATE_COMPLETED"}}}))
                                .into_response(),
                                Plan::Unavailable => (
                                    StatusCode::SERVICE_UNAVAILABLE,
                                    [("retry-after", "1")],
                                    "busy",
                                )
                                    .into_response(),
                                Plan::Garbage => (StatusCode::OK, "<html>not json</html>").into_response(),
                                Plan::Hang => {
                                    tokio::time::sleep(Duration::from_secs(30)).await;
                                    StatusCode::OK.into_response()
                                }
                                Plan::ServerError => {
                                    (StatusCode::INTERNAL_SERVER_ERROR, "boom").into_response()
                                }
                            }
                        }
                    }),
                );
            tokio::spawn(async move {
                let _ = axum::serve(listener, app).await;
            });
            Self { url, plan, calls }
        }

        fn plan(&self, steps: &[Plan], then: Plan) {
            *self.plan.lock().unwrap() = (steps.iter().copied().collect(), then);
            *self.calls.lock().unwrap() = 0;
        }

        fn calls(&self) -> usize {
            *self.calls.lock().unwrap()
        }
    }

    fn get() -> GetTaskRequest {
        GetTaskRequest {
            id: "t-1".into(),
            ..GetTaskRequest::default()
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn retries_backoff_timeouts_garbage_and_the_breaker() {
        let remote = Remote::start().await;
        let opts = ClientOptions {
            idle_timeout: Duration::from_millis(300),
            retry: RetryPolicy {
                max_attempts: 3,
                base_backoff: Duration::from_millis(20),
                ..RetryPolicy::default()
            },
            breaker: BreakerPolicy {
                failures_to_open: 2,
                cool_down: Duration::from_millis(300),
            },
            ..ClientOptions::default()
        };
        let client = Client::discover(&remote.url, opts).await.unwrap();

        // 503 + Retry-After: 1, twice, then an answer: retried, waiting the asked second.
        remote.plan(&[Plan::Unavailable, Plan::Unavailable], Plan::Ok);
        let t0 = Instant::now();
        let task = client.get_task(&get()).await.unwrap();
        assert_eq!(task.id, "t-1");
        assert_eq!(remote.calls(), 3);
        assert!(
            t0.elapsed() >= Duration::from_millis(1900),
            "{:?}",
            t0.elapsed()
        );

        // Garbage: a clear error at once, not retried.
        remote.plan(&[Plan::Garbage], Plan::Ok);
        let err = client.get_task(&get()).await.unwrap_err();
        assert!(matches!(err, ClientError::Protocol(_)), "{err}");
        assert!(err.to_string().contains("not JSON"), "{err}");
        assert_eq!(remote.calls(), 1);

        // A hang: each attempt ends at the idle timeout; the call ends well before the hang does.
        remote.plan(&[Plan::Hang, Plan::Hang, Plan::Hang], Plan::Ok);
        let t0 = Instant::now();
        let err = client.get_task(&get()).await.unwrap_err();
        assert!(matches!(err, ClientError::Transport(_)), "{err}");
        assert!(t0.elapsed() < Duration::from_secs(5), "{:?}", t0.elapsed());
        assert_eq!(
            client.breaker_state(),
            BreakerState::Closed,
            "one failed call so far"
        );

        // A second failed call opens the breaker: the next call fails without reaching the remote.
        remote.plan(&[], Plan::ServerError);
        assert!(client.get_task(&get()).await.is_err());
        assert_eq!(client.breaker_state(), BreakerState::Open);
        let before = remote.calls();
        let err = client.get_task(&get()).await.unwrap_err();
        assert!(matches!(err, ClientError::CircuitOpen(_)), "{err}");
        assert_eq!(remote.calls(), before, "no call while open");

        // After the cool-down one trial goes through; it succeeds, and the breaker closes.
        remote.plan(&[], Plan::Ok);
        tokio::time::sleep(Duration::from_millis(350)).await;
        assert_eq!(client.breaker_state(), BreakerState::HalfOpen);
        client.get_task(&get()).await.unwrap();
        assert_eq!(client.breaker_state(), BreakerState::Closed);
    }
}

mod dropped_stream {
    //! A remote whose stream drops after two events: the client resubscribes with
    //! Last-Event-ID and the caller sees every event once.

    use std::sync::{Arc, Mutex};

    use a2a_runtime::client::{Client, ClientOptions, text_request};
    use a2a_runtime::protocol::StreamResponse;
    use axum::http::HeaderMap;
    use axum::response::IntoResponse;
    use serde_json::{Value, json};

    /// The calls the remote saw: method and Last-Event-ID.
    type Seen = Arc<Mutex<Vec<(String, Option<String>)>>>;

    fn sse(events: &[(u64, Value)]) -> axum::response::Response {
        let body: String = events
            .iter()
            .map(|(id, v)| {
                format!(
                    "id: {id}\ndata: {}\n\n",
                    json!({"jsonrpc": "2.0", "id": 1, "result": v})
                )
            })
            .collect();
        ([("content-type", "text/event-stream")], body).into_response()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_dropped_stream_is_resumed_from_the_last_event_id() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let card = json!({"name": "dropper", "description": "", "version": "1",
            "supportedInterfaces": [{"url": format!("{url}/"), "protocolBinding": "JSONRPC", "protocolVersion": "1.0"}],
            "capabilities": {"streaming": true}, "defaultInputModes": [], "defaultOutputModes": [], "skills": []});
        let seen: Seen = Arc::default();
        let s2 = seen.clone();
        let status = |state: &str| json!({"statusUpdate": {"taskId": "t", "contextId": "c", "status": {"state": state}}});
        let task = json!({"task": {"id": "t", "contextId": "c", "status": {"state": "TASK_STATE_SUBMITTED"}}});
        let artifact = json!({"artifactUpdate": {"taskId": "t", "contextId": "c", "artifact": {"artifactId": "a", "parts": [{"text": "x"}]}}});
        let (working, done) = (status("TASK_STATE_WORKING"), status("TASK_STATE_COMPLETED"));
        let app = axum::Router::new()
            .route(
                "/.well-known/agent-card.json",
                axum::routing::get(move || {
                    let card = card.clone();
                    async move { axum::Json(card) }
                }),
            )
            .route(
                "/",
                axum::routing::post(move |headers: HeaderMap, body: axum::Json<Value>| {
                    let seen = s2.clone();
                    let (task, working, artifact, done) = (
                        task.clone(),
                        working.clone(),
                        artifact.clone(),
                        done.clone(),
                    );
                    async move {
                        let method = body["method"].as_str().unwrap_or("").to_owned();
                        let last = headers
                            .get("last-event-id")
                            .map(|v| v.to_str().unwrap().to_owned());
                        seen.lock().unwrap().push((method.clone(), last.clone()));
                        match (method.as_str(), last.as_deref()) {
                            // The first stream ends after two events, before the task is done.
                            ("SendStreamingMessage", _) => sse(&[(1, task), (2, working)]),
                            ("SubscribeToTask", Some("2")) => sse(&[(3, artifact), (4, done)]),
                            _ => sse(&[]),
                        }
                    }
                }),
            );
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        let client = Client::discover(&url, ClientOptions::default())
            .await
            .unwrap();
        let mut stream = client
            .send_streaming(&text_request("go", None, None, false))
            .await
            .unwrap();
        let mut kinds = Vec::new();
        while let Some(ev) = stream.next().await {
            kinds.push(match ev.unwrap() {
                StreamResponse::Task(_) => "task",
                StreamResponse::StatusUpdate(u) if u.status.state.is_terminal() => "done",
                StreamResponse::StatusUpdate(_) => "working",
                StreamResponse::ArtifactUpdate(_) => "artifact",
                StreamResponse::Message(_) => "message",
            });
        }
        assert_eq!(
            kinds,
            ["task", "working", "artifact", "done"],
            "each event once, in order"
        );
        let seen = seen.lock().unwrap().clone();
        assert_eq!(
            seen,
            [
                ("SendStreamingMessage".to_owned(), None),
                ("SubscribeToTask".to_owned(), Some("2".to_owned()))
            ]
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cards_are_cached_as_cache_control_says_and_revalidated_with_etags() {
    use axum::http::{HeaderMap, StatusCode};
    use axum::response::IntoResponse;
    use std::sync::{Arc, Mutex};

    // (200s, 304s) served
    let hits: Arc<Mutex<(u32, u32)>> = Arc::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let card = serde_json::json!({"name": "cached", "description": "", "version": "1",
        "supportedInterfaces": [{"url": format!("{url}/"), "protocolBinding": "JSONRPC", "protocolVersion": "1.0"}],
        "capabilities": {}, "defaultInputModes": [], "defaultOutputModes": [], "skills": []});
    let h = hits.clone();
    let app = axum::Router::new().route(
        "/.well-known/agent-card.json",
        axum::routing::get(move |headers: HeaderMap| {
            let (h, card) = (h.clone(), card.clone());
            async move {
                let cache = [("cache-control", "max-age=1"), ("etag", "\"v1\"")];
                if headers.get("if-none-match").is_some_and(|v| v == "\"v1\"") {
                    h.lock().unwrap().1 += 1;
                    return (StatusCode::NOT_MODIFIED, cache).into_response();
                }
                h.lock().unwrap().0 += 1;
                (cache, axum::Json(card)).into_response()
            }
        }),
    );
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let first = Client::discover(&url, ClientOptions::default())
        .await
        .unwrap();
    assert_eq!(first.card().name, "cached");
    assert_eq!(*hits.lock().unwrap(), (1, 0));
    // Fresh: no request at all.
    Client::discover(&url, ClientOptions::default())
        .await
        .unwrap();
    assert_eq!(*hits.lock().unwrap(), (1, 0));
    // Stale: revalidated with the ETag, answered 304, the cached card used.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let again = Client::discover(&url, ClientOptions::default())
        .await
        .unwrap();
    assert_eq!(again.card().name, "cached");
    assert_eq!(*hits.lock().unwrap(), (1, 1));
}

mod auth {
    //! Bearer tokens from a provider: fetched once and reused, fetched again when they near
    //! expiry, and at once when the agent refuses one (401); a failing provider is a clear error.

    use std::collections::HashSet;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};
    use std::time::{Duration, Instant};

    use a2a_runtime::client::{Client, ClientOptions, Token};
    use a2a_runtime::protocol::GetTaskRequest;
    use axum::http::{HeaderMap, StatusCode};
    use axum::response::IntoResponse;
    use serde_json::json;

    /// An agent that accepts the tokens in `valid` and records what it was sent.
    async fn guarded(valid: Arc<Mutex<HashSet<String>>>, seen: Arc<Mutex<Vec<String>>>) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let card = json!({"name": "guarded", "description": "", "version": "1",
            "supportedInterfaces": [{"url": format!("{url}/"), "protocolBinding": "JSONRPC", "protocolVersion": "1.0"}],
            "capabilities": {}, "defaultInputModes": [], "defaultOutputModes": [], "skills": []});
        let app = axum::Router::new()
            .route(
                "/.well-known/agent-card.json",
                axum::routing::get(move || {
                    let card = card.clone();
                    async move { axum::Json(card) }
                }),
            )
            .route(
                "/",
                axum::routing::post(move |headers: HeaderMap| {
                    let (valid, seen) = (valid.clone(), seen.clone());
                    async move {
                        let token = headers
                            .get("authorization")
                            .and_then(|v| v.to_str().ok())
                            .and_then(|v| v.strip_prefix("Bearer "))
                            .unwrap_or("")
                            .to_owned();
                        seen.lock().unwrap().push(token.clone());
                        if !valid.lock().unwrap().contains(&token) {
                            return (StatusCode::UNAUTHORIZED, "no").into_response();
                        }
                        axum::Json(json!({"jsonrpc": "2.0", "id": 1, "result": {
                            "id": "t-1", "contextId": "c-1", "status": {"state": "TASK_STATE_COMPLETED"}}}))
                        .into_response()
                    }
                }),
            );
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        url
    }

    fn get() -> GetTaskRequest {
        GetTaskRequest {
            id: "t-1".into(),
            ..GetTaskRequest::default()
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn bearer_tokens_are_reused_refreshed_before_expiry_and_after_a_401() {
        let valid = Arc::new(Mutex::new(HashSet::new()));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let url = guarded(valid.clone(), seen.clone()).await;
        // Tokens live 30.5 s: the client refreshes 30 s early, so each is good for 0.5 s.
        let issued = Arc::new(AtomicUsize::new(0));
        let (v, n) = (valid.clone(), issued.clone());
        let opts = ClientOptions::default().bearer(move || {
            let (v, n) = (v.clone(), n.clone());
            async move {
                let t = format!("tok-{}", n.fetch_add(1, Ordering::SeqCst) + 1);
                v.lock().unwrap().insert(t.clone());
                Ok(Token {
                    value: t,
                    expires_at: Some(Instant::now() + Duration::from_millis(30_500)),
                })
            }
        });
        let client = Client::discover(&url, opts).await.unwrap();
        for _ in 0..3 {
            client.get_task(&get()).await.unwrap();
        }
        assert_eq!(
            issued.load(Ordering::SeqCst),
            1,
            "one token for three calls"
        );
        tokio::time::sleep(Duration::from_millis(700)).await;
        client.get_task(&get()).await.unwrap();
        assert_eq!(issued.load(Ordering::SeqCst), 2, "refreshed before expiry");

        // The agent revokes the token early: a 401, a fresh token, the call succeeds.
        valid.lock().unwrap().remove("tok-2");
        client.get_task(&get()).await.unwrap();
        assert_eq!(issued.load(Ordering::SeqCst), 3);
        let seen = seen.lock().unwrap().clone();
        assert_eq!(seen, ["tok-1", "tok-1", "tok-1", "tok-2", "tok-2", "tok-3"]);

        // A provider that fails: an AUTH error, and no request reaches the agent.
        let opts =
            ClientOptions::default().bearer(|| async { Err::<Token, _>("idp down".to_owned()) });
        let client = Client::discover(&url, opts).await.unwrap();
        let err = client.get_task(&get()).await.unwrap_err();
        assert_eq!(err.name(), "AUTH", "{err}");
        assert!(err.to_string().contains("idp down"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_client_speaks_0_3_to_an_agent_whose_card_offers_only_0_3() {
    let (s, _) = scripted(|_| {}).await;
    // This server's 0.3 card: `url`, `preferredTransport`, no `supportedInterfaces`.
    let client = Client::discover(
        &format!("{}/.well-known/agent.json", s.url),
        ClientOptions::default(),
    )
    .await
    .unwrap();
    assert_eq!(client.protocol_version(), "0.3");
    assert_eq!(client.binding(), "JSONRPC");
    assert_eq!(client.card().name, "scripted");

    let done = task_of(client.send_text("hello").await.unwrap());
    assert_eq!(done.status.state, TaskState::Completed);
    assert_eq!(
        done.artifacts[0].parts[0].text.as_deref(),
        Some("hello (turn with 1 messages)")
    );
    let got = client
        .get_task(&GetTaskRequest {
            id: done.id.clone(),
            ..GetTaskRequest::default()
        })
        .await
        .unwrap();
    assert_eq!(
        (got.id.as_str(), got.status.state),
        (done.id.as_str(), TaskState::Completed)
    );

    // A stream: 0.3 `kind`ed events come out as 1.0 StreamResponses.
    let events = stream_of(&client, "steps:2").await;
    assert!(matches!(events[0], StreamResponse::Task(_)), "{events:?}");
    let chunks = events
        .iter()
        .filter(|e| matches!(e, StreamResponse::ArtifactUpdate(_)))
        .count();
    assert_eq!(chunks, 2, "{events:?}");
    assert!(
        matches!(events.last(), Some(StreamResponse::StatusUpdate(u)) if u.status.state == TaskState::Completed)
    );

    // Multi-turn, push configs and cancel, all in 0.3.
    let waiting = task_of(client.send_text("input").await.unwrap());
    assert_eq!(waiting.status.state, TaskState::InputRequired);
    let made = push_config_round_trip(&client, &waiting.id).await;
    assert_eq!(
        (made.id.as_str(), made.task_id.as_str()),
        ("hook", waiting.id.as_str())
    );
    let canceled = client
        .cancel_task(&CancelTaskRequest {
            id: waiting.id.clone(),
            ..CancelTaskRequest::default()
        })
        .await
        .unwrap();
    assert_eq!(canceled.status.state, TaskState::Canceled);

    // Errors keep their names; ListTasks does not exist in 0.3.
    let err = client
        .get_task(&GetTaskRequest {
            id: "nope".into(),
            ..GetTaskRequest::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.name(), "TASK_NOT_FOUND", "{err}");
    let err = client
        .list_tasks(&ListTasksRequest::default())
        .await
        .unwrap_err();
    assert_eq!(err.name(), "UNSUPPORTED_OPERATION", "{err}");
    assert_eq!(
        client.breaker_state(),
        a2a_runtime::client::BreakerState::Closed
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cards_first_interface_wins_unless_the_caller_asks_otherwise() {
    let (s, _) = scripted(|_| {}).await;
    // A card (served elsewhere) that prefers REST, then JSON-RPC, both at the real server.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let card = serde_json::json!({"name": "prefers-rest", "description": "", "version": "1",
        "supportedInterfaces": [
            {"url": "http://127.0.0.1:9/ignored", "protocolBinding": "SLIMRPC", "protocolVersion": "1.0"},
            {"url": "https://127.0.0.1:9", "protocolBinding": "GRPC", "protocolVersion": "1.0"},
            {"url": s.url.clone(), "protocolBinding": "HTTP+JSON", "protocolVersion": "1.0"},
            {"url": format!("{}/", s.url), "protocolBinding": "JSONRPC", "protocolVersion": "1.0"}],
        "capabilities": {}, "defaultInputModes": [], "defaultOutputModes": [], "skills": []});
    let app = axum::Router::new().route(
        "/.well-known/agent-card.json",
        axum::routing::get(move || {
            let card = card.clone();
            async move { axum::Json(card) }
        }),
    );
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let client = Client::discover(&url, ClientOptions::default())
        .await
        .unwrap();
    assert_eq!(
        client.binding(),
        "HTTP+JSON",
        "the card's first one we speak"
    );
    let done = task_of(client.send_text("hello").await.unwrap());
    assert_eq!(done.status.state, TaskState::Completed);
    let opts = ClientOptions {
        bindings: vec!["GRPC".into(), "JSONRPC".into()],
        ..ClientOptions::default()
    };
    let client = Client::discover(&url, opts).await.unwrap();
    assert_eq!(
        client.binding(),
        "JSONRPC",
        "the caller's first one the card offers"
    );
    let opts = ClientOptions {
        bindings: vec!["GRPC".into()],
        ..ClientOptions::default()
    };
    let err = Client::discover(&url, opts).await.unwrap_err();
    assert!(err.to_string().contains("GRPC"), "{err}");
}
