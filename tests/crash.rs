//! The real `a2a` binary, killed with SIGKILL under load and restarted on the same data
//! directory; stopped with SIGTERM; refused a bad configuration; its push deliveries surviving a
//! SIGKILL, and `a2a dlq` listing and retrying dead letters.

#[path = "support/binary.rs"]
mod binary;
#[path = "support/webhook.rs"]
mod webhook;

use binary::Server;

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

fn manifest(dir: &Path, name: &str, delay_ms: u64, on_restart: &str) {
    let text = format!(
        "name = \"{name}\"\nkind = \"echo\"\n[settings]\ndelay_ms = {delay_ms}\n[mailbox]\ncapacity = 1024\nconcurrency = 512\n[recovery]\non_restart = \"{on_restart}\"\n"
    );
    std::fs::write(dir.join(format!("{name}.toml")), text).unwrap();
}

/// A data directory, and an actors directory holding the `(name, delay ms, on_restart)` agents.
fn dirs(agents: &[(&str, u64, &str)]) -> (tempfile::TempDir, tempfile::TempDir) {
    let data = tempfile::tempdir().unwrap();
    let actors = tempfile::tempdir().unwrap();
    for (name, delay_ms, on_restart) in agents {
        manifest(actors.path(), name, *delay_ms, on_restart);
    }
    (data, actors)
}

async fn rpc(
    client: &reqwest::Client,
    url: &str,
    method: &str,
    params: Value,
) -> Result<Value, reqwest::Error> {
    client
        .post(url)
        .header("A2A-Version", "1.0")
        .json(&json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}))
        .send()
        .await?
        .json()
        .await
}

async fn all_tasks(client: &reqwest::Client, url: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut token = String::new();
    loop {
        let r = rpc(
            client,
            url,
            "ListTasks",
            json!({"pageSize": 100, "pageToken": token, "includeArtifacts": true}),
        )
        .await
        .unwrap();
        out.extend(r["result"]["tasks"].as_array().unwrap().iter().cloned());
        token = r["result"]["nextPageToken"].as_str().unwrap().to_owned();
        if token.is_empty() {
            return out;
        }
    }
}

