//! The embedded backend's vector index: one HNSW graph per asset (USearch, inner product over
//! unit vectors, so the score is the cosine), kept consistent with the database through a change
//! log.
//!
//! Triggers on `chunks` append every chunk write and delete to `chunk_log` in the same
//! transaction. Before each search the asset's graph applies the log entries after its position,
//! so a chunk committed by any process (an API process, a worker process) is searchable by the
//! next query, and a deleted one is gone from it. Graphs are saved beside the database with their
//! log position (in the background, after enough change) and loaded at first use, so a restart
//! replays only the log tail instead of rebuilding.
//!
//! A search among some documents (a metadata filter, `documentIds`) is answered by the same graph:
//! each graph knows every vector's document, so it counts the vectors the documents hold, scans
//! them exactly when they are few ([`EXACT_UP_TO`]), and otherwise searches the graph with the
//! documents as a predicate, widening the search by the share they hold, and scans exactly if that
//! still found fewer than asked while more are there.

use crate::db::db;
use ragd_core::{Error, Result};
use sqlx::{Row, SqlitePool};
use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};
use usearch::{Index, IndexOptions, MetricKind, ScalarKind};
use uuid::Uuid;

/// Most vectors a filtered search scans exactly instead of searching the graph (a few
/// milliseconds at 384 dimensions).
const EXACT_UP_TO: usize = 8_192;
/// Most candidates a filtered graph search keeps while it walks.
const MAX_EXPANSION: usize = 4_096;

/// Changes after which a graph is saved again (at most once per `SAVE_INTERVAL`).
const SAVE_AFTER_CHANGES: usize = 1_000;
const SAVE_INTERVAL: Duration = Duration::from_secs(30);

struct Graph {
    index: Index,
    /// The last `chunk_log.seq` applied.
    position: i64,
    unsaved: usize,
    saved_at: Instant,
    /// Each vector's document, and each document's vectors.
    documents: Documents,
}

#[derive(Default)]
struct Documents {
    of: HashMap<u64, Uuid>,
    keys: HashMap<Uuid, Vec<u64>>,
}

impl Documents {
    fn add(&mut self, key: u64, document: Uuid) {
        match self.of.get(&key) {
            Some(d) if *d == document => return,
            // A key SQLite gave again (`seq` is a rowid) after its chunk was deleted.
            Some(_) => self.remove(key),
            None => {}
        }
        self.of.insert(key, document);
        self.keys.entry(document).or_default().push(key);
    }

    fn remove(&mut self, key: u64) {
        if let Some(d) = self.of.remove(&key)
            && let Some(keys) = self.keys.get_mut(&d)
        {
            keys.retain(|k| *k != key);
            if keys.is_empty() {
                self.keys.remove(&d);
            }
        }
    }
}

/// Every asset's graph, opened on first use.
pub struct VectorIndexes {
    dir: PathBuf,
    graphs: Mutex<HashMap<Uuid, Arc<RwLock<Option<Graph>>>>>,
}

fn usearch_error(e: impl std::fmt::Display) -> Error {
    Error::internal(format!("vector index: {e}"))
}

fn new_index(dimensions: usize, capacity: usize) -> Result<Index> {
    let options = IndexOptions {
        dimensions,
        metric: MetricKind::IP,
        quantization: ScalarKind::F32,
        connectivity: 16,
        expansion_add: 128,
        expansion_search: 64,
        multi: false,
    };
    let index = Index::new(&options).map_err(usearch_error)?;
    index.reserve(capacity.max(64)).map_err(usearch_error)?;
    Ok(index)
}

