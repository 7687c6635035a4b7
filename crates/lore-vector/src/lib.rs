//! The vector index of one repository: (chunk id, unit vector) rows
//! searched exactly.
//!
//! Two forms: [`VectorSet`], segments written one per index run and read
//! by pages (the learned vectors: a change costs what it changes), and
//! [`FlatVectors`], one file read whole into memory (the transformer
//! vectors, written by their own resumable step).
//!
//! Useful for: nearest chunks to a query vector, vectors of given chunks.
//! Not useful for: anything but vectors of one model.
//!
//! Exact search reads every vector: at 128 dimensions that is about 2 ms
//! per 50k chunks on one core, and the scan is split across cores, so it
//! stays well inside the latency budget up to a few hundred thousand
//! chunks; an approximate index (HNSW) would only pay beyond that. A
//! process that searches many times builds 8-bit codes of the rows
//! ([`FlatVectors::prepare_fast_search`]): a quarter of the bytes to scan
//! for a shortlist, which is then scored on the full vectors, so results
//! stay exact.
//!
//! **Architecture Invariant:** a vector file is immutable once written; a
//! new set of vectors is a new file, written to a temporary name, fsynced
//! and renamed, and the metadata store names the current one. A crash
//! leaves the previous file in force.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use std::sync::OnceLock;

use lore_core::embed::{dot, dot_i8, quantize};
use rayon::prelude::*;

mod segment;
mod set;

pub use segment::{Segment, SegmentWriter};
pub use set::{VectorSet, merge, read_deleted, write_deleted};

/// Version 2 ends with the CRC-32 of everything before it; version 1 files
/// (no checksum) are still read.
const MAGIC: &[u8; 8] = b"LOREVEC2";
const MAGIC_V1: &[u8; 8] = b"LOREVEC1";

/// Errors from vector files.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading or writing failed.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The file is not a vector file, or is truncated.
    #[error("{path}: corrupt vector file ({what})")]
    Corrupt { path: PathBuf, what: &'static str },
    /// A vector's length differs from the file's.
    #[error("vector of chunk {id} has {found} dimensions, expected {expected}")]
    Dimensions {
        id: u64,
        found: usize,
        expected: usize,
    },
}

/// Result with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<Error> for lore_core::Error {
    fn from(err: Error) -> lore_core::Error {
        lore_core::Error::backend("vector index", err)
    }
}

/// Vectors of one model, keyed by chunk id, in memory.
#[derive(Clone, Debug, Default)]
pub struct FlatVectors {
    model_id: String,
    dims: usize,
    /// Sorted ascending.
    ids: Vec<u64>,
    /// Row-major `ids.len() × dims`.
    data: Vec<f32>,
    /// 8-bit codes of `data`, built by [`FlatVectors::prepare_fast_search`].
    codes: OnceLock<Codes>,
}

/// Every row as 8-bit codes with its scale: a quarter of the bytes to read
/// per search.
#[derive(Clone, Debug, Default)]
struct Codes {
    /// Row-major, like `data`.
    codes: Vec<i8>,
    scales: Vec<f32>,
}

impl FlatVectors {
    /// An empty set for `model_id`.
    pub fn new(model_id: &str, dims: usize) -> FlatVectors {
        FlatVectors {
            model_id: model_id.to_owned(),
            dims,
            ids: Vec::new(),
            data: Vec::new(),
            codes: OnceLock::new(),
        }
    }

    /// Builds from (id, vector) rows in any order; a repeated id keeps its
    /// last vector.
    pub fn from_rows(
        model_id: &str,
        dims: usize,
        rows: impl IntoIterator<Item = (u64, Vec<f32>)>,
    ) -> Result<FlatVectors> {
        let mut rows: Vec<(u64, Vec<f32>)> = rows.into_iter().collect();
        for (id, v) in &rows {
            if v.len() != dims {
                return Err(Error::Dimensions {
                    id: *id,
                    found: v.len(),
                    expected: dims,
                });
            }
        }
        rows.sort_by_key(|(id, _)| *id);
        rows.reverse();
        rows.dedup_by_key(|(id, _)| *id);
        rows.reverse();
        let mut out = FlatVectors::new(model_id, dims);
        out.ids.reserve(rows.len());
        out.data.reserve(rows.len() * dims);
        for (id, v) in rows {
            out.ids.push(id);
            out.data.extend_from_slice(&v);
        }
        Ok(out)
    }

