//! Plain-old-data structs shared with the shaders; each must be kept in
//! sync with its twin in `shaders/density.wgsl` or `shaders/colormap.wgsl`.

use bytemuck::{Pod, Zeroable};

/// `Params` in density.wgsl.
#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable)]
pub struct DensityParams {
    pub total_segs: u32,
    pub work_count: u32,
    pub row_pitch: u32,
    pub _pad: u32,
}

/// `Job` in density.wgsl: one view in the density buffer.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Pod, Zeroable)]
pub struct GpuJob {
    pub scale: [f32; 2],
    pub size: [u32; 2],
    pub offset: u32,
    pub half_width: f32,
    pub _pad: [u32; 2],
}

/// `Work` in density.wgsl: one run drawn into one job.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Pod, Zeroable)]
pub struct GpuWork {
    pub first_seg: u32,
    pub run: u32,
    pub job: u32,
    pub _pad: u32,
    pub origin: [f32; 2],
    pub _pad2: [f32; 2],
}

/// `Run` in density.wgsl.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Pod, Zeroable)]
pub struct GpuRun {
    pub point_start: u32,
    pub seg_count: u32,
    pub flags: u32,
    pub _pad: u32,
}

pub const RUN_HAS_PREV: u32 = 1;
pub const RUN_HAS_NEXT: u32 = 2;

/// `Params` in colormap.wgsl.
#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable)]
pub struct ColormapParams {
    pub count: u32,
    pub max_count: f32,
    pub row_pitch: u32,
    pub _pad: u32,
}
