//! The `regentra` binary itself, for the tests where the process is the
//! point: `regentra serve` started as a child process on a free port (its
//! flags and environment, its signals, its data directory), and one-shot
//! commands.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::Endpoint;

/// `regentra serve` as a child process. Dropping it kills the process.
pub struct Process {
    child: Child,
    endpoint: Endpoint,
    /// Everything the server printed on stderr so far.
    pub log: Arc<Mutex<Vec<String>>>,
    _dir: tempfile::TempDir,
}

impl std::ops::Deref for Process {
    type Target = Endpoint;
    fn deref(&self) -> &Endpoint {
        &self.endpoint
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Process {
    /// The server on the embedded store in a temporary directory.
    pub fn embedded(args: &[&str], env: &[(&str, &str)]) -> Process {
        let dir = tempfile::tempdir().expect("temp dir");
        let data = dir.path().to_str().expect("utf-8 path").to_owned();
        let mut all = vec!["--data-dir", data.as_str()];
        all.extend_from_slice(args);
        spawn(&all, env, dir)
    }

    /// The server on the embedded store in a directory the test owns.
    pub fn embedded_at(data: &str, args: &[&str], env: &[(&str, &str)]) -> Process {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut all = vec!["--data-dir", data];
        all.extend_from_slice(args);
        spawn(&all, env, dir)
    }

    /// The server with only the arguments and environment given (and
    /// `--listen 127.0.0.1:0`): where the data goes is the test's business.
    pub fn with(args: &[&str], env: &[(&str, &str)]) -> Process {
        spawn(args, env, tempfile::tempdir().expect("temp dir"))
    }

    /// Sends SIGTERM and waits for the process to end.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill");
        assert!(sent.success());
        let status = self.child.wait().expect("the server ends");
        // Let the stderr reader catch the last lines.
        std::thread::sleep(Duration::from_millis(200));
        status
    }

    /// Kills the process at once (SIGKILL), as a crash or the kernel's
    /// out-of-memory killer would: no drain, nothing released but what the
    /// operating system and the database notice of its death.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn log_text(&self) -> String {
        self.log.lock().expect("log").join("\n")
    }
}

/// `regentra serve` with these arguments, in a clean environment (no
/// `DATABASE_URL` or bootstrap token from the test's own) plus `env`.
fn serve_command(args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_regentra"));
    command
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args(args)
        .env_remove("DATABASE_URL")
        .env_remove("REGENTRA_MIGRATE_DATABASE_URL")
        .env_remove("REGENTRA_ALLOW_PRIVILEGED_DATABASE_USER")
        .env_remove("REGENTRA_BOOTSTRAP_TOKEN")
        .env("RUST_LOG", "info");
    for (k, v) in env {
        command.env(k, v);
    }
    command
}

fn spawn(args: &[&str], env: &[(&str, &str)], dir: tempfile::TempDir) -> Process {
    let mut command = serve_command(args, env);
    command.stderr(Stdio::piped()).stdout(Stdio::null());
    let mut child = command.spawn().expect("server starts");
    let stderr = child.stderr.take().expect("stderr");
    let mut lines = BufReader::new(stderr).lines();
    let log = Arc::new(Mutex::new(Vec::new()));
    let (mut base, mut token) = (None, None);
    while base.is_none() {
        let line = match lines.next() {
            Some(Ok(line)) => line,
            _ => panic!(
                "the server exited before listening:\n{}",
                log.lock().expect("log").join("\n")
            ),
        };
        if let Some(t) = line.strip_prefix("bootstrap token: ") {
            token = Some(t.to_owned());
        }
        if let Some(addr) = line.strip_prefix("listening on ") {
            base = Some(format!("http://{addr}"));
        }
        log.lock().expect("log").push(line);
    }
    // Keep draining stderr so the server never blocks on a full pipe.
    let sink = Arc::clone(&log);
    std::thread::spawn(move || {
        for line in lines.map_while(Result::ok) {
            sink.lock().expect("log").push(line);
        }
    });
    let token = token
        .or_else(|| {
            env.iter()
                .find(|(k, _)| *k == "REGENTRA_BOOTSTRAP_TOKEN")
                .map(|(_, v)| (*v).to_owned())
        })
        .unwrap_or_default();
    Process {
        child,
        endpoint: Endpoint {
            base: base.expect("address"),
            token,
        },
        log,
        _dir: dir,
    }
}

/// Runs `regentra serve` with these arguments and environment to its end,
/// which a refused start reaches at once. Killed, and the test failed, if it
/// is still running after a minute (it started serving after all).
pub fn serve_to_the_end(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = serve_command(args, env);
    command.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = command.spawn().expect("regentra runs");
    for _ in 0..600 {
        if child.try_wait().expect("wait").is_some() {
            return child.wait_with_output().expect("output");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    let out = child.wait_with_output().expect("output");
    panic!(
        "regentra serve {args:?} did not end:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Runs the `regentra` binary with `args` to the end: its exit status and
/// everything it printed.
pub fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_regentra"))
        .args(args)
        .output()
        .expect("regentra runs")
}

/// A one-shot command whose standard output is a pipe nobody reads: its
/// read end is closed before the command starts, so every write fails
/// as it does under `regentra ... | head -1` once `head` has exited.
pub fn run_into_closed_pipe(args: &[&str]) -> Output {
    let (reader, writer) = std::io::pipe().expect("a pipe");
    drop(reader);
    Command::new(env!("CARGO_BIN_EXE_regentra"))
        .args(args)
        .stdout(writer)
        .output()
        .expect("regentra runs")
}
