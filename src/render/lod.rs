//! Level of detail: tracks simplified for a zoom level, in world units.
//!
//! Both renderers draw the same simplified polylines: level `L` drops what
//! cannot be seen at zoom `L`, and a view uses the level of the next whole
//! zoom at or above its own, so no view ever sees detail lost. Because the
//! level depends only on the scale, every tile and strip of a picture uses
//! the same polylines, which keeps them seamless. The GPU keeps levels
//! resident; the CPU simplifies on the fly.

use super::view::View;
use crate::geo::{WORLD_SIZE, WorldPoint};
use crate::render::mask::{Mask, clip_track_cow};

/// Points closer than this (px at the level's zoom) to the previously kept
/// point are dropped.
pub const MIN_STEP_PX: f64 = 0.4;
/// Points within this distance (px at the level's zoom) of a straight run
/// are dropped.
pub const SIMPLIFY_PX: f64 = 0.15;
/// Levels stop here: at zoom 26 a pixel is a few millimetres.
pub const MAX_LEVEL: u8 = 26;

/// Which prepared geometry a job draws: its level of detail, and how far
/// (in pixels at that level) privacy masks are widened so that no line's
/// anti-aliased edge or round cap reaches into a masked circle (0 when the
/// scene has no masks).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LevelKey {
    pub level: u8,
    pub mask_px: u8,
}

impl LevelKey {
    pub fn for_job(job: &super::RenderJob, scene: &crate::scene::Scene) -> LevelKey {
        // A pixel lights up within half the width plus half a pixel of the
        // line; simplification may move the line by 0.15 px more.
        let mask_px = if scene.masks.is_empty() {
            0
        } else {
            (job.line_width / 2.0 + 1.5).ceil().min(255.0) as u8
        };
        LevelKey {
            level: level_for(&job.view),
            mask_px,
        }
    }
}

/// Ground metres per pixel at `level` and latitude `lat`.
fn ground_m_per_px(level: u8, lat: f64) -> f64 {
    2.0 * std::f64::consts::PI * crate::geo::EARTH_RADIUS_M * lat.to_radians().cos()
        / (256.0 * (1u64 << level) as f64)
}

/// The level a view draws with.
pub fn level_for(view: &View) -> u8 {
    let z = view.zoom();
    if !z.is_finite() || z <= 0.0 {
        return 0;
    }
    (z.ceil() as u8).min(MAX_LEVEL)
}

/// World units per pixel at a level.
fn units_per_px(level: u8) -> f64 {
    WORLD_SIZE / (256.0 * (1u64 << level) as f64)
}

/// Simplifies one run of points (no breaks) for `level` into `out`: a point
/// is dropped while the track runs straight on (within [`SIMPLIFY_PX`] of
/// the line from the last kept point) or has not yet moved [`MIN_STEP_PX`]
/// away from it (Reumann-Witkam with a minimum step). Straight roads become
/// long segments, so drawing costs follow what is visible, not the sampling
/// rate. The first and last points are always kept.
pub fn simplify(points: &[WorldPoint], level: u8, out: &mut Vec<WorldPoint>) {
    out.clear();
    let Some((&first, rest)) = points.split_first() else {
        return;
    };
    let unit = units_per_px(level);
    let (tol, step) = (SIMPLIFY_PX * unit, MIN_STEP_PX * unit);
    let at = |p: WorldPoint| [p.x as f64, p.y as f64];
    let mut anchor = first;
    out.push(first);
    // Direction of the current straight run, and how far along it we got.
    let mut dir: Option<[f64; 2]> = None;
    let mut reach = 0.0;
    let mut last = first;
    for &p in rest {
        let (a, q) = (at(anchor), at(p));
        let d = [q[0] - a[0], q[1] - a[1]];
        match dir {
            None => {
                let len = (d[0] * d[0] + d[1] * d[1]).sqrt();
                if len >= step {
                    dir = Some([d[0] / len, d[1] / len]);
                    reach = len;
                }
            }
            Some(u) => {
                let along = d[0] * u[0] + d[1] * u[1];
                let across = (d[0] * u[1] - d[1] * u[0]).abs();
                // Turning off the line, or coming back along it (an
                // out-and-back), ends the run at the previous point.
                if across > tol || along < reach - tol {
                    out.push(last);
                    anchor = last;
                    let a = at(anchor);
                    let d = [q[0] - a[0], q[1] - a[1]];
                    let len = (d[0] * d[0] + d[1] * d[1]).sqrt();
                    dir = (len >= step).then(|| [d[0] / len, d[1] / len]);
                    reach = len;
                } else {
                    reach = reach.max(along);
                }
            }
        }
        last = p;
    }
    if *out.last().expect("first point pushed") != last {
        out.push(last);
    }
}

