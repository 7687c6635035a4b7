//! Versioned schema migrations, applied in order inside one transaction.

/// The newest schema version this binary writes.
pub const SCHEMA_VERSION: u32 = MIGRATIONS.len() as u32;

/// Migration `i` takes the schema from version `i` to `i + 1`. Never edit a
/// released migration; append a new one.
pub(crate) const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE files (
    id            INTEGER PRIMARY KEY,
    path          TEXT NOT NULL UNIQUE,
    lang          TEXT NOT NULL,
    size          INTEGER NOT NULL,
    mtime_ns      INTEGER NOT NULL,
    hash          TEXT NOT NULL,
    lines         INTEGER NOT NULL,
    syntax_errors INTEGER NOT NULL
);

CREATE TABLE symbols (
    id         INTEGER PRIMARY KEY,
    file_id    INTEGER NOT NULL,
    parent_id  INTEGER,
    name       TEXT NOT NULL,
    qualname   TEXT NOT NULL,
    kind       TEXT NOT NULL,
    signature  TEXT NOT NULL,
    doc        TEXT,
    start_line INTEGER NOT NULL,
    end_line   INTEGER NOT NULL
);
CREATE INDEX symbols_file ON symbols(file_id);
CREATE INDEX symbols_name ON symbols(name COLLATE NOCASE);
CREATE INDEX symbols_qualname ON symbols(qualname COLLATE NOCASE);

-- Referenced names are interned: a repository has millions of references
-- but only tens of thousands of distinct names.
CREATE TABLE names (
    id   INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE
);

-- One row per (file, name); `occurrences` encodes every use of the name in
-- the file (line, kind, enclosing symbol), see occurrences.rs.
CREATE TABLE refs (
    file_id     INTEGER NOT NULL,
    name_id     INTEGER NOT NULL,
    count       INTEGER NOT NULL,
    occurrences BLOB NOT NULL
);
CREATE INDEX refs_name ON refs(name_id);
CREATE INDEX refs_file ON refs(file_id);

CREATE TABLE imports (
    file_id INTEGER NOT NULL,
    module  TEXT NOT NULL,
    name    TEXT,
    line    INTEGER NOT NULL
);
CREATE INDEX imports_file ON imports(file_id);

CREATE TABLE chunks (
    id         INTEGER PRIMARY KEY,
    file_id    INTEGER NOT NULL,
    symbol_id  INTEGER,
    start_line INTEGER NOT NULL,
    end_line   INTEGER NOT NULL,
    text       TEXT NOT NULL
);
CREATE INDEX chunks_file ON chunks(file_id);

CREATE TABLE skipped (
    path    TEXT NOT NULL,
    reason  TEXT NOT NULL,
    detail  TEXT NOT NULL,
    indexed INTEGER NOT NULL
);

CREATE TABLE commits (
    id      INTEGER PRIMARY KEY,
    sha     TEXT NOT NULL UNIQUE,
    author  TEXT NOT NULL,
    email   TEXT NOT NULL,
    time    INTEGER NOT NULL,
    message TEXT NOT NULL
);

CREATE TABLE commit_files (
    commit_id INTEGER NOT NULL,
    path      TEXT NOT NULL
);
CREATE INDEX commit_files_path ON commit_files(path);
"#,
    // 2: the file graph — who references names that whom defines.
    r#"
CREATE TABLE file_edges (
    src    INTEGER NOT NULL,
    dst    INTEGER NOT NULL,
    weight REAL NOT NULL
);
CREATE INDEX file_edges_src ON file_edges(src);
CREATE INDEX file_edges_dst ON file_edges(dst);
"#,
    // 3: chunk ids are never reused. Vectors, the lexical index and the
    // embedding caches are keyed by chunk id; SQLite hands a deleted
    // maximum rowid out again, so a changed file's new chunk could inherit
    // the old chunk's vector.
    r#"
CREATE TABLE chunks_v3 (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    file_id    INTEGER NOT NULL,
    symbol_id  INTEGER,
    start_line INTEGER NOT NULL,
    end_line   INTEGER NOT NULL,
    text       TEXT NOT NULL
);
INSERT INTO chunks_v3(id, file_id, symbol_id, start_line, end_line, text)
    SELECT id, file_id, symbol_id, start_line, end_line, text FROM chunks;
DROP TABLE chunks;
ALTER TABLE chunks_v3 RENAME TO chunks;
CREATE INDEX chunks_file ON chunks(file_id);
"#,
    // 4: chunks deleted since the vectors last consumed them, so an
    // index run's deletions reach the vectors exactly once even if the
    // vector step is interrupted (see lore-index embed.rs).
    r#"
CREATE TABLE deleted_chunks (id INTEGER PRIMARY KEY);
"#,
    // 5: the size and mtime of a file skipped for its content, so that the
    // next run skips it again without reading it.
    r#"
ALTER TABLE skipped ADD COLUMN size INTEGER;
ALTER TABLE skipped ADD COLUMN mtime_ns INTEGER;
"#,
    // 6: the name index covers the defining file, so counting which files
    // define a name (the file graph's update, per name a changed file
    // uses) reads no table rows: 250 ms to 10 ms for a one-file change on
    // 7.5M lines with a cold cache.
    r#"
DROP INDEX symbols_name;
CREATE INDEX symbols_name ON symbols(name COLLATE NOCASE, file_id);
"#,
    // 7: the file graph's indexes cover the edge, so a search's seed files
    // read their edges from the index alone (a hub file has thousands).
    r#"
DROP INDEX file_edges_src;
DROP INDEX file_edges_dst;
CREATE INDEX file_edges_src ON file_edges(src, dst, weight);
CREATE INDEX file_edges_dst ON file_edges(dst, src, weight);
"#,
];
