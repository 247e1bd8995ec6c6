//! Pre-rendering: while no tile request waits, the server draws the
//! pyramid of the default style through the batch tile pipeline (the one
//! `hotpot export` uses) and saves it ([`SavedTiles`]), lowest zooms first
//! and the densest tiles of a zoom first, so that the slowest tiles are
//! ready soonest. Requests for the default style are then answered from
//! disk, and from memory after the first time: a cold dense city tile at
//! z11 is a lookup instead of 100 ms of rasterising.
//!
//! Uploads and other writers' imports drop the saved tiles their tracks
//! touch ([`super::state::AppState`] calls [`Prerender::changed`]); the
//! next pass renders just the tiles missing. Saved tiles survive a
//! restart. Batches go through the render worker like tile requests, but
//! only when none waits, and are kept to a few tens of milliseconds so a
//! request never waits long behind one.

use super::state::AppState;
use super::style::{StyleQuery, TileStyle};
use super::worker::WorkerHandle;
use crate::render::repalette::repalette;
use crate::render::{RenderError, RenderJob};
use crate::scene::Scene;
use crate::tiles::pipeline::run_batches;
use crate::tiles::saved::{Lookup, SavedError, SavedTiles};
use crate::tiles::{Tile, TileWork, enumerate};
use indicatif::ProgressBar;
use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak, mpsc};
use std::time::Duration;

/// What to pre-render and where to keep it.
#[derive(Debug, Clone)]
pub struct PrerenderOptions {
    pub path: PathBuf,
    pub zooms: RangeInclusive<u8>,
    /// Tile sizes: 256 for the map page, 512 for its HiDPI tiles and for
    /// hotpot's `/tile/` URLs.
    pub sizes: Vec<u32>,
}

impl PrerenderOptions {
    /// Zooms 2-16 at 256 and 512 px, saved beside the database as
    /// `<db>.tiles`. On the 2,000-ride benchmark set that is 3,118 tiles
    /// per size (`hotpot export` counts the same), about a minute of work
    /// on two cores; deeper zooms hold few segments per tile and render
    /// live in a few milliseconds.
    pub fn beside(db: &Path) -> PrerenderOptions {
        let mut path = db.as_os_str().to_owned();
        path.push(".tiles");
        PrerenderOptions {
            path: path.into(),
            zooms: 2..=16,
            sizes: vec![256, 512],
        }
    }
}

/// Estimated work per batch, in segments (see [`TileWork::cost`]): about
/// 10 ms of drawing on one core at the ~180 ns a segment measured on dense
/// city tiles. A tile request waits at most for one batch.
const BATCH_COST: u64 = 50_000;
const MAX_BATCH_TILES: usize = 64;

pub struct Prerender {
    pub saved: SavedTiles,
    opts: PrerenderOptions,
    style: TileStyle,
    /// How far past its tile a line reaches, as a share of the tile.
    margin: f64,
    wake: Mutex<mpsc::Sender<()>>,
    /// Tiles drawn and saved since the server started.
    pub rendered: AtomicU64,
    /// Set while a pass runs.
    pub busy: AtomicBool,
}

impl Prerender {
    /// Opens the saved tiles for `scene`; the pass thread starts with
    /// [`start`].
    pub fn open(
        opts: PrerenderOptions,
        scene: &Scene,
    ) -> Result<(Prerender, mpsc::Receiver<()>), SavedError> {
        let style =
            TileStyle::from_query(&StyleQuery::default()).expect("the default style parses");
        let margin = opts
            .sizes
            .iter()
            .flat_map(|&size| {
                let spec = style.spec(size);
                opts.zooms
                    .clone()
                    .map(move |z| spec.reach_px(z) / size as f64)
            })
            .fold(0.0, f64::max);
        let saved = SavedTiles::open(&opts.path, &style.key, scene, margin)?;
        let (tx, rx) = mpsc::channel();
        let pre = Prerender {
            saved,
            opts,
            style,
            margin,
            wake: Mutex::new(tx),
            rendered: AtomicU64::new(0),
            busy: AtomicBool::new(false),
        };
        Ok((pre, rx))
    }

