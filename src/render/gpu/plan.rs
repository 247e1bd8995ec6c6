//! Planning a batch of jobs for the GPU, as plain data: which pieces go in
//! which pass (respecting the adapter's buffer limits) and which runs each
//! piece draws. Testable without a GPU.

use super::layout::{GpuJob, GpuWork};
use super::resident::RunMeta;
use crate::geo::WORLD_SIZE;
use crate::render::RenderJob;
use crate::render::lod::{self, LevelKey};

/// A job, or a horizontal strip of one when the job is too big for a buffer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Piece {
    pub job: usize,
    /// First row of the job this piece covers.
    pub row: u32,
    pub render: RenderJob,
    pub level: LevelKey,
    /// First pixel of the piece in the pass's density buffer.
    pub offset: u64,
}

impl Piece {
    pub fn pixels(&self) -> u64 {
        self.render.view.width as u64 * self.render.view.height as u64
    }

    pub(crate) fn gpu_job(&self) -> GpuJob {
        let v = &self.render.view;
        GpuJob {
            scale: [
                (v.scale[0] / WORLD_SIZE) as f32,
                (v.scale[1] / WORLD_SIZE) as f32,
            ],
            size: [v.width, v.height],
            offset: self.offset as u32,
            half_width: self.render.line_width / 2.0,
            _pad: [0; 2],
        }
    }
}

/// Cuts jobs into pieces of at most `max_pixels` and groups the pieces into
/// passes of at most `max_pixels` in total, keeping job order.
pub fn passes(
    jobs: &[RenderJob],
    max_pixels: u64,
    key: impl Fn(&RenderJob) -> LevelKey,
) -> Vec<Vec<Piece>> {
    let mut passes: Vec<Vec<Piece>> = Vec::new();
    let mut cur: Vec<Piece> = Vec::new();
    let mut used = 0u64;
    for (j, job) in jobs.iter().enumerate() {
        let (w, h) = (job.view.width, job.view.height);
        let rows_per_piece = (max_pixels / w.max(1) as u64).clamp(1, h.max(1) as u64) as u32;
        let mut row = 0;
        while row < h {
            let rows = rows_per_piece.min(h - row);
            let view = job.view.sub_view(0, row, w, rows);
            let pixels = w as u64 * rows as u64;
            if used + pixels > max_pixels && !cur.is_empty() {
                passes.push(std::mem::take(&mut cur));
                used = 0;
            }
            let render = RenderJob { view, ..*job };
            cur.push(Piece {
                job: j,
                row,
                render,
                level: key(job),
                offset: used,
            });
            used += pixels;
            row += rows;
        }
    }
    if !cur.is_empty() {
        passes.push(cur);
    }
    passes
}

/// The work items that draw `runs` (one chunk of `level`) into the pieces
/// of that level, and the number of segments they cover.
pub(crate) fn work_items(
    pieces: &[Piece],
    level: LevelKey,
    runs: &[RunMeta],
) -> (Vec<GpuWork>, u32) {
    let mut items = Vec::new();
    let mut total = 0u32;
    for (p, piece) in pieces.iter().enumerate().filter(|(_, p)| p.level == level) {
        let [x0, y0, x1, y1] = lod::reach_rect(&piece.render);
        let view = &piece.render.view;
        for (r, m) in runs.iter().enumerate() {
            let b = m.bbox;
            if (b[2] as f64) < x0 || (b[0] as f64) > x1 || (b[3] as f64) < y0 || (b[1] as f64) > y1
            {
                continue;
            }
            let o = view.local(view.absolute(m.origin));
            items.push(GpuWork {
                first_seg: total,
                run: r as u32,
                job: p as u32,
                _pad: 0,
                origin: [o[0] as f32, o[1] as f32],
                _pad2: [0.0; 2],
            });
            total += m.segs;
        }
    }
    (items, total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geo::WorldPoint;
    use crate::render::View;

    fn no_masks(job: &RenderJob) -> LevelKey {
        LevelKey {
            level: lod::level_for(&job.view),
            mask_px: 0,
        }
    }

    #[test]
    fn big_jobs_become_strips_and_passes_respect_the_limit() {
        let big = RenderJob {
            view: View::tile(10, 500, 300, 1000),
            line_width: 2.0,
        };
        let small = RenderJob {
            view: View::tile(12, 2000, 1300, 256),
            line_width: 2.0,
        };
        let p = passes(&[small, big, small], 300_000, no_masks);
        for pass in &p {
            assert!(pass.iter().map(|x| x.pixels()).sum::<u64>() <= 300_000);
            for x in pass {
                assert!(x.offset + x.pixels() <= 300_000);
            }
        }
        let strips: Vec<_> = p.iter().flatten().filter(|x| x.job == 1).collect();
        assert_eq!(
            strips.iter().map(|x| x.render.view.height).sum::<u32>(),
            1000
        );
        assert_eq!(strips[1].row, strips[0].render.view.height);
        assert_eq!(
            strips[1].render.view.origin[1],
            big.view.origin[1] + strips[1].row as i64
        );
        assert_eq!(p.iter().flatten().filter(|x| x.job == 2).count(), 1);
    }

    #[test]
    fn work_items_cull_runs_outside_the_piece() {
        let job = RenderJob {
            view: View::tile(12, 2200, 1343, 256),
            line_width: 2.0,
        };
        let pieces = passes(&[job], 1 << 20, no_masks).remove(0);
        let inside = WorldPoint::from_lonlat(13.40, 52.52);
        let far = WorldPoint::from_lonlat(2.35, 48.85);
        let meta = |p: WorldPoint| RunMeta {
            origin: p,
            bbox: [p.x, p.y, p.x + 10, p.y + 10],
            segs: 7,
        };
        let (items, total) = work_items(
            &pieces,
            pieces[0].level,
            &[meta(inside), meta(far), meta(inside)],
        );
        assert_eq!(items.iter().map(|w| w.run).collect::<Vec<_>>(), vec![0, 2]);
        assert_eq!((items[1].first_seg, total), (7, 14));
        let o = items[0].origin;
        assert!(
            (0.0..256.0).contains(&o[0]) && (0.0..256.0).contains(&o[1]),
            "{o:?}"
        );
        let other = LevelKey {
            level: pieces[0].level.level + 1,
            ..pieces[0].level
        };
        let (none, _) = work_items(&pieces, other, &[meta(inside)]);
        assert!(
            none.is_empty(),
            "other levels are drawn by their own chunks"
        );
    }
}
