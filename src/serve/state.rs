//! What every request handler shares.

use super::cache::{CachedTile, TileCache, TileKey};
use super::worker::WorkerHandle;
use crate::filter::Filter;
use crate::geo::{UnitRect, WORLD_SIZE};
use crate::scene::{Scene, SceneTrack};
use crate::store::Store;
use crate::store::track::Track;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use tokio::sync::oneshot;

pub type TileResult = Result<CachedTile, (u16, String)>;

pub struct AppState {
    pub db: PathBuf,
    pub scene: Arc<RwLock<Arc<Scene>>>,
    pub worker: WorkerHandle,
    pub cache: Mutex<TileCache>,
    /// Requests waiting for a tile someone else is already rendering.
    pub in_flight: Mutex<HashMap<TileKey, Vec<oneshot::Sender<TileResult>>>>,
    pub uploads: UploadPolicy,
    /// Answer empty tiles with 204 instead of a transparent PNG.
    pub empty_204: bool,
    /// Serialises uploads: one writer at a time, scene swaps in order.
    pub upload_lock: tokio::sync::Mutex<()>,
    /// Scenes of the filters asked for lately, by their canonical text.
    pub filtered: Mutex<HashMap<String, (Arc<Scene>, u64)>>,
    pub filtered_tick: std::sync::atomic::AtomicU64,
    /// The database generation the scene was loaded at.
    pub loaded_generation: std::sync::atomic::AtomicU64,
}

/// Filtered scenes kept; each is a subset of the whole, sharing nothing.
const FILTERED_SCENES: usize = 8;

#[derive(Debug, Clone)]
pub struct UploadPolicy {
    pub enabled: bool,
    pub token: Option<String>,
    pub max_bytes: usize,
    /// Metres cut off the start and end of every uploaded activity.
    pub trim_m: Option<f64>,
}

impl AppState {
    pub fn scene(&self) -> Arc<Scene> {
        self.scene
            .read()
            .map(|s| s.clone())
            .unwrap_or_else(|p| p.into_inner().clone())
    }

    /// The scene a filter selects, loaded from the database on first use
    /// and kept for the next requests.
    pub async fn scene_for(&self, filter: Option<&Filter>) -> Result<Arc<Scene>, String> {
        let Some(filter) = filter else {
            return Ok(self.scene());
        };
        let key = filter.to_string();
        let tick = self
            .filtered_tick
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if let Some((scene, used)) = self
            .filtered
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get_mut(&key)
        {
            *used = tick;
            return Ok(scene.clone());
        }
        let (db, f) = (self.db.clone(), filter.clone());
        let scene = tokio::task::spawn_blocking(move || {
            Store::open_existing(&db).and_then(|s| Scene::load(&s, None, Some(&f)))
        })
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?;
        let scene = Arc::new(scene);
        let mut filtered = self.filtered.lock().unwrap_or_else(|p| p.into_inner());
        filtered.insert(key, (scene.clone(), tick));
        while filtered.len() > FILTERED_SCENES {
            let oldest = filtered
                .iter()
                .min_by_key(|(_, (_, used))| *used)
                .map(|(k, _)| k.clone());
            oldest.and_then(|k| filtered.remove(&k));
        }
        Ok(scene)
    }

    /// Replaces the whole scene (the database changed under us) and drops
    /// the tiles of every track that came or went; new masks drop them all.
    pub fn replace_scene(&self, new: Scene) -> usize {
        let old = self.scene();
        let ids = |s: &Scene| {
            s.tracks
                .iter()
                .map(|t| t.id)
                .collect::<std::collections::HashSet<_>>()
        };
        let (old_ids, new_ids) = (ids(&old), ids(&new));
        let changed: Vec<UnitRect> = old
            .tracks
            .iter()
            .filter(|t| !new_ids.contains(&t.id))
            .chain(new.tracks.iter().filter(|t| !old_ids.contains(&t.id)))
            .map(track_area)
            .collect();
        let masks_changed = old.masks != new.masks;
        *self.scene.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(new);
        self.filtered
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        if masks_changed {
            let n = cache.len();
            cache.clear();
            return n;
        }
        cache.invalidate(&changed, 0.05)
    }

    /// Adds freshly imported tracks to the scene the worker draws from and
    /// drops the cached tiles they touch.
    pub fn add_tracks(&self, tracks: Vec<(i64, Track)>) -> usize {
        if tracks.is_empty() {
            return 0;
        }
        let added = Scene::from_tracks(tracks);
        let areas: Vec<UnitRect> = added
            .tracks
            .iter()
            .map(|t| {
                let f = |v: u32| v as f64 / WORLD_SIZE;
                UnitRect {
                    x0: f(t.bbox[0]),
                    y0: f(t.bbox[1]),
                    x1: f(t.bbox[2]),
                    y1: f(t.bbox[3]),
                }
            })
            .collect();
        {
            let mut guard = self.scene.write().unwrap_or_else(|p| p.into_inner());
            let mut all: Vec<SceneTrack> = guard.tracks.clone();
            all.extend(added.tracks);
            all.sort_by_key(|t| t.id);
            let tracks = all.into_iter().map(|t| (t.id, t.track)).collect();
            *guard = Arc::new(Scene {
                masks: guard.masks.clone(),
                ..Scene::from_tracks(tracks)
            });
        }
        // Filtered scenes would miss the new tracks: load them afresh.
        self.filtered
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
        // A tile's lines reach a few pixels past its edge: 5% of a tile.
        self.cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .invalidate(&areas, 0.05)
    }
}

fn track_area(t: &SceneTrack) -> UnitRect {
    let f = |v: u32| v as f64 / WORLD_SIZE;
    UnitRect {
        x0: f(t.bbox[0]),
        y0: f(t.bbox[1]),
        x1: f(t.bbox[2]),
        y1: f(t.bbox[3]),
    }
}