/// Segments per run: short enough that culling by a run's box is tight,
/// long enough that per-run bookkeeping stays small.
pub const RUN_SEGS: usize = 16;

/// A run of a polyline: points `first..=last`, of which the first (`lead`)
/// and last (`tail`) may be context from the neighbouring runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunSpan {
    pub first: usize,
    pub last: usize,
    pub lead: bool,
    pub tail: bool,
}

impl RunSpan {
    /// Segments the run draws (0 for a one-point polyline, a dot).
    pub fn segs(&self) -> usize {
        (self.last - self.first).saturating_sub(self.lead as usize + self.tail as usize)
    }
}

/// Cuts a polyline of `n` points into runs of at most [`RUN_SEGS`]
/// segments, each with a point of context on either side where the
/// polyline goes on, so that joints come out the same as uncut.
pub fn run_spans(n: usize) -> impl Iterator<Item = RunSpan> {
    let nseg = n.saturating_sub(1);
    let dot = (n == 1).then_some(RunSpan {
        first: 0,
        last: 0,
        lead: false,
        tail: false,
    });
    dot.into_iter()
        .chain((0..nseg).step_by(RUN_SEGS).map(move |start| {
            let segs = RUN_SEGS.min(nseg - start);
            let (lead, tail) = (start > 0, start + segs < nseg);
            RunSpan {
                first: start - lead as usize,
                last: start + segs + tail as usize,
                lead,
                tail,
            }
        }))
}

/// One level's simplified polylines cut into runs, for culling and drawing.
#[derive(Debug, Clone, Default)]
pub struct Level {
    pub points: Vec<WorldPoint>,
    pub runs: Vec<Run>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Run {
    /// Index of the run's first point (context included) in `points`.
    pub start: u32,
    pub span: RunSpan,
    /// min_x, min_y, max_x, max_y of the drawn points, in world units.
    pub bbox: [u32; 4],
}

impl Run {
    pub fn points<'a>(&self, level: &'a Level) -> &'a [WorldPoint] {
        let s = self.start as usize;
        &level.points[s..s + self.span.last - self.span.first + 1]
    }

    /// Whether the run's box, grown by `margin` world units, meets `rect`
    /// (world units, x0, y0, x1, y1).
    pub fn touches(&self, rect: [f64; 4]) -> bool {
        let b = self.bbox;
        (b[2] as f64) >= rect[0]
            && (b[0] as f64) <= rect[2]
            && (b[3] as f64) >= rect[1]
            && (b[1] as f64) <= rect[3]
    }
}

/// The scene's privacy masks, widened for `key` (see [`LevelKey`]).
pub fn widened_masks(scene: &crate::scene::Scene, key: LevelKey) -> Vec<Mask> {
    scene
        .masks
        .iter()
        .map(|m| Mask {
            radius_m: m.radius_m + key.mask_px as f64 * ground_m_per_px(key.level, m.lat),
            ..m.clone()
        })
        .collect()
}

impl Level {
    /// Clips every track of `scene` by its masks (widened for `key`),
    /// simplifies it for the level and cuts it into runs, in track order.
    pub fn build(scene: &crate::scene::Scene, key: LevelKey) -> Level {
        use rayon::prelude::*;
        let masks = widened_masks(scene, key);
        // A few large parts (one per rayon split), not one per track: small
        // vectors freed on another thread stay in their allocator arenas,
        // and a level is tens of MB that the renderer then holds as well.
        let parts: Vec<Level> = scene
            .tracks
            .par_iter()
            .fold(Level::default, |mut out, t| {
                out.push_track(&t.track, &masks, key.level);
                out
            })
            .collect();
        let mut all = Level::default();
        all.points
            .reserve_exact(parts.iter().map(|p| p.points.len()).sum());
        all.runs
            .reserve_exact(parts.iter().map(|p| p.runs.len()).sum());
        for p in parts {
            let base = all.points.len() as u32;
            all.points.extend(p.points);
            all.runs.extend(p.runs.into_iter().map(|r| Run {
                start: r.start + base,
                ..r
            }));
        }
        all
    }

