//! [`MemoryStore`]: the in-memory twin of the metadata store, for tests.
//!
//! It answers every [`MetaStore`] query from plain maps, computing what
//! SQLite keeps precomputed (the file graph, reference counts) on demand, so
//! it is the trait's specification written without a database: a contract
//! test (`lore-store/tests/contract.rs`) runs the same writes on it and on
//! the SQLite store and expects the same answers. Writes follow the trait's
//! rules: a writer works on a copy that [`MetaWriter::commit`] installs in
//! one step; dropping it discards every change.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use super::{
    ChunkHead, ChunkText, Commit, FileEdge, FileRecord, FileState, HistoryUpdate, ImportRow,
    MAX_DEFINING_FILES, MetaStore, MetaWriter, RefCounts, RefRow, RepoMeta, RunSummary,
    SkippedFile, StoreStats, StoredChunk, SymbolRow,
};
use crate::{FileSyntax, Language, RefKind, Result, SymbolKind};

/// A metadata store held in memory (see the module docs).
#[derive(Clone, Debug, Default)]
pub struct MemoryStore {
    data: Data,
}

#[derive(Clone, Debug, Default)]
struct Data {
    files: BTreeMap<String, MemFile>,
    /// Chunk id → (path, index in the file's chunks).
    chunks: BTreeMap<u64, (String, usize)>,
    next_chunk: u64,
    /// Chunks deleted and not yet consumed.
    deleted_chunks: std::collections::BTreeSet<u64>,
    next_symbol: i64,
    meta: BTreeMap<String, String>,
    last_run: Option<RunSummary>,
    skipped: Vec<SkippedFile>,
    commits: Vec<Commit>,
}

#[derive(Clone, Debug)]
struct MemFile {
    state: FileState,
    lang: Language,
    lines: u32,
    syntax: FileSyntax,
    /// Storage id of the file's first symbol; the others follow in order.
    first_symbol: i64,
    chunk_ids: Vec<u64>,
}

impl MemFile {
    fn symbol_row(&self, index: usize) -> SymbolRow {
        SymbolRow::of(
            &self.syntax.symbols,
            index,
            &self.state.path,
            self.lang,
            self.first_symbol,
        )
    }

    fn symbol_rows(&self) -> impl Iterator<Item = SymbolRow> + '_ {
        (0..self.syntax.symbols.len()).map(|i| self.symbol_row(i))
    }

    /// Occurrences of each referenced name: count per name.
    fn ref_counts(&self) -> HashMap<&str, u32> {
        let mut counts: HashMap<&str, u32> = HashMap::new();
        for r in &self.syntax.refs {
            *counts.entry(r.name.as_str()).or_default() += 1;
        }
        counts
    }

    fn defines(&self) -> HashSet<&str> {
        self.syntax
            .symbols
            .iter()
            .map(|s| s.name.as_str())
            .collect()
    }
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    /// Files defining each name (distinct, case-sensitive as stored).
    fn defining_files(&self) -> HashMap<&str, usize> {
        let mut out: HashMap<&str, usize> = HashMap::new();
        for file in self.data.files.values() {
            for name in file.defines() {
                *out.entry(name).or_default() += 1;
            }
        }
        out
    }

    fn symbols_matching(&self, keep: impl Fn(&SymbolRow) -> bool) -> Vec<SymbolRow> {
        self.data
            .files
            .values()
            .flat_map(MemFile::symbol_rows)
            .filter(|s| keep(s))
            .collect()
    }

    fn chunk(&self, id: u64) -> Option<(&MemFile, &crate::Chunk)> {
        let (path, index) = self.data.chunks.get(&id)?;
        let file = &self.data.files[path];
        Some((file, &file.syntax.chunks[*index]))
    }

    fn head(&self, id: u64) -> Option<ChunkHead> {
        let (file, chunk) = self.chunk(id)?;
        let symbol = chunk.symbol.map(|i| &file.syntax.symbols[i]);
        Some(ChunkHead {
            id,
            path: Arc::from(file.state.path.as_str()),
            lang: file.lang,
            start_line: chunk.start_line,
            end_line: chunk.end_line,
            symbol: symbol.map(|s| Arc::from(s.qualname.as_str())),
            kind: symbol.map(|s| s.kind),
        })
    }
}

