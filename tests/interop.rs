//! Interop with the official A2A Python SDK (PyPI `a2a-sdk` 1.x): its client talks to the real
//! `a2a` binary over JSON-RPC, HTTP+JSON and gRPC (`tests/interop/sdk_client.py`: send, stream,
//! get, list, cancel, subscribe, push-config calls, an error), and its 0.3 compatibility client
//! over 0.3 JSON-RPC (`tests/interop/sdk_client_v03.py`).
//!
//! The official JS SDK's client (npm `@a2a-js/sdk`, pinned in `tests/interop/package.json`)
//! talks to the real binary over JSON-RPC and HTTP+JSON (`tests/interop/js_client.mjs`: card,
//! send, stream, get, list with and without a filter, cancel, errors); it is installed with npm
//! under cargo's target directory on first use, so `cargo test` needs `node` and `npm` too.
//!
//! The Python SDK is installed on first use into a virtual environment under cargo's target directory
//! (`python3 -m venv`, then `pip install`), so `cargo test` needs nothing set up beforehand
//! besides `python3` and access to PyPI.

#[path = "support/binary.rs"]
mod binary;

use std::path::{Path, PathBuf};
use std::process::Command;

/// What the interop venv holds: the SDK (client, gRPC, HTTP server) and a server to run it.
const PACKAGES: &[&str] = &["a2a-sdk[grpc,http-server]>=1.3,<2", "uvicorn>=0.30"];

/// A Python with the SDK installed (created once, reused by later runs; one set-up at a time for
/// the tests of this binary).
fn sdk_python() -> PathBuf {
    static VENV: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    VENV.get_or_init(set_up_venv).clone()
}

