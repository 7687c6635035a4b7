//! The metadata store's contract: the same writes on the SQLite store and
//! on its in-memory twin (`lore_core::store::MemoryStore`) give the same
//! answers to every query. A PostgreSQL backend joins this test.

use std::collections::HashMap;

use lore_core::store::{
    Commit, FileEdge, FileRecord, FileState, HistoryUpdate, MemoryStore, MetaStore, RunSummary,
    SkippedFile, SymbolRow,
};
use lore_core::{FileSyntax, Language, SymbolKind};
use lore_store::SqliteStore;

const CART: &str = r#"
from shop.pricing import discount_for, PriceTable

class Cart:
    """A customer's cart."""

    def __init__(self, items):
        self.items = items

    @property
    def total(self):
        """Sum of the prices, after discounts."""
        table = PriceTable()
        return sum(table.price(i) - discount_for(i) for i in self.items)

    def checkout(self, payment):
        payment.charge(self.total)
        return receipt(self)

def receipt(cart):
    return f"{cart.total}"
"#;

const PRICING: &str = r#"
class PriceTable:
    """Prices by item."""

    def price(self, item):
        return item.price

def discount_for(item):
    """The discount of one item."""
    if item.on_sale:
        return item.price / 10
    return 0
"#;

const PRICING_V2: &str = r#"
class PriceTable:
    def price(self, item):
        return lookup_price(item)

def lookup_price(item):
    return item.price

def discount_for(item):
    return 0
"#;

const VIEWS: &str = r#"
from shop.cart import Cart, receipt

def show_cart(request):
    cart = Cart(request.items)
    cart.checkout(request.payment)
    return receipt(cart)

def show_total(request):
    return Cart(request.items).total
"#;

const README: &str = "# Shop\n\nA cart with discounts.\n";

struct Source {
    path: &'static str,
    lang: Language,
    text: &'static str,
    mtime_ns: i64,
}

fn state(s: &Source) -> FileState {
    FileState {
        path: s.path.into(),
        size: s.text.len() as u64,
        mtime_ns: s.mtime_ns,
        hash: blake3_like(s.text),
    }
}

/// A stable stand-in for a content hash (the store only compares it).
fn blake3_like(text: &str) -> String {
    let mut h: u64 = 1469598103934665603;
    for b in text.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(1099511628211);
    }
    format!("{h:016x}")
}

fn commit(sha: &str, time: i64, email: &str, files: &[&str]) -> Commit {
    Commit {
        sha: sha.into(),
        author: email.split('@').next().unwrap_or_default().into(),
        email: email.into(),
        time,
        message: format!("change {sha}"),
        files: files.iter().map(|f| (*f).to_owned()).collect(),
    }
}

fn run(generation: u64) -> RunSummary {
    RunSummary {
        started_at: 1_700_000_000 + generation as i64,
        duration_ms: 5,
        added: vec!["shop/cart.py".into()],
        unchanged: generation as usize,
        ..RunSummary::default()
    }
}

/// Applies one index run's changes to a store.
fn write(
    store: &mut dyn MetaStore,
    put: &[Source],
    remove: &[&str],
    touch: &[FileState],
    history: HistoryUpdate,
    skipped: &[SkippedFile],
    generation: u64,
) {
    let parsed: Vec<(FileState, FileSyntax)> = put
        .iter()
        .map(|s| (state(s), lore_syntax::parse(s.text, s.lang)))
        .collect();
    let mut writer = store.begin("/repo/shop").unwrap();
    for path in remove {
        writer.remove_file(path).unwrap();
    }
    for ((state, syntax), source) in parsed.iter().zip(put) {
        let ids = writer
            .put_file(&FileRecord {
                state,
                lang: source.lang,
                lines: source.text.lines().count() as u32,
                syntax,
            })
            .unwrap();
        assert_eq!(ids.len(), syntax.chunks.len(), "{}", state.path);
    }
    for state in touch {
        writer.touch_file(state).unwrap();
    }
    writer.replace_skipped(skipped).unwrap();
    writer.add_history(&history).unwrap();
    writer.put_meta("index.format", "2").unwrap();
    writer.commit(&run(generation), generation).unwrap();
}

