//! An SMTP server for the tests: a small tokio listener on `127.0.0.1:0`
//! that speaks enough SMTP for a real client (EHLO/HELO, MAIL, RCPT, DATA,
//! RSET, NOOP, QUIT; no TLS, no AUTH: the server under test connects with
//! `?tls=none`), records every message it accepts, and refuses the
//! recipients a test names (`550` at RCPT). Messages are parsed with
//! mail-parser: [`Received`] gives the envelope, subject, sender, text and
//! HTML bodies, and the links in the text ([`Received::links`]), so a test
//! can follow them.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::Notify;

/// One message the sink accepted.
#[derive(Debug, Clone)]
pub struct Received {
    /// `MAIL FROM`.
    pub envelope_from: String,
    /// Every accepted `RCPT TO`.
    pub recipients: Vec<String>,
    /// The message as sent (dot-unstuffed).
    pub raw: Vec<u8>,
}

impl Received {
    fn parsed(&self) -> mail_parser::Message<'_> {
        mail_parser::MessageParser::default()
            .parse(&self.raw)
            .expect("a message mail-parser reads")
    }

    pub fn subject(&self) -> String {
        self.parsed().subject().unwrap_or_default().to_owned()
    }

    /// The `From` header's display name and address.
    pub fn from(&self) -> (String, String) {
        let parsed = self.parsed();
        let from = parsed
            .from()
            .and_then(|a| a.first())
            .expect("a From header");
        (
            from.name().unwrap_or_default().to_owned(),
            from.address().unwrap_or_default().to_owned(),
        )
    }

    /// The plain-text part, with `\n` line ends.
    pub fn text(&self) -> String {
        self.parsed()
            .body_text(0)
            .map(|t| t.replace("\r\n", "\n"))
            .unwrap_or_default()
    }

    /// The HTML part.
    pub fn html(&self) -> String {
        self.parsed()
            .body_html(0)
            .map(|t| t.into_owned())
            .unwrap_or_default()
    }

    /// Every http(s) URL in the plain-text part, in order.
    pub fn links(&self) -> Vec<String> {
        let text = self.text();
        let mut links = Vec::new();
        for start in text.match_indices("http").map(|(i, _)| i) {
            let rest = &text[start..];
            if !(rest.starts_with("http://") || rest.starts_with("https://")) {
                continue;
            }
            let end = rest
                .find(|c: char| c.is_whitespace() || c == '>' || c == '"')
                .unwrap_or(rest.len());
            links.push(rest[..end].to_owned());
        }
        links
    }

    /// The path (and query) of the first link that starts with `base`.
    pub fn link_path(&self, base: &str) -> Option<String> {
        self.links()
            .into_iter()
            .find_map(|l| l.strip_prefix(base).map(str::to_owned))
    }
}

#[derive(Default)]
struct State {
    messages: Vec<Received>,
    refused: HashSet<String>,
}

