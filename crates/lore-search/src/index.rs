//! The tantivy index of one generation: schema, writer, searcher.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use lore_core::store::{LexicalDoc, LexicalHit, LexicalQuery, LexicalSearcher, LexicalWriter};
use tantivy::query::{
    BooleanQuery, BoostQuery, DisjunctionMaxQuery, Occur, Query, TermQuery, TermSetQuery,
};
use tantivy::schema::{
    FAST, Field, IndexRecordOption, STRING, Schema, TextFieldIndexing, TextOptions,
};
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term, doc};

use crate::error::{Error, Result};
use crate::tokenizer::CodeTokenizer;

const TOKENIZER: &str = "lore_code";

/// Field weights: a symbol-name match outranks a body match.
const WEIGHTS: [(&str, f32); 5] = [
    ("name", 6.0),
    ("qualname", 3.0),
    ("doc", 1.5),
    ("path_text", 1.5),
    ("body", 1.0),
];

#[derive(Clone, Copy)]
struct Fields {
    chunk_id: Field,
    path: Field,
    lang: Field,
    name: Field,
    qualname: Field,
    path_text: Field,
    doc: Field,
    body: Field,
}

fn schema() -> (Schema, Fields) {
    let mut builder = Schema::builder();
    let text = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(TOKENIZER)
            .set_index_option(IndexRecordOption::WithFreqs),
    );
    let fields = Fields {
        chunk_id: builder.add_u64_field("chunk_id", FAST),
        path: builder.add_text_field("path", STRING),
        lang: builder.add_text_field("lang", STRING),
        name: builder.add_text_field("name", text.clone()),
        qualname: builder.add_text_field("qualname", text.clone()),
        path_text: builder.add_text_field("path_text", text.clone()),
        doc: builder.add_text_field("doc", text.clone()),
        body: builder.add_text_field("body", text),
    };
    (builder.build(), fields)
}

fn fields_of(schema: &Schema) -> Fields {
    let f = |name| schema.get_field(name).expect("lexical schema field");
    Fields {
        chunk_id: f("chunk_id"),
        path: f("path"),
        lang: f("lang"),
        name: f("name"),
        qualname: f("qualname"),
        path_text: f("path_text"),
        doc: f("doc"),
        body: f("body"),
    }
}

/// Starts generation directory `to` from generation `from` (or empty when
/// `from` is `None`): immutable segment files are hard-linked (copied where
/// the filesystem cannot link), metadata files copied, locks left behind.
pub fn fork(from: Option<&Path>, to: &Path) -> Result<()> {
    let io = |source| Error::Io {
        path: to.to_owned(),
        source,
    };
    if to.exists() {
        std::fs::remove_dir_all(to).map_err(io)?;
    }
    std::fs::create_dir_all(to).map_err(io)?;
    let Some(from) = from else { return Ok(()) };
    let entries = std::fs::read_dir(from).map_err(|source| Error::Io {
        path: from.to_owned(),
        source,
    })?;
    for entry in entries {
        let entry = entry.map_err(|source| Error::Io {
            path: from.to_owned(),
            source,
        })?;
        let name = entry.file_name();
        let name_str = name.to_string_lossy();
        if name_str.ends_with(".lock") || name_str.starts_with(".tmp") {
            continue;
        }
        let target = to.join(&name);
        // meta.json and .managed.json are rewritten by atomic rename, so even
        // a link would be safe; copying keeps each generation self-contained.
        if name_str.ends_with(".json") || std::fs::hard_link(entry.path(), &target).is_err() {
            std::fs::copy(entry.path(), &target).map_err(io)?;
        }
    }
    Ok(())
}

/// One generation of the lexical index.
pub struct TantivyIndex {
    index: Index,
    fields: Fields,
    dir: PathBuf,
}

impl std::fmt::Debug for TantivyIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TantivyIndex")
            .field("dir", &self.dir)
            .finish()
    }
}

/// How much the writer may use.
#[derive(Clone, Debug)]
pub struct WriterConfig {
    /// Indexing threads.
    pub threads: usize,
    /// Memory budget in bytes, shared by the threads.
    pub memory: usize,
}

impl Default for WriterConfig {
    fn default() -> WriterConfig {
        WriterConfig {
            threads: 1,
            memory: 96 << 20,
        }
    }
}

