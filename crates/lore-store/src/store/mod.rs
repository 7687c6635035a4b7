//! [`SqliteStore`]: the SQLite implementation of [`MetaStore`].

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use lore_core::store::{
    ChunkHead, ChunkText, FileEdge, FileRecord, FileState, HistoryUpdate, MAX_DEFINING_FILES,
    MetaStore, MetaWriter, RefRow, RepoMeta, RunSummary, SkippedFile, StoreStats, StoredChunk,
    SymbolRow,
};
use lore_core::{Language, RefKind, SymbolKind};
use rusqlite::{Connection, OpenFlags, OptionalExtension, Row, Transaction, params};

use crate::error::{Context, Error, Result};
use crate::occurrences::{self, Occurrence};
use crate::schema::{MIGRATIONS, SCHEMA_VERSION};

mod graph;
mod read;
mod write;

use graph::{DAMPED, SPECIFICITY, rebuild_file_edges, update_file_edges};
use write::SqliteWriter;

/// The metadata store of one repository, in one SQLite file.
pub struct SqliteStore {
    conn: Connection,
    path: PathBuf,
    /// Secondary indexes dropped for a bulk load, recreated at commit.
    deferred_indexes: Vec<String>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .finish()
    }
}

fn pragmas(conn: &Connection) -> Result<()> {
    conn.busy_timeout(std::time::Duration::from_secs(10))
        .ctx("set busy timeout")?;
    conn.execute_batch(
        "PRAGMA journal_mode = WAL;
         PRAGMA synchronous = NORMAL;
         PRAGMA temp_store = MEMORY;
         PRAGMA cache_size = -65536;",
    )
    .ctx("set pragmas")
}

/// A sealed bulk-loaded store, not yet visible at its final path.
#[derive(Debug)]
pub struct FreshStore {
    path: PathBuf,
}

impl FreshStore {
    /// Atomically moves the store to `target`, where no store exists yet.
    /// This rename is the commit point of a first index run.
    pub fn install(self, target: &Path) -> Result<()> {
        for stale in [sidecar(target, "-wal"), sidecar(target, "-shm")] {
            let _ = std::fs::remove_file(stale);
        }
        std::fs::rename(&self.path, target).map_err(|source| Error::Io {
            path: target.to_owned(),
            source,
        })?;
        if let Some(dir) = target.parent() {
            // Make the rename itself durable; not every platform can open a
            // directory for this, and the data is already safe without it.
            let _ = std::fs::File::open(dir).and_then(|d| d.sync_all());
        }
        Ok(())
    }
}

/// `lore.db` + `-wal` → `lore.db-wal`.
/// Whether a write-ahead log with content lies beside `path` (a writer is
/// running, or one stopped without a checkpoint).
fn has_journal(path: &Path) -> bool {
    std::fs::metadata(sidecar(path, "-wal")).is_ok_and(|m| m.len() > 0)
}

