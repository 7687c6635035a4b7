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
fn sidecar(path: &Path, suffix: &str) -> PathBuf {
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
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
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
        if found < SCHEMA_VERSION {
            // An older schema: only a writer migrates.
            drop(conn);
            let store = SqliteStore::open(path)?;
            return SqliteStore::open_snapshot(&store.path);
        }
        // Reads map the file rather than copying pages through read calls;
        // the mapping is shared with the page cache, not a private copy.
        conn.execute_batch("PRAGMA mmap_size = 1073741824; PRAGMA cache_size = -16384;")
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

impl MetaStore for SqliteStore {
    fn meta(&self) -> lore_core::Result<RepoMeta> {
        let get = |k| self.meta_value(k);
        let last_run = match get("last_run")? {
            Some(json) => Some(
                serde_json::from_str::<RunSummary>(&json)
                    .map_err(|_| Error::Corrupt("meta.last_run".into()))?,
            ),
            None => None,
        };
        Ok(RepoMeta {
            root: get("root")?.unwrap_or_default(),
            generation: get("generation")?.and_then(|g| g.parse().ok()).unwrap_or(0),
            head: get("head")?,
            branch: get("branch")?,
            shallow: get("shallow")?.is_some_and(|s| s == "1"),
            last_run,
        })
    }

    fn file_states(&self) -> lore_core::Result<Vec<FileState>> {
        Ok(self.rows(
            "SELECT path, size, mtime_ns, hash FROM files",
            [],
            file_state_row,
            "prepare files",
        )?)
    }

    fn begin(&mut self, root: &str) -> lore_core::Result<Box<dyn MetaWriter + '_>> {
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .ctx("begin write")?;
        tx.execute(
            "INSERT OR REPLACE INTO meta(key, value) VALUES ('root', ?1)",
            [root],
        )
        .ctx("write root")?;
        if self.deferred_indexes.is_empty() {
            tx.execute_batch(
                "CREATE TEMP TABLE IF NOT EXISTS touched_names (name TEXT PRIMARY KEY) WITHOUT ROWID;
                 DELETE FROM temp.touched_names;",
            )
            .ctx("prepare file graph update")?;
        }
        Ok(Box::new(SqliteWriter {
            tx,
            names: HashMap::new(),
            deferred_indexes: &self.deferred_indexes,
            touched_files: Vec::new(),
            removed: 0,
        }))
    }

    fn chunks(&self, ids: &[u64]) -> lore_core::Result<Vec<StoredChunk>> {
        let sql = format!(
            "SELECT c.id, f.path, f.lang, c.start_line, c.end_line, s.qualname, s.kind, c.text
             FROM chunks c JOIN files f ON f.id = c.file_id
             LEFT JOIN symbols s ON s.id = c.symbol_id WHERE c.id IN ({})",
            id_list(ids)
        );
        let rows = self.rows_once(
            &sql,
            |r| {
                Ok(StoredChunk {
                    id: r.get::<_, i64>(0)? as u64,
                    path: r.get(1)?,
                    lang: lang_of(&r.get::<_, String>(2)?)?,
                    start_line: r.get(3)?,
                    end_line: r.get(4)?,
                    symbol: r.get(5)?,
                    kind: r
                        .get::<_, Option<String>>(6)?
                        .map(|k| kind_of(&k))
                        .transpose()?,
                    text: r.get(7)?,
                })
            },
            "read chunks",
        )?;
        Ok(in_given_order(ids, rows, |c| c.id))
    }

    fn chunk_heads(&self, ids: &[u64]) -> lore_core::Result<Vec<ChunkHead>> {
        let sql = format!("{CHUNK_HEADS} WHERE c.id IN ({})", id_list(ids));
        let rows = self.rows_once(
            &sql,
            |r| chunk_head(r, |path| path.into()),
            "read chunk heads",
        )?;
        Ok(in_given_order(ids, rows, |h| h.id))
    }

    fn all_chunk_heads(&self) -> lore_core::Result<Vec<ChunkHead>> {
        // One shared string per path.
        let mut paths: HashMap<String, Arc<str>> = HashMap::new();
        let mut intern = |path: String| -> Arc<str> {
            paths
                .entry(path)
                .or_insert_with_key(|p| Arc::from(p.as_str()))
                .clone()
        };
        let mut stmt = self
            .conn
            .prepare(&format!("{CHUNK_HEADS} ORDER BY c.id"))
            .ctx("prepare chunk heads")?;
        let rows = stmt
            .query_map([], |r| chunk_head(r, &mut intern))
            .ctx("read chunk heads")?;
        Ok(rows
            .collect::<rusqlite::Result<Vec<_>>>()
            .ctx("read chunk heads")?)
    }

    fn paths(&self) -> lore_core::Result<Vec<String>> {
        Ok(self.rows(
            "SELECT path FROM files ORDER BY path",
            [],
            |r| r.get(0),
            "prepare paths",
        )?)
    }

    fn symbols_exact(
        &self,
        name: &str,
        kind: Option<SymbolKind>,
    ) -> lore_core::Result<Vec<SymbolRow>> {
        let kind = kind.map(|k| k.name()).unwrap_or("");
        Ok(self.symbols_where(
            "(s.name = ?1 COLLATE NOCASE OR s.qualname = ?1 COLLATE NOCASE) AND (?2 = '' OR s.kind = ?2)
             ORDER BY s.name = ?1 DESC, f.path, s.start_line",
            &[&name, &kind],
        )?)
    }

    fn symbols_prefix(
        &self,
        prefix: &str,
        kind: Option<SymbolKind>,
        limit: usize,
    ) -> lore_core::Result<Vec<SymbolRow>> {
        let kind = kind.map(|k| k.name()).unwrap_or("");
        let pattern = format!("{}%", like_escape(prefix));
        Ok(self.symbols_where(
            "(s.name LIKE ?1 ESCAPE '\\' OR s.qualname LIKE ?1 ESCAPE '\\') AND (?2 = '' OR s.kind = ?2)
             ORDER BY length(s.name), f.path, s.start_line LIMIT ?3",
            &[&pattern, &kind, &(limit as i64)],
        )?)
    }

    fn symbol_names(&self) -> lore_core::Result<Vec<String>> {
        Ok(self.rows(
            "SELECT DISTINCT name FROM symbols",
            [],
            |r| r.get(0),
            "prepare names",
        )?)
    }

    fn outline(&self, path: &str) -> lore_core::Result<Vec<SymbolRow>> {
        Ok(self.symbols_where("f.path = ?1 ORDER BY s.start_line, s.id", &[&path])?)
    }

    fn get_meta(&self, key: &str) -> lore_core::Result<Option<String>> {
        Ok(self.meta_value(key)?)
    }

    fn set_meta(&mut self, pairs: &[(&str, Option<&str>)]) -> lore_core::Result<()> {
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .ctx("begin meta write")?;
        for (key, value) in pairs {
            match value {
                Some(value) => tx.execute(
                    "INSERT OR REPLACE INTO meta(key, value) VALUES (?1, ?2)",
                    [key, value],
                ),
                None => tx.execute("DELETE FROM meta WHERE key = ?1", [key]),
            }
            .ctx("write meta")?;
        }
        tx.commit().ctx("commit meta")?;
        Ok(())
    }

    fn chunk_ids(&self) -> lore_core::Result<Vec<u64>> {
        Ok(self.rows(
            "SELECT id FROM chunks ORDER BY id",
            [],
            |r| Ok(r.get::<_, i64>(0)? as u64),
            "read chunk ids",
        )?)
    }

    fn chunk_texts(&self) -> lore_core::Result<Vec<ChunkText>> {
        Ok(self.rows(
            "SELECT c.id, f.lang, c.text, coalesce(s.name || ' ' || s.signature, ''), coalesce(s.doc, ''),
                    coalesce(s.qualname, '')
             FROM chunks c JOIN files f ON f.id = c.file_id
             LEFT JOIN symbols s ON s.id = c.symbol_id ORDER BY c.id",
            [],
            |r| {
                Ok(ChunkText {
                    id: r.get::<_, i64>(0)? as u64,
                    lang: lang_of(&r.get::<_, String>(1)?)?,
                    text: r.get(2)?,
                    name: r.get(3)?,
                    doc: r.get(4)?,
                    symbol: r.get(5)?,
                })
            },
            "read chunk texts",
        )?)
    }

    fn documented_symbols(&self, kinds: &[SymbolKind]) -> lore_core::Result<Vec<SymbolRow>> {
        let kinds: Vec<&str> = kinds.iter().map(|k| k.name()).collect();
        let list = serde_json::to_string(&kinds)
            .map_err(|e| lore_core::Error::backend("encode kinds", e))?;
        Ok(self.symbols_where(
            "s.doc IS NOT NULL AND s.kind IN (SELECT value FROM json_each(?1))
             ORDER BY f.path, s.start_line",
            &[&list],
        )?)
    }

    fn refs(&self, name: &str) -> lore_core::Result<Vec<RefRow>> {
        let groups = self.rows(
            "SELECT f.path, f.lang, r.occurrences
                 FROM names n JOIN refs r ON r.name_id = n.id JOIN files f ON f.id = r.file_id
                 WHERE n.name = ?1 ORDER BY f.path",
            [name],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    lang_of(&r.get::<_, String>(1)?)?,
                    r.get::<_, Vec<u8>>(2)?,
                ))
            },
            "prepare refs query",
        )?;
        let mut qualnames: HashMap<i64, String> = HashMap::new();
        let mut qualname_stmt = self
            .conn
            .prepare_cached("SELECT qualname FROM symbols WHERE id = ?1")
            .ctx("prepare enclosing query")?;
        let mut out = Vec::new();
        for (path, lang, blob) in groups {
            let occurrences = occurrences::decode(&blob)
                .ok_or_else(|| Error::Corrupt(format!("references to {name} in {path}")))?;
            for o in occurrences {
                let enclosing = match o.enclosing {
                    None => None,
                    Some(id) => match qualnames.get(&id) {
                        Some(q) => Some(q.clone()),
                        None => {
                            let q: Option<String> = qualname_stmt
                                .query_row([id], |r| r.get(0))
                                .optional()
                                .ctx("read enclosing symbol")?;
                            if let Some(q) = &q {
                                qualnames.insert(id, q.clone());
                            }
                            q
                        }
                    },
                };
                out.push(RefRow {
                    path: path.clone(),
                    line: o.line,
                    name: name.to_owned(),
                    kind: ref_kind_of(o.kind),
                    enclosing,
                    lang,
                });
            }
        }
        Ok(out)
    }

    fn ref_counts(&self, name: &str) -> lore_core::Result<lore_core::store::RefCounts> {
        let blobs = self.rows(
            "SELECT r.occurrences FROM names n JOIN refs r ON r.name_id = n.id WHERE n.name = ?1",
            [name],
            |r| r.get::<_, Vec<u8>>(0),
            "prepare reference counts",
        )?;
        let mut counts = lore_core::store::RefCounts::default();
        for blob in blobs {
            let occurrences = occurrences::decode(&blob)
                .ok_or_else(|| Error::Corrupt(format!("references to {name}")))?;
            let count = |kind| {
                occurrences
                    .iter()
                    .filter(|o| ref_kind_of(o.kind) == kind)
                    .count()
            };
            let (calls, uses) = (count(RefKind::Call), count(RefKind::Use));
            counts.calls += calls;
            counts.call_files += usize::from(calls > 0);
            counts.uses += uses;
            counts.use_files += usize::from(uses > 0);
        }
        Ok(counts)
    }

    fn calls_in(&self, path: &str, start: u32, end: u32) -> lore_core::Result<Vec<(String, u32)>> {
        let groups = self.rows(
            "SELECT n.name, r.occurrences FROM refs r JOIN names n ON n.id = r.name_id
             WHERE r.file_id = (SELECT id FROM files WHERE path = ?1)",
            [path],
            |r| Ok((r.get::<_, String>(0)?, r.get::<_, Vec<u8>>(1)?)),
            "prepare calls query",
        )?;
        let mut out = Vec::new();
        for (name, blob) in groups {
            let occurrences = occurrences::decode(&blob)
                .ok_or_else(|| Error::Corrupt(format!("references to {name} in {path}")))?;
            for o in occurrences {
                if (start..=end).contains(&o.line) && ref_kind_of(o.kind) == RefKind::Call {
                    out.push((name.clone(), o.line));
                }
            }
        }
        out.sort_by(|a, b| (a.1, &a.0).cmp(&(b.1, &b.0)));
        Ok(out)
    }

    fn file_edges(&self, paths: Option<&[String]>) -> lore_core::Result<Vec<FileEdge>> {
        let select = "SELECT s.path, d.path, e.weight FROM file_edges e \
                      JOIN files s ON s.id = e.src JOIN files d ON d.id = e.dst";
        let row = |r: &rusqlite::Row<'_>| {
            Ok(FileEdge {
                src: r.get(0)?,
                dst: r.get(1)?,
                weight: r.get(2)?,
            })
        };
        let Some(paths) = paths else {
            return Ok(self.rows(select, [], row, "read file graph")?);
        };
        let mut out = Vec::new();
        let mut stmt = self
            .conn
            .prepare_cached(&format!(
                "{select} WHERE e.src = (SELECT id FROM files WHERE path = ?1) \
                 OR e.dst = (SELECT id FROM files WHERE path = ?1)"
            ))
            .ctx("prepare file edges")?;
        for path in paths {
            let rows = stmt.query_map([path], row).ctx("read file edges")?;
            for edge in rows {
                out.push(edge.ctx("read file edge")?);
            }
        }
        Ok(out)
    }

    fn defined_name_uses(&self, path: &str) -> lore_core::Result<Vec<(String, f64)>> {
        Ok(self.rows(
            &format!(
                "WITH f AS (SELECT id FROM files WHERE path = ?1),
                  defs AS (
                      SELECT name, count(DISTINCT file_id) AS n FROM symbols
                      WHERE name IN (SELECT name FROM symbols WHERE file_id = (SELECT id FROM f))
                      GROUP BY name
                  )
             SELECT nm.name, sum({DAMPED}) * {SPECIFICITY} / d.n FROM names nm
             JOIN defs d ON d.name = nm.name
             JOIN refs r ON r.name_id = nm.id
             WHERE r.file_id != (SELECT id FROM f) AND d.n <= ?2
             GROUP BY nm.name"
            ),
            params![path, MAX_DEFINING_FILES],
            |r| Ok((r.get(0)?, r.get(1)?)),
            "read name uses",
        )?)
    }

    fn stats(&self) -> lore_core::Result<StoreStats> {
        let count =
            |sql: &str| -> Result<u64> { self.conn.query_row(sql, [], |r| r.get(0)).ctx("count") };
        let files_per_lang = self.rows(
            "SELECT lang, count(*), sum(lines) FROM files GROUP BY lang ORDER BY count(*) DESC",
            [],
            |r| Ok((lang_of(&r.get::<_, String>(0)?)?, r.get(1)?, r.get(2)?)),
            "prepare stats",
        )?;
        let skipped_per_reason = self.rows(
            "SELECT reason, count(*) FROM skipped GROUP BY reason ORDER BY count(*) DESC",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
            "prepare skipped stats",
        )?;
        Ok(StoreStats {
            files_per_lang,
            symbols: count("SELECT count(*) FROM symbols")?,
            refs: count("SELECT coalesce(sum(count), 0) FROM refs")?,
            chunks: count("SELECT count(*) FROM chunks")?,
            commits: count("SELECT count(*) FROM commits")?,
            skipped_per_reason,
            files_with_syntax_errors: count("SELECT count(*) FROM files WHERE syntax_errors > 0")?,
        })
    }

    fn file_state(&self, path: &str) -> lore_core::Result<Option<FileState>> {
        Ok(self
            .rows(
                "SELECT path, size, mtime_ns, hash FROM files WHERE path = ?1",
                [path],
                file_state_row,
                "prepare file",
            )?
            .pop())
    }

    fn skipped(&self) -> lore_core::Result<Vec<SkippedFile>> {
        Ok(self.rows(
            "SELECT path, reason, detail, indexed FROM skipped ORDER BY path",
            [],
            |r| {
                Ok(SkippedFile {
                    path: r.get(0)?,
                    reason: r.get(1)?,
                    detail: r.get(2)?,
                    indexed: r.get(3)?,
                })
            },
            "prepare skipped",
        )?)
    }

    fn churn(&self, path: &str) -> lore_core::Result<Option<(u64, i64, u64)>> {
        let row: (u64, Option<i64>, u64) = self
            .conn
            .query_row(
                "SELECT count(*), max(c.time), count(DISTINCT c.email)
                 FROM commit_files cf JOIN commits c ON c.id = cf.commit_id WHERE cf.path = ?1",
                [path],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .ctx("query churn")?;
        Ok(row.1.map(|last| (row.0, last, row.2)))
    }
}

