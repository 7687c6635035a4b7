//! The learned per-repository model: word vectors trained on the
//! repository itself, in seconds, with no download.
//!
//! 1. Tokens are the code-aware tokens of `lore_core::tokens` (identifier
//!    parts and whole identifiers, lower-cased), so `retry_request` and
//!    "retry the request" share `retry` and `request`.
//! 2. Co-occurrence counts within a small window of each training text,
//!    weighted 1/distance, plus a *vocabulary bridge*: every word of a doc
//!    comment co-occurs with every token of the name and signature it
//!    documents, so the words people write about code land next to the
//!    identifiers the code uses.
//! 3. Positive PMI with context-distribution smoothing (α = 0.75), then a
//!    randomised truncated SVD (one power iteration); word vectors are the
//!    left singular vectors scaled by √σ.
//! 4. A text's vector is the IDF-weighted mean of its tokens' vectors,
//!    normalised. Queries go through the same function, so a question and
//!    the code answering it meet even without a shared word.

/// Fast hashing for token and pair keys: embedding looks up every token
/// of every chunk, and SipHash was a third of the time.
type HashMap<K, V> = rustc_hash::FxHashMap<K, V>;
use std::io::{Read, Write};
use std::path::Path;

use lore_core::embed::{Embedder, normalize};
use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::linalg::{Csr, gaussian, gram, mul_small, orthonormalize, symmetric_eigen};
use crate::statics::StaticTable;

const MAGIC: &[u8; 8] = b"LOREWV03";
/// Files written before the static table: no trailer, no static part.
const MAGIC_V02: &[u8; 8] = b"LOREWV02";

/// One training text: a chunk, and the symbol it belongs to if any.
#[derive(Clone, Copy, Debug, Default)]
pub struct TrainingText<'a> {
    /// The chunk text.
    pub text: &'a str,
    /// The symbol's name and signature (code side of the bridge).
    pub name: &'a str,
    /// The symbol's doc comment (word side of the bridge).
    pub doc: &'a str,
}

/// Training settings.
#[derive(Clone, Copy, Debug)]
pub struct TrainConfig {
    /// Vector length.
    pub dims: usize,
    /// Most frequent tokens kept.
    pub max_vocab: usize,
    /// Tokens seen fewer times are dropped.
    pub min_count: u32,
    /// Co-occurrence window, in token positions either side.
    pub window: usize,
    /// Share of a text vector's energy given to the shipped static table
    /// ([`StaticTable`]; 0: learned vectors only). A text's vector is the
    /// learned part and the static part, each unit length, concatenated
    /// with weights √(1−s) and √s, so cosines blend as (1−s)·learned +
    /// s·static.
    pub static_share: f32,
}

/// The static share of [`TrainConfig::default`]: measured on the
/// retrieval benchmark (NOTES.md); `LORE_STATIC_SHARE` overrides it for
/// measurements.
pub const STATIC_SHARE: f32 = 0.5;

impl Default for TrainConfig {
    fn default() -> TrainConfig {
        TrainConfig {
            dims: 128,
            max_vocab: 30_000,
            min_count: 2,
            window: 4,
            static_share: std::env::var("LORE_STATIC_SHARE")
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(STATIC_SHARE),
        }
    }
}

/// Word vectors and IDF weights learned from one repository.
#[derive(Clone)]
pub struct LearnedModel {
    id: String,
    dims: usize,
    vocab: HashMap<String, u32>,
    idf: Vec<f32>,
    /// Row-major `vocab × dims`.
    vectors: Vec<f32>,
    /// Id → word, for neighbour lookups.
    words: Vec<String>,
    /// Euclidean norm of each word vector.
    norms: Vec<f32>,
    /// The static table and its share of a text vector, if any.
    statics: Option<(&'static StaticTable<'static>, f32)>,
    /// The largest IDF: the weight of a word the vocabulary lacks.
    rare_idf: f32,
    /// With a static table: each vocabulary word's pieces in it.
    pieces: Vec<Box<[u32]>>,
}