/// Uses of a name in one file, damped as the SQLite store does (about
/// 1 + log₄ count).
fn damped(count: u32) -> f64 {
    1.0 + f64::from(u8::from(count > 1) + u8::from(count > 4) + u8::from(count > 16))
}

/// How much a use of a name says about which file it means (as the SQLite
/// store: long or capitalised names are specific).
fn specificity(name: &str) -> f64 {
    if name.chars().count() >= 8 || name.bytes().any(|b| b.is_ascii_uppercase()) {
        1.0
    } else {
        0.1
    }
}

fn kind_order(kind: RefKind) -> u8 {
    match kind {
        RefKind::Call => 0,
        RefKind::Use => 1,
        RefKind::Import => 2,
    }
}

/// Ids in the order given, unknown ones left out, each id once.
fn in_given_order<T>(ids: &[u64], get: impl Fn(u64) -> Option<T>) -> Vec<T> {
    let mut seen = HashSet::new();
    ids.iter()
        .filter(|id| seen.insert(**id))
        .filter_map(|&id| get(id))
        .collect()
}

impl MetaStore for MemoryStore {
    fn meta(&self) -> Result<RepoMeta> {
        let get = |k: &str| self.data.meta.get(k).cloned();
        Ok(RepoMeta {
            root: get("root").unwrap_or_default(),
            generation: get("generation").and_then(|g| g.parse().ok()).unwrap_or(0),
            head: get("head"),
            branch: get("branch"),
            shallow: get("shallow").is_some_and(|s| s == "1"),
            last_run: self.data.last_run.clone(),
        })
    }

    fn file_states(&self) -> Result<Vec<FileState>> {
        Ok(self.data.files.values().map(|f| f.state.clone()).collect())
    }

    fn file_state(&self, path: &str) -> Result<Option<FileState>> {
        Ok(self.data.files.get(path).map(|f| f.state.clone()))
    }

