//! Tracks resident on the GPU: per LOD level, the simplified polylines cut
//! into runs of up to [`RUN_SEGS`] segments, with points stored relative to
//! each run's origin as f32 (precise at any zoom, half the bytes of f64).
//! Levels are built on first use and kept; large levels are split into
//! chunks that fit the adapter's binding limit.

use super::layout::{GpuRun, RUN_HAS_NEXT, RUN_HAS_PREV};
use crate::geo::WorldPoint;
use crate::render::lod;
use crate::scene::Scene;
use rayon::prelude::*;
use wgpu::util::DeviceExt;

/// Segments per run: short enough that culling by run box is tight, long
/// enough that per-run bookkeeping stays small.
pub const RUN_SEGS: usize = 64;

/// A run's CPU-side facts for culling and placing it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RunMeta {
    pub origin: WorldPoint,
    /// min_x, min_y, max_x, max_y in world units.
    pub bbox: [u32; 4],
    pub segs: u32,
}

/// One level's geometry on the CPU, before upload (also what plans read).
#[derive(Debug, Clone, Default)]
pub struct LevelData {
    pub points: Vec<[f32; 2]>,
    pub runs: Vec<GpuRun>,
    pub meta: Vec<RunMeta>,
}

impl LevelData {
    /// Simplifies every track of `scene` for `level` and cuts it into runs.
    pub fn build(scene: &Scene, level: u8) -> LevelData {
        let parts: Vec<LevelData> = scene
            .tracks
            .par_iter()
            .map(|t| {
                let mut out = LevelData::default();
                let mut simplified = Vec::new();
                for seg in t.track.segments() {
                    lod::simplify(seg, level, &mut simplified);
                    out.push_polyline(&simplified);
                }
                out
            })
            .collect();
        let mut all = LevelData::default();
        for p in parts {
            all.append(p);
        }
        all
    }

    fn push_polyline(&mut self, pts: &[WorldPoint]) {
        if pts.len() == 1 {
            // A dot: one zero-length segment, capped at both ends.
            return self.push_run(&[pts[0], pts[0]], 0, 1, 0);
        }
        let nseg = pts.len() - 1;
        for start in (0..nseg).step_by(RUN_SEGS) {
            let segs = RUN_SEGS.min(nseg - start);
            let prev = start > 0;
            let next = start + segs < nseg;
            let first = start - prev as usize;
            let last = start + segs + next as usize;
            let flags = if prev { RUN_HAS_PREV } else { 0 } | if next { RUN_HAS_NEXT } else { 0 };
            self.push_run(&pts[first..=last], prev as usize, segs as u32, flags);
        }
    }

    /// `pts` includes the context points; `lead` of them come before the run.
    fn push_run(&mut self, pts: &[WorldPoint], lead: usize, segs: u32, flags: u32) {
        let origin = pts[lead];
        let point_start = (self.points.len() + lead) as u32;
        self.points.extend(pts.iter().map(|p| {
            [
                (p.x as i64 - origin.x as i64) as f32,
                (p.y as i64 - origin.y as i64) as f32,
            ]
        }));
        let own = &pts[lead..=lead + segs as usize];
        let bbox = own.iter().fold([u32::MAX, u32::MAX, 0, 0], |b, p| {
            [b[0].min(p.x), b[1].min(p.y), b[2].max(p.x), b[3].max(p.y)]
        });
        self.runs.push(GpuRun {
            point_start,
            seg_count: segs,
            flags,
            _pad: 0,
        });
        self.meta.push(RunMeta { origin, bbox, segs });
    }

    fn append(&mut self, other: LevelData) {
        let base = self.points.len() as u32;
        self.points.extend(other.points);
        self.runs.extend(other.runs.into_iter().map(|r| GpuRun {
            point_start: r.point_start + base,
            ..r
        }));
        self.meta.extend(other.meta);
    }

