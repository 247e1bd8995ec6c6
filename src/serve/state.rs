//! What every request handler shares, and the one thread that changes the
//! scene.
//!
//! Scene changes (uploads, another process changing the database) go
//! through a queue to the `scene-updates` thread, which takes everything
//! waiting and applies it as one change: one rebuild of the scene, one
//! pass over the cache dropping the tiles the new tracks touch. Before,
//! each upload rebuilt the scene and swept the cache on its own while
//! tile requests waited on the scene lock: 22 uploads a second took tile
//! throughput from 14,274 to 50 requests a second (issue 10, item 6).

use super::ServeOptions;
use super::cache::TileCache;
use super::error::TileError;
use super::listen::Connections;
use super::prerender::Prerender;
use super::worker::WorkerHandle;
use crate::filter::Filter;
use crate::geo::UnitRect;
use crate::scene::{Scene, SceneTrack};
use crate::store::track::Track;
use crate::store::{Store, StoreError};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock, Weak, mpsc};
use tokio::sync::oneshot;

pub struct AppState {
    pub db: PathBuf,
    pub scene: Arc<RwLock<Arc<Scene>>>,
    pub worker: WorkerHandle,
    pub cache: TileCache,
    pub uploads: UploadPolicy,
    /// Answer empty tiles with 204 instead of a transparent PNG.
    pub empty_204: bool,
    /// Serialises uploads: one writer at a time.
    pub upload_lock: tokio::sync::Mutex<()>,
    /// Scenes of the filters asked for lately, by their canonical text.
    pub filtered: Mutex<HashMap<String, (Arc<Scene>, u64)>>,
    pub filtered_tick: AtomicU64,
    /// The database generation the scene was loaded at.
    pub loaded_generation: AtomicU64,
    /// Counts scene changes: a render that straddles one is done again, so
    /// that no tile drawn from the old scene is cached after the change
    /// dropped that tile.
    pub epoch: AtomicU64,
    /// Scene changes applied (one per batch of uploads), for `/api/stats`.
    pub scene_updates: AtomicU64,
    pub connections: Arc<Connections>,
    /// Per filter (canonical text), the keys it names that no activity
    /// has; forgotten when the scene changes.
    unknown_keys: Mutex<HashMap<String, Vec<String>>>,
    updates: mpsc::Sender<Pending>,
    /// Explorer layers for `/explorer/...` tiles.
    pub explorer: super::explorer::ExplorerLayers,
    /// Histograms for `?scale=eqhist`, per scene and zoom.
    pub eqhist: Arc<crate::render::tone::EqHistCache>,
    /// The default style's tiles drawn ahead and saved (`None` when off).
    pub prerender: Option<Arc<Prerender>>,
}

/// Filtered scenes kept; each is a subset of the whole, sharing nothing.
const FILTERED_SCENES: usize = 8;

/// Renders of one tile redone because the scene changed under them, at
/// most; past that the tile is served (and cached) from the scene it saw.
const STALE_RETRIES: usize = 4;

#[derive(Debug, Clone, Default)]
pub struct UploadPolicy {
    pub enabled: bool,
    pub token: Option<String>,
    pub max_bytes: usize,
    /// Metres cut off the start and end of every uploaded activity.
    pub trim_m: Option<f64>,
    /// Origins (`https://map.example.org`) whose pages may upload, and
    /// whose hosts may be this server's `Host`.
    pub allow_origins: Vec<String>,
}

enum Update {
    Add(Vec<(i64, Track)>),
    Replace(Box<Scene>),
}

struct Pending {
    update: Update,
    /// Tiles dropped by the change this update was applied in.
    reply: oneshot::Sender<usize>,
}