/// One write transaction. Dropped without `commit`, it rolls back.
struct SqliteWriter<'c> {
    tx: Transaction<'c>,
    names: HashMap<String, i64>,
    deferred_indexes: &'c [String],
    /// Files written by this run (new ids); their defined names, old and
    /// new, are in `temp.touched_names`. Drives the incremental file graph.
    touched_files: Vec<i64>,
    /// Files removed by this run.
    removed: usize,
}

impl SqliteWriter<'_> {
    /// Whether this run updates the file graph incrementally (not a bulk
    /// load, which builds it whole).
    fn tracking(&self) -> bool {
        self.deferred_indexes.is_empty()
    }

    fn file_id(&self, path: &str) -> Result<Option<i64>> {
        self.tx
            .prepare_cached("SELECT id FROM files WHERE path = ?1")
            .and_then(|mut s| s.query_row([path], |r| r.get(0)).optional())
            .ctx("find file")
    }

    fn defined_names(&self, file_id: i64) -> Result<HashSet<String>> {
        let mut stmt = self
            .tx
            .prepare_cached("SELECT DISTINCT name FROM symbols WHERE file_id = ?1")
            .ctx("read defined names")?;
        let names = stmt
            .query_map([file_id], |r| r.get(0))
            .and_then(|rows| rows.collect::<rusqlite::Result<HashSet<String>>>())
            .ctx("read defined names")?;
        Ok(names)
    }

    /// Deletes a file's row and everything extracted from it.
    fn delete_rows(&self, file_id: i64) -> Result<()> {
        for table in ["symbols", "refs", "imports", "chunks"] {
            let sql = format!("DELETE FROM {table} WHERE file_id = ?1");
            self.tx
                .prepare_cached(&sql)
                .and_then(|mut s| s.execute([file_id]))
                .ctx("delete file rows")?;
        }
        self.tx
            .prepare_cached("DELETE FROM files WHERE id = ?1")
            .and_then(|mut s| s.execute([file_id]))
            .ctx("delete file")?;
        Ok(())
    }

    fn name_id(&mut self, name: &str) -> Result<i64> {
        if let Some(&id) = self.names.get(name) {
            return Ok(id);
        }
        let mut insert = self
            .tx
            .prepare_cached("INSERT INTO names(name) VALUES (?1) ON CONFLICT(name) DO NOTHING")
            .ctx("prepare name insert")?;
        let id = if insert.execute([name]).ctx("insert name")? == 1 {
            self.tx.last_insert_rowid()
        } else {
            self.tx
                .query_row("SELECT id FROM names WHERE name = ?1", [name], |r| r.get(0))
                .ctx("read name")?
        };
        self.names.insert(name.to_owned(), id);
        Ok(id)
    }

    fn set_meta(&self, key: &str, value: &str) -> Result<()> {
        self.tx
            .execute(
                "INSERT OR REPLACE INTO meta(key, value) VALUES (?1, ?2)",
                [key, value],
            )
            .ctx("write meta")?;
        Ok(())
    }
}

