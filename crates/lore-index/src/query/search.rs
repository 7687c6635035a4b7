//! Search: candidates from BM25, learned and transformer vectors, fused by
//! RRF, scored on features by the policy; snippets for the results.

use super::*;
use crate::thoughts::entry::is_test_path;
use lore_learn::interleave::{Team, team_draft};

impl RepoIndex {
    /// Search over chunks: lexical, vector or both fused (see [`SearchMode`]).
    pub fn search(&self, query: &str, options: &SearchOptions) -> Result<Vec<SearchHit>> {
        let query = crate::request::text(query, "search query")?;
        crate::request::limit(options.limit)?;
        let found = self.candidates(query, options)?;
        let policy = self.policy_for(found.transformer);
        let top = top_per_group(
            found.scored.clone(),
            |id| &*found.chunks[&id].path,
            options.max_per_file.unwrap_or(policy.max_per_file).max(1),
            options.limit.max(1),
        );
        self.hits(query, &found, top, |_| policy, options.explain)
    }

    /// Hybrid search for an A/B comparison: the results of the policy in
    /// force (team A) and of `challenger` (team B), each ranked on the
    /// same candidates and features, merged by team draft
    /// (`lore_learn::interleave`); each hit with its team. Ranks as
    /// [`search`](Self::search) in the other modes (every hit team A).
    pub fn search_ab(
        &self,
        query: &str,
        options: &SearchOptions,
        challenger: &Policy,
        rng: &mut lore_learn::bandit::Rng,
    ) -> Result<Vec<(SearchHit, Team)>> {
        if options.mode != SearchMode::Hybrid {
            let hits = self.search(query, options)?;
            return Ok(hits.into_iter().map(|h| (h, Team::A)).collect());
        }
        let query = crate::request::text(query, "search query")?;
        crate::request::limit(options.limit)?;
        let options = SearchOptions {
            all_features: true,
            ..options.clone()
        };
        let found = self.candidates(query, &options)?;
        let current = self.policy_for(found.transformer);
        let ranked = |policy: &Policy| {
            let weights = policy.weight_table();
            let scored: Vec<(u64, f64)> = found
                .features
                .iter()
                .map(|(&id, f)| (id, f.total(&weights)))
                .collect();
            top_per_group(
                scored,
                |id| &*found.chunks[&id].path,
                options.max_per_file.unwrap_or(policy.max_per_file).max(1),
                options.limit.max(1),
            )
        };
        let (a, b) = (ranked(current), ranked(challenger));
        let ids = |r: &[(u64, f64)]| r.iter().map(|&(id, _)| id).collect::<Vec<u64>>();
        let merged = team_draft(&ids(&a), &ids(&b), options.limit.max(1), rng);
        let team_of: FxHashMap<u64, Team> = merged.iter().copied().collect();
        let top: Vec<(u64, f64)> = merged
            .iter()
            .map(|&(id, team)| {
                let from = if team == Team::A { &a } else { &b };
                let score = from.iter().find(|x| x.0 == id).map_or(0.0, |x| x.1);
                (id, score)
            })
            .collect();
        let policy_of = |id: u64| {
            if team_of.get(&id) == Some(&Team::B) {
                challenger
            } else {
                current
            }
        };
        let hits = self.hits(query, &found, top, policy_of, options.explain)?;
        Ok(hits
            .into_iter()
            .zip(merged)
            .map(|(h, (_, team))| (h, team))
            .collect())
    }

