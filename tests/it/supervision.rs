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
    // A name of its own, so the metrics below count only this test's agent.
    let (s, _) = scripted(|spec| {
        spec.name = "given-up".into();
        spec.restart.backoff_ms = 1;
        spec.restart.max_restarts = 2;
        spec.restart.window_secs = 60;
    })
    .await;
    for _ in 0..3 {
        let _ = eventually(Duration::from_secs(3), || async {
            s.runtime.crash_agent_actor("given-up")
        })
        .await;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let down = eventually(Duration::from_secs(3), || async {
        !s.runtime.is_healthy("given-up")
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
    assert!(ready.text().await.unwrap().contains("given-up"));
    assert_eq!(
        r.status(),
        429,
        "an agent that is down refuses with Retry-After instead of hanging"
    );
    // Two restarts, then given up on: the counters say exactly that.
    assert_eq!(
        s.metric(r#"a2a_agent_restarts_total{agent="given-up"}"#)
            .await,
        2.0
    );
    assert_eq!(
        s.metric(r#"a2a_agent_given_up_total{agent="given-up"}"#)
            .await,
        1.0
    );
}

/// Readiness as `/readyz` answers it: the status and the reasons it names.
async fn readyz(s: &TestServer) -> (u16, String) {
    let resp = s
        .client
        .get(format!("{}/readyz", s.url))
        .send()
        .await
        .expect("readyz answers");
    (
        resp.status().as_u16(),
        resp.text().await.unwrap_or_default(),
    )
}

/// The node restarts a listener that dies: `/readyz` names it while it is down, and it serves
/// again on the same address afterwards.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn supervision_kill_of_a_listener_rebinds_it() {
    use a2a_runtime::client::{Client, ClientOptions};
    use a2a_runtime::server::Part;
    let s = TestServer::echo().await;
    let grpc = || async {
        let opts = ClientOptions {
            bindings: vec!["GRPC".into()],
            ..ClientOptions::default()
        };
        let client = Client::discover(&s.url, opts).await?;
        assert_eq!(client.binding(), "GRPC");
        client.send_text("over grpc").await
    };
    assert!(grpc().await.is_ok(), "gRPC serves at first");
    assert_eq!(readyz(&s).await.0, 200);

    assert!(s.server.kill_part(Part::Grpc));
    let mut seen_down = None;
    let end = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let (status, why) = readyz(&s).await;
        match status {
            503 => seen_down = Some(why),
            200 if seen_down.is_some() => break,
            _ => {}
        }
        assert!(
            tokio::time::Instant::now() < end,
            "the gRPC listener came back"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let why = seen_down.unwrap_or_default();
    assert!(why.contains("grpc listener"), "{why}");
    assert!(grpc().await.is_ok(), "gRPC serves again after the restart");

    // The HTTP listener too: it rebinds the same port.
    assert!(s.server.kill_part(Part::Http));
    // A fresh connection each time: one kept alive from before would not show a new accept.
    let fresh = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let served = eventually(Duration::from_secs(10), || async {
        fresh
            .get(format!("{}/healthz", s.url))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
    })
    .await;
    assert!(served, "HTTP serves again on {}", s.url);
    assert_eq!(
        s.send("after").await["task"]["status"]["state"],
        "TASK_STATE_COMPLETED"
    );
    assert_eq!(readyz(&s).await.0, 200);
}

/// While the runtime drains (shutdown waits for running tasks), `/readyz` says so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_names_draining_while_tasks_finish() {
    let (s, _) = scripted(|_| {}).await;
    assert_eq!(readyz(&s).await.0, 200);
    let slow = s.rpc(
        "SendMessage",
        json!({"message": {"messageId": uuid(), "role": "ROLE_USER", "parts": [{"text": "slow:1500"}]}, "configuration": {"returnImmediately": true}}),
    );
    assert!(slow.await.get("result").is_some());
    let runtime = s.runtime.clone();
    let drain = tokio::spawn(async move { runtime.shutdown(Duration::from_secs(10)).await });
    let seen = eventually(Duration::from_secs(5), || async {
        let (status, why) = readyz(&s).await;
        status == 503 && why.contains("draining")
    })
    .await;
    assert!(seen, "readyz named the drain");
    drain.await.unwrap().expect("the drain flushed");
}

/// A `Server` dropped without `shutdown` stops listening, and its node does not bring the
/// listeners back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_server_stops_listening_for_good() {
    let dir = tempfile::tempdir().unwrap();
    let server = a2a_runtime::Server::builder(a2a_runtime::RuntimeConfig::new(dir.path()))
        .listen("127.0.0.1:0".parse().unwrap())
        .agent(
            a2a_runtime::AgentSpec::new("echo"),
            a2a_runtime::agents::Echo::default(),
        )
        .start()
        .await
        .unwrap();
    let addr = server.http_addr();
    assert!(tokio::net::TcpStream::connect(addr).await.is_ok());
    drop(server);
    let closed = eventually(Duration::from_secs(5), || async {
        tokio::net::TcpStream::connect(addr).await.is_err()
    })
    .await;
    assert!(closed, "the listener closed");
    // Past the node's first restart backoff (100 ms) and more: still nobody listens.
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "no listener came back"
    );
}

/// The reaper is a part of the node too: killed, it is restarted, and readiness comes back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn supervision_kill_of_the_reaper_restarts_it() {
    use a2a_runtime::server::Part;
    let s = TestServer::echo().await;
    let series = r#"a2a_node_restarts_total{part="reaper"}"#;
    let before = s.metric(series).await;
    assert!(s.server.kill_part(Part::Reaper));
    let restarted = eventually(Duration::from_secs(10), || async {
        s.metric(series).await > before
    })
    .await;
    assert!(restarted, "the node restarted the reaper");
    let ready = eventually(Duration::from_secs(10), || async {
        readyz(&s).await.0 == 200
    })
    .await;
    assert!(ready, "ready again: {:?}", readyz(&s).await);
}