    /// The tracks changed to `scene`'s: drops the saved tiles `areas`
    /// touch (all for `None`) and starts a pass for the missing ones.
    pub fn changed(&self, scene: &Scene, areas: Option<&[crate::geo::UnitRect]>) {
        if let Err(e) = self.saved.update(scene, areas, self.margin) {
            tracing::error!("pre-rendered tiles: {e}");
        }
        let _ = self.wake.lock().unwrap_or_else(|p| p.into_inner()).send(());
    }

    /// The tile as the saved ones give it in `style`: the default style's
    /// as saved, and other palettes of the same lines by swapping the
    /// saved tile's palette.
    pub fn lookup(&self, style: &TileStyle, size: u32, tile: Tile) -> Result<Lookup, SavedError> {
        if style.key == self.style.key {
            return self.saved.get(&style.key, size, tile);
        }
        if !style.recolours(&self.style) {
            return Ok(Lookup::Unknown);
        }
        Ok(match self.saved.get(&self.style.key, size, tile)? {
            Lookup::Png(png) => match repalette(&png, &style.colormap) {
                Some(png) => Lookup::Png(png),
                None => Lookup::Unknown,
            },
            // A background fills empty tiles too.
            Lookup::Empty if style.colormap.background.is_none() => Lookup::Empty,
            _ => Lookup::Unknown,
        })
    }

    /// Whether every zoom and size is saved.
    pub fn complete(&self) -> bool {
        self.opts.zooms.clone().all(|z| {
            self.opts
                .sizes
                .iter()
                .all(|&size| self.saved.is_complete(size, z))
        })
    }

    /// One pass over the zooms: renders and saves what is missing.
    fn pass(&self, worker: &WorkerHandle, scene: Arc<Scene>, alive: &Weak<AppState>) -> Pass {
        let run = PassRun {
            worker,
            scene,
            generation: self.saved.generation(),
            alive,
        };
        let Some(&smallest) = self.opts.sizes.iter().min() else {
            return Pass::Done;
        };
        for z in self.opts.zooms.clone() {
            let sizes: Vec<u32> = (self.opts.sizes.iter().copied())
                .filter(|&s| !self.saved.is_complete(s, z))
                .collect();
            if sizes.is_empty() {
                continue;
            }
            // One enumeration for every size, padded for the smallest
            // (whose lines reach furthest in tiles): a superset for all.
            let spec = self.style.spec(smallest);
            let plan = enumerate(&run.scene, z..=z, None, smallest, |z| spec.reach_px(z));
            for size in sizes {
                match self.zoom(&run, z, size, &plan) {
                    Pass::Done => {}
                    other => return other,
                }
            }
        }
        Pass::Done
    }

    /// Renders and saves the tiles of `plan` not saved yet at `size`.
    fn zoom(&self, run: &PassRun, z: u8, size: u32, plan: &[TileWork]) -> Pass {
        let PassRun {
            worker,
            scene,
            generation,
            alive,
        } = run;
        let generation = *generation;
        let have = match self.saved.saved_at(size, z) {
            Ok(h) => h,
            Err(e) => return Pass::Failed(e.to_string()),
        };
        let mut todo: Vec<TileWork> = plan
            .iter()
            .filter(|w| !have.contains(&(w.tile.x, w.tile.y)))
            .copied()
            .collect();
        todo.sort_by_key(|w| std::cmp::Reverse(w.segments));
        let tiles: Vec<Tile> = todo.iter().map(|w| w.tile).collect();
        let scale = (size as u64 / 256).pow(2).max(1);
        let batches = cost_batches(&todo, |w| TileWork::BASE_COST * scale + w.segments as u64);
        let spec = self.style.spec(size);
        let mut render = |jobs: &[RenderJob]| {
            if alive.strong_count() == 0 || self.saved.generation() != generation {
                return Err(RenderError::Gpu("pre-rendering interrupted".into()));
            }
            worker
                .render_background(scene.clone(), jobs.to_vec())
                .map_err(|e| RenderError::Gpu(e.to_string()))
        };
        let mut sink = self.saved.sink(size, generation);
        let slices = batches.iter().map(|r| &tiles[r.clone()]);
        let result = run_batches(
            &mut render,
            scene,
            &spec,
            slices,
            &mut sink,
            &ProgressBar::hidden(),
        );
        match result {
            Ok(report) => {
                self.rendered.fetch_add(report.tiles(), Ordering::Relaxed);
                match self.saved.mark_complete(size, z, generation) {
                    Ok(true) => Pass::Done,
                    Ok(false) => Pass::Stale,
                    Err(e) => Pass::Failed(e.to_string()),
                }
            }
            Err(_) if alive.strong_count() == 0 => Pass::Stopped,
            // The tracks changed: the sink refused the batch, or the render
            // function stopped before drawing from the old tracks.
            Err(_) if self.saved.generation() != generation => Pass::Stale,
            Err(e) => Pass::Failed(e.to_string()),
        }
    }
}