impl std::fmt::Debug for LearnedModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LearnedModel")
            .field("id", &self.id)
            .field("dims", &self.dims)
            .field("vocab", &self.vocab.len())
            .field("static", &self.statics.map(|(t, s)| (t.id(), s)))
            .finish()
    }
}

/// Token ids of a text with their positions; unknown tokens are skipped.
fn token_ids(vocab: &HashMap<String, u32>, text: &str) -> Vec<(u32, usize)> {
    let mut out = Vec::new();
    lore_core::tokens::tokenize_with(text, |t| {
        if let Some(&id) = vocab.get(t.text) {
            out.push((id, t.position));
        }
    });
    out
}

fn keep_token(token: &str) -> bool {
    token.len() >= 2 && token.bytes().any(|b| b.is_ascii_alphabetic() || b >= 0x80)
}

impl LearnedModel {
    /// Trains on `texts`. Deterministic for the same input.
    pub fn train(texts: &[TrainingText<'_>], config: &TrainConfig) -> LearnedModel {
        let _span = tracing::info_span!("train_learned", texts = texts.len()).entered();
        // Vocabulary by frequency, and document frequency for IDF.
        let counts: HashMap<String, (u32, u32)> = texts
            .par_iter()
            .fold(
                HashMap::default,
                |mut acc: HashMap<String, (u32, u32)>, t| {
                    let mut seen: Vec<String> = Vec::new();
                    lore_core::tokens::tokenize_with(t.text, |tok| {
                        if !keep_token(tok.text) {
                            return;
                        }
                        let entry = acc.entry(tok.text.to_owned()).or_default();
                        entry.0 += 1;
                        seen.push(tok.text.to_owned());
                    });
                    seen.sort_unstable();
                    seen.dedup();
                    for s in seen {
                        acc.entry(s).or_default().1 += 1;
                    }
                    acc
                },
            )
            .reduce(HashMap::default, |mut a, b| {
                for (k, (c, d)) in b {
                    let e = a.entry(k).or_default();
                    e.0 += c;
                    e.1 += d;
                }
                a
            });
        let mut words: Vec<(String, u32, u32)> = counts
            .into_iter()
            .filter(|(_, (c, _))| *c >= config.min_count)
            .map(|(w, (c, d))| (w, c, d))
            .collect();
        words.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        words.truncate(config.max_vocab);
        let n_texts = texts.len().max(1) as f32;
        let vocab: HashMap<String, u32> = words
            .iter()
            .enumerate()
            .map(|(i, (w, _, _))| (w.clone(), i as u32))
            .collect();
        let idf: Vec<f32> = words
            .iter()
            .map(|(_, _, df)| (1.0 + n_texts / (*df as f32)).ln())
            .collect();
        let v = vocab.len();
        if v < 2 {
            return LearnedModel::from_parts(
                config.dims,
                vocab,
                idf,
                vec![0.0; v * config.dims],
                statics(config),
            );
        }

        // Co-occurrence (i < j keys), window pairs and bridge pairs.
        let window = config.window;
        let pairs: HashMap<u64, f32> = texts
            .par_iter()
            .fold(HashMap::default, |mut acc: HashMap<u64, f32>, t| {
                let ids = token_ids(&vocab, t.text);
                for (a, &(i, pa)) in ids.iter().enumerate() {
                    for &(j, pb) in ids[a + 1..].iter() {
                        let distance = pb.saturating_sub(pa);
                        if distance > window {
                            break;
                        }
                        if i != j {
                            *acc.entry(pair_key(i, j)).or_default() += 1.0 / distance.max(1) as f32;
                        }
                    }
                }
                if !t.doc.is_empty() && !t.name.is_empty() {
                    let doc = token_ids(&vocab, t.doc);
                    let name = token_ids(&vocab, t.name);
                    let weight = 1.0 / (doc.len().max(1) as f32).sqrt();
                    for &(i, _) in &doc {
                        for &(j, _) in &name {
                            if i != j {
                                *acc.entry(pair_key(i, j)).or_default() += weight;
                            }
                        }
                    }
                }
                acc
            })
            .reduce(HashMap::default, |a, b| {
                if a.len() < b.len() {
                    return merge(b, a);
                }
                merge(a, b)
            });

        // PPMI with α-smoothed marginals on both sides (keeps it symmetric).
        let mut marginal = vec![0.0f64; v];
        for (&key, &c) in &pairs {
            let (i, j) = split_key(key);
            marginal[i as usize] += f64::from(c);
            marginal[j as usize] += f64::from(c);
        }
        let total: f64 = marginal.iter().sum::<f64>().max(1e-12);
        let alpha = 0.75;
        let smoothed_total: f64 = marginal
            .iter()
            .map(|m| m.powf(alpha))
            .sum::<f64>()
            .max(1e-12);
        let p_alpha: Vec<f64> = marginal
            .iter()
            .map(|m| m.powf(alpha) / smoothed_total)
            .collect();
        let mut triplets = Vec::with_capacity(pairs.len() * 2);
        for (&key, &c) in &pairs {
            let (i, j) = split_key(key);
            // Symmetric counts: each unordered pair was counted once.
            let p_ij = 2.0 * f64::from(c) / total;
            let pmi = (p_ij / (p_alpha[i as usize] * p_alpha[j as usize])).ln();
            if pmi > 0.0 {
                triplets.push((i, j, pmi as f32));
                triplets.push((j, i, pmi as f32));
            }
        }
        drop(pairs);
        let matrix = Csr::from_triplets(v, triplets);
        tracing::debug!(vocab = v, nnz = matrix.col.len(), "ppmi matrix");

        // Randomised truncated SVD of the symmetric PPMI matrix.
        let k = (config.dims + 16).min(v);
        let omega = gaussian(v, k, 0x5eed_1ea5);
        let (q, k) = orthonormalize(&matrix.mul_dense(&omega, k), k);
        let (q, k) = orthonormalize(&matrix.mul_dense(&q, k), k);
        let z = matrix.mul_dense(&q, k); // = (Qᵀ M)ᵀ
        let (values, vectors) = symmetric_eigen(&gram(&z, k), k);
        let dims = config.dims.min(k);
        // U = Q · Ub; scale column c by σ_c^½ = (λ_c)^¼.
        let mut ub = vec![0.0f64; k * dims];
        for r in 0..k {
            for c in 0..dims {
                ub[r * dims + c] = vectors[r * k + c] * values[c].max(0.0).powf(0.25);
            }
        }
        let mut word_vectors = mul_small(&q, k, &ub, dims);
        if dims < config.dims {
            word_vectors = pad_rows(&word_vectors, dims, config.dims);
        }
        LearnedModel::from_parts(config.dims, vocab, idf, word_vectors, statics(config))
    }

    /// A trained model; its id is a hash of its contents.
    fn from_parts(
        dims: usize,
        vocab: HashMap<String, u32>,
        idf: Vec<f32>,
        vectors: Vec<f32>,
        statics: Option<(&'static StaticTable<'static>, f32)>,
    ) -> LearnedModel {
        let mut model = LearnedModel::assemble(String::new(), dims, vocab, idf, vectors, statics);
        let mut bytes = Vec::new();
        model.write_body(&mut bytes).expect("writing to memory");
        let hash = blake3::hash(&bytes).to_hex();
        model.id = format!("learned:v1:{}", &hash[..16]);
        model
    }

    fn assemble(
        id: String,
        dims: usize,
        vocab: HashMap<String, u32>,
        idf: Vec<f32>,
        vectors: Vec<f32>,
        statics: Option<(&'static StaticTable<'static>, f32)>,
    ) -> LearnedModel {
        let mut words = vec![String::new(); vocab.len()];
        for (word, &id) in &vocab {
            words[id as usize] = word.clone();
        }
        let norms = vectors
            .chunks_exact(dims.max(1))
            .map(|row| row.iter().map(|x| x * x).sum::<f32>().sqrt())
            .collect();
        let pieces = match statics {
            Some((table, _)) => words.par_iter().map(|w| table.pieces(w).into()).collect(),
            None => Vec::new(),
        };
        LearnedModel {
            id,
            dims,
            vocab,
            pieces,
            rare_idf: idf.iter().copied().fold(1.0f32, f32::max),
            idf,
            vectors,
            words,
            norms,
            statics,
        }
    }

    /// The `k` words nearest to `token` by cosine, at least `min_cosine`,
    /// best first; the token itself excluded. Empty for unknown tokens.
    pub fn neighbours(&self, token: &str, k: usize, min_cosine: f32) -> Vec<(&str, f32)> {
        self.neighbours_of(&[token], k, min_cosine).remove(0)
    }

    /// [`neighbours`](Self::neighbours) of several tokens in one pass over
    /// the vocabulary (each row is read once for all of them: the scan is
    /// bound by memory, not arithmetic). One list per token, in order.
    pub fn neighbours_of(
        &self,
        tokens: &[&str],
        k: usize,
        min_cosine: f32,
    ) -> Vec<Vec<(&str, f32)>> {
        struct Probe<'a> {
            id: usize,
            norm: f32,
            vector: &'a [f32],
            best: Vec<(usize, f32)>,
        }
        let mut probes: Vec<Option<Probe<'_>>> = tokens
            .iter()
            .map(|token| {
                let id = *self.vocab.get(*token)? as usize;
                let norm = self.norms[id];
                (norm != 0.0 && k != 0).then(|| Probe {
                    id,
                    norm,
                    vector: &self.vectors[id * self.dims..][..self.dims],
                    best: Vec::with_capacity(k + 1),
                })
            })
            .collect();
        if probes.iter().any(Option::is_some) {
            for (other, row) in self.vectors.chunks_exact(self.dims).enumerate() {
                let other_norm = self.norms[other];
                if other_norm == 0.0 {
                    continue;
                }
                for probe in probes.iter_mut().flatten() {
                    if other == probe.id {
                        continue;
                    }
                    let cosine =
                        lore_core::embed::dot(probe.vector, row) / (probe.norm * other_norm);
                    let best = &mut probe.best;
                    if cosine < min_cosine || (best.len() == k && cosine <= best[k - 1].1) {
                        continue;
                    }
                    let at = best.partition_point(|&(_, c)| c >= cosine);
                    best.insert(at, (other, cosine));
                    best.truncate(k);
                }
            }
        }
        probes
            .into_iter()
            .map(|probe| {
                probe.map_or_else(Vec::new, |p| {
                    p.best
                        .into_iter()
                        .map(|(other, cosine)| (self.words[other].as_str(), cosine))
                        .collect()
                })
            })
            .collect()
    }

