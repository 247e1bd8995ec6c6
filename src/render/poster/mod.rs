//! Posters: one picture of an exact area at any size, written as PNG.
//!
//! The area maps onto exactly `width` x `height` pixels (stretched if the
//! two disagree on shape; [`area::aspect_mismatch`] says when). The poster
//! is drawn in horizontal strips, sub-views of one pixel grid, so lines
//! crossing a strip border join pixel-exactly; each strip's rows are handed
//! to a PNG encoder on another thread ([`sink`]) while the next strip
//! renders, which filters and compresses them on all cores
//! ([`super::encode::write_png_blocks_parallel`]). Memory is bounded by the strip, never by the poster: a
//! 100,000 x 100,000 poster needs no more than a 2,000 x 2,000 one.

pub mod area;
pub mod frame;
pub mod print;
pub mod raw;
mod sink;

use self::sink::Sink;
use super::encode::{EncodeError, PngFormat, PngHeader};
use super::{
    Colormap, RenderError, RenderJob, Renderer, RgbaImage, View, default_line_width, glow,
};
use crate::geo::UnitRect;
use crate::scene::Scene;
use indicatif::ProgressBar;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Where a poster file is written until it is complete: `NAME.partial`
/// beside it, renamed to `NAME` at the end.
pub fn partial_path(path: &Path) -> std::path::PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".partial");
    path.with_file_name(name)
}

/// Bytes of density (4 a pixel) per strip when the renderer allows it.
/// Peak memory is a small multiple of this (per-thread density buffers,
/// the strip's colours, one strip waiting for the encoder, one being
/// encoded) on top of the scene. Measured on 2 cores, 16000² posters: 8 and
/// 16 MiB are equally fast, 32 MiB is 25% slower (its buffers no longer
/// come from the allocator's free lists but fresh from the kernel, page
/// fault by page fault), 4 MiB is 5% slower (more runs drawn twice, at
/// strip borders).
pub const STRIP_BUDGET: u64 = 16 << 20;

/// The longer side (px) of the picture whose default lines are 1 px wide;
/// see [`poster_line_width`].
pub const REFERENCE_SIZE: f64 = 2000.0;

/// Widest default line (px), reached at a 128,000 px poster.
pub const MAX_LINE_WIDTH: f32 = 64.0;

/// What to draw: the exact area and size, and how.
#[derive(Debug, Clone)]
pub struct PosterSpec {
    pub area: UnitRect,
    pub width: u32,
    pub height: u32,
    /// Line width in pixels; `None` picks one for the poster's resolution
    /// ([`poster_line_width`]).
    pub line_width: Option<f32>,
    pub colormap: Colormap,
    /// Resolution for print, written into the PNG (pHYs) when known.
    pub dpi: Option<f64>,
    /// Rows per strip; `None` sizes strips to [`STRIP_BUDGET`] and the
    /// renderer's limits. Tests force tiny strips to check the seams.
    pub strip_rows: Option<u32>,
    /// Draw a progress bar on stderr.
    pub progress: bool,
    /// A halo under the lines ([`super::glow`]).
    pub glow: bool,
    /// Drawn over the heatmap, strip by strip (explorer tiles).
    pub overlay: Option<Arc<dyn Overlay>>,
}

/// Something drawn over a rendered picture, given the view it covers.
pub trait Overlay: Send + Sync + std::fmt::Debug {
    fn overlay(&self, view: &View, img: &mut RgbaImage);
}

/// Where a poster goes.
#[derive(Debug, Clone, Copy)]
pub struct PosterFiles<'a> {
    /// The coloured poster.
    pub png: &'a Path,
    /// The 16-bit density export ([`raw`]), if wanted.
    pub raw: Option<&'a Path>,
}

impl PosterSpec {
    /// A spec with default line width, no DPI, strips sized automatically
    /// and no progress bar.
    pub fn new(area: UnitRect, width: u32, height: u32, colormap: Colormap) -> PosterSpec {
        PosterSpec {
            area,
            width,
            height,
            line_width: None,
            colormap,
            dpi: None,
            strip_rows: None,
            progress: false,
            glow: false,
            overlay: None,
        }
    }