impl AppState {
    /// The state for `opts`, with its `scene-updates` thread started.
    pub fn new(
        opts: &ServeOptions,
        scene: Scene,
        worker: WorkerHandle,
        generation: u64,
    ) -> Arc<AppState> {
        let (updates, rx) = mpsc::channel();
        let opened = opts
            .prerender
            .as_ref()
            .map(|p| Prerender::open(p.clone(), &scene));
        let (prerender, wake) = match opened {
            Some(Ok((p, wake))) => (Some(Arc::new(p)), Some(wake)),
            Some(Err(e)) => {
                tracing::error!("pre-rendering is off: {e}");
                (None, None)
            }
            None => (None, None),
        };
        let state = Arc::new(AppState {
            db: opts.db.clone(),
            scene: Arc::new(RwLock::new(Arc::new(scene))),
            worker,
            cache: TileCache::new(opts.cache_mb << 20),
            uploads: UploadPolicy {
                enabled: opts.uploads,
                token: opts.upload_token.clone(),
                max_bytes: opts.max_upload_mb << 20,
                trim_m: opts.upload_trim_m,
                allow_origins: opts.allow_origins.clone(),
            },
            empty_204: opts.empty_204,
            upload_lock: tokio::sync::Mutex::new(()),
            filtered: Mutex::new(HashMap::new()),
            filtered_tick: AtomicU64::new(0),
            loaded_generation: AtomicU64::new(generation),
            epoch: AtomicU64::new(0),
            scene_updates: AtomicU64::new(0),
            connections: Arc::new(Connections::new(opts.limits.clone())),
            unknown_keys: Mutex::new(HashMap::new()),
            updates,
            explorer: Default::default(),
            eqhist: Default::default(),
            prerender,
        });
        // Weak: the thread ends when the last handler lets go of the state
        // (and with it the sender).
        let weak = Arc::downgrade(&state);
        std::thread::Builder::new()
            .name("scene-updates".into())
            .spawn(move || apply_updates(weak, rx))
            .expect("spawn scene-updates thread");
        if let Some(wake) = wake {
            super::prerender::start(&state, wake);
        }
        state
    }

    pub fn scene(&self) -> Arc<Scene> {
        self.scene
            .read()
            .map(|s| s.clone())
            .unwrap_or_else(|p| p.into_inner().clone())
    }

    /// The scene a filter selects, loaded from the database on first use
    /// and kept for the next requests.
    pub async fn scene_for(&self, filter: Option<&Filter>) -> Result<Arc<Scene>, TileError> {
        let Some(filter) = filter else {
            return Ok(self.scene());
        };
        let key = filter.to_string();
        let tick = self.filtered_tick.fetch_add(1, Ordering::Relaxed);
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
        let scene = blocking(move || {
            Store::open_existing(&db).and_then(|s| Scene::load(&s, None, Some(&f)))
        })
        .await?;
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

    /// Renders `make` from the current scene (of `filter`), again when the
    /// scene changed meanwhile (see [`AppState::epoch`]).
    pub async fn from_current_scene<T, E, F>(
        &self,
        filter: Option<&Filter>,
        make: impl Fn(Arc<Scene>) -> F,
    ) -> Result<T, E>
    where
        F: Future<Output = Result<T, E>>,
        E: From<TileError>,
    {
        let mut tries = 0;
        loop {
            let epoch = self.epoch.load(Ordering::Acquire);
            let made = make(self.scene_for(filter).await?).await?;
            tries += 1;
            if self.epoch.load(Ordering::Acquire) == epoch || tries >= STALE_RETRIES {
                return Ok(made);
            }
        }
    }

    /// The keys `filter` reads that no activity has, asked of the store
    /// once per filter and scene.
    pub async fn unknown_keys(&self, filter: &Filter) -> Result<Vec<String>, TileError> {
        let text = filter.to_string();
        let cached = self
            .unknown_keys
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&text)
            .cloned();
        if let Some(keys) = cached {
            return Ok(keys);
        }
        let (db, f) = (self.db.clone(), filter.clone());
        let keys =
            blocking(move || Store::open_existing(&db).and_then(|s| s.unknown_keys(&f))).await?;
        let mut all = self.unknown_keys.lock().unwrap_or_else(|p| p.into_inner());
        // Bounded like the filtered scenes: a few filters are in use at once.
        if all.len() >= 64 {
            all.clear();
        }
        all.insert(text, keys.clone());
        Ok(keys)
    }

