//! `GET /files/{repo}/{path}`: a file of the repository for the code
//! viewer, highlighted. Only files the index holds are served: never paths
//! outside the repository (`..`, absolute, symlinks leaving it), never
//! files the index skipped (secrets among them), never ignored files.

use lore_core::Language;
use lore_index::{FileStatus, RepoIndex};
use serde::{Deserialize, Serialize};

use crate::error::{ApiError, ApiResult};
use crate::security::relative_path;

/// Query of the file endpoint.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
pub struct FileQuery {
    /// Only these lines, `a-b` (1-based, inclusive) or `a`.
    pub lines: Option<String>,
}

/// A highlighted span of a line: `[start, end, class]` in characters
/// (Unicode scalar values) of the line.
pub type Span = (usize, usize, &'static str);

/// One line of a file.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Line {
    /// Line number (1-based).
    pub n: u32,
    /// The text, without the newline.
    pub text: String,
    /// Highlighted spans: `[start, end, class]`, characters of the line;
    /// classes are `comment`, `string`, `number`, `keyword`, `type`, `def`.
    #[schema(value_type = Vec<Vec<Object>>)]
    pub spans: Vec<Span>,
}

/// A file, or some of its lines.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FileView {
    /// Repository id.
    pub repo: String,
    /// Path relative to the root.
    pub path: String,
    /// Language.
    pub lang: String,
    /// The commit the index was built at.
    pub commit: Option<String>,
    /// True if the file changed since it was indexed (citations may be off).
    pub stale: bool,
    /// Lines in the file.
    pub total_lines: u32,
    /// The lines returned.
    pub lines: Vec<Line>,
}

fn parse_lines(spec: &str) -> ApiResult<(u32, u32)> {
    let bad = || {
        ApiError::BadRequest(format!(
            "lines={spec:?}: give `a-b` or `a` with 1 <= a <= b"
        ))
    };
    let (a, b) = match spec.split_once('-') {
        Some((a, b)) => (
            a.trim().parse().map_err(|_| bad())?,
            b.trim().parse().map_err(|_| bad())?,
        ),
        None => {
            let a = spec.trim().parse().map_err(|_| bad())?;
            (a, a)
        }
    };
    if a == 0 || b < a {
        return Err(bad());
    }
    Ok((a, b))
}

/// Largest file the viewer reads (indexed files are at most 1 MiB; one
/// that grew since is still shown up to this size).
const MAX_SERVED_BYTES: u64 = 16 << 20;

/// Reads `path` of `index`'s repository for the viewer.
pub fn view(index: &RepoIndex, repo: &str, path: &str, query: &FileQuery) -> ApiResult<FileView> {
    let path = relative_path(path)?;
    let range = query.lines.as_deref().map(parse_lines).transpose()?;
    let hash = match index.file_status(path)? {
        FileStatus::Indexed { hash } => hash,
        FileStatus::Skipped(s) if s.reason == "secret" => {
            return Err(ApiError::Forbidden(format!(
                "{path}: skipped by the index as a secret ({}); it is never served",
                s.detail
            )));
        }
        FileStatus::Skipped(s) => {
            return Err(ApiError::NotFound(format!(
                "{path}: skipped by the index ({}: {})",
                s.reason, s.detail
            )));
        }
        FileStatus::Unknown => {
            return Err(ApiError::NotFound(format!(
                "{path}: not a file of the index of {repo}"
            )));
        }
    };
    // The indexed path may since have become a symlink that leaves the
    // repository.
    let root = index.root();
    let full = lore_core::path::under(root, path);
    let real = full
        .canonicalize()
        .map_err(|e| ApiError::NotFound(format!("{path}: {e}")))?;
    if !real.starts_with(root) {
        return Err(ApiError::Forbidden(format!(
            "{path}: resolves outside the repository; refused"
        )));
    }
    // A path that has since become a link to another file of the
    // repository is served only if that file would be (not `.env`, not an
    // ignored or skipped file).
    if real != full {
        let target = lore_core::path::from_path(real.strip_prefix(root).unwrap_or(&real));
        if !matches!(index.file_status(&target)?, FileStatus::Indexed { .. }) {
            return Err(ApiError::Forbidden(format!(
                "{path}: resolves to {target}, which the index does not serve; refused"
            )));
        }
    }
    // Only regular files: a FIFO or device would block the reader.
    let meta = std::fs::metadata(&real).map_err(|e| ApiError::NotFound(format!("{path}: {e}")))?;
    if !meta.is_file() {
        return Err(ApiError::Forbidden(format!(
            "{path}: not a regular file; refused"
        )));
    }
    if meta.len() > MAX_SERVED_BYTES {
        return Err(ApiError::BadRequest(format!(
            "{path}: {} bytes, more than the {MAX_SERVED_BYTES} the viewer serves",
            meta.len()
        )));
    }
    let bytes = std::fs::read(&real).map_err(|e| ApiError::NotFound(format!("{path}: {e}")))?;
    let stale = blake3::hash(&bytes).to_hex().as_str() != hash;
    let text = String::from_utf8_lossy(&bytes);
    let lang = Language::from_path(std::path::Path::new(path));
    let highlights = lore_syntax::highlight(&text, lang);
    let total_lines = text.lines().count() as u32;
    let (first, last) = range.unwrap_or((1, total_lines.max(1)));
    if first > total_lines.max(1) {
        return Err(ApiError::BadRequest(format!(
            "lines={first}-{last}: outside {path}, which has {total_lines} lines"
        )));
    }
    let mut lines = Vec::new();
    let mut spans = highlights.iter().peekable();
    let mut offset = 0usize;
    for (i, line) in text.split_inclusive('\n').enumerate() {
        let n = i as u32 + 1;
        let start = offset;
        offset += line.len();
        if n > last {
            break;
        }
        let body = line.strip_suffix('\n').unwrap_or(line);
        let body = body.strip_suffix('\r').unwrap_or(body);
        let end = start + body.len();
        // Skip spans that end before this line.
        while spans.peek().is_some_and(|h| h.end <= start) {
            spans.next();
        }
        if n < first {
            continue;
        }
        let mut line_spans = Vec::new();
        for h in spans.clone() {
            if h.start >= end {
                break;
            }
            let a = h.start.max(start) - start;
            let b = h.end.min(end) - start;
            if a < b {
                line_spans.push((
                    body[..a].chars().count(),
                    body[..b].chars().count(),
                    h.class.name(),
                ));
            }
        }
        lines.push(Line {
            n,
            text: body.to_owned(),
            spans: line_spans,
        });
    }
    Ok(FileView {
        repo: repo.to_owned(),
        path: path.to_owned(),
        lang: lang.name().to_owned(),
        commit: index.indexed_commit().map(str::to_owned),
        stale,
        total_lines,
        lines,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_ranges() {
        assert_eq!(parse_lines("3-9").unwrap(), (3, 9));
        assert_eq!(parse_lines("4").unwrap(), (4, 4));
        for bad in ["0-2", "5-2", "a-b", "", "-3"] {
            assert!(parse_lines(bad).is_err(), "{bad}");
        }
    }
}
