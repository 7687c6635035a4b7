//! [`SqliteHistory`]: answers, retrieval logs and conversations of one
//! repository in their own SQLite file (`history.db`), beside the index.

use std::path::{Path, PathBuf};
use std::time::Duration;

use lore_core::history::{
    AnswerRecord, CacheEntry, CandidateRecord, ConversationRecord, FeedbackRecord, HistoryStore,
    Impression,
};
use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::error::{Context, Error, Result};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS conversations (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    started    INTEGER NOT NULL,
    summary    TEXT,
    summarised INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS answers (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation_id   INTEGER NOT NULL REFERENCES conversations(id),
    time              INTEGER NOT NULL,
    question          TEXT NOT NULL,
    answer            TEXT NOT NULL,
    mode              TEXT NOT NULL,
    model             TEXT,
    provider          TEXT,
    policy            TEXT NOT NULL,
    commit_sha        TEXT NOT NULL,
    prompt_tokens     INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL,
    cost              REAL,
    latency_ms        INTEGER NOT NULL,
    citations         TEXT NOT NULL,
    rejected          TEXT NOT NULL,
    notice            TEXT,
    symbols           TEXT NOT NULL,
    folded            INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS answers_by_conversation ON answers(conversation_id, id);
CREATE TABLE IF NOT EXISTS retrieval_log (
    answer_id  INTEGER NOT NULL REFERENCES answers(id),
    source     TEXT NOT NULL,
    rank       INTEGER NOT NULL,
    path       TEXT NOT NULL,
    start_line INTEGER NOT NULL,
    end_line   INTEGER NOT NULL,
    symbol     TEXT,
    score      REAL NOT NULL,
    features   TEXT NOT NULL,
    packed     INTEGER NOT NULL,
    cited      INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS retrieval_log_by_answer ON retrieval_log(answer_id);
CREATE TABLE IF NOT EXISTS feedback (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    answer_id          INTEGER NOT NULL REFERENCES answers(id),
    time               INTEGER NOT NULL,
    vote               INTEGER NOT NULL,
    note               TEXT,
    correct_citations  TEXT NOT NULL,
    signal             TEXT NOT NULL DEFAULT '',
    user               TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS feedback_by_answer ON feedback(answer_id);
CREATE TABLE IF NOT EXISTS answer_cache (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    answer_id   INTEGER NOT NULL REFERENCES answers(id),
    time        INTEGER NOT NULL,
    key         TEXT NOT NULL,
    identifiers TEXT NOT NULL,
    words       TEXT NOT NULL,
    vector      BLOB NOT NULL,
    depends     TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS answer_cache_by_key ON answer_cache(key, identifiers, id);
CREATE TABLE IF NOT EXISTS ab_impressions (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    time     INTEGER NOT NULL,
    query    TEXT NOT NULL,
    policy_a INTEGER,
    policy_b INTEGER NOT NULL,
    results  TEXT NOT NULL,
    clicks   TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS ab_impressions_by_time ON ab_impressions(time);
";

const ANSWER_COLUMNS: &str = "id, conversation_id, time, question, answer, mode, model, provider, \
     policy, commit_sha, prompt_tokens, completion_tokens, cost, latency_ms, citations, rejected, \
     notice, symbols";

const IMPRESSION_COLUMNS: &str = "id, time, query, policy_a, policy_b, results, clicks";

fn impression_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Impression> {
    Ok(Impression {
        id: r.get(0)?,
        time: r.get(1)?,
        query: r.get(2)?,
        a: r.get(3)?,
        b: r.get(4)?,
        results: r.get(5)?,
        clicks: r.get(6)?,
    })
}

/// History of one repository in SQLite (WAL: `lore serve` and the CLI may
/// write at once).
pub struct SqliteHistory {
    conn: Connection,
    path: PathBuf,
}

impl std::fmt::Debug for SqliteHistory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteHistory")
            .field("path", &self.path)
            .finish()
    }
}

/// Brings a history written by an older lore up to this schema: feedback
/// gained `signal` and `user` (old rows read their signal from the vote).
fn migrate(conn: &Connection) -> Result<()> {
    let columns: Vec<String> = conn
        .prepare("SELECT name FROM pragma_table_info('feedback')")
        .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
        .ctx("read feedback columns")?;
    for (column, ddl) in [
        (
            "signal",
            "ALTER TABLE feedback ADD COLUMN signal TEXT NOT NULL DEFAULT ''",
        ),
        (
            "user",
            "ALTER TABLE feedback ADD COLUMN user TEXT NOT NULL DEFAULT ''",
        ),
    ] {
        if !columns.iter().any(|c| c == column) {
            conn.execute_batch(ddl).ctx("add a feedback column")?;
        }
    }
    Ok(())
}

/// The signal of a row written before signals were stored.
fn signal_of(stored: String, vote: i8, correct: &str) -> String {
    if !stored.is_empty() {
        return stored;
    }
    match vote {
        1 => "up",
        -1 => "down",
        _ if correct != "[]" && !correct.is_empty() => "correct",
        _ => "note",
    }
    .to_owned()
}

impl SqliteHistory {
    /// Opens (creating if needed) the history at `path`.
    pub fn open(path: &Path) -> Result<SqliteHistory> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|source| Error::Io {
                path: dir.to_owned(),
                source,
            })?;
        }
        let conn = Connection::open(path).ctx("open history")?;
        if let Err(source) = conn.query_row("SELECT count(*) FROM sqlite_master", [], |_| Ok(()))
            && matches!(
                source.sqlite_error_code(),
                Some(rusqlite::ErrorCode::DatabaseCorrupt | rusqlite::ErrorCode::NotADatabase)
            )
        {
            return Err(Error::HistoryDamaged {
                path: path.to_owned(),
                source,
            });
        }
        // Questions and answers are the user's own: private to them, with
        // the journal files SQLite makes beside it.
        #[cfg(unix)]
        for file in [
            path.to_owned(),
            crate::store::sidecar(path, "-wal"),
            crate::store::sidecar(path, "-shm"),
        ] {
            use std::os::unix::fs::PermissionsExt;
            if let Ok(meta) = std::fs::metadata(&file)
                && meta.permissions().mode() & 0o077 != 0
            {
                std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).map_err(
                    |source| Error::Io {
                        path: file.clone(),
                        source,
                    },
                )?;
            }
        }
        conn.busy_timeout(Duration::from_secs(30))
            .ctx("set busy timeout")?;
        conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;")
            .ctx("configure history")?;
        conn.execute_batch(SCHEMA).ctx("create history tables")?;
        migrate(&conn)?;
        Ok(SqliteHistory {
            conn,
            path: path.to_owned(),
        })
    }

    /// A history kept in memory only: answering where nothing can be
    /// recorded (a read-only data directory).
    pub fn in_memory() -> Result<SqliteHistory> {
        let conn = Connection::open_in_memory().ctx("open history")?;
        conn.execute_batch(SCHEMA).ctx("create history tables")?;
        Ok(SqliteHistory {
            conn,
            path: PathBuf::from(":memory:"),
        })
    }

    fn answers_where(
        &self,
        clause: &str,
        params: impl rusqlite::Params,
    ) -> Result<Vec<AnswerRecord>> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!("SELECT {ANSWER_COLUMNS} FROM answers {clause}"))
            .ctx("prepare answers query")?;
        let rows = stmt.query_map(params, answer_row).ctx("read answers")?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .ctx("read answer")
    }
}

