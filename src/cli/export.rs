//! `hotpot export`: the heatmap as PMTiles, MBTiles or a folder of tiles,
//! and `hotpot export merge` for the parts of a sharded export.

use super::StyleArgs;
use super::manage::FilterArgs;
use anyhow::{Context, Result, bail};
use clap::{ArgGroup, Args, Subcommand};
use hotpot::export::job::{ExportReport, ExportSpec, export};
use hotpot::export::shard::Shard;
use hotpot::geo::LonLatBounds;
use hotpot::render::backend::{self, Backend};
use hotpot::serve::style::StyleQuery;
use std::io::IsTerminal;
use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Args)]
#[command(args_conflicts_with_subcommands = true)]
#[command(group(ArgGroup::new("area").args(["bounds", "fit"])))]
pub struct ExportArgs {
    #[command(subcommand)]
    command: Option<ExportCommand>,
    /// Output: NAME.pmtiles, NAME.mbtiles, or a folder (z/x/y.png,
    /// tiles.json and a viewer page).
    #[arg(default_value = "heatmap.pmtiles")]
    output: PathBuf,
    /// Zoom levels, e.g. 2-16 or 12 (0-20).
    #[arg(long, default_value = "2-16", value_parser = parse_zooms)]
    zoom: RangeInclusive<u8>,
    /// Only tiles meeting this area, west,south,east,north in degrees.
    #[arg(long, value_name = "W,S,E,N", allow_hyphen_values = true)]
    bounds: Option<String>,
    /// Every tile that holds data (the default).
    #[arg(long)]
    fit: bool,
    /// Tile size in pixels: 256, or 512 (the server's @2x tiles).
    #[arg(long, default_value_t = 256, value_parser = parse_tile_size)]
    tile_size: u32,
    /// Render one part of the pyramid, I of N counted from 0, balanced by
    /// work; join the parts with `hotpot export merge`.
    #[arg(long, value_name = "I/N", value_parser = Shard::parse)]
    shard: Option<Shard>,
    /// Also write the static viewer (index.html, Leaflet, pmtiles.js) into
    /// this folder; upload it with the archive to any static host.
    #[arg(long, value_name = "DIR")]
    viewer: Option<PathBuf>,
    /// Name written into the archive's metadata.
    #[arg(long, default_value = "hotpot heatmap")]
    name: String,
    #[command(flatten)]
    style: StyleArgs,
    #[command(flatten)]
    filter: FilterArgs,
}

#[derive(Subcommand)]
enum ExportCommand {
    /// Join the PMTiles parts of a sharded export into one archive.
    Merge {
        /// The parts (.pmtiles).
        #[arg(required = true)]
        parts: Vec<PathBuf>,
        /// The joined archive.
        #[arg(short, long)]
        output: PathBuf,
    },
}

pub(crate) fn parse_zooms(s: &str) -> Result<RangeInclusive<u8>, String> {
    let num = |v: &str| -> Result<u8, String> {
        v.trim()
            .parse::<u8>()
            .ok()
            .filter(|&z| z <= 20)
            .ok_or_else(|| format!("{v:?} is not a zoom in 0-20"))
    };
    let (a, b) = match s.split_once('-') {
        Some((a, b)) => (num(a)?, num(b)?),
        None => (num(s)?, num(s)?),
    };
    if a > b {
        return Err(format!("{s}: the first zoom is above the last"));
    }
    Ok(a..=b)
}

fn parse_tile_size(s: &str) -> Result<u32, String> {
    match s {
        "256" => Ok(256),
        "512" => Ok(512),
        _ => Err(format!("{s}: tiles are 256 or 512 pixels")),
    }
}

pub fn run(db: &Path, backend: Backend, args: ExportArgs) -> Result<ExitCode> {
    if let Some(ExportCommand::Merge { parts, output }) = args.command {
        let t = std::time::Instant::now();
        let r = hotpot::export::merge::merge(&parts, &output)?;
        println!(
            "merged {} parts into {} ({} tiles) in {:.1}s",
            r.parts,
            output.display(),
            r.tiles,
            t.elapsed().as_secs_f64()
        );
        return Ok(ExitCode::SUCCESS);
    }
    let area = match &args.bounds {
        Some(b) => Some(
            LonLatBounds::parse(b)
                .map_err(|e| anyhow::anyhow!("--bounds: {e}"))?
                .to_unit(),
        ),
        None => None,
    };
    if args.viewer.is_some()
        && hotpot::export::Format::of(&args.output) != hotpot::export::Format::Pmtiles
    {
        bail!("--viewer is for .pmtiles outputs (a folder export has its own index.html)");
    }
    let filter = args.filter.to_filter()?;
    let style = StyleQuery {
        palette: args.style.palette.clone(),
        gradient: args.style.gradient.clone(),
        background: args.style.background.clone(),
        line_width: args.style.line_width,
        filter: filter.map(|f| f.to_string()),
        scale: Some(args.style.look.scale.name().to_string()),
        glow: Some(if args.style.look.glow { "1" } else { "0" }.to_string()),
        ..Default::default()
    };
    let spec = ExportSpec {
        db: db.to_owned(),
        output: args.output.clone(),
        zooms: args.zoom,
        area,
        style,
        tile_size: args.tile_size,
        shard: args.shard,
        viewer: args.viewer.clone(),
        name: args.name.clone(),
        progress: std::io::stderr().is_terminal(),
    };
    let mut renderer = backend::renderer(backend)?;
    let report = export(&spec, renderer.as_mut())
        .with_context(|| format!("exporting {}", args.output.display()))?;
    print_summary(&args.output, &report, &renderer.describe());
    if let Some(dir) = &args.viewer {
        println!("viewer: {}", dir.join("index.html").display());
    }
    Ok(ExitCode::SUCCESS)
}

fn print_summary(output: &Path, r: &ExportReport, renderer: &str) {
    let p = &r.pipeline;
    let tiles = p.tiles();
    let secs = r.total.as_secs_f64();
    println!(
        "wrote {} : {tiles} tiles, {:.1} MB in {secs:.1}s ({:.0} tiles/s, {renderer})",
        output.display(),
        p.bytes as f64 / 1e6,
        tiles as f64 / secs.max(1e-9),
    );
    let per_zoom: Vec<String> = p
        .written
        .iter()
        .enumerate()
        .filter(|(_, n)| **n > 0)
        .map(|(z, n)| format!("z{z} {n}"))
        .collect();
    println!("  per zoom: {}", per_zoom.join(", "));
    println!(
        "  {} tiles planned, {} empty; time: load {:.2}s, enumerate {:.2}s, render {:.2}s, encode {:.2}s, write {:.2}s, finish {:.2}s",
        r.planned,
        p.empty,
        r.load.as_secs_f64(),
        r.enumerate.as_secs_f64(),
        p.render.as_secs_f64(),
        p.encode.as_secs_f64(),
        p.write.as_secs_f64(),
        r.finish.as_secs_f64()
    );
}
