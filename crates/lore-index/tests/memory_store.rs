//! The query layer works through the storage traits alone: a snapshot over
//! the in-memory metadata store and a toy lexical searcher answers lookups
//! and searches as one over SQLite and tantivy does.

use lore_core::store::{
    FileRecord, FileState, LexicalHit, LexicalQuery, LexicalSearcher, MemoryStore, MetaStore,
    RunSummary,
};
use lore_core::{Language, Result};
use lore_index::{RepoIndex, SearchMode, SearchOptions};

const PRICING: &str = "\
class PriceTable:
    def price(self, item):
        return item.price

def discount_for(item):
    \"\"\"The discount of one item.\"\"\"
    if item.on_sale:
        return item.price / 10
    return 0
";

const CART: &str = "\
from pricing import discount_for

def total(items):
    return sum(discount_for(i) for i in items)
";

/// Scores a chunk by how many query words its text contains.
struct WordSearcher {
    chunks: Vec<(u64, String)>,
}

impl LexicalSearcher for WordSearcher {
    fn search(&self, query: &LexicalQuery) -> Result<Vec<LexicalHit>> {
        let words: Vec<String> = query
            .text
            .split_whitespace()
            .map(str::to_lowercase)
            .collect();
        let mut hits: Vec<LexicalHit> = self
            .chunks
            .iter()
            .map(|(id, text)| LexicalHit {
                chunk_id: *id,
                score: words.iter().filter(|w| text.contains(w.as_str())).count() as f32,
            })
            .filter(|h| h.score > 0.0)
            .collect();
        hits.sort_by(|a, b| b.score.total_cmp(&a.score));
        hits.truncate(query.limit);
        Ok(hits)
    }

    fn num_docs(&self) -> u64 {
        self.chunks.len() as u64
    }

    fn check(&self) -> Result<Vec<String>> {
        Ok(Vec::new())
    }
}

fn snapshot(root: &std::path::Path, data: &std::path::Path) -> RepoIndex {
    let mut store = MemoryStore::new();
    let mut lexical = WordSearcher { chunks: Vec::new() };
    let mut writer = store.begin(&root.to_string_lossy()).unwrap();
    for (path, text) in [("pricing.py", PRICING), ("cart.py", CART)] {
        std::fs::write(root.join(path), text).unwrap();
        let syntax = lore_syntax::parse(text, Language::Python);
        let state = FileState {
            path: path.into(),
            size: text.len() as u64,
            mtime_ns: 1,
            hash: format!("{:x}", text.len()),
        };
        let ids = writer
            .put_file(&FileRecord {
                state: &state,
                lang: Language::Python,
                lines: text.lines().count() as u32,
                syntax: &syntax,
            })
            .unwrap();
        for (id, chunk) in ids.iter().zip(&syntax.chunks) {
            lexical.chunks.push((*id, chunk.text.to_lowercase()));
        }
    }
    writer.commit(&RunSummary::default(), 1).unwrap();
    RepoIndex::from_stores(root, data.to_owned(), Box::new(store), Box::new(lexical)).unwrap()
}

#[test]
fn a_snapshot_over_the_memory_store_answers_lookups_and_searches() {
    let root = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let index = snapshot(root.path(), data.path());

    let found = index.symbols("discount_for", None, 5).unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(
        (found[0].path.as_str(), found[0].start_line),
        ("pricing.py", 5)
    );

    let refs = index.refs("discount_for").unwrap();
    let calls: Vec<(&str, u32, &str)> = refs
        .iter()
        .filter(|r| r.kind == "call")
        .map(|r| (r.path.as_str(), r.line, r.text.as_str()))
        .collect();
    assert_eq!(
        calls,
        [("cart.py", 4, "return sum(discount_for(i) for i in items)")]
    );

    let outline = index
        .outline(&root.path().join("pricing.py").to_string_lossy())
        .unwrap();
    let names: Vec<&str> = outline.iter().map(|s| s.qualname.as_str()).collect();
    assert_eq!(names, ["PriceTable", "discount_for"]);
    assert_eq!(outline[0].children[0].qualname, "PriceTable.price");

    let options = SearchOptions {
        mode: SearchMode::Lexical,
        limit: 3,
        ..SearchOptions::default()
    };
    let hits = index.search("discount sale", &options).unwrap();
    assert_eq!(hits[0].at.symbol.as_deref(), Some("discount_for"));
    assert_eq!(hits[0].at.citation(), "pricing.py:5-9");
    assert!(hits[0].text.contains("on_sale"));
    assert!(index.check().unwrap().is_empty());
}
