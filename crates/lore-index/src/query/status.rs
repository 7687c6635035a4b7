//! What is indexed: status, embedding status, churn, file freshness.

use super::*;

impl RepoIndex {
    /// Index status.
    pub fn status(&self) -> Result<RepoStatus> {
        let stats = self.store.stats()?;
        let semantic = self.semantic_status(stats.chunks)?;
        Ok(RepoStatus {
            root: self.meta.root.clone(),
            data_dir: self.data_dir.clone(),
            meta: self.meta.clone(),
            current_head: lore_git::head(&self.root),
            stats,
            lexical_docs: self.lexical.num_docs(),
            index_bytes: dir_size(&self.data_dir)?,
            skipped: self.store.skipped()?,
            semantic,
            retrieval_policy: (self.policy().version, self.policy().repository),
        })
    }

    /// Status of the transformer vectors, `None` (at once) when the
    /// repository uses the learned model only: what `lore index` checks to
    /// start them, without reading anything in proportion to the index
    /// in the usual case.
    pub fn transformer_status(&self) -> Result<Option<DenseStatus>> {
        if recorded_spec(&*self.store)?.is_learned() {
            return Ok(None);
        }
        self.dense_status(&self.store.chunk_ids()?)
    }

    /// Status of the transformer vectors, read from the files alone (the
    /// embedder itself is not loaded).
    fn dense_status(&self, ids: &[u64]) -> Result<Option<DenseStatus>> {
        let spec = recorded_spec(&*self.store)?;
        if spec.is_learned() {
            return Ok(None);
        }
        let name = self.store.get_meta(dense_keys::FILE)?;
        let dir = dense_dir(&self.data_dir);
        let vectors = name
            .as_ref()
            .and_then(|n| FlatVectors::load(&dir.join(n)).ok());
        let embedded = vectors.as_ref().map_or(0, |v| {
            ids.iter().filter(|&&id| v.get(id).is_some()).count() as u64
        });
        let chunks = ids.len() as u64;
        Ok(Some(DenseStatus {
            spec: spec.to_string(),
            state: if embedded == 0 {
                "pending"
            } else if embedded >= chunks {
                "ready"
            } else {
                "partial"
            },
            model: vectors.as_ref().map(|v| v.model_id().to_owned()),
            embedded,
            pending: chunks.saturating_sub(embedded),
            running: embedding_running(&self.data_dir),
            file: name.map(|name| {
                let bytes = std::fs::metadata(dir.join(&name)).map_or(0, |m| m.len());
                DataFile { name, bytes }
            }),
        }))
    }

    fn semantic_status(&self, chunks: u64) -> Result<SemanticStatus> {
        let ids = self.store.chunk_ids()?;
        let dense = self.dense_status(&ids)?;
        Ok(match self.semantic() {
            Some(s) => {
                let embedded = ids.iter().filter(|&&id| s.vectors.contains(id)).count() as u64;
                SemanticStatus {
                    state: if embedded >= chunks {
                        "ready"
                    } else {
                        "partial"
                    },
                    model: Some(s.vectors.model_id().to_owned()),
                    embedded,
                    pending: chunks.saturating_sub(embedded),
                    dense,
                }
            }
            // Vectors named by the index but not loadable: say so (the
            // next `lore index` rewrites them).
            None if self.store.get_meta(keys::MANIFEST)?.is_some() => SemanticStatus {
                state: "damaged",
                model: None,
                embedded: 0,
                pending: chunks,
                dense,
            },
            None => SemanticStatus {
                state: "lexical only",
                model: None,
                embedded: 0,
                pending: chunks,
                dense,
            },
        })
    }

