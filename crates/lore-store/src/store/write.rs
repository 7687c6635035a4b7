//! Writes: one transaction per index run (`MetaWriter`).

use super::*;

/// One write transaction. Dropped without `commit`, it rolls back.
pub(super) struct SqliteWriter<'c> {
    pub(super) tx: Transaction<'c>,
    pub(super) names: HashMap<String, i64>,
    pub(super) deferred_indexes: &'c [String],
    /// Files written by this run (new ids); their defined names, old and
    /// new, are in `temp.touched_names`. Drives the incremental file graph.
    pub(super) touched_files: Vec<i64>,
    /// Files removed by this run.
    pub(super) removed: usize,
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
        self.tx
            .prepare_cached(
                "INSERT OR IGNORE INTO deleted_chunks SELECT id FROM chunks WHERE file_id = ?1",
            )
            .and_then(|mut s| s.execute([file_id]))
            .ctx("record deleted chunks")?;
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
                stored_text(&chunk.text)
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
                "INSERT INTO skipped(path, reason, detail, indexed, size, mtime_ns)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )
            .ctx("prepare skipped insert")?;
        for s in skipped {
            let (size, mtime) = s.seen.map(|(s, m)| (s as i64, m)).unzip();
            stmt.execute(params![s.path, s.reason, s.detail, s.indexed, size, mtime])
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
