//! Runs a query set through one resident index snapshot, as the server
//! does, and prints the time per search once every cache is warm: for
//! profiling the search path (e.g. under `valgrind --tool=callgrind`,
//! whose instruction counts do not depend on the machine's noise).
//!
//! `cargo run --release -p lore-index --example search_loop -- REPO QUERIES.jsonl [ROUNDS]`
//! (LORE_HOME as for `lore`).

use std::path::Path;
use std::time::Instant;

use lore_index::{Home, RepoIndex, SearchOptions, load_queries};

#[allow(clippy::print_stdout)] // A command-line tool.
fn main() {
    let mut args = std::env::args().skip(1);
    let usage = "usage: search_loop REPO QUERIES.jsonl [ROUNDS]";
    let repo = args.next().expect(usage);
    let queries = load_queries(Path::new(&args.next().expect(usage))).expect("query file");
    let rounds: usize = args.next().map_or(5, |r| r.parse().expect(usage));
    let home = Home::resolve(std::env::var_os("LORE_HOME").map(Into::into)).expect("LORE_HOME");
    let index = RepoIndex::open(&home, Path::new(&repo))
        .expect("indexed repository")
        .resident();
    index.warm();
    let options = SearchOptions::default();
    // One round to fill the caches (nearest words, name vectors).
    for q in &queries {
        index.search(&q.query, &options).expect("search");
    }
    let started = Instant::now();
    let mut hits = 0;
    for _ in 0..rounds {
        for q in &queries {
            hits += index.search(&q.query, &options).expect("search").len();
        }
    }
    let n = rounds * queries.len();
    println!(
        "{n} searches, {:.3} ms each, {hits} hits",
        started.elapsed().as_secs_f64() * 1000.0 / n as f64
    );
}
