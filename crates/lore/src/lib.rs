//! The `lore` command line: argument handling, repository discovery, and
//! rendering results as text or JSON. All work is done by library crates.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod ask;
pub mod cli;
mod commands;
mod progress;
mod serve;

use std::process::ExitCode;

pub use commands::run;

/// Prints an error and each of its causes to stderr.
pub fn report_error(err: &anyhow::Error) {
    eprintln!("error: {err}");
    for cause in err.chain().skip(1) {
        eprintln!("  caused by: {cause}");
    }
}

/// True if `err` comes from writing to a closed pipe.
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// Exit code for a successful command.
pub(crate) fn success() -> ExitCode {
    ExitCode::SUCCESS
}
