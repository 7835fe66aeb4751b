//! Interop with the official A2A Python SDK (PyPI `a2a-sdk` 1.x): its client talks to the real
//! `a2a` binary over JSON-RPC, HTTP+JSON and gRPC (`tests/interop/sdk_client.py`: send, stream,
//! get, list, cancel, subscribe, push-config calls, an error), and its 0.3 compatibility client
//! over 0.3 JSON-RPC (`tests/interop/sdk_client_v03.py`).
//!
//! The SDK is installed on first use into a virtual environment under cargo's target directory
//! (`python3 -m venv`, then `pip install`), so `cargo test` needs nothing set up beforehand
//! besides `python3` and access to PyPI.

#[path = "support/binary.rs"]
mod binary;

use std::path::{Path, PathBuf};
use std::process::Command;

/// The SDK versions the interop tests run against.
const SDK: &str = "a2a-sdk[grpc]>=1.3,<2";

/// A Python with the SDK installed (created once, reused by later runs).
fn sdk_python() -> PathBuf {
    let venv = Path::new(env!("CARGO_TARGET_TMPDIR")).join("a2a-sdk-venv");
    let python = venv.join("bin").join("python");
    let ready = venv.join(".installed");
    if ready.exists() && std::fs::read_to_string(&ready).is_ok_and(|v| v == SDK) {
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
        Command::new(&python).args(["-m", "pip", "install", "--quiet", SDK]),
        "pip install a2a-sdk",
    );
    std::fs::write(&ready, SDK).expect("mark the venv ready");
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
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop/sdk_client.py");
    for binding in ["JSONRPC", "HTTP+JSON", "GRPC"] {
        let out = Command::new(&python)
            .arg(&script)
            .arg(&fast.url)
            .arg(&slow.url)
            .arg(binding)
            .output()
            .expect("the SDK script runs");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && stdout.contains(&format!("OK {binding}")),
            "{binding}:\n{stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // The SDK's 0.3 compatibility clients: JSON-RPC (message/send & co.) and REST (/v1/...),
    // 0.3 shapes, no A2A-Version.
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop/sdk_client_v03.py");
    for binding in ["JSONRPC", "HTTP+JSON"] {
        let out = Command::new(&python)
            .arg(&script)
            .arg(&fast.url)
            .arg(&slow.url)
            .arg(binding)
            .output()
            .expect("the SDK script runs");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && stdout.contains(&format!("OK 0.3 {binding}")),
            "0.3 {binding}:\n{stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