    /// Token occurrences of `text` the model would learn from, and how
    /// many of them it has no vector for: the measure of how far new code
    /// has drifted from the vocabulary it was trained on.
    pub fn coverage(&self, text: &str) -> (u64, u64) {
        let (mut seen, mut unknown) = (0u64, 0u64);
        lore_core::tokens::tokenize_with(text, |t| {
            if keep_token(t.text) {
                seen += 1;
                unknown += u64::from(!self.vocab.contains_key(t.text));
            }
        });
        (seen, unknown)
    }

    /// Bytes held in memory (vectors, words, weights), approximately.
    pub fn memory_bytes(&self) -> u64 {
        let words: usize = self.words.iter().map(|w| w.len() * 2 + 56).sum();
        (self.vectors.len() * 4 + self.idf.len() * 4 + self.norms.len() * 4 + words) as u64
    }

    /// Number of words with a vector.
    pub fn vocab_len(&self) -> usize {
        self.vocab.len()
    }

    /// The vector of one token, if known.
    pub fn word_vector(&self, token: &str) -> Option<&[f32]> {
        let id = *self.vocab.get(token)? as usize;
        Some(&self.vectors[id * self.dims..][..self.dims])
    }

    /// The text's vector: the learned part (below), and with a static
    /// table the static part after it, weighted by the share.
    pub fn embed_one(&self, text: &str) -> Vec<f32> {
        let mut out = self.embed_learned(text);
        if let Some((table, share)) = self.statics {
            let part = self.embed_static(table, text);
            let (a, b) = ((1.0 - share).sqrt(), share.sqrt());
            out.iter_mut().for_each(|x| *x *= a);
            out.extend(part.iter().map(|x| x * b));
            normalize(&mut out);
        }
        out
    }