    /// The model that produced the vectors.
    pub fn model_id(&self) -> &str {
        &self.model_id
    }

    /// Vector length.
    pub fn dims(&self) -> usize {
        self.dims
    }

    /// Number of vectors.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// True if there are no vectors.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Bytes held in memory: ids, vectors, and codes once built.
    pub fn memory_bytes(&self) -> u64 {
        let codes = self
            .codes
            .get()
            .map_or(0, |c| c.codes.len() + c.scales.len() * 4);
        (self.ids.len() * 8 + self.data.len() * 4 + codes) as u64
    }

    /// The vector of `id`, if present.
    pub fn get(&self, id: u64) -> Option<&[f32]> {
        let i = self.ids.binary_search(&id).ok()?;
        Some(&self.data[i * self.dims..][..self.dims])
    }

    /// Builds the 8-bit codes that later [`search`](Self::search) calls
    /// scan instead of the full vectors (for a process that searches many
    /// times: it costs about two scans). Results stay exact: the codes
    /// only pick a few times `k` candidates, which are then scored on
    /// the full vectors.
    pub fn prepare_fast_search(&self) {
        self.codes.get_or_init(|| {
            let dims = self.dims.max(1);
            let mut codes = vec![0i8; self.data.len()];
            let scales = codes
                .par_chunks_mut(dims)
                .zip(self.data.par_chunks(dims))
                .map(|(codes, row)| quantize(row, codes))
                .collect();
            Codes { codes, scales }
        });
    }

    fn search_codes(
        &self,
        codes: &Codes,
        query: &[f32],
        k: usize,
        keep: impl Fn(u64) -> bool + Sync,
    ) -> Vec<(u64, f32)> {
        let mut query_codes = vec![0i8; self.dims];
        let query_scale = quantize(query, &mut query_codes);
        // Rounding moves a score by about 1e-3 for unit vectors; the
        // margin covers rows whose order it could change at the k-th place.
        let shortlist = (k * 3).max(k + 64);
        // One thread: this path serves processes answering many queries at
        // once, where splitting a half-millisecond scan costs more in
        // wake-ups than it saves. Rows below the shortlist's floor so far
        // are dropped without being kept.
        let by_score = |a: &(usize, f32), b: &(usize, f32)| b.1.total_cmp(&a.1);
        let mut approx: Vec<(usize, f32)> = Vec::with_capacity(2 * shortlist);
        let mut floor = f32::NEG_INFINITY;
        for (row, c) in codes.codes.chunks_exact(self.dims).enumerate() {
            if !keep(self.ids[row]) {
                continue;
            }
            let score = dot_i8(&query_codes, c) as f32 * codes.scales[row] * query_scale;
            if score < floor {
                continue;
            }
            approx.push((row, score));
            if approx.len() == 2 * shortlist {
                keep_best_by(&mut approx, shortlist, by_score);
                floor = approx.iter().fold(f32::INFINITY, |m, a| m.min(a.1));
            }
        }
        keep_best_by(&mut approx, shortlist, by_score);
        approx.sort_unstable_by_key(|&(row, _)| row);
        let mut best: Vec<(u64, f32)> = approx
            .into_iter()
            .map(|(row, _)| {
                let vector = &self.data[row * self.dims..][..self.dims];
                (self.ids[row], dot(query, vector))
            })
            .collect();
        keep_best(&mut best, k);
        best.sort_unstable_by(best_first);
        best
    }

    /// Every (id, vector) row in id order.
    pub fn rows(&self) -> impl Iterator<Item = (u64, &[f32])> {
        self.ids
            .iter()
            .copied()
            .zip(self.data.chunks_exact(self.dims.max(1)))
    }

