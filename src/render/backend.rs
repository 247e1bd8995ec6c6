//! Choosing a renderer: `--backend auto|gpu|cpu`.

use super::Renderer;
use super::cpu::CpuRenderer;
use super::gpu::{AdapterChoice, GpuContext, GpuError, GpuRenderer};
use std::sync::Arc;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Backend {
    /// A hardware GPU when there is one; otherwise whichever of the software
    /// GPU and the CPU renderer is faster for the job.
    Auto,
    /// The GPU renderer on any adapter, software ones included.
    Gpu,
    /// The CPU renderer.
    Cpu,
}

/// What the renderer will mostly do, for `auto`'s choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Workload {
    Poster,
    Tiles,
}

/// Makes the renderer for `backend`, logging one line on what `auto` chose
/// and why.
pub fn renderer(
    backend: Backend,
    workload: Workload,
) -> Result<Box<dyn Renderer + Send>, GpuError> {
    match backend {
        Backend::Cpu => Ok(Box::new(CpuRenderer::new())),
        Backend::Gpu => Ok(Box::new(GpuRenderer::new(Arc::new(GpuContext::new(
            AdapterChoice::Any,
        )?)))),
        Backend::Auto => Ok(auto(workload)),
    }
}

fn auto(workload: Workload) -> Box<dyn Renderer + Send> {
    let ctx = match GpuContext::new(AdapterChoice::Any) {
        Ok(ctx) => ctx,
        Err(e) => {
            tracing::info!("backend auto: cpu ({e})");
            return Box::new(CpuRenderer::new());
        }
    };
    if !ctx.info.software {
        tracing::info!("backend auto: gpu, hardware adapter {}", ctx.info);
        return Box::new(GpuRenderer::new(Arc::new(ctx)));
    }
    // Measured with `cargo bench --bench gpu` on 2 cores with lavapipe:
    // see software_wins() for the figures behind the choice.
    if software_wins(workload) {
        tracing::info!(
            "backend auto: gpu, software adapter {} is faster than the CPU renderer for {workload:?}",
            ctx.info
        );
        Box::new(GpuRenderer::new(Arc::new(ctx)))
    } else {
        tracing::info!(
            "backend auto: cpu, faster than the software adapter {} for {workload:?}",
            ctx.info
        );
        Box::new(CpuRenderer::new())
    }
}

/// Whether a software adapter (lavapipe) beats the CPU renderer for this
/// workload. Measured with `cargo bench --bench gpu` on 2 cores, 13 M points:
/// a 4096² poster takes 0.75 s on the CPU, 0.60 s on lavapipe warm but 0.83 s
/// cold (a one-shot poster pays shader compilation and upload); 256 tiles
/// take 0.28-0.87 s on the CPU and 0.39-1.35 s on lavapipe. So no.
fn software_wins(workload: Workload) -> bool {
    match workload {
        Workload::Poster | Workload::Tiles => false,
    }
}