fn set_up_venv() -> PathBuf {
    let venv = Path::new(env!("CARGO_TARGET_TMPDIR")).join("a2a-sdk-venv");
    let python = venv.join("bin").join("python");
    let ready = venv.join(".installed");
    let wanted = PACKAGES.join(" ");
    if ready.exists() && std::fs::read_to_string(&ready).is_ok_and(|v| v == wanted) {
        return python;
    }
    let run = |cmd: &mut Command, what: &str| {
        let out = cmd.output().unwrap_or_else(|e| {
            panic!("{what}: cannot run it ({e}); the interop tests need python3")
        });
        assert!(
            out.status.success(),
            "{what} failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let _ = std::fs::remove_dir_all(&venv);
    run(
        Command::new("python3").args(["-m", "venv"]).arg(&venv),
        "python3 -m venv",
    );
    run(
        Command::new(&python)
            .args(["-m", "pip", "install", "--quiet"])
            .args(PACKAGES),
        "pip install a2a-sdk",
    );
    std::fs::write(&ready, wanted).expect("mark the venv ready");
    python
}

fn manifest(dir: &Path, name: &str, extra: &str) {
    std::fs::write(
        dir.join(format!("{name}.toml")),
        format!("name = \"{name}\"\nkind = \"echo\"\n{extra}"),
    )
    .unwrap();
}

/// A server whose default agent is an echo that takes `delay_ms`, over HTTP and gRPC.
fn server(delay_ms: u64) -> (binary::Server, tempfile::TempDir, tempfile::TempDir) {
    let data = tempfile::tempdir().unwrap();
    let actors = tempfile::tempdir().unwrap();
    manifest(
        actors.path(),
        "echo",
        &format!("default = true\n[settings]\ndelay_ms = {delay_ms}\n"),
    );
    let grpc = ["--grpc-listen", "127.0.0.1:0"];
    let server = binary::Server::start_with(data.path(), actors.path(), &grpc);
    (server, data, actors)
}

#[test]
fn the_python_sdk_client_works_against_our_server_over_all_three_bindings_and_0_3() {
    let python = sdk_python();
    let (fast, _d1, _a1) = server(0);
    let (slow, _d2, _a2) = server(2000);
    for binding in ["JSONRPC", "HTTP+JSON", "GRPC"] {
        run_script(
            &python,
            "sdk_client.py",
            &fast.url,
            &slow.url,
            binding,
            &format!("OK {binding}"),
        );
    }
    // The SDK's 0.3 compatibility clients: JSON-RPC (message/send & co.) and REST (/v1/...),
    // 0.3 shapes, no A2A-Version.
    for binding in ["JSONRPC", "HTTP+JSON"] {
        run_script(
            &python,
            "sdk_client_v03.py",
            &fast.url,
            &slow.url,
            binding,
            &format!("OK 0.3 {binding}"),
        );
    }
}

/// The JS SDK, installed (once) with npm into a folder under the target directory; returns the
/// npm prefix holding `node_modules/@a2a-js/sdk`.
fn js_sdk() -> PathBuf {
    static SDK: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    SDK.get_or_init(|| {
        let pin: serde_json::Value = serde_json::from_slice(
            &std::fs::read(
                Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop/package.json"),
            )
            .expect("tests/interop/package.json"),
        )
        .expect("package.json is JSON");
        let version = pin["dependencies"]["@a2a-js/sdk"]
            .as_str()
            .expect("the pinned @a2a-js/sdk version")
            .to_owned();
        let prefix = Path::new(env!("CARGO_TARGET_TMPDIR")).join("a2a-js-sdk");
        let ready = prefix.join(".installed");
        if std::fs::read_to_string(&ready).is_ok_and(|v| v == version) {
            return prefix;
        }
        let _ = std::fs::remove_dir_all(&prefix);
        std::fs::create_dir_all(&prefix).expect("the npm prefix");
        let out = Command::new("npm")
            .args(["install", "--prefix"])
            .arg(&prefix)
            .args([
                "--save-exact",
                "--no-audit",
                "--no-fund",
                "--loglevel=error",
            ])
            .arg(format!("@a2a-js/sdk@{version}"))
            .output()
            .unwrap_or_else(|e| {
                panic!("npm: cannot run it ({e}); the interop tests need node and npm")
            });
        assert!(
            out.status.success(),
            "npm install @a2a-js/sdk@{version} failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        std::fs::write(&ready, &version).expect("mark the SDK installed");
        prefix
    })
    .clone()
}

#[test]
fn the_js_sdk_client_works_against_our_server_over_json_rpc_and_rest() {
    let sdk = js_sdk();
    let (server, _data, _actors) = server(300);
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop/js_client.mjs");
    for binding in ["jsonrpc", "rest"] {
        let out = Command::new("node")
            .arg(&script)
            .arg(&sdk)
            .arg(&server.url)
            .arg(binding)
            .output()
            .expect("node runs the JS SDK script");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && stdout.contains(&format!("OK {binding}")),
            "js_client.mjs {binding}:\n{stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// Runs `tests/interop/{script} FAST SLOW BINDING` and expects it to succeed printing `ok`.
fn run_script(python: &Path, script: &str, fast: &str, slow: &str, binding: &str, ok: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/interop")
        .join(script);
    let out = Command::new(python)
        .arg(&path)
        .args([fast, slow, binding])
        .output()
        .expect("the SDK script runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains(ok),
        "{script} {binding}:\n{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The SDK's echo server (`tests/interop/sdk_server.py`), killed when dropped.
struct SdkServer(std::process::Child);

impl Drop for SdkServer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn our_client_works_against_a_python_sdk_server_over_all_three_bindings() {
    use a2a_runtime::client::{Client, ClientOptions, text_request};
    use a2a_runtime::protocol::{
        CancelTaskRequest, GetTaskRequest, ListTasksRequest, SendMessageResponse, StreamResponse,
        TaskState,
    };

    let python = sdk_python();
    let free = || {
        std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port")
    };
    let (port, grpc_port) = (free(), free());
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop/sdk_server.py");
    let _server = SdkServer(
        Command::new(&python)
            .arg(&script)
            .arg(port.to_string())
            .arg(grpc_port.to_string())
            .spawn()
            .expect("the SDK server starts"),
    );
    let url = format!("http://127.0.0.1:{port}");
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        // Wait for the card (the Python server takes a moment to start).
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        let mut found = None;
        while found.is_none() && std::time::Instant::now() < deadline {
            found = Client::discover(&url, ClientOptions::default()).await.ok();
            if found.is_none() {
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            }
        }
        assert!(found.is_some(), "the SDK server never served its card");
        for binding in ["JSONRPC", "HTTP+JSON", "GRPC"] {
            let opts = ClientOptions {
                bindings: vec![binding.into()],
                ..ClientOptions::default()
            };
            let client = Client::discover(&url, opts).await.unwrap();
            assert_eq!(client.card().name, "python-echo");
            assert_eq!(client.binding(), binding);
            let task = match client.send_text("hello python").await.unwrap() {
                SendMessageResponse::Task(t) => t,
                other => panic!("{binding}: {other:?}"),
            };
            assert_eq!(task.status.state, TaskState::Completed, "{binding}");
            assert_eq!(task.artifacts[0].parts[0].text.as_deref(), Some("hello python"));
            let got = client
                .get_task(&GetTaskRequest {
                    id: task.id.clone(),
                    ..GetTaskRequest::default()
                })
                .await
                .unwrap();
            assert_eq!(got.id, task.id);
            let page = client.list_tasks(&ListTasksRequest::default()).await.unwrap();
            assert!(page.tasks.iter().any(|t| t.id == task.id), "{binding}");
            let mut stream = client
                .send_streaming(&text_request("streamed", None, None, false))
                .await
                .unwrap();
            let mut last = None;
            while let Some(ev) = stream.next().await {
                last = Some(ev.unwrap());
            }
            assert!(
                matches!(&last, Some(StreamResponse::StatusUpdate(u)) if u.status.state == TaskState::Completed),
                "{binding}: {last:?}"
            );
            let waiting = match client.send_text("wait").await.unwrap() {
                SendMessageResponse::Task(t) => t,
                other => panic!("{other:?}"),
            };
            assert_eq!(waiting.status.state, TaskState::InputRequired);
            // Subscribe to the waiting task; the follow-up's events arrive on it.
            let mut sub = client.subscribe(&waiting.id, None).await.unwrap();
            let first = sub.next().await.unwrap().unwrap();
            assert!(
                matches!(&first, StreamResponse::Task(t) if t.id == waiting.id),
                "{binding}: {first:?}"
            );
            let follow = text_request("more", None, Some(&waiting.id), false);
            let done = match client.send(&follow).await.unwrap() {
                SendMessageResponse::Task(t) => t,
                other => panic!("{other:?}"),
            };
            assert_eq!(done.status.state, TaskState::Completed, "{binding}");
            let mut last = None;
            while let Some(ev) = sub.next().await {
                last = Some(ev.unwrap());
            }
            assert!(
                matches!(&last, Some(StreamResponse::StatusUpdate(u)) if u.status.state == TaskState::Completed),
                "{binding}: the subscription saw the follow-up finish: {last:?}"
            );
            let waiting = match client.send_text("wait").await.unwrap() {
                SendMessageResponse::Task(t) => t,
                other => panic!("{other:?}"),
            };
            let canceled = client
                .cancel_task(&CancelTaskRequest {
                    id: waiting.id,
                    ..CancelTaskRequest::default()
                })
                .await
                .unwrap();
            assert_eq!(canceled.status.state, TaskState::Canceled, "{binding}");
            let err = client
                .get_task(&GetTaskRequest {
                    id: "nope".into(),
                    ..GetTaskRequest::default()
                })
                .await
                .unwrap_err();
            assert_eq!(err.name(), "TASK_NOT_FOUND", "{binding}: {err}");
        }
    });
}