    /// The `k` ids with the highest dot product with `query` (cosine for
    /// unit vectors), best first; ties by id. Ids rejected by `keep` are
    /// skipped.
    pub fn search(
        &self,
        query: &[f32],
        k: usize,
        keep: impl Fn(u64) -> bool + Sync,
    ) -> Vec<(u64, f32)> {
        if k == 0 || query.len() != self.dims || self.dims == 0 {
            return Vec::new();
        }
        if let Some(codes) = self.codes.get() {
            return self.search_codes(codes, query, k, keep);
        }
        // Score every row of a block, keep its best k (selection, not a
        // sorted insert per row), then merge the blocks' bests.
        let mut best = self
            .data
            .par_chunks(self.dims * BLOCK_ROWS)
            .enumerate()
            .map(|(block, rows)| {
                let ids = &self.ids[block * BLOCK_ROWS..];
                let mut scored: Vec<(u64, f32)> = rows
                    .chunks_exact(self.dims)
                    .zip(ids)
                    .filter(|&(_, &id)| keep(id))
                    .map(|(row, &id)| (id, dot(query, row)))
                    .collect();
                keep_best(&mut scored, k);
                scored
            })
            .reduce(Vec::new, |mut a, b| {
                a.extend(b);
                keep_best(&mut a, k);
                a
            });
        best.sort_unstable_by(best_first);
        best
    }

    /// Writes to `path` atomically: a temporary file, fsync, then rename.
    pub fn save(&self, path: &Path) -> Result<()> {
        let io = |source| Error::Io {
            path: path.to_owned(),
            source,
        };
        let tmp = path.with_extension("tmp");
        let mut out = Checksummed {
            inner: std::io::BufWriter::new(std::fs::File::create(&tmp).map_err(io)?),
            crc: crc32fast::Hasher::new(),
        };
        (|| -> std::io::Result<()> {
            out.write_all(MAGIC)?;
            out.write_all(&(self.model_id.len() as u32).to_le_bytes())?;
            out.write_all(self.model_id.as_bytes())?;
            out.write_all(&(self.dims as u32).to_le_bytes())?;
            out.write_all(&(self.ids.len() as u64).to_le_bytes())?;
            if cfg!(target_endian = "little") {
                out.write_all(bytemuck::cast_slice(&self.ids))?;
                out.write_all(bytemuck::cast_slice(&self.data))?;
            } else {
                for id in &self.ids {
                    out.write_all(&id.to_le_bytes())?;
                }
                for x in &self.data {
                    out.write_all(&x.to_le_bytes())?;
                }
            }
            let crc = out.crc.clone().finalize();
            out.inner.write_all(&crc.to_le_bytes())?;
            out.flush()
        })()
        .map_err(io)?;
        let file = out.inner.into_inner().map_err(|e| io(e.into_error()))?;
        file.sync_all().map_err(io)?;
        std::fs::rename(&tmp, path).map_err(io)
    }