/// The node watches the runtime's agent supervisor: if it dies, readiness says so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_agent_supervisor_makes_the_server_unready() {
    let s = TestServer::echo().await;
    assert_eq!(readyz(&s).await.0, 200);
    s.runtime.kill_agent_supervisor();
    let named = eventually(Duration::from_secs(5), || async {
        let (status, why) = readyz(&s).await;
        status == 503 && why.contains("agent supervisor")
    })
    .await;
    assert!(named, "{:?}", readyz(&s).await);
}

/// With a drain notice, `Server::shutdown` first makes `/readyz` say "draining" while requests
/// are still served; only then do the listeners close.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drain_notice_says_draining_while_still_serving() {
    let dir = tempfile::tempdir().unwrap();
    let mut spec = a2a_runtime::AgentSpec::new("echo");
    spec.default = true;
    let server = a2a_runtime::Server::builder(a2a_runtime::RuntimeConfig::new(dir.path()))
        .listen("127.0.0.1:0".parse().unwrap())
        .agent(spec, a2a_runtime::agents::Echo::default())
        .drain_notice(Duration::from_millis(1500))
        .start()
        .await
        .unwrap();
    let url = server.base_url();
    let client = reqwest::Client::new();
    let stopping = tokio::spawn(server.shutdown());
    let draining = eventually(Duration::from_secs(1), || async {
        let r = client.get(format!("{url}/readyz")).send().await.unwrap();
        r.status() == 503 && r.text().await.unwrap().contains("draining")
    })
    .await;
    assert!(draining, "readyz said draining during the notice");
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "SendMessage",
        "params": {"message": {"messageId": uuid(), "role": "ROLE_USER", "parts": [{"text": "still here"}]}}});
    let sent: serde_json::Value = client
        .post(&url)
        .header("A2A-Version", "1.0")
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        state(&sent["result"]["task"]),
        "TASK_STATE_COMPLETED",
        "{sent}"
    );
    stopping.await.unwrap().expect("a clean shutdown");
    let fresh = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    assert!(
        fresh.get(format!("{url}/healthz")).send().await.is_err(),
        "closed after the notice"
    );
}