    /// Reads every store file of this snapshot against its checksum or
    /// its own consistency check: the metadata store (`PRAGMA
    /// quick_check`), the lexical generation (tantivy's checksums), and the
    /// vector files (CRC-32). Returns one line per problem, naming the file;
    /// empty when everything is intact. A full read of the index.
    pub fn check(&self) -> Result<Vec<String>> {
        let mut problems = self.store.check()?;
        problems.extend(self.lexical.check()?);
        match crate::embed::read_manifest(&*self.store) {
            Ok(Some(manifest)) => match manifest.open(&vectors_dir(&self.data_dir)) {
                Ok(set) => problems.extend(set.verify()),
                Err(err) => problems.push(err.to_string()),
            },
            Ok(None) => {}
            Err(err) => problems.push(err.to_string()),
        }
        if let Some(name) = self.store.get_meta(dense_keys::FILE)?
            && let Err(err) = FlatVectors::load(&dense_dir(&self.data_dir).join(&name))
        {
            problems.push(err.to_string());
        }
        if !problems.is_empty() {
            self.note_damage(&problems.join("\n"));
        }
        Ok(problems)
    }

    /// Which embedder produced the vectors and how far embedding got.
    pub fn embed_status(&self) -> Result<EmbedStatus> {
        let chunks = self.store.chunk_ids()?.len() as u64;
        let semantic = self.semantic_status(chunks)?;
        let file = |dir: PathBuf, key: &str| -> Result<Option<DataFile>> {
            Ok(self.store.get_meta(key)?.map(|name| {
                let bytes = std::fs::metadata(dir.join(&name)).map_or(0, |m| m.len());
                DataFile { name, bytes }
            }))
        };
        let loaded = self.semantic();
        let kind = recorded_spec(&*self.store)?.kind();
        Ok(EmbedStatus {
            state: semantic.state,
            embedder: kind,
            model: semantic.model,
            dims: loaded.map(|s| s.vectors.dims()),
            vocabulary: loaded.map(|s| s.model.vocab_len()),
            embedded: semantic.embedded,
            pending: semantic.pending,
            vectors_file: crate::embed::read_manifest(&*self.store)
                .ok()
                .flatten()
                .map(|m| {
                    let dir = vectors_dir(&self.data_dir);
                    let names: Vec<&str> = m.files().collect();
                    DataFile {
                        name: names.join(","),
                        bytes: names
                            .iter()
                            .map(|n| std::fs::metadata(dir.join(n)).map_or(0, |m| m.len()))
                            .sum(),
                    }
                }),
            model_file: file(models_dir(&self.data_dir), keys::LEARNED)?,
            dense: semantic.dense,
        })
    }

    /// Churn of a file: (commits touching it, last change, distinct authors).
    pub fn churn(&self, path: &str) -> Result<Option<(u64, i64, u64)>> {
        Ok(self.store.churn(path)?)
    }
    /// The content hash `path` was indexed at (`None`: not indexed).
    pub fn file_hash(&self, path: &str) -> Result<Option<String>> {
        Ok(self.store.file_state(path)?.map(|s| s.hash))
    }

    /// Whether `path` differs on disk from what was indexed (changed,
    /// deleted or unreadable), judged by content hash.
    pub fn is_stale(&self, path: &str) -> Result<bool> {
        let Some(state) = self.store.file_state(path)? else {
            return Ok(true);
        };
        Ok(
            match std::fs::read(lore_core::path::under(&self.root, path)) {
                Ok(bytes) => blake3::hash(&bytes).to_hex().as_str() != state.hash,
                Err(_) => true,
            },
        )
    }

    /// What the index knows of `path` (relative to the root).
    pub fn file_status(&self, path: &str) -> Result<FileStatus> {
        if let Some(state) = self.store.file_state(path)? {
            return Ok(FileStatus::Indexed { hash: state.hash });
        }
        Ok(
            match self.store.skipped()?.into_iter().find(|s| s.path == path) {
                Some(skipped) => FileStatus::Skipped(skipped),
                None => FileStatus::Unknown,
            },
        )
    }
}

fn dir_size(dir: &Path) -> Result<u64> {
    let mut total = 0;
    let entries = std::fs::read_dir(dir).map_err(io(dir))?;
    for entry in entries.flatten() {
        let meta = entry.metadata().map_err(io(entry.path()))?;
        total += if meta.is_dir() {
            dir_size(&entry.path())?
        } else {
            meta.len()
        };
    }
    Ok(total)
}
