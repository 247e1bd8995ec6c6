//! The CPU renderer: the reference implementation of [`super::coverage`].
//!
//! It draws the same LOD runs as the GPU ([`super::lod::Level`], built per
//! track on first use and kept per scene and level, see
//! [`super::track_levels`]), culled by their tracks' boxes, then their own. One big job is split across
//! threads by runs, each thread drawing into its own buffer, and the
//! buffers are summed at the end; fixed-point sums make the result
//! independent of which thread drew what. Jobs too big for a buffer per
//! thread are drawn in horizontal bands, in place. Batches of small jobs
//! (tiles) run one job per thread instead.

use super::coverage::{Segment, coverage_at, for_each_segment};
use super::level_cache::LevelCache;
use super::lod::{Level, LevelKey, Run};
use super::track_levels::LazyLevel;
use super::{DENSITY_ONE, Density, RenderError, RenderJob, Renderer};
use crate::scene::Scene;
use rayon::prelude::*;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Per-thread buffers are only used while they fit in this many bytes
/// together; bigger pictures are drawn in horizontal bands, in place.
const BUFFER_BUDGET: usize = 512 << 20;
/// Pixels per band when drawing in bands.
const BAND_PIXELS: usize = 1 << 19;
/// Levels kept, over all scenes.
const MAX_LEVELS: usize = 12;

pub struct CpuRenderer {
    levels: LevelCache<Arc<LazyLevel>>,
    /// Buffers of finished jobs (handed back through
    /// [`Renderer::recycle`], or left over from summing), reused for the
    /// next: a poster draws hundreds of equal strips, and a fresh buffer
    /// costs a page fault per 4 KiB (15% of a poster's time).
    spare: Vec<Vec<u32>>,
}

impl Default for CpuRenderer {
    fn default() -> CpuRenderer {
        // About 10 bytes a point: 1 GB holds every level of ~13 M points
        // many times over.
        CpuRenderer {
            levels: LevelCache::new(MAX_LEVELS, 1 << 30, |l| l.weight()),
            spare: Vec::new(),
        }
    }
}

impl CpuRenderer {
    pub fn new() -> CpuRenderer {
        CpuRenderer::default()
    }

    /// The levels `jobs` need (their tracks are built as jobs meet them).
    fn levels_for(
        &mut self,
        scene: &Scene,
        jobs: &[RenderJob],
    ) -> HashMap<LevelKey, Arc<LazyLevel>> {
        self.levels.begin();
        let mut wanted = HashMap::new();
        for job in jobs {
            let key = LevelKey::for_job(job, scene);
            let level = self
                .levels
                .get_or_build(scene.id, key, || Arc::new(LazyLevel::new(scene, key)));
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
            let d = render_parallel(&level(&jobs[0]), scene, &jobs[0], &mut self.spare)?;
            return Ok(vec![d]);
        }
        Ok(jobs
            .par_iter()
            .map(|job| render_serial(&level(job), scene, job))
            .collect())
    }

    fn prepare(&mut self, scene: &Scene, jobs: &[RenderJob]) {
        let levels = self.levels_for(scene, jobs);
        for job in jobs {
            levels[&LevelKey::for_job(job, scene)].build_for(scene, job);
        }
    }

    fn recycle(&mut self, density: Density) {
        if self.spare.len() <= rayon::current_num_threads() {
            self.spare.push(density.data);
        }
    }
}

