//! A repository's vectors as a set of segments plus the ids deleted since
//! they were written.
//!
//! An index run that adds chunks writes one new segment holding their
//! vectors; one that removes chunks adds their ids to the deleted set
//! (a small file rewritten with it). Nothing else is rewritten, so a
//! change costs what it changes. Merging segments and dropping deleted
//! rows is separate work ([`merge`]), done when segments pile up.
//!
//! **Architecture Invariant:** segment and deleted-id files are immutable
//! once written (a temporary name, fsync, rename); the metadata store's
//! manifest names the files in force, and a run makes its files current
//! in one metadata transaction. Chunk ids are never reused, so a deleted
//! id means the same row in every segment.

use std::io::Write;
use std::path::{Path, PathBuf};

use lore_core::embed::quantize;

use crate::segment::{Candidate, Segment, SegmentWriter, read_at, rescore};
use crate::{Error, Result};

const DELETED_MAGIC: &[u8; 8] = b"LOREDEL1";

/// The vectors in force: segments, oldest first, minus deleted ids.
#[derive(Debug, Default)]
pub struct VectorSet {
    model_id: String,
    dims: usize,
    segments: Vec<Segment>,
    /// Ascending.
    deleted: Vec<u64>,
    live: usize,
}

impl VectorSet {
    /// Opens the segments `names` under `dir` and the deleted-id file
    /// `deleted` (if any). Every segment must be of one model.
    pub fn open(dir: &Path, names: &[String], deleted: Option<&str>) -> Result<VectorSet> {
        let segments = names
            .iter()
            .map(|n| Segment::open(&dir.join(n)))
            .collect::<Result<Vec<_>>>()?;
        let deleted = match deleted {
            Some(name) => read_deleted(&dir.join(name))?,
            None => Vec::new(),
        };
        VectorSet::from_parts(segments, deleted)
    }

    fn from_parts(segments: Vec<Segment>, deleted: Vec<u64>) -> Result<VectorSet> {
        let (model_id, dims) = match segments.first() {
            Some(s) => (s.model_id().to_owned(), s.dims()),
            None => (String::new(), 0),
        };
        if let Some(other) = segments
            .iter()
            .find(|s| s.model_id() != model_id || s.dims() != dims)
        {
            return Err(Error::Corrupt {
                path: other.path().to_owned(),
                what: "a segment of another model",
            });
        }
        let rows: usize = segments.iter().map(Segment::len).sum();
        let gone = deleted
            .iter()
            .filter(|&&id| segments.iter().any(|s| s.row_of(id).is_some()))
            .count();
        Ok(VectorSet {
            model_id,
            dims,
            segments,
            deleted,
            live: rows - gone,
        })
    }

    /// The model of the vectors (empty for an empty set).
    pub fn model_id(&self) -> &str {
        &self.model_id
    }

    /// Vector length (0 for an empty set).
    pub fn dims(&self) -> usize {
        self.dims
    }

    /// Live rows.
    pub fn len(&self) -> usize {
        self.live
    }

    /// True if no row is live.
    pub fn is_empty(&self) -> bool {
        self.live == 0
    }