impl TantivyIndex {
    /// Opens the generation in `dir`, creating an empty index if there is none.
    pub fn open_or_create(dir: &Path) -> Result<TantivyIndex> {
        let err = |source| Error::Tantivy {
            path: dir.to_owned(),
            source,
        };
        let index = if dir.join("meta.json").exists() {
            Index::open_in_dir(dir).map_err(err)?
        } else {
            std::fs::create_dir_all(dir).map_err(|source| Error::Io {
                path: dir.to_owned(),
                source,
            })?;
            Index::create_in_dir(dir, schema().0).map_err(err)?
        };
        Ok(TantivyIndex::wrap(index, dir))
    }

    /// Registers the code tokenizer and resolves the schema's fields.
    fn wrap(index: Index, dir: &Path) -> TantivyIndex {
        index
            .tokenizers()
            .register(TOKENIZER, CodeTokenizer::default());
        let fields = fields_of(&index.schema());
        TantivyIndex {
            index,
            fields,
            dir: dir.to_owned(),
        }
    }

    /// Opens an existing generation for searching.
    /// A committed generation that does not open (a file missing,
    /// truncated or garbled) is reported as damaged.
    pub fn open(dir: &Path) -> Result<TantivyIndex> {
        let err = |source: tantivy::TantivyError| Error::Damaged {
            path: dir.to_owned(),
            what: source.to_string(),
        };
        let index = Index::open_in_dir(dir).map_err(err)?;
        Ok(TantivyIndex::wrap(index, dir))
    }

    /// Starts a writer. Only one writer may exist per generation.
    pub fn writer(&self, config: &WriterConfig) -> Result<TantivyWriter> {
        let writer = self
            .index
            .writer_with_num_threads(config.threads.max(1), config.memory)
            .map_err(|source| Error::Tantivy {
                path: self.dir.clone(),
                source,
            })?;
        Ok(TantivyWriter {
            writer,
            fields: self.fields,
            dir: self.dir.clone(),
        })
    }

    /// Opens a searcher on the committed state.
    pub fn searcher(&self) -> Result<TantivySearcher> {
        let reader = |index: &Index| -> tantivy::Result<IndexReader> {
            index
                .reader_builder()
                .reload_policy(ReloadPolicy::Manual)
                .try_into()
        };
        let reader = match reader(&self.index) {
            Ok(reader) => reader,
            // A directory this process cannot write refuses the reader's
            // lock file: read it without one.
            Err(tantivy::TantivyError::LockFailure(..)) => {
                let read_only = crate::readonly::ReadOnlyDirectory::open(&self.dir)
                    .and_then(Index::open)
                    .map_err(|source| Error::Tantivy {
                        path: self.dir.clone(),
                        source,
                    })?;
                read_only
                    .tokenizers()
                    .register(TOKENIZER, CodeTokenizer::default());
                reader(&read_only).map_err(|source| Error::Tantivy {
                    path: self.dir.clone(),
                    source,
                })?
            }
            Err(source) => {
                return Err(Error::Damaged {
                    path: self.dir.clone(),
                    what: source.to_string(),
                });
            }
        };
        Ok(TantivySearcher {
            reader,
            fields: self.fields,
            dir: self.dir.clone(),
        })
    }
}

/// Adds and deletes chunks; nothing is visible until [`LexicalWriter::commit`].
pub struct TantivyWriter {
    writer: IndexWriter<TantivyDocument>,
    fields: Fields,
    dir: PathBuf,
}

impl TantivyWriter {
    fn err(&self, source: tantivy::TantivyError) -> Error {
        Error::Tantivy {
            path: self.dir.clone(),
            source,
        }
    }
}

impl LexicalWriter for TantivyWriter {
    fn delete_path(&mut self, path: &str) -> lore_core::Result<()> {
        self.writer
            .delete_term(Term::from_field_text(self.fields.path, path));
        Ok(())
    }