fn vector(blob: &[u8]) -> Vec<f32> {
    blob.chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

impl Graph {
    /// The `limit` nearest vectors to `query`, among those of `documents` if given.
    fn nearest(
        &self,
        query: &[f32],
        limit: usize,
        documents: Option<&HashSet<Uuid>>,
    ) -> Result<Vec<(i64, f64)>> {
        let Some(documents) = documents else {
            self.index.change_expansion_search(limit.max(64));
            let m = self.index.search(query, limit).map_err(usearch_error)?;
            return Ok(matches(&m));
        };
        let kept: usize = documents
            .iter()
            .filter_map(|d| self.documents.keys.get(d))
            .map(Vec::len)
            .sum();
        if kept <= EXACT_UP_TO {
            return self.exact(query, limit, documents);
        }
        // The walk meets about `kept / size` matching vectors per vector it visits.
        let widen = self.index.size() as f64 / kept as f64;
        let expansion = ((limit.max(256) as f64 * widen) as usize).min(MAX_EXPANSION);
        self.index.change_expansion_search(expansion.max(limit));
        let m = self
            .index
            .filtered_search(query, limit, |key| {
                self.documents
                    .of
                    .get(&key)
                    .is_some_and(|d| documents.contains(d))
            })
            .map_err(usearch_error)?;
        if m.keys.len() < limit.min(kept) {
            return self.exact(query, limit, documents);
        }
        Ok(matches(&m))
    }

    /// The `limit` nearest vectors of `documents` to `query`, every one of them compared.
    fn exact(
        &self,
        query: &[f32],
        limit: usize,
        documents: &HashSet<Uuid>,
    ) -> Result<Vec<(i64, f64)>> {
        let mut v = vec![0f32; query.len()];
        let mut best = super::TopK::new(limit);
        for key in documents
            .iter()
            .filter_map(|d| self.documents.keys.get(d))
            .flatten()
        {
            if self.index.get(*key, &mut v).map_err(usearch_error)? == 1 {
                let dot = v.iter().zip(query).map(|(a, b)| a * b).sum();
                best.offer(dot, || Ok(*key as i64))?;
            }
        }
        Ok(best.into_sorted())
    }

    /// Adds or replaces one vector, growing the graph as needed.
    fn put(&mut self, key: u64, v: &[f32]) -> Result<()> {
        if self.index.dimensions() != v.len() {
            return Ok(());
        }
        if self.index.contains(key) {
            self.index.remove(key).map_err(usearch_error)?;
        }
        if self.index.size() + 1 > self.index.capacity() {
            self.index
                .reserve((self.index.capacity() * 2).max(1024))
                .map_err(usearch_error)?;
        }
        self.index.add(key, v).map_err(usearch_error)
    }
}

/// Reads a saved graph and its log position, if there is a readable pair.
fn load(index_path: &std::path::Path, position_path: &std::path::Path) -> Option<Graph> {
    let position: i64 = std::fs::read_to_string(position_path)
        .ok()?
        .trim()
        .parse()
        .ok()?;
    let index = Index::restore(index_path.to_str()?).ok()?;
    Some(Graph {
        index,
        position,
        unsaved: 0,
        saved_at: Instant::now(),
        documents: Documents::default(),
    })
}

impl VectorIndexes {
    pub fn new(dir: PathBuf) -> Self {
        Self {
            dir,
            graphs: Mutex::new(HashMap::new()),
        }
    }

    fn paths(&self, asset: Uuid) -> (PathBuf, PathBuf) {
        (
            self.dir.join(format!("{asset}.usearch")),
            self.dir.join(format!("{asset}.position")),
        )
    }

    /// The asset's graph brought up to the database's latest change.
    async fn synced(
        &self,
        pool: &SqlitePool,
        asset: Uuid,
        dimensions: usize,
    ) -> Result<Arc<RwLock<Option<Graph>>>> {
        let slot = self
            .graphs
            .lock()
            .expect("graphs lock")
            .entry(asset)
            .or_default()
            .clone();
        let head: i64 =
            sqlx::query("SELECT COALESCE(MAX(seq), 0) FROM chunk_log WHERE asset_id = ?1")
                .bind(asset.to_string())
                .fetch_one(pool)
                .await
                .map_err(db)?
                .try_get(0)
                .map_err(db)?;
        if slot
            .read()
            .expect("graph lock")
            .as_ref()
            .is_some_and(|g| g.position >= head)
        {
            return Ok(slot);
        }
        // A saved graph is read off the async runtime (it can be hundreds of MB).
        let loaded = {
            let (slot, paths) = (slot.clone(), self.paths(asset));
            tokio::task::spawn_blocking(move || {
                let mut guard = slot.write().expect("graph lock");
                if guard.is_none() {
                    *guard = load(&paths.0, &paths.1);
                }
                guard.as_ref().map(|g| g.position)
            })
            .await
            .map_err(usearch_error)?
        };
        // Without one, the graph starts from the chunks table as of `head` (read before it, so a
        // later change is in the log tail too and replaying it is harmless), then replays the tail.
        // A loaded graph reads only its vectors' documents (a saved graph does not keep them).
        let (base, from) = match loaded {
            Some(position) => (embedded_chunks(pool, asset, false).await?, position),
            None => (embedded_chunks(pool, asset, true).await?, head),
        };
        let tail = log_tail(pool, asset, from).await?;
        let slot2 = slot.clone();
        let save = tokio::task::spawn_blocking(move || apply(&slot2, dimensions, base, from, tail))
            .await
            .map_err(usearch_error)??;
        if save {
            self.save_in_background(asset, slot.clone());
        }
        Ok(slot)
    }

    /// Writes the graph and its position (graph first, each via a temporary file and a rename;
    /// a position older than the graph only makes the next load replay entries it already has).
    fn save_in_background(&self, asset: Uuid, slot: Arc<RwLock<Option<Graph>>>) {
        let (index_path, position_path) = self.paths(asset);
        let dir = self.dir.clone();
        tokio::task::spawn_blocking(move || {
            let result = (|| -> std::result::Result<(), String> {
                std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
                let mut guard = slot.write().map_err(|e| e.to_string())?;
                let Some(g) = guard.as_mut() else {
                    return Ok(());
                };
                let tmp = index_path.with_extension("usearch.tmp");
                g.index
                    .save(tmp.to_str().ok_or("path")?)
                    .map_err(|e| e.to_string())?;
                std::fs::rename(&tmp, &index_path).map_err(|e| e.to_string())?;
                let tmp = position_path.with_extension("position.tmp");
                std::fs::write(&tmp, g.position.to_string()).map_err(|e| e.to_string())?;
                std::fs::rename(&tmp, &position_path).map_err(|e| e.to_string())?;
                g.unsaved = 0;
                g.saved_at = Instant::now();
                Ok(())
            })();
            if let Err(e) = result {
                tracing::warn!(%asset, error = %e, "saving a vector index failed; it will be rebuilt or replayed at next start");
            }
        });
    }

    /// The `limit` nearest chunks of the asset to `query`, among those of `documents` if given:
    /// `(chunk key, cosine)`.
    pub async fn search(
        &self,
        pool: &SqlitePool,
        asset: Uuid,
        query: &[f32],
        limit: usize,
        documents: Option<&HashSet<Uuid>>,
    ) -> Result<Vec<(i64, f64)>> {
        let slot = self.synced(pool, asset, query.len()).await?;
        let guard = slot.read().expect("graph lock");
        match guard.as_ref() {
            Some(g) if g.index.size() > 0 && g.index.dimensions() == query.len() => {
                g.nearest(query, limit, documents)
            }
            _ => Ok(Vec::new()),
        }
    }

    /// Forgets an asset's graph and its files (the asset was deleted).
    pub fn drop_asset(&self, asset: Uuid) {
        self.graphs.lock().expect("graphs lock").remove(&asset);
        let (a, b) = self.paths(asset);
        let _ = std::fs::remove_file(a);
        let _ = std::fs::remove_file(b);
    }
}

/// `(chunk key, cosine)` of a graph's matches (inner-product distances of unit vectors).
fn matches(m: &usearch::ffi::Matches) -> Vec<(i64, f64)> {
    m.keys
        .iter()
        .zip(&m.distances)
        .map(|(k, d)| (*k as i64, 1.0 - *d as f64))
        .collect()
}

/// A chunk of the asset with a vector: `(key, document, the vector if read)`.
type BaseChunk = (i64, Uuid, Option<Vec<u8>>);

/// The asset's chunks that have a vector (with it, if `vectors`): a graph's base when none was
/// saved, or the documents of a saved graph's vectors.
async fn embedded_chunks(pool: &SqlitePool, asset: Uuid, vectors: bool) -> Result<Vec<BaseChunk>> {
    let rows = sqlx::query(if vectors {
        "SELECT seq, document_id, embedding FROM chunks WHERE asset_id = ?1 AND length(embedding) > 0"
    } else {
        "SELECT seq, document_id, NULL FROM chunks WHERE asset_id = ?1 AND length(embedding) > 0"
    })
    .bind(asset.to_string())
    .fetch_all(pool)
    .await
    .map_err(db)?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get(0).map_err(db)?,
                uuid_of(r.try_get(1).map_err(db)?)?,
                r.try_get(2).map_err(db)?,
            ))
        })
        .collect()
}

