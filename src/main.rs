//! The `hotpot` command line: parses arguments and calls the library.

#[path = "cli/distance.rs"]
mod distance;
#[path = "cli/explorer.rs"]
mod explorer;
#[path = "cli/export.rs"]
mod export;
#[path = "cli/look.rs"]
mod look;
#[path = "cli/manage.rs"]
mod manage;
#[path = "cli/partial.rs"]
mod partial;
#[path = "cli/runtime_dir.rs"]
mod runtime_dir;
#[path = "cli/sync.rs"]
mod sync_cli;
#[path = "cli/timelapse.rs"]
mod timelapse;

use anyhow::{Context, Result, bail};
use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::{ArgGroup, Args, Parser, Subcommand};
use hotpot::geo::{LonLatBounds, UnitRect};
use hotpot::ingest::importer::{ImportOptions, ImportReport, Importer};
use hotpot::ingest::join::read_join_csv;
use hotpot::render::backend::{self, Backend};
use hotpot::render::colormap::{self, Colormap, Gradient};
use hotpot::render::gpu::GpuContext;
use hotpot::render::poster::frame::{AreaRequest, Frame};
use hotpot::render::poster::print::{self, PrintSize};
use hotpot::render::poster::{self, PosterFiles, PosterSpec};
use hotpot::scene::Scene;
use hotpot::store::Store;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "hotpot", version, about = "Personal GPS heatmaps: import activities, render posters, serve map tiles", long_about = None)]
struct Cli {
    /// SQLite database file.
    #[arg(
        long,
        global = true,
        env = "HOTPOT_DB",
        default_value = "hotpot.sqlite3"
    )]
    db: PathBuf,
    /// More log output (-v info, -vv debug).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    /// Renderer: a GPU (hardware or software), the CPU, or auto.
    #[arg(
        long,
        global = true,
        env = "HOTPOT_BACKEND",
        default_value = "auto",
        value_parser = PossibleValuesParser::new(Backend::NAMES)
            .try_map(|s| s.parse::<Backend>())
    )]
    backend: Backend,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Import GPX, TCX and FIT files (also .gz) from files and directories.
    Import(ImportArgs),
    /// Render a heatmap poster of an area to a PNG file.
    Render(Box<RenderArgs>),
    /// Generate realistic demo activities, import them and render a poster.
    Demo(DemoArgs),
    /// Summarize what the database holds.
    Stats(StatsArgs),
    /// Privacy masks: circles no output ever draws into.
    #[command(subcommand)]
    Mask(manage::MaskCommand),
    /// List activities (table, or JSON lines).
    List(manage::ListArgs),
    /// Delete activities by id or by filter.
    Delete(manage::DeleteArgs),
    /// Which property keys exist, with example values (for filters).
    Properties(StatsArgs),
    /// Serve heatmap tiles and a map page over HTTP.
    Serve(ServeArgs),
    /// Write every tile as PMTiles, MBTiles or a folder (static hosting).
    Export(Box<export::ExportArgs>),
    /// Show the GPU adapter hotpot would use and the limits that matter.
    GpuInfo(StatsArgs),
    /// Explorer tiles: visited tiles, max square, max cluster, per year.
    Explorer(explorer::ExplorerArgs),
    /// A time-lapse: a frame per year or month (animated PNG, numbered
    /// PNGs, or --grid small multiples).
    Timelapse(Box<timelapse::TimelapseArgs>),
    /// Connect a Strava account (OAuth; STRAVA_CLIENT_ID, STRAVA_CLIENT_SECRET).
    StravaAuth(sync_cli::AuthArgs),
    /// Create Strava's push subscription for `hotpot serve`'s webhook URL.
    StravaSubscribe(sync_cli::SubscribeArgs),
    /// Import activities from Strava or intervals.icu.
    #[command(subcommand)]
    Fetch(sync_cli::FetchCommand),
}

