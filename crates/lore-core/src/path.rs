//! Repository paths as text, losslessly.
//!
//! Stores, JSON and URLs carry a file's path relative to the repository
//! root as a `/`-separated string. File names are bytes, not necessarily
//! UTF-8: `bad\xffn.py` and `bad\xfen.py` are two files, which a lossy
//! conversion made one. The encoding here keeps them apart and comes back
//! to the same bytes: valid UTF-8 passes through, a backslash becomes
//! `\\`, and a byte that is not part of valid UTF-8 becomes `\xNN`. Paths
//! without backslashes or invalid bytes — nearly all — are unchanged.

use std::path::{Path, PathBuf};

/// `bytes` as a lossless string (see the module docs).
pub fn encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            if c == '\\' {
                out.push_str("\\\\");
            } else {
                out.push(c);
            }
        }
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out
}

/// The bytes [`encode`] made `text` from. Text that is not an encoding
/// (a lone `\`) is taken as it is.
pub fn decode(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' {
            if bytes.get(i + 1) == Some(&b'\\') {
                out.push(b'\\');
                i += 2;
                continue;
            }
            if bytes.get(i + 1) == Some(&b'x')
                && let Some(hex) = text.get(i + 2..i + 4)
                && let Ok(b) = u8::from_str_radix(hex, 16)
            {
                out.push(b);
                i += 4;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    out
}

/// A path (relative, `/`-separated) as stored: each component encoded.
pub fn from_path(path: &Path) -> String {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        let parts: Vec<String> = path
            .components()
            .map(|c| encode(c.as_os_str().as_bytes()))
            .collect();
        parts.join("/")
    }
    #[cfg(not(unix))]
    {
        path.to_string_lossy().replace('\\', "/")
    }
}

/// The file a stored path names under `root`.
pub fn under(root: &Path, stored: &str) -> PathBuf {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        let bytes = decode(stored);
        root.join(std::ffi::OsStr::from_bytes(&bytes))
    }
    #[cfg(not(unix))]
    {
        root.join(stored)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_round_trip_and_stay_apart() {
        let names: [&[u8]; 5] = [
            b"src/a.py",
            b"bad\xffn.py",
            b"bad\xfen.py",
            b"we\\ird\\x41",
            "é/ü.rs".as_bytes(),
        ];
        let encoded: Vec<String> = names.iter().map(|n| encode(n)).collect();
        assert_eq!(encoded[0], "src/a.py");
        assert_eq!(encoded[1], "bad\\xffn.py");
        assert_ne!(encoded[1], encoded[2]);
        assert_eq!(encoded[3], "we\\\\ird\\\\x41");
        assert_eq!(encoded[4], "é/ü.rs");
        for (name, text) in names.iter().zip(&encoded) {
            assert_eq!(&decode(text), name, "{text}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn stored_paths_name_the_files_they_came_from() {
        use std::os::unix::ffi::OsStrExt;
        let rel = Path::new(std::ffi::OsStr::from_bytes(b"dir/bad\xffn.py"));
        let stored = from_path(rel);
        assert_eq!(stored, "dir/bad\\xffn.py");
        assert_eq!(under(Path::new("/r"), &stored), Path::new("/r").join(rel));
    }
}
