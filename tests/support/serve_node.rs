//! `rota serve` as a child process for tests: its log in a file, `/healthz` and `/metrics` on a
//! free port of 127.0.0.1, stopped with SIGTERM like a supervisor would, and killed when the
//! guard is dropped (a failing test leaves no daemon behind).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

pub struct ServeNode {
    pub id: String,
    child: Child,
    pub log: PathBuf,
    pub metrics: SocketAddr,
    http: reqwest::Client,
}

/// What `/healthz` answered: the HTTP status and body, or `None` if nothing answered.
#[derive(Debug, Clone)]
pub struct HealthAnswer {
    pub status: Option<u16>,
    pub body: String,
}

/// A port of 127.0.0.1 that was free a moment ago.
pub fn free_local_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("address").port()
}

impl ServeNode {
    /// Starts `rota --database url serve --node-id id --metrics 127.0.0.1:PORT <args>` with its
    /// log (`ROTA_LOG=info`) in `logs/<id>.log`.
    pub fn start(url: &str, id: &str, logs: &Path, args: &[&str]) -> ServeNode {
        let log = logs.join(format!("{id}.log"));
        let metrics: SocketAddr = format!("127.0.0.1:{}", free_local_port()).parse().unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_rota"))
            .args(["--database", url, "serve", "--node-id", id])
            .arg("--metrics")
            .arg(metrics.to_string())
            .args(args)
            .env("ROTA_LOG", "info")
            .env("NO_COLOR", "1")
            .stdout(Stdio::null())
            // Appended to: a node restarted with the same id keeps one log.
            .stderr(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&log)
                    .expect("open the log"),
            )
            .spawn()
            .expect("start rota serve");
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()
            .expect("an HTTP client");
        ServeNode { id: id.to_owned(), child, log, metrics, http }
    }

    pub async fn health(&self) -> HealthAnswer {
        match self.http.get(format!("http://{}/healthz", self.metrics)).send().await {
            Ok(response) => {
                let status = Some(response.status().as_u16());
                HealthAnswer { status, body: response.text().await.unwrap_or_default() }
            }
            Err(error) => HealthAnswer { status: None, body: error.to_string() },
        }
    }

    pub async fn metrics(&self) -> String {
        match self.http.get(format!("http://{}/metrics", self.metrics)).send().await {
            Ok(response) => response.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        }
    }

    /// Asks the node to stop gracefully.
    pub fn terminate(&self) {
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
    }

    /// Kills the node at once (SIGKILL), like a crash or the OOM killer, and reaps it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The node's resident memory in KiB (`VmRSS`), or `None` once it has exited.
    pub fn resident_kib(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).ok()?;
        let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
        line.split_whitespace().nth(1)?.parse().ok()
    }

    /// The size of the node's log so far, in bytes.
    pub fn log_bytes(&self) -> u64 {
        std::fs::metadata(&self.log).map(|meta| meta.len()).unwrap_or(0)
    }

    /// The exit status, once the node has exited.
    pub fn try_exit(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().expect("wait for rota serve")
    }

    /// Waits for the node to exit, at most `limit`; `None` if it is still running.
    pub async fn wait_exit(&mut self, limit: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.try_exit() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The log's warning and error lines.
    pub fn warnings(&self) -> Vec<String> {
        self.log_text()
            .lines()
            .map(without_colours)
            .filter(|line| line.contains(" WARN ") || line.contains(" ERROR "))
            .collect()
    }
}

impl Drop for ServeNode {
    fn drop(&mut self) {
        if self.try_exit().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// `line` without ANSI colour sequences (in case the log was written with colours).
fn without_colours(line: &str) -> String {
    let mut plain = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
            plain.push(' ');
        } else {
            plain.push(c);
        }
    }
    plain
}