    /// The static part: the text's identifier parts in the static table,
    /// each weighted by its IDF here (a part the vocabulary lacks is rare,
    /// so it weighs the most) × (1 + ln count). The pieces of the
    /// vocabulary's words were looked up once ([`LearnedModel::pieces`]).
    fn embed_static(&self, table: &StaticTable<'_>, text: &str) -> Vec<f32> {
        let mut known: Vec<u32> = Vec::new();
        let mut unknown: Vec<String> = Vec::new();
        crate::statics::identifier_parts(text, |part| match self.vocab.get(part) {
            Some(&id) => known.push(id),
            None => unknown.push(part.to_owned()),
        });
        known.sort_unstable();
        unknown.sort_unstable();
        let mut out = vec![0.0f32; table.dims()];
        for run in known.chunk_by(|a, b| a == b) {
            let id = run[0] as usize;
            let pieces = &self.pieces[id];
            let w = self.idf[id] * (1.0 + (run.len() as f32).ln());
            table.add_pieces(pieces, w, &mut out);
        }
        for run in unknown.chunk_by(|a, b| a == b) {
            let w = self.rare_idf * (1.0 + (run.len() as f32).ln());
            table.add_pieces(&table.pieces(&run[0]), w, &mut out);
        }
        normalize(&mut out);
        out
    }