fn uuid_of(text: Option<String>) -> Result<Uuid> {
    text.and_then(|t| Uuid::parse_str(&t).ok())
        .ok_or_else(|| crate::db::corrupt("chunk document_id"))
}

/// One change of an asset's chunks: `(seq, chunk key, added, its document and vector if still
/// there)`.
type LogEntry = (i64, i64, bool, Option<(Uuid, Vec<u8>)>);

/// The asset's change log after `from`.
async fn log_tail(pool: &SqlitePool, asset: Uuid, from: i64) -> Result<Vec<LogEntry>> {
    let tail = sqlx::query(
        "SELECT l.seq, l.chunk_seq, l.added, c.document_id, c.embedding FROM chunk_log l LEFT JOIN chunks c ON c.seq = l.chunk_seq AND l.added = 1
         WHERE l.asset_id = ?1 AND l.seq > ?2 ORDER BY l.seq",
    )
    .bind(asset.to_string())
    .bind(from)
    .fetch_all(pool)
    .await
    .map_err(db)?;
    tail.iter()
        .map(|r| {
            let vector: Option<Vec<u8>> = r.try_get(4).map_err(db)?;
            let chunk = match vector {
                Some(v) => Some((uuid_of(r.try_get(3).map_err(db)?)?, v)),
                None => None,
            };
            Ok((
                r.try_get(0).map_err(db)?,
                r.try_get(1).map_err(db)?,
                r.try_get(2).map_err(db)?,
                chunk,
            ))
        })
        .collect::<Result<Vec<LogEntry>>>()
}

