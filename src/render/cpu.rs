//! The CPU renderer: the reference implementation of [`super::coverage`].
//!
//! Work is split by tracks: each worker thread rasterizes whole tracks into
//! its own buffer, and the buffers are summed at the end. Fixed-point sums
//! make the result independent of which thread drew what. Batches of small
//! jobs (tiles) run one job per thread instead.

use super::coverage::{Segment, coverage, for_each_segment};
use super::lod;
use super::{DENSITY_ONE, Density, RenderError, RenderJob, Renderer};
use crate::geo::{WORLD_SIZE, WorldPoint};
use crate::scene::{Scene, SceneTrack};
use rayon::prelude::*;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Per-thread buffers are only used while they fit in this many bytes
/// together; bigger pictures are drawn in horizontal strips.
const BUFFER_BUDGET: usize = 512 << 20;

#[derive(Debug, Clone, Default)]
pub struct CpuRenderer;

impl CpuRenderer {
    pub fn new() -> CpuRenderer {
        CpuRenderer
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
        if jobs.len() == 1 {
            return Ok(vec![render_parallel(scene, &jobs[0])?]);
        }
        Ok(jobs
            .par_iter()
            .map(|job| render_serial(job, visible_tracks(scene, job)))
            .collect())
    }
}

/// One job on all threads.
fn render_parallel(scene: &Scene, job: &RenderJob) -> Result<Density, RenderError> {
    let (w, h) = (job.view.width, job.view.height);
    let threads = rayon::current_num_threads().max(1);
    let pixels = w as usize * h as usize;
    if pixels
        .checked_mul(4 * (threads + 1))
        .is_none_or(|bytes| bytes > BUFFER_BUDGET)
    {
        return render_in_strips(scene, job, threads);
    }
    let tracks = visible_tracks(scene, job);
    // Small chunks handed out on demand balance long and short tracks.
    let next = AtomicUsize::new(0);
    const CHUNK: usize = 16;
    let partials: Vec<Vec<u32>> = (0..threads)
        .into_par_iter()
        .map(|_| {
            let mut buf = vec![0u32; pixels];
            let mut scratch = Scratch::default();
            loop {
                let start = next.fetch_add(CHUNK, Ordering::Relaxed);
                if start >= tracks.len() {
                    break;
                }
                for t in &tracks[start..(start + CHUNK).min(tracks.len())] {
                    draw_track(t, job, &mut buf, &mut scratch);
                }
            }
            buf
        })
        .collect();
    let mut data = vec![0u32; pixels];
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
    scene: &Scene,
    job: &RenderJob,
    threads: usize,
) -> Result<Density, RenderError> {
    let (w, h) = (job.view.width, job.view.height);
    let total = (w as usize)
        .checked_mul(h as usize)
        .filter(|&p| p <= isize::MAX as usize / 4);
    let Some(total) = total else {
        return Err(RenderError::TooLarge {
            width: w,
            height: h,
        });
    };
    let strip_rows = (BUFFER_BUDGET / 4 / threads / w as usize).clamp(1, h as usize) as u32;
    let mut data = Vec::new();
    data.try_reserve_exact(total)
        .map_err(|_| RenderError::TooLarge {
            width: w,
            height: h,
        })?;
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
            let d = render_serial(&strip, visible_tracks(scene, &strip));
            out.copy_from_slice(&d.data);
        });
    Ok(Density {
        width: w,
        height: h,
        data,
    })
}

fn render_serial(job: &RenderJob, tracks: Vec<&SceneTrack>) -> Density {
    let mut d = Density::zeros(job.view.width, job.view.height);
    let mut scratch = Scratch::default();
    for t in tracks {
        draw_track(t, job, &mut d.data, &mut scratch);
    }
    d
}

/// Tracks whose box, grown by the line's reach, meets the view.
fn visible_tracks<'s>(scene: &'s Scene, job: &RenderJob) -> Vec<&'s SceneTrack> {
    let r = job.view.rect();
    let margin = [
        (job.line_width as f64 + 4.0) / job.view.scale[0],
        (job.line_width as f64 + 4.0) / job.view.scale[1],
    ];
    let (x0, x1) = (
        (r.x0 - margin[0]) * WORLD_SIZE,
        (r.x1 + margin[0]) * WORLD_SIZE,
    );
    let (y0, y1) = (
        (r.y0 - margin[1]) * WORLD_SIZE,
        (r.y1 + margin[1]) * WORLD_SIZE,
    );
    scene
        .tracks
        .iter()
        .filter(|t| {
            t.bbox[2] as f64 >= x0
                && t.bbox[0] as f64 <= x1
                && t.bbox[3] as f64 >= y0
                && t.bbox[1] as f64 <= y1
        })
        .collect()
}

fn draw_track(t: &SceneTrack, job: &RenderJob, buf: &mut [u32], scratch: &mut Scratch) {
    let hw = job.line_width / 2.0;
    let level = lod::level_for(&job.view);
    for seg in t.track.segments() {
        lod::simplify(seg, level, &mut scratch.simplified);
        for_each_segment(
            &job.view,
            &scratch.simplified,
            hw,
            &mut scratch.projected,
            |s| raster(s, hw, job.view.width, job.view.height, buf),
        );
    }
}

/// Buffers reused from track to track.
#[derive(Default)]
struct Scratch {
    simplified: Vec<WorldPoint>,
    projected: Vec<[f64; 2]>,
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
