//! The server's malloc arenas.
//!
//! glibc's malloc gives threads that contend for the heap arenas of their
//! own, up to eight per core, and returns little of what they free to the
//! system. The server touches the heap from tokio's workers and from the
//! blocking pool where the embedded store runs (tens of threads under
//! load), so its memory grew with every load round instead of settling.
//! Measured on the embedded server (debug build, 2 cores, three identical
//! rounds of 8 clients reading `/v1/me` and a client's ticket list and
//! creating tickets; RSS after each): 112, 149, 197, 239 MB with glibc's
//! defaults, 101, 105, 105, 123 MB with `MALLOC_ARENA_MAX=2` (mimalloc as
//! the global allocator did no better than glibc: 109, 166, 196 MB).
//!
//! glibc reads the setting once, when the process starts, so the
//! `regentra` command sets it by starting itself again, once, with
//! `MALLOC_ARENA_MAX=2` added to its environment. An operator who set the
//! variable keeps their value; elsewhere than glibc on Linux nothing
//! happens.

/// The variable glibc reads, and the value the server runs with.
pub const ARENAS_VARIABLE: &str = "MALLOC_ARENA_MAX";
pub const ARENAS: &str = "2";

/// Replaces the process with itself, `MALLOC_ARENA_MAX=2` added, unless the
/// variable is set already; returns only when nothing was replaced (the
/// variable was set, or the restart failed: then with glibc's defaults).
pub fn cap_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        use std::os::unix::process::CommandExt;
        if std::env::var_os(ARENAS_VARIABLE).is_some() {
            return;
        }
        let Ok(executable) = std::env::current_exe() else {
            return;
        };
        let mut args = std::env::args_os();
        let mut command = std::process::Command::new(executable);
        if let Some(name) = args.next() {
            command.arg0(name);
        }
        // `exec` returns only if it failed.
        let error = command.args(args).env(ARENAS_VARIABLE, ARENAS).exec();
        crate::cli::output::stderr(&format!(
            "regentra: could not restart with {ARENAS_VARIABLE}={ARENAS} ({error}); \
             running with the system allocator's defaults"
        ));
    }
}