fn first_run(store: &mut dyn MetaStore) {
    write(
        store,
        &[
            Source {
                path: "shop/cart.py",
                lang: Language::Python,
                text: CART,
                mtime_ns: 10,
            },
            Source {
                path: "shop/pricing.py",
                lang: Language::Python,
                text: PRICING,
                mtime_ns: 11,
            },
            Source {
                path: "shop/views.py",
                lang: Language::Python,
                text: VIEWS,
                mtime_ns: 12,
            },
            Source {
                path: "README.md",
                lang: Language::Markdown,
                text: README,
                mtime_ns: 13,
            },
        ],
        &[],
        &[],
        HistoryUpdate {
            head: Some("b2".into()),
            branch: Some("main".into()),
            shallow: false,
            replace: true,
            commits: vec![
                commit(
                    "b2",
                    200,
                    "ana@shop.example",
                    &["shop/cart.py", "shop/views.py"],
                ),
                commit("a1", 100, "bo@shop.example", &["shop/cart.py", "README.md"]),
            ],
        },
        &[SkippedFile {
            path: "static/app.min.js".into(),
            reason: "minified".into(),
            detail: "one line of 90 KiB".into(),
            indexed: false,
            seen: None,
        }],
        1,
    );
}

/// A second run: pricing rewritten (a name gained, docs lost), views
/// removed, the README touched, one new commit and one already known.
fn second_run(store: &mut dyn MetaStore) {
    let readme = Source {
        path: "README.md",
        lang: Language::Markdown,
        text: README,
        mtime_ns: 99,
    };
    write(
        store,
        &[Source {
            path: "shop/pricing.py",
            lang: Language::Python,
            text: PRICING_V2,
            mtime_ns: 21,
        }],
        &["shop/views.py"],
        &[state(&readme)],
        HistoryUpdate {
            head: Some("c3".into()),
            branch: None,
            shallow: true,
            replace: false,
            commits: vec![
                commit(
                    "c3",
                    300,
                    "ana@shop.example",
                    &["shop/pricing.py", "shop/views.py"],
                ),
                commit(
                    "b2",
                    200,
                    "ana@shop.example",
                    &["shop/cart.py", "shop/views.py"],
                ),
            ],
        },
        &[],
        2,
    );
}

/// A symbol row without storage ids, with its parent by name: ids are each
/// backend's own business.
fn symbol(row: &SymbolRow, by_id: &HashMap<i64, String>) -> String {
    format!(
        "{}:{}-{} {} {} {:?} parent={:?} sig={:?} doc={:?} {}",
        row.path,
        row.start_line,
        row.end_line,
        row.kind.name(),
        row.qualname,
        row.name,
        row.parent_id
            .map(|p| by_id.get(&p).cloned().unwrap_or_default()),
        row.signature,
        row.doc,
        row.lang.name()
    )
}

fn symbols(rows: &[SymbolRow], store: &dyn MetaStore) -> Vec<String> {
    let mut by_id = HashMap::new();
    for path in store.paths().unwrap() {
        for row in store.outline(&path).unwrap() {
            by_id.insert(row.id, row.qualname.clone());
        }
    }
    rows.iter().map(|r| symbol(r, &by_id)).collect()
}

fn edges(mut edges: Vec<FileEdge>) -> Vec<String> {
    edges.sort_by(|a, b| (&a.src, &a.dst).cmp(&(&b.src, &b.dst)));
    edges
        .iter()
        .map(|e| format!("{} -> {} {:.6}", e.src, e.dst, e.weight))
        .collect()
}