#[derive(Args)]
struct ImportArgs {
    /// Files or directories (searched recursively for .gpx .tcx .fit, also
    /// .gz, following symlinks once). Only regular files of at most 1 GiB
    /// are read (and at most 1 GiB once decompressed).
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// A Strava export's activities.csv whose columns are merged into each
    /// activity's properties (matched on its Filename column).
    #[arg(long, value_name = "CSV")]
    join: Option<PathBuf>,
    /// Read files again even if they were imported before unchanged.
    #[arg(long)]
    force: bool,
    /// Cut this distance off the start and end of every activity, e.g.
    /// 300m or 0.2mi (hides where rides begin and end).
    #[arg(long, value_parser = parse_distance)]
    trim: Option<f64>,
}

#[derive(Args)]
#[command(group(ArgGroup::new("area").args(["bounds", "fit", "center"])))]
struct RenderArgs {
    /// Area as west,south,east,north in degrees, e.g. 13.2,52.4,13.6,52.6;
    /// the poster covers exactly this.
    #[arg(long, value_name = "W,S,E,N", allow_hyphen_values = true)]
    bounds: Option<String>,
    /// Frame all stored activities, with --margin around them.
    #[arg(long)]
    fit: bool,
    /// Margin around the data for --fit, per side, in percent of its size
    /// [default: 5%].
    #[arg(long, value_name = "PERCENT")]
    margin: Option<String>,
    /// Centre of the poster as lat,lon in degrees (with --zoom).
    #[arg(
        long,
        value_name = "LAT,LON",
        allow_hyphen_values = true,
        requires = "zoom"
    )]
    center: Option<String>,
    /// Web Mercator zoom for --center (fractions allowed): the poster covers
    /// what WIDTH x HEIGHT pixels of 256 px tiles at this zoom cover.
    #[arg(long, requires = "center")]
    zoom: Option<f64>,
    /// Width in pixels (the height follows the area's shape if not given;
    /// 2048 with --center).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    width: Option<u32>,
    /// Height in pixels (the width follows the area's shape if not given;
    /// 2048 with --center).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    height: Option<u32>,
    /// Print size instead of pixels: 60x90cm, 24x36in, 420x594mm; pixels
    /// are size / 2.54 cm * dpi.
    #[arg(long, value_name = "WxH", conflicts_with_all = ["width", "height"])]
    size: Option<String>,
    /// Print resolution, written into the PNG. With --size it sets the pixel
    /// count (default 300); with --width/--height it is only metadata.
    #[arg(long)]
    dpi: Option<f64>,
    /// Also write visits per pixel to this 16-bit grayscale PNG
    /// (value = visits * 64, saturating at 65535).
    #[arg(long, value_name = "PNG")]
    raw: Option<PathBuf>,
    /// Output PNG file.
    #[arg(short, long, default_value = "heatmap.png")]
    output: PathBuf,
    /// Draw explorer tiles of this zoom (14 or 17) over the heatmap.
    #[arg(long, value_name = "ZOOM")]
    explorer: Option<u8>,
    #[command(flatten)]
    style: StyleArgs,
    #[command(flatten)]
    filter: manage::FilterArgs,
}

#[derive(Args, Clone)]
struct StyleArgs {
    /// Built-in palette: hot (default), blue, purple, viridis, mono, ink;
    /// erik/hotpot's pinkish, blue-red, red, orange; local-heatmap-tile-
    /// server's warm, cool.
    #[arg(long, conflicts_with = "gradient")]
    palette: Option<String>,
    /// Custom gradient, stops in visit counts: "1:f00;10:ff0;50:fff"
    /// (colours RGB, RRGGBB or RRGGBBAA).
    #[arg(long)]
    gradient: Option<String>,
    /// Background colour (RGB, RRGGBB or RRGGBBAA); transparent if not given.
    #[arg(long)]
    background: Option<String>,
    /// Line width in pixels (default: from the poster's resolution).
    #[arg(long)]
    line_width: Option<f32>,
    #[command(flatten)]
    look: look::LookArgs,
}