    /// The segments, oldest first.
    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }

    /// Deleted ids, ascending.
    pub fn deleted(&self) -> &[u64] {
        &self.deleted
    }

    /// Whether `id` was deleted.
    pub fn is_deleted(&self, id: u64) -> bool {
        self.deleted.binary_search(&id).is_ok()
    }

    fn find(&self, id: u64) -> Option<(&Segment, usize)> {
        if self.is_deleted(id) {
            return None;
        }
        self.segments
            .iter()
            .rev()
            .find_map(|s| Some((s, s.row_of(id)?)))
    }

    /// Whether `id` has a live vector.
    pub fn contains(&self, id: u64) -> bool {
        self.find(id).is_some()
    }

    /// The vector of `id`, if live.
    pub fn get(&self, id: u64) -> Result<Option<Vec<f32>>> {
        match self.find(id) {
            Some((segment, row)) => Ok(Some(segment.vector(row)?)),
            None => Ok(None),
        }
    }

    /// Keeps every segment's codes in memory (for a process answering many
    /// searches).
    pub fn make_resident(&self) -> Result<()> {
        self.segments.iter().try_for_each(Segment::make_resident)
    }

    /// Keeps every segment's rows in memory too ([`Segment::make_rows_resident`]).
    pub fn make_rows_resident(&self) -> Result<()> {
        self.segments
            .iter()
            .try_for_each(Segment::make_rows_resident)
    }

    /// Bytes held in memory: ids, deleted ids, and resident codes.
    pub fn resident_bytes(&self) -> u64 {
        let segments: u64 = self.segments.iter().map(Segment::resident_bytes).sum();
        segments + self.deleted.len() as u64 * 8
    }

    /// The `k` live ids with the highest dot product with `query` (cosine
    /// for unit vectors), best first; ties by id. The scan reads 8-bit
    /// codes and keeps a short list, which is then scored exactly on the
    /// full vectors: the result is the exact top `k`.
    pub fn search(&self, query: &[f32], k: usize) -> Result<Vec<(u64, f32)>> {
        if k == 0 || query.len() != self.dims || self.dims == 0 {
            return Ok(Vec::new());
        }
        let mut query_codes = vec![0i8; self.dims];
        let query_scale = quantize(query, &mut query_codes);
        // Rounding moves a score by about 1e-3 for unit vectors; the
        // margin covers rows whose order it could change at the k-th place.
        let shortlist = (k * 3).max(k + 64);
        let live = |id: u64| !self.is_deleted(id);
        let mut candidates: Vec<Candidate> = Vec::new();
        for (i, segment) in self.segments.iter().enumerate() {
            candidates.extend(segment.scan(i, &query_codes, query_scale, shortlist, &live)?);
        }
        if candidates.len() > shortlist {
            candidates.select_nth_unstable_by(shortlist - 1, |a, b| b.score.total_cmp(&a.score));
            candidates.truncate(shortlist);
        }
        let mut best = rescore(&self.segments, &candidates, query)?;
        best.sort_unstable_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        best.truncate(k);
        Ok(best)
    }

    /// Every live row, oldest segment first, read a block at a time.
    pub fn for_each_row(&self, mut f: impl FnMut(u64, &[f32]) -> Result<()>) -> Result<()> {
        const BLOCK: usize = 4096;
        for segment in &self.segments {
            for start in (0..segment.len()).step_by(BLOCK) {
                let n = BLOCK.min(segment.len() - start);
                let rows = segment.vectors(start, n)?;
                for (i, v) in rows.chunks_exact(self.dims).enumerate() {
                    let id = segment.ids()[start + i];
                    if !self.is_deleted(id) {
                        f(id, v)?;
                    }
                }
            }
        }
        Ok(())
    }

    /// Reads every file whole against its checksum; one line per problem.
    pub fn verify(&self) -> Vec<String> {
        self.segments
            .iter()
            .filter_map(|s| s.verify().err().map(|e| e.to_string()))
            .collect()
    }
}

/// Writes the live rows of `set` into one new segment at `path`.
pub fn merge(set: &VectorSet, path: &Path) -> Result<PathBuf> {
    let mut writer = SegmentWriter::create(path, set.model_id(), set.dims())?;
    // Segments hold ascending ids and later segments hold later ids, but a
    // merge must not rely on it: collect the order first (8 bytes a row).
    let mut order: Vec<(u64, usize, usize)> = Vec::with_capacity(set.len());
    for (si, s) in set.segments.iter().enumerate() {
        for (row, &id) in s.ids().iter().enumerate() {
            if !set.is_deleted(id) {
                order.push((id, si, row));
            }
        }
    }
    let in_order = order.windows(2).all(|w| w[0].0 < w[1].0);
    if in_order {
        set.for_each_row(|id, v| writer.push(id, v))?;
    } else {
        order.sort_unstable();
        order.dedup_by_key(|o| o.0);
        for (id, si, row) in order {
            writer.push(id, &set.segments[si].vector(row)?)?;
        }
    }
    writer.finish()
}

/// Writes ascending `ids` as a deleted-id file at `path` (temporary name,
/// fsync, rename).
pub fn write_deleted(path: &Path, ids: &[u64]) -> Result<()> {
    let tmp = path.with_extension("tmp");
    let io = |source| Error::Io {
        path: path.to_owned(),
        source,
    };
    let mut bytes = Vec::with_capacity(8 + 8 + ids.len() * 8 + 4);
    bytes.extend_from_slice(DELETED_MAGIC);
    bytes.extend_from_slice(&(ids.len() as u64).to_le_bytes());
    for id in ids {
        bytes.extend_from_slice(&id.to_le_bytes());
    }
    let crc = crc32fast::hash(&bytes);
    bytes.extend_from_slice(&crc.to_le_bytes());
    let mut file = std::fs::File::create(&tmp).map_err(io)?;
    file.write_all(&bytes).map_err(io)?;
    file.sync_all().map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)
}

