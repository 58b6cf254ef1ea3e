use clap::Parser;
use regentra_http::cli::{Cli, run};

fn main() -> std::process::ExitCode {
    regentra_http::allocator::cap_malloc_arenas();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("regentra: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(Cli::parse())) {
        Ok(out) => {
            print!("{out}");
            std::process::ExitCode::SUCCESS
        }
        Err(line) => {
            eprintln!("regentra: {line}");
            std::process::ExitCode::FAILURE
        }
    }
}