impl MetaWriter for SqliteWriter<'_> {
    fn remove_file(&mut self, path: &str) -> lore_core::Result<()> {
        let Some(id) = self.file_id(path)? else {
            return Ok(());
        };
        if self.tracking() {
            // Every name it defined is lost; edges from and to it go.
            self.tx
                .prepare_cached(
                    "INSERT OR IGNORE INTO temp.touched_names
                     SELECT DISTINCT name FROM symbols WHERE file_id = ?1",
                )
                .and_then(|mut s| s.execute([id]))
                .ctx("record changed names")?;
            self.tx
                .prepare_cached("DELETE FROM file_edges WHERE src = ?1 OR dst = ?1")
                .and_then(|mut s| s.execute([id]))
                .ctx("delete file edges")?;
        }
        self.delete_rows(id)?;
        self.removed += 1;
        Ok(())
    }

    fn put_file(&mut self, file: &FileRecord<'_>) -> lore_core::Result<Vec<u64>> {
        let syntax = file.syntax;
        let state = file.state;
        // A rewritten file keeps its id, so that edges into it stay valid
        // when the names it defines stay the same (the usual edit).
        let previous = self.file_id(&state.path)?;
        let mut old_names: HashSet<String> = HashSet::new();
        if let Some(id) = previous {
            if self.tracking() {
                old_names = self.defined_names(id)?;
                self.tx
                    .prepare_cached("DELETE FROM file_edges WHERE src = ?1")
                    .and_then(|mut s| s.execute([id]))
                    .ctx("delete file edges")?;
            }
            self.delete_rows(id)?;
        }
        self.tx
            .prepare_cached(
                "INSERT INTO files(id, path, lang, size, mtime_ns, hash, lines, syntax_errors)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )
            .and_then(|mut s| {
                s.execute(params![
                    previous,
                    state.path,
                    file.lang.name(),
                    state.size as i64,
                    state.mtime_ns,
                    state.hash,
                    file.lines,
                    syntax.syntax_errors
                ])
            })
            .ctx("insert file")?;
        let file_id = self.tx.last_insert_rowid();
        if self.tracking() {
            // Names gained or lost move other files' edges; the rest do not.
            let new_names: HashSet<&str> = syntax.symbols.iter().map(|s| s.name.as_str()).collect();
            let mut insert = self
                .tx
                .prepare_cached("INSERT OR IGNORE INTO temp.touched_names VALUES (?1)")
                .ctx("record changed names")?;
            for name in old_names.iter().filter(|n| !new_names.contains(n.as_str())) {
                insert.execute([name]).ctx("record changed names")?;
            }
            for name in new_names.iter().filter(|n| !old_names.contains(**n)) {
                insert.execute([name]).ctx("record changed names")?;
            }
            drop(insert);
            self.touched_files.push(file_id);
        }

        let mut symbol_ids: Vec<i64> = Vec::with_capacity(syntax.symbols.len());
        {
            let mut stmt = self
                .tx
                .prepare_cached(
                    "INSERT INTO symbols(file_id, parent_id, name, qualname, kind, signature, doc,
                                         start_line, end_line)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                )
                .ctx("prepare symbol insert")?;
            for sym in &syntax.symbols {
                let parent = sym.parent.map(|p| symbol_ids[p]);
                stmt.execute(params![
                    file_id,
                    parent,
                    sym.name,
                    sym.qualname,
                    sym.kind.name(),
                    sym.signature,
                    sym.doc,
                    sym.start_line,
                    sym.end_line
                ])
                .ctx("insert symbol")?;
                symbol_ids.push(self.tx.last_insert_rowid());
            }
        }
        // Group the file's references by name, in line order.
        let mut by_name: Vec<(i64, Occurrence)> = Vec::with_capacity(syntax.refs.len());
        for r in &syntax.refs {
            by_name.push((
                self.name_id(&r.name)?,
                Occurrence {
                    line: r.line,
                    kind: ref_kind_code(r.kind),
                    enclosing: r.enclosing.map(|i| symbol_ids[i]),
                },
            ));
        }
        by_name.sort_by_key(|(name, o)| (*name, o.line, o.kind));
        {
            let mut stmt = self
                .tx
                .prepare_cached(
                    "INSERT INTO refs(file_id, name_id, count, occurrences) VALUES (?1, ?2, ?3, ?4)",
                )
                .ctx("prepare ref insert")?;
            let mut blob = Vec::new();
            let mut group = Vec::new();
            for run in by_name.chunk_by(|a, b| a.0 == b.0) {
                group.clear();
                group.extend(run.iter().map(|(_, o)| *o));
                occurrences::encode(&group, &mut blob);
                stmt.execute(params![file_id, run[0].0, group.len() as i64, blob])
                    .ctx("insert ref")?;
            }
            let mut stmt = self
                .tx
                .prepare_cached(
                    "INSERT INTO imports(file_id, module, name, line) VALUES (?1, ?2, ?3, ?4)",
                )
                .ctx("prepare import insert")?;
            for imp in &syntax.imports {
                stmt.execute(params![file_id, imp.module, imp.name, imp.line])
                    .ctx("insert import")?;
            }
        }
        let mut chunk_ids = Vec::with_capacity(syntax.chunks.len());
        let mut stmt = self
            .tx
            .prepare_cached(
                "INSERT INTO chunks(file_id, symbol_id, start_line, end_line, text) VALUES (?1, ?2, ?3, ?4, ?5)",
            )
            .ctx("prepare chunk insert")?;
        for chunk in &syntax.chunks {
            let symbol = chunk.symbol.map(|i| symbol_ids[i]);
            stmt.execute(params![
                file_id,
                symbol,
                chunk.start_line,
                chunk.end_line,
                chunk.text
            ])
            .ctx("insert chunk")?;
            chunk_ids.push(self.tx.last_insert_rowid() as u64);
        }
        Ok(chunk_ids)
    }

    fn touch_file(&mut self, state: &FileState) -> lore_core::Result<()> {
        self.tx
            .execute(
                "UPDATE files SET size = ?2, mtime_ns = ?3 WHERE path = ?1",
                params![state.path, state.size as i64, state.mtime_ns],
            )
            .ctx("touch file")?;
        Ok(())
    }

    fn put_meta(&mut self, key: &str, value: &str) -> lore_core::Result<()> {
        Ok(self.set_meta(key, value)?)
    }

    fn replace_skipped(&mut self, skipped: &[SkippedFile]) -> lore_core::Result<()> {
        self.tx
            .execute("DELETE FROM skipped", [])
            .ctx("clear skipped")?;
        let mut stmt = self
            .tx
            .prepare_cached(
                "INSERT INTO skipped(path, reason, detail, indexed) VALUES (?1, ?2, ?3, ?4)",
            )
            .ctx("prepare skipped insert")?;
        for s in skipped {
            stmt.execute(params![s.path, s.reason, s.detail, s.indexed])
                .ctx("insert skipped")?;
        }
        Ok(())
    }

    fn add_history(&mut self, history: &HistoryUpdate) -> lore_core::Result<()> {
        if history.replace {
            self.tx
                .execute_batch("DELETE FROM commit_files; DELETE FROM commits;")
                .ctx("clear history")?;
        }
        {
            let mut commit_stmt = self
                .tx
                .prepare_cached(
                    "INSERT OR IGNORE INTO commits(sha, author, email, time, message) VALUES (?1, ?2, ?3, ?4, ?5)",
                )
                .ctx("prepare commit insert")?;
            let mut file_stmt = self
                .tx
                .prepare_cached("INSERT INTO commit_files(commit_id, path) VALUES (?1, ?2)")
                .ctx("prepare commit file insert")?;
            for c in &history.commits {
                if commit_stmt
                    .execute(params![c.sha, c.author, c.email, c.time, c.message])
                    .ctx("insert commit")?
                    == 0
                {
                    continue;
                }
                let id = self.tx.last_insert_rowid();
                for path in &c.files {
                    file_stmt
                        .execute(params![id, path])
                        .ctx("insert commit file")?;
                }
            }
        }
        match &history.head {
            Some(head) => self.set_meta("head", head)?,
            None => {
                self.tx
                    .execute("DELETE FROM meta WHERE key = 'head'", [])
                    .ctx("clear head")?;
            }
        }
        match &history.branch {
            Some(branch) => self.set_meta("branch", branch)?,
            None => {
                self.tx
                    .execute("DELETE FROM meta WHERE key = 'branch'", [])
                    .ctx("clear branch")?;
            }
        }
        self.set_meta("shallow", if history.shallow { "1" } else { "0" })?;
        Ok(())
    }

    fn commit(self: Box<Self>, run: &RunSummary, generation: u64) -> lore_core::Result<()> {
        let json = serde_json::to_string(run)
            .map_err(|e| lore_core::Error::backend("encode run summary", e))?;
        self.set_meta("last_run", &json)?;
        self.set_meta("generation", &generation.to_string())?;
        // The file graph is built whole on first runs (about 0.3 s on
        // Django); later runs recompute only the edges a change can move.
        let bulk_load = !self.deferred_indexes.is_empty();
        for sql in self.deferred_indexes {
            self.tx.execute_batch(sql).ctx("build index")?;
        }
        if bulk_load {
            rebuild_file_edges(&self.tx)?;
        } else {
            update_file_edges(&self.tx, &self.touched_files, self.removed)?;
        }
        self.tx.commit().ctx("commit")?;
        Ok(())
    }
}

