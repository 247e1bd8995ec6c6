//! How a tile or poster looks beyond its colours: `?scale=`/`--scale` and
//! `?glow=`/`--glow`, the glow's margin around the job before rendering,
//! the halo and the tone after. The server and the tile pipeline (export)
//! both go through here, so an exported tile is the served one.

use crate::render::colormap::Colormap;
use crate::render::tone::{EqHistCache, Scale, Tone};
use crate::render::{Density, RenderJob, glow};
use crate::scene::Scene;
use std::sync::Arc;

/// `?glow=`: 1/true/yes or 0/false/no.
pub(crate) fn parse_glow(v: Option<&str>) -> Result<bool, String> {
    match v.map(str::to_ascii_lowercase).as_deref() {
        None | Some("0" | "false" | "no" | "") => Ok(false),
        Some("1" | "true" | "yes") => Ok(true),
        Some(other) => Err(format!("glow: {other:?} is not 1/true or 0/false")),
    }
}

/// The job the worker renders: grown by the glow's margin when glowing.
pub(crate) fn job_to_render(job: &RenderJob, glowing: bool) -> RenderJob {
    if glowing {
        glow::expand(job, glow::radius(job))
    } else {
        *job
    }
}

/// The tile's density (halo added, margin cut) and its colormap (with the
/// tone; eqhist's histogram from `cache`, computed once per scene and zoom).
/// Blocking: run it off the async runtime.
pub fn finish(
    density: Density,
    job: &RenderJob,
    glowing: bool,
    scale: Scale,
    colormap: Arc<Colormap>,
    scene: &Scene,
    cache: &EqHistCache,
) -> (Density, Arc<Colormap>) {
    let density = if glowing {
        glow::apply(&density, glow::radius(job))
    } else {
        density
    };
    if scale == Scale::Counts {
        return (density, colormap);
    }
    let tone = Tone::new(scale, cache, scene, job, glowing);
    let cm = Colormap::with_tone(colormap.gradient.clone(), colormap.background, tone);
    (density, Arc::new(cm))
}
