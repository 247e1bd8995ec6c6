//! The GPU renderer: the same coverage rules as the CPU renderer, run as
//! wgpu compute passes (`shaders/density.wgsl`, `shaders/colormap.wgsl`).
//!
//! Tracks stay resident per LOD level ([`resident`]); each render plans its
//! pieces and runs ([`plan`]), accumulates density with atomics into one
//! buffer for the whole batch, optionally colours it on the device, and
//! reads back once per pass. Buffers grow as needed and are reused.

pub mod context;
pub(crate) mod layout;
pub mod plan;
pub mod resident;

pub use context::{GpuContext, GpuError, GpuInfo};

use self::layout::{ColormapParams, DensityParams, GpuJob};
use self::plan::Piece;
use self::resident::{LevelData, ResidentChunk};
use super::level_cache::LevelCache;
use super::lod::LevelKey;
use super::{Colormap, Density, RenderError, RenderJob, Renderer, RgbaImage};
use crate::scene::Scene;
use std::sync::Arc;
use std::time::{Duration, Instant};
use wgpu::util::DeviceExt;

/// Largest batch the renderer reads back at once, whatever the adapter
/// allows: bounds host memory for staging.
const MAX_PASS_BYTES: u64 = 256 << 20;
/// Levels kept on the device, over all scenes (filters), and their bytes
/// at most beyond what the current render draws.
const MAX_LEVELS: usize = 16;
const RESIDENT_BYTES: u64 = 1 << 30;

pub struct GpuRenderer {
    ctx: Arc<GpuContext>,
    /// Where the last render's time went.
    pub timings: GpuTimings,
    /// Wait for each step separately so `timings` can tell them apart
    /// (slower: benchmarks only).
    pub profile: bool,
    /// Resident levels by scene ([`Scene::id`]) and level.
    levels: LevelCache<Vec<ResidentChunk>>,
    pool: BufferPool,
}

impl GpuRenderer {
    pub fn new(ctx: Arc<GpuContext>) -> GpuRenderer {
        GpuRenderer {
            ctx,
            timings: GpuTimings::default(),
            profile: false,
            levels: LevelCache::new(MAX_LEVELS, RESIDENT_BYTES, |chunks| {
                chunks.iter().map(|c| c.bytes).sum()
            }),
            pool: BufferPool::default(),
        }
    }

    pub fn context(&self) -> &Arc<GpuContext> {
        &self.ctx
    }

    fn pass_pixels(&self) -> u64 {
        self.ctx.max_binding().min(MAX_PASS_BYTES) / 4
    }

    /// Makes sure the levels `pieces` need are on the device.
    fn ensure_levels(&mut self, scene: &Scene, pieces: &[Piece]) {
        let (ctx, levels) = (&self.ctx, &mut self.levels);
        for p in pieces {
            levels.get_or_build(scene.id, p.level, || {
                let data = LevelData::build(scene, p.level);
                let chunks = data.into_chunks(ctx.max_binding());
                chunks
                    .into_iter()
                    .map(|c| ResidentChunk::upload(&ctx.device, c))
                    .collect()
            });
        }
    }

