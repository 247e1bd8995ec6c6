//! `hotpot explorer`: visited tiles, max square, max cluster, new tiles
//! per year, and the tiles to ride next as GeoJSON.

use anyhow::{Result, bail};
use clap::Args;
use hotpot::explorer::geojson::tiles_geojson;
use hotpot::explorer::stats::{ExplorerStats, cluster_frontier};
use hotpot::explorer::{ZOOMS, is_kept_zoom};
use hotpot::store::Store;
use std::collections::HashSet;
use std::path::Path;
use std::process::ExitCode;

#[derive(Args)]
pub struct ExplorerArgs {
    /// Tile zoom: 14 (explorer tiles) or 17 (squadratinhos).
    #[arg(long, default_value_t = 14)]
    pub zoom: u8,
    /// Print JSON instead of text.
    #[arg(long, conflicts_with = "geojson")]
    pub json: bool,
    /// Print the unvisited tiles bordering the max cluster as GeoJSON
    /// (for route planners).
    #[arg(long)]
    pub geojson: bool,
}

/// Checks `--explorer`/`--zoom` values: only the zooms kept at import.
pub fn check_zoom(zoom: u8) -> Result<()> {
    if !is_kept_zoom(zoom) {
        bail!("explorer tiles are kept at zoom {ZOOMS:?}, not {zoom}");
    }
    Ok(())
}

pub fn explorer(db: &Path, args: ExplorerArgs) -> Result<ExitCode> {
    check_zoom(args.zoom)?;
    let store = Store::open_existing(db)?;
    let visits = store.explorer_visits(args.zoom)?;
    if args.geojson {
        let set: HashSet<_> = visits.iter().map(|v| v.tile).collect();
        let fc = tiles_geojson(args.zoom, cluster_frontier(&set), "unvisited");
        println!("{}", serde_json::to_string(&fc)?);
        return Ok(ExitCode::SUCCESS);
    }
    let s = ExplorerStats::compute(args.zoom, &visits);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&s)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!("zoom {}: {} tiles visited", s.zoom, s.visited);
    match s.max_square {
        Some(q) => println!(
            "max square: {0}x{0} (tiles {1},{2} to {3},{4})",
            q.size,
            q.x,
            q.y,
            q.x + q.size - 1,
            q.y + q.size - 1
        ),
        None => println!("max square: none"),
    }
    println!("max cluster: {} tiles", s.max_cluster);
    for (year, n) in &s.new_per_year {
        println!("  {year:<8} {n:>6} new tiles");
    }
    Ok(ExitCode::SUCCESS)
}
