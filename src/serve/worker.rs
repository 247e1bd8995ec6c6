//! The render worker: one thread owns the renderer (and so the GPU). Tile
//! handlers send it jobs; it takes every job waiting, up to a batch, renders
//! them in one pass and answers each through its oneshot. Handlers never
//! render on the async runtime.

use crate::render::{Density, RenderError, RenderJob, Renderer};
use crate::scene::Scene;
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
    tx: mpsc::Sender<TileJob>,
    pub stats: Arc<WorkerStats>,
    pub describe: Arc<String>,
}

impl WorkerHandle {
    /// Starts the worker thread with `renderer`.
    pub fn spawn(mut renderer: Box<dyn Renderer + Send>) -> WorkerHandle {
        let (tx, rx) = mpsc::channel::<TileJob>();
        let stats = Arc::new(WorkerStats::default());
        let describe = Arc::new(renderer.describe());
        let worker_stats = stats.clone();
        std::thread::Builder::new()
            .name("render".into())
            .spawn(move || {
                while let Ok(first) = rx.recv() {
                    let mut batch = vec![first];
                    while batch.len() < MAX_BATCH {
                        match rx.try_recv() {
                            Ok(job) => batch.push(job),
                            Err(_) => break,
                        }
                    }
                    render_batch(renderer.as_mut(), batch, &worker_stats);
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
            .send(TileJob { job, scene, reply })
            .map_err(|_| WorkerError::Stopped)?;
        rx.await.map_err(|_| WorkerError::Dropped)?
    }
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
    // A panic inside a renderer must cost this batch, not the server.
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        renderer.render_density(scene, &jobs)
    }))
    .unwrap_or_else(|_| Err(RenderError::Gpu("the renderer panicked".into())));
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
