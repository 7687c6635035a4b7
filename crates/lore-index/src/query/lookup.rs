//! Lookups by name and place: definitions (exact, prefix, fuzzy), references,
//! call sites, outlines.

use std::collections::BTreeMap;

use super::*;

impl RepoIndex {
    /// Calls made on lines `start..=end` of `path`: (called name, line).
    pub fn calls_in(&self, path: &str, start: u32, end: u32) -> Result<Vec<(String, u32)>> {
        Ok(self.store.calls_in(path, start, end)?)
    }

    /// Call sites and other uses of `name` (bare or qualified) and the
    /// files they are in.
    pub fn ref_counts(&self, name: &str) -> Result<lore_core::store::RefCounts> {
        Ok(self.store.ref_counts(bare_name(name))?)
    }

    /// References to `name` without their line text (cheap: no file is
    /// read), calls first, then imports, then other uses.
    pub fn ref_rows(&self, name: &str) -> Result<Vec<RefRow>> {
        let mut rows = self.store.refs(bare_name(name))?;
        rows.sort_by_key(|r| (ref_order(r.kind), r.path.clone(), r.line));
        Ok(rows)
    }

    /// Where `name` (its last segment) is defined and used, per file:
    /// (path, definitions, references), by path. An answer about the name
    /// holds while this does not change: a new call site or a removed
    /// definition changes it, an edit elsewhere in the file does not.
    pub fn name_sites(&self, name: &str) -> Result<Vec<(String, u32, u32)>> {
        let bare = bare_name(name);
        let mut sites: BTreeMap<String, (u32, u32)> = BTreeMap::new();
        for s in self.store.symbols_exact(bare, None)? {
            sites.entry(s.path).or_default().0 += 1;
        }
        for r in self.store.refs(bare)? {
            sites.entry(r.path).or_default().1 += 1;
        }
        Ok(sites.into_iter().map(|(p, (d, u))| (p, d, u)).collect())
    }

    /// The definition of `qualname` in `path` (the first, if several).
    pub fn definition(&self, path: &str, qualname: &str) -> Result<Option<SymbolHit>> {
        Ok(self
            .store
            .outline(path)?
            .into_iter()
            .find(|s| s.qualname == qualname)
            .map(|s| symbol_hit(s, "exact")))
    }

    /// Every definition of `qualname` in `path`, in line order.
    pub fn definitions_in(&self, path: &str, qualname: &str) -> Result<Vec<SymbolHit>> {
        Ok(self
            .store
            .outline(path)?
            .into_iter()
            .filter(|s| s.qualname == qualname)
            .map(|s| symbol_hit(s, "exact"))
            .collect())
    }

    /// Definitions named `name`: exact matches, else prefix matches, else
    /// fuzzy matches (small edit distance or subsequence).
    pub fn symbols(
        &self,
        name: &str,
        kind: Option<SymbolKind>,
        limit: usize,
    ) -> Result<Vec<SymbolHit>> {
        let exact = self.store.symbols_exact(name, kind)?;
        if !exact.is_empty() {
            return Ok(exact
                .into_iter()
                .take(limit)
                .map(|s| symbol_hit(s, "exact"))
                .collect());
        }
        let prefix = self.store.symbols_prefix(name, kind, limit)?;
        if !prefix.is_empty() {
            return Ok(prefix
                .into_iter()
                .map(|s| symbol_hit(s, "prefix"))
                .collect());
        }
        let mut scored: Vec<(usize, String)> = self
            .store
            .symbol_names()?
            .into_iter()
            .filter_map(|candidate| fuzzy_score(name, &candidate).map(|score| (score, candidate)))
            .collect();
        scored.sort();
        let mut out = Vec::new();
        for (_, candidate) in scored.into_iter().take(limit) {
            for row in self.store.symbols_exact(&candidate, kind)? {
                if out.len() < limit {
                    out.push(symbol_hit(row, "fuzzy"));
                }
            }
        }
        Ok(out)
    }

