//! Compact encoding of the occurrences of one name in one file.
//!
//! References are stored one row per (file, name), not one per use: a
//! repository has millions of uses but five times fewer distinct pairs,
//! and rows dominate both the write cost and the size of the index. The
//! row's blob holds the occurrences sorted by line, each as three unsigned
//! LEB128 varints: line delta from the previous occurrence, kind code, and
//! enclosing symbol id + 1 (0 for none).

/// One decoded occurrence.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Occurrence {
    pub line: u32,
    pub kind: u8,
    pub enclosing: Option<i64>,
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn get_varint(bytes: &[u8], pos: &mut usize) -> Option<u64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let b = *bytes.get(*pos)?;
        *pos += 1;
        v |= u64::from(b & 0x7f) << shift;
        if b < 0x80 {
            return Some(v);
        }
    }
    None
}

/// Encodes occurrences; they must be sorted by line.
pub(crate) fn encode(occurrences: &[Occurrence], out: &mut Vec<u8>) {
    out.clear();
    let mut last = 0u32;
    for o in occurrences {
        debug_assert!(o.line >= last, "occurrences must be sorted by line");
        put_varint(out, u64::from(o.line - last));
        put_varint(out, u64::from(o.kind));
        put_varint(out, o.enclosing.map_or(0, |id| id as u64 + 1));
        last = o.line;
    }
}

/// Decodes a blob written by [`encode`]; `None` if it is malformed.
pub(crate) fn decode(bytes: &[u8]) -> Option<Vec<Occurrence>> {
    let mut out = Vec::new();
    let mut pos = 0;
    let mut line = 0u32;
    while pos < bytes.len() {
        line = line.checked_add(u32::try_from(get_varint(bytes, &mut pos)?).ok()?)?;
        let kind = u8::try_from(get_varint(bytes, &mut pos)?).ok()?;
        let enclosing = match get_varint(bytes, &mut pos)? {
            0 => None,
            n => Some(i64::try_from(n - 1).ok()?),
        };
        out.push(Occurrence {
            line,
            kind,
            enclosing,
        });
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let occurrences = vec![
            Occurrence {
                line: 1,
                kind: 0,
                enclosing: None,
            },
            Occurrence {
                line: 1,
                kind: 1,
                enclosing: Some(0),
            },
            Occurrence {
                line: 300,
                kind: 2,
                enclosing: Some(1 << 40),
            },
        ];
        let mut blob = Vec::new();
        encode(&occurrences, &mut blob);
        // 1-byte fields except the large enclosing id and line delta 299.
        assert_eq!(blob.len(), 3 + 3 + (2 + 1 + 6));
        assert_eq!(decode(&blob), Some(occurrences));
    }

    #[test]
    fn malformed_is_none() {
        assert_eq!(decode(&[0x80]), None);
        assert_eq!(decode(&[1, 0]), None);
        assert_eq!(decode(&[]), Some(vec![]));
    }
}
