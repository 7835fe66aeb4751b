//! The example cluster (`examples/cluster/`), run as its README says with the real `a2a` binary:
//! three nodes started by `start`; node1's router delegating to node2's writer; node2 killed
//! with SIGKILL and the router falling back to node3; a task relayed from node1 to node3 and
//! canceled on node1, which cancels node3's task (cascading cancel across two nodes); node2
//! started again; everything stopped by `stop`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use a2a_runtime::client::{Client, ClientOptions};
use a2a_runtime::protocol::{ListTasksRequest, TaskState};

fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples/cluster")
        .join(name)
}

struct Cluster {
    dir: tempfile::TempDir,
    ports: Vec<u16>,
}

impl Cluster {
    fn run(&self, name: &str, args: &[&str]) -> Output {
        let ports: Vec<String> = self.ports.iter().map(u16::to_string).collect();
        Command::new(script(name))
            .args(args)
            .env("A2A_BIN", env!("CARGO_BIN_EXE_a2a"))
            .env("A2A_CLUSTER_DIR", self.dir.path())
            .env("A2A_CLUSTER_PORTS", ports.join(" "))
            .output()
            .expect("the script runs")
    }

    fn url(&self, node: usize, agent: &str) -> String {
        format!("http://127.0.0.1:{}/agents/{agent}", self.ports[node - 1])
    }

    fn cli(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_a2a"))
            .args(args)
            .output()
            .expect("a2a runs")
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = self.run("stop", &["--kill"]);
    }
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Three ports nobody listens on now.
fn free_ports() -> Vec<u16> {
    let listeners: Vec<std::net::TcpListener> = (0..3)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0").expect("bind"))
        .collect();
    listeners
        .iter()
        .map(|l| l.local_addr().expect("addr").port())
        .collect()
}

async fn tasks(url: &str, state: Option<TaskState>) -> i32 {
    let client = Client::discover(url, ClientOptions::default())
        .await
        .expect("discover");
    let req = ListTasksRequest {
        status: state.unwrap_or_default(),
        ..Default::default()
    };
    client.list_tasks(&req).await.expect("list").total_size
}

async fn eventually_tasks(url: &str, state: TaskState, want: i32) -> bool {
    let deadline = Instant::now() + Duration::from_secs(15);
    while Instant::now() < deadline {
        if tasks(url, Some(state)).await == want {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_example_cluster_falls_back_and_cascades_cancels_across_nodes() {
    let c = Cluster {
        dir: tempfile::tempdir().expect("temp dir"),
        ports: free_ports(),
    };
    let up = c.run("start", &[]);
    assert!(up.status.success(), "start: {}", text(&up));
    assert_eq!(text(&up).matches(" is up on ").count(), 3, "{}", text(&up));

    // node1's router hands the task to node2's writer.
    let router = format!("http://127.0.0.1:{}", c.ports[0]);
    let sent = c.cli(&["send", &router, "hello cluster"]);
    assert!(sent.status.success(), "{}", text(&sent));
    assert!(text(&sent).contains("[completed]") && text(&sent).contains("hello cluster"));
    assert_eq!(tasks(&c.url(2, "writer"), None).await, 1);

    // node2 dies: the router falls back to node3, and says so in the task's history.
    let killed = c.run("stop", &["--kill", "node2"]);
    assert!(killed.status.success(), "{}", text(&killed));
    let sent = c.cli(&["send", &router, "after the kill", "--json"]);
    assert!(sent.status.success(), "{}", text(&sent));
    let answer: serde_json::Value = serde_json::from_slice(&sent.stdout).expect("json");
    assert_eq!(answer["task"]["status"]["state"], "TASK_STATE_COMPLETED");
    let history = answer["task"]["history"].to_string();
    assert!(
        history.contains("trying"),
        "the fallback is visible: {history}"
    );
    assert_eq!(tasks(&c.url(3, "writer"), None).await, 1);

    // Cascading cancel across nodes: node1's relay task canceled → node3's slow task canceled.
    let relay = c.url(1, "relay");
    let started = c.cli(&["send", &relay, "long job", "--no-wait", "--json"]);
    assert!(started.status.success(), "{}", text(&started));
    let started: serde_json::Value = serde_json::from_slice(&started.stdout).expect("json");
    let id = started["task"]["id"].as_str().expect("task id").to_owned();
    assert!(eventually_tasks(&c.url(3, "slow"), TaskState::Working, 1).await);
    let canceled = c.cli(&["cancel", &relay, &id]);
    assert!(canceled.status.success(), "{}", text(&canceled));
    assert!(
        text(&canceled).contains("[canceled]"),
        "{}",
        text(&canceled)
    );
    assert!(
        eventually_tasks(&c.url(3, "slow"), TaskState::Canceled, 1).await,
        "node3's task was canceled too"
    );

    // node2 comes back (same data: its first task is still there) and takes work again.
    let back = c.run("start", &["node2"]);
    assert!(back.status.success(), "{}", text(&back));
    assert!(text(&back).contains("node2 is up"), "{}", text(&back));
    assert_eq!(tasks(&c.url(2, "writer"), None).await, 1);

    let down = c.run("stop", &[]);
    assert!(down.status.success(), "{}", text(&down));
    assert_eq!(
        text(&down).matches("stopped (TERM)").count(),
        3,
        "{}",
        text(&down)
    );
    for p in &c.ports {
        assert!(
            std::net::TcpStream::connect(("127.0.0.1", *p)).is_err(),
            "port {p} is closed after stop"
        );
    }
}