    /// Replaces the whole scene (the database changed under us) and drops
    /// the tiles of every track that came or went; new masks drop them all.
    /// Returns how many tiles were dropped.
    pub async fn replace_scene(&self, new: Scene) -> usize {
        self.submit(Update::Replace(Box::new(new))).await
    }

    /// Adds freshly imported tracks to the scene the worker draws from and
    /// drops the cached tiles they touch; returns once they are drawn
    /// (with how many tiles the change dropped, together with the uploads
    /// applied with it).
    pub async fn add_tracks(&self, tracks: Vec<(i64, Track)>) -> usize {
        if tracks.is_empty() {
            return 0;
        }
        self.submit(Update::Add(tracks)).await
    }

    async fn submit(&self, update: Update) -> usize {
        let (reply, rx) = oneshot::channel();
        if self.updates.send(Pending { update, reply }).is_err() {
            return 0;
        }
        rx.await.unwrap_or(0)
    }

    /// Swaps in `new`, forgets what the old scene implied, and drops
    /// `areas` (or everything) from the cache.
    fn swap(&self, new: Scene, areas: Option<&[UnitRect]>) -> usize {
        *self.scene.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(new);
        self.epoch.fetch_add(1, Ordering::AcqRel);
        self.scene_updates.fetch_add(1, Ordering::Relaxed);
        self.filtered
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
        self.unknown_keys
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
        if let Some(pre) = &self.prerender {
            pre.changed(&self.scene(), areas);
        }
        match areas {
            // A tile's lines reach a few pixels past its edge: 5% of a tile.
            Some(areas) => pollster::block_on(self.cache.invalidate(areas, 0.05)),
            None => self.cache.clear(),
        }
    }

    fn apply_adds(&self, tracks: Vec<(i64, Track)>) -> usize {
        let added = Scene::from_tracks(tracks);
        let areas: Vec<UnitRect> = added
            .tracks
            .iter()
            .map(|t| UnitRect::from_world_box(t.bbox))
            .collect();
        let old = self.scene();
        let mut all: Vec<SceneTrack> = old.tracks.clone();
        all.extend(added.tracks);
        all.sort_by_key(|t| t.id);
        let tracks = all.into_iter().map(|t| (t.id, t.track)).collect();
        let new = Scene {
            masks: old.masks.clone(),
            ..Scene::from_tracks(tracks)
        };
        self.swap(new, Some(&areas))
    }

    fn apply_replace(&self, new: Scene) -> usize {
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
            .map(|t| UnitRect::from_world_box(t.bbox))
            .collect();
        if old.masks != new.masks {
            return self.swap(new, None);
        }
        self.swap(new, Some(&changed))
    }
}

/// The `scene-updates` thread: takes every update waiting and applies
/// runs of uploads as one change.
fn apply_updates(state: Weak<AppState>, rx: mpsc::Receiver<Pending>) {
    while let Ok(first) = rx.recv() {
        let batch: Vec<Pending> = std::iter::once(first).chain(rx.try_iter()).collect();
        let Some(state) = state.upgrade() else {
            return;
        };
        let mut adds = Vec::new();
        let mut waiting = Vec::new();
        let flush = |adds: &mut Vec<(i64, Track)>, waiting: &mut Vec<oneshot::Sender<usize>>| {
            if !waiting.is_empty() {
                let dropped = state.apply_adds(std::mem::take(adds));
                tracing::debug!(uploads = waiting.len(), dropped, "scene updated");
                for w in waiting.drain(..) {
                    let _ = w.send(dropped);
                }
            }
        };
        for p in batch {
            match p.update {
                Update::Add(tracks) => {
                    adds.extend(tracks);
                    waiting.push(p.reply);
                }
                Update::Replace(scene) => {
                    flush(&mut adds, &mut waiting);
                    let _ = p.reply.send(state.apply_replace(*scene));
                }
            }
        }
        flush(&mut adds, &mut waiting);
    }
}

/// A database read on a blocking thread.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, TileError> {
    Ok(tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| TileError::Task(e.to_string()))??)
}