    /// The whole poster as one job (rendered strip by strip).
    pub fn job(&self) -> RenderJob {
        let view = View::for_rect(self.area, self.width, self.height);
        RenderJob {
            view,
            line_width: self.line_width.unwrap_or_else(|| poster_line_width(&view)),
        }
    }

    /// Rows per strip for `renderer`.
    pub fn strip_rows_for(&self, renderer: &dyn Renderer) -> u32 {
        let rows = self.strip_rows.unwrap_or_else(|| {
            let pixels = (STRIP_BUDGET / 4).min(renderer.max_pixels_per_pass().unwrap_or(u64::MAX));
            (pixels / self.width.max(1) as u64).min(u32::MAX as u64) as u32
        });
        rows.clamp(1, self.height.max(1))
    }

    fn header(&self, format: PngFormat, text: Vec<(String, String)>) -> PngHeader {
        PngHeader {
            width: self.width,
            height: self.height,
            format,
            dpi: self.dpi,
            text,
            fast: true,
        }
    }
}

/// Default line width (px) for a poster.
///
/// A poster is looked at whole, from whatever distance takes it in, so its
/// lines should take the same share of its size whatever its pixel count:
/// the share of one pixel in a [`REFERENCE_SIZE`] (2000 px) picture, where
/// 1 px lines read well on a screen. The width therefore grows with the
/// longer side: 8 px at 16,000 px, 50 px at 100,000 px. Print size and DPI
/// do not enter: at a given pixel count they only change the distance the
/// poster is seen from. Small posters keep the zoom rule of tiles
/// ([`default_line_width`]), whichever is wider, so posters up to ~3000 px
/// look as before. Capped at [`MAX_LINE_WIDTH`]: drawing cost grows with the
/// width. `--line-width` overrides all of this.
pub fn poster_line_width(view: &View) -> f32 {
    let scaled = (view.width.max(view.height) as f64 / REFERENCE_SIZE) as f32;
    default_line_width(view.zoom())
        .max(scaled)
        .min(MAX_LINE_WIDTH)
}

