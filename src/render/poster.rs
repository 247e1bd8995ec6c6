//! Posters: one large picture of an area, written as a PNG file.

use super::encode::{EncodeError, write_png};
use super::{Colormap, RenderError, RenderJob, Renderer, View, default_line_width};
use crate::geo::UnitRect;
use crate::scene::Scene;
use std::path::Path;
use std::time::{Duration, Instant};

/// What to draw: the exact area and size, and how.
#[derive(Debug, Clone)]
pub struct PosterSpec {
    pub area: UnitRect,
    pub width: u32,
    pub height: u32,
    /// Line width in pixels; `None` picks one for the poster's resolution.
    pub line_width: Option<f32>,
    pub colormap: Colormap,
}

impl PosterSpec {
    pub fn job(&self) -> RenderJob {
        let view = View::for_rect(self.area, self.width, self.height);
        RenderJob {
            view,
            line_width: self
                .line_width
                .unwrap_or_else(|| default_line_width(view.zoom())),
        }
    }
}

/// Where the time went, for `--verbose` and the benchmarks.
#[derive(Debug, Clone, Default)]
pub struct PosterTiming {
    /// Density and colours.
    pub render: Duration,
    pub encode: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum PosterError {
    #[error(transparent)]
    Render(#[from] RenderError),
    #[error(transparent)]
    Encode(#[from] EncodeError),
    #[error("cannot write {path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
}

/// Height (px) that keeps the area's aspect ratio at `width` px.
pub fn height_for_width(area: UnitRect, width: u32) -> u32 {
    ((width as f64 * area.height() / area.width()).round() as u32).max(1)
}

/// Width (px) that keeps the area's aspect ratio at `height` px.
pub fn width_for_height(area: UnitRect, height: u32) -> u32 {
    ((height as f64 * area.width() / area.height()).round() as u32).max(1)
}

pub fn render_poster(
    renderer: &mut dyn Renderer,
    scene: &Scene,
    spec: &PosterSpec,
    out: &Path,
) -> Result<PosterTiming, PosterError> {
    let mut timing = PosterTiming::default();
    let t = Instant::now();
    let img = renderer
        .render_rgba(scene, &[spec.job()], &spec.colormap)?
        .remove(0);
    timing.render = t.elapsed();
    let t = Instant::now();
    let write_err = |source| PosterError::Write {
        path: out.display().to_string(),
        source,
    };
    let file = std::fs::File::create(out).map_err(write_err)?;
    write_png(std::io::BufWriter::new(file), &img, true)?;
    timing.encode = t.elapsed();
    Ok(timing)
}
