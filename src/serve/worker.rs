//! The render worker: one thread owns the renderer (and so the GPU). Tile
//! handlers send it jobs; it takes every job waiting, up to a batch, renders
//! them in one pass and answers each through its oneshot. Handlers never
//! render on the async runtime.
//!
//! While no tile is waiting it prepares the scene's levels of detail for
//! the zooms maps use, lowest first ([`WorkerHandle::warm`]): a zoom's first
//! tile otherwise waits for its level (up to a few hundred ms on the
//! benchmark set, see `benches/serve.rs`). Tiles always go first; a warm-up
//! step is one level.

use crate::render::View;
use crate::render::{Density, RenderError, RenderJob, Renderer};
use crate::scene::Scene;
use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use tokio::sync::oneshot;

/// Tiles per pass at most: 256 tiles of 256² is a 4096² atlas.
pub const MAX_BATCH: usize = 256;

pub struct TileJob {
    pub job: RenderJob,
    /// What to draw from: the whole scene or a filtered one.
    pub scene: Arc<Scene>,
    pub reply: oneshot::Sender<Result<Density, WorkerError>>,
}

/// Why the worker gave no density. The renderer's error is shared by every
/// job of the failed pass.
#[derive(Debug, Clone, thiserror::Error)]
pub enum WorkerError {
    #[error("the render worker has stopped")]
    Stopped,
    #[error("the render worker dropped the job")]
    Dropped,
    #[error(transparent)]
    Render(Arc<RenderError>),
}

/// Levels of detail the worker prepares while idle, in this order: those
/// of 256 px tiles at these zooms, which are also those of 512 px tiles a
/// zoom lower. City and region zooms first (where a map opens on a
/// person's own data), then the continent zooms, whose levels are small.
fn warm_levels() -> impl Iterator<Item = u8> {
    (8..=17).chain(1..=7)
}

enum Msg {
    Tile(TileJob),
    /// A batch for the pre-rendering: drawn only while no tile waits.
    Background(BackgroundJob),
    /// Prepare this scene (it replaces any scene still being prepared).
    Warm(Arc<Scene>),
}

struct BackgroundJob {
    scene: Arc<Scene>,
    jobs: Vec<RenderJob>,
    reply: mpsc::Sender<Result<Vec<Density>, RenderError>>,
}

/// What the worker did, for `/api/stats`.
#[derive(Debug, Default)]
pub struct WorkerStats {
    pub passes: AtomicU64,
    pub tiles: AtomicU64,
    pub max_batch: AtomicU64,
    pub render_ms: AtomicU64,
}

#[derive(Clone)]
pub struct WorkerHandle {
    tx: mpsc::Sender<Msg>,
    pub stats: Arc<WorkerStats>,
    pub describe: Arc<String>,
}

impl WorkerHandle {
    /// Starts the worker thread with `renderer`.
    pub fn spawn(mut renderer: Box<dyn Renderer + Send>) -> WorkerHandle {
        let (tx, rx) = mpsc::channel::<Msg>();
        let stats = Arc::new(WorkerStats::default());
        let describe = Arc::new(renderer.describe());
        let worker_stats = stats.clone();
        std::thread::Builder::new()
            .name("render".into())
            .spawn(move || {
                let mut warm: VecDeque<(Arc<Scene>, RenderJob)> = VecDeque::new();
                let mut background: VecDeque<BackgroundJob> = VecDeque::new();
                loop {
                    let next = if warm.is_empty() && background.is_empty() {
                        rx.recv().map_err(|_| mpsc::TryRecvError::Disconnected)
                    } else {
                        rx.try_recv()
                    };
                    let mut batch = Vec::new();
                    match next {
                        Ok(msg) => take(msg, &mut batch, &mut warm, &mut background),
                        Err(mpsc::TryRecvError::Disconnected) => break,
                        // Nothing waits: a level first (tiles of every
                        // style use it), then a pre-rendering batch.
                        Err(mpsc::TryRecvError::Empty) => {
                            if let Some((scene, job)) = warm.pop_front() {
                                prepare(renderer.as_mut(), &scene, job);
                            } else if let Some(job) = background.pop_front() {
                                render_background(renderer.as_mut(), job);
                            }
                        }
                    }
                    while !batch.is_empty() && batch.len() < MAX_BATCH {
                        match rx.try_recv() {
                            Ok(msg) => take(msg, &mut batch, &mut warm, &mut background),
                            Err(_) => break,
                        }
                    }
                    if !batch.is_empty() {
                        render_batch(renderer.as_mut(), batch, &worker_stats);
                    }
                }
            })
            .expect("spawn render thread");
        WorkerHandle {
            tx,
            stats,
            describe,
        }
    }