    /// Reads a file written by [`FlatVectors::save`].
    pub fn load(path: &Path) -> Result<FlatVectors> {
        let io = |source| Error::Io {
            path: path.to_owned(),
            source,
        };
        let corrupt = |what| Error::Corrupt {
            path: path.to_owned(),
            what,
        };
        let mut file = std::fs::File::open(path).map_err(io)?;
        let size = file.metadata().map_err(io)?.len();
        let mut reader = std::io::BufReader::new(&mut file);
        let mut crc = crc32fast::Hasher::new();
        let mut read = |buf: &mut [u8], what| -> Result<()> {
            reader.read_exact(buf).map_err(|e| match e.kind() {
                std::io::ErrorKind::UnexpectedEof => corrupt(what),
                _ => io(e),
            })?;
            crc.update(buf);
            Ok(())
        };
        let mut magic = [0u8; 8];
        read(&mut magic, "header")?;
        let checksummed = match &magic {
            m if m == MAGIC => true,
            m if m == MAGIC_V1 => false,
            _ => return Err(corrupt("not a vector file")),
        };
        let mut u32_buf = [0u8; 4];
        read(&mut u32_buf, "header")?;
        let len = u32::from_le_bytes(u32_buf) as usize;
        if len as u64 > size {
            return Err(corrupt("header"));
        }
        let mut model = vec![0u8; len];
        read(&mut model, "header")?;
        let model_id = String::from_utf8(model).map_err(|_| corrupt("model id"))?;
        read(&mut u32_buf, "header")?;
        let dims = u32::from_le_bytes(u32_buf) as usize;
        let mut u64_buf = [0u8; 8];
        read(&mut u64_buf, "header")?;
        let n = u64::from_le_bytes(u64_buf) as usize;
        let expected = (8 + 4 + len + 4 + 8) as u64
            + n as u64 * 8
            + (n as u64 * dims as u64) * 4
            + if checksummed { 4 } else { 0 };
        if expected != size {
            return Err(corrupt("size does not match the header"));
        }
        // Read straight into the typed buffers (the format is little-endian).
        let mut ids = vec![0u64; n];
        read(bytemuck::cast_slice_mut(&mut ids), "ids")?;
        let mut data = vec![0f32; n * dims];
        read(bytemuck::cast_slice_mut(&mut data), "vectors")?;
        if checksummed {
            let computed = crc.clone().finalize();
            let mut stored = [0u8; 4];
            reader
                .read_exact(&mut stored)
                .map_err(|_| corrupt("checksum"))?;
            if u32::from_le_bytes(stored) != computed {
                return Err(corrupt("checksum mismatch: the file is damaged"));
            }
        }
        if cfg!(target_endian = "big") {
            ids.iter_mut().for_each(|x| *x = u64::from_le(*x));
            data.iter_mut()
                .for_each(|x| *x = f32::from_bits(u32::from_le(x.to_bits())));
        }
        if ids.windows(2).any(|w| w[0] >= w[1]) {
            return Err(corrupt("ids out of order"));
        }
        if data.iter().any(|x| !x.is_finite()) {
            return Err(corrupt("a vector holds a value that is not a number"));
        }
        Ok(FlatVectors {
            model_id,
            dims,
            ids,
            data,
            codes: OnceLock::new(),
        })
    }
}

/// A writer that keeps the CRC-32 of what went through it.
struct Checksummed<W> {
    inner: W,
    crc: crc32fast::Hasher,
}

impl<W: Write> Write for Checksummed<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.crc.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Rows scored per parallel task in [`FlatVectors::search`].
const BLOCK_ROWS: usize = 4096;

/// Higher score first; ties by id.
fn best_first(a: &(u64, f32), b: &(u64, f32)) -> std::cmp::Ordering {
    b.1.total_cmp(&a.1).then(a.0.cmp(&b.0))
}

/// Keeps the `k` best of `scored` (in no particular order).
fn keep_best(scored: &mut Vec<(u64, f32)>, k: usize) {
    keep_best_by(scored, k, best_first);
}

