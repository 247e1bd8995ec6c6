//! Rendering: tracks → density → colours → PNG.
//!
//! Both renderers implement [`Renderer`] and follow one definition of what a
//! pixel's density is (see [`coverage`]): each track adds its anti-aliased
//! coverage in [0, 1], summed in fixed point so that the result does not depend
//! on the order work was done in. The CPU renderer is the reference.

pub mod backend;
pub mod colormap;
pub mod coverage;
pub mod cpu;
pub mod encode;
pub mod glow;
pub mod gpu;
pub(crate) mod level_cache;
pub mod lod;
pub mod look;
pub mod mask;
pub mod poster;
pub(crate) mod repalette;
pub mod tone;
pub(crate) mod track_levels;
pub mod view;

pub use colormap::Colormap;
pub use view::View;

use crate::scene::Scene;

/// Density is stored in fixed point: this many units are one full visit.
pub const DENSITY_ONE: u32 = 1024;

/// One picture to render.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RenderJob {
    pub view: View,
    /// Line width in pixels.
    pub line_width: f32,
}

impl RenderJob {
    /// A job with the default line width for the view's zoom.
    pub fn new(view: View) -> RenderJob {
        RenderJob {
            view,
            line_width: default_line_width(view.zoom()),
        }
    }
}

/// Line width (px) that reads well at a zoom: hair-thin lines at city zooms
/// would vanish, fat ones at continent zooms would merge into blobs.
pub(crate) fn default_line_width(zoom: f64) -> f32 {
    (1.0 + 0.25 * (zoom - 10.0)).clamp(1.0, 3.0) as f32
}

/// Visits per pixel, row-major, in units of 1/[`DENSITY_ONE`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Density {
    pub width: u32,
    pub height: u32,
    pub data: Vec<u32>,
}

impl Density {
    pub fn zeros(width: u32, height: u32) -> Density {
        Density {
            width,
            height,
            data: vec![0; width as usize * height as usize],
        }
    }

    pub fn get(&self, x: u32, y: u32) -> f32 {
        self.data[(y * self.width + x) as usize] as f32 / DENSITY_ONE as f32
    }

    /// Sum of all pixels, in visits.
    pub fn total(&self) -> f64 {
        self.data.iter().map(|&v| v as f64).sum::<f64>() / DENSITY_ONE as f64
    }

    /// The `w` x `h` block starting at (`x`, `y`).
    pub fn crop(&self, x: u32, y: u32, w: u32, h: u32) -> Density {
        let mut data = Vec::with_capacity(w as usize * h as usize);
        for row in y..y + h {
            let start = (row * self.width + x) as usize;
            data.extend_from_slice(&self.data[start..start + w as usize]);
        }
        Density {
            width: w,
            height: h,
            data,
        }
    }
}

/// An RGBA8 picture, straight (not premultiplied) alpha, row-major.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RgbaImage {
    pub width: u32,
    pub height: u32,
    pub data: Vec<u8>,
}

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("{0}")]
    Gpu(String),
    #[error("image of {width}x{height} pixels is too large for memory")]
    TooLarge { width: u32, height: u32 },
}

/// A way to turn a scene into density. Jobs come in batches so that a GPU
/// can draw many tiles in one pass; a renderer may render them in any order
/// but returns them in the order given.
pub trait Renderer {
    /// Short description for logs and `--help` ("cpu (2 threads)").
    fn describe(&self) -> String;

    /// The most pixels the renderer draws in one pass, if it has a limit.
    /// Bigger jobs still work (they are split), but callers that cut work
    /// into pieces anyway, like posters, size them to fit.
    fn max_pixels_per_pass(&self) -> Option<u64> {
        None
    }

    fn render_density(
        &mut self,
        scene: &Scene,
        jobs: &[RenderJob],
    ) -> Result<Vec<Density>, RenderError>;

    /// Density then colours; a GPU renderer overrides this to colour on the
    /// device and read back bytes instead of densities.
    fn render_rgba(
        &mut self,
        scene: &Scene,
        jobs: &[RenderJob],
        colormap: &Colormap,
    ) -> Result<Vec<RgbaImage>, RenderError> {
        let densities = self.render_density(scene, jobs)?;
        let images = densities.iter().map(|d| colormap.colorize(d)).collect();
        densities.into_iter().for_each(|d| self.recycle(d));
        Ok(images)
    }

    /// Builds what rendering `jobs` would need (levels of detail), drawing
    /// nothing. The server calls it while idle, so that the first tile of
    /// a zoom does not wait for that zoom's level. Renderers with nothing
    /// to prepare do nothing.
    fn prepare(&mut self, scene: &Scene, jobs: &[RenderJob]) {
        let _ = (scene, jobs);
    }

    /// Hands back a density the caller is done with, so that the renderer
    /// may reuse its memory for the next job.
    fn recycle(&mut self, density: Density) {
        drop(density);
    }
}