    /// The hits of `top` (ids with their scores, in order), with their
    /// texts and snippets; `explain` attaches each feature's part under
    /// the policy that ranked the hit.
    fn hits<'p>(
        &self,
        query: &str,
        found: &Candidates,
        top: Vec<(u64, f64)>,
        policy_of: impl Fn(u64) -> &'p Policy,
        explain: bool,
    ) -> Result<Vec<SearchHit>> {
        let terms: Vec<String> = lore_core::tokens::token_texts(query);
        // Texts only for the results: candidates are ranked on their heads.
        let top_ids: Vec<u64> = top.iter().map(|&(id, _)| id).collect();
        let mut texts: HashMap<u64, String> = self
            .store
            .chunks(&top_ids)?
            .into_iter()
            .map(|c| (c.id, c.text))
            .collect();
        Ok(top
            .into_iter()
            .map(|(id, score)| {
                let chunk = &found.chunks[&id];
                let text = texts.remove(&id).unwrap_or_default();
                SearchHit {
                    snippet: snippet(&text, &terms),
                    text,
                    at: chunk.located(),
                    score: score as f32,
                    explain: explain.then(|| {
                        found
                            .features
                            .get(&id)
                            .cloned()
                            .unwrap_or_default()
                            .score(policy_of(id))
                            .1
                    }),
                }
            })
            .collect())
    }

    /// Every candidate of a search with its features and its score in
    /// `options.mode`, before the per-file cap and the limit: what a
    /// learned ranker would be fitted on (`lore eval --features`).
    pub fn candidates(&self, query: &str, options: &SearchOptions) -> Result<Candidates> {
        let limit = options.limit.max(1);
        let policy = &self.policy;
        let max_per_file = options.max_per_file.unwrap_or(policy.max_per_file).max(1);
        let paths = match &options.path_glob {
            Some(glob) => Some(self.matching_paths(glob)?),
            None => None,
        };
        let wanted = policy.candidates_per_signal.max(limit * max_per_file + 16);
        let semantic = match options.mode {
            SearchMode::Hybrid | SearchMode::Vector => self.semantic(),
            SearchMode::Lexical | SearchMode::Dense => None,
        };
        let dense = match options.mode {
            SearchMode::Hybrid | SearchMode::Dense => self.dense(),
            SearchMode::Lexical | SearchMode::Vector => None,
        };
        let policy = self.policy_for(dense.is_some());
        if options.mode == SearchMode::Vector && semantic.is_none() {
            let why = if self.store.get_meta(keys::MANIFEST)?.is_some() {
                "its vectors file does not load (damaged); the next `lore index` rewrites it"
            } else {
                "it has no vectors yet (indexed with --no-vectors, or the first run is not done)"
            };
            return Err(Error::Invalid(format!(
                "{}: vector search is not available: {why}; --mode hybrid or lexical work meanwhile",
                self.root.display()
            )));
        }
        if options.mode == SearchMode::Dense && dense.is_none() {
            return Err(Error::Invalid(format!(
                "{}: no transformer vectors; choose an embedder with `lore embed use SPEC` \
                 and run `lore embed run`",
                self.root.display()
            )));
        }

        let lexical: Vec<(u64, f32)> =
            if matches!(options.mode, SearchMode::Vector | SearchMode::Dense) {
                Vec::new()
            } else {
                let mut expansions = match (options.mode, semantic) {
                    (SearchMode::Hybrid, Some(s)) => expand(s, query, &policy.expansion),
                    _ => Vec::new(),
                };
                if options.mode == SearchMode::Hybrid {
                    add_stems(query, &mut expansions);
                }
                let lexical_query = LexicalQuery {
                    text: query.to_owned(),
                    limit: wanted,
                    langs: options.langs.clone(),
                    paths: paths.clone(),
                    expansions,
                };
                self.lexical
                    .search(&lexical_query)
                    .inspect_err(|err| {
                        let damage =
                            std::iter::successors(Some(err as &dyn std::error::Error), |e| {
                                e.source()
                            })
                            .map(|e| e.to_string())
                            .find(|text| text.contains("is damaged"));
                        if let Some(damage) = damage {
                            self.note_damage(&damage);
                        }
                    })?
                    .into_iter()
                    .map(|h| (h.chunk_id, h.score))
                    .collect()
            };
        // Filters apply after the vector scans; take extra to make up for them.
        let filtered = !options.langs.is_empty() || paths.is_some();
        let vector_k = if filtered { wanted * 4 } else { wanted };
        let query_vector = semantic.map(|s| s.model.embed_one(query));
        let vector: Vec<(u64, f32)> = match (semantic, &query_vector) {
            (Some(s), Some(q)) if q.iter().any(|&x| x != 0.0) => {
                self.nearest(&s.vectors, q, vector_k)
            }
            _ => Vec::new(),
        };
        let dense_query: Option<Vec<f32>> = match dense {
            Some(d) => Some(d.embedder.embed(&[query])?.remove(0)),
            None => None,
        };
        let dense_hits: Vec<(u64, f32)> = match (dense, &dense_query) {
            (Some(d), Some(q)) => self.nearest_dense(&d.vectors, q, vector_k),
            _ => Vec::new(),
        };

        let mut ids: Vec<u64> = lexical
            .iter()
            .chain(&vector)
            .chain(&dense_hits)
            .map(|&(id, _)| id)
            .collect();
        ids.sort_unstable();
        ids.dedup();
        let path_set: Option<HashSet<&str>> = paths
            .as_ref()
            .map(|p| p.iter().map(String::as_str).collect());
        let mut chunks = self.heads(&ids)?;
        chunks.retain(|_, c| {
            (options.langs.is_empty() || options.langs.contains(&c.lang))
                && path_set.as_ref().is_none_or(|p| p.contains(&*c.path))
        });
        let lexical: Vec<(u64, f32)> = lexical
            .into_iter()
            .filter(|(id, _)| chunks.contains_key(id))
            .collect();
        let vector: Vec<(u64, f32)> = vector
            .into_iter()
            .filter(|(id, _)| chunks.contains_key(id))
            .take(wanted)
            .collect();
        let dense_hits: Vec<(u64, f32)> = dense_hits
            .into_iter()
            .filter(|(id, _)| chunks.contains_key(id))
            .take(wanted)
            .collect();

        let mut features: FxHashMap<u64, Features> = FxHashMap::default();
        let best_bm25 = lexical.iter().map(|&(_, s)| s).fold(0.0f32, f32::max);
        let lexical_ids: Vec<u64> = lexical.iter().map(|&(id, _)| id).collect();
        let vector_ids: Vec<u64> = vector.iter().map(|&(id, _)| id).collect();
        let dense_ids: Vec<u64> = dense_hits.iter().map(|&(id, _)| id).collect();
        let fused = rrf(&[&lexical_ids, &vector_ids, &dense_ids], policy.rrf_k);
        let name_terms = query_terms(query);
        // Several candidates share a file: match each path once.
        let mut path_scores: FxHashMap<&str, f64> = FxHashMap::default();
        let name_vectors: FxHashMap<u64, Arc<[f32]>> = match (semantic, &query_vector) {
            (Some(s), Some(_)) => {
                let named: Vec<(u64, &Arc<str>)> = fused
                    .keys()
                    .filter_map(|id| Some((*id, chunks[id].symbol.as_ref()?)))
                    .collect();
                let names: Vec<&Arc<str>> = named.iter().map(|&(_, n)| n).collect();
                let ids = named.iter().map(|&(id, _)| id);
                ids.zip(s.name_vectors(&names)).collect()
            }
            _ => FxHashMap::default(),
        };
        for (&id, &rrf_score) in &fused {
            let chunk = &chunks[&id];
            let f = features.entry(id).or_default();
            f.set(Feature::Rrf, rrf_score);
            if let (Some(s), Some(q)) = (semantic, &query_vector)
                && let Some(v) = s.vectors.get(id).ok().flatten()
            {
                f.set(Feature::Vector, f64::from(dot(q, &v).max(0.0)));
            }
            if let (Some(d), Some(q)) = (dense, &dense_query)
                && let Some(v) = d.vectors.get(id)
            {
                f.set(Feature::Dense, f64::from(dot(q, v).max(0.0)));
            }
            let name = name_match(&name_terms, chunk.symbol.as_deref().unwrap_or(""));
            f.set(Feature::Name, name.precision);
            f.set(Feature::NameRecall, name.recall);
            let path_score = *path_scores
                .entry(&chunk.path)
                .or_insert_with(|| path_match(&name_terms, &chunk.path));
            f.set(Feature::Path, path_score);
            if let (Some(q), Some(v)) = (&query_vector, name_vectors.get(&id)) {
                f.set(Feature::NameVector, f64::from(dot(q, v).max(0.0)));
            }
        }
        for &(id, score) in &lexical {
            if best_bm25 > 0.0 {
                features
                    .entry(id)
                    .or_default()
                    .set(Feature::Lexical, f64::from(score / best_bm25));
            }
        }
        for (id, f) in features.iter_mut() {
            // The prior scales with the evidence, so that it orders
            // relevant chunks but never outweighs an exact match.
            let evidence = f
                .get(Feature::Lexical)
                .max(f.get(Feature::Vector))
                .max(f.get(Feature::Dense));
            f.set(Feature::Kind, kind_prior(chunks[id].kind) * evidence);
        }

        if options.all_features || Feature::PRIORS.iter().any(|f| policy.weight(*f) != 0.0) {
            let priors = self.priors();
            for (id, f) in features.iter_mut() {
                let chunk = &chunks[id];
                let evidence = f
                    .get(Feature::Lexical)
                    .max(f.get(Feature::Vector))
                    .max(f.get(Feature::Dense));
                let recency = priors.recency.get(&*chunk.path).copied().unwrap_or(0.0);
                f.set(Feature::Recency, recency * evidence);
                let test = is_test_path(&chunk.path)
                    || chunk.symbol.as_deref().is_some_and(is_test_symbol);
                f.set(Feature::Test, if test { evidence } else { 0.0 });
                f.set(
                    Feature::Aux,
                    if is_aux_path(&chunk.path) {
                        evidence
                    } else {
                        0.0
                    },
                );
                let utility = priors
                    .utility
                    .of(&chunk.path, chunk.start_line, chunk.end_line);
                f.set(Feature::Utility, utility * evidence);
            }
            let translate = options.all_features || policy.weight(Feature::Translation) != 0.0;
            if let Some(table) = self.translation().filter(|_| translate) {
                let words = lore_learn::translate::words(query);
                let ids: Vec<u64> = features.keys().copied().collect();
                for chunk in self.store.chunks(&ids)? {
                    if let Some(f) = features.get_mut(&chunk.id) {
                        let evidence = f
                            .get(Feature::Lexical)
                            .max(f.get(Feature::Vector))
                            .max(f.get(Feature::Dense));
                        let parts = lore_learn::translate::parts(&chunk.text);
                        f.set(Feature::Translation, table.score(&words, &parts) * evidence);
                    }
                }
            }
        }

        if options.mode == SearchMode::Hybrid && policy.weight(Feature::Graph) != 0.0 {
            self.graph_feature(policy, &chunks, &mut features)?;
        }

        let scored: Vec<(u64, f64)> = match options.mode {
            SearchMode::Lexical => lexical.iter().map(|&(id, s)| (id, f64::from(s))).collect(),
            SearchMode::Vector => vector.iter().map(|&(id, s)| (id, f64::from(s))).collect(),
            SearchMode::Dense => dense_hits
                .iter()
                .map(|&(id, s)| (id, f64::from(s)))
                .collect(),
            SearchMode::Hybrid => {
                let weights = policy.weight_table();
                features
                    .iter()
                    .map(|(&id, f)| (id, f.total(&weights)))
                    .collect()
            }
        };
        Ok(Candidates {
            chunks,
            features,
            scored,
            transformer: dense.is_some(),
        })
    }

    /// Sets [`Feature::Graph`]: personalised PageRank over the file graph,
    /// seeded by the files of the best candidates so far, so that files
    /// linked to them (callers, callees, definitions) rise.
    fn graph_feature(
        &self,
        policy: &Policy,
        chunks: &FxHashMap<u64, ChunkHead>,
        features: &mut FxHashMap<u64, Features>,
    ) -> Result<()> {
        let weights = policy.weight_table();
        let mut ranked: Vec<(u64, f64)> = features
            .iter()
            .map(|(&id, f)| (id, f.total(&weights)))
            .collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        let mut seeds: Vec<&str> = Vec::new();
        for (id, _) in ranked {
            let path = &*chunks[&id].path;
            if !seeds.contains(&path) {
                seeds.push(path);
                if seeds.len() == policy.graph_seeds {
                    break;
                }
            }
        }
        // Every edge touching a seed (an edge between two seeds once per
        // seed): from memory in a resident snapshot, else from the store.
        if self.keep().graph {
            let files = self.file_graph();
            // A seed without edges has no id in the graph but still takes
            // its share of the jumps: it gets one from the top of the range.
            let key = |path: &str| {
                files.id(path).or_else(|| {
                    let at = seeds.iter().position(|s| *s == path)?;
                    Some(u32::MAX - at as u32)
                })
            };
            let seed_ids: Vec<u32> = seeds.iter().filter_map(|s| key(s)).collect();
            let edges = seed_ids.iter().flat_map(|&s| files.touching_ids(s));
            let rank = neighbourhood_rank(&seed_ids, edges);
            for (id, f) in features.iter_mut() {
                if let Some(r) = key(&chunks[id].path).and_then(|file| rank.get(&file)) {
                    f.set(Feature::Graph, *r);
                }
            }
        } else {
            let paths: Vec<String> = seeds.iter().map(|&s| s.to_owned()).collect();
            let edges = self.store.file_edges(Some(&paths))?;
            let rank = neighbourhood_rank(
                &seeds,
                edges
                    .iter()
                    .map(|e| (e.src.as_str(), e.dst.as_str(), e.weight)),
            );
            for (id, f) in features.iter_mut() {
                if let Some(r) = rank.get(&*chunks[id].path) {
                    f.set(Feature::Graph, *r);
                }
            }
        }
        Ok(())
    }

    fn matching_paths(&self, glob: &str) -> Result<Vec<String>> {
        let mut builder = GlobSetBuilder::new();
        let pattern = Glob::new(glob)
            .map_err(|e| Error::Invalid(format!("invalid --path glob {glob:?}: {e}")))?;
        builder.add(pattern);
        // A glob without a slash matches at any depth, like .gitignore.
        if !glob.contains('/') {
            let deep =
                Glob::new(&format!("**/{glob}")).map_err(|e| Error::Invalid(e.to_string()))?;
            builder.add(deep);
        }
        let set = builder.build().map_err(|e| Error::Invalid(e.to_string()))?;
        Ok(self
            .store
            .paths()?
            .into_iter()
            .filter(|p| set.is_match(p))
            .collect())
    }
}