    /// The normalised IDF-weighted mean of the text's token vectors.
    fn embed_learned(&self, text: &str) -> Vec<f32> {
        let mut out = vec![0.0f32; self.dims];
        // Words summed in id order: the same text always gives the same
        // bits (hash-map order would change the rounding from run to run,
        // and with it the order of near-tied results).
        let mut ids: Vec<u32> = token_ids(&self.vocab, text)
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        ids.sort_unstable();
        for run in ids.chunk_by(|a, b| a == b) {
            let (id, n) = (run[0], run.len());
            let weight = self.idf[id as usize] * (1.0 + (n as f32).ln());
            let row = &self.vectors[id as usize * self.dims..][..self.dims];
            for (o, &x) in out.iter_mut().zip(row) {
                *o += weight * x;
            }
        }
        normalize(&mut out);
        out
    }

    /// Everything but the magic and the id.
    fn write_body(&self, out: &mut impl Write) -> std::io::Result<()> {
        self.write_vectors(out)?;
        // Trailer: the static table's id (empty: none) and its share.
        let (table, share) = self.statics.map_or(("", 0.0), |(t, s)| (t.id(), s));
        out.write_all(&(table.len() as u16).to_le_bytes())?;
        out.write_all(table.as_bytes())?;
        out.write_all(&share.to_le_bytes())
    }

    fn write_vectors(&self, out: &mut impl Write) -> std::io::Result<()> {
        let mut words: Vec<(&String, &u32)> = self.vocab.iter().collect();
        words.sort_by_key(|(_, id)| **id);
        out.write_all(&(self.dims as u32).to_le_bytes())?;
        out.write_all(&(words.len() as u32).to_le_bytes())?;
        for (word, id) in words {
            out.write_all(&(word.len() as u16).to_le_bytes())?;
            out.write_all(word.as_bytes())?;
            out.write_all(&self.idf[*id as usize].to_le_bytes())?;
        }
        if cfg!(target_endian = "little") {
            out.write_all(bytemuck::cast_slice(&self.vectors))?;
        } else {
            for x in &self.vectors {
                out.write_all(&x.to_le_bytes())?;
            }
        }
        Ok(())
    }

    fn write_to(&self, out: &mut impl Write) -> std::io::Result<()> {
        out.write_all(MAGIC)?;
        out.write_all(&(self.id.len() as u16).to_le_bytes())?;
        out.write_all(self.id.as_bytes())?;
        self.write_body(out)
    }