    /// Runs the density pass for one batch of pieces into the pool's
    /// density buffer.
    fn accumulate(
        &mut self,
        encoder: &mut wgpu::CommandEncoder,
        scene_id: u64,
        pieces: &[Piece],
        pixels: u64,
    ) {
        let ctx = &self.ctx;
        let density = self.pool.density(&ctx.device, pixels * 4);
        encoder.clear_buffer(&density, 0, Some(pixels * 4));
        let jobs: Vec<GpuJob> = pieces.iter().map(Piece::gpu_job).collect();
        let jobs_buf = storage_init(&ctx.device, "jobs", bytemuck::cast_slice(&jobs));
        let mut levels: Vec<LevelKey> = pieces.iter().map(|p| p.level).collect();
        levels.sort_unstable();
        levels.dedup();
        for level in levels {
            for chunk in self
                .levels
                .get(scene_id, level)
                .expect("ensured before drawing")
            {
                let (work, total) = plan::work_items(pieces, level, &chunk.meta);
                if total == 0 {
                    continue;
                }
                let (x, y, row_pitch) =
                    dispatch_size(total, ctx.limits.max_compute_workgroups_per_dimension);
                let params = DensityParams {
                    total_segs: total,
                    work_count: work.len() as u32,
                    row_pitch,
                    _pad: 0,
                };
                let params_buf = uniform_init(&ctx.device, bytemuck::bytes_of(&params));
                let work_buf = storage_init(&ctx.device, "work", bytemuck::cast_slice(&work));
                let bind = ctx.device.create_bind_group(&wgpu::BindGroupDescriptor {
                    label: Some("density"),
                    layout: &ctx.density.get_bind_group_layout(0),
                    entries: &entries(&[
                        &params_buf,
                        &jobs_buf,
                        &work_buf,
                        &chunk.runs,
                        &chunk.points,
                        &density,
                    ]),
                });
                let mut pass = encoder.begin_compute_pass(&Default::default());
                pass.set_pipeline(&ctx.density);
                pass.set_bind_group(0, &bind, &[]);
                pass.dispatch_workgroups(x, y, 1);
            }
        }
    }

    /// Density (`T` = u32), or colours (`T` = u8, RGBA) when `colormap` is
    /// given, for every job.
    fn run<T: bytemuck::Pod>(
        &mut self,
        scene: &Scene,
        jobs: &[RenderJob],
        colormap: Option<&Colormap>,
    ) -> Result<Vec<Vec<T>>, RenderError> {
        // Every pixel is 4 bytes either way.
        let per_pixel = 4 / std::mem::size_of::<T>();
        let mut outputs: Vec<Vec<T>> = jobs
            .iter()
            .map(|j| vec![T::zeroed(); j.view.width as usize * j.view.height as usize * per_pixel])
            .collect();
        self.timings = GpuTimings::default();
        self.levels.begin();
        for pieces in plan::passes(jobs, self.pass_pixels(), |j| LevelKey::for_job(j, scene)) {
            let t = Instant::now();
            self.ensure_levels(scene, &pieces);
            self.timings.upload += t.elapsed();
            let pixels: u64 = pieces.iter().map(Piece::pixels).sum();
            let scope = self
                .ctx
                .device
                .push_error_scope(wgpu::ErrorFilter::Validation);
            let oom = self
                .ctx
                .device
                .push_error_scope(wgpu::ErrorFilter::OutOfMemory);
            let t = Instant::now();
            let mut encoder = self.ctx.device.create_command_encoder(&Default::default());
            self.accumulate(&mut encoder, scene.id, &pieces, pixels);
            self.timings.plan += t.elapsed();
            let encoder = self.profile_step(encoder, |t| &mut t.draw)?;
            let mut encoder = encoder;
            let source = match colormap {
                Some(cm) => self.colorize(&mut encoder, cm, pixels),
                None => Which::Density,
            };
            let encoder = self.profile_step(encoder, |t| &mut t.colormap)?;
            let t = Instant::now();
            // Straight from the mapped buffer into the outputs: for a
            // poster strip this is the only copy on the host.
            self.read_back(encoder, source, pixels, |data| {
                for p in &pieces {
                    let out = bytemuck::cast_slice_mut::<T, u8>(&mut outputs[p.job]);
                    let at = p.row as usize * p.render.view.width as usize * 4;
                    let (start, len) = (p.offset as usize * 4, p.pixels() as usize * 4);
                    out[at..at + len].copy_from_slice(&data[start..start + len]);
                }
            })?;
            self.timings.readback += t.elapsed();
            let errors = [
                pollster::block_on(oom.pop()),
                pollster::block_on(scope.pop()),
            ];
            if let Some(e) = errors.into_iter().flatten().next() {
                return Err(RenderError::Gpu(e.to_string()));
            }
        }
        self.levels.evict();
        Ok(outputs)
    }

