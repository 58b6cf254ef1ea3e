use clap::Parser;
use regentra_http::cli::{Cli, run};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run(Cli::parse()).await {
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
