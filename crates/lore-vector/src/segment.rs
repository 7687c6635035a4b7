//! Vector segments: immutable files of (chunk id, unit vector) rows with
//! their 8-bit codes, read by pages.
//!
//! A segment holds the vectors one index run added. Its layout puts the
//! parts a search reads in order of use, each contiguous:
//!
//! ```text
//! "LORESEG1" | model id length (u32) | model id | dims (u32) | padding to 8
//! vectors    n × dims f16     (rescoring: read only for a short list)
//! codes      n × dims i8      (the scan)
//! scales     n f32            (one per row of codes)
//! ids        n u64, ascending
//! footer     vectors, codes, scales, ids offsets (u64 each) | n (u64) |
//!            dims (u32) | CRC-32 of everything before it (u32) | "LORESEG1"
//! ```
//!
//! The rows are kept in half precision: a unit vector's components lose
//! under 5e-4 each, far below what separates search results, and the file
//! shrinks by two fifths (the store is sized against the source it
//! indexes). Rescoring is exact on the stored rows.
//!
//! Opening reads the footer, the header and the ids (8 bytes a row);
//! nothing else is read until a search asks for it, and then by pages
//! (`pread`), so a one-shot search's memory does not grow with the file:
//! the scan goes through the codes a block at a time and only the short
//! list's full vectors are read. A process serving many searches keeps
//! the codes in memory instead ([`Segment::resident_bytes`]). The CRC is
//! computed when the file is written and checked by [`Segment::verify`]
//! (a full read), not on open.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use lore_core::embed::{dot, dot_i8, quantize};
use rayon::prelude::*;

use crate::{Error, Result};

const MAGIC: &[u8; 8] = b"LORESEG1";
const FOOTER: u64 = 4 * 8 + 8 + 4 + 4 + 8;

/// Rows scanned per block (a block's codes are read in one call).
const SCAN_ROWS: usize = 8192;

/// One immutable vector segment, open for reading.
#[derive(Debug)]
pub struct Segment {
    path: PathBuf,
    file: File,
    model_id: String,
    dims: usize,
    /// Ascending.
    ids: Vec<u64>,
    vectors_at: u64,
    codes_at: u64,
    scales_at: u64,
    ids_at: u64,
    /// Codes and scales in memory, for processes answering many queries.
    resident: OnceLock<Resident>,
    /// The half-precision rows in memory too (rescoring without reads).
    rows: OnceLock<Vec<u16>>,
}

#[derive(Debug)]
struct Resident {
    codes: Vec<i8>,
    scales: Vec<f32>,
}

/// A row the code scan kept: its segment, its row, its approximate score.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Candidate {
    pub segment: usize,
    pub row: usize,
    pub score: f32,
}

