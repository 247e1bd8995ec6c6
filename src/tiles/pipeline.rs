//! The batch tile pipeline: render → colour and encode → write, as three
//! stages that overlap.
//!
//! The caller's thread renders batch after batch through the `Renderer`
//! (one atlas pass per batch on a GPU, all cores on the CPU); an encoder
//! thread turns the previous batch into PNGs on all cores (rayon) at the
//! same time; a writer thread hands the tiles, in the order given, to one
//! [`TileSink`]. Channels of one batch between the stages keep memory
//! bounded whatever the pyramid's size: at most about four batches of
//! densities and PNGs exist at once.
//!
//! Tiles are made exactly as `hotpot serve` makes them (same view, line
//! width, glow and tone through `render::look`, indexed PNG encoder), so an
//! exported tile is byte-identical to the served one; tiles that render
//! empty are dropped.

use super::Tile;
use crate::render::colormap::Colormap;
use crate::render::tone::{EqHistCache, Scale};
use crate::render::{Density, RenderError, RenderJob, Renderer, View, encode, glow, look};
use crate::scene::Scene;
use indicatif::ProgressBar;
use rayon::prelude::*;
use std::sync::Arc;
use std::sync::mpsc::sync_channel;
use std::time::{Duration, Instant};

/// Where finished tiles go: an archive, a folder, a cache. Called from one
/// thread, in the order the tiles were given, only for tiles with data.
pub trait TileSink: Send {
    fn put(&mut self, tile: Tile, png: &[u8]) -> Result<(), SinkError>;

    /// Called after each batch's tiles (a sink may write a batch as one
    /// transaction).
    fn flush(&mut self) -> Result<(), SinkError> {
        Ok(())
    }
}

/// A sink's failure, boxed so that every sink keeps its own error type.
pub type SinkError = Box<dyn std::error::Error + Send + Sync>;

/// How tiles look: what `hotpot serve` takes from a tile URL.
#[derive(Debug, Clone)]
pub struct TileStyleSpec {
    pub colormap: Arc<Colormap>,
    /// Line width in pixels; by zoom if `None`.
    pub line_width: Option<f32>,
    /// 256, or 512 for the `@2x` tiles.
    pub tile_size: u32,
    /// A halo under the lines (`?glow=`).
    pub glow: bool,
    /// How visits map onto the gradient (`?scale=`).
    pub scale: Scale,
}

impl TileStyleSpec {
    /// The render job of a tile, as the server makes it.
    pub fn job(&self, t: Tile) -> RenderJob {
        let view = View::tile(t.z, t.x, t.y, self.tile_size);
        match self.line_width {
            Some(w) => RenderJob {
                view,
                line_width: w,
            },
            None => RenderJob::new(view),
        }
    }

    /// How far (px) a line reaches past its centre at zoom `z`: half its
    /// width plus the anti-aliasing pixel, plus one for safety.
    pub fn reach_px(&self, z: u8) -> f64 {
        let job = self.job(Tile::new(z, 0, 0));
        let halo = if self.glow {
            glow::radius(&job) as f64
        } else {
            0.0
        };
        job.line_width as f64 / 2.0 + 2.0 + halo
    }
}

#[derive(Debug, Clone)]
pub struct PipelineOptions {
    /// Tiles per render pass.
    pub batch: usize,
    pub progress: ProgressBar,
}

impl PipelineOptions {
    /// Batches as big as the renderer draws in one pass, at most 128 tiles
    /// (128 of 256² is 32 MB of density; four batches in flight stay small).
    pub fn for_renderer(renderer: &dyn Renderer, tile_size: u32) -> PipelineOptions {
        let px = tile_size as u64 * tile_size as u64;
        let fit = renderer
            .max_pixels_per_pass()
            .map_or(128, |m| (m / px).max(1));
        PipelineOptions {
            batch: fit.min(128) as usize,
            progress: ProgressBar::hidden(),
        }
    }
}

/// What a run did, and where its time went.
#[derive(Debug, Clone, Default)]
pub struct PipelineReport {
    /// Tiles written per zoom (index = zoom).
    pub written: Vec<u64>,
    /// Tiles rendered that held nothing (lines beside the tile, masks).
    pub empty: u64,
    pub bytes: u64,
    pub batches: u64,
    /// Time in the renderer (the caller's thread).
    pub render: Duration,
    /// Wall time of colouring and encoding batches (all cores).
    pub encode: Duration,
    /// Time in the sink.
    pub write: Duration,
    pub total: Duration,
}