/// One job on all threads, in buffers from `spare` where there are any.
fn render_parallel(
    level: &LazyLevel,
    scene: &Scene,
    job: &RenderJob,
    spare: &mut Vec<Vec<u32>>,
) -> Result<Density, RenderError> {
    let (w, h) = (job.view.width, job.view.height);
    let threads = rayon::current_num_threads().max(1);
    let pixels = w as usize * h as usize;
    if pixels
        .checked_mul(4 * (threads + 1))
        .is_none_or(|bytes| bytes > BUFFER_BUDGET)
    {
        return render_in_bands(level, scene, job);
    }
    let runs = level.visible_runs(scene, job);
    // Small chunks handed out on demand balance dense and sparse areas.
    let next = AtomicUsize::new(0);
    const CHUNK: usize = 64;
    let buffers: Vec<Vec<u32>> = (0..threads)
        .map(|_| spare.pop().unwrap_or_default())
        .collect();
    let mut partials: Vec<Vec<u32>> = buffers
        .into_par_iter()
        .map(|mut buf| {
            buf.clear();
            buf.resize(pixels, 0);
            let mut scratch = Vec::new();
            loop {
                let start = next.fetch_add(CHUNK, Ordering::Relaxed);
                if start >= runs.len() {
                    break;
                }
                for &(level, run) in &runs[start..(start + CHUNK).min(runs.len())] {
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
    spare.extend(partials);
    Ok(Density {
        width: w,
        height: h,
        data,
    })
}

/// A picture too big for per-thread buffers: horizontal bands drawn in
/// place, one per thread at a time. Bands share the view's grid, so they
/// join seamlessly; small bands balance dense and sparse areas, and cost
/// only a cull of the runs each.
fn render_in_bands(
    level: &LazyLevel,
    scene: &Scene,
    job: &RenderJob,
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
    let band_rows = (BAND_PIXELS / w as usize).clamp(1, h as usize) as u32;
    let mut data = Vec::new();
    data.try_reserve_exact(total).map_err(|_| too_large)?;
    data.resize(total, 0);
    data.par_chunks_mut(band_rows as usize * w as usize)
        .enumerate()
        .for_each(|(i, out)| {
            let band = RenderJob {
                view: job.view.sub_view(
                    0,
                    i as u32 * band_rows,
                    w,
                    (out.len() / w as usize) as u32,
                ),
                ..*job
            };
            draw_all(level, scene, &band, out);
        });
    Ok(Density {
        width: w,
        height: h,
        data,
    })
}

fn render_serial(level: &LazyLevel, scene: &Scene, job: &RenderJob) -> Density {
    let mut d = Density::zeros(job.view.width, job.view.height);
    draw_all(level, scene, job, &mut d.data);
    d
}

/// Draws every visible run of `job` into `buf` (the job's pixels).
fn draw_all(level: &LazyLevel, scene: &Scene, job: &RenderJob, buf: &mut [u32]) {
    let mut scratch = Vec::new();
    for (level, run) in level.visible_runs(scene, job) {
        draw_run(level, run, job, buf, &mut scratch);
    }
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
    match s.joints() {
        (true, true) => raster_at::<true, true>(s, hw, w, h, buf),
        (true, false) => raster_at::<true, false>(s, hw, w, h, buf),
        (false, true) => raster_at::<false, true>(s, hw, w, h, buf),
        (false, false) => raster_at::<false, false>(s, hw, w, h, buf),
    }
}

/// [`raster`] for one kind of segment ends. The pixel loop has no branches
/// and works in f32 only, so it compiles to vector code; wide lines on big
/// posters spend most of their time here (measured: a third less time than
/// per-pixel branches, with [`to_fixed`] vectorized too).
#[inline(always)]
fn raster_at<const JA: bool, const JB: bool>(
    s: &Segment,
    hw: f32,
    w: u32,
    h: u32,
    buf: &mut [u32],
) {
    let q = s.footprint(hw);
    let bb = q.quad.bbox();
    let y0 = first_center(bb[1]);
    let y1 = last_center(bb[3]).min(h as i64 - 1);
    // A pixel centre's x offset from `a` is `(x + 0.5) - a.x`. Split as
    // `(x - floor(a.x)) + (0.5 - fract(a.x))`: an integer, exact in f32,
    // plus a constant. Both parts are the same in every view of the grid
    // (local coordinates differ by whole pixels), so tiles and strips stay
    // pixel-exact crops of the whole.
    let (fa, ca) = split(s.a[0]);
    let (fb, cb) = split(s.b[0]);
    for y in y0..=y1 {
        let yc = y as f64 + 0.5;
        let Some((xa, xb)) = q.span_at(yc) else {
            continue;
        };
        let x0 = first_center(xa);
        let x1 = last_center(xb).min(w as i64 - 1);
        if x1 < x0 {
            continue;
        }
        let row = &mut buf[(y as usize * w as usize)..][..w as usize];
        let qy_a = (yc - s.a[1]) as f32;
        let qy_b = (yc - s.b[1]) as f32;
        let (ka, kb) = ((x0 - fa) as i32, (x0 - fb) as i32);
        for (k, cell) in (0..).zip(&mut row[x0 as usize..=x1 as usize]) {
            let c = coverage_at::<JA, JB>(
                s,
                [(ka + k) as f32 + ca, qy_a],
                [(kb + k) as f32 + cb, qy_b],
                hw,
            );
            // Wrapping, not saturating: SSE2 has no unsigned min, and one
            // pixel would need four million visits to wrap.
            *cell = cell.wrapping_add(to_fixed(c));
        }
    }
}

/// `v` as `(floor(v), 0.5 - fract(v))`, see [`raster_at`]. Casts instead of
/// `floor`, a libm call on baseline x86-64.
#[inline(always)]
fn split(v: f64) -> (i64, f32) {
    let t = v as i64;
    let f = if (t as f64) > v { t - 1 } else { t };
    (f, (0.5 - (v - f as f64)) as f32)
}

/// The first non-negative pixel whose centre is at or after `v`. Casts
/// instead of `ceil`, which is a libm call on baseline x86-64. Exact, not
/// one pixel generous on either side as it was: a 1.5 px line crosses a
/// row in about three pixels, and two more per row were a third of the
/// pixel work on dense city tiles. The footprint's margin already keeps
/// every pixel the coverage test could light.
#[inline(always)]
fn first_center(v: f64) -> i64 {
    let t = v - 0.5;
    if t <= 0.0 {
        return 0;
    }
    let i = t as i64;
    if (i as f64) < t { i + 1 } else { i }
}

/// The last pixel whose centre is at or before `v` (-1 if none).
#[inline(always)]
fn last_center(v: f64) -> i64 {
    let t = v - 0.5;
    if t < 0.0 { -1 } else { t as i64 }
}

/// Coverage in [0, 1] to fixed point, rounding to nearest.
#[inline(always)]
pub fn to_fixed(c: f32) -> u32 {
    // Clamped without NaN (`max` drops it), so the value is in
    // [0.5, DENSITY_ONE + 0.5] and an unchecked conversion is exact. The
    // checked `as` would keep the pixel loop from running as vector code.
    #[allow(clippy::manual_clamp)]
    let t = c.max(0.0).min(1.0) * DENSITY_ONE as f32 + 0.5;
    // SAFETY: `t` is finite and within i32's range, see above.
    unsafe { t.to_int_unchecked::<i32>() as u32 }
}