    /// Splits into pieces whose point buffers stay under `max_bytes`.
    pub fn into_chunks(self, max_bytes: u64) -> Vec<LevelData> {
        let max_points = (max_bytes / 8).max(1024) as usize;
        let mut chunks = Vec::new();
        let mut cur = LevelData::default();
        for (run, meta) in self.runs.iter().zip(&self.meta) {
            let lead = (run.flags & RUN_HAS_PREV != 0) as usize;
            let tail = (run.flags & RUN_HAS_NEXT != 0) as usize;
            let start = run.point_start as usize - lead;
            let len = lead + run.seg_count as usize + 1 + tail;
            if cur.points.len() + len > max_points && !cur.runs.is_empty() {
                chunks.push(std::mem::take(&mut cur));
            }
            let point_start = (cur.points.len() + lead) as u32;
            cur.points
                .extend_from_slice(&self.points[start..start + len]);
            cur.runs.push(GpuRun {
                point_start,
                ..*run
            });
            cur.meta.push(*meta);
        }
        if !cur.runs.is_empty() || chunks.is_empty() {
            chunks.push(cur);
        }
        chunks
    }
}

/// A chunk of a level on the GPU.
pub struct ResidentChunk {
    pub meta: Vec<RunMeta>,
    pub runs: wgpu::Buffer,
    pub points: wgpu::Buffer,
    pub bytes: u64,
}

impl ResidentChunk {
    pub fn upload(device: &wgpu::Device, data: LevelData) -> ResidentChunk {
        // Empty buffers cannot be bound: pad with one zero element.
        let runs: &[GpuRun] = if data.runs.is_empty() {
            &[GpuRun::zeroed()]
        } else {
            &data.runs
        };
        let points: &[[f32; 2]] = if data.points.is_empty() {
            &[[0.0; 2]]
        } else {
            &data.points
        };
        let runs_buf = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("runs"),
            contents: bytemuck::cast_slice(runs),
            usage: wgpu::BufferUsages::STORAGE,
        });
        let points_buf = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("points"),
            contents: bytemuck::cast_slice(points),
            usage: wgpu::BufferUsages::STORAGE,
        });
        let bytes = (std::mem::size_of_val(runs) + std::mem::size_of_val(points)) as u64;
        ResidentChunk {
            meta: data.meta,
            runs: runs_buf,
            points: points_buf,
            bytes,
        }
    }
}

use bytemuck::Zeroable;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::track::Track;

    fn line(n: u32) -> Vec<WorldPoint> {
        // A zigzag so that simplification keeps every point at level 20.
        (0..n)
            .map(|i| WorldPoint {
                x: 1_000_000 + i * 4096,
                y: 1_000_000 + (i % 2) * 4096,
            })
            .collect()
    }

    #[test]
    fn runs_cover_every_segment_with_context() {
        let scene = Scene::from_tracks(vec![(1, Track::from_segments(&[line(150), line(1)]))]);
        let d = LevelData::build(&scene, 20);
        let segs: Vec<u32> = d.runs.iter().map(|r| r.seg_count).collect();
        assert_eq!(
            segs,
            vec![64, 64, 21, 1],
            "149 segments in three runs, then a dot"
        );
        assert_eq!(d.runs[0].flags, RUN_HAS_NEXT);
        assert_eq!(d.runs[1].flags, RUN_HAS_PREV | RUN_HAS_NEXT);
        assert_eq!(d.runs[2].flags, RUN_HAS_PREV);
        // The second run starts at point 64 of the polyline, its origin.
        let r = d.runs[1];
        assert_eq!(d.points[r.point_start as usize], [0.0, 0.0]);
        assert_eq!(d.meta[1].origin, line(150)[64]);
        assert_eq!(
            d.points[r.point_start as usize - 1],
            [-4096.0, 4096.0],
            "context point before"
        );
    }

    #[test]
    fn chunks_keep_runs_whole() {
        let scene = Scene::from_tracks(
            (0..20)
                .map(|i| (i, Track::from_segments(&[line(100)])))
                .collect(),
        );
        let d = LevelData::build(&scene, 20);
        let total: u32 = d.runs.iter().map(|r| r.seg_count).sum();
        let chunks = d.into_chunks(8 * 1024);
        assert!(chunks.len() > 1);
        assert_eq!(
            chunks
                .iter()
                .flat_map(|c| &c.runs)
                .map(|r| r.seg_count)
                .sum::<u32>(),
            total
        );
        for c in &chunks {
            for r in &c.runs {
                let end = r.point_start as usize
                    + r.seg_count as usize
                    + (r.flags & RUN_HAS_NEXT != 0) as usize;
                assert!(end < c.points.len());
            }
        }
    }
}