/// Keeps the first `k` of `items` in `order` (in no particular order).
fn keep_best_by<T>(items: &mut Vec<T>, k: usize, order: impl FnMut(&T, &T) -> std::cmp::Ordering) {
    if items.len() > k && k > 0 {
        items.select_nth_unstable_by(k - 1, order);
        items.truncate(k);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(v: &[f32]) -> Vec<f32> {
        let mut v = v.to_vec();
        lore_core::embed::normalize(&mut v);
        v
    }

    fn sample() -> FlatVectors {
        let rows = (0..3000u64).map(|id| {
            let angle = id as f32 * 0.001;
            (id * 2, unit(&[angle.cos(), angle.sin(), 0.0]))
        });
        FlatVectors::from_rows("m", 3, rows).unwrap()
    }

    #[test]
    fn exact_search_finds_the_nearest() {
        let v = sample();
        let q = unit(&[1.0, 0.0, 0.0]);
        let top = v.search(&q, 3, |_| true);
        assert_eq!(top.iter().map(|t| t.0).collect::<Vec<_>>(), [0, 2, 4]);
        // Across block boundaries too: nearest to angle 2.5 is id 2500*2.
        let q = unit(&[2.5f32.cos(), 2.5f32.sin(), 0.0]);
        assert_eq!(v.search(&q, 1, |_| true)[0].0, 5000);
        // Filtered.
        let top = v.search(&unit(&[1.0, 0.0, 0.0]), 2, |id| id >= 10);
        assert_eq!(top.iter().map(|t| t.0).collect::<Vec<_>>(), [10, 12]);
        assert!(v.search(&[1.0, 0.0], 3, |_| true).is_empty(), "wrong dims");
    }

    #[test]
    fn save_load_and_corruption() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v1.bin");
        let v = sample();
        v.save(&path).unwrap();
        let back = FlatVectors::load(&path).unwrap();
        assert_eq!(back.model_id(), "m");
        assert_eq!(back.len(), 3000);
        assert_eq!(back.get(200), v.get(200));
        assert_eq!(back.get(201), None);
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() - 3]).unwrap();
        let err = FlatVectors::load(&path).unwrap_err().to_string();
        assert!(err.contains("v1.bin") && err.contains("corrupt"), "{err}");
        assert!(!dir.path().join("v1.tmp").exists());
    }

    #[test]
    fn damaged_bytes_are_caught_by_the_checksum_and_old_files_still_load() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v.bin");
        let v = sample();
        v.save(&path).unwrap();
        let good = std::fs::read(&path).unwrap();
        // Random bytes inside the vectors (the same size: only the
        // checksum can tell).
        let mut bad = good.clone();
        let at = bad.len() - 4 - 100;
        bad[at..at + 8].copy_from_slice(&[0x7f, 0x7f, 0xff, 0x7f, 0x00, 0x00, 0x80, 0x7f]);
        std::fs::write(&path, &bad).unwrap();
        let err = FlatVectors::load(&path).unwrap_err().to_string();
        assert!(err.contains("checksum mismatch"), "{err}");
        // A version 1 file (no checksum) loads, but not with non-numbers.
        let mut v1 = good[..good.len() - 4].to_vec();
        v1[..8].copy_from_slice(MAGIC_V1);
        std::fs::write(&path, &v1).unwrap();
        assert_eq!(FlatVectors::load(&path).unwrap().get(200), v.get(200));
        let at = v1.len() - 4;
        v1[at..].copy_from_slice(&f32::NAN.to_le_bytes());
        std::fs::write(&path, &v1).unwrap();
        let err = FlatVectors::load(&path).unwrap_err().to_string();
        assert!(err.contains("not a number"), "{err}");
    }

    #[test]
    fn rows_must_match_dimensions_and_last_duplicate_wins() {
        let err = FlatVectors::from_rows("m", 2, [(1, vec![1.0])]).unwrap_err();
        assert!(err.to_string().contains("chunk 1"));
        let v = FlatVectors::from_rows("m", 1, [(5, vec![1.0]), (5, vec![2.0]), (1, vec![3.0])])
            .unwrap();
        assert_eq!(
            v.rows().collect::<Vec<_>>(),
            [(1, &[3.0][..]), (5, &[2.0][..])]
        );
    }

    #[test]
    fn fast_search_gives_the_exact_results() {
        // Pseudo-random unit vectors in 64 dimensions, in several blocks.
        let mut state = 7u64;
        let mut next = move || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((state >> 40) as f32 / (1u64 << 24) as f32) - 0.5
        };
        let rows: Vec<(u64, Vec<f32>)> = (0..9000u64)
            .map(|id| {
                (
                    id * 3 + 1,
                    unit(&(0..64).map(|_| next()).collect::<Vec<_>>()),
                )
            })
            .collect();
        let queries: Vec<Vec<f32>> = (0..20)
            .map(|_| unit(&(0..64).map(|_| next()).collect::<Vec<_>>()))
            .collect();
        let v = FlatVectors::from_rows("m", 64, rows).unwrap();
        let exact: Vec<_> = queries
            .iter()
            .map(|q| v.search(q, 100, |id| id % 2 == 0))
            .collect();
        v.prepare_fast_search();
        assert!(v.codes.get().is_some());
        for (q, want) in queries.iter().zip(&exact) {
            assert_eq!(&v.search(q, 100, |id| id % 2 == 0), want);
        }
        assert_eq!(v.search(&queries[0], 1, |_| true).len(), 1);
        assert!(v.search(&queries[0], 0, |_| true).is_empty());
    }
}