    /// References to `name` (a bare or qualified name; the last segment is used).
    pub fn refs(&self, name: &str) -> Result<Vec<RefHit>> {
        let rows = self.store.refs(bare_name(name))?;
        let mut lines_cache: HashMap<String, Option<Vec<String>>> = HashMap::new();
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let lines = lines_cache.entry(row.path.clone()).or_insert_with(|| {
                std::fs::read(lore_core::path::under(&self.root, &row.path))
                    .ok()
                    .map(|b| {
                        String::from_utf8_lossy(&b)
                            .lines()
                            .map(str::to_owned)
                            .collect()
                    })
            });
            let text = lines
                .as_ref()
                .and_then(|l| l.get(row.line as usize - 1))
                .map(|l| l.trim().to_owned())
                .unwrap_or_default();
            out.push(RefHit {
                path: row.path,
                line: row.line,
                kind: row.kind.name().to_owned(),
                symbol: row.enclosing,
                lang: row.lang.name().to_owned(),
                text,
            });
        }
        // Calls first, then imports, then other uses; each by location.
        let order = |k: &str| RefKind::from_name(k).map_or(2, ref_order);
        out.sort_by(|a, b| {
            (order(&a.kind), &a.path, a.line).cmp(&(order(&b.kind), &b.path, b.line))
        });
        Ok(out)
    }

    /// The symbols of one file as a tree. `path` may be relative to the root
    /// or to the current directory.
    pub fn outline(&self, path: &str) -> Result<Vec<SymbolHit>> {
        let rel = self.relative(path);
        let rows = self.store.outline(&rel)?;
        if rows.is_empty() && !self.store.paths()?.contains(&rel) {
            return Err(Error::UnknownFile(path.to_owned()));
        }
        Ok(build_tree(rows))
    }

    fn relative(&self, path: &str) -> String {
        let p = Path::new(path);
        let absolute = if p.is_absolute() {
            p.to_owned()
        } else {
            std::env::current_dir()
                .map(|d| d.join(p))
                .unwrap_or_else(|_| p.to_owned())
        };
        let absolute = absolute.canonicalize().unwrap_or(absolute);
        match absolute.strip_prefix(&self.root) {
            Ok(rel) => lore_core::path::from_path(rel),
            Err(_) => path.trim_start_matches("./").to_owned(),
        }
    }
}

/// The last segment of a qualified name: `send` for `Session.send` or
/// `http::Client::send`.
fn bare_name(name: &str) -> &str {
    let bare = name.rsplit("::").next().unwrap_or(name);
    bare.rsplit('.').next().unwrap_or(bare)
}

/// Calls first, then imports, then other uses.
fn ref_order(kind: RefKind) -> u8 {
    match kind {
        RefKind::Call => 0,
        RefKind::Import => 1,
        RefKind::Use => 2,
    }
}

fn symbol_hit(s: SymbolRow, matched: &'static str) -> SymbolHit {
    SymbolHit {
        name: s.name,
        qualname: s.qualname,
        kind: s.kind.name().to_owned(),
        path: s.path,
        start_line: s.start_line,
        end_line: s.end_line,
        signature: s.signature,
        doc: s.doc,
        lang: s.lang.name().to_owned(),
        matched,
        children: Vec::new(),
    }
}

fn build_tree(rows: Vec<SymbolRow>) -> Vec<SymbolHit> {
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let parents: Vec<Option<usize>> = rows
        .iter()
        .map(|r| r.parent_id.and_then(|p| ids.iter().position(|&id| id == p)))
        .collect();
    let mut nodes: Vec<Option<SymbolHit>> = rows
        .into_iter()
        .map(|r| Some(symbol_hit(r, "exact")))
        .collect();
    // Attach children deepest-first: later rows are nested in earlier ones.
    for i in (0..nodes.len()).rev() {
        if let Some(p) = parents[i] {
            let child = nodes[i].take().expect("each node attached once");
            nodes[p]
                .as_mut()
                .expect("parent precedes child")
                .children
                .insert(0, child);
        }
    }
    nodes.into_iter().flatten().collect()
}

/// Lower is better; `None` means no match.
fn fuzzy_score(query: &str, candidate: &str) -> Option<usize> {
    let q = query.to_lowercase();
    let c = candidate.to_lowercase();
    let distance = levenshtein(&q, &c);
    let allowed = (q.chars().count() / 4).clamp(1, 3);
    if distance <= allowed {
        return Some(distance);
    }
    // Subsequence: `snd_req` finds `send_request`.
    let mut chars = c.chars();
    if q.chars().all(|qc| chars.by_ref().any(|cc| cc == qc)) {
        return Some(10 + c.len() - q.len());
    }
    None
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        cur[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let cost = usize::from(ca != cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fuzzy_matching() {
        assert_eq!(fuzzy_score("sesion", "Session"), Some(1));
        assert!(fuzzy_score("snd_req", "send_request").is_some());
        assert_eq!(fuzzy_score("zzz", "Session"), None);
        assert_eq!(levenshtein("kitten", "sitting"), 3);
    }
}
