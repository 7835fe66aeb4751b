//! The `router` kind and the remote-agent actors under it: the target picked by the skills and
//! tags in the remote cards, fallback past an agent that is down or whose breaker is open,
//! follow-ups returning to the agent that asked, cascading cancel of a waiting task, a bounded
//! number of calls in flight per remote, and a remote actor that dies and comes back.

use std::time::Duration;

use a2a_runtime::agents::Router;
use a2a_runtime::client::BreakerState;
use a2a_runtime::config::SkillSpec;
use a2a_runtime::runtime::remote::RemoteOptions;
use a2a_runtime::transport::HttpConfig;
use a2a_runtime::{AgentSpec, RuntimeConfig};
use serde_json::{Value, json};

use crate::common::{TestServer, eventually, scripted, state, uuid};

fn skill(id: &str, tags: &[&str]) -> SkillSpec {
    SkillSpec {
        id: id.into(),
        name: id.into(),
        description: format!("the {id} skill"),
        tags: tags.iter().map(|t| (*t).to_owned()).collect(),
        examples: Vec::new(),
    }
}

/// A scripted agent whose card has one skill.
async fn specialist(id: &str, tags: &[&str]) -> TestServer {
    let s = skill(id, tags);
    scripted(move |spec| spec.skills = vec![s]).await.0
}

async fn router_over(targets: Vec<String>, tweak: impl FnOnce(&mut RuntimeConfig)) -> TestServer {
    TestServer::start_full(tweak, HttpConfig::default(), |rt| async move {
        let mut spec = AgentSpec::new("router");
        spec.default = true;
        rt.add_agent(spec, Router::new(targets)).await.unwrap();
    })
    .await
}

async fn tasks_on(server: &TestServer) -> i64 {
    server.rpc("ListTasks", json!({})).await["result"]["totalSize"]
        .as_i64()
        .unwrap()
}

/// A URL where nothing listens.
async fn dead_url() -> String {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", l.local_addr().unwrap());
    drop(l);
    url
}