    fn add(&mut self, d: &LexicalDoc<'_>) -> lore_core::Result<()> {
        let f = &self.fields;
        let document = doc!(
            f.chunk_id => d.chunk_id,
            f.path => d.path,
            f.lang => d.lang.name(),
            f.name => d.name,
            f.qualname => d.qualname,
            f.path_text => d.path,
            f.doc => d.doc,
            f.body => d.text,
        );
        self.writer
            .add_document(document)
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    fn commit(mut self: Box<Self>) -> lore_core::Result<()> {
        self.writer.commit().map_err(|e| self.err(e))?;
        let dir = self.dir.clone();
        self.writer
            .wait_merging_threads()
            .map_err(|source| Error::Tantivy { path: dir, source })?;
        Ok(())
    }
}

/// Searches one committed generation.
pub struct TantivySearcher {
    reader: IndexReader,
    fields: Fields,
    dir: PathBuf,
}

impl TantivySearcher {
    /// One token matched in any field, the best field counting most.
    fn token_query(&self, token: &str) -> Box<dyn Query> {
        let alternatives: Vec<Box<dyn Query>> = WEIGHTS
            .iter()
            .map(|&(name, weight)| {
                let field = match name {
                    "name" => self.fields.name,
                    "qualname" => self.fields.qualname,
                    "doc" => self.fields.doc,
                    "path_text" => self.fields.path_text,
                    _ => self.fields.body,
                };
                let term = Term::from_field_text(field, token);
                let query = TermQuery::new(term, IndexRecordOption::WithFreqs);
                Box::new(BoostQuery::new(Box::new(query), weight)) as Box<dyn Query>
            })
            .collect();
        Box::new(DisjunctionMaxQuery::with_tie_breaker(alternatives, 0.2))
    }

    fn text_query(&self, text: &str, expansions: &[(String, f32)]) -> Option<Box<dyn Query>> {
        let mut seen = HashSet::new();
        let mut per_token: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        lore_core::tokens::tokenize(text, |token| {
            if seen.insert(token.text.clone()) {
                per_token.push((Occur::Should, self.token_query(&token.text)));
            }
        });
        if per_token.is_empty() {
            return None;
        }
        for (token, weight) in expansions {
            if *weight > 0.0 && seen.insert(token.clone()) {
                let query = BoostQuery::new(self.token_query(token), *weight);
                per_token.push((Occur::Should, Box::new(query)));
            }
        }
        Some(Box::new(BooleanQuery::new(per_token)))
    }
}

impl LexicalSearcher for TantivySearcher {
    /// Damaged segment files can make tantivy's decoders panic: that is
    /// reported as a damaged index, never a crash.
    fn search(&self, query: &LexicalQuery) -> lore_core::Result<Vec<LexicalHit>> {
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.search_inner(query))) {
            Ok(result) => result,
            Err(panic) => {
                let what = panic
                    .downcast_ref::<String>()
                    .map(String::as_str)
                    .or_else(|| panic.downcast_ref::<&str>().copied())
                    .unwrap_or("a reader failed")
                    .to_owned();
                Err(Error::Damaged {
                    path: self.dir.clone(),
                    what,
                }
                .into())
            }
        }
    }

    fn num_docs(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    fn check(&self) -> lore_core::Result<Vec<String>> {
        let searcher = self.reader.searcher();
        let damaged = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            searcher.index().validate_checksum()
        }));
        Ok(match damaged {
            Ok(Ok(files)) => {
                let mut files: Vec<String> = files
                    .iter()
                    .map(|f| format!("{}: checksum mismatch", self.dir.join(f).display()))
                    .collect();
                files.sort();
                files
            }
            Ok(Err(e)) => vec![format!("{}: {e}", self.dir.display())],
            Err(_) => vec![format!("{}: unreadable", self.dir.display())],
        })
    }
}