    fn begin(&mut self, root: &str) -> Result<Box<dyn MetaWriter + '_>> {
        let mut staged = self.data.clone();
        staged.meta.insert("root".into(), root.into());
        Ok(Box::new(MemoryWriter {
            target: &mut self.data,
            staged,
        }))
    }

    fn chunks(&self, ids: &[u64]) -> Result<Vec<StoredChunk>> {
        Ok(in_given_order(ids, |id| {
            let head = self.head(id)?;
            let (_, chunk) = self.chunk(id)?;
            Some(StoredChunk {
                id,
                path: head.path.to_string(),
                lang: head.lang,
                start_line: head.start_line,
                end_line: head.end_line,
                symbol: head.symbol.as_deref().map(str::to_owned),
                kind: head.kind,
                text: chunk.text.clone(),
            })
        }))
    }

    fn chunk_heads(&self, ids: &[u64]) -> Result<Vec<ChunkHead>> {
        Ok(in_given_order(ids, |id| self.head(id)))
    }

    fn all_chunk_heads(&self) -> Result<Vec<ChunkHead>> {
        Ok(self
            .data
            .chunks
            .keys()
            .filter_map(|&id| self.head(id))
            .collect())
    }

    fn paths(&self) -> Result<Vec<String>> {
        Ok(self.data.files.keys().cloned().collect())
    }

    fn symbols_exact(&self, name: &str, kind: Option<SymbolKind>) -> Result<Vec<SymbolRow>> {
        let mut rows = self.symbols_matching(|s| {
            (s.name.eq_ignore_ascii_case(name) || s.qualname.eq_ignore_ascii_case(name))
                && kind.is_none_or(|k| s.kind == k)
        });
        rows.sort_by(|a, b| {
            (a.name != name, &a.path, a.start_line).cmp(&(b.name != name, &b.path, b.start_line))
        });
        Ok(rows)
    }

    fn symbols_prefix(
        &self,
        prefix: &str,
        kind: Option<SymbolKind>,
        limit: usize,
    ) -> Result<Vec<SymbolRow>> {
        let prefix = prefix.to_ascii_lowercase();
        let mut rows = self.symbols_matching(|s| {
            (s.name.to_ascii_lowercase().starts_with(&prefix)
                || s.qualname.to_ascii_lowercase().starts_with(&prefix))
                && kind.is_none_or(|k| s.kind == k)
        });
        rows.sort_by(|a, b| {
            (a.name.chars().count(), &a.path, a.start_line).cmp(&(
                b.name.chars().count(),
                &b.path,
                b.start_line,
            ))
        });
        rows.truncate(limit);
        Ok(rows)
    }

    fn symbol_names(&self) -> Result<Vec<String>> {
        let names: HashSet<&str> = self
            .data
            .files
            .values()
            .flat_map(|f| f.syntax.symbols.iter().map(|s| s.name.as_str()))
            .collect();
        Ok(names.into_iter().map(str::to_owned).collect())
    }

    fn outline(&self, path: &str) -> Result<Vec<SymbolRow>> {
        let mut rows: Vec<SymbolRow> = self
            .data
            .files
            .get(path)
            .map(|f| f.symbol_rows().collect())
            .unwrap_or_default();
        rows.sort_by_key(|s| (s.start_line, s.id));
        Ok(rows)
    }

    fn get_meta(&self, key: &str) -> Result<Option<String>> {
        Ok(self.data.meta.get(key).cloned())
    }

    fn set_meta(&mut self, pairs: &[(&str, Option<&str>)]) -> Result<()> {
        for (key, value) in pairs {
            match value {
                Some(value) => self.data.meta.insert((*key).into(), (*value).into()),
                None => self.data.meta.remove(*key),
            };
        }
        Ok(())
    }

    fn chunk_ids(&self) -> Result<Vec<u64>> {
        Ok(self.data.chunks.keys().copied().collect())
    }

    fn deleted_chunks(&self) -> Result<Vec<u64>> {
        Ok(self.data.deleted_chunks.iter().copied().collect())
    }

    fn set_meta_consuming(
        &mut self,
        pairs: &[(&str, Option<&str>)],
        consumed: &[u64],
    ) -> Result<()> {
        self.set_meta(pairs)?;
        for id in consumed {
            self.data.deleted_chunks.remove(id);
        }
        Ok(())
    }

    fn chunk_texts(&self) -> Result<Vec<ChunkText>> {
        self.chunk_texts_after(0, usize::MAX)
    }

    fn chunk_texts_after(&self, after: u64, limit: usize) -> Result<Vec<ChunkText>> {
        Ok(self
            .data
            .chunks
            .range(after + 1..)
            .take(limit)
            .map(|(id, _)| id)
            .filter_map(|&id| {
                let (file, chunk) = self.chunk(id)?;
                let symbol = chunk.symbol.map(|i| &file.syntax.symbols[i]);
                Some(ChunkText {
                    id,
                    lang: file.lang,
                    text: chunk.text.clone(),
                    name: symbol
                        .map(|s| format!("{} {}", s.name, s.signature))
                        .unwrap_or_default(),
                    symbol: symbol.map(|s| s.qualname.clone()).unwrap_or_default(),
                    doc: symbol.and_then(|s| s.doc.clone()).unwrap_or_default(),
                })
            })
            .collect())
    }

    fn documented_symbols(&self, kinds: &[SymbolKind]) -> Result<Vec<SymbolRow>> {
        let mut rows = self.symbols_matching(|s| s.doc.is_some() && kinds.contains(&s.kind));
        rows.sort_by(|a, b| (&a.path, a.start_line).cmp(&(&b.path, b.start_line)));
        Ok(rows)
    }

    fn refs(&self, name: &str) -> Result<Vec<RefRow>> {
        let mut out = Vec::new();
        for file in self.data.files.values() {
            let mut found: Vec<_> = file.syntax.refs.iter().filter(|r| r.name == name).collect();
            found.sort_by_key(|r| (r.line, kind_order(r.kind)));
            out.extend(found.into_iter().map(|r| RefRow {
                path: file.state.path.clone(),
                line: r.line,
                name: name.to_owned(),
                kind: r.kind,
                enclosing: r.enclosing.map(|i| file.syntax.symbols[i].qualname.clone()),
                lang: file.lang,
            }));
        }
        Ok(out)
    }

    fn ref_counts(&self, name: &str) -> Result<RefCounts> {
        let mut counts = RefCounts::default();
        for file in self.data.files.values() {
            let count = |kind| {
                file.syntax
                    .refs
                    .iter()
                    .filter(|r| r.name == name && r.kind == kind)
                    .count()
            };
            counts.add_file(count(RefKind::Call), count(RefKind::Use));
        }
        Ok(counts)
    }

    fn calls_in(&self, path: &str, start: u32, end: u32) -> Result<Vec<(String, u32)>> {
        let Some(file) = self.data.files.get(path) else {
            return Ok(Vec::new());
        };
        let mut out: Vec<(String, u32)> = file
            .syntax
            .refs
            .iter()
            .filter(|r| r.kind == RefKind::Call && (start..=end).contains(&r.line))
            .map(|r| (r.name.clone(), r.line))
            .collect();
        out.sort_by(|a, b| (a.1, &a.0).cmp(&(b.1, &b.0)));
        Ok(out)
    }

    fn file_edges(&self, paths: Option<&[String]>) -> Result<Vec<FileEdge>> {
        let defining = self.defining_files();
        let defines: Vec<(&str, HashSet<&str>)> = self
            .data
            .files
            .values()
            .map(|f| (f.state.path.as_str(), f.defines()))
            .collect();
        let mut all = Vec::new();
        for src in self.data.files.values() {
            let mut weights: BTreeMap<&str, f64> = BTreeMap::new();
            for (name, count) in src.ref_counts() {
                let n = defining.get(name).copied().unwrap_or(0);
                if n == 0 || n > MAX_DEFINING_FILES as usize {
                    continue;
                }
                for (dst, names) in &defines {
                    if *dst != src.state.path && names.contains(name) {
                        *weights.entry(dst).or_default() +=
                            damped(count) * specificity(name) / n as f64;
                    }
                }
            }
            all.extend(weights.into_iter().map(|(dst, weight)| FileEdge {
                src: src.state.path.clone(),
                dst: dst.to_owned(),
                weight,
            }));
        }
        let Some(paths) = paths else {
            return Ok(all);
        };
        // As many times as the edge touches a listed path, as SQLite answers.
        Ok(paths
            .iter()
            .flat_map(|p| all.iter().filter(move |e| &e.src == p || &e.dst == p))
            .cloned()
            .collect())
    }

    fn defined_name_uses(&self, path: &str) -> Result<Vec<(String, f64)>> {
        let Some(file) = self.data.files.get(path) else {
            return Ok(Vec::new());
        };
        let defining = self.defining_files();
        let mut out = Vec::new();
        for name in file.defines() {
            let n = defining[name];
            if n > MAX_DEFINING_FILES as usize {
                continue;
            }
            let uses: Vec<f64> = self
                .data
                .files
                .values()
                .filter(|f| f.state.path != path)
                .filter_map(|f| f.ref_counts().get(name).map(|&c| damped(c)))
                .collect();
            if !uses.is_empty() {
                let sum: f64 = uses.iter().sum();
                out.push((name.to_owned(), sum * specificity(name) / n as f64));
            }
        }
        Ok(out)
    }

    fn stats(&self) -> Result<StoreStats> {
        let mut per_lang: BTreeMap<Language, (u64, u64)> = BTreeMap::new();
        let mut per_reason: BTreeMap<&str, u64> = BTreeMap::new();
        for f in self.data.files.values() {
            let entry = per_lang.entry(f.lang).or_default();
            entry.0 += 1;
            entry.1 += u64::from(f.lines);
        }
        for s in &self.data.skipped {
            *per_reason.entry(s.reason.as_str()).or_default() += 1;
        }
        let mut files_per_lang: Vec<(Language, u64, u64)> = per_lang
            .into_iter()
            .map(|(lang, (files, lines))| (lang, files, lines))
            .collect();
        files_per_lang.sort_by_key(|e| std::cmp::Reverse(e.1));
        let mut skipped_per_reason: Vec<(String, u64)> = per_reason
            .into_iter()
            .map(|(r, n)| (r.to_owned(), n))
            .collect();
        skipped_per_reason.sort_by_key(|e| std::cmp::Reverse(e.1));
        let files = self.data.files.values();
        Ok(StoreStats {
            files_per_lang,
            symbols: files.clone().map(|f| f.syntax.symbols.len() as u64).sum(),
            refs: files.clone().map(|f| f.syntax.refs.len() as u64).sum(),
            chunks: self.data.chunks.len() as u64,
            commits: self.data.commits.len() as u64,
            skipped_per_reason,
            files_with_syntax_errors: files.filter(|f| f.syntax.syntax_errors > 0).count() as u64,
        })
    }

    fn skipped(&self) -> Result<Vec<SkippedFile>> {
        let mut out = self.data.skipped.clone();
        out.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(out)
    }

    fn check(&self) -> Result<Vec<String>> {
        Ok(Vec::new())
    }

    fn owners(&self, path: &str, limit: usize) -> Result<Vec<(String, u64, i64)>> {
        let mut by: HashMap<&str, (u64, i64)> = HashMap::new();
        for c in self
            .data
            .commits
            .iter()
            .filter(|c| c.files.iter().any(|f| f == path))
        {
            let e = by.entry(c.author.as_str()).or_default();
            e.0 += 1;
            e.1 = e.1.max(c.time);
        }
        let mut out: Vec<(String, u64, i64)> = by
            .into_iter()
            .map(|(a, (n, t))| (a.to_owned(), n, t))
            .collect();
        out.sort_by(|a, b| b.1.cmp(&a.1).then(b.2.cmp(&a.2)).then(a.0.cmp(&b.0)));
        out.truncate(limit);
        Ok(out)
    }

    fn churn(&self, path: &str) -> Result<Option<(u64, i64, u64)>> {
        let touching: Vec<&Commit> = self
            .data
            .commits
            .iter()
            .filter(|c| c.files.iter().any(|f| f == path))
            .collect();
        let Some(last) = touching.iter().map(|c| c.time).max() else {
            return Ok(None);
        };
        let authors: HashSet<&str> = touching.iter().map(|c| c.email.as_str()).collect();
        Ok(Some((touching.len() as u64, last, authors.len() as u64)))
    }

    fn last_changes(&self) -> Result<Vec<(String, i64)>> {
        let mut last: HashMap<&str, i64> = HashMap::new();
        for c in &self.data.commits {
            for f in &c.files {
                let t = last.entry(f).or_insert(c.time);
                *t = (*t).max(c.time);
            }
        }
        let mut out: Vec<(String, i64)> =
            last.into_iter().map(|(p, t)| (p.to_owned(), t)).collect();
        out.sort();
        Ok(out)
    }

    fn commits(&self, limit: usize) -> Result<Vec<Commit>> {
        let mut commits: Vec<Commit> = self.data.commits.clone();
        commits.sort_by_key(|c| std::cmp::Reverse(c.time));
        commits.truncate(limit);
        Ok(commits)
    }

    fn co_changes(&self, path: &str) -> Result<Vec<(i64, Vec<String>)>> {
        let mut touching: Vec<&Commit> = self
            .data
            .commits
            .iter()
            .filter(|c| c.files.iter().any(|f| f == path))
            .collect();
        touching.sort_by_key(|c| std::cmp::Reverse(c.time));
        Ok(touching
            .into_iter()
            .map(|c| {
                let mut files = c.files.clone();
                files.sort();
                files.dedup();
                (c.time, files)
            })
            .collect())
    }

    fn imports(&self) -> Result<Vec<ImportRow>> {
        let mut out = Vec::new();
        for file in self.data.files.values() {
            for i in &file.syntax.imports {
                out.push(ImportRow {
                    path: file.state.path.clone(),
                    lang: file.lang,
                    module: i.module.clone(),
                    name: i.name.clone(),
                    line: i.line,
                });
            }
        }
        Ok(out)
    }
}

