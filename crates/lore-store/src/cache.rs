//! [`SqliteEmbeddingCache`]: the SQLite implementation of [`EmbeddingCache`].

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use lore_core::store::{ContentHash, EmbeddingCache};
use rusqlite::{Connection, params};

use crate::error::{Context, Error, Result};

/// Embedding cache in one SQLite file (WAL; writers wait for each other).
pub struct SqliteEmbeddingCache {
    conn: Connection,
    path: PathBuf,
}

impl std::fmt::Debug for SqliteEmbeddingCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteEmbeddingCache")
            .field("path", &self.path)
            .finish()
    }
}

/// Whether SQLite says the file is damaged or not a database.
fn is_damage(err: &rusqlite::Error) -> bool {
    matches!(
        err.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseCorrupt | rusqlite::ErrorCode::NotADatabase)
    )
}

impl SqliteEmbeddingCache {
    /// Opens (creating if needed) the cache at `path`. A damaged cache is
    /// only a cache: it is moved aside (`embeddings.db.damaged`) with a
    /// warning and a new one started.
    pub fn open(path: &Path) -> Result<SqliteEmbeddingCache> {
        match SqliteEmbeddingCache::open_once(path) {
            Err(Error::Sqlite { source, .. }) if is_damage(&source) => {
                let aside = path.with_extension("db.damaged");
                tracing::warn!(
                    path = %path.display(),
                    aside = %aside.display(),
                    "the embedding cache is damaged; set aside, starting a new one"
                );
                std::fs::rename(path, &aside).map_err(|source| Error::Io {
                    path: path.to_owned(),
                    source,
                })?;
                for suffix in ["-wal", "-shm"] {
                    let _ = std::fs::remove_file(crate::store::sidecar(path, suffix));
                }
                SqliteEmbeddingCache::open_once(path)
            }
            other => other,
        }
    }

    fn open_once(path: &Path) -> Result<SqliteEmbeddingCache> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|source| Error::Io {
                path: dir.to_owned(),
                source,
            })?;
        }
        let conn = Connection::open(path).ctx("open embedding cache")?;
        conn.busy_timeout(Duration::from_secs(30))
            .ctx("set busy timeout")?;
        conn.execute_batch(
            "PRAGMA journal_mode = WAL;
             PRAGMA synchronous = NORMAL;
             CREATE TABLE IF NOT EXISTS embeddings (
                 model  TEXT NOT NULL,
                 hash   BLOB NOT NULL,
                 vector BLOB NOT NULL,
                 PRIMARY KEY (model, hash)
             ) WITHOUT ROWID;",
        )
        .ctx("create embedding cache")?;
        Ok(SqliteEmbeddingCache {
            conn,
            path: path.to_owned(),
        })
    }
}

