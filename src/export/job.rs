//! One export from start to end: load the scene, enumerate, shard, run the
//! pipeline into the output, write the viewer. The CLI, tests and the
//! benchmark all call [`export`].

use super::shard::Shard;
use super::{ArchiveInfo, ExportError, info::HotpotBlock, viewer};
use crate::geo::UnitRect;
use crate::render::Renderer;
use crate::scene::Scene;
use crate::serve::style::{StyleQuery, TileStyle};
use crate::store::Store;
use crate::tiles::{self, PipelineOptions, PipelineReport, Tile};
use std::ops::RangeInclusive;
use std::path::PathBuf;
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct ExportSpec {
    pub db: PathBuf,
    /// `.pmtiles`, `.mbtiles`, or a folder.
    pub output: PathBuf,
    pub zooms: RangeInclusive<u8>,
    /// Normalized Mercator area; `None` fits the data.
    pub area: Option<UnitRect>,
    /// The look, exactly as a tile URL's query gives it to `hotpot serve`.
    pub style: StyleQuery,
    pub tile_size: u32,
    pub shard: Option<Shard>,
    /// Also write the static viewer page here (for PMTiles outputs).
    pub viewer: Option<PathBuf>,
    pub name: String,
    /// Draw a progress bar on stderr.
    pub progress: bool,
}

/// What an export did.
#[derive(Debug, Clone, Default)]
pub struct ExportReport {
    pub load: Duration,
    pub enumerate: Duration,
    /// Tiles enumerated (this shard's), before empty ones were dropped.
    pub planned: u64,
    pub pipeline: PipelineReport,
    pub finish: Duration,
    pub total: Duration,
    pub info: Option<ArchiveInfo>,
}

pub fn export(spec: &ExportSpec, renderer: &mut dyn Renderer) -> Result<ExportReport, ExportError> {
    let start = Instant::now();
    let invalid = |message: String| ExportError::Invalid {
        path: spec.output.clone(),
        message,
    };
    if *spec.zooms.end() > crate::serve::routes::MAX_ZOOM || spec.zooms.is_empty() {
        return Err(invalid(format!(
            "zooms {}-{}: must be within 0-{}",
            spec.zooms.start(),
            spec.zooms.end(),
            crate::serve::routes::MAX_ZOOM
        )));
    }
    if spec.tile_size != 256 && spec.tile_size != 512 {
        return Err(invalid(format!("tile size {}: 256 or 512", spec.tile_size)));
    }
    let style = TileStyle::from_query(&spec.style).map_err(|e| invalid(e.to_string()))?;
    let store_err = |e: crate::store::StoreError| invalid(e.to_string());
    let store = Store::open_existing(&spec.db).map_err(store_err)?;
    let generation = store.generation().map_err(store_err)?;
    // Tracks outside the area still draw into tiles that reach past its
    // edge: load what the area's lowest-zoom tiles cover.
    let load_area = spec.area.map(|a| {
        let tile = 1.0 / (1u64 << spec.zooms.start()) as f64;
        UnitRect {
            x0: a.x0 - tile,
            y0: a.y0 - tile,
            x1: a.x1 + tile,
            y1: a.y1 + tile,
        }
    });
    let scene = Scene::load(&store, load_area, style.filter.as_ref()).map_err(store_err)?;
    let Some(data) = scene.bounds() else {
        return Err(invalid(
            "no activities to export (empty database or filter)".into(),
        ));
    };
    let load = start.elapsed();

    let spec_style = style.spec(spec.tile_size);
    let t = Instant::now();
    // Fitting the data exports every tile a line reaches, also those just
    // past the data's box that a line's edge reaches into.
    let mut plan = tiles::enumerate(&scene, spec.zooms.clone(), spec.area, spec.tile_size, |z| {
        spec_style.reach_px(z)
    });
    if let Some(shard) = spec.shard {
        plan = shard.select(&plan).to_vec();
    }
    let enumerate = t.elapsed();

    let whole = UnitRect {
        x0: 0.0,
        y0: 0.0,
        x1: 1.0,
        y1: 1.0,
    };
    let info = archive_info(spec, &style, data, spec.area.unwrap_or(whole), generation);
    let mut out = super::open(&spec.output, &info)?;
    let list: Vec<Tile> = plan.iter().map(|w| w.tile).collect();
    let mut opts = PipelineOptions::for_renderer(renderer, spec.tile_size);
    opts.progress = crate::progress::bar(
        spec.progress,
        list.len() as u64,
        "{elapsed_precise} [{bar:40}] {pos}/{len} tiles ({per_sec}, ETA {eta})",
    );
    let pipeline = tiles::pipeline::run(renderer, &scene, &spec_style, &list, out.as_mut(), &opts)
        .map_err(|e| invalid(e.to_string()))?;
    opts.progress.finish_and_clear();
    let t = Instant::now();
    out.finish()?;
    if let Some(dir) = &spec.viewer {
        let url = relative_url(dir, &spec.output);
        viewer::write(dir, &info, viewer::Source::Pmtiles(&url))?;
    }
    Ok(ExportReport {
        load,
        enumerate,
        planned: list.len() as u64,
        pipeline,
        finish: t.elapsed(),
        total: start.elapsed(),
        info: Some(info),
    })
}

fn archive_info(
    spec: &ExportSpec,
    style: &TileStyle,
    data: UnitRect,
    area: UnitRect,
    generation: u64,
) -> ArchiveInfo {
    let shown = data.to_lonlat();
    let (cx, cy) = crate::geo::unit_to_lonlat((data.x0 + data.x1) / 2.0, (data.y0 + data.y1) / 2.0);
    // The zoom at which the data fills about one 1024 px screen.
    let fit = (1024.0 / 256.0 / data.width().max(data.height()).max(1e-9)).log2();
    let center_zoom =
        (fit.floor() as i64).clamp(*spec.zooms.start() as i64, *spec.zooms.end() as i64);
    let q = &spec.style;
    ArchiveInfo {
        name: spec.name.clone(),
        attribution: "Heatmap: hotpot".into(),
        bounds: [shown.west, shown.south, shown.east, shown.north],
        center: (cx, cy, center_zoom as u8),
        minzoom: *spec.zooms.start(),
        maxzoom: *spec.zooms.end(),
        hotpot: HotpotBlock {
            style_key: style.key.clone(),
            style: serde_json::json!({
                "palette": q.palette.as_ref().or(q.color.as_ref()),
                "gradient": q.gradient,
                "background": q.background,
                "line_width": style.line_width,
                "filter": style.filter.as_ref().map(|f| f.to_string()),
            }),
            tile_size: spec.tile_size,
            area: [area.x0, area.y0, area.x1, area.y1],
            generation,
            generator: super::info::generator(),
            shard: spec.shard.map(|s| [s.index, s.count]),
        },
    }
}

/// `target` as a URL relative to the page in `dir`: its path from `dir`
/// when it lies below, else its file name (upload both side by side).
fn relative_url(dir: &std::path::Path, target: &std::path::Path) -> String {
    let abs = |p: &std::path::Path| std::path::absolute(p).unwrap_or_else(|_| p.to_owned());
    let (dir, target) = (abs(dir), abs(target));
    match target.strip_prefix(&dir) {
        Ok(rel) => rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join("/"),
        Err(_) => target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
    }
}