#[derive(Args)]
struct DemoArgs {
    /// Where to write the generated files, database and poster.
    #[arg(long, default_value = "demo")]
    dir: PathBuf,
    /// Seed of the generator: the same seed gives the same data.
    #[arg(long, default_value_t = 2026)]
    seed: u64,
    /// Poster width in pixels.
    #[arg(long, default_value_t = 2048)]
    width: u32,
    #[command(flatten)]
    style: StyleArgs,
}

#[derive(Args)]
struct ServeArgs {
    /// Address to listen on (0.0.0.0 to serve the network).
    #[arg(long, default_value = "127.0.0.1")]
    host: std::net::IpAddr,
    /// Port to listen on.
    #[arg(long, default_value_t = 8080)]
    port: u16,
    /// Memory for encoded tiles, in MB.
    #[arg(long, default_value_t = 256)]
    cache_mb: usize,
    /// Accept activity files at POST /upload (with HOTPOT_UPLOAD_TOKEN
    /// required as a Bearer token when set; mandatory off loopback).
    #[arg(long)]
    upload: bool,
    #[arg(long, env = "HOTPOT_UPLOAD_TOKEN", hide_env_values = true)]
    upload_token: Option<String>,
    /// Largest upload accepted, in MB.
    #[arg(long, default_value_t = 64)]
    max_upload_mb: usize,
    /// Answer empty tiles with 204 No Content instead of a transparent PNG
    /// of the tile's size.
    #[arg(long)]
    empty_204: bool,
    /// Serve pre-rendered tiles from this `hotpot export` archive
    /// (.pmtiles or .mbtiles); other styles are rendered live.
    #[arg(long, value_name = "ARCHIVE")]
    tiles: Option<PathBuf>,
    /// Offer POST /fetch/intervals-icu (protected by the upload token).
    #[arg(long)]
    fetch: bool,
    /// Let pages of this origin (https://map.example.org) upload; also
    /// accepts its host as the server's name. Repeatable.
    #[arg(long, value_name = "ORIGIN")]
    allow_origin: Vec<String>,
    /// Connections open at once; at the cap the longest idle one is closed.
    #[arg(long, default_value_t = 768, hide = true)]
    max_connections: usize,
    /// Cut this distance off the start and end of every uploaded or
    /// fetched (Strava webhook, intervals.icu) activity, e.g. 300m or
    /// 0.2mi (as `import --trim`).
    #[arg(long, value_parser = parse_distance)]
    trim: Option<f64>,
    /// Do not draw the default style's tiles ahead. By default the server
    /// renders them while idle, lowest zooms and densest tiles first, and
    /// saves them beside the database (DB.tiles, kept across restarts;
    /// uploads and imports redraw only the tiles they touch).
    #[arg(long)]
    no_prerender: bool,
    /// Zooms to draw ahead, as `hotpot export --zoom` (deeper tiles hold
    /// little and render live in milliseconds).
    #[arg(long, default_value = "2-16", value_parser = export::parse_zooms, value_name = "Z-Z")]
    prerender_zoom: std::ops::RangeInclusive<u8>,
}