/// How much a use of a name says about which file it means: short
/// lower-case names (`get`, `push`, `len`) are shared with libraries and
/// say little; long or capitalised ones (`parse_header`, `Session`) are
/// specific. As in aider's repository map.
const SPECIFICITY: &str =
    "(CASE WHEN length(nm.name) >= 8 OR nm.name GLOB '*[A-Z]*' THEN 1.0 ELSE 0.1 END)";

/// Uses of a name in one file, damped (about 1 + log₄): a file calling a
/// helper twenty times is not twenty times as tied to it.
const DAMPED: &str = "(1 + (r.count > 1) + (r.count > 4) + (r.count > 16))";

/// Brings the file graph up to date after files were removed or written.
///
/// An edge (src, dst) sums, over the names src uses and dst defines, a
/// weight that depends on src's uses and on how many files define the
/// name. A written file keeps its id, so the edge can move only if src was
/// written, or a name it uses was gained or lost by a written or removed
/// file (`temp.touched_names`: that covers dst changing what it defines and
/// a name's number of defining files changing). Those sources' edges are
/// recomputed; edges touching removed files went with them. Names defined
/// by more than `MAX_DEFINING_FILES` files both before and after carry no
/// weight and are skipped: one run moves a name's count by at most the
/// number of files it wrote or removed.
fn update_file_edges(tx: &Transaction<'_>, written: &[i64], removed: usize) -> Result<()> {
    let touched: i64 = tx
        .query_row("SELECT count(*) FROM temp.touched_names", [], |r| r.get(0))
        .ctx("count changed names")?;
    if touched == 0 && written.is_empty() {
        return Ok(());
    }
    tx.execute_batch(
        "CREATE TEMP TABLE IF NOT EXISTS affected (file_id INTEGER PRIMARY KEY);
         DELETE FROM temp.affected;",
    )
    .ctx("prepare file graph update")?;
    tx.execute(
        "INSERT OR IGNORE INTO temp.affected
         SELECT DISTINCT r.file_id
         FROM temp.touched_names t
         JOIN names nm ON nm.name = t.name
         JOIN refs r ON r.name_id = nm.id
         WHERE (SELECT count(DISTINCT s.file_id) FROM symbols s
                WHERE s.name = t.name COLLATE NOCASE AND s.name = t.name) <= ?1",
        [i64::from(MAX_DEFINING_FILES) + (written.len() + removed) as i64],
    )
    .ctx("find affected files")?;
    {
        let mut insert = tx
            .prepare_cached("INSERT OR IGNORE INTO temp.affected VALUES (?1)")
            .ctx("find affected files")?;
        for id in written {
            insert.execute([id]).ctx("find affected files")?;
        }
    }
    tx.execute(
        "DELETE FROM file_edges WHERE src IN (SELECT file_id FROM temp.affected)",
        [],
    )
    .ctx("clear affected edges")?;
    tx.execute(
        &format!(
            "INSERT INTO file_edges (src, dst, weight)
         WITH used AS (
             SELECT DISTINCT nm.name FROM refs r JOIN names nm ON nm.id = r.name_id
             WHERE r.file_id IN (SELECT file_id FROM temp.affected)
         ),
         defs AS (
             SELECT name, file_id, count(*) OVER (PARTITION BY name) AS n
             FROM (SELECT DISTINCT s.name, s.file_id FROM used u
                   JOIN symbols s ON s.name = u.name COLLATE NOCASE AND s.name = u.name)
         )
         SELECT r.file_id, d.file_id, sum({DAMPED} * {SPECIFICITY} / d.n)
         FROM refs r
         JOIN names nm ON nm.id = r.name_id
         JOIN defs d ON d.name = nm.name
         WHERE r.file_id IN (SELECT file_id FROM temp.affected)
           AND d.file_id != r.file_id AND d.n <= ?1
         GROUP BY r.file_id, d.file_id"
        ),
        [MAX_DEFINING_FILES],
    )
    .ctx("update file graph")?;
    Ok(())
}

/// Recomputes the file graph from symbols and references (see
/// [`FileEdge`]); runs inside the commit, so it always matches the snapshot.
fn rebuild_file_edges(tx: &Transaction<'_>) -> Result<()> {
    tx.execute("DELETE FROM file_edges", [])
        .ctx("clear file graph")?;
    tx.execute(
        &format!(
            "INSERT INTO file_edges (src, dst, weight)
         WITH defs AS (
             SELECT name, file_id, count(*) OVER (PARTITION BY name) AS n
             FROM (SELECT DISTINCT name, file_id FROM symbols)
         )
         SELECT r.file_id, d.file_id, sum({DAMPED} * {SPECIFICITY} / d.n)
         FROM refs r
         JOIN names nm ON nm.id = r.name_id
         JOIN defs d ON d.name = nm.name
         WHERE d.file_id != r.file_id AND d.n <= ?1
         GROUP BY r.file_id, d.file_id"
        ),
        [MAX_DEFINING_FILES],
    )
    .ctx("build file graph")?;
    Ok(())
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