fn state(t: &Value) -> &str {
    t["status"]["state"].as_str().unwrap_or("")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_under_load_loses_no_acknowledged_task() {
    let (data, actors) = dirs(&[("resumer", 300, "resume"), ("failer", 300, "fail")]);
    let server = Server::start(data.path(), actors.path());
    let client = reqwest::Client::new();

    // 240 blocking sends, started over ~700 ms, each taking 300 ms; the kill comes once 20 are
    // answered, so some are answered, some in flight, some not yet sent, however fast the machine.
    let answers = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut calls = Vec::new();
    for i in 0..240u64 {
        let agent = if i % 2 == 0 { "resumer" } else { "failer" };
        let url = format!("{}/agents/{agent}", server.url);
        let client = client.clone();
        let message_id = format!("crash-{i}");
        let answers = answers.clone();
        calls.push(tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(i * 3)).await;
            let params = json!({"message": {"messageId": message_id, "role": "ROLE_USER", "parts": [{"text": format!("n{i}")}]}});
            let r = rpc(&client, &url, "SendMessage", params).await;
            let result = r.ok().and_then(|v| v.get("result").cloned());
            if result.is_some() {
                answers.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
            (agent, message_id, result)
        }));
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    while answers.load(std::sync::atomic::Ordering::SeqCst) < 20 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let mut server = server;
    server.child.kill().unwrap(); // SIGKILL
    server.child.wait().unwrap();
    let mut answered: HashMap<String, (&str, Value)> = HashMap::new();
    let mut unanswered = Vec::new();
    for c in calls {
        let (agent, id, result) = c.await.unwrap();
        match result {
            Some(r) => {
                answered.insert(id, (agent, r["task"].clone()));
            }
            None => unanswered.push((agent, id)),
        }
    }
    assert!(
        answered.len() >= 10,
        "some sends were answered before the kill ({})",
        answered.len()
    );
    assert!(
        unanswered.len() >= 10,
        "some were cut off by the kill ({})",
        unanswered.len()
    );
    drop(server);

    let server = Server::start(data.path(), actors.path());
    // every acknowledged task is there, as it was acknowledged
    for (id, (agent, task)) in &answered {
        let url = format!("{}/agents/{agent}", server.url);
        let got = rpc(&client, &url, "GetTask", json!({"id": task["id"]}))
            .await
            .unwrap();
        assert_eq!(
            got["result"]["status"]["state"], task["status"]["state"],
            "{id}: {got}"
        );
        assert_eq!(got["result"]["artifacts"], task["artifacts"], "{id}");
    }
    // interrupted tasks end as configured: resumed ones complete, the others fail
    let deadline = Instant::now() + Duration::from_secs(20);
    let (mut resumed, mut failed) = (0, 0);
    for agent in ["resumer", "failer"] {
        let url = format!("{}/agents/{agent}", server.url);
        let tasks = loop {
            let tasks = all_tasks(&client, &url).await;
            if tasks
                .iter()
                .all(|t| matches!(state(t), "TASK_STATE_COMPLETED" | "TASK_STATE_FAILED"))
                || Instant::now() > deadline
            {
                break tasks;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        let mut per_message: HashMap<String, usize> = HashMap::new();
        for t in &tasks {
            *per_message
                .entry(t["history"][0]["messageId"].as_str().unwrap().to_owned())
                .or_default() += 1;
            match (agent, state(t)) {
                ("resumer", "TASK_STATE_COMPLETED") | ("failer", "TASK_STATE_COMPLETED") => {}
                ("failer", "TASK_STATE_FAILED") => {
                    failed += 1;
                    assert!(
                        t["status"]["message"]["parts"][0]["text"]
                            .as_str()
                            .unwrap()
                            .contains("restarted")
                    );
                }
                other => panic!("{agent}: task left in {other:?}: {t}"),
            }
            let id = t["history"][0]["messageId"].as_str().unwrap();
            if state(t) == "TASK_STATE_COMPLETED" {
                assert_eq!(
                    t["artifacts"][0]["parts"][0]["text"], t["history"][0]["parts"][0]["text"],
                    "{t}"
                );
            }
            if agent == "resumer"
                && !answered.contains_key(id)
                && t["artifacts"][0]["metadata"]["attempt"] == 2
            {
                // the handler ran again after the restart, and knew it was a retry
                resumed += 1;
            }
        }
        let dups: Vec<_> = per_message.iter().filter(|(_, n)| **n > 1).collect();
        assert!(
            dups.is_empty(),
            "no messageId made two tasks: {dups:?} of {}",
            tasks.len()
        );
    }
    assert!(
        resumed > 0,
        "some interrupted tasks were resumed to completion"
    );
    assert!(
        failed > 0,
        "some interrupted tasks were failed as configured"
    );

    // retrying every send (a client whose call was cut off) creates nothing twice, also once
    // the idempotency claims are checked against the filter the restart loaded from the log
    let deadline = Instant::now() + Duration::from_secs(20);
    while !metrics(&client, &server.url)
        .await
        .contains("a2a_store_claim_filter_ready 1")
    {
        assert!(Instant::now() < deadline, "the claim filter never loaded");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let retries = unanswered.iter().map(|(agent, id)| {
        let url = format!("{}/agents/{agent}", server.url);
        let params = json!({"message": {"messageId": id, "role": "ROLE_USER", "parts": [{"text": "retry"}]}});
        let client = client.clone();
        async move { rpc(&client, &url, "SendMessage", params).await.unwrap() }
    });
    for r in futures_util::future::join_all(retries).await {
        assert!(r["result"]["task"]["id"].is_string(), "{r}");
    }
    for agent in ["resumer", "failer"] {
        let url = format!("{}/agents/{agent}", server.url);
        let tasks = all_tasks(&client, &url).await;
        let mut ids: Vec<&str> = tasks
            .iter()
            .map(|t| t["history"][0]["messageId"].as_str().unwrap())
            .collect();
        let n = ids.len();
        ids.sort();
        ids.dedup();
        assert_eq!(
            ids.len(),
            n,
            "{agent}: one task per messageId after retries"
        );
        assert_eq!(n, 120, "{agent}: every send has exactly one task");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_lets_running_tasks_finish_then_exits_zero() {
    let (data, actors) = dirs(&[("slow", 500, "resume")]);
    let mut server = Server::start(data.path(), actors.path());
    let client = reqwest::Client::new();
    let url = format!("{}/agents/slow", server.url);
    // operations endpoints of the binary
    for (path, want) in [("/healthz", "ok"), ("/readyz", "ready")] {
        let r = client
            .get(format!("{}{path}", server.url))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.text().await.unwrap(), want);
    }
    let page = metrics(&client, &server.url).await;
    for line in [
        "a2a_agent_mailbox_depth{agent=\"slow\"} 0",
        "a2a_agent_up{agent=\"slow\"} 1",
        "a2a_store_writer_queue_depth 0",
    ] {
        assert!(page.contains(line), "{line} in {page}");
    }
    let call = tokio::spawn({
        let (client, url) = (client.clone(), url.clone());
        async move {
            let params = json!({"message": {"messageId": "term-1", "role": "ROLE_USER", "parts": [{"text": "bye"}]}});
            rpc(&client, &url, "SendMessage", params).await
        }
    });
    // SIGTERM once the request is admitted (the mailbox gauge shows it).
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let m = metrics(&client, &server.url).await;
        if m.contains("a2a_agent_mailbox_depth{agent=\"slow\"} 1") || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let pid = i32::try_from(server.child.id()).unwrap();
    send_signal(pid, "TERM");
    let answer = call
        .await
        .unwrap()
        .expect("the running request is answered");
    assert_eq!(
        answer["result"]["task"]["status"]["state"],
        "TASK_STATE_COMPLETED"
    );
    let status = server.child.wait().unwrap();
    assert!(status.success(), "exit 0 after a graceful stop: {status:?}");
    // the next start finds it, final, with nothing to recover
    let server = Server::start(data.path(), actors.path());
    let url = format!("{}/agents/slow", server.url);
    let got = rpc(&client, &url, "ListTasks", json!({})).await.unwrap();
    assert_eq!(got["result"]["totalSize"], 1);
    assert_eq!(
        got["result"]["tasks"][0]["status"]["state"],
        "TASK_STATE_COMPLETED"
    );
}

/// The server's Prometheus page.
async fn metrics(client: &reqwest::Client, base: &str) -> String {
    let page = client.get(format!("{base}/metrics")).send().await.unwrap();
    page.text().await.unwrap()
}

/// The value of a gauge line `name{agent="…"} value` in a Prometheus page.
fn gauge(metrics: &str, name: &str, agent: &str) -> Option<f64> {
    let prefix = format!("{name}{{agent=\"{agent}\"}} ");
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(prefix.as_str()))
        .and_then(|v| v.trim().parse().ok())
}

/// Session and task actors are started per conversation and task and stop once idle: while
/// tasks run the gauges count them, and once every task is answered both return to zero.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_sessions_and_task_actors_stop() {
    let (data, actors) = dirs(&[("slow", 400, "resume")]);
    let server = Server::start(data.path(), actors.path());
    let client = reqwest::Client::new();
    let url = format!("{}/agents/slow", server.url);
    // 12 tasks in 4 conversations of 3 tasks each, all running at once.
    let calls: Vec<_> = (0..12)
        .map(|i| {
            let (client, url) = (client.clone(), url.clone());
            tokio::spawn(async move {
                let params = json!({"message": {"messageId": format!("idle-{i}"),
                    "contextId": format!("ctx-{}", i % 4), "role": "ROLE_USER",
                    "parts": [{"text": "hi"}]}});
                rpc(&client, &url, "SendMessage", params).await
            })
        })
        .collect();
    let mut peak = (0.0, 0.0);
    let deadline = Instant::now() + Duration::from_secs(20);
    while peak.1 < 12.0 && Instant::now() < deadline {
        let m = metrics(&client, &server.url).await;
        let now = (
            gauge(&m, "a2a_live_sessions", "slow").unwrap_or(0.0),
            gauge(&m, "a2a_live_task_actors", "slow").unwrap_or(0.0),
        );
        peak = (f64::max(peak.0, now.0), f64::max(peak.1, now.1));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        peak,
        (4.0, 12.0),
        "one session per conversation, one actor per task"
    );
    for call in calls {
        let answer = call.await.unwrap().expect("answered");
        assert_eq!(
            answer["result"]["task"]["status"]["state"],
            "TASK_STATE_COMPLETED"
        );
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let m = metrics(&client, &server.url).await;
        let now = (
            gauge(&m, "a2a_live_sessions", "slow"),
            gauge(&m, "a2a_live_task_actors", "slow"),
        );
        if now == (Some(0.0), Some(0.0)) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "still live after every task ended: {now:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Sends a signal with `kill(1)`, which keeps this crate free of `unsafe`.
fn send_signal(pid: i32, signal: &str) {
    let ok = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill -{signal} {pid}");
}

fn start_fails(data: &Path, actors: &Path) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_a2a"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .arg("--data")
        .arg(data)
        .arg("--actors")
        .arg(actors)
        .output()
        .unwrap();
    assert!(!out.status.success(), "start-up must fail");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn a_bad_manifest_or_data_dir_stops_startup_naming_the_problem() {
    let (data, actors) = dirs(&[]);
    for (manifest, problem) in [
        ("name = \"x\"\nmailbox = 3\n", "mailbox"),
        ("name = \"x\"\nkind = \"nope\"\n", "unknown kind"),
        ("name = \"x\"\n[mailbox]\ncapacity = 0\n", "capacity"),
    ] {
        std::fs::write(actors.path().join("broken.toml"), manifest).unwrap();
        let err = start_fails(data.path(), actors.path());
        assert!(
            err.contains("broken.toml") && err.contains(problem),
            "{err}"
        );
    }

    std::fs::remove_file(actors.path().join("broken.toml")).unwrap();
    let err = start_fails(data.path(), actors.path());
    assert!(err.contains("no agent manifests"), "{err}");

    manifest(actors.path(), "ok", 0, "resume");
    let not_a_dir = data.path().join("file");
    std::fs::write(&not_a_dir, "x").unwrap();
    let err = start_fails(&not_a_dir, actors.path());
    assert!(err.contains(&not_a_dir.display().to_string()), "{err}");
}

/// The SSE events of a stream, read until it closes: `(id, result)`.
async fn sse_events(resp: reqwest::Response, stop_after: Option<usize>) -> Vec<(u64, Value)> {
    let mut resp = resp;
    let (mut buf, mut out) = (String::new(), Vec::new());
    loop {
        while let Some(end) = buf.find("\n\n") {
            let block: String = buf.drain(..end + 2).collect();
            let id = block
                .lines()
                .find_map(|l| l.strip_prefix("id: "))
                .map(|v| v.parse().unwrap());
            let data = block.lines().find_map(|l| l.strip_prefix("data: "));
            if let (Some(id), Some(data)) = (id, data) {
                let v: Value = serde_json::from_str(data).unwrap();
                out.push((id, v["result"].clone()));
                if stop_after == Some(out.len()) {
                    return out;
                }
            }
        }
        match resp.chunk().await {
            Ok(Some(bytes)) => buf.push_str(&String::from_utf8_lossy(&bytes)),
            _ => return out,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_resumes_after_sigkill_with_every_event_once() {
    let (data, actors) = dirs(&[("slow", 600, "resume")]);
    let mut server = Server::start(data.path(), actors.path());
    let client = reqwest::Client::new();
    let stream = |url: String, method: &'static str, params: Value, last: Option<u64>| {
        let client = client.clone();
        async move {
            let mut req = client
                .post(url)
                .header("A2A-Version", "1.0")
                .json(&json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}));
            if let Some(last) = last {
                req = req.header("Last-Event-ID", last.to_string());
            }
            req.send().await.unwrap()
        }
    };
    let params = json!({"message": {"messageId": "kill-stream-1", "role": "ROLE_USER", "parts": [{"text": "survive"}]}});
    let resp = stream(
        format!("{}/agents/slow", server.url),
        "SendStreamingMessage",
        params,
        None,
    )
    .await;
    let before = sse_events(resp, Some(2)).await; // the task, then WORKING
    assert_eq!(before.iter().map(|e| e.0).collect::<Vec<_>>(), vec![1, 2]);
    let task_id = before[0].1["task"]["id"].as_str().unwrap().to_owned();
    server.child.kill().unwrap(); // SIGKILL while the handler sleeps
    server.child.wait().unwrap();
    drop(server);

    let server = Server::start(data.path(), actors.path());
    let resp = stream(
        format!("{}/agents/slow", server.url),
        "SubscribeToTask",
        json!({"id": task_id}),
        Some(2),
    )
    .await;
    let after = sse_events(resp, None).await;
    let ids: Vec<u64> = after.iter().map(|e| e.0).collect();
    assert_eq!(
        ids,
        (3..3 + ids.len() as u64).collect::<Vec<_>>(),
        "every event after 2, once, in order"
    );
    let last = &after.last().unwrap().1;
    assert_eq!(
        last["statusUpdate"]["status"]["state"], "TASK_STATE_COMPLETED",
        "{after:?}"
    );
    let artifact = after
        .iter()
        .find_map(|e| e.1.get("artifactUpdate"))
        .expect("the artifact");
    assert_eq!(
        artifact["artifact"]["metadata"]["attempt"], 2,
        "the resumed turn knew it was a retry"
    );
}

/// Sends `text` to the echo agent at `url` with an inline webhook; returns the task id.
async fn send_with_webhook(client: &reqwest::Client, url: &str, hook: &str) -> String {
    let r = rpc(
        client,
        url,
        "SendMessage",
        json!({
            "message": {"messageId": format!("m-{}", uuid::Uuid::new_v4()), "role": "ROLE_USER", "parts": [{"text": "ping"}]},
            "configuration": {"taskPushNotificationConfig": {"url": hook, "authentication": {"scheme": "Bearer", "credentials": "k"}}}
        }),
    )
    .await
    .unwrap();
    assert_eq!(state(&r["result"]["task"]), "TASK_STATE_COMPLETED", "{r}");
    r["result"]["task"]["id"].as_str().unwrap().to_owned()
}

const PUSH_ARGS: &[&str] = &["--push-allow-loopback", "--push-backoff-ms", "50"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pending_push_deliveries_survive_sigkill() {
    let hook = webhook::Webhook::start().await;
    hook.plan("/r", &[], webhook::Answer::RetryAfter(1));
    let (data, actors) = dirs(&[("echo", 0, "resume")]);
    let server = Server::start_with(data.path(), actors.path(), PUSH_ARGS);
    let client = reqwest::Client::new();
    let url = format!("{}/agents/echo", server.url);
    let mut tasks = Vec::new();
    for _ in 0..3 {
        tasks.push(send_with_webhook(&client, &url, &hook.url("/r")).await);
    }
    // Every task's first event was tried (and refused with 503) before the kill.
    assert!(hook.wait_hits("/r", 3, Duration::from_secs(10)).await);
    drop(server); // SIGKILL
    hook.plan("/r", &[], webhook::Answer::Ok);
    let _server = Server::start_with(data.path(), actors.path(), PUSH_ARGS);
    // Every event of every task arrives, in order per task.
    let events = |task: &str| {
        let mut seen = std::collections::HashSet::new();
        hook.delivered("/r")
            .into_iter()
            .filter(|h| h.headers.get("authorization").map(String::as_str) == Some("Bearer k"))
            .filter(|h| h.task_id() == task)
            .map(|h| h.event_id())
            .filter(|id| seen.insert(*id))
            .collect::<Vec<_>>()
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        // An echo task without delay writes: the task, its artifact, completed.
        if tasks.iter().all(|t| events(t).len() >= 3) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{:?}",
            tasks.iter().map(|t| events(t)).collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for t in &tasks {
        assert_eq!(events(t), vec![1, 2, 3], "task {t}");
    }
}

fn a2a(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_a2a"))
        .args(args)
        .output()
        .expect("a2a runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a2a_dlq_lists_and_retries_dead_letters() {
    let hook = webhook::Webhook::start().await;
    hook.plan("/d", &[], webhook::Answer::Status(500));
    let (data, actors) = dirs(&[("echo", 0, "resume")]);
    let mut args = PUSH_ARGS.to_vec();
    args.extend(["--push-max-attempts", "2"]);
    let server = Server::start_with(data.path(), actors.path(), &args);
    let client = reqwest::Client::new();
    let task = send_with_webhook(
        &client,
        &format!("{}/agents/echo", server.url),
        &hook.url("/d"),
    )
    .await;
    let listed = |server: &str| {
        let (ok, out, err) = a2a(&["dlq", "list", "--json", "--server", server]);
        assert!(ok, "{err}");
        serde_json::from_str::<Value>(&out).expect("JSON")
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    // The task, its artifact, completed: three events, each dead after two attempts.
    while listed(&server.url)["deadLetters"].as_array().unwrap().len() < 3 {
        assert!(Instant::now() < deadline, "{}", listed(&server.url));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let page = listed(&server.url);
    let first_id = page["deadLetters"][0]["id"].as_u64().unwrap();
    assert_eq!(page["deadLetters"][0]["taskId"], task.as_str());
    assert_eq!(page["deadLetters"][0]["attempts"], 2);
    // The table names the task and the failure.
    let (ok, table, _) = a2a(&["dlq", "list", "--server", &server.url]);
    assert!(
        ok && table.contains(&task) && table.contains("500"),
        "{table}"
    );

    // One by id, then the rest.
    hook.plan("/d", &[], webhook::Answer::Ok);
    let (ok, out, err) = a2a(&[
        "dlq",
        "retry",
        &first_id.to_string(),
        "--server",
        &server.url,
    ]);
    assert!(ok, "{out}{err}");
    assert!(out.contains("requeued 1"), "{out}");
    assert!(hook.wait_delivered("/d", 1, Duration::from_secs(10)).await);
    let (ok, out, _) = a2a(&["dlq", "retry", "--all", "--server", &server.url]);
    assert!(ok && out.contains("requeued 2"), "{out}");
    assert!(hook.wait_delivered("/d", 3, Duration::from_secs(10)).await);
    assert!(
        listed(&server.url)["deadLetters"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    // An id that is not there is an error (non-zero exit).
    let (ok, _, err) = a2a(&["dlq", "retry", "999", "--server", &server.url]);
    assert!(!ok && err.contains("not in the dead-letter queue"), "{err}");

    // Offline, on the data directory of a stopped server.
    hook.plan("/d", &[], webhook::Answer::Status(500));
    send_with_webhook(
        &client,
        &format!("{}/agents/echo", server.url),
        &hook.url("/d"),
    )
    .await;
    let deadline = Instant::now() + Duration::from_secs(20);
    while listed(&server.url)["deadLetters"].as_array().unwrap().len() < 3 {
        assert!(Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut server = server;
    send_signal(server.child.id() as i32, "TERM");
    assert!(server.child.wait().unwrap().success());
    let dir = data.path().to_str().unwrap();
    let (ok, out, err) = a2a(&["dlq", "list", "--data", dir]);
    assert!(
        ok && out.lines().count() == 4,
        "a header and 3 rows: {out}{err}"
    );
    let (ok, out, err) = a2a(&["dlq", "retry", "--all", "--data", dir]);
    assert!(ok && out.contains("requeued 3"), "{out}{err}");
    hook.plan("/d", &[], webhook::Answer::Ok);
    let _server = Server::start_with(data.path(), actors.path(), &args);
    assert!(hook.wait_delivered("/d", 6, Duration::from_secs(10)).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sse_keepalive_secs_sets_the_comment_interval() {
    let (data, actors) = dirs(&[("slow", 5000, "resume")]);
    let server = Server::start_with(data.path(), actors.path(), &["--sse-keepalive-secs", "1"]);
    let client = reqwest::Client::new();
    let mut resp = client
        .post(format!("{}/agents/slow", server.url))
        .header("A2A-Version", "1.0")
        .json(&json!({"jsonrpc": "2.0", "id": 1, "method": "SendStreamingMessage",
            "params": {"message": {"messageId": "ka-1", "role": "ROLE_USER", "parts": [{"text": "wait"}]}}}))
        .send()
        .await
        .unwrap();
    // The task works for 5 s; a comment line (":") must come well before it ends.
    let mut seen = String::new();
    let deadline = Instant::now() + Duration::from_secs(4);
    while Instant::now() < deadline && !seen.lines().any(|l| l.starts_with(':')) {
        match tokio::time::timeout(Duration::from_millis(500), resp.chunk()).await {
            Ok(Ok(Some(c))) => seen.push_str(&String::from_utf8_lossy(&c)),
            Ok(_) => break,
            Err(_) => {}
        }
    }
    assert!(
        seen.lines().any(|l| l.starts_with(':')),
        "no keep-alive comment: {seen}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_client_commands_print_and_exit_as_documented() {
    let (data, actors) = dirs(&[("echo", 0, "resume"), ("slow", 800, "resume")]);
    let server = Server::start(data.path(), actors.path());
    let url = format!("{}/agents/echo", server.url);

    let (ok, out, err) = a2a(&["card", &url]);
    assert!(
        ok && out.contains("JSONRPC") && out.contains("HTTP+JSON"),
        "{out}{err}"
    );
    let (ok, out, _) = a2a(&["send", &url, "hello cli"]);
    assert!(
        ok && out.contains("[completed]") && out.contains("hello cli"),
        "{out}"
    );
    let task = out.split_whitespace().nth(1).unwrap().to_owned();
    let (ok, out, _) = a2a(&["get", &url, &task, "--json"]);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert!(ok && v["id"] == task.as_str() && v["status"]["state"] == "TASK_STATE_COMPLETED");
    let (ok, out, _) = a2a(&["list", &url, "--status", "completed", "--binding", "rest"]);
    assert!(
        ok && out.contains(&task) && out.contains("(1 of 1)"),
        "{out}"
    );
    let (ok, out, _) = a2a(&["stream", &url, "streamed words"]);
    assert!(
        ok && out.contains("[artifact echo] streamed words") && out.contains("[completed]"),
        "{out}"
    );
    // Attachments: a file (inline bytes, its name and media type) and structured data.
    let file = data.path().join("note.txt");
    std::fs::write(&file, "attached words").unwrap();
    let file = file.to_str().unwrap();
    let (ok, out, err) = a2a(&[
        "send",
        &url,
        "with parts",
        "--file",
        file,
        "--data",
        r#"{"k": [1, 2]}"#,
        "--json",
    ]);
    assert!(ok, "{out}{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    let parts = &v["task"]["history"][0]["parts"];
    assert_eq!(parts[0]["text"], "with parts", "{v}");
    assert_eq!(parts[1]["raw"], "YXR0YWNoZWQgd29yZHM=", "{v}");
    assert_eq!(parts[1]["filename"], "note.txt");
    assert_eq!(parts[1]["mediaType"], "text/plain");
    assert_eq!(parts[2]["data"], json!({"k": [1, 2]}));
    let (ok, _, err) = a2a(&["send", &url, "x", "--data", "{not json"]);
    assert!(!ok && err.contains("--data"), "{err}");
    // Credentials from a command; a command that fails is an AUTH error before any call.
    let (ok, out, err) = a2a(&["send", &url, "tokened", "--token-command", "echo t0k"]);
    assert!(ok && out.contains("[completed]"), "{out}{err}");
    let (ok, _, err) = a2a(&[
        "send",
        &url,
        "x",
        "--token-command",
        "echo nope >&2; exit 3",
    ]);
    assert!(!ok && err.contains("AUTH") && err.contains("nope"), "{err}");
    // Subscribe to a running task: its events until it completes.
    let slow = format!("{}/agents/slow", server.url);
    let (ok, out, err) = a2a(&["send", &slow, "slowly", "--no-wait", "--json"]);
    assert!(ok, "{out}{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    let id = v["task"]["id"].as_str().unwrap().to_owned();
    let (ok, out, err) = a2a(&["subscribe", &slow, &id]);
    assert!(
        ok && out.contains("[artifact echo] slowly") && out.contains("[completed]"),
        "{out}{err}"
    );
    let (ok, _, err) = a2a(&["subscribe", &slow, &id]);
    assert!(!ok && err.contains("UNSUPPORTED_OPERATION"), "{err}");
    // Failures: a non-zero exit and the A2A error's name.
    let (ok, _, err) = a2a(&["get", &url, "no-such-task"]);
    assert!(!ok && err.contains("TASK_NOT_FOUND"), "{err}");
    let (ok, _, err) = a2a(&["cancel", &url, &task]);
    assert!(!ok && err.contains("TASK_NOT_CANCELABLE"), "{err}");
    let (ok, _, err) = a2a(&["card", "http://127.0.0.1:9"]);
    assert!(!ok && err.contains("TRANSPORT"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a2a_bench_reports_open_loop_latency() {
    let (data, actors) = dirs(&[("echo", 0, "resume")]);
    let server = Server::start(data.path(), actors.path());
    let url = format!("{}/agents/echo", server.url);
    let (ok, out, err) = a2a(&["bench", &url, "--rate", "200", "--duration", "1", "--json"]);
    assert!(ok, "{out}{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["sent"], 200, "{v}");
    assert_eq!(v["ok"], 200, "{v}");
    assert_eq!(v["errors"], json!({}));
    let p = &v["latency_ms"];
    assert!(
        p["p50"].as_f64().unwrap() > 0.0 && p["p50"].as_f64() <= p["p99"].as_f64(),
        "{v}"
    );
    // Nothing listening: every call fails, the exit status says so.
    let (ok, _, err) = a2a(&[
        "bench",
        "http://127.0.0.1:9",
        "--rate",
        "10",
        "--duration",
        "1",
    ]);
    assert!(!ok && err.contains("TRANSPORT"), "{err}");
}

/// A disk that fills up: sends fail with an error (none hangs), `/readyz` answers 503 naming the
/// store. (The tmpfs goes with the server's mount namespace, so a restart cannot be checked here;
/// the kill -9 tests above cover what an acknowledged task survives.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_makes_the_server_unready_and_sends_fail_cleanly() {
    let (data, actors) = dirs(&[("echo", 0, "fail")]);
    let server = Server::start_on_small_disk(data.path(), actors.path(), 6);
    let client = reqwest::Client::new();
    let url = format!("{}/agents/echo", server.url);
    let readyz = || async {
        let r = client
            .get(format!("{}/readyz", server.url))
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    };
    assert_eq!(readyz().await.0, 200, "ready on an empty disk");
    let first = rpc(
        &client,
        &url,
        "SendMessage",
        json!({"message": {"messageId": "small", "role": "ROLE_USER", "parts": [{"text": "hi"}]}}),
    )
    .await
    .unwrap();
    let first_id = first["result"]["task"]["id"].as_str().unwrap().to_owned();

    // 1 MiB messages until the 6 MiB disk is full.
    let big = "x".repeat(1 << 20);
    let mut failed = None;
    for i in 0..16 {
        let send = rpc(
            &client,
            &url,
            "SendMessage",
            json!({"message": {"messageId": format!("big-{i}"), "role": "ROLE_USER", "parts": [{"text": big}]}}),
        );
        let r = tokio::time::timeout(Duration::from_secs(30), send)
            .await
            .expect("a send on a full disk answers")
            .unwrap();
        if r.get("error").is_some() {
            failed = Some(r);
            break;
        }
    }
    let failed = failed.expect("a send failed once the disk was full");
    assert_eq!(failed["error"]["code"], -32603, "{failed}");
    let (status, why) = readyz().await;
    assert_eq!(status, 503, "{why}");
    assert!(why.contains("store cannot write"), "{why}");
    // Reads wait for what was applied to be durable, which it never will be now: they answer
    // an error at once rather than show state that may be lost (or hang).
    let got = tokio::time::timeout(
        Duration::from_secs(10),
        rpc(&client, &url, "GetTask", json!({"id": first_id})),
    )
    .await
    .expect("GetTask answers")
    .unwrap();
    let done = state(&got["result"]) == "TASK_STATE_COMPLETED";
    assert!(done || got["error"]["code"] == -32603, "{got}");
}
