//! Reads: the `MetaStore` queries of a snapshot.

use super::*;

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
                    text: text_column(r, 7)?,
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
        self.set_meta_consuming(pairs, &[])
    }

    fn set_meta_consuming(
        &mut self,
        pairs: &[(&str, Option<&str>)],
        consumed: &[u64],
    ) -> lore_core::Result<()> {
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
        {
            let mut forget = tx
                .prepare_cached("DELETE FROM deleted_chunks WHERE id = ?1")
                .ctx("forget deleted chunks")?;
            for &id in consumed {
                forget.execute([id as i64]).ctx("forget deleted chunks")?;
            }
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
        self.chunk_texts_after(0, usize::MAX)
    }

    fn chunk_texts_after(&self, after: u64, limit: usize) -> lore_core::Result<Vec<ChunkText>> {
        Ok(self.rows(
            "SELECT c.id, f.lang, c.text, coalesce(s.name || ' ' || s.signature, ''), coalesce(s.doc, ''),
                    coalesce(s.qualname, '')
             FROM chunks c JOIN files f ON f.id = c.file_id
             LEFT JOIN symbols s ON s.id = c.symbol_id WHERE c.id > ?1 ORDER BY c.id LIMIT ?2",
            [after as i64, limit.min(i64::MAX as usize) as i64],
            |r| {
                Ok(ChunkText {
                    id: r.get::<_, i64>(0)? as u64,
                    lang: lang_of(&r.get::<_, String>(1)?)?,
                    text: text_column(r, 2)?,
                    name: r.get(3)?,
                    doc: r.get(4)?,
                    symbol: r.get(5)?,
                })
            },
            "read chunk texts",
        )?)
    }

    fn deleted_chunks(&self) -> lore_core::Result<Vec<u64>> {
        Ok(self.rows(
            "SELECT id FROM deleted_chunks ORDER BY id",
            [],
            |r| Ok(r.get::<_, i64>(0)? as u64),
            "read deleted chunks",
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
            counts.add_file(count(RefKind::Call), count(RefKind::Use));
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
            "SELECT path, reason, detail, indexed, size, mtime_ns FROM skipped ORDER BY path",
            [],
            |r| {
                let size: Option<i64> = r.get(4)?;
                let mtime: Option<i64> = r.get(5)?;
                Ok(SkippedFile {
                    path: r.get(0)?,
                    reason: r.get(1)?,
                    detail: r.get(2)?,
                    indexed: r.get(3)?,
                    seen: size.zip(mtime).map(|(s, m)| (s as u64, m)),
                })
            },
            "prepare skipped",
        )?)
    }

    fn check(&self) -> lore_core::Result<Vec<String>> {
        let problems: Vec<String> = self.rows(
            "PRAGMA quick_check",
            [],
            |r| r.get::<_, String>(0),
            "check the database",
        )?;
        Ok(problems
            .into_iter()
            .filter(|p| p != "ok")
            .map(|p| format!("{}: {p}", self.path().display()))
            .collect())
    }

    fn owners(&self, path: &str, limit: usize) -> lore_core::Result<Vec<(String, u64, i64)>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT c.author, count(*), max(c.time)
                 FROM commit_files cf JOIN commits c ON c.id = cf.commit_id WHERE cf.path = ?1
                 GROUP BY c.author ORDER BY 2 DESC, 3 DESC, 1 LIMIT ?2",
            )
            .ctx("query owners")?;
        let rows = stmt
            .query_map(params![path, limit.min(i64::MAX as usize) as i64], |r| {
                Ok((r.get(0)?, r.get::<_, i64>(1)? as u64, r.get(2)?))
            })
            .ctx("query owners")?
            .collect::<rusqlite::Result<_>>()
            .ctx("query owners")?;
        Ok(rows)
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

    fn last_changes(&self) -> lore_core::Result<Vec<(String, i64)>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT cf.path, max(c.time) FROM commit_files cf
                 JOIN commits c ON c.id = cf.commit_id GROUP BY cf.path ORDER BY cf.path",
            )
            .ctx("query last changes")?;
        let rows = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .ctx("query last changes")?
            .collect::<rusqlite::Result<_>>()
            .ctx("query last changes")?;
        Ok(rows)
    }

    fn co_changes(&self, path: &str) -> lore_core::Result<Vec<(i64, Vec<String>)>> {
        let rows: Vec<(i64, i64, String)> = self.rows(
            "SELECT c.id, c.time, other.path FROM commit_files cf
             JOIN commits c ON c.id = cf.commit_id
             JOIN commit_files other ON other.commit_id = cf.commit_id
             WHERE cf.path = ?1 ORDER BY c.time DESC, c.id, other.path",
            [path],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            "query co-changes",
        )?;
        let mut out: Vec<(i64, Vec<String>)> = Vec::new();
        let mut last = None;
        for (id, time, other) in rows {
            if last != Some(id) {
                out.push((time, Vec::new()));
                last = Some(id);
            }
            out.last_mut().expect("pushed above").1.push(other);
        }
        Ok(out)
    }

    fn imports(&self) -> lore_core::Result<Vec<lore_core::store::ImportRow>> {
        let rows = self.rows(
            "SELECT f.path, f.lang, i.module, i.name, i.line FROM imports i
             JOIN files f ON f.id = i.file_id ORDER BY f.path, i.line",
            [],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, Option<String>>(3)?,
                    r.get::<_, u32>(4)?,
                ))
            },
            "query imports",
        )?;
        Ok(rows
            .into_iter()
            .filter_map(|(path, lang, module, name, line)| {
                Some(lore_core::store::ImportRow {
                    lang: Language::from_name(&lang)?,
                    path,
                    module,
                    name,
                    line,
                })
            })
            .collect())
    }

    fn commits(&self, limit: usize) -> lore_core::Result<Vec<lore_core::store::Commit>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT id, sha, author, email, time, message FROM commits
                 ORDER BY time DESC, id LIMIT ?1",
            )
            .ctx("query commits")?;
        let mut commits: Vec<(i64, lore_core::store::Commit)> = stmt
            .query_map([limit as i64], |r| {
                Ok((
                    r.get(0)?,
                    lore_core::store::Commit {
                        sha: r.get(1)?,
                        author: r.get(2)?,
                        email: r.get(3)?,
                        time: r.get(4)?,
                        message: r.get(5)?,
                        files: Vec::new(),
                    },
                ))
            })
            .ctx("query commits")?
            .collect::<rusqlite::Result<_>>()
            .ctx("query commits")?;
        let mut files = self
            .conn
            .prepare_cached("SELECT path FROM commit_files WHERE commit_id = ?1 ORDER BY rowid")
            .ctx("query commit files")?;
        for (id, commit) in &mut commits {
            commit.files = files
                .query_map([*id], |r| r.get(0))
                .ctx("query commit files")?
                .collect::<rusqlite::Result<_>>()
                .ctx("query commit files")?;
        }
        Ok(commits.into_iter().map(|(_, c)| c).collect())
    }
}
