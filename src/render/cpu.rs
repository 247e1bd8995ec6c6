//! The CPU renderer: the reference implementation of [`super::coverage`].
//!
//! It draws the same LOD runs as the GPU ([`super::lod::Level`], kept per
//! scene and level), culled by their boxes. One big job is split across
//! threads by runs, each thread drawing into its own buffer, and the
//! buffers are summed at the end; fixed-point sums make the result
//! independent of which thread drew what. Batches of small jobs (tiles) run
//! one job per thread instead.

use super::coverage::{Segment, coverage, for_each_segment};
use super::level_cache::LevelCache;
use super::lod::{self, Level, LevelKey, Run};
use super::{DENSITY_ONE, Density, RenderError, RenderJob, Renderer};
use crate::scene::Scene;
use rayon::prelude::*;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Per-thread buffers are only used while they fit in this many bytes
/// together; bigger pictures are drawn in horizontal strips.
const BUFFER_BUDGET: usize = 512 << 20;
/// Levels kept, over all scenes.
const MAX_LEVELS: usize = 12;

pub struct CpuRenderer {
    levels: LevelCache<Arc<Level>>,
}

impl Default for CpuRenderer {
    fn default() -> CpuRenderer {
        // About 8 bytes a point: 1 GB holds every level of ~13 M points many
        // times over.
        CpuRenderer {
            levels: LevelCache::new(MAX_LEVELS, 1 << 30, |l| l.points.len() as u64 * 8),
        }
    }
}

impl CpuRenderer {
    pub fn new() -> CpuRenderer {
        CpuRenderer::default()
    }

    /// The levels `jobs` need, built on first use.
    fn levels_for(&mut self, scene: &Scene, jobs: &[RenderJob]) -> HashMap<LevelKey, Arc<Level>> {
        self.levels.begin();
        let mut wanted = HashMap::new();
        for job in jobs {
            let key = LevelKey::for_job(job, scene);
            let level = self
                .levels
                .get_or_build(scene.id, key, || Arc::new(Level::build(scene, key)));
            wanted.entry(key).or_insert_with(|| level.clone());
        }
        self.levels.evict();
        wanted
    }
}

impl Renderer for CpuRenderer {
    fn describe(&self) -> String {
        format!("cpu ({} threads)", rayon::current_num_threads())
    }

    fn render_density(
        &mut self,
        scene: &Scene,
        jobs: &[RenderJob],
    ) -> Result<Vec<Density>, RenderError> {
        let levels = self.levels_for(scene, jobs);
        let level = |job: &RenderJob| levels[&LevelKey::for_job(job, scene)].clone();
        if jobs.len() == 1 {
            return Ok(vec![render_parallel(&level(&jobs[0]), &jobs[0])?]);
        }
        Ok(jobs
            .par_iter()
            .map(|job| render_serial(&level(job), job))
            .collect())
    }
}

/// One job on all threads.
fn render_parallel(level: &Level, job: &RenderJob) -> Result<Density, RenderError> {
    let (w, h) = (job.view.width, job.view.height);
    let threads = rayon::current_num_threads().max(1);
    let pixels = w as usize * h as usize;
    if pixels
        .checked_mul(4 * (threads + 1))
        .is_none_or(|bytes| bytes > BUFFER_BUDGET)
    {
        return render_in_strips(level, job, threads);
    }
    let runs = visible_runs(level, job);
    // Small chunks handed out on demand balance dense and sparse areas.
    let next = AtomicUsize::new(0);
    const CHUNK: usize = 64;
    let mut partials: Vec<Vec<u32>> = (0..threads)
        .into_par_iter()
        .map(|_| {
            let mut buf = vec![0u32; pixels];
            let mut scratch = Vec::new();
            loop {
                let start = next.fetch_add(CHUNK, Ordering::Relaxed);
                if start >= runs.len() {
                    break;
                }
                for run in &runs[start..(start + CHUNK).min(runs.len())] {
                    draw_run(level, run, job, &mut buf, &mut scratch);
                }
            }
            buf
        })
        .collect();
    let mut data = partials.pop().unwrap_or_else(|| vec![0; pixels]);
    data.par_chunks_mut(w as usize)
        .enumerate()
        .for_each(|(row, out)| {
            let range = row * w as usize..(row + 1) * w as usize;
            for p in &partials {
                for (o, v) in out.iter_mut().zip(&p[range.clone()]) {
                    *o = o.saturating_add(*v);
                }
            }
        });
    Ok(Density {
        width: w,
        height: h,
        data,
    })
}