/// The `SNIPPET_LINES` lines of `text` with the most query-term matches.
fn snippet(text: &str, terms: &[String]) -> String {
    let lines: Vec<&str> = text.lines().collect();
    // Per line, how many of the terms occur in it (a term listed twice
    // counts twice).
    let mut found = vec![false; terms.len()];
    let mut score = |line: &str| {
        found.fill(false);
        lore_core::tokens::tokenize_with(line, |token| {
            for (seen, term) in found.iter_mut().zip(terms) {
                *seen |= term == token.text;
            }
        });
        found.iter().filter(|&&seen| seen).count()
    };
    let scores: Vec<usize> = lines.iter().map(|l| score(l)).collect();
    let window = SNIPPET_LINES.min(lines.len());
    let best = (0..=lines.len() - window)
        .max_by_key(|&start| {
            // Most matches, then a match on the middle line, then earliest.
            let middle = scores[start + window / 2];
            (
                scores[start..start + window].iter().sum::<usize>(),
                middle,
                std::cmp::Reverse(start),
            )
        })
        .unwrap_or(0);
    lines[best..best + window]
        .iter()
        .map(|l| {
            if l.len() > 200 {
                &l[..l.floor_char_boundary(200)]
            } else {
                l
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Whether a symbol names a test (`tests::`, `test_x`, `TestX.`).
fn is_test_symbol(symbol: &str) -> bool {
    symbol.starts_with("tests::")
        || symbol.contains("::tests::")
        || symbol
            .split(['.', ':'])
            .any(|part| part.starts_with("test_") || part.starts_with("Test"))
}

/// Whether `path` holds examples, documents, benchmarks, scripts,
/// fixtures or vendored code: rarely the answer about the code itself.
pub(crate) fn is_aux_path(path: &str) -> bool {
    let mut dirs = path.split('/').rev().skip(1);
    dirs.any(|d| {
        matches!(
            d.to_ascii_lowercase().as_str(),
            "example"
                | "examples"
                | "doc"
                | "docs"
                | "documentation"
                | "bench"
                | "benches"
                | "benchmark"
                | "benchmarks"
                | "script"
                | "scripts"
                | "tools"
                | "fixtures"
                | "vendor"
                | "third_party"
                | "node_modules"
        )
    }) || path.ends_with(".md")
        || path.ends_with(".rst")
        || path.ends_with(".txt")
}

/// How likely a chunk of this kind answers a question: behaviour lives in
/// functions; types and modules describe it; plain text only mentions it.
fn kind_prior(kind: Option<SymbolKind>) -> f64 {
    match kind {
        Some(SymbolKind::Function | SymbolKind::Method) => 1.0,
        Some(
            SymbolKind::Class
            | SymbolKind::Struct
            | SymbolKind::Enum
            | SymbolKind::Trait
            | SymbolKind::Interface
            | SymbolKind::Macro,
        ) => 0.5,
        Some(_) => 0.25,
        None => 0.0,
    }
}

/// Personalised PageRank from `seeds` over the `edges` touching them (taken
/// both ways: a caller is as related as a callee), divided by the best
/// node's rank. Empty when no edge touches a seed.
fn neighbourhood_rank<K: Copy + Eq + std::hash::Hash>(
    seeds: &[K],
    edges: impl Iterator<Item = (K, K, f64)>,
) -> FxHashMap<K, f64> {
    // Seeds are nodes 0..seeds.len().
    let mut nodes: FxHashMap<K, usize> = FxHashMap::default();
    let mut keys: Vec<K> = Vec::new();
    let mut node = |key: K| {
        *nodes.entry(key).or_insert_with(|| {
            keys.push(key);
            keys.len() - 1
        })
    };
    let seed_nodes: Vec<usize> = seeds.iter().map(|&s| node(s)).collect();
    let mut both_ways: Vec<(usize, usize, f64)> = Vec::new();
    for (src, dst, weight) in edges {
        let (src, dst) = (node(src), node(dst));
        both_ways.push((src, dst, weight));
        both_ways.push((dst, src, weight));
    }
    if both_ways.is_empty() {
        return FxHashMap::default();
    }
    let graph = Graph::from_edges(keys.len(), both_ways);
    let rank = pagerank_seeded(&graph, &seed_nodes, &PageRankConfig::default());
    let best = rank.iter().copied().fold(0.0f64, f64::max);
    if best <= 0.0 {
        return FxHashMap::default();
    }
    keys.into_iter()
        .zip(rank)
        .map(|(key, r)| (key, r / best))
        .collect()
}

/// Query expansion from the learned model: each query word's nearest
/// words in this repository's vocabulary, weighted by similarity.
/// Weight of a query word's stem added to the lexical query, relative to
/// the word itself.
const STEM_WEIGHT: f32 = 0.8;

/// Adds the stem of each inflected query word ("polled" → `poll`, "ticks"
/// → `tick`): code names its operations by the bare verb or noun, and the
/// lexical index does not stem.
fn add_stems(query: &str, expansions: &mut Vec<(String, f32)>) {
    for term in query_terms(query) {
        let stem = lore_retrieve::text::stem(&term);
        if stem == term.as_str() || stem.len() < 3 || is_stop_word(&stem) {
            continue;
        }
        match expansions.iter_mut().find(|(w, _)| *w == stem) {
            Some((_, w)) => *w = w.max(STEM_WEIGHT),
            None => expansions.push((stem.into_owned(), STEM_WEIGHT)),
        }
    }
}

fn expand(semantic: &Semantic, query: &str, expansion: &Expansion) -> Vec<(String, f32)> {
    let terms = query_terms(query);
    let key = |term: &str| {
        (
            term.to_owned(),
            expansion.neighbours,
            expansion.min_cosine.to_bits(),
        )
    };
    let mut lists: Vec<Option<Near>> = {
        let near = semantic.near.lock().unwrap_or_else(|p| p.into_inner());
        terms.iter().map(|t| near.get(&key(t)).cloned()).collect()
    };
    let missing: Vec<&str> = terms
        .iter()
        .zip(&lists)
        .filter(|(_, list)| list.is_none())
        .map(|(t, _)| t.as_str())
        .collect();
    if !missing.is_empty() {
        let found =
            semantic
                .model
                .neighbours_of(&missing, expansion.neighbours, expansion.min_cosine);
        let mut near = semantic.near.lock().unwrap_or_else(|p| p.into_inner());
        let mut found = missing.iter().zip(found);
        for (term, list) in terms.iter().zip(lists.iter_mut()) {
            if list.is_none()
                && let Some((_, words)) = found.next()
            {
                let words: Near = words.into_iter().map(|(w, c)| (w.to_owned(), c)).collect();
                near.insert(key(term), words.clone());
                *list = Some(words);
            }
        }
    }
    let mut out: Vec<(String, f32)> = Vec::new();
    for (word, cosine) in lists.iter().flatten().flat_map(|l| l.iter()) {
        if is_stop_word(word) {
            continue;
        }
        let weight = expansion.weight * cosine;
        match out.iter_mut().find(|(w, _)| w == word) {
            Some((_, w)) => *w = w.max(weight),
            None => out.push((word.clone(), weight)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snippet_picks_matching_lines() {
        let text = "a\nb\nc\nretry the request\nd\ne";
        assert_eq!(snippet(text, &["retry".into()]), "c\nretry the request\nd");
        assert_eq!(snippet("one", &[]), "one");
    }

    #[test]
    fn inflected_query_words_add_their_stems() {
        let mut expansions = vec![("tick".to_owned(), 0.2)];
        add_stems(
            "What happens when a Sleep is polled? missed ticks",
            &mut expansions,
        );
        let weight = |w: &str| expansions.iter().find(|(x, _)| x == w).map(|(_, v)| *v);
        assert_eq!(weight("poll"), Some(STEM_WEIGHT));
        assert_eq!(weight("miss"), Some(STEM_WEIGHT));
        // An expansion already there keeps the larger weight, once.
        assert_eq!(weight("tick"), Some(STEM_WEIGHT));
        assert_eq!(expansions.iter().filter(|(w, _)| w == "tick").count(), 1);
        // Words that are their own stem add nothing.
        assert_eq!(weight("sleep"), None);
    }
}
