//! The entry point: parse the command line, load the configuration, dispatch. Everything else
//! lives in the library (`lib.rs`) so tests can start the same application.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = service::cli::Cli::parse();
    service::cli::run(cli)
}
