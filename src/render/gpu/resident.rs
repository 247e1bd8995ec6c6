//! Tracks resident on the GPU: per LOD level, the simplified polylines cut
//! into runs of up to [`lod::RUN_SEGS`] segments, with points stored relative to
//! each run's origin as f32 (precise at any zoom, half the bytes of f64).
//! Levels are built on first use and kept; large levels are split into
//! chunks that fit the adapter's binding limit.

use super::layout::{GpuRun, RUN_HAS_NEXT, RUN_HAS_PREV};
use crate::geo::WorldPoint;
use crate::render::lod;
use crate::scene::Scene;
use wgpu::util::DeviceExt;

/// A run's CPU-side facts for culling and placing it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct RunMeta {
    pub origin: WorldPoint,
    /// min_x, min_y, max_x, max_y in world units.
    pub bbox: [u32; 4],
    pub segs: u32,
}

/// One level's geometry on the CPU, before upload (also what plans read).
#[derive(Debug, Clone, Default)]
pub(crate) struct LevelData {
    pub points: Vec<[f32; 2]>,
    pub runs: Vec<GpuRun>,
    pub meta: Vec<RunMeta>,
}

impl LevelData {
    /// Simplifies every track of `scene` for `level` and cuts it into runs.
    pub fn build(scene: &Scene, key: lod::LevelKey) -> LevelData {
        LevelData::from_level(&lod::Level::build(scene, key))
    }

    /// The device layout of a level: points relative to each run's origin.
    pub(crate) fn from_level(level: &lod::Level) -> LevelData {
        let mut out = LevelData {
            points: Vec::with_capacity(level.points.len() + level.runs.len()),
            runs: Vec::with_capacity(level.runs.len()),
            meta: Vec::with_capacity(level.runs.len()),
        };
        for run in &level.runs {
            let pts = run.points(level);
            let span = run.span;
            // A dot is drawn as a zero-length segment capped at both ends.
            let (pts, segs) = if pts.len() == 1 {
                (&[pts[0], pts[0]][..], 1)
            } else {
                (pts, span.segs() as u32)
            };
            let origin = pts[span.lead as usize];
            let point_start = (out.points.len() + span.lead as usize) as u32;
            out.points.extend(pts.iter().map(|p| {
                [
                    (p.x as i64 - origin.x as i64) as f32,
                    (p.y as i64 - origin.y as i64) as f32,
                ]
            }));
            let flags =
                if span.lead { RUN_HAS_PREV } else { 0 } | if span.tail { RUN_HAS_NEXT } else { 0 };
            out.runs.push(GpuRun {
                point_start,
                seg_count: segs,
                flags,
                _pad: 0,
            });
            out.meta.push(RunMeta {
                origin,
                bbox: run.bbox,
                segs,
            });
        }
        out
    }

    /// Splits into pieces whose point buffers stay under `max_bytes`.
    pub(crate) fn into_chunks(self, max_bytes: u64) -> Vec<LevelData> {
        let max_points = (max_bytes / 8).max(1024) as usize;
        if self.points.len() <= max_points {
            // No copy: a level is tens of MB.
            return vec![self];
        }
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
pub(crate) struct ResidentChunk {
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
    fn device_runs_mirror_the_level() {
        let scene = Scene::from_tracks(vec![(1, Track::from_segments(&[line(150), line(1)]))]);
        let d = LevelData::build(
            &scene,
            lod::LevelKey {
                level: 20,
                mask_px: 0,
            },
        );
        let segs: Vec<u32> = d.runs.iter().map(|r| r.seg_count).collect();
        let r = lod::RUN_SEGS;
        let mut want: Vec<u32> = (0..149).step_by(r).map(|s| r.min(149 - s) as u32).collect();
        want.push(1);
        assert_eq!(segs, want, "149 segments in runs, then a dot");
        assert_eq!(d.runs[0].flags, RUN_HAS_NEXT);
        assert_eq!(d.runs[1].flags, RUN_HAS_PREV | RUN_HAS_NEXT);
        assert_eq!(d.runs[segs.len() - 2].flags, RUN_HAS_PREV);
        // The second run starts at point RUN_SEGS of the polyline, its origin.
        let second = d.runs[1];
        assert_eq!(d.points[second.point_start as usize], [0.0, 0.0]);
        assert_eq!(d.meta[1].origin, line(150)[r]);
        let before = if r.is_multiple_of(2) {
            [-4096.0, 4096.0]
        } else {
            [-4096.0, -4096.0]
        };
        assert_eq!(
            d.points[second.point_start as usize - 1],
            before,
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
        let d = LevelData::build(
            &scene,
            lod::LevelKey {
                level: 20,
                mask_px: 0,
            },
        );
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