/// Everything the store answers, in a form both backends must agree on.
fn answers(store: &dyn MetaStore) -> Vec<String> {
    let mut out = Vec::new();
    let mut say = |what: &str, value: String| out.push(format!("{what}: {value}"));
    let meta = store.meta().unwrap();
    say("meta", format!("{meta:?}"));
    let mut states = store.file_states().unwrap();
    states.sort_by(|a, b| a.path.cmp(&b.path));
    say("states", format!("{states:?}"));
    say("paths", format!("{:?}", store.paths().unwrap()));
    for path in store.paths().unwrap() {
        say("state", format!("{:?}", store.file_state(&path).unwrap()));
        say(
            &format!("outline {path}"),
            format!("{:?}", symbols(&store.outline(&path).unwrap(), store)),
        );
        say(&format!("defined name uses {path}"), {
            let mut uses = store.defined_name_uses(&path).unwrap();
            uses.sort_by(|a, b| a.0.cmp(&b.0));
            format!(
                "{:?}",
                uses.iter()
                    .map(|(n, w)| format!("{n} {w:.6}"))
                    .collect::<Vec<_>>()
            )
        });
        say(
            &format!("calls in {path}"),
            format!("{:?}", store.calls_in(&path, 1, 40).unwrap()),
        );
        say(
            &format!("churn {path}"),
            format!("{:?}", store.churn(&path).unwrap()),
        );
    }
    say(
        "unknown state",
        format!("{:?}", store.file_state("nope.py").unwrap()),
    );
    say(
        "churn of a removed file",
        format!("{:?}", store.churn("shop/views.py").unwrap()),
    );
    // Chunks: by content, in id order (ids are the backend's own).
    let ids = store.chunk_ids().unwrap();
    let chunks = store.chunks(&ids).unwrap();
    say(
        "chunks",
        format!(
            "{:?}",
            chunks
                .iter()
                .map(|c| (
                    &c.path,
                    c.start_line,
                    c.end_line,
                    &c.symbol,
                    c.kind,
                    c.lang,
                    &c.text
                ))
                .collect::<Vec<_>>()
        ),
    );
    let heads = store.all_chunk_heads().unwrap();
    assert_eq!(heads, chunks.iter().map(|c| c.head()).collect::<Vec<_>>());
    let asked = vec![ids[2], 999_999, ids[0], ids[2]];
    let some = store.chunk_heads(&asked).unwrap();
    assert_eq!(
        some.iter().map(|h| h.id).collect::<Vec<_>>(),
        vec![ids[2], ids[0]]
    );
    let texts = store.chunk_texts().unwrap();
    assert_eq!(texts.iter().map(|t| t.id).collect::<Vec<_>>(), ids);
    say(
        "chunk texts",
        format!(
            "{:?}",
            texts
                .iter()
                .map(|t| (t.lang, &t.name, &t.symbol, &t.doc, t.text.len()))
                .collect::<Vec<_>>()
        ),
    );
    for name in [
        "Cart",
        "cart",
        "total",
        "PriceTable.price",
        "discount_for",
        "nothing",
    ] {
        say(
            &format!("exact {name}"),
            format!(
                "{:?}",
                symbols(&store.symbols_exact(name, None).unwrap(), store)
            ),
        );
        say(
            &format!("refs {name}"),
            format!("{:?}", store.refs(name).unwrap()),
        );
        say(
            &format!("ref counts {name}"),
            format!("{:?}", store.ref_counts(name).unwrap()),
        );
    }
    say(
        "exact method total",
        format!(
            "{:?}",
            symbols(
                &store
                    .symbols_exact("total", Some(SymbolKind::Method))
                    .unwrap(),
                store
            )
        ),
    );
    for (prefix, limit) in [("pr", 10), ("Cart.", 10), ("d", 1), ("%", 5), ("_", 5)] {
        say(
            &format!("prefix {prefix} {limit}"),
            format!(
                "{:?}",
                symbols(&store.symbols_prefix(prefix, None, limit).unwrap(), store)
            ),
        );
    }
    let mut names = store.symbol_names().unwrap();
    names.sort();
    say("names", format!("{names:?}"));
    say(
        "documented",
        format!(
            "{:?}",
            symbols(
                &store
                    .documented_symbols(&[SymbolKind::Function, SymbolKind::Method])
                    .unwrap(),
                store
            )
        ),
    );
    say(
        "edges",
        format!("{:?}", edges(store.file_edges(None).unwrap())),
    );
    say(
        "edges of cart",
        format!(
            "{:?}",
            edges(store.file_edges(Some(&["shop/cart.py".into()])).unwrap())
        ),
    );
    let mut stats = store.stats().unwrap();
    stats.files_per_lang.sort();
    stats.skipped_per_reason.sort();
    say("stats", format!("{stats:?}"));
    say("skipped", format!("{:?}", store.skipped().unwrap()));
    say(
        "meta value",
        format!("{:?}", store.get_meta("index.format").unwrap()),
    );
    out
}

fn agree(sqlite: &dyn MetaStore, memory: &dyn MetaStore, when: &str) {
    let (a, b) = (answers(sqlite), answers(memory));
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x, y, "SQLite and memory stores disagree {when}");
    }
}

#[test]
fn sqlite_and_memory_stores_answer_alike() {
    let dir = tempfile::tempdir().unwrap();
    let mut sqlite = SqliteStore::open(&dir.path().join("lore.db")).unwrap();
    let mut memory = MemoryStore::new();
    for store in [&mut sqlite as &mut dyn MetaStore, &mut memory] {
        first_run(store);
    }
    agree(&sqlite, &memory, "after the first run");
    // The first run really stored something worth comparing.
    let first = answers(&memory);
    assert!(
        first
            .iter()
            .any(|a| a.contains("shop/views.py -> shop/cart.py")),
        "{first:#?}"
    );
    assert!(memory.churn("shop/cart.py").unwrap() == Some((2, 200, 2)));
    for store in [&mut sqlite as &mut dyn MetaStore, &mut memory] {
        second_run(store);
    }
    agree(&sqlite, &memory, "after an incremental run");
    assert!(memory.file_state("shop/views.py").unwrap().is_none());
    assert_eq!(memory.meta().unwrap().generation, 2);
}

