//! The one place that owns the wgpu instance, device, queue and pipelines.

use std::fmt;

/// What `hotpot gpu-info` prints and `--backend auto` decides on.
#[derive(Debug, Clone, serde::Serialize)]
pub struct GpuInfo {
    pub name: String,
    pub backend: String,
    pub device_type: String,
    pub driver: String,
    pub driver_info: String,
    pub software: bool,
    pub max_texture_dimension_2d: u32,
    pub max_buffer_size: u64,
    pub max_storage_buffer_binding_size: u64,
    pub max_compute_workgroups_per_dimension: u32,
}

impl fmt::Display for GpuInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} ({}, {}, {} {})",
            self.name, self.backend, self.device_type, self.driver, self.driver_info
        )
    }
}

#[derive(Debug, thiserror::Error)]
pub enum GpuError {
    #[error("no GPU adapter found (install mesa-vulkan-drivers for a software one)")]
    NoAdapter,
    #[error("cannot open the GPU device: {0}")]
    Device(String),
}

pub struct GpuContext {
    pub device: wgpu::Device,
    pub queue: wgpu::Queue,
    pub info: GpuInfo,
    pub limits: wgpu::Limits,
    pub density: wgpu::ComputePipeline,
    pub colormap: wgpu::ComputePipeline,
}

impl GpuContext {
    /// Opens the best adapter: a hardware GPU if there is one, else a
    /// software one (lavapipe).
    pub fn new() -> Result<GpuContext, GpuError> {
        let instance =
            wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env());
        let adapters = pollster::block_on(instance.enumerate_adapters(wgpu::Backends::all()));
        let rank = |a: &wgpu::Adapter| match a.get_info().device_type {
            wgpu::DeviceType::DiscreteGpu => 0,
            wgpu::DeviceType::IntegratedGpu => 1,
            wgpu::DeviceType::VirtualGpu | wgpu::DeviceType::Other => 2,
            wgpu::DeviceType::Cpu => 3,
        };
        let adapter = adapters
            .into_iter()
            .min_by_key(rank)
            .ok_or(GpuError::NoAdapter)?;
        let limits = adapter.limits();
        let desc = wgpu::DeviceDescriptor {
            label: Some("hotpot"),
            required_limits: limits.clone(),
            ..Default::default()
        };
        let (device, queue) = pollster::block_on(adapter.request_device(&desc))
            .map_err(|e| GpuError::Device(e.to_string()))?;
        let ai = adapter.get_info();
        let info = GpuInfo {
            name: ai.name.clone(),
            backend: format!("{:?}", ai.backend),
            device_type: format!("{:?}", ai.device_type),
            driver: ai.driver.clone(),
            driver_info: ai.driver_info.clone(),
            software: ai.device_type == wgpu::DeviceType::Cpu,
            max_texture_dimension_2d: limits.max_texture_dimension_2d,
            max_buffer_size: limits.max_buffer_size,
            max_storage_buffer_binding_size: limits.max_storage_buffer_binding_size,
            max_compute_workgroups_per_dimension: limits.max_compute_workgroups_per_dimension,
        };
        let density = pipeline(
            &device,
            "density",
            include_str!("../../../shaders/density.wgsl"),
            "accumulate",
        );
        let colormap = pipeline(
            &device,
            "colormap",
            include_str!("../../../shaders/colormap.wgsl"),
            "colorize",
        );
        Ok(GpuContext {
            device,
            queue,
            info,
            limits,
            density,
            colormap,
        })
    }

    /// The largest buffer a shader may bind, in bytes.
    pub fn max_binding(&self) -> u64 {
        self.limits
            .max_storage_buffer_binding_size
            .min(self.limits.max_buffer_size)
    }
}

fn pipeline(
    device: &wgpu::Device,
    label: &str,
    source: &str,
    entry: &str,
) -> wgpu::ComputePipeline {
    let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
        label: Some(label),
        source: wgpu::ShaderSource::Wgsl(source.into()),
    });
    device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
        label: Some(label),
        layout: None,
        module: &module,
        entry_point: Some(entry),
        compilation_options: Default::default(),
        cache: None,
    })
}
