//! Time-lapses: one frame per year or month, as an animated PNG, numbered
//! PNGs, or one poster of small multiples.
//!
//! The scene is loaded once. Each period's tracks are drawn once, as their
//! own density; a cumulative frame is the running sum of those densities
//! (fixed-point sums are exact, so frame k equals a render of everything
//! up to period k), so the whole time-lapse costs one render of the data
//! however many frames it has. Glow and the eqhist scale are applied to each
//! frame's density; eqhist's histogram is the whole data set's, so frames
//! do not flicker in brightness as the data grows.

mod font;

use crate::render::encode::{EncodeError, write_png};
use crate::render::poster::PosterSpec;
use crate::render::{Density, RenderError, Renderer, RgbaImage, glow};
use crate::scene::Scene;
use crate::timefmt::{civil_from_days, days_from_civil};
use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use font::draw_label;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    Year,
    Month,
}

impl Period {
    pub const NAMES: [&'static str; 2] = ["year", "month"];

    /// `year` or `month` (the CLI offers only these).
    pub fn parse(s: &str) -> Option<Period> {
        match s.to_ascii_lowercase().as_str() {
            "year" => Some(Period::Year),
            "month" => Some(Period::Month),
            _ => None,
        }
    }
}

/// One frame: its label and the start times it holds, [start, end) in
/// unix ms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub label: String,
    pub(crate) start_ms: i64,
    pub(crate) end_ms: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum TimelapseError {
    #[error(transparent)]
    Render(#[from] RenderError),
    #[error(transparent)]
    Encode(#[from] EncodeError),
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("no activity with a start time to make frames of")]
    NoFrames,
    #[error("{0} frames are more than an animated PNG holds")]
    TooMany(usize),
}

const DAY_MS: i64 = 86_400_000;

/// Every year or month from the first start time to the last, empty ones
/// included (a year off the bike is part of the story).
pub fn frames(starts: impl IntoIterator<Item = i64>, by: Period) -> Vec<Frame> {
    let (mut lo, mut hi) = (i64::MAX, i64::MIN);
    for t in starts {
        lo = lo.min(t);
        hi = hi.max(t);
    }
    if lo > hi {
        return Vec::new();
    }
    let ym = |ms: i64| {
        let (y, m, _) = civil_from_days(ms.div_euclid(DAY_MS));
        (y, m)
    };
    let ((mut y, mut m), last) = (ym(lo), ym(hi));
    if by == Period::Year {
        m = 1;
    }
    let mut out = Vec::new();
    while (y, m) <= last || (by == Period::Year && y <= last.0) {
        let (ny, nm) = match by {
            Period::Year => (y + 1, 1),
            Period::Month if m == 12 => (y + 1, 1),
            Period::Month => (y, m + 1),
        };
        out.push(Frame {
            label: match by {
                Period::Year => format!("{y:04}"),
                Period::Month => format!("{y:04}-{m:02}"),
            },
            start_ms: days_from_civil(y, m, 1) * DAY_MS,
            end_ms: days_from_civil(ny, nm, 1) * DAY_MS,
        });
        (y, m) = (ny, nm);
    }
    out
}

/// What to make.
#[derive(Debug, Clone)]
pub struct TimelapseSpec {
    /// Area, size, colours, line width and glow, as for a poster.
    pub poster: PosterSpec,
    pub by: Period,
    pub cumulative: bool,
    /// Draw each frame's period in its top-left corner.
    pub labels: bool,
}

/// Renders every frame in order and hands it to `each` with its frame.
/// `starts` maps a scene track's id to its start time; tracks without one
/// are in no frame.
pub fn render_frames(
    renderer: &mut dyn Renderer,
    scene: &Scene,
    starts: &HashMap<i64, i64>,
    spec: &TimelapseSpec,
    mut each: impl FnMut(usize, &Frame, RgbaImage) -> Result<(), TimelapseError>,
) -> Result<usize, TimelapseError> {
    let frames = frames(
        scene
            .tracks
            .iter()
            .filter_map(|t| starts.get(&t.id).copied()),
        spec.by,
    );
    if frames.is_empty() {
        return Err(TimelapseError::NoFrames);
    }
    let job = spec.poster.job();
    let margin = if spec.poster.glow {
        glow::radius(&job)
    } else {
        0
    };
    let grown = glow::expand(&job, margin);
    let mut sum: Option<Density> = None;
    for (i, f) in frames.iter().enumerate() {
        let tracks: Vec<_> = scene
            .tracks
            .iter()
            .filter(|t| {
                starts
                    .get(&t.id)
                    .is_some_and(|&s| s >= f.start_ms && s < f.end_ms)
            })
            .map(|t| (t.id, t.track.clone()))
            .collect();
        let period = Scene {
            masks: scene.masks.clone(),
            ..Scene::from_tracks(tracks)
        };
        let d = renderer.render_density(&period, &[grown])?.remove(0);
        let d = match (&mut sum, spec.cumulative) {
            (Some(acc), true) => {
                acc.data
                    .iter_mut()
                    .zip(&d.data)
                    .for_each(|(a, v)| *a = a.saturating_add(*v));
                acc.clone()
            }
            (None, true) => {
                sum = Some(d.clone());
                d
            }
            (_, false) => d,
        };
        let d = if spec.poster.glow {
            glow::apply(&d, margin)
        } else {
            d
        };
        let mut img = spec.poster.colormap.colorize(&d);
        if let Some(o) = &spec.poster.overlay {
            o.overlay(&job.view, &mut img);
        }
        if spec.labels {
            let scale = (img.height.min(img.width) / 150).max(1);
            draw_label(&mut img, &f.label, 2 * scale, 2 * scale, scale);
        }
        each(i, f, img)?;
    }
    Ok(frames.len())
}

/// Where frames go.
pub enum FrameSink {
    /// An animated PNG, looping.
    Apng {
        writer: png::Writer<std::io::BufWriter<std::fs::File>>,
    },
    /// `frame-0001.png`... in a directory.
    Dir(PathBuf),
}

impl FrameSink {
    /// An APNG of `frames` frames at `path`.
    pub fn apng(
        path: &Path,
        width: u32,
        height: u32,
        frames: usize,
        delay_ms: u16,
    ) -> Result<FrameSink, TimelapseError> {
        let write_err = |source| TimelapseError::Write {
            path: path.to_owned(),
            source,
        };
        let n = u32::try_from(frames).map_err(|_| TimelapseError::TooMany(frames))?;
        let file = std::fs::File::create(path).map_err(write_err)?;
        let mut enc = png::Encoder::new(std::io::BufWriter::new(file), width, height);
        enc.set_color(png::ColorType::Rgba);
        enc.set_depth(png::BitDepth::Eight);
        enc.set_animated(n, 0).map_err(EncodeError::from)?;
        enc.set_frame_delay(delay_ms, 1000)
            .map_err(EncodeError::from)?;
        // Each frame replaces the last, transparent pixels included.
        enc.set_blend_op(png::BlendOp::Source)
            .map_err(EncodeError::from)?;
        let writer = enc.write_header().map_err(EncodeError::from)?;
        Ok(FrameSink::Apng { writer })
    }

    pub fn dir(path: &Path) -> Result<FrameSink, TimelapseError> {
        std::fs::create_dir_all(path).map_err(|source| TimelapseError::Write {
            path: path.to_owned(),
            source,
        })?;
        Ok(FrameSink::Dir(path.to_owned()))
    }

    pub fn push(&mut self, index: usize, img: &RgbaImage) -> Result<(), TimelapseError> {
        match self {
            FrameSink::Apng { writer } => {
                writer
                    .write_image_data(&img.data)
                    .map_err(EncodeError::from)?;
            }
            FrameSink::Dir(dir) => {
                let path = dir.join(format!("frame-{:04}.png", index + 1));
                let write_err = |source| TimelapseError::Write {
                    path: path.clone(),
                    source,
                };
                let file = std::fs::File::create(&path).map_err(write_err)?;
                let mut out = std::io::BufWriter::new(file);
                write_png(&mut out, img, true)?;
                out.flush().map_err(write_err)?;
            }
        }
        Ok(())
    }

    pub fn finish(self) -> Result<(), TimelapseError> {
        if let FrameSink::Apng { writer } = self {
            writer.finish().map_err(EncodeError::from)?;
        }
        Ok(())
    }
}

/// Small multiples: panels of `panel_w` x `panel_h` laid out in rows,
/// as square as their number allows.
pub struct Grid {
    pub image: RgbaImage,
    cols: u32,
    panel: (u32, u32),
}

impl Grid {
    pub fn new(panels: usize, panel_w: u32, panel_h: u32) -> Result<Grid, RenderError> {
        let cols = (panels as f64).sqrt().ceil().max(1.0) as u32;
        let rows = (panels as u32).div_ceil(cols).max(1);
        let (w, h) = (cols * panel_w, rows * panel_h);
        let bytes = (w as usize)
            .checked_mul(h as usize)
            .and_then(|p| p.checked_mul(4))
            .filter(|&b| b <= isize::MAX as usize)
            .ok_or(RenderError::TooLarge {
                width: w,
                height: h,
            })?;
        let mut data = Vec::new();
        data.try_reserve_exact(bytes)
            .map_err(|_| RenderError::TooLarge {
                width: w,
                height: h,
            })?;
        data.resize(bytes, 0);
        Ok(Grid {
            image: RgbaImage {
                width: w,
                height: h,
                data,
            },
            cols,
            panel: (panel_w, panel_h),
        })
    }

    /// Copies panel `i` into its place.
    pub fn put(&mut self, i: usize, img: &RgbaImage) {
        let (pw, ph) = self.panel;
        let (x0, y0) = ((i as u32 % self.cols) * pw, (i as u32 / self.cols) * ph);
        let stride = self.image.width as usize * 4;
        for row in 0..ph as usize {
            let dst = (y0 as usize + row) * stride + x0 as usize * 4;
            let src = row * pw as usize * 4;
            self.image.data[dst..dst + pw as usize * 4]
                .copy_from_slice(&img.data[src..src + pw as usize * 4]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(y: i64, m: u32, d: u32) -> i64 {
        days_from_civil(y, m, d) * DAY_MS
    }

    #[test]
    fn years_and_months_span_the_data_with_gaps() {
        let f = frames(
            [ms(2019, 5, 3), ms(2021, 1, 1), ms(2021, 12, 31)],
            Period::Year,
        );
        let labels: Vec<_> = f.iter().map(|f| f.label.as_str()).collect();
        assert_eq!(labels, ["2019", "2020", "2021"]);
        assert_eq!(f[1].start_ms, ms(2020, 1, 1));
        assert_eq!(f[1].end_ms, ms(2021, 1, 1));
        let f = frames([ms(2020, 11, 30), ms(2021, 2, 1)], Period::Month);
        let labels: Vec<_> = f.iter().map(|f| f.label.as_str()).collect();
        assert_eq!(labels, ["2020-11", "2020-12", "2021-01", "2021-02"]);
        assert!(frames([], Period::Month).is_empty());
    }
}
