//! The `lore` binary: parse arguments, run, map the outcome to an exit code.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = lore::cli::Cli::parse();
    match lore::run(cli) {
        Ok(code) => code,
        Err(err) => {
            lore::report_error(&err);
            ExitCode::FAILURE
        }
    }
}