    /// When profiling, runs what `encoder` holds to completion and charges
    /// the wait to one timing; otherwise passes the encoder on, so that the
    /// whole batch goes to the device in one submission.
    fn profile_step(
        &mut self,
        encoder: wgpu::CommandEncoder,
        slot: impl Fn(&mut GpuTimings) -> &mut Duration,
    ) -> Result<wgpu::CommandEncoder, RenderError> {
        if !self.profile {
            return Ok(encoder);
        }
        let t = Instant::now();
        let index = self.ctx.queue.submit([encoder.finish()]);
        self.ctx
            .device
            .poll(wgpu::PollType::Wait {
                submission_index: Some(index),
                timeout: None,
            })
            .map_err(|e| RenderError::Gpu(e.to_string()))?;
        *slot(&mut self.timings) += t.elapsed();
        Ok(self.ctx.device.create_command_encoder(&Default::default()))
    }

    fn colorize(
        &mut self,
        encoder: &mut wgpu::CommandEncoder,
        cm: &Colormap,
        pixels: u64,
    ) -> Which {
        let ctx = &self.ctx;
        let lut: Vec<u32> = cm.lut.iter().map(|c| u32::from_le_bytes(*c)).collect();
        let (x, y, row_pitch) = dispatch_size(
            pixels as u32,
            ctx.limits.max_compute_workgroups_per_dimension,
        );
        let params = ColormapParams {
            count: pixels as u32,
            max_count: cm.gradient.max_count(),
            row_pitch,
            _pad: 0,
        };
        let params_buf = uniform_init(&ctx.device, bytemuck::bytes_of(&params));
        let lut_buf = storage_init(&ctx.device, "lut", bytemuck::cast_slice(&lut));
        let rgba = self.pool.rgba(&ctx.device, pixels * 4);
        let density = self.pool.density.clone().expect("density pass ran first");
        let bind = ctx.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("colormap"),
            layout: &ctx.colormap.get_bind_group_layout(0),
            entries: &entries(&[&params_buf, &density, &lut_buf, &rgba]),
        });
        let mut pass = encoder.begin_compute_pass(&Default::default());
        pass.set_pipeline(&ctx.colormap);
        pass.set_bind_group(0, &bind, &[]);
        pass.dispatch_workgroups(x, y, 1);
        Which::Rgba
    }

    /// Copies the pass's result to the host and hands its bytes to `consume`.
    fn read_back(
        &mut self,
        mut encoder: wgpu::CommandEncoder,
        which: Which,
        pixels: u64,
        consume: impl FnOnce(&[u8]),
    ) -> Result<(), RenderError> {
        let ctx = &self.ctx;
        let bytes = pixels * 4;
        let staging = self.pool.staging(&ctx.device, bytes);
        let src = match which {
            Which::Density => self.pool.density.clone(),
            Which::Rgba => self.pool.rgba.clone(),
        }
        .expect("pass wrote it");
        encoder.copy_buffer_to_buffer(&src, 0, &staging, 0, bytes);
        let index = ctx.queue.submit([encoder.finish()]);
        let slice = staging.slice(..bytes);
        let (tx, rx) = std::sync::mpsc::channel();
        slice.map_async(wgpu::MapMode::Read, move |r| {
            let _ = tx.send(r);
        });
        ctx.device
            .poll(wgpu::PollType::Wait {
                submission_index: Some(index),
                timeout: None,
            })
            .map_err(|e| RenderError::Gpu(e.to_string()))?;
        rx.recv()
            .map_err(|e| RenderError::Gpu(e.to_string()))?
            .map_err(|e| RenderError::Gpu(e.to_string()))?;
        {
            let view = slice
                .get_mapped_range()
                .map_err(|e| RenderError::Gpu(e.to_string()))?;
            consume(&view);
        }
        staging.unmap();
        Ok(())
    }
}

/// Wall-clock time per step of the last render. Without profiling, `draw`
/// and `colormap` stay zero and the device time shows up in `readback`.
#[derive(Debug, Clone, Default)]
pub struct GpuTimings {
    /// Building and uploading LOD levels not yet resident.
    pub upload: Duration,
    /// Choosing runs and encoding commands.
    pub plan: Duration,
    pub draw: Duration,
    pub colormap: Duration,
    /// Copy to the staging buffer, map, copy out.
    pub readback: Duration,
}

enum Which {
    Density,
    Rgba,
}

impl Renderer for GpuRenderer {
    fn describe(&self) -> String {
        format!("gpu ({})", self.ctx.info)
    }

