//! Plain-old-data structs shared with the shaders; each must be kept in
//! sync with its twin in `shaders/density.wgsl` or `shaders/colormap.wgsl`.

use bytemuck::{Pod, Zeroable};

/// `Params` in density.wgsl.
#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable)]
pub(crate) struct DensityParams {
    pub(crate) total_segs: u32,
    pub(crate) work_count: u32,
    pub(crate) row_pitch: u32,
    pub(crate) _pad: u32,
}

/// `Job` in density.wgsl: one view in the density buffer.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Pod, Zeroable)]
pub(crate) struct GpuJob {
    pub scale: [f32; 2],
    pub size: [u32; 2],
    pub offset: u32,
    pub(crate) half_width: f32,
    pub(crate) _pad: [u32; 2],
}

/// `Work` in density.wgsl: one run drawn into one job.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Pod, Zeroable)]
pub(crate) struct GpuWork {
    pub(crate) first_seg: u32,
    pub run: u32,
    pub job: u32,
    pub(crate) _pad: u32,
    pub origin: [f32; 2],
    pub(crate) _pad2: [f32; 2],
}

/// `Run` in density.wgsl.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Pod, Zeroable)]
pub(crate) struct GpuRun {
    pub(crate) point_start: u32,
    pub(crate) seg_count: u32,
    pub(crate) flags: u32,
    pub(crate) _pad: u32,
}

pub(crate) const RUN_HAS_PREV: u32 = 1;
pub(crate) const RUN_HAS_NEXT: u32 = 2;

/// `Params` in colormap.wgsl.
#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable)]
pub(crate) struct ColormapParams {
    pub count: u32,
    pub(crate) max_count: f32,
    pub(crate) row_pitch: u32,
    pub(crate) _pad: u32,
}
