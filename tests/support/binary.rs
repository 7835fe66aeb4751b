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
        let mut child = Command::new(env!("CARGO_BIN_EXE_a2a"))
            .args(["serve", "--listen", "127.0.0.1:0", "--grace-secs", "5"])
            .args(extra)
            .arg("--data")
            .arg(data)
            .arg("--actors")
            .arg(actors)
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