pub(crate) fn sidecar(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

fn user_version(conn: &Connection) -> Result<u32> {
    conn.query_row("PRAGMA user_version", [], |r| r.get(0))
        .ctx("read schema version")
}

impl SqliteStore {
    /// Opens (creating and migrating if needed) the store for writing.
    pub fn open(path: &Path) -> Result<SqliteStore> {
        let mut conn = Connection::open(path).ctx("open database")?;
        pragmas(&conn)?;
        let found = user_version(&conn)?;
        if found > SCHEMA_VERSION {
            return Err(Error::SchemaTooNew {
                path: path.to_owned(),
                found,
                supported: SCHEMA_VERSION,
            });
        }
        if found < SCHEMA_VERSION {
            let tx = conn.transaction().ctx("begin migration")?;
            for migration in &MIGRATIONS[found as usize..] {
                tx.execute_batch(migration).ctx("migrate schema")?;
            }
            tx.pragma_update(None, "user_version", SCHEMA_VERSION)
                .ctx("set schema version")?;
            tx.commit().ctx("commit migration")?;
        }
        Ok(SqliteStore {
            conn,
            path: path.to_owned(),
            deferred_indexes: Vec::new(),
        })
    }

    /// Creates a new store at `path` (replacing any file there) for one
    /// bulk load: no journal, no fsync, and secondary indexes built once at
    /// commit instead of row by row. Until [`SqliteStore::persist`] moves it
    /// into place the file is scratch: a crash leaves only garbage that the
    /// next fresh build overwrites.
    pub fn create_fresh(path: &Path) -> Result<SqliteStore> {
        for stale in [
            path.to_owned(),
            sidecar(path, "-wal"),
            sidecar(path, "-shm"),
        ] {
            match std::fs::remove_file(&stale) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    return Err(Error::Io {
                        path: stale,
                        source: e,
                    });
                }
            }
        }
        let mut conn = Connection::open(path).ctx("create database")?;
        conn.execute_batch(
            "PRAGMA journal_mode = OFF;
             PRAGMA synchronous = OFF;
             PRAGMA temp_store = MEMORY;
             PRAGMA cache_size = -65536;",
        )
        .ctx("set bulk pragmas")?;
        let tx = conn.transaction().ctx("begin migration")?;
        for migration in MIGRATIONS {
            tx.execute_batch(migration).ctx("migrate schema")?;
        }
        tx.pragma_update(None, "user_version", SCHEMA_VERSION)
            .ctx("set schema version")?;
        tx.commit().ctx("commit migration")?;
        let indexes: Vec<(String, String)> = {
            let mut stmt = conn
                .prepare(
                    "SELECT name, sql FROM sqlite_schema WHERE type = 'index' AND sql IS NOT NULL",
                )
                .ctx("list indexes")?;
            stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
                .ctx("list indexes")?
                .collect::<rusqlite::Result<_>>()
                .ctx("list indexes")?
        };
        for (name, _) in &indexes {
            conn.execute_batch(&format!("DROP INDEX \"{name}\""))
                .ctx("drop index for bulk load")?;
        }
        Ok(SqliteStore {
            conn,
            path: path.to_owned(),
            deferred_indexes: indexes.into_iter().map(|(_, sql)| sql).collect(),
        })
    }

    /// Makes a store made by [`SqliteStore::create_fresh`] durable and
    /// switches it to WAL; [`FreshStore::install`] then moves it into place.
    pub fn seal(self) -> Result<FreshStore> {
        self.conn
            .execute_batch("PRAGMA journal_mode = WAL;")
            .ctx("switch to WAL")?;
        let SqliteStore { conn, path, .. } = self;
        conn.close().map_err(|(_, e)| e).ctx("close database")?;
        std::fs::File::open(&path)
            .and_then(|f| f.sync_all())
            .map_err(|source| Error::Io {
                path: path.clone(),
                source,
            })?;
        Ok(FreshStore { path })
    }

    /// Opens an existing store for reading and takes a snapshot: every
    /// query on this handle sees the same committed state.
    pub fn open_snapshot(path: &Path) -> Result<SqliteStore> {
        if !path.exists() {
            return Err(Error::Missing(path.to_owned()));
        }
        match SqliteStore::open_snapshot_with(path, false) {
            Ok(store) => Ok(store),
            // A read-only data directory (a shared index, a read-only
            // mount): SQLite cannot make its WAL index there. When no
            // writer left a journal behind, the file is read as immutable.
            Err(err) if !has_journal(path) => {
                SqliteStore::open_snapshot_with(path, true).map_err(|_| err)
            }
            Err(err) => Err(err),
        }
    }

    fn open_snapshot_with(path: &Path, immutable: bool) -> Result<SqliteStore> {
        let conn = if immutable {
            let uri = format!("file:{}?immutable=1", path.display());
            Connection::open_with_flags(
                uri,
                OpenFlags::SQLITE_OPEN_READ_ONLY
                    | OpenFlags::SQLITE_OPEN_URI
                    | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )
        } else {
            Connection::open_with_flags(
                path,
                OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )
        }
        .ctx("open database")?;
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .ctx("set busy timeout")?;
        let found = user_version(&conn)?;
        if found > SCHEMA_VERSION {
            return Err(Error::SchemaTooNew {
                path: path.to_owned(),
                found,
                supported: SCHEMA_VERSION,
            });
        }
        if found < SCHEMA_VERSION && immutable {
            return Err(Error::ReadOnlyOld(path.to_owned()));
        }
        if found < SCHEMA_VERSION {
            // An older schema: only a writer migrates.
            drop(conn);
            let store = SqliteStore::open(path)?;
            return SqliteStore::open_snapshot(&store.path);
        }
        // Pages are read, not mapped: with a mapping, the kernel's
        // read-around on each fault counted hundreds of megabytes of a
        // large store in a one-shot search's resident memory (530 MB peak
        // on 7.5M lines, 105 MB read). The cache bounds what a snapshot
        // keeps.
        conn.execute_batch("PRAGMA mmap_size = 0; PRAGMA cache_size = -16384;")
            .ctx("set snapshot pragmas")?;
        conn.execute_batch("BEGIN").ctx("begin snapshot")?;
        conn.query_row("SELECT count(*) FROM meta", [], |_| Ok(()))
            .ctx("take snapshot")?;
        Ok(SqliteStore {
            conn,
            path: path.to_owned(),
            deferred_indexes: Vec::new(),
        })
    }

    /// Path of the database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn meta_value(&self, key: &str) -> Result<Option<String>> {
        self.conn
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()
            .ctx("read meta")
    }

    /// Runs a query and collects every row mapped by `f`.
    fn rows<T>(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
        f: impl FnMut(&Row<'_>) -> rusqlite::Result<T>,
        context: &'static str,
    ) -> Result<Vec<T>> {
        let mut stmt = self.conn.prepare_cached(sql).ctx(context)?;
        let rows = stmt.query_map(params, f).ctx(context)?;
        rows.collect::<rusqlite::Result<Vec<_>>>().ctx(context)
    }

    /// [`rows`](Self::rows) for a statement used once (not kept in the
    /// connection's statement cache).
    fn rows_once<T>(
        &self,
        sql: &str,
        f: impl FnMut(&Row<'_>) -> rusqlite::Result<T>,
        context: &'static str,
    ) -> Result<Vec<T>> {
        let mut stmt = self.conn.prepare(sql).ctx(context)?;
        let rows = stmt.query_map([], f).ctx(context)?;
        rows.collect::<rusqlite::Result<Vec<_>>>().ctx(context)
    }

    fn symbols_where(
        &self,
        clause: &str,
        params: &[&dyn rusqlite::ToSql],
    ) -> Result<Vec<SymbolRow>> {
        let sql = format!(
            "SELECT s.id, s.parent_id, f.path, f.lang, s.name, s.qualname, s.kind, s.signature,
                    s.doc, s.start_line, s.end_line
             FROM symbols s JOIN files f ON f.id = s.file_id WHERE {clause}"
        );
        let mut stmt = self.conn.prepare_cached(&sql).ctx("prepare symbol query")?;
        let rows = stmt.query_map(params, symbol_row).ctx("query symbols")?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .ctx("read symbols")
    }
}

/// `ids` as SQL integer literals, comma-separated ("NULL" for none).
///
/// One statement for a whole list: a statement per id, each bound to a
/// new value, is prepared again by SQLite on every step.
/// Chunk texts of at least this many bytes are stored as LZ4 blocks;
/// shorter ones gain too little to pay for the block header.
const COMPRESS_FROM: usize = 128;

/// A chunk text as stored: an LZ4 block (a BLOB, length first) when that is
/// smaller, else the text itself. The chunk table holds a copy of every
/// indexed line, the largest part of the store; code compresses about 2×.
pub(crate) fn stored_text(text: &str) -> rusqlite::types::Value {
    use rusqlite::types::Value;
    if text.len() >= COMPRESS_FROM {
        let block = lz4_flex::block::compress_prepend_size(text.as_bytes());
        if block.len() < text.len() {
            return Value::Blob(block);
        }
    }
    Value::Text(text.to_owned())
}

/// Reads a chunk text written by [`stored_text`] (or plain text, as older
/// stores hold it).
pub(crate) fn text_column(r: &Row<'_>, at: usize) -> rusqlite::Result<String> {
    use rusqlite::types::ValueRef;
    match r.get_ref(at)? {
        ValueRef::Text(t) => Ok(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Blob(b) => {
            let bytes = lz4_flex::block::decompress_size_prepended(b).map_err(|e| {
                rusqlite::Error::FromSqlConversionFailure(
                    at,
                    rusqlite::types::Type::Blob,
                    Box::new(e),
                )
            })?;
            String::from_utf8(bytes).map_err(|e| {
                rusqlite::Error::FromSqlConversionFailure(
                    at,
                    rusqlite::types::Type::Blob,
                    Box::new(e),
                )
            })
        }
        other => Err(rusqlite::Error::InvalidColumnType(
            at,
            "text".into(),
            other.data_type(),
        )),
    }
}

fn id_list(ids: &[u64]) -> String {
    if ids.is_empty() {
        return "NULL".to_owned();
    }
    let mut out = String::with_capacity(ids.len() * 7);
    for (i, id) in ids.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&(*id as i64).to_string());
    }
    out
}

