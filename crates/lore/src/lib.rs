//! The `lore` command line: argument handling, repository discovery, and
//! rendering results as text or JSON. All work is done by library crates.
#![allow(clippy::print_stdout, clippy::print_stderr)]

/// `println!` that returns the write error instead of panicking, so a
/// reader that goes away (`lore history | head -2`) ends the command quietly.
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout().lock(), $($arg)*)
    }};
}

/// `print!` that returns the write error instead of panicking.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        write!(std::io::stdout().lock(), $($arg)*)
    }};
}

mod ask;
pub mod cli;
mod commands;
mod progress;
mod render;
mod serve;

use std::io::IsTerminal;
use std::process::ExitCode;

pub use commands::run;

/// Prints an error and each of its causes to stderr, with colour only on a
/// terminal.
pub fn report_error(err: &anyhow::Error) {
    eprint!("{}", error_text(err, colour_stderr()));
}

/// Colour on stderr: only on a terminal, and never with `NO_COLOR` set.
pub fn colour_stderr() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// The text of an error and its causes. A cause already quoted by the
/// message above it (`path: No such file (os error 2)` wrapping the OS error)
/// is not repeated.
pub fn error_text(err: &anyhow::Error, colour: bool) -> String {
    let label = if colour {
        "\x1b[1;31merror\x1b[0m"
    } else {
        "error"
    };
    let mut out = format!("{label}: {err}\n");
    let mut shown = err.to_string();
    for cause in err.chain().skip(1) {
        let text = cause.to_string();
        if shown.contains(&text) {
            continue;
        }
        out.push_str(&format!("  caused by: {text}\n"));
        shown = text;
    }
    out
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