    fn max_pixels_per_pass(&self) -> Option<u64> {
        Some(self.pass_pixels())
    }

    fn render_density(
        &mut self,
        scene: &Scene,
        jobs: &[RenderJob],
    ) -> Result<Vec<Density>, RenderError> {
        let out = self.run(scene, jobs, None)?;
        Ok(jobs
            .iter()
            .zip(out)
            .map(|(j, data)| Density {
                width: j.view.width,
                height: j.view.height,
                data,
            })
            .collect())
    }

    fn render_rgba(
        &mut self,
        scene: &Scene,
        jobs: &[RenderJob],
        colormap: &Colormap,
    ) -> Result<Vec<RgbaImage>, RenderError> {
        if colormap.tone != crate::render::tone::Tone::Counts {
            // The shader indexes by counts only; other scales colour on
            // the CPU from the same density.
            let densities = self.render_density(scene, jobs)?;
            return Ok(densities.iter().map(|d| colormap.colorize(d)).collect());
        }
        let out = self.run(scene, jobs, Some(colormap))?;
        Ok(jobs
            .iter()
            .zip(out)
            .map(|(j, data)| RgbaImage {
                width: j.view.width,
                height: j.view.height,
                data,
            })
            .collect())
    }
}

/// Big buffers, grown on demand and reused from render to render.
#[derive(Default)]
struct BufferPool {
    density: Option<wgpu::Buffer>,
    rgba: Option<wgpu::Buffer>,
    staging: Option<wgpu::Buffer>,
}

impl BufferPool {
    fn density(&mut self, device: &wgpu::Device, bytes: u64) -> wgpu::Buffer {
        let usage = wgpu::BufferUsages::STORAGE
            | wgpu::BufferUsages::COPY_SRC
            | wgpu::BufferUsages::COPY_DST;
        grow(&mut self.density, device, "density", bytes, usage)
    }
    fn rgba(&mut self, device: &wgpu::Device, bytes: u64) -> wgpu::Buffer {
        grow(
            &mut self.rgba,
            device,
            "rgba",
            bytes,
            wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
        )
    }
    fn staging(&mut self, device: &wgpu::Device, bytes: u64) -> wgpu::Buffer {
        let usage = wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST;
        grow(&mut self.staging, device, "staging", bytes, usage)
    }
}

/// The buffer in `slot`, replaced by a bigger one first if it is too small.
/// Buffers are reference-counted handles, so handing out clones is cheap.
fn grow(
    slot: &mut Option<wgpu::Buffer>,
    device: &wgpu::Device,
    label: &str,
    bytes: u64,
    usage: wgpu::BufferUsages,
) -> wgpu::Buffer {
    let bytes = bytes.max(4).next_multiple_of(256);
    if slot.as_ref().is_none_or(|b| b.size() < bytes) {
        *slot = Some(device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(label),
            size: bytes,
            usage,
            mapped_at_creation: false,
        }));
    }
    slot.clone().expect("just set")
}

fn storage_init(device: &wgpu::Device, label: &str, contents: &[u8]) -> wgpu::Buffer {
    device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
        label: Some(label),
        contents,
        usage: wgpu::BufferUsages::STORAGE,
    })
}

fn uniform_init(device: &wgpu::Device, contents: &[u8]) -> wgpu::Buffer {
    device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
        label: Some("params"),
        contents,
        usage: wgpu::BufferUsages::UNIFORM,
    })
}

fn entries<'a>(buffers: &[&'a wgpu::Buffer]) -> Vec<wgpu::BindGroupEntry<'a>> {
    buffers
        .iter()
        .enumerate()
        .map(|(i, b)| wgpu::BindGroupEntry {
            binding: i as u32,
            resource: b.as_entire_binding(),
        })
        .collect()
}

/// Workgroups (x, y) of 64 invocations covering `n`, and invocations per row.
fn dispatch_size(n: u32, max_per_dim: u32) -> (u32, u32, u32) {
    let groups = n.div_ceil(64).max(1);
    let x = groups.min(max_per_dim.max(1));
    (x, groups.div_ceil(x), x * 64)
}