/// The write of a [`MemoryStore`]: changes go to a copy installed by
/// [`MetaWriter::commit`].
struct MemoryWriter<'a> {
    target: &'a mut Data,
    staged: Data,
}

impl MetaWriter for MemoryWriter<'_> {
    fn remove_file(&mut self, path: &str) -> Result<()> {
        if let Some(file) = self.staged.files.remove(path) {
            for id in file.chunk_ids {
                self.staged.chunks.remove(&id);
                self.staged.deleted_chunks.insert(id);
            }
        }
        Ok(())
    }

    fn put_file(&mut self, file: &FileRecord<'_>) -> Result<Vec<u64>> {
        self.remove_file(&file.state.path)?;
        let data = &mut self.staged;
        let first_symbol = data.next_symbol + 1;
        data.next_symbol += file.syntax.symbols.len() as i64;
        let path = file.state.path.clone();
        let chunk_ids: Vec<u64> = (0..file.syntax.chunks.len())
            .map(|index| {
                data.next_chunk += 1;
                data.chunks.insert(data.next_chunk, (path.clone(), index));
                data.next_chunk
            })
            .collect();
        data.files.insert(
            path,
            MemFile {
                state: file.state.clone(),
                lang: file.lang,
                lines: file.lines,
                syntax: file.syntax.clone(),
                first_symbol,
                chunk_ids: chunk_ids.clone(),
            },
        );
        Ok(chunk_ids)
    }

    fn touch_file(&mut self, state: &FileState) -> Result<()> {
        if let Some(file) = self.staged.files.get_mut(&state.path) {
            file.state.size = state.size;
            file.state.mtime_ns = state.mtime_ns;
        }
        Ok(())
    }

    fn replace_skipped(&mut self, skipped: &[SkippedFile]) -> Result<()> {
        self.staged.skipped = skipped.to_vec();
        Ok(())
    }

    fn add_history(&mut self, history: &HistoryUpdate) -> Result<()> {
        let data = &mut self.staged;
        if history.replace {
            data.commits.clear();
        }
        for commit in &history.commits {
            if !data.commits.iter().any(|c| c.sha == commit.sha) {
                data.commits.push(commit.clone());
            }
        }
        for (key, value) in [("head", &history.head), ("branch", &history.branch)] {
            match value {
                Some(v) => data.meta.insert(key.into(), v.clone()),
                None => data.meta.remove(key),
            };
        }
        let shallow = if history.shallow { "1" } else { "0" };
        data.meta.insert("shallow".into(), shallow.into());
        Ok(())
    }

    fn put_meta(&mut self, key: &str, value: &str) -> Result<()> {
        self.staged.meta.insert(key.into(), value.into());
        Ok(())
    }

    fn commit(self: Box<Self>, run: &RunSummary, generation: u64) -> Result<()> {
        let MemoryWriter { target, mut staged } = *self;
        staged.last_run = Some(run.clone());
        staged
            .meta
            .insert("generation".into(), generation.to_string());
        *target = staged;
        Ok(())
    }
}
