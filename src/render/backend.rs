//! Choosing a renderer: `--backend auto|gpu|cpu`.

use super::Renderer;
use super::cpu::CpuRenderer;
use super::gpu::{GpuContext, GpuError, GpuRenderer};
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Backend {
    /// A hardware GPU when there is one; otherwise the CPU renderer.
    #[default]
    Auto,
    /// The GPU renderer on any adapter, software ones included.
    Gpu,
    /// The CPU renderer.
    Cpu,
}

impl Backend {
    pub const NAMES: [&'static str; 3] = ["auto", "gpu", "cpu"];
}

#[derive(Debug, thiserror::Error)]
#[error("unknown backend {0:?} (use auto, gpu or cpu)")]
pub struct UnknownBackend(String);

impl FromStr for Backend {
    type Err = UnknownBackend;
    fn from_str(s: &str) -> Result<Backend, UnknownBackend> {
        match s.to_ascii_lowercase().as_str() {
            "auto" => Ok(Backend::Auto),
            "gpu" => Ok(Backend::Gpu),
            "cpu" => Ok(Backend::Cpu),
            _ => Err(UnknownBackend(s.to_string())),
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Backend::Auto => "auto",
            Backend::Gpu => "gpu",
            Backend::Cpu => "cpu",
        })
    }
}

/// Makes the renderer for `backend`, logging one line on what `auto` chose
/// and why.
pub fn renderer(backend: Backend) -> Result<Box<dyn Renderer + Send>, GpuError> {
    match backend {
        Backend::Cpu => Ok(Box::new(CpuRenderer::new())),
        Backend::Gpu => Ok(Box::new(GpuRenderer::new(Arc::new(GpuContext::new()?)))),
        Backend::Auto => Ok(auto()),
    }
}

/// `auto`: a hardware GPU, else the CPU renderer. A software adapter
/// (lavapipe) never wins: measured with `cargo bench --bench gpu` on 2
/// cores, 13 M points, a 4096² poster takes 0.75 s on the CPU, 0.60 s on
/// lavapipe warm but 0.83 s cold (a one-shot poster pays shader compilation
/// and upload); 256 tiles take 0.28-0.87 s on the CPU and 0.39-1.35 s on
/// lavapipe.
fn auto() -> Box<dyn Renderer + Send> {
    match GpuContext::new() {
        Ok(ctx) if !ctx.info.software => {
            tracing::info!("backend auto: gpu, hardware adapter {}", ctx.info);
            Box::new(GpuRenderer::new(Arc::new(ctx)))
        }
        Ok(ctx) => {
            tracing::info!(
                "backend auto: cpu, faster than the software adapter {}",
                ctx.info
            );
            Box::new(CpuRenderer::new())
        }
        Err(e) => {
            tracing::info!("backend auto: cpu ({e})");
            Box::new(CpuRenderer::new())
        }
    }
}
