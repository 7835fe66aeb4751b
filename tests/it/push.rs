//! Push notifications against a real webhook receiver on 127.0.0.1: config CRUD, headers and
//! order, retries through failures, 503 + Retry-After, timeouts and slowness, the dead-letter
//! queue and its retry, SSRF refusals, and isolation of a dead webhook.

use std::time::Duration;

use a2a_runtime::push::{AddressPolicy, PushSettings};
use a2a_runtime::transport::HttpConfig;
use serde_json::{Value, json};

use crate::common::{TestServer, code, scripted_full, state, uuid};
use crate::webhook::{Answer, Webhook};

/// Loopback allowed (the receiver is on 127.0.0.1), quick retries.
fn quick(max_attempts: u32) -> impl FnOnce(&mut a2a_runtime::RuntimeConfig) {
    move |c| {
        c.push = PushSettings {
            policy: AddressPolicy {
                allow_loopback: true,
                allow_private: false,
            },
            max_attempts,
            timeout: Duration::from_millis(700),
            backoff_base: Duration::from_millis(20),
            backoff_max: Duration::from_millis(200),
            ..PushSettings::default()
        }
    }
}

async fn server(max_attempts: u32) -> TestServer {
    server_with(max_attempts, |_| {}).await
}

/// [`quick`] settings, then `tweak`.
async fn server_with(max_attempts: u32, tweak: impl FnOnce(&mut PushSettings)) -> TestServer {
    let config = |c: &mut a2a_runtime::RuntimeConfig| {
        quick(max_attempts)(c);
        tweak(&mut c.push);
    };
    scripted_full(config, HttpConfig::default(), |_| {}).await.0
}

fn msg(text: &str) -> Value {
    json!({"messageId": uuid(), "role": "ROLE_USER", "parts": [{"text": text}]})
}

fn webhook_cfg(url: &str) -> Value {
    json!({"url": url, "token": "tok-1", "authentication": {"scheme": "Bearer", "credentials": "s3cret"}})
}

/// Sends `text` with an inline webhook and returns the task.
async fn send_with_webhook(s: &TestServer, text: &str, url: &str) -> Value {
    s.send_msg(
        msg(text),
        json!({"taskPushNotificationConfig": webhook_cfg(url)}),
    )
    .await["task"]
        .clone()
}

/// Event ids 1..=n, the whole log of a task that wrote n events.
fn all_ids(n: u64) -> Vec<u64> {
    (1..=n).collect()
}

