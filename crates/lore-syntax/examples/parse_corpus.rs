//! Parses every Python file under a directory on one thread and prints
//! where the time goes: tree-sitter alone vs the whole of `lore_syntax::parse`.
//!
//! `cargo run --release -p lore-syntax --example parse_corpus -- DIR`

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use lore_core::Language;

fn python_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            python_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "py") {
            out.push(path);
        }
    }
}

#[allow(clippy::print_stdout)] // A command-line tool.
fn main() {
    let dir = std::env::args().nth(1).expect("usage: parse_corpus DIR");
    let mut files = Vec::new();
    python_files(Path::new(&dir), &mut files);
    let sources: Vec<String> = files
        .iter()
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .collect();
    let mut parser = tree_sitter::Parser::new();
    parser
        .set_language(&tree_sitter_python::LANGUAGE.into())
        .expect("python grammar");
    let (mut tree_only, mut full) = (Duration::ZERO, Duration::ZERO);
    let (mut refs, mut symbols, mut chunks) = (0, 0, 0);
    for round in 0..2 {
        for source in &sources {
            let t = Instant::now();
            let tree = parser.parse(source, None);
            let parsed = t.elapsed();
            drop(tree);
            let t = Instant::now();
            let syntax = lore_syntax::parse(source, Language::Python);
            let whole = t.elapsed();
            if round == 1 {
                tree_only += parsed;
                full += whole;
                refs += syntax.refs.len();
                symbols += syntax.symbols.len();
                chunks += syntax.chunks.len();
            }
        }
    }
    let bytes: usize = sources.iter().map(String::len).sum();
    println!(
        "{} files, {:.1} MiB: tree-sitter {:.0} ms, lore_syntax::parse {:.0} ms (+{:.0} ms extraction); {symbols} symbols, {refs} refs, {chunks} chunks",
        sources.len(),
        bytes as f64 / (1 << 20) as f64,
        tree_only.as_secs_f64() * 1e3,
        full.as_secs_f64() * 1e3,
        (full - tree_only).as_secs_f64() * 1e3,
    );
}