/// A picture too big for per-thread buffers: horizontal strips, one per
/// thread at a time. Strips share the view's grid, so they join seamlessly.
fn render_in_strips(
    level: &Level,
    job: &RenderJob,
    threads: usize,
) -> Result<Density, RenderError> {
    let (w, h) = (job.view.width, job.view.height);
    let too_large = RenderError::TooLarge {
        width: w,
        height: h,
    };
    let total = (w as usize)
        .checked_mul(h as usize)
        .filter(|&p| p <= isize::MAX as usize / 4);
    let Some(total) = total else {
        return Err(too_large);
    };
    let strip_rows = (BUFFER_BUDGET / 4 / threads / w as usize).clamp(1, h as usize) as u32;
    let mut data = Vec::new();
    data.try_reserve_exact(total).map_err(|_| too_large)?;
    data.resize(total, 0);
    data.par_chunks_mut(strip_rows as usize * w as usize)
        .enumerate()
        .for_each(|(i, out)| {
            let y = i as u32 * strip_rows;
            let rows = (out.len() / w as usize) as u32;
            let strip = RenderJob {
                view: job.view.sub_view(0, y, w, rows),
                ..*job
            };
            out.copy_from_slice(&render_serial(level, &strip).data);
        });
    Ok(Density {
        width: w,
        height: h,
        data,
    })
}

fn render_serial(level: &Level, job: &RenderJob) -> Density {
    let mut d = Density::zeros(job.view.width, job.view.height);
    let mut scratch = Vec::new();
    for run in visible_runs(level, job) {
        draw_run(level, run, job, &mut d.data, &mut scratch);
    }
    d
}

/// Runs whose box, grown by the line's reach, meets the view.
fn visible_runs<'l>(level: &'l Level, job: &RenderJob) -> Vec<&'l Run> {
    let rect = lod::reach_rect(job);
    level.runs.iter().filter(|r| r.touches(rect)).collect()
}

fn draw_run(
    level: &Level,
    run: &Run,
    job: &RenderJob,
    buf: &mut [u32],
    scratch: &mut Vec<[f64; 2]>,
) {
    let hw = job.line_width / 2.0;
    let ends = (run.span.lead, run.span.tail);
    for_each_segment(&job.view, run.points(level), ends, hw, scratch, |s| {
        raster(s, hw, job.view.width, job.view.height, buf)
    });
}

/// Adds one segment's coverage to the pixels of its quad.
fn raster(s: &Segment, hw: f32, w: u32, h: u32, buf: &mut [u32]) {
    let q = s.quad(hw);
    let bb = q.bbox();
    let y0 = first_center(bb[1]);
    let y1 = last_center(bb[3]).min(h as i64 - 1);
    for y in y0..=y1 {
        let yc = y as f64 + 0.5;
        let Some((xa, xb)) = q.span_at(yc) else {
            continue;
        };
        let x0 = first_center(xa);
        let x1 = last_center(xb).min(w as i64 - 1);
        let row = &mut buf[(y as usize * w as usize)..][..w as usize];
        let qy_a = (yc - s.a[1]) as f32;
        let qy_b = (yc - s.b[1]) as f32;
        for x in x0..=x1 {
            let xc = x as f64 + 0.5;
            let c = coverage(
                s,
                [(xc - s.a[0]) as f32, qy_a],
                [(xc - s.b[0]) as f32, qy_b],
                hw,
            );
            if c > 0.0 {
                let cell = &mut row[x as usize];
                *cell = cell.saturating_add(to_fixed(c));
            }
        }
    }
}

/// The first non-negative pixel whose centre is at or after `v`. Casts
/// instead of `ceil`, which is a libm call on baseline x86-64; being off by
/// one towards more pixels is harmless, the coverage test decides.
#[inline(always)]
fn first_center(v: f64) -> i64 {
    let t = v - 0.5;
    if t <= 0.0 { 0 } else { t as i64 }
}

/// The last pixel whose centre is at or before `v` (or a little after).
#[inline(always)]
fn last_center(v: f64) -> i64 {
    let t = v - 0.5;
    if t < 0.0 { -1 } else { t as i64 + 1 }
}

/// Coverage in [0, 1] to fixed point, rounding to nearest.
#[inline]
pub fn to_fixed(c: f32) -> u32 {
    (c * DENSITY_ONE as f32 + 0.5) as u32
}