fn answer_row(r: &Row<'_>) -> rusqlite::Result<AnswerRecord> {
    let symbols: String = r.get(17)?;
    Ok(AnswerRecord {
        id: r.get(0)?,
        conversation: r.get(1)?,
        time: r.get(2)?,
        question: r.get(3)?,
        answer: r.get(4)?,
        mode: r.get(5)?,
        model: r.get(6)?,
        provider: r.get(7)?,
        policy: r.get(8)?,
        commit: r.get(9)?,
        prompt_tokens: r.get(10)?,
        completion_tokens: r.get(11)?,
        cost: r.get(12)?,
        latency_ms: r.get(13)?,
        citations: r.get(14)?,
        rejected: r.get(15)?,
        notice: r.get(16)?,
        symbols: serde_json::from_str(&symbols).unwrap_or_default(),
    })
}

fn conversation_row(r: &Row<'_>) -> rusqlite::Result<ConversationRecord> {
    Ok(ConversationRecord {
        id: r.get(0)?,
        started: r.get(1)?,
        summary: r.get(2)?,
        summarised: r.get(3)?,
    })
}

/// Every row of `sql` (no parameters), mapped by `row`.
fn all_rows<T>(
    conn: &Connection,
    sql: &str,
    row: impl FnMut(&Row<'_>) -> rusqlite::Result<T>,
    what: &'static str,
) -> Result<Vec<T>> {
    let mut stmt = conn.prepare(sql).ctx(what)?;
    let rows = stmt.query_map([], row).ctx(what)?;
    rows.collect::<rusqlite::Result<_>>().ctx(what)
}

/// Deletes the rows of `table` whose JSON `column` `names` accepts (or
/// does not parse: a row that cannot be read cannot be vouched for).
fn drop_rows_naming(
    conn: &Connection,
    table: &str,
    column: &str,
    names: impl Fn(&serde_json::Value) -> bool,
) -> Result<()> {
    let rows: Vec<(i64, String)> = all_rows(
        conn,
        &format!("SELECT id, {column} FROM {table}"),
        |r| Ok((r.get(0)?, r.get(1)?)),
        "purge history",
    )?;
    for (id, text) in rows {
        if serde_json::from_str::<serde_json::Value>(&text).map_or(true, |v| names(&v)) {
            conn.execute(&format!("DELETE FROM {table} WHERE id = ?1"), [id])
                .ctx("purge history")?;
        }
    }
    Ok(())
}

impl HistoryStore for SqliteHistory {
    fn purge(&mut self, matches: &dyn Fn(&str) -> bool) -> lore_core::Result<usize> {
        let rows: Vec<(i64, String)> = all_rows(
            &self.conn,
            "SELECT answer_id, path FROM retrieval_log WHERE packed = 1
             UNION SELECT id, citations FROM answers",
            |r| Ok((r.get(0)?, r.get(1)?)),
            "find answers to purge",
        )?;
        let mut doomed: Vec<i64> = Vec::new();
        for (id, text) in rows {
            // A log row holds one path; `citations` is JSON naming paths.
            let hit = matches(&text)
                || serde_json::from_str::<serde_json::Value>(&text).is_ok_and(|v| {
                    v.as_array()
                        .is_some_and(|cs| cs.iter().filter_map(|c| c["path"].as_str()).any(matches))
                });
            if hit && !doomed.contains(&id) {
                doomed.push(id);
            }
        }
        self.conn
            .execute_batch("PRAGMA secure_delete = ON;")
            .ctx("purge history")?;
        let tx = self.conn.transaction().ctx("purge history")?;
        // Candidates that were only considered (not packed, so neither
        // sent nor quoted) leave the log; their answers stay.
        let considered: Vec<String> = all_rows(
            &tx,
            "SELECT DISTINCT path FROM retrieval_log WHERE packed = 0",
            |r| r.get(0),
            "purge history",
        )?;
        for path in considered.iter().filter(|p| matches(p)) {
            tx.execute("DELETE FROM retrieval_log WHERE path = ?1", [path])
                .ctx("purge history")?;
        }
        // Cache entries name the files their answers depend on;
        // interleaved result lists the paths they showed.
        drop_rows_naming(&tx, "answer_cache", "depends", |v| {
            v["files"]
                .as_array()
                .is_some_and(|files| files.iter().filter_map(|f| f[0].as_str()).any(matches))
        })?;
        drop_rows_naming(&tx, "ab_impressions", "results", |v| {
            v.as_array()
                .is_some_and(|rs| rs.iter().filter_map(|r| r["path"].as_str()).any(matches))
        })?;
        for id in &doomed {
            for sql in [
                "DELETE FROM retrieval_log WHERE answer_id = ?1",
                "DELETE FROM feedback WHERE answer_id = ?1",
                "DELETE FROM answer_cache WHERE answer_id = ?1",
                "DELETE FROM answers WHERE id = ?1",
            ] {
                tx.execute(sql, [id]).ctx("purge history")?;
            }
        }
        tx.commit().ctx("purge history")?;
        self.conn
            .execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")
            .ctx("purge history")?;
        Ok(doomed.len())
    }

    fn new_conversation(&mut self, time: i64) -> lore_core::Result<i64> {
        self.conn
            .execute("INSERT INTO conversations(started) VALUES (?1)", [time])
            .ctx("start conversation")?;
        Ok(self.conn.last_insert_rowid())
    }

    fn latest_conversation(&self) -> lore_core::Result<Option<ConversationRecord>> {
        Ok(self
            .conn
            .query_row(
                "SELECT id, started, summary, summarised FROM conversations ORDER BY id DESC LIMIT 1",
                [],
                conversation_row,
            )
            .optional()
            .ctx("read latest conversation")?)
    }

    fn conversation(&self, id: i64) -> lore_core::Result<Option<ConversationRecord>> {
        Ok(self
            .conn
            .query_row(
                "SELECT id, started, summary, summarised FROM conversations WHERE id = ?1",
                [id],
                conversation_row,
            )
            .optional()
            .ctx("read conversation")?)
    }

    fn add_answer(
        &mut self,
        a: &AnswerRecord,
        candidates: &[CandidateRecord],
    ) -> lore_core::Result<i64> {
        let tx = self.conn.transaction().ctx("begin answer write")?;
        tx.execute(
            &format!(
                "INSERT INTO answers({}) VALUES (NULL, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)",
                ANSWER_COLUMNS
            ),
            params![
                a.conversation,
                a.time,
                a.question,
                a.answer,
                a.mode,
                a.model,
                a.provider,
                a.policy,
                a.commit,
                a.prompt_tokens,
                a.completion_tokens,
                a.cost,
                a.latency_ms,
                a.citations,
                a.rejected,
                a.notice,
                serde_json::to_string(&a.symbols).unwrap_or_else(|_| "[]".into()),
            ],
        )
        .ctx("store answer")?;
        let id = tx.last_insert_rowid();
        {
            let mut stmt = tx
                .prepare_cached(
                    "INSERT INTO retrieval_log(answer_id, source, rank, path, start_line, end_line,
                         symbol, score, features, packed, cited)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                )
                .ctx("prepare retrieval log")?;
            for c in candidates {
                stmt.execute(params![
                    id,
                    c.source,
                    c.rank,
                    c.path,
                    c.start_line,
                    c.end_line,
                    c.symbol,
                    c.score,
                    c.features,
                    c.packed,
                    c.cited
                ])
                .ctx("store retrieval log")?;
            }
        }
        tx.commit().ctx("commit answer")?;
        Ok(id)
    }

    fn exchanges(&self, conversation: i64) -> lore_core::Result<Vec<AnswerRecord>> {
        Ok(self.answers_where(
            "WHERE conversation_id = ?1 AND folded = 0 ORDER BY id",
            [conversation],
        )?)
    }

    fn fold(&mut self, conversation: i64, count: u64, summary: &str) -> lore_core::Result<()> {
        let tx = self.conn.transaction().ctx("begin fold")?;
        let folded = tx
            .execute(
                "UPDATE answers SET folded = 1 WHERE id IN (
                     SELECT id FROM answers WHERE conversation_id = ?1 AND folded = 0
                     ORDER BY id LIMIT ?2)",
                params![conversation, count],
            )
            .ctx("fold answers")?;
        tx.execute(
            "UPDATE conversations SET summary = ?2, summarised = summarised + ?3 WHERE id = ?1",
            params![conversation, summary, folded],
        )
        .ctx("store summary")?;
        tx.commit().ctx("commit fold")?;
        Ok(())
    }

    fn recent(&self, limit: usize) -> lore_core::Result<Vec<AnswerRecord>> {
        Ok(self.answers_where("ORDER BY id DESC LIMIT ?1", [limit as i64])?)
    }

    fn candidates(&self, answer: i64) -> lore_core::Result<Vec<CandidateRecord>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT source, rank, path, start_line, end_line, symbol, score, features, packed, cited
                 FROM retrieval_log WHERE answer_id = ?1 ORDER BY rowid",
            )
            .ctx("prepare retrieval log query")?;
        let rows = stmt
            .query_map([answer], |r| {
                Ok(CandidateRecord {
                    source: r.get(0)?,
                    rank: r.get(1)?,
                    path: r.get(2)?,
                    start_line: r.get(3)?,
                    end_line: r.get(4)?,
                    symbol: r.get(5)?,
                    score: r.get(6)?,
                    features: r.get(7)?,
                    packed: r.get(8)?,
                    cited: r.get(9)?,
                })
            })
            .ctx("read retrieval log")?;
        Ok(rows
            .collect::<rusqlite::Result<Vec<_>>>()
            .ctx("read retrieval log row")?)
    }

    fn answer(&self, id: i64) -> lore_core::Result<Option<AnswerRecord>> {
        Ok(self.answers_where("WHERE id = ?1", [id])?.pop())
    }

    fn add_feedback(&mut self, f: &FeedbackRecord) -> lore_core::Result<i64> {
        let tx = self.conn.transaction().ctx("begin feedback write")?;
        let exists: bool = tx
            .query_row(
                "SELECT EXISTS(SELECT 1 FROM answers WHERE id = ?1)",
                [f.answer],
                |r| r.get(0),
            )
            .ctx("find answer")?;
        if !exists {
            return Err(lore_core::Error::Invalid(format!("no answer {}", f.answer)));
        }
        tx.execute(
            "INSERT INTO feedback(answer_id, time, vote, note, correct_citations, signal, user)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                f.answer,
                f.time,
                f.vote,
                f.note,
                f.correct_citations,
                signal_of(f.signal.clone(), f.vote, &f.correct_citations),
                f.user
            ],
        )
        .ctx("store feedback")?;
        let id = tx.last_insert_rowid();
        tx.commit().ctx("commit feedback")?;
        Ok(id)
    }

    fn feedback(&self, answer: i64) -> lore_core::Result<Vec<FeedbackRecord>> {
        self.feedback_where("WHERE answer_id = ?1", answer)
    }

    fn feedback_since(&self, time: i64) -> lore_core::Result<Vec<FeedbackRecord>> {
        self.feedback_where("WHERE time >= ?1", time)
    }

    fn judged_since(
        &self,
        time: i64,
    ) -> lore_core::Result<Vec<(AnswerRecord, Vec<FeedbackRecord>)>> {
        let mut by_answer: std::collections::BTreeMap<i64, Vec<FeedbackRecord>> =
            std::collections::BTreeMap::new();
        for f in self.feedback_since(time)? {
            by_answer.entry(f.answer).or_default().push(f);
        }
        let answers = self.answers_where(
            "WHERE id IN (SELECT answer_id FROM feedback WHERE time >= ?1) ORDER BY id",
            [time],
        )?;
        Ok(answers
            .into_iter()
            .filter_map(|a| {
                let rows = by_answer.remove(&a.id)?;
                Some((a, rows))
            })
            .collect())
    }

    fn add_impression(&mut self, i: &Impression) -> lore_core::Result<i64> {
        self.conn
            .execute(
                "INSERT INTO ab_impressions(time, query, policy_a, policy_b, results, clicks)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![i.time, i.query, i.a, i.b, i.results, i.clicks],
            )
            .ctx("store impression")?;
        Ok(self.conn.last_insert_rowid())
    }

    fn impression(&self, id: i64) -> lore_core::Result<Option<Impression>> {
        Ok(self
            .conn
            .query_row(
                &format!("SELECT {IMPRESSION_COLUMNS} FROM ab_impressions WHERE id = ?1"),
                [id],
                impression_row,
            )
            .optional()
            .ctx("read impression")?)
    }

    fn set_clicks(&mut self, id: i64, clicks: &str) -> lore_core::Result<()> {
        self.conn
            .execute(
                "UPDATE ab_impressions SET clicks = ?2 WHERE id = ?1",
                params![id, clicks],
            )
            .ctx("store clicks")?;
        Ok(())
    }

    fn impressions_since(&self, time: i64) -> lore_core::Result<Vec<Impression>> {
        Ok(all_rows(
            &self.conn,
            &format!(
                "SELECT {IMPRESSION_COLUMNS} FROM ab_impressions WHERE time >= {time} ORDER BY id"
            ),
            impression_row,
            "read impressions",
        )?)
    }

    fn put_cache(&mut self, entry: &CacheEntry) -> lore_core::Result<i64> {
        let vector: Vec<u8> = entry.vector.iter().flat_map(|x| x.to_le_bytes()).collect();
        self.conn
            .execute(
                "INSERT INTO answer_cache(answer_id, time, key, identifiers, words, vector, depends)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    entry.answer,
                    entry.time,
                    entry.key,
                    entry.identifiers,
                    entry.words,
                    vector,
                    entry.depends
                ],
            )
            .ctx("store cache entry")?;
        Ok(self.conn.last_insert_rowid())
    }

    fn cache_entries(&self, key: &str, identifiers: &str) -> lore_core::Result<Vec<CacheEntry>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT id, answer_id, time, key, identifiers, words, vector, depends
                 FROM answer_cache WHERE key = ?1 AND identifiers = ?2 ORDER BY id DESC",
            )
            .ctx("prepare cache query")?;
        let rows = stmt
            .query_map(params![key, identifiers], |r| {
                let bytes: Vec<u8> = r.get(6)?;
                Ok(CacheEntry {
                    id: r.get(0)?,
                    answer: r.get(1)?,
                    time: r.get(2)?,
                    key: r.get(3)?,
                    identifiers: r.get(4)?,
                    words: r.get(5)?,
                    vector: bytes
                        .chunks_exact(4)
                        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                        .collect(),
                    depends: r.get(7)?,
                })
            })
            .ctx("read cache entries")?;
        Ok(rows
            .collect::<rusqlite::Result<Vec<_>>>()
            .ctx("read cache entries")?)
    }

    fn drop_cache(&mut self, id: i64) -> lore_core::Result<()> {
        self.conn
            .execute("DELETE FROM answer_cache WHERE id = ?1", [id])
            .ctx("drop cache entry")?;
        Ok(())
    }
}