    /// Writes the model to `path` atomically (temporary file, fsync, rename).
    pub fn save(&self, path: &Path) -> Result<()> {
        let tmp = path.with_extension("tmp");
        let io = |e| Error::Io {
            path: path.to_owned(),
            source: e,
        };
        let mut file = std::io::BufWriter::new(std::fs::File::create(&tmp).map_err(io)?);
        self.write_to(&mut file).map_err(io)?;
        let file = file.into_inner().map_err(|e| io(e.into_error()))?;
        file.sync_all().map_err(io)?;
        std::fs::rename(&tmp, path).map_err(io)
    }

    /// Reads a model written by [`LearnedModel::save`].
    pub fn load(path: &Path) -> Result<LearnedModel> {
        let corrupt = |what: &str| Error::Corrupt {
            path: path.to_owned(),
            what: what.to_owned(),
        };
        let io = |e: std::io::Error| Error::Io {
            path: path.to_owned(),
            source: e,
        };
        let file = std::fs::File::open(path).map_err(io)?;
        let size = file.metadata().map_err(io)?.len();
        let mut r = std::io::BufReader::with_capacity(1 << 16, file);
        // Vectors are read straight into their buffer: no second copy of
        // the largest part (this load is on every CLI search's path).
        let mut read = |buf: &mut [u8], what: &str| -> Result<()> {
            r.read_exact(buf).map_err(|e| match e.kind() {
                std::io::ErrorKind::UnexpectedEof => corrupt(what),
                _ => io(e),
            })
        };
        let mut magic = [0u8; 8];
        read(&mut magic, "not a learned model")?;
        if &magic != MAGIC && &magic != MAGIC_V02 {
            return Err(corrupt("not a learned model"));
        }
        let mut u16_buf = [0u8; 2];
        let mut u32_buf = [0u8; 4];
        read(&mut u16_buf, "header")?;
        let mut id = vec![0u8; u16::from_le_bytes(u16_buf) as usize];
        read(&mut id, "header")?;
        let id = String::from_utf8(id).map_err(|_| corrupt("header"))?;
        read(&mut u32_buf, "header")?;
        let dims = u32::from_le_bytes(u32_buf) as usize;
        read(&mut u32_buf, "header")?;
        let n = u32::from_le_bytes(u32_buf) as usize;
        if (n as u64).saturating_mul(dims as u64).saturating_mul(4) > size {
            return Err(corrupt("header"));
        }
        let mut vocab = HashMap::with_capacity_and_hasher(n, Default::default());
        let mut idf = Vec::with_capacity(n);
        let mut word = Vec::new();
        for id in 0..n {
            read(&mut u16_buf, "vocabulary")?;
            word.resize(u16::from_le_bytes(u16_buf) as usize, 0);
            read(&mut word, "vocabulary")?;
            let text = std::str::from_utf8(&word).map_err(|_| corrupt("vocabulary"))?;
            vocab.insert(text.to_owned(), id as u32);
            read(&mut u32_buf, "vocabulary")?;
            idf.push(f32::from_le_bytes(u32_buf));
        }
        let mut vectors = vec![0f32; n * dims];
        read(bytemuck::cast_slice_mut(&mut vectors), "vectors")?;
        if cfg!(target_endian = "big") {
            vectors
                .iter_mut()
                .for_each(|x| *x = f32::from_bits(u32::from_le(x.to_bits())));
        }
        let mut statics = None;
        if &magic == MAGIC {
            read(&mut u16_buf, "static trailer")?;
            let mut table = vec![0u8; u16::from_le_bytes(u16_buf) as usize];
            read(&mut table, "static trailer")?;
            read(&mut u32_buf, "static trailer")?;
            let share = f32::from_le_bytes(u32_buf);
            if !table.is_empty() {
                let shipped = StaticTable::shipped();
                if table != shipped.id().as_bytes() {
                    return Err(corrupt(&format!(
                        "made with static table {}, this build ships {}; \
                         `lore embed maintain` retrains it",
                        String::from_utf8_lossy(&table),
                        shipped.id()
                    )));
                }
                statics = Some((shipped, share));
            }
        }
        let mut rest = [0u8; 1];
        match r.read(&mut rest) {
            Ok(0) => {}
            Ok(_) => return Err(corrupt("trailing bytes")),
            Err(e) => return Err(io(e)),
        }
        Ok(LearnedModel::assemble(
            id, dims, vocab, idf, vectors, statics,
        ))
    }
}

