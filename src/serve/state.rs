//! What every request handler shares.

use super::cache::{CachedTile, TileCache, TileKey};
use super::worker::WorkerHandle;
use crate::geo::{UnitRect, WORLD_SIZE};
use crate::scene::{Scene, SceneTrack};
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
}

#[derive(Debug, Clone)]
pub struct UploadPolicy {
    pub enabled: bool,
    pub token: Option<String>,
    pub max_bytes: usize,
}

impl AppState {
    pub fn scene(&self) -> Arc<Scene> {
        self.scene
            .read()
            .map(|s| s.clone())
            .unwrap_or_else(|p| p.into_inner().clone())
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
            *guard = Arc::new(Scene::from_tracks(tracks));
        }
        // A tile's lines reach a few pixels past its edge: 5% of a tile.
        self.cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .invalidate(&areas, 0.05)
    }
}