    /// Renders one job through the worker.
    pub async fn render(&self, job: RenderJob, scene: Arc<Scene>) -> Result<Density, WorkerError> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Msg::Tile(TileJob { job, scene, reply }))
            .map_err(|_| WorkerError::Stopped)?;
        rx.await.map_err(|_| WorkerError::Dropped)?
    }

    /// Renders `jobs` from `scene` when no tile request waits, blocking
    /// the calling thread (the pre-rendering's) until done.
    pub fn render_background(
        &self,
        scene: Arc<Scene>,
        jobs: Vec<RenderJob>,
    ) -> Result<Vec<Density>, WorkerError> {
        let (reply, rx) = mpsc::channel();
        self.tx
            .send(Msg::Background(BackgroundJob { scene, jobs, reply }))
            .map_err(|_| WorkerError::Stopped)?;
        rx.recv()
            .map_err(|_| WorkerError::Dropped)?
            .map_err(|e| WorkerError::Render(Arc::new(e)))
    }

    /// Prepares `scene`'s levels of detail while no tile waits (after
    /// start, and after the scene changes).
    pub fn warm(&self, scene: Arc<Scene>) {
        let _ = self.tx.send(Msg::Warm(scene));
    }
}

/// One job per level of [`warm_levels`], each covering all of `scene`.
fn warm_jobs(scene: &Arc<Scene>) -> VecDeque<(Arc<Scene>, RenderJob)> {
    let Some(b) = scene.bounds() else {
        return VecDeque::new();
    };
    warm_levels()
        .map(|z| {
            // The tiles covering the bounds, as one view: same grid and
            // scale as each of them, so the same level and line width.
            let n = (1u64 << z) as f64;
            let tile = |v: f64| (v * n).clamp(0.0, n - 1.0) as u32;
            let (x0, y0, x1, y1) = (tile(b.x0), tile(b.y0), tile(b.x1), tile(b.y1));
            let mut view = View::tile(z, x0, y0, 256);
            let px = |tiles: u32| (tiles as u64 * 256).min(u32::MAX as u64) as u32;
            view.width = px(x1 - x0 + 1);
            view.height = px(y1 - y0 + 1);
            (scene.clone(), RenderJob::new(view))
        })
        .collect()
}

fn prepare(renderer: &mut dyn Renderer, scene: &Scene, job: RenderJob) {
    let done = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        renderer.prepare(scene, &[job])
    }));
    if done.is_err() {
        tracing::error!("preparing a level of detail panicked");
    }
}

/// Puts a message where it belongs: a tile into the batch, the rest in
/// their queues.
fn take(
    msg: Msg,
    batch: &mut Vec<TileJob>,
    warm: &mut VecDeque<(Arc<Scene>, RenderJob)>,
    background: &mut VecDeque<BackgroundJob>,
) {
    match msg {
        Msg::Tile(job) => batch.push(job),
        Msg::Warm(scene) => *warm = warm_jobs(&scene),
        Msg::Background(job) => background.push_back(job),
    }
}

fn render_background(renderer: &mut dyn Renderer, job: BackgroundJob) {
    let _ = job
        .reply
        .send(render_guarded(renderer, &job.scene, &job.jobs));
}

/// One pass of the renderer; a panic inside it costs this pass, not the
/// server.
fn render_guarded(
    renderer: &mut dyn Renderer,
    scene: &Scene,
    jobs: &[RenderJob],
) -> Result<Vec<Density>, RenderError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        renderer.render_density(scene, jobs)
    }))
    .unwrap_or_else(|_| Err(RenderError::Gpu("the renderer panicked".into())))
}

/// Renders a batch: one pass per distinct scene in it (usually one).
fn render_batch(renderer: &mut dyn Renderer, mut batch: Vec<TileJob>, stats: &WorkerStats) {
    while !batch.is_empty() {
        let scene = batch[0].scene.clone();
        let (same, rest): (Vec<TileJob>, Vec<TileJob>) =
            batch.into_iter().partition(|t| t.scene.id == scene.id);
        render_pass(renderer, &scene, same, stats);
        batch = rest;
    }
}

fn render_pass(
    renderer: &mut dyn Renderer,
    scene: &Scene,
    batch: Vec<TileJob>,
    stats: &WorkerStats,
) {
    let jobs: Vec<RenderJob> = batch.iter().map(|t| t.job).collect();
    let t = std::time::Instant::now();
    let result = render_guarded(renderer, scene, &jobs);
    stats
        .render_ms
        .fetch_add(t.elapsed().as_millis() as u64, Ordering::Relaxed);
    stats.passes.fetch_add(1, Ordering::Relaxed);
    stats.tiles.fetch_add(batch.len() as u64, Ordering::Relaxed);
    stats
        .max_batch
        .fetch_max(batch.len() as u64, Ordering::Relaxed);
    match result {
        Ok(densities) => {
            for (t, d) in batch.into_iter().zip(densities) {
                let _ = t.reply.send(Ok(d));
            }
        }
        Err(e) => {
            tracing::error!("render failed: {e}");
            let e = Arc::new(e);
            for t in batch {
                let _ = t.reply.send(Err(WorkerError::Render(e.clone())));
            }
        }
    }
}