impl PipelineReport {
    pub fn tiles(&self) -> u64 {
        self.written.iter().sum()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error("render failed: {0}")]
    Render(#[from] RenderError),
    #[error("encoding a tile failed: {0}")]
    Encode(#[from] encode::EncodeError),
    #[error("writing tiles failed: {0}")]
    Sink(SinkError),
}

type Encoded = Vec<(Tile, Vec<u8>)>;

/// Renders `tiles` (best sorted by [`Tile::id`]) and writes those with
/// data to `sink`, in order, in batches of `opts.batch`.
pub fn run(
    renderer: &mut dyn Renderer,
    scene: &Scene,
    style: &TileStyleSpec,
    tiles: &[Tile],
    sink: &mut dyn TileSink,
    opts: &PipelineOptions,
) -> Result<PipelineReport, PipelineError> {
    let batches = tiles.chunks(opts.batch.max(1));
    let mut render = |jobs: &[RenderJob]| renderer.render_density(scene, jobs);
    run_batches(&mut render, scene, style, batches, sink, &opts.progress)
}

/// Draws one batch of jobs from the scene: a [`Renderer`] directly, or
/// one owned by another thread (the server's render worker).
pub type RenderFn<'a> = dyn FnMut(&[RenderJob]) -> Result<Vec<Density>, RenderError> + 'a;

/// [`run`] with the batches chosen by the caller (the server's
/// pre-rendering keeps each batch short, so that a tile request never
/// waits long behind one) and any way of rendering.
pub fn run_batches<'t>(
    render: &mut RenderFn<'_>,
    scene: &Scene,
    style: &TileStyleSpec,
    batches: impl Iterator<Item = &'t [Tile]>,
    sink: &mut dyn TileSink,
    progress: &ProgressBar,
) -> Result<PipelineReport, PipelineError> {
    let start = Instant::now();
    let (dense_tx, dense_rx) = sync_channel::<Vec<(Tile, Density)>>(1);
    let (png_tx, png_rx) = sync_channel::<Encoded>(1);
    let mut report = PipelineReport::default();
    let result = std::thread::scope(|s| {
        // eqhist's histogram: taken once per zoom for the whole run.
        let eqhist = EqHistCache::default();
        let encoder = s.spawn(move || -> Result<(Duration, u64), PipelineError> {
            let (mut busy, mut empty) = (Duration::ZERO, 0);
            for batch in dense_rx {
                let t = Instant::now();
                let n = batch.len();
                let pngs = encode_batch(batch, style, scene, &eqhist)?;
                empty += (n - pngs.len()) as u64;
                busy += t.elapsed();
                if png_tx.send(pngs).is_err() {
                    break;
                }
            }
            Ok((busy, empty))
        });
        let writer = s.spawn(
            move || -> Result<(Duration, Vec<u64>, u64), PipelineError> {
                let (mut busy, mut written, mut bytes) = (Duration::ZERO, vec![0u64; 32], 0);
                for batch in png_rx {
                    let t = Instant::now();
                    for (tile, png) in &batch {
                        sink.put(*tile, png).map_err(PipelineError::Sink)?;
                        written[tile.z as usize] += 1;
                        bytes += png.len() as u64;
                    }
                    sink.flush().map_err(PipelineError::Sink)?;
                    busy += t.elapsed();
                }
                Ok((busy, written, bytes))
            },
        );
        let mut rendered = Ok(());
        for chunk in batches {
            let jobs: Vec<RenderJob> = chunk
                .iter()
                .map(|&t| look::job_to_render(&style.job(t), style.glow))
                .collect();
            let t = Instant::now();
            let densities = match render(&jobs) {
                Ok(d) => d,
                Err(e) => {
                    rendered = Err(PipelineError::Render(e));
                    break;
                }
            };
            report.render += t.elapsed();
            report.batches += 1;
            progress.inc(chunk.len() as u64);
            let batch = chunk.iter().copied().zip(densities).collect();
            if dense_tx.send(batch).is_err() {
                break; // a later stage failed: its error is below
            }
        }
        drop(dense_tx);
        let encoded = encoder.join().expect("encoder thread panicked");
        let written = writer.join().expect("writer thread panicked");
        rendered?;
        let (encode, empty) = encoded?;
        let (write, per_zoom, bytes) = written?;
        report.encode = encode;
        report.empty = empty;
        report.write = write;
        report.bytes = bytes;
        let last = per_zoom.iter().rposition(|&n| n > 0).map_or(0, |z| z + 1);
        report.written = per_zoom[..last].to_vec();
        Ok(())
    });
    result.map(|()| {
        report.total = start.elapsed();
        report
    })
}

/// Finishes (halo, tone), colours and encodes a batch on all cores,
/// dropping empty tiles, in order.
fn encode_batch(
    batch: Vec<(Tile, Density)>,
    style: &TileStyleSpec,
    scene: &Scene,
    eqhist: &EqHistCache,
) -> Result<Encoded, PipelineError> {
    let encoded: Result<Vec<Option<_>>, encode::EncodeError> = batch
        .into_par_iter()
        .map(|(tile, d)| {
            let job = style.job(tile);
            let cm = style.colormap.clone();
            let (d, cm) = look::finish(d, &job, style.glow, style.scale, cm, scene, eqhist);
            if d.data.iter().all(|&v| v == 0) {
                return Ok(None);
            }
            encode::indexed_png(&d, &cm).map(|png| Some((tile, png)))
        })
        .collect();
    Ok(encoded?.into_iter().flatten().collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geo::WorldPoint;
    use crate::render::colormap::Gradient;
    use crate::render::cpu::CpuRenderer;
    use crate::store::track::Track;

    struct Collect(Vec<(Tile, Vec<u8>)>, Option<usize>);

    impl TileSink for Collect {
        fn put(&mut self, tile: Tile, png: &[u8]) -> Result<(), SinkError> {
            if self.1 == Some(self.0.len()) {
                return Err("disk full".into());
            }
            self.0.push((tile, png.to_vec()));
            Ok(())
        }
    }

    fn setup() -> (Scene, TileStyleSpec, Vec<Tile>) {
        let line: Vec<WorldPoint> = (0..50)
            .map(|i| WorldPoint::from_lonlat(13.30 + i as f64 * 0.002, 52.45))
            .collect();
        let scene = Scene::from_tracks(vec![(1, Track::from_segments(&[line]))]);
        let style = TileStyleSpec {
            colormap: Arc::new(Colormap::new(Gradient::palette("hot").unwrap(), None)),
            line_width: None,
            tile_size: 256,
            glow: false,
            scale: Scale::Counts,
        };
        let plan = super::super::enumerate(&scene, 10..=13, None, 256, |z| style.reach_px(z));
        // Tiles far from the line render empty and must be dropped.
        let mut tiles: Vec<Tile> = plan.iter().map(|w| w.tile).collect();
        tiles.push(Tile::new(13, 0, 0));
        (scene, style, tiles)
    }

    /// Runs the pipeline over `setup`'s tiles in batches of `batch`.
    fn run_into(
        sink: &mut Collect,
        batch: usize,
    ) -> (
        Result<PipelineReport, PipelineError>,
        Scene,
        TileStyleSpec,
        Vec<Tile>,
    ) {
        let (scene, style, tiles) = setup();
        let opts = PipelineOptions {
            batch,
            progress: ProgressBar::hidden(),
        };
        let r = run(&mut CpuRenderer::new(), &scene, &style, &tiles, sink, &opts);
        (r, scene, style, tiles)
    }

    #[test]
    fn tiles_come_out_in_order_as_served_and_empty_ones_dropped() {
        let mut sink = Collect(Vec::new(), None);
        let (r, scene, style, tiles) = run_into(&mut sink, 3);
        let r = r.unwrap();
        assert_eq!(r.empty, 1);
        assert_eq!(r.tiles() as usize, sink.0.len());
        assert_eq!(sink.0.len(), tiles.len() - 1);
        assert!(sink.0.iter().zip(&tiles).all(|((a, _), b)| a == b));
        // The server's way: one job, indexed PNG.
        let (t, png) = &sink.0[sink.0.len() / 2];
        let d = CpuRenderer::new()
            .render_density(&scene, &[style.job(*t)])
            .unwrap()
            .remove(0);
        assert_eq!(*png, encode::indexed_png(&d, &style.colormap).unwrap());
    }

    #[test]
    fn a_failing_sink_stops_the_run_with_its_error() {
        let mut sink = Collect(Vec::new(), Some(2));
        let e = run_into(&mut sink, 2).0.unwrap_err();
        assert!(e.to_string().contains("disk full"), "{e}");
    }
}