/// Reads a file written by [`write_deleted`] (checked whole: it is small).
pub fn read_deleted(path: &Path) -> Result<Vec<u64>> {
    let corrupt = |what| Error::Corrupt {
        path: path.to_owned(),
        what,
    };
    let file = std::fs::File::open(path).map_err(|source| Error::Io {
        path: path.to_owned(),
        source,
    })?;
    let size = file
        .metadata()
        .map_err(|source| Error::Io {
            path: path.to_owned(),
            source,
        })?
        .len();
    if size < 20 || (size - 20) % 8 != 0 {
        return Err(corrupt("size"));
    }
    let mut bytes = vec![0u8; size as usize];
    read_at(&file, &mut bytes, 0).map_err(|source| Error::Io {
        path: path.to_owned(),
        source,
    })?;
    if &bytes[..8] != DELETED_MAGIC {
        return Err(corrupt("not a deleted-id file"));
    }
    let n = u64::from_le_bytes(bytes[8..16].try_into().unwrap());
    if n != (size - 20) / 8 {
        return Err(corrupt("size does not match the header"));
    }
    let body = &bytes[..bytes.len() - 4];
    let stored = u32::from_le_bytes(bytes[bytes.len() - 4..].try_into().unwrap());
    if crc32fast::hash(body) != stored {
        return Err(corrupt("checksum mismatch: the file is damaged"));
    }
    let ids: Vec<u64> = body[16..]
        .chunks_exact(8)
        .map(|b| u64::from_le_bytes(b.try_into().unwrap()))
        .collect();
    if ids.windows(2).any(|w| w[0] >= w[1]) {
        return Err(corrupt("ids out of order"));
    }
    Ok(ids)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(n: u64, dims: usize, seed: u64) -> Vec<(u64, Vec<f32>)> {
        let mut state = seed;
        let mut next = move || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((state >> 40) as f32 / (1u64 << 24) as f32) - 0.5
        };
        (0..n)
            .map(|i| {
                let mut v: Vec<f32> = (0..dims).map(|_| next()).collect();
                lore_core::embed::normalize(&mut v);
                (i, v)
            })
            .collect()
    }

    fn write(dir: &Path, name: &str, rows: &[(u64, Vec<f32>)]) {
        let mut w = SegmentWriter::create(&dir.join(name), "m", rows[0].1.len()).unwrap();
        for (id, v) in rows {
            w.push(*id, v).unwrap();
        }
        w.finish().unwrap();
    }

    /// A row as a segment stores it (half precision).
    fn stored(v: &[f32]) -> Vec<f32> {
        v.iter().map(|&x| half::f16::from_f32(x).to_f32()).collect()
    }

    /// The exact top k of the live rows as stored, by brute force.
    fn brute(live: &[(u64, Vec<f32>)], q: &[f32], k: usize) -> Vec<(u64, f32)> {
        let mut all: Vec<(u64, f32)> = live
            .iter()
            .map(|(id, v)| (*id, lore_core::embed::dot(q, &stored(v))))
            .collect();
        all.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        all.truncate(k);
        all
    }

    #[test]
    fn segments_minus_deleted_search_exactly_by_pages_and_resident() {
        let dir = tempfile::tempdir().unwrap();
        let all = rows(20_000, 48, 3);
        // An old segment, a newer one, and deleted ids in both.
        write(dir.path(), "s1.seg", &all[..17_000]);
        write(dir.path(), "s2.seg", &all[17_000..]);
        let deleted: Vec<u64> = (0..20_000).filter(|i| i % 7 == 0).collect();
        write_deleted(&dir.path().join("t1.del"), &deleted).unwrap();
        let names = ["s1.seg".to_owned(), "s2.seg".to_owned()];
        let set = VectorSet::open(dir.path(), &names, Some("t1.del")).unwrap();
        let live: Vec<(u64, Vec<f32>)> =
            all.iter().filter(|(id, _)| id % 7 != 0).cloned().collect();
        assert_eq!(set.len(), live.len());
        assert_eq!((set.model_id(), set.dims()), ("m", 48));
        assert!(set.get(14).unwrap().is_none() && !set.contains(14));
        let row = set.get(18_001).unwrap().unwrap();
        assert_eq!(row, stored(&all[18_001].1));
        let error = row.iter().zip(&all[18_001].1).map(|(a, b)| (a - b).abs());
        assert!(
            error.fold(0.0, f32::max) < 5e-4,
            "half precision keeps a unit vector"
        );
        let queries = rows(10, 48, 99);
        for (_, q) in &queries {
            assert_eq!(set.search(q, 25).unwrap(), brute(&live, q, 25));
        }
        let before = set.resident_bytes();
        set.make_resident().unwrap();
        assert!(set.resident_bytes() >= before + 20_000 * 48);
        for (_, q) in &queries {
            assert_eq!(set.search(q, 25).unwrap(), brute(&live, q, 25));
        }
        // One merged segment answers the same, without the deleted rows.
        let merged = merge(&set, &dir.path().join("s3.seg")).unwrap();
        assert_eq!(Segment::open(&merged).unwrap().len(), live.len());
        let set = VectorSet::open(dir.path(), &["s3.seg".to_owned()], None).unwrap();
        for (_, q) in &queries {
            assert_eq!(set.search(q, 10).unwrap(), brute(&live, q, 10));
        }
        assert!(set.verify().is_empty());
        assert!(set.search(&queries[0].1, 0).unwrap().is_empty());
        assert!(set.search(&[1.0], 3).unwrap().is_empty(), "wrong dims");
    }

    #[test]
    fn damage_is_named_and_the_writer_refuses_bad_rows() {
        let dir = tempfile::tempdir().unwrap();
        let all = rows(3000, 16, 5);
        write(dir.path(), "s1.seg", &all);
        let path = dir.path().join("s1.seg");
        let good = std::fs::read(&path).unwrap();
        // Truncated: refused on open, naming the file.
        std::fs::write(&path, &good[..good.len() - 5]).unwrap();
        let err = Segment::open(&path).unwrap_err().to_string();
        assert!(err.contains("s1.seg") && err.contains("corrupt"), "{err}");
        // A changed vector byte: opens (only the footer, header and ids
        // are read), the full check finds it.
        let mut bad = good.clone();
        bad[200] ^= 0x40;
        std::fs::write(&path, &bad).unwrap();
        let segment = Segment::open(&path).unwrap();
        let err = segment.verify().unwrap_err().to_string();
        assert!(err.contains("checksum mismatch"), "{err}");
        // A non-number in a vector, under a checksum that matches.
        let mut nan = good.clone();
        nan[64..68].copy_from_slice(&f32::NAN.to_le_bytes());
        let body = nan.len() - 12;
        let crc = crc32fast::hash(&nan[..body]);
        nan[body..body + 4].copy_from_slice(&crc.to_le_bytes());
        std::fs::write(&path, &nan).unwrap();
        let err = Segment::open(&path)
            .unwrap()
            .verify()
            .unwrap_err()
            .to_string();
        assert!(err.contains("not a number"), "{err}");
        // Deleted-id files are checked whole on read.
        let del = dir.path().join("t.del");
        write_deleted(&del, &[1, 5, 9]).unwrap();
        assert_eq!(read_deleted(&del).unwrap(), [1, 5, 9]);
        let mut bytes = std::fs::read(&del).unwrap();
        bytes[17] ^= 1;
        std::fs::write(&del, &bytes).unwrap();
        let err = read_deleted(&del).unwrap_err().to_string();
        assert!(err.contains("t.del") && err.contains("checksum"), "{err}");
        // Rows out of order or of the wrong length.
        let mut w = SegmentWriter::create(&dir.path().join("s2.seg"), "m", 2).unwrap();
        w.push(5, &[1.0, 0.0]).unwrap();
        assert!(w.push(5, &[1.0, 0.0]).is_err());
        assert!(
            w.push(6, &[1.0])
                .unwrap_err()
                .to_string()
                .contains("chunk 6")
        );
        // Segments of two models do not make one set.
        write(dir.path(), "s3.seg", &all[..10]);
        let mut w = SegmentWriter::create(&dir.path().join("s4.seg"), "other", 16).unwrap();
        w.push(10_000, &all[0].1).unwrap();
        w.finish().unwrap();
        let err = VectorSet::open(dir.path(), &["s3.seg".into(), "s4.seg".into()], None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("another model"), "{err}");
    }
}