/// Adds the base and replays the tail into the graph (created at `from` if there is none);
/// whether the graph should be saved now.
fn apply(
    slot: &RwLock<Option<Graph>>,
    dimensions: usize,
    base: Vec<BaseChunk>,
    from: i64,
    tail: Vec<LogEntry>,
) -> Result<bool> {
    let mut guard = slot.write().expect("graph lock");
    let g = match guard.as_mut() {
        Some(g) => g,
        None => guard.insert(Graph {
            index: new_index(dimensions, base.len())?,
            position: from,
            unsaved: 0,
            saved_at: Instant::now(),
            documents: Documents::default(),
        }),
    };
    for (key, document, blob) in base {
        g.documents.add(key as u64, document);
        if let Some(blob) = blob {
            g.put(key as u64, &vector(&blob))?;
            g.unsaved += 1;
        }
    }
    for (seq, key, added, embedding) in tail {
        // Another search may have applied part of the tail meanwhile.
        if seq <= g.position {
            continue;
        }
        match (added, embedding) {
            (true, Some((document, blob))) => {
                g.documents.add(key as u64, document);
                g.put(key as u64, &vector(&blob))?;
            }
            // Deleted, or added and deleted again since: gone either way.
            _ => {
                g.documents.remove(key as u64);
                if g.index.contains(key as u64) {
                    g.index.remove(key as u64).map_err(usearch_error)?;
                }
            }
        }
        g.position = seq;
        g.unsaved += 1;
    }
    Ok(g.unsaved >= SAVE_AFTER_CHANGES || (g.unsaved > 0 && g.saved_at.elapsed() > SAVE_INTERVAL))
}
