//! `lore serve` and `lore mcp`: the runtime around the server crates.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use lore_index::Home;
use lore_server::ServerConfig;

use crate::cli::{McpArgs, ServeArgs};
use crate::success;

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// `lore serve`.
pub fn serve(home: Home, args: ServeArgs) -> Result<ExitCode> {
    let mut config = ServerConfig::new(home);
    config.allow_origins = args.allow_origins;
    config.public_hosts = args.public_hosts;
    config.repo_roots = if args.repo_roots.is_empty() {
        vec![std::env::current_dir().context("cannot read the working directory")?]
    } else {
        args.repo_roots
    };
    config.rate_per_second = args.rate_limit;
    config.rate_burst = (args.rate_limit * 2.0).max(1.0);
    config.limit_loopback = args.limit_loopback;
    config.resident_budget = args.resident_mb << 20;
    config.no_llm = args.no_llm;
    let token_path = config.home.path().join(lore_server::security::TOKEN_FILE);
    runtime()?.block_on(lore_server::serve(
        config,
        args.addr,
        args.paths,
        |started| {
            eprintln!("Lore is serving on http://{}", started.addr);
            for id in &started.repos {
                eprintln!("  indexing {id} in the background");
            }
            if let Some(token) = &started.new_token {
                eprintln!(
                    "  bearer token (shown once; kept in {}):\n  {token}",
                    token_path.display()
                );
            } else if !started.addr.ip().is_loopback() {
                eprintln!(
                    "  API requests need the bearer token in {}",
                    token_path.display()
                );
            }
        },
        lore_server::shutdown_signal(),
    ))?;
    eprintln!("Lore stopped");
    Ok(success())
}

/// `lore mcp`.
pub fn mcp(home: Home, root: PathBuf, args: McpArgs) -> Result<ExitCode> {
    runtime()?.block_on(lore_mcp::serve_stdio(home, root, args.no_llm))?;
    Ok(success())
}