    /// Appends `track` clipped by `masks`, simplified for `level`, as runs.
    pub fn push_track(&mut self, track: &crate::store::track::Track, masks: &[Mask], level: u8) {
        let mut simplified = Vec::new();
        // Without masks, skip the clip's pass over the points for its box
        // (7% of a cold tile run's time, measured with perf).
        let clipped = if masks.is_empty() {
            std::borrow::Cow::Borrowed(track)
        } else {
            clip_track_cow(track, masks)
        };
        for seg in clipped.segments() {
            simplify(seg, level, &mut simplified);
            self.push_polyline(&simplified);
        }
    }

    fn push_polyline(&mut self, pts: &[WorldPoint]) {
        for span in run_spans(pts.len()) {
            let own = &pts[span.first + span.lead as usize..=span.last - span.tail as usize];
            let bbox = own.iter().fold([u32::MAX, u32::MAX, 0, 0], |b, p| {
                [b[0].min(p.x), b[1].min(p.y), b[2].max(p.x), b[3].max(p.y)]
            });
            self.runs.push(Run {
                start: self.points.len() as u32,
                span,
                bbox,
            });
            self.points.extend_from_slice(&pts[span.first..=span.last]);
        }
    }

    pub fn segments(&self) -> u64 {
        self.runs.iter().map(|r| r.span.segs().max(1) as u64).sum()
    }
}

/// The world-unit rectangle a job's pixels can be touched from: its view
/// grown by the line's reach and a pixel.
pub fn reach_rect(job: &super::RenderJob) -> [f64; 4] {
    let r = job.view.rect();
    let px = super::coverage::max_reach(job.line_width / 2.0) as f64 + 1.0;
    let m = [px / job.view.scale[0], px / job.view.scale[1]];
    [
        (r.x0 - m[0]) * WORLD_SIZE,
        (r.y0 - m[1]) * WORLD_SIZE,
        (r.x1 + m[0]) * WORLD_SIZE,
        (r.y1 + m[1]) * WORLD_SIZE,
    ]
}

#[cfg(test)]
mod tests {
    #[test]
    fn runs_overlap_by_context_points() {
        const R: usize = RUN_SEGS;
        // 2R + 5 segments: two full runs and a short one.
        let spans: Vec<RunSpan> = run_spans(2 * R + 6).collect();
        let span = |first, last, lead, tail| RunSpan {
            first,
            last,
            lead,
            tail,
        };
        assert_eq!(
            spans,
            vec![
                span(0, R + 1, false, true),
                span(R - 1, 2 * R + 1, true, true),
                span(2 * R - 1, 2 * R + 5, true, false)
            ]
        );
        assert_eq!(
            spans.iter().map(RunSpan::segs).collect::<Vec<_>>(),
            vec![R, R, 5]
        );
        assert_eq!(
            run_spans(1).collect::<Vec<_>>(),
            vec![span(0, 0, false, false)]
        );
        assert_eq!(run_spans(0).count(), 0);
    }

    use super::*;

    fn wp(x: u32, y: u32) -> WorldPoint {
        WorldPoint { x, y }
    }

    #[test]
    fn straight_runs_collapse_and_corners_stay() {
        let unit = units_per_px(10) as u32;
        let mut pts: Vec<_> = (0..100)
            .map(|i| wp(1_000_000_000 + i * unit, 2_000_000_000))
            .collect();
        pts.extend((1..100).map(|i| wp(1_000_000_000 + 99 * unit, 2_000_000_000 + i * unit)));
        let mut out = Vec::new();
        simplify(&pts, 10, &mut out);
        assert_eq!(out, vec![pts[0], pts[99], pts[198]]);
    }

    #[test]
    fn out_and_back_keeps_the_turnaround() {
        let unit = units_per_px(12) as u32;
        let mut pts: Vec<_> = (0..50).map(|i| wp(1_000_000_000 + i * unit, 5)).collect();
        pts.extend((0..49).rev().map(|i| wp(1_000_000_000 + i * unit, 5)));
        let mut out = Vec::new();
        simplify(&pts, 12, &mut out);
        assert_eq!(out, vec![pts[0], pts[49], pts[98]]);
    }

    #[test]
    fn levels_follow_zoom() {
        use crate::render::View;
        assert_eq!(level_for(&View::tile(7, 3, 3, 256)), 7);
        assert_eq!(
            level_for(&View::tile(7, 3, 3, 512)),
            8,
            "@2x tiles need the next level"
        );
        let mut wide = View::tile(7, 3, 3, 256);
        wide.scale = [wide.scale[0] * 1.3, wide.scale[1] * 1.3];
        assert_eq!(level_for(&wide), 8);
    }
}
