use clap::Parser;
use regentra_http::cli::output::{self, Written};
use regentra_http::cli::{Cli, run};

fn main() -> std::process::ExitCode {
    regentra_http::allocator::cap_malloc_arenas();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            output::stderr(&format!("regentra: cannot start the async runtime: {e}"));
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(Cli::parse())) {
        Ok(out) => match output::stdout(&out) {
            Written::Done | Written::ReaderGone => std::process::ExitCode::SUCCESS,
            Written::Failed(e) => {
                output::stderr(&format!("regentra: cannot write the output: {e}"));
                std::process::ExitCode::FAILURE
            }
        },
        Err(line) => {
            output::stderr(&format!("regentra: {line}"));
            std::process::ExitCode::FAILURE
        }
    }
}