/// `rows` ordered as `ids` first lists them; ids without a row are left
/// out, and a repeated id comes once (rows are moved, not copied: chunk
/// texts can be long).
fn in_given_order<T>(ids: &[u64], rows: Vec<T>, id: impl Fn(&T) -> u64) -> Vec<T> {
    let mut by_id: HashMap<u64, T> = rows.into_iter().map(|r| (id(&r), r)).collect();
    ids.iter().filter_map(|i| by_id.remove(i)).collect()
}

/// The columns of a [`ChunkHead`], for [`chunk_head`].
const CHUNK_HEADS: &str =
    "SELECT c.id, f.path, f.lang, c.start_line, c.end_line, s.qualname, s.kind
     FROM chunks c JOIN files f ON f.id = c.file_id LEFT JOIN symbols s ON s.id = c.symbol_id";

fn chunk_head(
    r: &Row<'_>,
    mut path: impl FnMut(String) -> Arc<str>,
) -> rusqlite::Result<ChunkHead> {
    Ok(ChunkHead {
        id: r.get::<_, i64>(0)? as u64,
        path: path(r.get(1)?),
        lang: lang_of(&r.get::<_, String>(2)?)?,
        start_line: r.get(3)?,
        end_line: r.get(4)?,
        symbol: r.get::<_, Option<String>>(5)?.map(Arc::from),
        kind: r
            .get::<_, Option<String>>(6)?
            .map(|k| kind_of(&k))
            .transpose()?,
    })
}

