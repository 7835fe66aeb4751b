//! The real `a2a` binary as a test server: started on a free port, killed (SIGKILL) when dropped.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

pub struct Server {
    pub child: Child,
    pub url: String,
}

impl Server {
    /// Starts `a2a serve` on a free port and waits for it to print where it listens.
    pub fn start(data: &Path, actors: &Path) -> Server {
        Self::start_with(data, actors, &[])
    }

    pub fn start_with(data: &Path, actors: &Path, extra: &[&str]) -> Server {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_a2a"));
        cmd.args(["serve", "--listen", "127.0.0.1:0", "--grace-secs", "5"])
            .args(extra)
            .arg("--data")
            .arg(data)
            .arg("--actors")
            .arg(actors);
        Self::spawn(cmd)
    }

    /// Starts `a2a serve` with its data directory on a tmpfs of `size_mb` MiB of its own (in a
    /// mount namespace of its own: `unshare -m` as root, else `unshare -rm`), so the disk can
    /// really fill up.
    pub fn start_on_small_disk(data: &Path, actors: &Path, size_mb: u32) -> Server {
        let root = Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| o.stdout.starts_with(b"0\n"));
        let mut cmd = Command::new("unshare");
        cmd.arg(if root { "-m" } else { "-rm" })
            .args(["sh", "-c"])
            .arg(format!(
                "mount -t tmpfs -o size={size_mb}m tmpfs \"$0\" && exec \"$1\" serve --listen 127.0.0.1:0 --grace-secs 5 --data \"$0\" --actors \"$2\""
            ))
            .arg(data)
            .arg(env!("CARGO_BIN_EXE_a2a"))
            .arg(actors);
        Self::spawn(cmd)
    }

    /// Runs `cmd` (an `a2a serve`) and waits for it to print where it listens.
    pub fn spawn(mut cmd: Command) -> Server {
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("a2a starts");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let url = loop {
            let line = lines
                .next()
                .expect("a2a printed its address")
                .expect("line");
            if let Some(rest) = line.strip_prefix("listening on ") {
                break format!("http://{}", rest.split_whitespace().next().unwrap());
            }
        };
        std::thread::spawn(move || for _ in lines {});
        Server { child, url }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
