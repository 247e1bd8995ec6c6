//! `hotpot timelapse`: a frame per year or month, as an animated PNG,
//! numbered PNGs in a directory, or one poster of small multiples.

use super::{Poster, RenderArgs, poster_setup, poster_spec};
use anyhow::{Result, bail};
use clap::Args;
use clap::builder::{PossibleValuesParser, TypedValueParser};
use hotpot::render::backend::{self, Backend};
use hotpot::render::encode::write_png;
use hotpot::store::Store;
use hotpot::timelapse::{FrameSink, Grid, Period, TimelapseSpec, frames, render_frames};
use std::collections::HashMap;
use std::path::Path;
use std::process::ExitCode;

#[derive(Args)]
pub struct TimelapseArgs {
    /// One frame per year or per month.
    #[arg(
        long,
        default_value = "year",
        value_parser = PossibleValuesParser::new(Period::NAMES)
            .map(|s| Period::parse(&s).expect("one of the possible values"))
    )]
    pub by: Period,
    /// Each frame shows everything up to the end of its period.
    #[arg(long)]
    pub cumulative: bool,
    /// One poster of small multiples, a panel per period, instead of an
    /// animation (--width/--height size each panel).
    #[arg(long)]
    pub grid: bool,
    /// Milliseconds each frame shows in the animated PNG.
    #[arg(long, default_value_t = 800)]
    pub delay_ms: u16,
    /// Leave the period labels off the frames.
    #[arg(long)]
    pub no_labels: bool,
    /// Area, size, style and filters as for `render`; -o out.png writes an
    /// animated PNG, -o DIR/ (or an existing directory) numbered PNGs.
    #[command(flatten)]
    pub render: RenderArgs,
}

pub fn timelapse(db: &Path, backend: Backend, args: TimelapseArgs) -> Result<ExitCode> {
    if args.render.raw.is_some() {
        bail!("--raw is for `render` only");
    }
    let store = Store::open_existing(db)?;
    let (frame, dpi, scene) = poster_setup(&store, &args.render)?;
    let mut poster = poster_spec(
        &scene,
        &Poster {
            frame,
            dpi,
            style: &args.render.style,
            output: &args.render.output,
            raw: None,
            explorer: args.render.explorer.map(|z| (&store, z)),
        },
    )?;
    poster.progress = false;
    let filter = args.render.filter.to_filter()?;
    let starts: HashMap<i64, i64> = store
        .list(filter.as_ref())?
        .into_iter()
        .filter_map(|a| Some((a.id, a.start_time?)))
        .collect();
    let n = frames(
        scene
            .tracks
            .iter()
            .filter_map(|t| starts.get(&t.id).copied()),
        args.by,
    )
    .len();
    let (w, h) = (poster.width, poster.height);
    let spec = TimelapseSpec {
        poster,
        by: args.by,
        cumulative: args.cumulative,
        labels: !args.no_labels,
    };
    let mut renderer = backend::renderer(backend)?;
    let out = &args.render.output;
    let t = std::time::Instant::now();
    if args.grid {
        let mut grid = Grid::new(n.max(1), w, h)?;
        render_frames(renderer.as_mut(), &scene, &starts, &spec, |i, _, img| {
            grid.put(i, &img);
            Ok(())
        })?;
        let file = std::fs::File::create(out)?;
        let mut buf = std::io::BufWriter::new(file);
        write_png(&mut buf, &grid.image, true)?;
        std::io::Write::flush(&mut buf)?;
        println!(
            "wrote {} ({n} panels of {w}x{h}, {}x{} px) in {:.2}s",
            out.display(),
            grid.image.width,
            grid.image.height,
            t.elapsed().as_secs_f64()
        );
        return Ok(ExitCode::SUCCESS);
    }
    let to_dir = out.is_dir() || out.to_string_lossy().ends_with(['/', '\\']);
    let mut sink = if to_dir {
        FrameSink::dir(out)?
    } else {
        FrameSink::apng(out, w, h, n, args.delay_ms)?
    };
    render_frames(renderer.as_mut(), &scene, &starts, &spec, |i, _, img| {
        sink.push(i, &img)
    })?;
    sink.finish()?;
    println!(
        "wrote {} ({n} frames of {w}x{h}{}) in {:.2}s",
        out.display(),
        if to_dir {
            ", numbered PNGs"
        } else {
            ", animated PNG"
        },
        t.elapsed().as_secs_f64()
    );
    Ok(ExitCode::SUCCESS)
}