/// The SMTP server; stops when dropped.
pub struct SmtpSink {
    pub addr: SocketAddr,
    state: Arc<Mutex<State>>,
    arrived: Arc<Notify>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl SmtpSink {
    pub async fn start() -> SmtpSink {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a free port");
        let addr = listener.local_addr().expect("address");
        let state: Arc<Mutex<State>> = Arc::default();
        let arrived = Arc::new(Notify::new());
        let (s, a) = (Arc::clone(&state), Arc::clone(&arrived));
        let task = tokio::spawn(async move {
            loop {
                let Ok((socket, _)) = listener.accept().await else {
                    return;
                };
                let (s, a) = (Arc::clone(&s), Arc::clone(&a));
                tokio::spawn(async move {
                    let _ = session(socket, s, a).await;
                });
            }
        });
        SmtpSink {
            addr,
            state,
            arrived,
            task,
        }
    }

    /// The `--smtp-url` that reaches this sink (plain SMTP).
    pub fn url(&self) -> String {
        format!("smtp://{}?tls=none", self.addr)
    }

    /// From now on, `RCPT TO` this address is refused with `550`.
    pub fn refuse(&self, address: &str) {
        self.state
            .lock()
            .expect("sink")
            .refused
            .insert(address.to_owned());
    }

    /// Accept `address` again.
    pub fn accept(&self, address: &str) {
        self.state.lock().expect("sink").refused.remove(address);
    }

    /// Every message accepted so far, in order.
    pub fn messages(&self) -> Vec<Received> {
        self.state.lock().expect("sink").messages.clone()
    }

    /// Waits until at least `count` messages arrived (at most 20 s, then
    /// panics naming what did arrive); returns them all.
    pub async fn wait_for(&self, count: usize) -> Vec<Received> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let notified = self.arrived.notified();
            let messages = self.messages();
            if messages.len() >= count {
                return messages;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                let subjects: Vec<String> = messages.iter().map(Received::subject).collect();
                panic!("waited for {count} messages, got {subjects:?}");
            }
        }
    }

    /// The messages to `address`, in order.
    pub fn to(&self, address: &str) -> Vec<Received> {
        self.messages()
            .into_iter()
            .filter(|m| m.recipients.iter().any(|r| r == address))
            .collect()
    }
}

/// The address inside `MAIL FROM:<...>` / `RCPT TO:<...>`.
fn angle(arg: &str) -> String {
    let start = arg.find('<').map_or(0, |i| i + 1);
    let end = arg[start..].find('>').map_or(arg.len(), |i| start + i);
    arg[start..end].to_owned()
}

async fn session(
    socket: tokio::net::TcpStream,
    state: Arc<Mutex<State>>,
    arrived: Arc<Notify>,
) -> std::io::Result<()> {
    let (read, mut write) = socket.into_split();
    let mut lines = BufReader::new(read);
    write.write_all(b"220 sink.test ESMTP ready\r\n").await?;
    let mut from = String::new();
    let mut recipients = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let command = line.trim_end();
        let upper = command.to_ascii_uppercase();
        let reply: &[u8] = if upper.starts_with("EHLO") {
            b"250-sink.test\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n"
        } else if upper.starts_with("HELO") {
            b"250 sink.test\r\n"
        } else if upper.starts_with("MAIL FROM:") {
            from = angle(&command[10..]);
            recipients.clear();
            b"250 2.1.0 ok\r\n"
        } else if upper.starts_with("RCPT TO:") {
            let to = angle(&command[8..]);
            if state.lock().expect("sink").refused.contains(&to) {
                b"550 5.1.1 mailbox unavailable\r\n"
            } else {
                recipients.push(to);
                b"250 2.1.5 ok\r\n"
            }
        } else if upper == "DATA" {
            write.write_all(b"354 end with <CRLF>.<CRLF>\r\n").await?;
            let mut raw = Vec::new();
            loop {
                line.clear();
                if lines.read_line(&mut line).await? == 0 {
                    return Ok(());
                }
                if line == ".\r\n" || line == ".\n" {
                    break;
                }
                let unstuffed = line.strip_prefix('.').unwrap_or(&line);
                raw.extend_from_slice(unstuffed.as_bytes());
            }
            state.lock().expect("sink").messages.push(Received {
                envelope_from: from.clone(),
                recipients: std::mem::take(&mut recipients),
                raw,
            });
            arrived.notify_waiters();
            b"250 2.0.0 queued\r\n"
        } else if upper == "RSET" {
            recipients.clear();
            b"250 2.0.0 ok\r\n"
        } else if upper == "NOOP" {
            b"250 2.0.0 ok\r\n"
        } else if upper == "QUIT" {
            write.write_all(b"221 2.0.0 bye\r\n").await?;
            return Ok(());
        } else {
            b"502 5.5.2 not implemented\r\n"
        };
        write.write_all(reply).await?;
    }
}