/// Events of a task: how many the log holds (the last SSE id of a replay).
async fn event_count(s: &TestServer, task_id: &str) -> u64 {
    let resp = s
        .client
        .post(&s.url)
        .header("A2A-Version", "1.0")
        .header("Last-Event-ID", "0")
        .json(&json!({"jsonrpc": "2.0", "id": 1, "method": "SubscribeToTask", "params": {"id": task_id}}))
        .send()
        .await
        .unwrap();
    let events = crate::common::SseReader::new(resp).collect().await;
    events
        .last()
        .and_then(|e| e.id.as_deref())
        .and_then(|id| id.parse().ok())
        .expect("replayed events carry ids")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_event_reaches_the_webhook_in_order_with_its_headers() {
    let hook = Webhook::start().await;
    let s = server(5).await;
    let task = send_with_webhook(&s, "steps:3", &hook.url("/inline")).await;
    assert_eq!(state(&task), "TASK_STATE_COMPLETED");
    let id = task["id"].as_str().unwrap();
    let n = event_count(&s, id).await;
    assert!(n >= 6, "task, working, 3 artifacts, completed: {n}");
    assert!(
        hook.wait_delivered("/inline", n as usize, Duration::from_secs(10))
            .await
    );
    let hits = hook.delivered("/inline");
    assert_eq!(
        hits.iter().map(|h| h.event_id()).collect::<Vec<_>>(),
        all_ids(n)
    );
    for h in &hits {
        assert_eq!(h.headers["authorization"], "Bearer s3cret");
        assert_eq!(h.headers["x-a2a-notification-token"], "tok-1");
        assert_eq!(h.headers["content-type"], "application/a2a+json");
    }
    // StreamResponse bodies: the task first, then updates in the order they were written.
    assert_eq!(hits[0].body["task"]["id"], id);
    assert_eq!(
        hits[1].body["statusUpdate"]["status"]["state"],
        "TASK_STATE_WORKING"
    );
    for (i, h) in hits[2..5].iter().enumerate() {
        assert_eq!(
            h.body["artifactUpdate"]["artifact"]["name"],
            format!("step-{i}")
        );
        assert_eq!(h.body["artifactUpdate"]["taskId"], id);
    }
    assert_eq!(
        hits.last().unwrap().body["statusUpdate"]["status"]["state"],
        "TASK_STATE_COMPLETED"
    );
    // The inline config is stored under the task, its id defaulting to the task id.
    let got = s
        .rpc(
            "GetTaskPushNotificationConfig",
            json!({"taskId": id, "id": id}),
        )
        .await;
    assert_eq!(got["result"]["url"], hook.url("/inline"));
    assert_eq!(got["result"]["taskId"], id);
    assert!(s.runtime.dead_letters(0, 10).await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_config_crud_follows_the_spec() {
    let hook = Webhook::start().await;
    let s = server(5).await;
    let card = s.get_json("/.well-known/agent-card.json").await;
    assert_eq!(card["capabilities"]["pushNotifications"], true);

    let task = s.send_msg(msg("input"), json!({})).await["task"].clone();
    assert_eq!(state(&task), "TASK_STATE_INPUT_REQUIRED");
    let id = task["id"].as_str().unwrap();
    let create = |cfg: Value| s.rpc("CreateTaskPushNotificationConfig", cfg);

    let mut a = webhook_cfg(&hook.url("/a"));
    a["taskId"] = json!(id);
    a["id"] = json!("a");
    let created = create(a.clone()).await;
    assert_eq!(created["result"]["id"], "a", "{created}");
    assert_eq!(created["result"]["taskId"], id);
    assert_eq!(created["result"]["authentication"]["scheme"], "Bearer");
    // Without an id the task id is used; the same id again replaces.
    let unnamed = create(json!({"taskId": id, "url": hook.url("/b")})).await;
    assert_eq!(unnamed["result"]["id"], id);
    let replaced = create(json!({"taskId": id, "url": hook.url("/b2")})).await;
    assert_eq!(replaced["result"]["url"], hook.url("/b2"));

    let got = s
        .rpc(
            "GetTaskPushNotificationConfig",
            json!({"taskId": id, "id": "a"}),
        )
        .await;
    assert_eq!(got["result"], created["result"]);

    // Paged list: two configs, one per page.
    let page1 = s
        .rpc(
            "ListTaskPushNotificationConfigs",
            json!({"taskId": id, "pageSize": 1}),
        )
        .await;
    assert_eq!(page1["result"]["configs"].as_array().unwrap().len(), 1);
    let token = page1["result"]["nextPageToken"].as_str().unwrap();
    assert!(!token.is_empty());
    let page2 = s
        .rpc(
            "ListTaskPushNotificationConfigs",
            json!({"taskId": id, "pageSize": 1, "pageToken": token}),
        )
        .await;
    assert_eq!(page2["result"]["configs"].as_array().unwrap().len(), 1);
    assert!(page2["result"].get("nextPageToken").is_none(), "{page2}");
    assert_ne!(
        page1["result"]["configs"][0]["id"],
        page2["result"]["configs"][0]["id"]
    );
    let all = s
        .rpc("ListTaskPushNotificationConfigs", json!({"taskId": id}))
        .await;
    assert_eq!(all["result"]["configs"].as_array().unwrap().len(), 2);

    // Delete is idempotent; a deleted config is not found.
    for _ in 0..2 {
        let del = s
            .rpc(
                "DeleteTaskPushNotificationConfig",
                json!({"taskId": id, "id": "a"}),
            )
            .await;
        assert!(
            del.get("error").is_none() && del["result"].is_null(),
            "{del}"
        );
    }
    let gone = s
        .rpc(
            "GetTaskPushNotificationConfig",
            json!({"taskId": id, "id": "a"}),
        )
        .await;
    assert_eq!(code(&gone), -32001);

    // A deleted webhook hears nothing more; the remaining one hears the rest of the task.
    let follow = json!({"messageId": uuid(), "role": "ROLE_USER", "taskId": id, "parts": [{"text": "done now"}]});
    let done = s.send_msg(follow, json!({})).await["task"].clone();
    assert_eq!(state(&done), "TASK_STATE_COMPLETED");
    assert!(hook.wait_delivered("/b2", 3, Duration::from_secs(10)).await);
    let b2 = hook.delivered("/b2");
    assert_eq!(
        b2.last().unwrap().body["statusUpdate"]["status"]["state"],
        "TASK_STATE_COMPLETED"
    );
    assert!(hook.hits("/a").is_empty(), "deleted before any event");
    assert!(hook.hits("/b").is_empty(), "replaced before any event");

    // Errors: unknown task or config, bad page size or token, bad URL, missing fields.
    for (method, params, want) in [
        (
            "CreateTaskPushNotificationConfig",
            json!({"taskId": "nope", "url": hook.url("/x")}),
            -32001,
        ),
        (
            "GetTaskPushNotificationConfig",
            json!({"taskId": "nope", "id": "a"}),
            -32001,
        ),
        (
            "ListTaskPushNotificationConfigs",
            json!({"taskId": "nope"}),
            -32001,
        ),
        (
            "DeleteTaskPushNotificationConfig",
            json!({"taskId": "nope", "id": "a"}),
            -32001,
        ),
        (
            "GetTaskPushNotificationConfig",
            json!({"taskId": id, "id": "never"}),
            -32001,
        ),
        (
            "ListTaskPushNotificationConfigs",
            json!({"taskId": id, "pageSize": 101}),
            -32602,
        ),
        (
            "ListTaskPushNotificationConfigs",
            json!({"taskId": id, "pageToken": "!!"}),
            -32602,
        ),
        (
            "CreateTaskPushNotificationConfig",
            json!({"taskId": id, "url": "ftp://x/y"}),
            -32602,
        ),
        (
            "CreateTaskPushNotificationConfig",
            json!({"taskId": id}),
            -32602,
        ),
        (
            "CreateTaskPushNotificationConfig",
            json!({"taskId": id, "url": hook.url("/x"), "authentication": {"scheme": "Bearer", "credentials": "a\nb"}}),
            -32602,
        ),
    ] {
        let r = s.rpc(method, params.clone()).await;
        assert_eq!(code(&r), want, "{method} {params}: {r}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flaky_webhook_gets_every_event_at_least_once_in_order() {
    let hook = Webhook::start().await;
    let s = server(20).await;
    // Three failures, a 503 asking for 1 s, a timeout, a slow success, then a hiccup later on.
    hook.plan(
        "/flaky",
        &[
            Answer::Status(500),
            Answer::Status(502),
            Answer::Status(500),
            Answer::RetryAfter(1),
            Answer::Hang,
            Answer::Slow(Duration::from_millis(300)),
            Answer::Ok,
            Answer::Status(503),
        ],
        Answer::Ok,
    );
    let task = send_with_webhook(&s, "steps:4", &hook.url("/flaky")).await;
    let id = task["id"].as_str().unwrap();
    let n = event_count(&s, id).await;
    assert!(
        hook.wait_delivered("/flaky", n as usize, Duration::from_secs(30))
            .await
    );
    // In order: no event is delivered before every earlier one was.
    assert_eq!(hook.delivered_ids("/flaky"), all_ids(n));
    let hits = hook.hits("/flaky");
    assert!(
        hits.iter()
            .all(|h| h.headers["authorization"] == "Bearer s3cret")
    );
    // The first event was tried until it got through: 6 failures/timeouts, then the slow OK.
    assert!(
        hits[..6].iter().all(|h| h.event_id() == 1),
        "{:?}",
        hits.iter()
            .map(|h| (h.event_id(), h.answer))
            .collect::<Vec<_>>()
    );
    // Retry-After: 1 was honoured.
    let after_503 = hits[4].at.duration_since(hits[3].at);
    assert!(after_503 >= Duration::from_millis(950), "{after_503:?}");
    assert!(s.runtime.dead_letters(0, 10).await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_the_attempt_limit_deliveries_are_dead_lettered_and_a_retry_delivers_them() {
    let hook = Webhook::start().await;
    let s = server(3).await;
    hook.plan("/down", &[], Answer::Status(500));
    let task = send_with_webhook(&s, "steps:1", &hook.url("/down")).await;
    let id = task["id"].as_str().unwrap().to_owned();
    let n = event_count(&s, &id).await;
    let dead_all = crate::common::eventually(Duration::from_secs(20), || async {
        s.runtime.dead_letters(0, 100).await.unwrap().len() == n as usize
    })
    .await;
    assert!(dead_all, "{:?}", s.runtime.dead_letters(0, 100).await);
    let dead = s.runtime.dead_letters(0, 100).await.unwrap();
    assert_eq!(
        dead.iter().map(|(_, d)| d.seq).collect::<Vec<_>>(),
        all_ids(n)
    );
    for (_, d) in &dead {
        assert_eq!(d.attempts, 3);
        assert_eq!(d.task, id);
        assert!(
            d.error.contains("500") && d.error.contains("gave up after 3"),
            "{}",
            d.error
        );
    }
    assert_eq!(hook.hits("/down").len(), 3 * n as usize);

    // The admin route lists them; retrying all delivers them once the webhook is back.
    let listed: Value = s
        .client
        .get(format!("{}/admin/dlq", s.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed["deadLetters"].as_array().unwrap().len(), n as usize);
    assert_eq!(listed["deadLetters"][0]["taskId"], id.as_str());
    hook.plan("/down", &[], Answer::Ok);
    let retried: Value = s
        .client
        .post(format!("{}/admin/dlq/retry", s.url))
        .json(&json!({"all": true}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(retried["requeued"], n);
    assert!(
        hook.wait_delivered("/down", n as usize, Duration::from_secs(10))
            .await
    );
    assert_eq!(hook.delivered_ids("/down"), all_ids(n));
    assert!(s.runtime.dead_letters(0, 100).await.unwrap().is_empty());
    let bad = s
        .client
        .post(format!("{}/admin/dlq/retry", s.url))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_webhook_slows_neither_the_agent_nor_other_tasks() {
    let hook = Webhook::start().await;
    let s = server_with(5, |p| p.timeout = Duration::from_secs(60)).await;
    hook.plan("/dead", &[], Answer::Hang);
    // The agent finishes while its webhook hangs on the very first event.
    let stuck = send_with_webhook(&s, "steps:2", &hook.url("/dead")).await;
    assert_eq!(state(&stuck), "TASK_STATE_COMPLETED");
    // Other tasks' webhooks get everything while the dead one still hangs.
    let mut ids = Vec::new();
    for i in 0..5 {
        let t = send_with_webhook(&s, "steps:1", &hook.url(&format!("/live{i}"))).await;
        ids.push((i, event_count(&s, t["id"].as_str().unwrap()).await));
    }
    for (i, n) in ids {
        let path = format!("/live{i}");
        assert!(
            hook.wait_delivered(&path, n as usize, Duration::from_secs(10))
                .await,
            "{path}"
        );
    }
    let dead = hook.hits("/dead");
    assert_eq!(dead.len(), 1, "one attempt, still hanging");
    assert!(hook.delivered("/dead").is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_on_internal_addresses_are_refused_by_default() {
    let hook = Webhook::start().await;
    // Default policy: no loopback, no private networks.
    let s = scripted_full(
        |c| {
            c.push.backoff_base = Duration::from_millis(20);
        },
        HttpConfig::default(),
        |_| {},
    )
    .await
    .0;
    let task = s.send_msg(msg("input"), json!({})).await["task"].clone();
    let id = task["id"].as_str().unwrap();
    for (url, class) in [
        (hook.url("/x"), "loopback"),
        ("http://10.0.0.1/hook".to_owned(), "private"),
        (
            "http://169.254.169.254/latest/meta-data".to_owned(),
            "link-local",
        ),
        ("http://[::1]:9/hook".to_owned(), "loopback"),
        ("http://[::ffff:127.0.0.1]:9/hook".to_owned(), "loopback"),
    ] {
        let r = s
            .rpc(
                "CreateTaskPushNotificationConfig",
                json!({"taskId": id, "url": url}),
            )
            .await;
        assert_eq!(code(&r), -32602, "{url}: {r}");
        let msg = r["error"]["message"].as_str().unwrap();
        assert!(msg.contains(class), "{url}: {msg}");
    }
    // Inline on SendMessage too, before any task is made.
    let r = s
        .rpc(
            "SendMessage",
            json!({"message": msg("hello"), "configuration": {"taskPushNotificationConfig": {"url": "http://10.0.0.1/x"}}}),
        )
        .await;
    assert_eq!(code(&r), -32602);
    assert!(
        r["error"]["message"]
            .as_str()
            .unwrap()
            .contains("taskPushNotificationConfig.url")
    );

    // A name is judged by what it resolves to, when connecting: `localhost` is refused then,
    // straight into the dead-letter queue (retrying cannot help), and nothing reaches the host.
    let port = hook.base.rsplit(':').next().unwrap();
    let by_name = format!("http://localhost:{port}/named");
    let r = s
        .rpc(
            "CreateTaskPushNotificationConfig",
            json!({"taskId": id, "url": by_name}),
        )
        .await;
    assert!(r.get("result").is_some(), "{r}");
    let follow =
        json!({"messageId": uuid(), "role": "ROLE_USER", "taskId": id, "parts": [{"text": "go"}]});
    s.send_msg(follow, json!({})).await;
    let dead = crate::common::eventually(Duration::from_secs(10), || async {
        !s.runtime.dead_letters(0, 10).await.unwrap().is_empty()
    })
    .await;
    assert!(dead);
    let (_, d) = &s.runtime.dead_letters(0, 10).await.unwrap()[0];
    assert_eq!(d.attempts, 1, "refusals are not retried");
    assert!(d.error.contains("loopback"), "{}", d.error);
    assert!(hook.hits("/named").is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirects_are_not_followed_and_the_retry_window_bounds_retries() {
    let hook = Webhook::start().await;
    let s = server_with(100, |p| p.window = Duration::from_secs(1)).await;
    hook.plan("/moved", &[], Answer::Redirect);
    hook.plan("/busy", &[], Answer::RetryAfter(3));
    let moved = send_with_webhook(&s, "input", &hook.url("/moved")).await;
    let busy = send_with_webhook(&s, "input", &hook.url("/busy")).await;
    let dead = crate::common::eventually(Duration::from_secs(10), || async {
        s.runtime.dead_letters(0, 10).await.unwrap().len() >= 4
    })
    .await;
    assert!(dead, "{:?}", s.runtime.dead_letters(0, 10).await);
    for (_, d) in s.runtime.dead_letters(0, 10).await.unwrap() {
        if d.task == moved["id"].as_str().unwrap() {
            assert!(
                d.error.contains("302") && d.error.contains("redirects are not followed"),
                "{}",
                d.error
            );
            assert_eq!(d.attempts, 1);
        } else {
            assert_eq!(d.task, busy["id"].as_str().unwrap());
            // Retry-After: 3 does not fit in a 1 s window: given up, not retried early.
            assert!(
                d.error
                    .contains("retry window of 1 s used up after 1 attempts"),
                "{}",
                d.error
            );
        }
    }
    assert!(
        hook.hits("/redirected").is_empty(),
        "the redirect was not followed"
    );
    assert_eq!(
        hook.hits("/busy").len(),
        2,
        "one attempt per event (the task, input-required)"
    );
}

/// The push sender is a part of the node: killed, it is restarted, rescans the outbox and
/// delivers what was sent meanwhile and after.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_push_sender_is_restarted_and_delivers_everything() {
    use a2a_runtime::server::Part;
    let hook = Webhook::start().await;
    let s = server(5).await;
    let series = r#"a2a_node_restarts_total{part="push sender"}"#;
    let before = s.metric(series).await;
    assert!(s.server.kill_part(Part::PushSender));
    // Sent at once: maybe while no sender runs; the restarted one finds it in the outbox.
    let during = send_with_webhook(&s, "during", &hook.url("/during")).await;
    let restarted = crate::common::eventually(Duration::from_secs(10), || async {
        s.metric(series).await > before
    })
    .await;
    assert!(restarted, "the node restarted the push sender");
    let after = send_with_webhook(&s, "after", &hook.url("/after")).await;
    for (task, path) in [(during, "/during"), (after, "/after")] {
        let n = event_count(&s, task["id"].as_str().unwrap()).await;
        assert!(
            hook.wait_delivered(path, n as usize, Duration::from_secs(10))
                .await,
            "every event of the task sent {path} was delivered"
        );
    }
    let ready = s
        .client
        .get(format!("{}/readyz", s.url))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);
}
