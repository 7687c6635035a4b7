//! Data loaded from an index's immutable files (model, vectors, file
//! graph), shared by every snapshot in the process that names the same
//! files: a server holding one snapshot per core loads them once, and a
//! snapshot opened after the first is ready at once.
//!
//! Entries are held weakly: when the last snapshot using a file drops it,
//! the memory goes with it.

use std::any::Any;
use std::path::Path;
use std::sync::{Arc, Mutex, Weak};

type Entry = Weak<dyn Any + Send + Sync>;

static SHARED: Mutex<Vec<(String, Entry)>> = Mutex::new(Vec::new());

/// The value stored under `key`, loading it with `load` if no live
/// snapshot holds it. The key must name everything the value is read
/// from, down to file sizes and times, so that a rebuilt file is a new key.
///
/// Loads run under one lock: two snapshots asking for the same data at
/// once load it once.
pub(crate) fn shared<T: Send + Sync + 'static>(key: String, load: impl FnOnce() -> T) -> Arc<T> {
    let mut entries = SHARED
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    entries.retain(|(_, weak)| weak.strong_count() > 0);
    if let Some(found) = entries
        .iter()
        .filter(|(k, _)| *k == key)
        .find_map(|(_, weak)| weak.upgrade()?.downcast::<T>().ok())
    {
        return found;
    }
    let value: Arc<T> = Arc::new(load());
    let erased: Arc<dyn Any + Send + Sync> = value.clone();
    entries.push((key, Arc::downgrade(&erased)));
    value
}

/// A key part naming a file by path, size and modification time; the
/// path alone if it cannot be read (the load will report why).
pub(crate) fn file_key(path: &Path) -> String {
    match std::fs::metadata(path) {
        Ok(m) => {
            let modified = m
                .modified()
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_nanos());
            format!("{}:{}:{modified}", path.display(), m.len())
        }
        Err(_) => path.display().to_string(),
    }
}

/// The file graph of one index generation, in memory: files by id, and
/// per file the edges that touch it, so that a query's neighbourhood is a
/// few lookups instead of a database query per seed file.
#[derive(Debug, Default)]
pub(crate) struct FileGraph {
    ids: rustc_hash::FxHashMap<String, u32>,
    /// (src, dst, weight)
    edges: Vec<(u32, u32, f64)>,
    /// Per file: indices into `edges` of the edges from or to it.
    touching: Vec<Vec<u32>>,
}

impl FileGraph {
    pub(crate) fn new(edges: Vec<lore_core::store::FileEdge>) -> FileGraph {
        let mut graph = FileGraph::default();
        for edge in edges {
            let src = graph.intern(edge.src);
            let dst = graph.intern(edge.dst);
            let at = graph.edges.len() as u32;
            graph.edges.push((src, dst, edge.weight));
            graph.touching[src as usize].push(at);
            if dst != src {
                graph.touching[dst as usize].push(at);
            }
        }
        graph
    }

    fn intern(&mut self, path: String) -> u32 {
        if let Some(&id) = self.ids.get(&path) {
            return id;
        }
        let id = self.ids.len() as u32;
        self.ids.insert(path, id);
        self.touching.push(Vec::new());
        id
    }

    /// Bytes held in memory, approximately.
    pub(crate) fn memory_bytes(&self) -> u64 {
        let paths: usize = self.ids.keys().map(|p| p.len() + 48).sum();
        let touching: usize = self.touching.iter().map(|t| t.capacity() * 4 + 24).sum();
        (paths + self.edges.capacity() * 16 + touching) as u64
    }

    /// The id of `path` in this graph (files without edges have none).
    pub(crate) fn id(&self, path: &str) -> Option<u32> {
        self.ids.get(path).copied()
    }

    /// Every edge from or to file `id`, as (src, dst, weight) ids.
    pub(crate) fn touching_ids(&self, id: u32) -> impl Iterator<Item = (u32, u32, f64)> + '_ {
        let list = self
            .touching
            .get(id as usize)
            .map_or(&[][..], Vec::as_slice);
        list.iter().map(|&at| self.edges[at as usize])
    }
}

/// Every chunk's head of one index generation, by id.
#[derive(Debug, Default)]
pub(crate) struct ChunkTable {
    /// By ascending id.
    heads: Vec<lore_core::store::ChunkHead>,
}

impl ChunkTable {
    pub(crate) fn new(mut heads: Vec<lore_core::store::ChunkHead>) -> ChunkTable {
        heads.sort_unstable_by_key(|h| h.id);
        ChunkTable { heads }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.heads.is_empty()
    }

    /// Bytes held in memory, approximately (a path is shared by its file's
    /// chunks; a symbol name is the chunk's own).
    pub(crate) fn memory_bytes(&self) -> u64 {
        let names: usize = self
            .heads
            .iter()
            .map(|h| h.symbol.as_ref().map_or(0, |s| s.len() + 16))
            .sum();
        (self.heads.capacity() * std::mem::size_of::<lore_core::store::ChunkHead>() + names) as u64
    }

    pub(crate) fn get(&self, id: u64) -> Option<&lore_core::store::ChunkHead> {
        let at = self.heads.binary_search_by_key(&id, |h| h.id).ok()?;
        Some(&self.heads[at])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lore_core::store::FileEdge;

    fn edge(src: &str, dst: &str, weight: f64) -> FileEdge {
        FileEdge {
            src: src.into(),
            dst: dst.into(),
            weight,
        }
    }

    #[test]
    fn graph_lists_edges_touching_a_file_once() {
        let g = FileGraph::new(vec![
            edge("a", "b", 1.0),
            edge("c", "a", 2.0),
            edge("b", "c", 3.0),
            edge("a", "a", 4.0),
        ]);
        let id = |path| g.id(path).unwrap();
        let (a, b, c) = (id("a"), id("b"), id("c"));
        let edges: Vec<_> = g.touching_ids(a).collect();
        assert_eq!(edges, [(a, b, 1.0), (c, a, 2.0), (a, a, 4.0)]);
        assert_eq!(g.touching_ids(b).count(), 2);
        assert_eq!(g.id("zzz"), None);
        assert_eq!(g.touching_ids(99).count(), 0);
    }

    #[test]
    fn shared_values_live_while_held() {
        let key = || "shared-test-key".to_owned();
        let first = shared(key(), || 1u32);
        let again = shared(key(), || 2u32);
        assert!(Arc::ptr_eq(&first, &again), "a held value is reused");
        // Another type under the same key is a separate value.
        assert_eq!(*shared(key(), || "text"), "text");
        drop((first, again));
        assert_eq!(
            *shared(key(), || 3u32),
            3,
            "a dropped value is loaded again"
        );
    }
}