#[test]
fn a_bulk_loaded_store_answers_as_the_twin_does() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("lore.db");
    let mut fresh = SqliteStore::create_fresh(&dir.path().join("scratch.db")).unwrap();
    first_run(&mut fresh);
    fresh.seal().unwrap().install(&target).unwrap();
    let mut sqlite = SqliteStore::open(&target).unwrap();
    let mut memory = MemoryStore::new();
    first_run(&mut memory);
    agree(&sqlite, &memory, "after a bulk load");
    second_run(&mut sqlite);
    second_run(&mut memory);
    agree(&sqlite, &memory, "after a run on a bulk-loaded store");
}

#[test]
fn an_uncommitted_write_changes_nothing_in_either_store() {
    let dir = tempfile::tempdir().unwrap();
    let mut sqlite = SqliteStore::open(&dir.path().join("lore.db")).unwrap();
    let mut memory = MemoryStore::new();
    for store in [&mut sqlite as &mut dyn MetaStore, &mut memory] {
        first_run(store);
        let before = answers(&*store);
        {
            let mut writer = store.begin("/elsewhere").unwrap();
            writer.remove_file("shop/cart.py").unwrap();
            writer.put_meta("index.format", "9").unwrap();
            // Dropped without commit.
        }
        assert_eq!(answers(&*store), before);
        store
            .set_meta(&[("vectors", Some("v1.bin")), ("index.format", None)])
            .unwrap();
        assert_eq!(
            store.get_meta("vectors").unwrap().as_deref(),
            Some("v1.bin")
        );
        assert_eq!(store.get_meta("index.format").unwrap(), None);
    }
    agree(&sqlite, &memory, "after a dropped write and set_meta");
}

/// What the vectors read after a run: the chunks added (ids above the
/// highest seen) and the chunks deleted, logged until consumed together
/// with a metadata change.
#[test]
fn both_stores_log_deleted_chunks_until_consumed_and_page_added_ones() {
    let dir = tempfile::tempdir().unwrap();
    let mut sqlite = SqliteStore::open(&dir.path().join("lore.db")).unwrap();
    let mut memory = MemoryStore::new();
    let mut added_texts = Vec::new();
    for store in [&mut sqlite as &mut dyn MetaStore, &mut memory] {
        first_run(store);
        assert!(store.deleted_chunks().unwrap().is_empty());
        let before = store.chunk_ids().unwrap();
        let highest = *before.last().unwrap();
        second_run(store);
        let after = store.chunk_ids().unwrap();
        let deleted = store.deleted_chunks().unwrap();
        let gone: Vec<u64> = before
            .iter()
            .copied()
            .filter(|id| !after.contains(id))
            .collect();
        assert!(!gone.is_empty());
        assert_eq!(deleted, gone);
        let added: Vec<u64> = after.iter().copied().filter(|&id| id > highest).collect();
        assert!(!added.is_empty());
        // Paged by `limit`, in id order, nothing at or below `after`.
        let mut paged = Vec::new();
        let mut from = highest;
        loop {
            let page = store.chunk_texts_after(from, 1).unwrap();
            let Some(last) = page.last() else { break };
            assert_eq!(page.len(), 1);
            from = last.id;
            paged.extend(page);
        }
        assert_eq!(paged.iter().map(|t| t.id).collect::<Vec<_>>(), added);
        added_texts.push(
            paged
                .iter()
                .map(|t| (t.lang, t.symbol.clone(), t.text.clone()))
                .collect::<Vec<_>>(),
        );
        // Consumed together with a metadata value; the rest stay logged.
        store
            .set_meta_consuming(&[("vectors.manifest", Some("m1"))], &deleted[..1])
            .unwrap();
        assert_eq!(
            store.get_meta("vectors.manifest").unwrap().as_deref(),
            Some("m1")
        );
        assert_eq!(store.deleted_chunks().unwrap(), deleted[1..]);
        store.set_meta_consuming(&[], &deleted).unwrap();
        assert!(store.deleted_chunks().unwrap().is_empty());
    }
    assert_eq!(added_texts[0], added_texts[1]);
}