impl EmbeddingCache for SqliteEmbeddingCache {
    fn get(
        &self,
        model: &str,
        hashes: &[ContentHash],
    ) -> lore_core::Result<HashMap<ContentHash, Vec<f32>>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT vector FROM embeddings WHERE model = ?1 AND hash = ?2")
            .ctx("read embedding cache")?;
        let mut out = HashMap::new();
        for hash in hashes {
            let blob: Option<Vec<u8>> = stmt
                .query_row(params![model, &hash[..]], |r| r.get(0))
                .map(Some)
                .or_else(|e| match e {
                    rusqlite::Error::QueryReturnedNoRows => Ok(None),
                    e => Err(e),
                })
                .ctx("read embedding cache")?;
            if let Some(blob) = blob.filter(|b| b.len() % 4 == 0) {
                let v = blob
                    .chunks_exact(4)
                    .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                    .collect();
                out.insert(*hash, v);
            }
        }
        Ok(out)
    }

    fn remove(&mut self, hashes: &[ContentHash]) -> lore_core::Result<usize> {
        // Overwrite what is deleted, and leave no copy in the journal.
        self.conn
            .execute_batch("PRAGMA secure_delete = ON;")
            .ctx("purge embedding cache")?;
        let tx = self.conn.transaction().ctx("purge embedding cache")?;
        let mut removed = 0;
        {
            let mut stmt = tx
                .prepare_cached("DELETE FROM embeddings WHERE hash = ?1")
                .ctx("purge embedding cache")?;
            for hash in hashes {
                removed += stmt.execute([&hash[..]]).ctx("purge embedding cache")?;
            }
        }
        tx.commit().ctx("purge embedding cache")?;
        self.conn
            .execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")
            .ctx("purge embedding cache")?;
        Ok(removed)
    }

    fn put(&mut self, model: &str, rows: &[(ContentHash, Vec<f32>)]) -> lore_core::Result<()> {
        let tx = self.conn.transaction().ctx("write embedding cache")?;
        {
            let mut stmt = tx
                .prepare_cached(
                    "INSERT OR REPLACE INTO embeddings (model, hash, vector) VALUES (?1, ?2, ?3)",
                )
                .ctx("write embedding cache")?;
            for (hash, v) in rows {
                let blob: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
                stmt.execute(params![model, &hash[..], blob])
                    .ctx("write embedding cache")?;
            }
        }
        tx.commit().ctx("commit embedding cache")?;
        Ok(())
    }

    fn count(&self, model: &str) -> lore_core::Result<u64> {
        let n: i64 = self
            .conn
            .query_row(
                "SELECT count(*) FROM embeddings WHERE model = ?1",
                [model],
                |r| r.get(0),
            )
            .ctx("count embedding cache")?;
        Ok(n as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_models_kept_apart() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("embeddings.db");
        let mut cache = SqliteEmbeddingCache::open(&path).unwrap();
        let (a, b) = ([1u8; 16], [2u8; 16]);
        cache
            .put("m1", &[(a, vec![0.5, -1.0]), (b, vec![2.0, 3.0])])
            .unwrap();
        cache.put("m2", &[(a, vec![9.0, 9.0])]).unwrap();
        drop(cache);
        let cache = SqliteEmbeddingCache::open(&path).unwrap();
        let got = cache.get("m1", &[a, b, [3u8; 16]]).unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(got[&a], [0.5, -1.0]);
        assert_eq!(cache.get("m2", &[a, b]).unwrap()[&a], [9.0, 9.0]);
        assert_eq!(cache.count("m1").unwrap(), 2);
        assert_eq!(cache.count("m3").unwrap(), 0);
    }

    #[test]
    fn a_damaged_cache_is_set_aside_and_started_again() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("embeddings.db");
        let mut cache = SqliteEmbeddingCache::open(&path).unwrap();
        cache.put("m", &[([1u8; 16], vec![1.0])]).unwrap();
        drop(cache);
        std::fs::write(&path, vec![0x5a; 8192]).unwrap();
        let mut cache = SqliteEmbeddingCache::open(&path).unwrap();
        assert_eq!(cache.count("m").unwrap(), 0);
        cache.put("m", &[([2u8; 16], vec![2.0])]).unwrap();
        assert!(dir.path().join("embeddings.db.damaged").exists());
    }

    #[test]
    fn purged_hashes_go_for_every_model() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("embeddings.db");
        let mut cache = SqliteEmbeddingCache::open(&path).unwrap();
        let (a, b) = ([1u8; 16], [2u8; 16]);
        cache.put("m1", &[(a, vec![1.0]), (b, vec![2.0])]).unwrap();
        cache.put("m2", &[(a, vec![3.0])]).unwrap();
        assert_eq!(cache.remove(&[a]).unwrap(), 2);
        assert!(cache.get("m1", &[a]).unwrap().is_empty());
        assert!(cache.get("m2", &[a]).unwrap().is_empty());
        assert_eq!(cache.get("m1", &[b]).unwrap()[&b], [2.0]);
    }
}