/// Where the time went, for `--verbose` and the benchmarks.
#[derive(Debug, Clone, Default)]
pub struct PosterTiming {
    /// In the renderer: density and colours.
    pub render: Duration,
    /// In PNG encoders (each on its own thread, overlapping `render`, and
    /// filtering and compressing on all cores).
    pub encode: Duration,
    /// Wall time, start to files in place.
    pub total: Duration,
    pub strips: u32,
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

/// Renders `spec` strip by strip into `files`.
pub fn render_poster(
    renderer: &mut dyn Renderer,
    scene: &Scene,
    spec: &PosterSpec,
    files: &PosterFiles,
) -> Result<PosterTiming, PosterError> {
    let start = Instant::now();
    let rows = spec.strip_rows_for(renderer);
    let mut timing = PosterTiming {
        strips: spec.height.div_ceil(rows),
        ..PosterTiming::default()
    };
    let bar = crate::progress::bar(
        spec.progress,
        timing.strips as u64,
        "{spinner} rendering [{bar:30}] {pos}/{len} strips ({percent}%, eta {eta})",
    );
    std::thread::scope(|scope| -> Result<(), PosterError> {
        let mut sinks = vec![Sink::spawn(
            scope,
            files.png,
            spec.header(PngFormat::Rgba8, Vec::new()),
        )?];
        if let Some(path) = files.raw {
            match Sink::spawn(
                scope,
                path,
                spec.header(PngFormat::Gray16, raw::text_chunks()),
            ) {
                Ok(s) => sinks.push(s),
                Err(e) => {
                    sinks.into_iter().for_each(Sink::abandon);
                    return Err(e);
                }
            }
        }
        let drawn = draw_strips(
            renderer,
            scene,
            spec,
            rows,
            &sinks,
            &bar,
            &mut timing.render,
        );
        bar.finish_and_clear();
        match drawn {
            Ok(()) => {
                let mut first_error = None;
                for sink in sinks {
                    match sink.finish() {
                        Ok(busy) => timing.encode += busy,
                        Err(e) => {
                            first_error.get_or_insert(e);
                        }
                    }
                }
                first_error.map_or(Ok(()), Err)
            }
            Err(Stop::Render(e)) => {
                sinks.into_iter().for_each(Sink::abandon);
                Err(e.into())
            }
            Err(Stop::Sink(i)) => {
                let failed = sinks.swap_remove(i);
                sinks.into_iter().for_each(Sink::abandon);
                // The encoder stopped on its own: its error says why.
                failed.finish().map(|_| ())
            }
        }
    })?;
    timing.total = start.elapsed();
    Ok(timing)
}

/// Why drawing stopped early.
enum Stop {
    Render(RenderError),
    /// The encoder of this sink quit (it holds the error).
    Sink(usize),
}

/// Renders every strip and hands its rows to the sinks: colours to the
/// first, raw density to the second if there is one.
fn draw_strips(
    renderer: &mut dyn Renderer,
    scene: &Scene,
    spec: &PosterSpec,
    rows: u32,
    sinks: &[Sink],
    bar: &ProgressBar,
    render_time: &mut Duration,
) -> Result<(), Stop> {
    let job = spec.job();
    for y in (0..spec.height).step_by(rows as usize) {
        let strip = RenderJob {
            view: job
                .view
                .sub_view(0, y, spec.width, rows.min(spec.height - y)),
            ..job
        };
        let t = Instant::now();
        let blocks = if sinks.len() > 1 || spec.glow {
            // The raw export and the glow need the density itself; colours
            // then come from it on the CPU.
            let d = if spec.glow {
                glow::render_density(renderer, scene, &[strip])
            } else {
                renderer.render_density(scene, &[strip])
            }
            .map_err(Stop::Render)?
            .remove(0);
            let mut img = spec.colormap.colorize(&d);
            if let Some(o) = &spec.overlay {
                o.overlay(&strip.view, &mut img);
            }
            let mut blocks = vec![img.data];
            if sinks.len() > 1 {
                blocks.push(raw::gray16(&d));
            }
            renderer.recycle(d);
            blocks
        } else {
            let mut img = renderer
                .render_rgba(scene, &[strip], &spec.colormap)
                .map_err(Stop::Render)?
                .remove(0);
            if let Some(o) = &spec.overlay {
                o.overlay(&strip.view, &mut img);
            }
            vec![img.data]
        };
        *render_time += t.elapsed();
        for (i, (sink, block)) in sinks.iter().zip(blocks).enumerate() {
            if !sink.send(block) {
                return Err(Stop::Sink(i));
            }
        }
        bar.inc(1);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::colormap::Gradient;

    fn spec(width: u32, height: u32) -> PosterSpec {
        let area = UnitRect {
            x0: 0.53,
            y0: 0.33,
            x1: 0.54,
            y1: 0.34,
        };
        PosterSpec::new(
            area,
            width,
            height,
            Colormap::new(Gradient::palette("hot").unwrap(), None),
        )
    }

    #[test]
    fn lines_widen_with_the_poster() {
        let w = |size| spec(size, size).job().line_width;
        // Small posters keep the zoom rule.
        assert_eq!(
            w(1000),
            default_line_width(spec(1000, 1000).job().view.zoom())
        );
        assert_eq!(w(16_000), 8.0);
        assert_eq!(w(100_000), 50.0);
        assert_eq!(w(1_000_000), MAX_LINE_WIDTH);
        let mut s = spec(100_000, 100_000);
        s.line_width = Some(1.5);
        assert_eq!(s.job().line_width, 1.5, "--line-width wins");
    }

    #[test]
    fn strips_fit_the_budget_and_the_renderer() {
        let cpu = crate::render::cpu::CpuRenderer::new();
        let s = spec(100_000, 100_000);
        let rows = s.strip_rows_for(&cpu);
        assert_eq!(rows as u64, STRIP_BUDGET / 4 / 100_000);
        assert_eq!(
            spec(10, 10).strip_rows_for(&cpu),
            10,
            "never more than the poster"
        );
        assert_eq!(
            spec(2_000_000_000, 1).strip_rows_for(&cpu),
            1,
            "at least a row"
        );
        let mut forced = spec(100, 100);
        forced.strip_rows = Some(7);
        assert_eq!(forced.strip_rows_for(&cpu), 7);
    }
}
