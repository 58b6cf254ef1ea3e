use clap::Parser;
use regentra_http::cli::{Cli, run};

fn main() {
    print!("{}", run(Cli::parse()));
}