impl TantivySearcher {
    fn search_inner(&self, query: &LexicalQuery) -> lore_core::Result<Vec<LexicalHit>> {
        let err = |source| Error::Tantivy {
            path: self.dir.clone(),
            source,
        };
        let Some(text_query) = self.text_query(&query.text, &query.expansions) else {
            return Ok(Vec::new());
        };
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = vec![(Occur::Must, text_query)];
        if !query.langs.is_empty() {
            let terms = query
                .langs
                .iter()
                .map(|l| Term::from_field_text(self.fields.lang, l.name()));
            clauses.push((Occur::Must, Box::new(TermSetQuery::new(terms))));
        }
        if let Some(paths) = &query.paths {
            let terms = paths
                .iter()
                .map(|p| Term::from_field_text(self.fields.path, p));
            clauses.push((Occur::Must, Box::new(TermSetQuery::new(terms))));
        }
        let query_all = BooleanQuery::new(clauses);
        let searcher = self.reader.searcher();
        let top = searcher
            .search(
                &query_all,
                &tantivy::collector::TopDocs::with_limit(query.limit.max(1)).order_by_score(),
            )
            .map_err(err)?;
        // Opening a column reads its header: once per segment, not per hit.
        let mut columns = HashMap::new();
        let mut hits = Vec::with_capacity(top.len());
        for (score, address) in top {
            let column = match columns.entry(address.segment_ord) {
                Entry::Occupied(e) => e.into_mut(),
                Entry::Vacant(e) => e.insert(
                    searcher
                        .segment_reader(address.segment_ord)
                        .fast_fields()
                        .u64("chunk_id")
                        .map_err(err)?,
                ),
            };
            if let Some(chunk_id) = column.first(address.doc_id) {
                hits.push(LexicalHit { chunk_id, score });
            }
        }
        Ok(hits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lore_core::Language;

    fn add(w: &mut TantivyWriter, id: u64, path: &str, name: &str, text: &str) {
        let doc = LexicalDoc {
            chunk_id: id,
            path,
            lang: Language::Python,
            name,
            qualname: name,
            doc: "",
            text,
        };
        w.add(&doc).unwrap();
    }

    #[test]
    fn name_match_outranks_body_match_and_filters_apply() {
        let dir = tempfile::tempdir().unwrap();
        let index = TantivyIndex::open_or_create(dir.path()).unwrap();
        let mut w = index.writer(&WriterConfig::default()).unwrap();
        add(
            &mut w,
            1,
            "a.py",
            "",
            "x = retry_request(3)  # calls the retry helper",
        );
        add(
            &mut w,
            2,
            "b.py",
            "retry_request",
            "def retry_request(n): pass",
        );
        add(&mut w, 3, "c.py", "unrelated", "def unrelated(): pass");
        Box::new(w).commit().unwrap();

        let searcher = index.searcher().unwrap();
        let q = |text: &str, paths: Option<Vec<String>>| {
            let q = LexicalQuery {
                text: text.into(),
                limit: 10,
                langs: vec![],
                paths,
                expansions: vec![],
            };
            searcher
                .search(&q)
                .unwrap()
                .iter()
                .map(|h| h.chunk_id)
                .collect::<Vec<_>>()
        };
        assert_eq!(q("retryRequest", None), [2, 1]);
        assert_eq!(q("retry", None), [2, 1]);
        assert_eq!(q("retry", Some(vec!["a.py".into()])), [1]);
        assert!(q("nothing_here", None).is_empty());
        assert_eq!(searcher.num_docs(), 3);

        // Expansions match too, below the query's own words.
        let expanded = |text: &str, expansions: Vec<(String, f32)>| {
            searcher
                .search(&LexicalQuery {
                    text: text.into(),
                    limit: 10,
                    expansions,
                    ..Default::default()
                })
                .unwrap()
                .iter()
                .map(|h| h.chunk_id)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            expanded("unrelated", vec![("retry".into(), 0.3)]),
            [3, 2, 1]
        );
        assert_eq!(expanded("unrelated", vec![("retry".into(), 0.0)]), [3]);
    }

    #[test]
    fn fork_keeps_previous_generation_intact() {
        let dir = tempfile::tempdir().unwrap();
        let g1 = dir.path().join("g1");
        let g2 = dir.path().join("g2");
        let index = TantivyIndex::open_or_create(&g1).unwrap();
        let mut w = index.writer(&WriterConfig::default()).unwrap();
        add(&mut w, 1, "a.py", "alpha", "alpha");
        Box::new(w).commit().unwrap();

        fork(Some(&g1), &g2).unwrap();
        let next = TantivyIndex::open_or_create(&g2).unwrap();
        let mut w = next.writer(&WriterConfig::default()).unwrap();
        w.delete_path("a.py").unwrap();
        add(&mut w, 2, "b.py", "beta", "beta");
        Box::new(w).commit().unwrap();

        let count = |dir: &Path, text: &str| {
            let s = TantivyIndex::open(dir).unwrap().searcher().unwrap();
            s.search(&LexicalQuery {
                text: text.into(),
                limit: 10,
                ..Default::default()
            })
            .unwrap()
            .len()
        };
        assert_eq!((count(&g1, "alpha"), count(&g1, "beta")), (1, 0));
        assert_eq!((count(&g2, "alpha"), count(&g2, "beta")), (0, 1));
    }
}