impl Embedder for LearnedModel {
    fn model_id(&self) -> &str {
        &self.id
    }

    fn dims(&self) -> usize {
        self.dims + self.statics.map_or(0, |(t, _)| t.dims())
    }

    fn embed(&self, texts: &[&str]) -> lore_core::Result<Vec<Vec<f32>>> {
        Ok(texts.par_iter().map(|t| self.embed_one(t)).collect())
    }
}

/// The static table a training run adds, if its share is positive.
fn statics(config: &TrainConfig) -> Option<(&'static StaticTable<'static>, f32)> {
    (config.static_share > 0.0).then(|| (StaticTable::shipped(), config.static_share.min(1.0)))
}

fn pair_key(i: u32, j: u32) -> u64 {
    let (a, b) = if i < j { (i, j) } else { (j, i) };
    (u64::from(a) << 32) | u64::from(b)
}

fn split_key(key: u64) -> (u32, u32) {
    ((key >> 32) as u32, key as u32)
}

fn merge(mut into: HashMap<u64, f32>, from: HashMap<u64, f32>) -> HashMap<u64, f32> {
    for (k, v) in from {
        *into.entry(k).or_default() += v;
    }
    into
}

fn pad_rows(rows: &[f32], from: usize, to: usize) -> Vec<f32> {
    let mut out = Vec::with_capacity(rows.len() / from.max(1) * to);
    for row in rows.chunks(from) {
        out.extend_from_slice(row);
        out.resize(out.len() + to - from, 0.0);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use lore_core::embed::dot;

    /// A tiny corpus with two topics: retrying requests and parsing dates.
    fn corpus() -> Vec<String> {
        let mut texts = Vec::new();
        for i in 0..40 {
            texts.push(format!(
                "def retry_request_{i}(session, request):\n    \"\"\"Give up after too many attempts.\"\"\"\n    for attempt in range(max_retries):\n        if session.send(request): return True\n        backoff(attempt)\n"
            ));
            texts.push(format!(
                "def parse_date_{i}(text):\n    \"\"\"Read a calendar day from a string.\"\"\"\n    year, month, day = text.split('-')\n    return date(int(year), int(month), int(day))\n"
            ));
        }
        texts
    }

    fn model() -> LearnedModel {
        model_with(STATIC_SHARE)
    }

    fn model_with(static_share: f32) -> LearnedModel {
        let texts = corpus();
        let training: Vec<TrainingText<'_>> = texts
            .iter()
            .map(|t| TrainingText {
                text: t,
                ..TrainingText::default()
            })
            .collect();
        LearnedModel::train(
            &training,
            &TrainConfig {
                dims: 8,
                static_share,
                ..TrainConfig::default()
            },
        )
    }

    #[test]
    fn related_words_are_closer_than_unrelated_ones() {
        let m = model();
        assert!(m.vocab_len() > 10);
        let cos = |a: &str, b: &str| {
            let mut x = m.word_vector(a).unwrap().to_vec();
            let mut y = m.word_vector(b).unwrap().to_vec();
            normalize(&mut x);
            normalize(&mut y);
            dot(&x, &y)
        };
        let retrying = ["attempt", "backoff", "session", "request"];
        let dates = ["year", "month", "day", "date"];
        let mean = |xs: &[&str], ys: &[&str]| {
            let mut sum = 0.0;
            let mut n = 0.0;
            for x in xs {
                for y in ys {
                    if x != y {
                        sum += cos(x, y);
                        n += 1.0;
                    }
                }
            }
            sum / n
        };
        let within = (mean(&retrying, &retrying) + mean(&dates, &dates)) / 2.0;
        let across = mean(&retrying, &dates);
        assert!(within > across + 0.2, "within {within}, across {across}");
    }

    #[test]
    fn neighbours_are_ranked_bounded_and_exclude_the_word() {
        let m = model();
        let near = m.neighbours("month", 3, -1.0);
        assert_eq!(near.len(), 3);
        assert!(near.iter().all(|(w, _)| *w != "month"));
        assert!(near.windows(2).all(|p| p[0].1 >= p[1].1), "{near:?}");
        let dates = [
            "year", "day", "date", "text", "split", "int", "parse", "read", "calendar",
        ];
        assert!(dates.contains(&near[0].0), "{near:?}");
        assert!(m.neighbours("month", 5, 1.01).is_empty());
        assert!(m.neighbours("zzzz", 5, 0.0).is_empty());
        // Loading rebuilds the lookup tables.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.bin");
        m.save(&path).unwrap();
        assert_eq!(
            LearnedModel::load(&path)
                .unwrap()
                .neighbours("month", 3, -1.0),
            near
        );
    }

    #[test]
    fn a_question_without_shared_words_finds_its_code() {
        let m = model();
        // "give up" and "attempts" appear only in the docs of the retry code.
        let q = m.embed_one("when do we give up attempts");
        let retry = m.embed_one("for attempt in range(max_retries): backoff(attempt)");
        let date = m.embed_one("year, month, day = text.split('-')");
        assert!(
            dot(&q, &retry) > dot(&q, &date),
            "{} vs {}",
            dot(&q, &retry),
            dot(&q, &date)
        );
        let norm: f32 = retry.iter().map(|x| x * x).sum();
        assert!((norm - 1.0).abs() < 1e-4);
        // Words the repository never uses have no learned part.
        assert!(m.embed_one("zzzz unknown")[..8].iter().all(|&x| x == 0.0));
        assert!(
            model_with(0.0)
                .embed_one("zzzz unknown")
                .iter()
                .all(|&x| x == 0.0)
        );
    }

    #[test]
    fn the_static_table_relates_words_the_repository_never_uses() {
        // Neither "postpone" nor "wait" is in the corpus; the static table
        // knows they are near "backoff" and "attempt" more than dates.
        let with = model();
        assert_eq!(with.dims(), 8 + StaticTable::shipped().dims());
        let q = "postpone and wait before trying again";
        let retry = "for attempt in range(max_retries): backoff(attempt)";
        let date = "year, month, day = text.split('-')";
        let cos = |m: &LearnedModel, a: &str, b: &str| dot(&m.embed_one(a), &m.embed_one(b));
        assert!(cos(&with, q, retry) > cos(&with, q, date) + 0.05);
        let without = model_with(0.0);
        assert_eq!(without.dims(), 8);
        // Without it, only "again"'s chance co-occurrences could relate them.
        assert!(cos(&without, q, retry) < cos(&with, q, retry));
        // The table is part of the model: saved, loaded, same vectors.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.bin");
        with.save(&path).unwrap();
        let loaded = LearnedModel::load(&path).unwrap();
        assert_eq!(loaded.model_id(), with.model_id());
        assert_eq!(loaded.embed_one(q), with.embed_one(q));
        assert_ne!(with.model_id(), without.model_id());
    }

    #[test]
    fn a_text_always_embeds_to_the_same_bits() {
        let m = model();
        let text = "for attempt in range(max_retries): backoff(attempt) year month day text split";
        let first = m.embed_one(text);
        for _ in 0..50 {
            assert_eq!(m.embed_one(text), first);
        }
    }

    #[test]
    fn training_is_deterministic_and_saves_round_trip() {
        let a = model();
        let b = model();
        assert_eq!(a.model_id(), b.model_id());
        let dir = std::env::temp_dir().join(format!("lore-embed-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("model.bin");
        a.save(&path).unwrap();
        let loaded = LearnedModel::load(&path).unwrap();
        assert_eq!(loaded.model_id(), a.model_id());
        assert_eq!(
            loaded.embed_one("retry request"),
            a.embed_one("retry request")
        );
        std::fs::write(&path, b"garbage").unwrap();
        let err = LearnedModel::load(&path).unwrap_err().to_string();
        assert!(err.contains("model.bin"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
