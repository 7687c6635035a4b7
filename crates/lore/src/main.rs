//! The `lore` binary: parse arguments, run, map the outcome to an exit code.

use std::process::ExitCode;

use clap::Parser;

// Parsing and indexing allocate many small short-lived objects on several
// threads; mimalloc is markedly faster at that than the system allocator.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    lore_llm::pin_thread_count();
    let cli = lore::cli::Cli::parse();
    match lore::run(cli) {
        Ok(code) => code,
        // The reader of our output went away (`lore refs x | head`): not an error.
        Err(err) if lore::is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            lore::report_error(&err);
            ExitCode::FAILURE
        }
    }
}