fn lang_of(name: &str) -> rusqlite::Result<Language> {
    Language::from_name(name).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            0,
            rusqlite::types::Type::Text,
            format!("unknown language {name}").into(),
        )
    })
}

fn kind_of(name: &str) -> rusqlite::Result<SymbolKind> {
    SymbolKind::from_name(name).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            0,
            rusqlite::types::Type::Text,
            format!("unknown kind {name}").into(),
        )
    })
}

fn ref_kind_code(kind: RefKind) -> u8 {
    match kind {
        RefKind::Call => 0,
        RefKind::Use => 1,
        RefKind::Import => 2,
    }
}

fn ref_kind_of(code: u8) -> RefKind {
    match code {
        0 => RefKind::Call,
        2 => RefKind::Import,
        _ => RefKind::Use,
    }
}

fn file_state_row(r: &Row<'_>) -> rusqlite::Result<FileState> {
    Ok(FileState {
        path: r.get(0)?,
        size: r.get(1)?,
        mtime_ns: r.get(2)?,
        hash: r.get(3)?,
    })
}

fn symbol_row(r: &Row<'_>) -> rusqlite::Result<SymbolRow> {
    Ok(SymbolRow {
        id: r.get(0)?,
        parent_id: r.get(1)?,
        path: r.get(2)?,
        lang: lang_of(&r.get::<_, String>(3)?)?,
        name: r.get(4)?,
        qualname: r.get(5)?,
        kind: kind_of(&r.get::<_, String>(6)?)?,
        signature: r.get(7)?,
        doc: r.get(8)?,
        start_line: r.get(9)?,
        end_line: r.get(10)?,
    })
}

