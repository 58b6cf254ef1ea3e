//! Writing the command line's output. `print!` and `eprintln!` panic when
//! the other end of the pipe has gone (`regentra catalog controls --json |
//! head -1`); a reader that stopped reading has all it wanted, so a closed
//! pipe ends the output quietly instead.

use std::io::{self, ErrorKind, Write};

/// What became of a write to standard output.
#[derive(Debug)]
pub enum Written {
    /// All of it was written.
    Done,
    /// The reader closed the pipe: what it read is all it wanted.
    ReaderGone,
    /// Standard output failed otherwise (a full disk, say).
    Failed(io::Error),
}

/// Writes `text` to standard output and flushes it.
pub fn stdout(text: &str) -> Written {
    let mut out = io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Written::Done,
        Err(e) if e.kind() == ErrorKind::BrokenPipe => Written::ReaderGone,
        Err(e) => Written::Failed(e),
    }
}

/// Writes one line to standard error. A line nobody can read any more is
/// dropped: a server must not stop because its log reader did.
pub fn stderr(line: &str) {
    let mut err = io::stderr().lock();
    let _ = writeln!(err, "{line}");
}