impl SqliteHistory {
    fn feedback_where(&self, clause: &str, value: i64) -> lore_core::Result<Vec<FeedbackRecord>> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!(
                "SELECT answer_id, time, vote, note, correct_citations, signal, user FROM feedback
                 {clause} ORDER BY id"
            ))
            .ctx("prepare feedback query")?;
        let rows = stmt
            .query_map([value], |r| {
                let vote: i8 = r.get(2)?;
                let correct: String = r.get(4)?;
                let signal = signal_of(r.get(5)?, vote, &correct);
                Ok(FeedbackRecord {
                    answer: r.get(0)?,
                    time: r.get(1)?,
                    vote,
                    note: r.get(3)?,
                    correct_citations: correct,
                    signal,
                    user: r.get(6)?,
                })
            })
            .ctx("read feedback")?;
        Ok(rows
            .collect::<rusqlite::Result<Vec<_>>>()
            .ctx("read feedback row")?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(conversation: i64, question: &str) -> AnswerRecord {
        AnswerRecord {
            conversation,
            time: 1_700_000_000,
            question: question.into(),
            answer: format!("answer to {question}"),
            mode: "extractive".into(),
            policy: "{}".into(),
            citations: "[]".into(),
            rejected: "[]".into(),
            symbols: vec!["Session.send".into()],
            ..AnswerRecord::default()
        }
    }

    #[test]
    fn impressions_are_kept_clicked_and_purged_with_the_paths_they_showed() {
        let dir = tempfile::tempdir().unwrap();
        let mut h = SqliteHistory::open(&dir.path().join("history.db")).unwrap();
        let shown = |path: &str| Impression {
            time: 1_700_000_000,
            query: "retry".into(),
            a: None,
            b: 2,
            results: format!(r#"[{{"path":"{path}","start_line":1,"end_line":5,"team":"b"}}]"#),
            clicks: "[]".into(),
            ..Impression::default()
        };
        let secret = h.add_impression(&shown("secret/keys.py")).unwrap();
        let kept = h.add_impression(&shown("net/retry.py")).unwrap();
        h.set_clicks(kept, r#"[{"rank":0,"signal":"open"}]"#)
            .unwrap();
        assert_eq!(h.impressions_since(0).unwrap().len(), 2);
        assert!(h.impressions_since(1_700_000_001).unwrap().is_empty());
        h.purge(&|p: &str| p.starts_with("secret/")).unwrap();
        assert_eq!(h.impression(secret).unwrap(), None);
        let left = h.impression(kept).unwrap().unwrap();
        assert_eq!(left.clicks, r#"[{"rank":0,"signal":"open"}]"#);
        assert_eq!(left.b, 2);
    }

    #[test]
    fn answers_logs_and_folding_survive_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("history.db");
        let mut h = SqliteHistory::open(&path).unwrap();
        let c = h.new_conversation(1).unwrap();
        let candidate = CandidateRecord {
            source: "search".into(),
            path: "a.py".into(),
            start_line: 1,
            end_line: 9,
            features: "[]".into(),
            packed: true,
            cited: true,
            ..CandidateRecord::default()
        };
        let first = h
            .add_answer(&answer(c, "q1"), std::slice::from_ref(&candidate))
            .unwrap();
        h.add_answer(&answer(c, "q2"), &[]).unwrap();
        h.add_answer(&answer(c, "q3"), &[]).unwrap();
        drop(h);

        let mut h = SqliteHistory::open(&path).unwrap();
        assert_eq!(h.latest_conversation().unwrap().unwrap().id, c);
        assert_eq!(h.candidates(first).unwrap(), vec![candidate]);
        assert_eq!(h.exchanges(c).unwrap().len(), 3);
        h.fold(c, 2, "asked q1 and q2").unwrap();
        let left = h.exchanges(c).unwrap();
        assert_eq!(left.len(), 1);
        assert_eq!(left[0].question, "q3");
        assert_eq!(left[0].symbols, vec!["Session.send".to_owned()]);
        let conv = h.conversation(c).unwrap().unwrap();
        assert_eq!(conv.summary.as_deref(), Some("asked q1 and q2"));
        assert_eq!(conv.summarised, 2);
        // Folded answers stay on record.
        let recent = h.recent(10).unwrap();
        assert_eq!(recent.len(), 3);
        assert_eq!(recent[0].question, "q3");
    }

    #[test]
    fn feedback_is_stored_for_existing_answers_only() {
        let dir = tempfile::tempdir().unwrap();
        let mut h = SqliteHistory::open(&dir.path().join("history.db")).unwrap();
        let c = h.new_conversation(1).unwrap();
        let id = h.add_answer(&answer(c, "q1"), &[]).unwrap();
        assert_eq!(h.answer(id).unwrap().unwrap().question, "q1");
        assert!(h.answer(id + 1).unwrap().is_none());
        let verdict = FeedbackRecord {
            answer: id,
            time: 5,
            vote: -1,
            note: Some("cites the test, not the code".into()),
            correct_citations: r#"[{"path":"a.py","start_line":3,"end_line":9}]"#.into(),
            signal: "down".into(),
            user: "local:ann".into(),
        };
        h.add_feedback(&verdict).unwrap();
        assert_eq!(h.feedback(id).unwrap(), vec![verdict.clone()]);
        assert_eq!(h.feedback_since(5).unwrap(), vec![verdict.clone()]);
        assert!(h.feedback_since(6).unwrap().is_empty());
        // Judged answers in one read: each with its verdicts, the unjudged
        // left out.
        let other = h.add_answer(&answer(c, "q2"), &[]).unwrap();
        h.add_answer(&answer(c, "q3"), &[]).unwrap();
        let later = FeedbackRecord {
            answer: other,
            time: 9,
            signal: "up".into(),
            vote: 1,
            ..verdict.clone()
        };
        h.add_feedback(&later).unwrap();
        let judged = h.judged_since(0).unwrap();
        let shape: Vec<(&str, usize)> = judged
            .iter()
            .map(|(a, rows)| (a.question.as_str(), rows.len()))
            .collect();
        assert_eq!(shape, [("q1", 1), ("q2", 1)]);
        assert_eq!(judged[1].1[0], later);
        assert_eq!(h.judged_since(6).unwrap().len(), 1);
        let missing = FeedbackRecord {
            answer: id + 7,
            ..verdict
        };
        let err = h.add_feedback(&missing).unwrap_err().to_string();
        assert!(err.contains(&format!("no answer {}", id + 7)), "{err}");
        assert!(h.feedback(id + 7).unwrap().is_empty());
    }

    /// A history from before signals were stored: the columns are added
    /// and old rows read their signal from the vote.
    #[test]
    fn an_older_history_gains_signals() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("history.db");
        let id = {
            let mut h = SqliteHistory::open(&path).unwrap();
            let c = h.new_conversation(1).unwrap();
            h.add_answer(&answer(c, "q1"), &[]).unwrap()
        };
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(
            "CREATE TABLE old AS SELECT id, answer_id, time, vote, note, correct_citations FROM feedback;
             DROP TABLE feedback; ALTER TABLE old RENAME TO feedback;",
        )
        .unwrap();
        conn.execute(
            "INSERT INTO feedback(answer_id, time, vote, note, correct_citations) VALUES (?1, 3, 1, NULL, '[]'),
             (?1, 4, 0, 'hm', '[{\"path\":\"a.py\",\"start_line\":1,\"end_line\":2}]')",
            [id],
        )
        .unwrap();
        drop(conn);
        let h = SqliteHistory::open(&path).unwrap();
        let signals: Vec<String> = h
            .feedback(id)
            .unwrap()
            .into_iter()
            .map(|f| f.signal)
            .collect();
        assert_eq!(signals, ["up", "correct"]);
    }
}