fn statuses(task: &Value) -> Vec<String> {
    task["history"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|m| m["role"] == "ROLE_AGENT")
        .map(|m| m["parts"][0]["text"].as_str().unwrap_or("").to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_router_picks_the_agent_whose_skills_fit() {
    let translator = specialist("translate", &["translation", "french"]).await;
    let summarizer = specialist("summarize", &["summary", "tldr"]).await;
    let router = router_over(vec![translator.url.clone(), summarizer.url.clone()], |_| {}).await;

    // Tags in the text pick the summarizer, though it is second in the manifest.
    let t = router.send("a tldr of this report please").await["task"].clone();
    assert_eq!(state(&t), "TASK_STATE_COMPLETED", "{t}");
    assert_eq!(
        (tasks_on(&translator).await, tasks_on(&summarizer).await),
        (0, 1)
    );

    // An explicit skill in the metadata wins.
    let msg = json!({"messageId": uuid(), "role": "ROLE_USER", "parts": [{"text": "a tldr, in french"}],
        "metadata": {"skill": "translate"}});
    let t = router.send_msg(msg, json!({})).await["task"].clone();
    assert_eq!(state(&t), "TASK_STATE_COMPLETED", "{t}");
    assert_eq!(
        (tasks_on(&translator).await, tasks_on(&summarizer).await),
        (1, 1)
    );

    // No fit at all: the first in manifest order.
    let t = router.send("hello").await["task"].clone();
    assert_eq!(state(&t), "TASK_STATE_COMPLETED", "{t}");
    assert_eq!(
        (tasks_on(&translator).await, tasks_on(&summarizer).await),
        (2, 1)
    );

    // A skill nobody has: rejected, with the reason.
    let msg = json!({"messageId": uuid(), "role": "ROLE_USER", "parts": [{"text": "x"}],
        "metadata": {"skill": "astrology"}});
    let t = router.send_msg(msg, json!({})).await["task"].clone();
    assert_eq!(state(&t), "TASK_STATE_REJECTED", "{t}");
    assert!(
        t["status"]["message"]["parts"][0]["text"]
            .as_str()
            .unwrap()
            .contains("astrology")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_router_falls_back_past_a_dead_agent_and_its_open_breaker() {
    let dead = dead_url().await;
    let alive = specialist("general", &["anything"]).await;
    let router = router_over(vec![dead.clone(), alive.url.clone()], |_| {}).await;

    let t = router.send("first").await["task"].clone();
    assert_eq!(state(&t), "TASK_STATE_COMPLETED", "{t}");
    let said = statuses(&t).join(" | ");
    assert!(
        said.contains(&format!("{dead} failed")) && said.contains("trying"),
        "the fallback shows in the task: {said}"
    );

    // Enough failures open the dead agent's breaker; tasks keep completing meanwhile.
    for i in 0..6 {
        let t = router.send(&format!("more {i}")).await["task"].clone();
        assert_eq!(state(&t), "TASK_STATE_COMPLETED", "{t}");
    }
    let remote = router.runtime.remote(&dead).await.unwrap();
    assert_eq!(remote.breaker_state(), BreakerState::Open);
    assert_eq!(tasks_on(&alive).await, 7);
    // The same remote agent, asked directly through the router's runtime.
    let alive_remote = router.runtime.remote(&alive.url).await.unwrap();
    let listed = alive_remote.list_tasks(Default::default()).await.unwrap();
    assert_eq!(listed.total_size, 7);
    assert_eq!(alive_remote.breaker_state(), BreakerState::Closed);

    // Every agent down: the task fails naming each.
    let router = router_over(vec![dead.clone(), dead_url().await], |_| {}).await;
    let t = router.send("nobody home").await["task"].clone();
    assert_eq!(state(&t), "TASK_STATE_FAILED", "{t}");
    let why = t["status"]["message"]["parts"][0]["text"].as_str().unwrap();
    assert!(
        why.contains("no agent could take the task") && why.contains(&dead),
        "{why}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_follow_up_returns_to_the_agent_that_asked_and_a_cancel_cascades() {
    let a = specialist("a", &["alpha"]).await;
    let b = specialist("b", &["beta"]).await;
    let router = router_over(vec![a.url.clone(), b.url.clone()], |_| {}).await;

    // "input" makes the scripted agent ask for more; the skill sends it to b.
    let to_b = || json!({"messageId": uuid(), "role": "ROLE_USER", "parts": [{"text": "input"}], "metadata": {"skill": "b"}});
    let waiting = router.send_msg(to_b(), json!({})).await["task"].clone();
    assert_eq!(state(&waiting), "TASK_STATE_INPUT_REQUIRED", "{waiting}");
    let id = waiting["id"].as_str().unwrap();
    let follow = json!({"messageId": uuid(), "role": "ROLE_USER", "taskId": id, "parts": [{"text": "alpha words"}]});
    let done = router.send_msg(follow, json!({})).await["task"].clone();
    assert_eq!(state(&done), "TASK_STATE_COMPLETED", "{done}");
    assert_eq!(
        (tasks_on(&a).await, tasks_on(&b).await),
        (0, 1),
        "b finished its own task"
    );

    // A waiting task canceled (no turn running): the remote task it waits with is canceled.
    let waiting = router.send_msg(to_b(), json!({})).await["task"].clone();
    assert_eq!(state(&waiting), "TASK_STATE_INPUT_REQUIRED", "{waiting}");
    let id = waiting["id"].as_str().unwrap();
    let canceled = router.rpc("CancelTask", json!({"id": id})).await;
    assert_eq!(
        state(&canceled["result"]),
        "TASK_STATE_CANCELED",
        "{canceled}"
    );
    let cascaded = eventually(Duration::from_secs(10), || async {
        let l = b
            .rpc("ListTasks", json!({"status": "TASK_STATE_CANCELED"}))
            .await;
        l["result"]["totalSize"] == 1
    })
    .await;
    assert!(cascaded, "the remote task was canceled too");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_to_one_remote_are_bounded_and_its_actor_comes_back() {
    let remote = specialist("slow", &[]).await;
    let router = router_over(vec![remote.url.clone()], |c| {
        c.remote = RemoteOptions {
            capacity: 1,
            admission_timeout: Duration::from_millis(200),
            ..RemoteOptions::default()
        };
    })
    .await;
    let agent = router.runtime.remote(&remote.url).await.unwrap();

    // One stream holds the only slot; a second call waits 200 ms and is refused.
    let first = router
        .send_msg(
            json!({"messageId": uuid(), "role": "ROLE_USER", "parts": [{"text": "slow:1500"}]}),
            json!({"returnImmediately": true}),
        )
        .await["task"]
        .clone();
    let holding = eventually(Duration::from_secs(5), || async {
        let working = remote
            .rpc("ListTasks", json!({"status": "TASK_STATE_WORKING"}))
            .await;
        working["result"]["totalSize"] == 1 && agent.in_flight() == 1
    })
    .await;
    assert!(holding, "the first task's stream holds the slot");
    let busy = agent.card().await.unwrap_err();
    assert_eq!(busy.name(), "REMOTE_BUSY", "{busy}");
    let second = router.send("another").await["task"].clone();
    assert_eq!(state(&second), "TASK_STATE_FAILED", "{second}");
    let done = eventually(Duration::from_secs(10), || async {
        let t = router.get_task(first["id"].as_str().unwrap()).await;
        state(&t) == "TASK_STATE_COMPLETED"
    })
    .await;
    assert!(done, "the first task finished");
    assert_eq!(agent.in_flight(), 0, "the slot came back");

    // The remote's actor dies: it is restarted and calls work again.
    assert!(agent.crash_actor());
    let back = eventually(Duration::from_secs(5), || async {
        agent.card().await.is_ok()
    })
    .await;
    assert!(back, "the remote actor was restarted");
    let t = router.send("after the crash").await["task"].clone();
    assert_eq!(state(&t), "TASK_STATE_COMPLETED", "{t}");
}