pub(crate) fn read_at(file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        std::os::unix::fs::FileExt::read_exact_at(file, buf, offset)
    }
    #[cfg(windows)]
    {
        let (mut buf, mut offset) = (buf, offset);
        while !buf.is_empty() {
            match std::os::windows::fs::FileExt::seek_read(file, buf, offset) {
                Ok(0) => return Err(std::io::ErrorKind::UnexpectedEof.into()),
                Ok(n) => {
                    buf = &mut buf[n..];
                    offset += n as u64;
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

/// Half-precision file words (little-endian) to f32.
fn from_f16s(words: &[u16], out: &mut Vec<f32>) {
    out.extend(
        words
            .iter()
            .map(|&w| half::f16::from_bits(u16::from_le(w)).to_f32()),
    );
}

/// Little-endian file words to native ones (nothing to do on the usual
/// little-endian machine).
fn from_le_u64(xs: &mut [u64]) {
    if cfg!(target_endian = "big") {
        xs.iter_mut().for_each(|x| *x = u64::from_le(*x));
    }
}

fn from_le_f32(xs: &mut [f32]) {
    if cfg!(target_endian = "big") {
        xs.iter_mut()
            .for_each(|x| *x = f32::from_bits(u32::from_le(x.to_bits())));
    }
}

impl Segment {
    /// Opens a segment file: reads its footer, header and ids.
    pub fn open(path: &Path) -> Result<Segment> {
        let io = |source| Error::Io {
            path: path.to_owned(),
            source,
        };
        let corrupt = |what| Error::Corrupt {
            path: path.to_owned(),
            what,
        };
        let file = File::open(path).map_err(io)?;
        let size = file.metadata().map_err(io)?.len();
        if size < 8 + 4 + 4 + FOOTER {
            return Err(corrupt("truncated"));
        }
        let read = |buf: &mut [u8], at: u64, what| {
            read_at(&file, buf, at).map_err(|e| match e.kind() {
                std::io::ErrorKind::UnexpectedEof => corrupt(what),
                _ => io(e),
            })
        };
        let mut footer = [0u8; FOOTER as usize];
        read(&mut footer, size - FOOTER, "footer")?;
        let u64_at = |i: usize| u64::from_le_bytes(footer[i * 8..][..8].try_into().unwrap());
        let (vectors_at, codes_at, scales_at, ids_at, n) =
            (u64_at(0), u64_at(1), u64_at(2), u64_at(3), u64_at(4));
        let dims = u32::from_le_bytes(footer[40..44].try_into().unwrap()) as usize;
        if &footer[48..] != MAGIC {
            return Err(corrupt("not a vector segment"));
        }
        let mut head = [0u8; 12];
        read(&mut head, 0, "header")?;
        if &head[..8] != MAGIC {
            return Err(corrupt("not a vector segment"));
        }
        let len = u32::from_le_bytes(head[8..12].try_into().unwrap()) as u64;
        if len > 4096 || 12 + len + 4 > size {
            return Err(corrupt("header"));
        }
        let mut model = vec![0u8; len as usize];
        read(&mut model, 12, "header")?;
        let model_id = String::from_utf8(model).map_err(|_| corrupt("model id"))?;
        let mut header_dims = [0u8; 4];
        read(&mut header_dims, 12 + len, "header")?;
        if u32::from_le_bytes(header_dims) as usize != dims || dims == 0 {
            return Err(corrupt("dimensions"));
        }
        let rows = n
            .checked_mul(dims as u64)
            .ok_or_else(|| corrupt("footer"))?;
        let consistent = vectors_at == (12 + len + 4).next_multiple_of(8)
            && codes_at == vectors_at + rows * 2
            && scales_at == codes_at + rows
            && ids_at == scales_at + n * 4
            && size == ids_at + n * 8 + FOOTER;
        if !consistent {
            return Err(corrupt("size does not match the footer"));
        }
        let mut ids = vec![0u64; n as usize];
        read(bytemuck::cast_slice_mut(&mut ids), ids_at, "ids")?;
        from_le_u64(&mut ids);
        if ids.windows(2).any(|w| w[0] >= w[1]) {
            return Err(corrupt("ids out of order"));
        }
        Ok(Segment {
            path: path.to_owned(),
            file,
            model_id,
            dims,
            ids,
            vectors_at,
            codes_at,
            scales_at,
            ids_at,
            resident: OnceLock::new(),
            rows: OnceLock::new(),
        })
    }

    /// The model that produced the vectors.
    pub fn model_id(&self) -> &str {
        &self.model_id
    }

    /// Vector length.
    pub fn dims(&self) -> usize {
        self.dims
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// True if the segment has no rows.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// The ids, ascending.
    pub fn ids(&self) -> &[u64] {
        &self.ids
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn io(&self) -> impl Fn(std::io::Error) -> Error + '_ {
        |source| Error::Io {
            path: self.path.clone(),
            source,
        }
    }

    /// The row of `id`, if present.
    pub fn row_of(&self, id: u64) -> Option<usize> {
        self.ids.binary_search(&id).ok()
    }

    /// The full vector of `row`.
    pub fn vector(&self, row: usize) -> Result<Vec<f32>> {
        self.vectors(row, 1)
    }

    /// Full vectors of rows `start..start + n`, row-major.
    pub fn vectors(&self, start: usize, n: usize) -> Result<Vec<f32>> {
        if let Some(rows) = self.rows.get() {
            let mut v = Vec::with_capacity(n * self.dims);
            from_f16s(&rows[start * self.dims..(start + n) * self.dims], &mut v);
            return Ok(v);
        }
        let mut words = vec![0u16; n * self.dims];
        let at = self.vectors_at + (start * self.dims * 2) as u64;
        read_at(&self.file, bytemuck::cast_slice_mut(&mut words), at).map_err(self.io())?;
        let mut v = Vec::with_capacity(words.len());
        from_f16s(&words, &mut v);
        Ok(v)
    }

    /// Keeps the codes and scales in memory from now on (a process that
    /// searches many times: no read per search).
    pub fn make_resident(&self) -> Result<()> {
        if self.resident.get().is_some() {
            return Ok(());
        }
        let (codes, scales) = self.read_codes(0, self.len())?;
        let _ = self.resident.set(Resident { codes, scales });
        Ok(())
    }

    /// Keeps the half-precision rows in memory as well (rescoring and
    /// lookups by id without a read each): two bytes a dimension.
    pub fn make_rows_resident(&self) -> Result<()> {
        if self.rows.get().is_some() {
            return Ok(());
        }
        let mut words = vec![0u16; self.len() * self.dims];
        read_at(
            &self.file,
            bytemuck::cast_slice_mut(&mut words),
            self.vectors_at,
        )
        .map_err(self.io())?;
        let _ = self.rows.set(words);
        Ok(())
    }

    /// Bytes this segment holds in memory: the ids, and the codes and
    /// scales (and rows) once resident.
    pub fn resident_bytes(&self) -> u64 {
        let rows = self.rows.get().map_or(0, |r| r.len() * 2) as u64;
        let codes = self
            .resident
            .get()
            .map_or(0, |r| r.codes.len() + r.scales.len() * 4);
        (self.ids.len() * 8 + codes) as u64 + rows
    }

    fn read_codes(&self, start: usize, n: usize) -> Result<(Vec<i8>, Vec<f32>)> {
        let (mut codes, mut scales) = (Vec::new(), Vec::new());
        self.read_codes_into(start, n, &mut codes, &mut scales)?;
        Ok((codes, scales))
    }

    /// Reads the codes and scales of rows `start..start + n` into buffers
    /// reused from block to block (a fresh megabyte per block was paid in
    /// page faults).
    fn read_codes_into(
        &self,
        start: usize,
        n: usize,
        codes: &mut Vec<i8>,
        scales: &mut Vec<f32>,
    ) -> Result<()> {
        codes.resize(n * self.dims, 0);
        read_at(
            &self.file,
            bytemuck::cast_slice_mut(codes.as_mut_slice()),
            self.codes_at + (start * self.dims) as u64,
        )
        .map_err(self.io())?;
        scales.resize(n, 0.0);
        read_at(
            &self.file,
            bytemuck::cast_slice_mut(scales.as_mut_slice()),
            self.scales_at + (start * 4) as u64,
        )
        .map_err(self.io())?;
        from_le_f32(scales);
        Ok(())
    }

    /// Scores every live row's codes against the query's and keeps the
    /// best `shortlist` (in no particular order). `live(id)` rejects
    /// deleted rows.
    pub(crate) fn scan(
        &self,
        segment: usize,
        query_codes: &[i8],
        query_scale: f32,
        shortlist: usize,
        live: &(dyn Fn(u64) -> bool + Sync),
    ) -> Result<Vec<Candidate>> {
        let dims = self.dims;
        let score_block = |start: usize, codes: &[i8], scales: &[f32], out: &mut Vec<Candidate>| {
            let mut floor = f32::NEG_INFINITY;
            for (i, c) in codes.chunks_exact(dims).enumerate() {
                let score = dot_i8(query_codes, c) as f32 * scales[i] * query_scale;
                if score < floor || !live(self.ids[start + i]) {
                    continue;
                }
                out.push(Candidate {
                    segment,
                    row: start + i,
                    score,
                });
                if out.len() == 2 * shortlist {
                    keep_best(out, shortlist);
                    floor = out.iter().fold(f32::INFINITY, |m, c| m.min(c.score));
                }
            }
        };
        if let Some(r) = self.resident.get() {
            // One thread: a resident process answers many queries at once,
            // and splitting a short scan costs more in wake-ups than it saves.
            let mut out = Vec::with_capacity(2 * shortlist);
            score_block(0, &r.codes, &r.scales, &mut out);
            keep_best(&mut out, shortlist);
            return Ok(out);
        }
        let blocks: Vec<usize> = (0..self.len()).step_by(SCAN_ROWS).collect();
        let mut out = blocks
            .par_iter()
            .map_init(
                || (Vec::new(), Vec::new()),
                |(codes, scales), &start| -> Result<Vec<Candidate>> {
                    let n = SCAN_ROWS.min(self.len() - start);
                    self.read_codes_into(start, n, codes, scales)?;
                    let mut out = Vec::with_capacity(2 * shortlist);
                    score_block(start, codes, scales, &mut out);
                    keep_best(&mut out, shortlist);
                    Ok(out)
                },
            )
            .try_reduce(Vec::new, |mut a, b| {
                a.extend(b);
                keep_best(&mut a, shortlist);
                Ok(a)
            })?;
        keep_best(&mut out, shortlist);
        Ok(out)
    }

    /// Reads the whole file against its CRC and its vectors for values
    /// that are not numbers. Returns the problem, naming the file.
    pub fn verify(&self) -> Result<()> {
        let corrupt = |what| Error::Corrupt {
            path: self.path.clone(),
            what,
        };
        let size = self.ids_at + self.ids.len() as u64 * 8 + FOOTER;
        let mut crc = crc32fast::Hasher::new();
        let mut buf = vec![0u8; 1 << 20];
        let mut at = 0u64;
        // Reported after the checksum, which names damage first.
        let mut not_numbers = false;
        let body = size - 12;
        while at < body {
            let n = (body - at).min(buf.len() as u64) as usize;
            read_at(&self.file, &mut buf[..n], at).map_err(self.io())?;
            // The part of this block inside the vectors: whole f16s, since
            // blocks and the vectors both start on multiples of 8.
            let from = self.vectors_at.max(at);
            let to = self.codes_at.min(at + n as u64);
            if from < to {
                let words = &buf[(from - at) as usize..(to - at) as usize];
                not_numbers |= words
                    .chunks_exact(2)
                    .any(|w| !half::f16::from_le_bytes(w.try_into().unwrap()).is_finite());
            }
            crc.update(&buf[..n]);
            at += n as u64;
        }
        let mut stored = [0u8; 4];
        read_at(&self.file, &mut stored, body).map_err(self.io())?;
        if u32::from_le_bytes(stored) != crc.finalize() {
            return Err(corrupt("checksum mismatch: the file is damaged"));
        }
        if not_numbers {
            return Err(corrupt("a vector holds a value that is not a number"));
        }
        Ok(())
    }
}

/// Exact scores of the short list, best first, ties by id.
pub(crate) fn rescore(
    segments: &[Segment],
    candidates: &[Candidate],
    query: &[f32],
) -> Result<Vec<(u64, f32)>> {
    let mut sorted = candidates.to_vec();
    sorted.sort_unstable_by_key(|c| (c.segment, c.row));
    sorted
        .iter()
        .map(|c| {
            let segment = &segments[c.segment];
            let v = segment.vector(c.row)?;
            Ok((segment.ids[c.row], dot(query, &v)))
        })
        .collect()
}

fn keep_best(items: &mut Vec<Candidate>, k: usize) {
    if items.len() > k && k > 0 {
        items.select_nth_unstable_by(k - 1, |a, b| b.score.total_cmp(&a.score));
        items.truncate(k);
    }
}

/// Writes a segment: rows in ascending id order, streamed to a temporary
/// file; [`finish`](Self::finish) fsyncs it and renames it into place.
pub struct SegmentWriter {
    path: PathBuf,
    tmp: PathBuf,
    out: BufWriter<File>,
    crc: crc32fast::Hasher,
    written: u64,
    dims: usize,
    vectors_at: u64,
    codes: Vec<i8>,
    scales: Vec<f32>,
    ids: Vec<u64>,
}

impl SegmentWriter {
    /// Starts a segment at `path` (written to `path` with `.tmp` until
    /// [`finish`](Self::finish)).
    pub fn create(path: &Path, model_id: &str, dims: usize) -> Result<SegmentWriter> {
        let tmp = path.with_extension("tmp");
        let file = File::create(&tmp).map_err(|source| Error::Io {
            path: tmp.clone(),
            source,
        })?;
        let mut writer = SegmentWriter {
            path: path.to_owned(),
            tmp,
            out: BufWriter::with_capacity(1 << 20, file),
            crc: crc32fast::Hasher::new(),
            written: 0,
            dims,
            vectors_at: 0,
            codes: Vec::new(),
            scales: Vec::new(),
            ids: Vec::new(),
        };
        writer.put(MAGIC)?;
        writer.put(&(model_id.len() as u32).to_le_bytes())?;
        writer.put(model_id.as_bytes())?;
        writer.put(&(dims as u32).to_le_bytes())?;
        let pad = writer.written.next_multiple_of(8) - writer.written;
        writer.put(&[0u8; 8][..pad as usize])?;
        writer.vectors_at = writer.written;
        Ok(writer)
    }

    fn put(&mut self, bytes: &[u8]) -> Result<()> {
        self.out.write_all(bytes).map_err(|source| Error::Io {
            path: self.tmp.clone(),
            source,
        })?;
        self.crc.update(bytes);
        self.written += bytes.len() as u64;
        Ok(())
    }

    /// Rows so far.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// True before the first row.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Appends a row; ids must ascend.
    pub fn push(&mut self, id: u64, vector: &[f32]) -> Result<()> {
        if vector.len() != self.dims {
            return Err(Error::Dimensions {
                id,
                found: vector.len(),
                expected: self.dims,
            });
        }
        if self.ids.last().is_some_and(|&last| last >= id) {
            return Err(Error::Corrupt {
                path: self.path.clone(),
                what: "rows written out of id order",
            });
        }
        if let Some(x) = vector.iter().find(|x| !x.is_finite() || x.abs() > 65_504.0) {
            return Err(Error::Corrupt {
                path: self.path.clone(),
                what: if x.is_finite() {
                    "a vector component beyond half precision"
                } else {
                    "a vector holds a value that is not a number"
                },
            });
        }
        let mut row = [0u8; 2 * 1024];
        for part in vector.chunks(1024) {
            for (out, x) in row.chunks_exact_mut(2).zip(part) {
                out.copy_from_slice(&half::f16::from_f32(*x).to_le_bytes());
            }
            self.put(&row[..part.len() * 2])?;
        }
        let at = self.codes.len();
        self.codes.resize(at + self.dims, 0);
        self.scales.push(quantize(vector, &mut self.codes[at..]));
        self.ids.push(id);
        Ok(())
    }

    /// Writes the codes, scales, ids and footer, fsyncs and renames the
    /// file into place. Returns its path.
    pub fn finish(mut self) -> Result<PathBuf> {
        let codes_at = self.written;
        let codes = std::mem::take(&mut self.codes);
        self.put(bytemuck::cast_slice(&codes))?;
        let scales_at = self.written;
        let scales = std::mem::take(&mut self.scales);
        for s in &scales {
            self.put(&s.to_le_bytes())?;
        }
        let ids_at = self.written;
        let ids = std::mem::take(&mut self.ids);
        for id in &ids {
            self.put(&id.to_le_bytes())?;
        }
        for x in [
            self.vectors_at,
            codes_at,
            scales_at,
            ids_at,
            ids.len() as u64,
        ] {
            self.put(&x.to_le_bytes())?;
        }
        self.put(&(self.dims as u32).to_le_bytes())?;
        let crc = self.crc.clone().finalize();
        let io = |source| Error::Io {
            path: self.tmp.clone(),
            source,
        };
        self.out.write_all(&crc.to_le_bytes()).map_err(io)?;
        self.out.write_all(MAGIC).map_err(io)?;
        let file = self.out.into_inner().map_err(|e| io(e.into_error()))?;
        file.sync_all().map_err(io)?;
        std::fs::rename(&self.tmp, &self.path).map_err(io)?;
        Ok(self.path)
    }
}