/// Escapes `%`, `_` and `\` for a `LIKE ... ESCAPE '\'` pattern.
fn like_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use lore_core::{Chunk, FileSyntax};

    fn put(store: &mut SqliteStore, path: &str, text: &str) -> Vec<u64> {
        let state = FileState {
            path: path.to_owned(),
            size: text.len() as u64,
            mtime_ns: 0,
            hash: format!("{:x}", text.len()),
        };
        let syntax = FileSyntax {
            chunks: vec![Chunk {
                start_line: 1,
                end_line: 1,
                symbol: None,
                text: text.to_owned(),
            }],
            ..FileSyntax::default()
        };
        let mut writer = store.begin("/repo").unwrap();
        let ids = writer
            .put_file(&FileRecord {
                state: &state,
                lang: Language::Python,
                lines: 1,
                syntax: &syntax,
            })
            .unwrap();
        writer.commit(&RunSummary::default(), 1).unwrap();
        ids
    }

    #[test]
    fn long_chunk_texts_are_stored_compressed_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = SqliteStore::open(&dir.path().join("lore.db")).unwrap();
        let long = "def handler(request):\n    return respond(request)\n".repeat(40);
        let ids = put(&mut store, "a.py", &long);
        let short = put(&mut store, "b.py", "x = 1\n");
        let stored: Vec<(String, i64)> = store
            .conn
            .prepare("SELECT typeof(text), length(CAST(text AS BLOB)) FROM chunks ORDER BY id")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(stored[0].0, "blob");
        assert!((stored[0].1 as usize) < long.len() / 4, "{stored:?}");
        assert_eq!(stored[1].0, "text", "short texts stay as they are");
        let back = store.chunks(&[ids[0], short[0]]).unwrap();
        assert_eq!(back[0].text, long);
        assert_eq!(back[1].text, "x = 1\n");
        assert_eq!(store.chunk_texts().unwrap()[0].text, long);
        // A damaged block is an error naming what was read, not a panic.
        store
            .conn
            .execute(
                "UPDATE chunks SET text = x'ff00ff00ff' WHERE id = ?1",
                [ids[0] as i64],
            )
            .unwrap();
        let err = store.chunks(&ids).unwrap_err();
        let mut chain = err.to_string();
        let mut source = std::error::Error::source(&err);
        while let Some(s) = source {
            chain.push_str(&format!(": {s}"));
            source = s.source();
        }
        assert!(chain.contains("read chunks"), "{chain}");
    }

    /// A file defining `defines` (functions) and using `uses`.
    fn put_code(store: &mut SqliteStore, path: &str, defines: &[&str], uses: &[&str]) {
        let state = FileState {
            path: path.to_owned(),
            size: 1,
            mtime_ns: 0,
            hash: format!("{defines:?}{uses:?}"),
        };
        let syntax = FileSyntax {
            symbols: defines
                .iter()
                .enumerate()
                .map(|(i, name)| lore_core::Symbol {
                    name: (*name).to_owned(),
                    qualname: (*name).to_owned(),
                    kind: SymbolKind::Function,
                    signature: String::new(),
                    doc: None,
                    doc_lines: None,
                    start_line: i as u32 + 1,
                    end_line: i as u32 + 1,
                    parent: None,
                })
                .collect(),
            refs: uses
                .iter()
                .enumerate()
                .map(|(i, name)| lore_core::Reference {
                    name: (*name).to_owned(),
                    kind: RefKind::Call,
                    line: i as u32 + 1,
                    enclosing: None,
                })
                .collect(),
            ..FileSyntax::default()
        };
        let mut writer = store.begin("/repo").unwrap();
        writer
            .put_file(&FileRecord {
                state: &state,
                lang: Language::Python,
                lines: 1,
                syntax: &syntax,
            })
            .unwrap();
        writer.commit(&RunSummary::default(), 1).unwrap();
    }

    fn edges(store: &SqliteStore) -> Vec<(String, String, i64)> {
        let mut edges: Vec<_> = store
            .file_edges(None)
            .unwrap()
            .into_iter()
            .map(|e| (e.src, e.dst, (e.weight * 1000.0).round() as i64))
            .collect();
        edges.sort();
        edges
    }

    /// The graph a full rebuild would make, computed and rolled back.
    fn rebuilt_edges(store: &mut SqliteStore) -> Vec<(String, String, i64)> {
        let tx = store.conn.transaction().unwrap();
        rebuild_file_edges(&tx).unwrap();
        let mut stmt = tx
            .prepare(
                "SELECT s.path, d.path, e.weight FROM file_edges e
                 JOIN files s ON s.id = e.src JOIN files d ON d.id = e.dst",
            )
            .unwrap();
        let mut edges: Vec<(String, String, i64)> = stmt
            .query_map([], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    (r.get::<_, f64>(2)? * 1000.0).round() as i64,
                ))
            })
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        drop(stmt);
        tx.rollback().unwrap();
        edges.sort();
        edges
    }

    #[test]
    fn the_file_graph_follows_each_change_as_a_rebuild_would() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = SqliteStore::open(&dir.path().join("index.db")).unwrap();
        put_code(&mut store, "http.py", &["send_request"], &["parse_header"]);
        put_code(&mut store, "headers.py", &["parse_header"], &[]);
        put_code(
            &mut store,
            "app.py",
            &["main"],
            &["send_request", "parse_header"],
        );
        assert_eq!(edges(&store), rebuilt_edges(&mut store));
        assert_eq!(edges(&store).len(), 3);

        // A second definition halves what each use of the name says.
        put_code(&mut store, "compat.py", &["parse_header"], &[]);
        assert_eq!(edges(&store), rebuilt_edges(&mut store));
        // The definition moves: edges follow it.
        put_code(&mut store, "headers.py", &["format_header"], &[]);
        assert_eq!(edges(&store), rebuilt_edges(&mut store));
        // A caller changes what it uses.
        put_code(&mut store, "app.py", &["main"], &["format_header"]);
        assert_eq!(edges(&store), rebuilt_edges(&mut store));
        // A callee is edited without changing what it defines.
        put_code(
            &mut store,
            "headers.py",
            &["format_header"],
            &["send_request"],
        );
        assert_eq!(edges(&store), rebuilt_edges(&mut store));
        assert!(
            edges(&store)
                .iter()
                .any(|(s, d, _)| s == "app.py" && d == "headers.py")
        );
        // A file goes away: no edge mentions it.
        let mut writer = store.begin("/repo").unwrap();
        writer.remove_file("compat.py").unwrap();
        writer.commit(&RunSummary::default(), 1).unwrap();
        assert_eq!(edges(&store), rebuilt_edges(&mut store));
        assert!(
            edges(&store)
                .iter()
                .all(|(s, d, _)| s != "compat.py" && d != "compat.py")
        );
    }

    #[test]
    fn chunk_heads_are_chunks_without_their_text() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = SqliteStore::open(&dir.path().join("index.db")).unwrap();
        let a = put(&mut store, "a.py", "x = 1");
        let b = put(&mut store, "pkg/b.py", "y = 2");
        let ids = [b[0], 999_999, a[0], b[0]];
        let want: Vec<ChunkHead> = store
            .chunks(&ids)
            .unwrap()
            .iter()
            .map(StoredChunk::head)
            .collect();
        assert_eq!(
            want.len(),
            2,
            "the unknown id is left out, the repeated one comes once"
        );
        assert_eq!(store.chunk_heads(&ids).unwrap(), want, "in the order given");
        let all = store.all_chunk_heads().unwrap();
        assert_eq!(all, [want[1].clone(), want[0].clone()], "by ascending id");
    }

    #[test]
    fn a_rewritten_file_never_gets_its_old_chunk_id_back() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = SqliteStore::open(&dir.path().join("index.db")).unwrap();
        let first = put(&mut store, "a.py", "x = 1");
        // The only chunk holds the largest id: a plain rowid would be
        // handed out again once it is deleted.
        let second = put(&mut store, "a.py", "x = 2");
        assert_eq!(first.len(), 1);
        assert_eq!(second.len(), 1);
        assert!(second[0] > first[0], "{first:?} then {second:?}");
        assert_eq!(store.chunk_ids().unwrap(), second);
    }

    #[test]
    fn calls_in_a_line_range_are_read_back_from_the_occurrences() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = SqliteStore::open(&dir.path().join("index.db")).unwrap();
        put_code(
            &mut store,
            "app.py",
            &["main"],
            &["parse", "send", "parse", "close"],
        );
        assert_eq!(
            store.calls_in("app.py", 2, 3).unwrap(),
            vec![("send".to_owned(), 2), ("parse".to_owned(), 3)]
        );
        assert_eq!(store.calls_in("app.py", 1, 100).unwrap().len(), 4);
        let parse = store.ref_counts("parse").unwrap();
        assert_eq!((parse.calls, parse.call_files), (2, 1));
        assert_eq!(
            store.ref_counts("nothing").unwrap(),
            lore_core::store::RefCounts::default()
        );
        assert!(store.calls_in("other.py", 1, 100).unwrap().is_empty());
    }
}