/// What one pass draws from, and how it knows to stop: the server gone,
/// or the tracks changed since `generation`.
struct PassRun<'a> {
    worker: &'a WorkerHandle,
    scene: Arc<Scene>,
    generation: u64,
    alive: &'a Weak<AppState>,
}

enum Pass {
    Done,
    /// The tracks changed: plan again.
    Stale,
    /// The server is gone.
    Stopped,
    Failed(String),
}

/// Consecutive runs of `work` whose cost adds up to about [`BATCH_COST`].
fn cost_batches(work: &[TileWork], cost: impl Fn(&TileWork) -> u64) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    let (mut start, mut sum) = (0, 0);
    for (i, w) in work.iter().enumerate() {
        if i > start && (sum + cost(w) > BATCH_COST || i - start >= MAX_BATCH_TILES) {
            out.push(start..i);
            (start, sum) = (i, 0);
        }
        sum += cost(w);
    }
    if start < work.len() {
        out.push(start..work.len());
    }
    out
}

/// Starts the thread that runs passes: one now, one after each change.
pub fn start(state: &Arc<AppState>, wake: mpsc::Receiver<()>) {
    let alive = Arc::downgrade(state);
    let worker = state.worker.clone();
    let Some(pre) = state.prerender.clone() else {
        return;
    };
    let spawned = std::thread::Builder::new()
        .name("prerender".into())
        .spawn(move || {
            loop {
                // Changes that came before this pass are in it.
                while wake.try_recv().is_ok() {}
                // The scene of this pass; only a weak hold on the server
                // between passes, so that it can go away.
                let Some(scene) = alive.upgrade().map(|s| s.scene()) else {
                    return;
                };
                pre.busy.store(true, Ordering::Relaxed);
                let t = std::time::Instant::now();
                let before = pre.rendered.load(Ordering::Relaxed);
                let pass = pre.pass(&worker, scene, &alive);
                pre.busy.store(false, Ordering::Relaxed);
                let wait = match pass {
                    Pass::Done => {
                        let n = pre.rendered.load(Ordering::Relaxed) - before;
                        if n > 0 {
                            tracing::info!(
                                tiles = n,
                                seconds = t.elapsed().as_secs_f64(),
                                "pre-rendered"
                            );
                        }
                        None
                    }
                    Pass::Stale => continue,
                    Pass::Stopped => return,
                    Pass::Failed(e) => {
                        tracing::error!("pre-rendering failed: {e}");
                        Some(Duration::from_secs(30))
                    }
                };
                // Until the next change (or, after a failure, a while).
                loop {
                    if alive.strong_count() == 0 {
                        return;
                    }
                    match wake.recv_timeout(wait.unwrap_or(Duration::from_secs(1))) {
                        Ok(()) => break,
                        Err(mpsc::RecvTimeoutError::Timeout) if wait.is_some() => break,
                        Err(mpsc::RecvTimeoutError::Timeout) => {}
                        Err(mpsc::RecvTimeoutError::Disconnected) => return,
                    }
                }
            }
        });
    if let Err(e) = spawned {
        tracing::error!("cannot start the pre-rendering thread: {e}");
    }
}