#[derive(Args)]
struct StatsArgs {
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

fn main() -> ExitCode {
    // After parsing, which exits on --help and bad arguments without
    // running destructors; before anything starts a thread.
    let cli = Cli::parse();
    let _runtime_dir = runtime_dir::quiet_vulkan_loader();
    let level = match cli.verbose {
        0 => tracing::Level::WARN,
        1 => tracing::Level::INFO,
        _ => tracing::Level::DEBUG,
    };
    tracing_subscriber::fmt()
        .with_max_level(level)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    match run(cli) {
        Ok(code) => code,
        Err(e) if manage::is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Import(args) => import(&cli.db, args),
        Command::Render(args) => render(&cli.db, cli.backend, *args),
        Command::Demo(args) => demo(cli.backend, args),
        Command::Stats(args) => stats(&cli.db, args),
        Command::GpuInfo(args) => gpu_info(args),
        Command::Mask(cmd) => manage::mask(&cli.db, cmd),
        Command::List(args) => manage::list(&cli.db, args),
        Command::Delete(args) => manage::delete(&cli.db, args),
        Command::Properties(args) => manage::properties(&cli.db, args.json),
        Command::Serve(args) => serve(&cli.db, cli.backend, args),
        Command::Explorer(args) => explorer::explorer(&cli.db, args),
        Command::Timelapse(args) => timelapse::timelapse(&cli.db, cli.backend, *args),
        Command::Export(args) => export::run(&cli.db, cli.backend, *args),
        Command::StravaAuth(args) => sync_cli::strava_auth(&cli.db, args),
        Command::StravaSubscribe(args) => sync_cli::strava_subscribe(&cli.db, args),
        Command::Fetch(cmd) => sync_cli::fetch(&cli.db, cmd),
    }
}

fn import(db: &Path, args: ImportArgs) -> Result<ExitCode> {
    let mut store = Store::open(db)?;
    let opts = ImportOptions {
        force: args.force,
        progress: std::io::stderr().is_terminal(),
        trim_m: args.trim,
    };
    let report = Importer::new(&mut store, opts).import_paths(&args.paths)?;
    print_import_report(&report);
    if let Some(csv) = &args.join {
        let rows = read_join_csv(csv)?;
        let n = store.merge_properties_by_file_name(&rows)?;
        println!(
            "joined {}: {} rows, {} activities updated",
            csv.display(),
            rows.len(),
            n
        );
    }
    // Soft failure: the batch went through, but not every file did.
    Ok(
        if report.failed.is_empty() && report.walk_errors.is_empty() {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        },
    )
}

/// Paths and messages come from the files: printed through `sanitize`.
fn print_import_report(r: &ImportReport) {
    use hotpot::text::sanitize;
    let shown = |path: &Path| sanitize(&path.display().to_string()).into_owned();
    for (path, w) in &r.warnings {
        eprintln!("warning: {}: {}", shown(path), sanitize(w));
    }
    for (path, e) in r.failed.iter().chain(&r.walk_errors) {
        eprintln!("failed: {}: {}", shown(path), sanitize(e));
    }
    println!(
        "{} files read ({} unchanged skipped), {} activities added ({} points), {} duplicates skipped, {} files failed",
        r.files_read,
        r.files_unchanged,
        r.activities_added,
        r.points_added,
        r.duplicates,
        r.failed.len() + r.walk_errors.len()
    );
}

fn colormap_from(style: &StyleArgs) -> Result<Colormap> {
    let gradient = match (&style.gradient, &style.palette) {
        (Some(g), _) => Gradient::parse(g).map_err(|e| anyhow::anyhow!("--gradient: {e}"))?,
        (None, Some(p)) => Gradient::palette(p).map_err(|e| anyhow::anyhow!("--palette: {e}"))?,
        (None, None) => {
            Gradient::palette(colormap::DEFAULT_PALETTE).expect("default palette parses")
        }
    };
    let background = match &style.background {
        Some(c) => {
            Some(colormap::parse_color(c).map_err(|e| anyhow::anyhow!("--background: {e}"))?)
        }
        None => None,
    };
    Ok(Colormap::new(gradient, background))
}

fn render(db: &Path, backend: Backend, args: RenderArgs) -> Result<ExitCode> {
    let store = Store::open_existing(db)?;
    let (frame, dpi, scene) = poster_setup(&store, &args)?;
    let poster = Poster {
        frame,
        dpi,
        style: &args.style,
        output: &args.output,
        raw: args.raw.as_deref(),
        explorer: args.explorer.map(|z| (&store, z)),
    };
    draw_poster(backend, &scene, &poster)
}

/// The framing, DPI and scene `args` ask for (shared with `timelapse`,
/// which takes the same area and style options).
fn poster_setup(store: &Store, args: &RenderArgs) -> Result<(Frame, Option<f64>, Scene)> {
    let (dims, dpi) = requested_size(args)?;
    let filter = args.filter.to_filter_for(store)?;
    // --fit with a filter frames what the filter keeps.
    let fitted = match (&filter, args.fit) {
        (Some(f), true) => Some(Scene::load(store, None, Some(f))?),
        _ => None,
    };
    let req = area_request(store, args, fitted.as_ref())?;
    let frame = Frame::new(req, dims.0, dims.1)?;
    if let Some((px, map)) = frame.stretched {
        eprintln!(
            "warning: {}x{} px is {px:.3}:1 but the bounds are {map:.3}:1; the map is \
             stretched to fit exactly (give only --width or --height to keep its shape)",
            frame.width, frame.height
        );
    }
    let scene = match fitted {
        Some(s) => s,
        None => Scene::load(store, Some(frame.area), filter.as_ref())?,
    };
    Ok((frame, dpi, scene))
}

/// The poster spec of `poster`: size, colours, and the look (scale, glow,
/// explorer overlay).
fn poster_spec(scene: &Scene, poster: &Poster) -> Result<PosterSpec> {
    let (frame, style) = (&poster.frame, poster.style);
    let mut spec = PosterSpec::new(frame.area, frame.width, frame.height, colormap_from(style)?);
    spec.line_width = style.line_width;
    spec.dpi = poster.dpi;
    spec.progress = true;
    look::apply(&style.look, scene, &mut spec);
    if let Some((store, zoom)) = poster.explorer {
        look::explorer_overlay(store, zoom, &mut spec)?;
    }
    Ok(spec)
}

/// One poster to draw: the framing decided, the style and the files.
struct Poster<'a> {
    frame: Frame,
    dpi: Option<f64>,
    style: &'a StyleArgs,
    output: &'a Path,
    raw: Option<&'a Path>,
    /// Explorer tiles of this zoom drawn over the heatmap.
    explorer: Option<(&'a Store, u8)>,
}

/// Draws `poster` of `scene` and says what was written; `render` and `demo`
/// both end here.
fn draw_poster(backend: Backend, scene: &Scene, poster: &Poster) -> Result<ExitCode> {
    let Poster {
        frame,
        dpi,
        output,
        raw,
        ..
    } = poster;
    let (width, height) = (frame.width, frame.height);
    if frame.pixels() > poster::frame::WARN_PIXELS {
        let (secs, bytes) = frame.estimate();
        eprintln!(
            "warning: {width}x{height} px is a very large poster: about {} and {:.1} GB \
             (estimated); Ctrl-C stops it and removes the partial file",
            human_duration(secs),
            bytes / 1e9
        );
    }
    let spec = poster_spec(scene, poster)?;
    let mut renderer = backend::renderer(backend)?;
    let files = PosterFiles {
        png: output,
        raw: *raw,
    };
    // Ctrl-C or SIGTERM mid-poster removes the `.partial` files the poster
    // writes to (a failure removes them in the poster code itself).
    let _cleanup = partial::remove_on_signal(
        std::iter::once(*output)
            .chain(*raw)
            .map(poster::partial_path)
            .collect(),
    );
    let timing = poster::render_poster(renderer.as_mut(), scene, &spec, &files)?;
    tracing::info!(?timing, renderer = renderer.describe(), "poster done");
    let print = dpi.map_or(String::new(), |dpi| {
        let cm = |px: u32| px as f64 / dpi * 2.54;
        format!(", {:.1}x{:.1} cm at {dpi} dpi", cm(width), cm(height))
    });
    println!(
        "wrote {} ({width}x{height}{print}, {} tracks) in {:.2}s",
        output.display(),
        scene.tracks.len(),
        timing.total.as_secs_f64()
    );
    if let Some(raw) = raw {
        println!(
            "wrote {} (16-bit density, {} per visit)",
            raw.display(),
            poster::raw::UNITS_PER_VISIT
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn human_duration(secs: f64) -> String {
    match secs {
        s if s < 120.0 => format!("{s:.0} s"),
        s if s < 7200.0 => format!("{:.0} min", s / 60.0),
        s => format!("{:.1} h", s / 3600.0),
    }
}

/// Width and height in pixels as asked for; either may be missing.
type Dims = (Option<u32>, Option<u32>);

/// The pixels asked for and the DPI, if known.
fn requested_size(args: &RenderArgs) -> Result<(Dims, Option<f64>)> {
    let dpi = args
        .dpi
        .map(print::check_dpi)
        .transpose()
        .map_err(|e| anyhow::anyhow!("--dpi: {e}"))?;
    let Some(size) = &args.size else {
        return Ok(((args.width, args.height), dpi));
    };
    let dpi = dpi.unwrap_or(print::DEFAULT_DPI);
    let (w, h) = PrintSize::parse(size)
        .and_then(|s| s.pixels(dpi))
        .map_err(|e| anyhow::anyhow!("--size: {e}"))?;
    Ok(((Some(w), Some(h)), Some(dpi)))
}

/// Which area the arguments ask for.
fn area_request(store: &Store, args: &RenderArgs, fitted: Option<&Scene>) -> Result<AreaRequest> {
    if args.margin.is_some() && !args.fit {
        // Not clap's `requires`: a flag's default (false) counts as present.
        bail!("--margin only applies to --fit");
    }
    if let Some(b) = &args.bounds {
        let area = LonLatBounds::parse(b)
            .map_err(|e| anyhow::anyhow!("--bounds: {e}"))?
            .to_unit();
        Ok(AreaRequest::Bounds(area))
    } else if args.fit {
        let margin = match &args.margin {
            Some(m) => {
                poster::area::parse_margin(m).map_err(|e| anyhow::anyhow!("--margin: {e}"))?
            }
            None => poster::area::DEFAULT_MARGIN,
        };
        let data = match fitted {
            Some(s) => s
                .bounds()
                .context("no activity matches the filter: nothing to fit")?,
            None => data_bounds(store)?,
        };
        Ok(AreaRequest::Fit { data, margin })
    } else if let (Some(c), Some(zoom)) = (&args.center, args.zoom) {
        let (lat, lon) =
            poster::area::parse_center(c).map_err(|e| anyhow::anyhow!("--center: {e}"))?;
        Ok(AreaRequest::Center { lat, lon, zoom })
    } else {
        bail!("say which area to render: --bounds W,S,E,N, --fit, or --center LAT,LON --zoom Z");
    }
}

/// The box of every stored activity.
fn data_bounds(store: &Store) -> Result<UnitRect> {
    match store.data_bounds()? {
        Some(b) => Ok(UnitRect::from_world_box(b)),
        None => bail!(
            "the database {} holds no activities: nothing to fit",
            store.path().display()
        ),
    }
}

fn stats(db: &Path, args: StatsArgs) -> Result<ExitCode> {
    let store = Store::open_existing(db)?;
    let s = store.summary()?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&s)?);
        return Ok(ExitCode::SUCCESS);
    }
    let span = match (s.first_start, s.last_start) {
        (Some(a), Some(b)) => format!(
            ", {} to {}",
            hotpot::timefmt::date(a),
            hotpot::timefmt::date(b)
        ),
        _ => String::new(),
    };
    println!("{} activities, {:.0} km{span}", s.activities, s.distance_km);
    if let Some([w, so, e, n]) = s.bounds {
        println!("bounds: {w:.5},{so:.5},{e:.5},{n:.5} (W,S,E,N)");
    }
    println!("points: {}", s.points);
    for (sport, x) in &s.per_sport {
        // Sport names come from the files.
        let sport = hotpot::text::sanitize(sport);
        println!(
            "  {sport:<14} {:>6} activities {:>10.0} km",
            x.activities, x.distance_km
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn demo(backend: Backend, args: DemoArgs) -> Result<ExitCode> {
    use hotpot_demo::{DemoConfig, FormatPlan, generate, write_files};
    let cfg = DemoConfig {
        seed: args.seed,
        ..DemoConfig::default()
    };
    let files_dir = args.dir.join("files");
    eprintln!(
        "generating {} rides and {} runs (seed {})...",
        cfg.rides, cfg.runs, cfg.seed
    );
    let acts = generate(&cfg);
    let files = write_files(&files_dir, &acts, FormatPlan::demo())
        .with_context(|| format!("writing demo files to {}", files_dir.display()))?;
    println!(
        "wrote {} GPX/TCX/FIT files to {}",
        files.len(),
        files_dir.display()
    );

    // Demo data gets its own database so it never mixes with real activities.
    let db = args.dir.join("hotpot.sqlite3");
    let code = import(
        &db,
        ImportArgs {
            paths: vec![files_dir],
            join: None,
            force: false,
            trim: None,
        },
    )?;
    let output = args.dir.join("heatmap.png");
    let region = args.dir.join("region.png");
    let mut style = args.style;
    // A heatmap glows best on black; the user's --background still wins.
    style.background.get_or_insert_with(|| "000".into());
    let store = Store::open_existing(&db)?;
    let (lat, lon) = hotpot_demo::ANCHOR;
    // The city where most rides start, and everything.
    let city = AreaRequest::Center {
        lat,
        lon,
        zoom: 13.5,
    };
    let all = AreaRequest::Fit {
        data: data_bounds(&store)?,
        margin: poster::area::DEFAULT_MARGIN,
    };
    for (req, output) in [(city, &output), (all, &region)] {
        let frame = Frame::new(req, Some(args.width), None)?;
        let scene = Scene::load(&store, Some(frame.area), None)?;
        let poster = Poster {
            frame,
            dpi: None,
            style: &style,
            output,
            raw: None,
            explorer: None,
        };
        draw_poster(backend, &scene, &poster)?;
    }
    stats(&db, StatsArgs { json: false })?;
    println!(
        "\nopen {} (the city) and {} (all rides); explore further with:",
        output.display(),
        region.display()
    );
    println!(
        "  hotpot --db {} render --fit --width 4096 --palette blue -o big.png",
        db.display()
    );
    Ok(code)
}

fn gpu_info(args: StatsArgs) -> Result<ExitCode> {
    let ctx = GpuContext::new()?;
    let info = &ctx.info;
    if args.json {
        println!("{}", serde_json::to_string_pretty(info)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!("adapter:  {}", info.name);
    println!(
        "backend:  {} ({}{})",
        info.backend,
        info.device_type,
        if info.software { ", software" } else { "" }
    );
    println!("driver:   {} {}", info.driver, info.driver_info);
    println!(
        "max texture dimension 2d:      {}",
        info.max_texture_dimension_2d
    );
    println!(
        "max buffer size:               {} MiB",
        info.max_buffer_size >> 20
    );
    println!(
        "max storage buffer binding:    {} MiB",
        info.max_storage_buffer_binding_size >> 20
    );
    println!(
        "max workgroups per dimension:  {}",
        info.max_compute_workgroups_per_dimension
    );
    Ok(ExitCode::SUCCESS)
}

fn serve(db: &Path, backend: Backend, args: ServeArgs) -> Result<ExitCode> {
    use hotpot::serve::prerender::PrerenderOptions;
    use hotpot::serve::{ServeOptions, serve};
    let opts = ServeOptions {
        db: db.to_owned(),
        cache_mb: args.cache_mb,
        uploads: args.upload,
        upload_token: args.upload_token.filter(|t| !t.is_empty()),
        max_upload_mb: args.max_upload_mb,
        empty_204: args.empty_204,
        tiles: args.tiles,
        sync: hotpot::serve::sync_routes::SyncOptions {
            trim_m: args.trim,
            ..hotpot::serve::sync_routes::SyncOptions::from_env(args.fetch)
        },
        allow_origins: args.allow_origin,
        limits: hotpot::serve::listen::ConnLimits {
            max_connections: args.max_connections.max(1),
            ..Default::default()
        },
        upload_trim_m: args.trim,
        prerender: (!args.no_prerender).then(|| PrerenderOptions {
            zooms: args.prerender_zoom.clone(),
            ..PrerenderOptions::beside(db)
        }),
    };
    let renderer = backend::renderer(backend)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(serve(
        std::net::SocketAddr::new(args.host, args.port),
        opts,
        renderer,
    ))?;
    Ok(ExitCode::SUCCESS)
}

fn parse_distance(s: &str) -> Result<f64, String> {
    distance::parse_distance_m(s)
}
