//! Posters: exact placement, seamless strips on both renderers, print
//! units and metadata, the raw density export, the CLI's area options and
//! errors, and memory that stays bounded however large the poster.

use crate::cli::{hotpot, text};
use crate::gpu::{MAX_CHANNEL, MAX_MEAN_CHANNEL, gpu, rgba_error};
use crate::support::{TempDir, ride};
use crate::support::{scene, winding};
use hotpot::geo::{LonLatBounds, UnitRect, lonlat_to_unit, unit_to_lonlat};
use hotpot::ingest::types::{ParsedActivity, Point};
use hotpot::render::colormap::{Colormap, Gradient};
use hotpot::render::cpu::CpuRenderer;
use hotpot::render::encode::{PngFormat, PngHeader, read_png, write_png_blocks_serial};
use hotpot::render::poster::{PosterFiles, PosterSpec, PosterTiming, raw, render_poster};
use hotpot::render::{Renderer, RgbaImage};
use hotpot::scene::Scene;
use hotpot_demo::fit_write::write_fit;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

#[path = "../../benches/common/peak.rs"]
mod peak;

fn hot() -> Colormap {
    Colormap::new(Gradient::palette("hot").unwrap(), None)
}

fn berlin() -> UnitRect {
    LonLatBounds {
        west: 13.37,
        south: 52.505,
        east: 13.43,
        north: 52.535,
    }
    .to_unit()
}

/// Renders `spec` into `dir` (and the raw export beside it when asked).
fn poster(
    renderer: &mut dyn Renderer,
    scene: &Scene,
    spec: &PosterSpec,
    dir: &Path,
    name: &str,
    raw: bool,
) -> (PathBuf, Option<PathBuf>, PosterTiming) {
    let png = dir.join(format!("{name}.png"));
    let raw_path = raw.then(|| dir.join(format!("{name}-raw.png")));
    let files = PosterFiles {
        png: &png,
        raw: raw_path.as_deref(),
    };
    let timing = render_poster(renderer, scene, spec, &files).unwrap();
    (png, raw_path, timing)
}

fn load(path: &Path) -> RgbaImage {
    read_png(&std::fs::read(path).unwrap()).unwrap()
}

fn info(path: &Path) -> png::Info<'static> {
    let file = std::io::BufReader::new(std::fs::File::open(path).unwrap());
    png::Decoder::new(file).read_info().unwrap().info().clone()
}

/// A 16-bit grayscale PNG's samples.
fn load_gray16(path: &Path) -> (u32, u32, Vec<u16>) {
    let mut reader = png::Decoder::new(std::io::Cursor::new(std::fs::read(path).unwrap()))
        .read_info()
        .unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let frame = reader.next_frame(&mut buf).unwrap();
    assert_eq!(
        (frame.color_type, frame.bit_depth),
        (png::ColorType::Grayscale, png::BitDepth::Sixteen)
    );
    let values = buf[..frame.buffer_size()]
        .chunks_exact(2)
        .map(|b| u16::from_be_bytes([b[0], b[1]]))
        .collect();
    (frame.width, frame.height, values)
}

fn alpha(img: &RgbaImage, x: u32, y: u32) -> u8 {
    img.data[((y * img.width + x) * 4 + 3) as usize]
}

/// The row of column `x` (or column of row `y`) where the picture is
/// brightest.
fn brightest_row(img: &RgbaImage, x: u32) -> u32 {
    (0..img.height).max_by_key(|&y| alpha(img, x, y)).unwrap()
}
fn brightest_col(img: &RgbaImage, y: u32) -> u32 {
    (0..img.width).max_by_key(|&x| alpha(img, x, y)).unwrap()
}

#[test]
fn exact_bounds_put_a_known_coordinate_on_its_pixel() {
    let dir = TempDir::new("poster-place");
    let b = LonLatBounds {
        west: 13.30,
        south: 52.45,
        east: 13.50,
        north: 52.55,
    };
    let area = b.to_unit();
    // Deliberately not the bounds' shape: the map is stretched, not cropped.
    let (w, h) = (400u32, 300u32);
    let pixel = |lon: f64, lat: f64| {
        let (ux, uy) = lonlat_to_unit(lon, lat);
        (
            (ux - area.x0) / area.width() * w as f64,
            (uy - area.y0) / area.height() * h as f64,
        )
    };
    let (lon0, lat0) = (13.4062, 52.5185);
    let (px, py) = pixel(lon0, lat0);
    for v in [px, py] {
        assert!(
            (0.2..0.8).contains(&v.fract()),
            "{v}: pick a point inside a pixel"
        );
    }
    // Dots at the centres of the corner pixels: no crop, no shrinking.
    let centre_of = |x: f64, y: f64| {
        unit_to_lonlat(
            area.x0 + x / w as f64 * area.width(),
            area.y0 + y / h as f64 * area.height(),
        )
    };
    let nw = centre_of(0.5, 0.5);
    let se = centre_of(w as f64 - 0.5, h as f64 - 0.5);
    let s = scene(&[
        vec![vec![(13.35, lat0), (13.45, lat0)]],
        vec![vec![(lon0, 52.47), (lon0, 52.54)]],
        vec![vec![nw]],
        vec![vec![se]],
    ]);
    let mut spec = PosterSpec::new(area, w, h, hot());
    spec.line_width = Some(1.0);
    let (png, _, _) = poster(&mut CpuRenderer::new(), &s, &spec, dir.path(), "p", false);
    let img = load(&png);
    assert_eq!((img.width, img.height), (w, h));
    let away_x = pixel(13.37, lat0).0 as u32;
    let away_y = pixel(lon0, 52.49).1 as u32;
    assert_eq!(brightest_row(&img, away_x), py as u32);
    assert_eq!(brightest_col(&img, away_y), px as u32);
    assert!(
        alpha(&img, 0, 0) > 0 && alpha(&img, 1, 1) == 0,
        "dot in the NW pixel"
    );
    assert!(
        alpha(&img, w - 1, h - 1) > 0 && alpha(&img, w - 2, h - 2) == 0,
        "dot in the SE pixel"
    );
}

#[test]
fn strips_join_pixel_for_pixel_on_the_cpu() {
    let dir = TempDir::new("poster-seams-cpu");
    let s = scene(&[vec![winding()], vec![winding()[40..120].to_vec()]]);
    let mut spec = PosterSpec::new(berlin(), 600, 451, hot());
    spec.line_width = Some(3.0);
    let mut cpu = CpuRenderer::new();
    let (whole, whole_raw, t) = poster(&mut cpu, &s, &spec, dir.path(), "whole", true);
    assert_eq!(t.strips, 1);
    spec.strip_rows = Some(7);
    let (strips, strips_raw, t) = poster(&mut cpu, &s, &spec, dir.path(), "strips", true);
    assert_eq!(t.strips, 65, "451 rows in 7-row strips");
    let (a, b) = (load(&whole), load(&strips));
    assert!(
        a.data.chunks(4).filter(|p| p[3] > 0).count() > 2000,
        "tracks drawn"
    );
    assert!(a == b, "strips differ from the one-piece poster");
    assert_eq!(
        load_gray16(&whole_raw.unwrap()),
        load_gray16(&strips_raw.unwrap())
    );
}

#[test]
#[cfg_attr(
    hotpot_no_gpu,
    ignore = "no Vulkan driver at build time: apt-get install mesa-vulkan-drivers"
)]
fn strips_join_on_the_gpu() {
    let mut g = gpu();
    let dir = TempDir::new("poster-seams-gpu");
    let s = scene(&[vec![winding()], vec![winding()[40..120].to_vec()]]);
    let mut spec = PosterSpec::new(berlin(), 600, 451, hot());
    spec.line_width = Some(3.0);
    let (whole, ..) = poster(&mut g, &s, &spec, dir.path(), "whole", false);
    let (cpu, ..) = poster(&mut CpuRenderer::new(), &s, &spec, dir.path(), "cpu", false);
    spec.strip_rows = Some(7);
    let (strips, ..) = poster(&mut g, &s, &spec, dir.path(), "strips", false);
    let strips = load(&strips);
    for (name, other) in [("one piece", load(&whole)), ("cpu", load(&cpu))] {
        let (mean, max) = rgba_error(&strips, &other);
        eprintln!("gpu strips vs {name}: mean {mean:.4}, max {max}");
        assert!(
            mean < MAX_MEAN_CHANNEL && max <= MAX_CHANNEL,
            "gpu strips vs {name}: mean {mean}, max {max}"
        );
    }
}

/// `gdalinfo -checksum`'s band checksums of `path`, failing on any error
/// GDAL (libpng and zlib underneath) reports while reading every pixel.
fn gdal_checksums(path: &Path) -> Vec<String> {
    let out = Command::new("gdalinfo")
        .arg("-checksum")
        .arg(path)
        .output()
        .unwrap();
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{stderr}");
    assert!(
        !stderr.contains("ERROR") && !stderr.contains("Warning"),
        "GDAL complains about {}: {stderr}",
        path.display()
    );
    stdout
        .lines()
        .filter_map(|l| l.trim().strip_prefix("Checksum="))
        .map(str::to_string)
        .collect()
}

/// Posters are compressed in pieces on all cores and joined into one zlib
/// stream (render::encode::parallel). Readers that are not ours get the
/// same pixels as from the png crate's own single-threaded encoder: zlib-rs
/// (checking the Adler-32) and GDAL (libpng with zlib).
#[test]
#[cfg_attr(hotpot_no_gdal, ignore = "needs GDAL (gdal-bin)")]
fn parallel_posters_read_the_same_in_gdal() {
    let dir = TempDir::new("poster-gdal");
    let s = scene(&[vec![winding()], vec![winding()[40..120].to_vec()]]);
    // Rows of 160 KB: six rows a piece, so each 104-row strip is 18
    // pieces; and a strip of 7 rows of the raw export.
    let mut spec = PosterSpec::new(berlin(), 40_000, 150, hot());
    spec.line_width = Some(40.0);
    let (png_path, raw_path, t) = poster(&mut CpuRenderer::new(), &s, &spec, dir.path(), "p", true);
    assert_eq!(t.strips, 2);
    let img = load(&png_path);
    let lit = img.data.chunks(4).filter(|p| p[3] > 0).count();
    assert!(lit > 50_000, "{lit} lit pixels");

    // The same pixels through the png crate's serial encoder.
    let reference = dir.path().join("reference.png");
    let header = PngHeader::rgba(img.width, img.height, true);
    write_png_blocks_serial(
        std::fs::File::create(&reference).unwrap(),
        &header,
        [img.data.clone()],
    )
    .unwrap();
    assert_eq!(load(&reference), img);

    let mut inflated = Vec::new();
    flate2::read::ZlibDecoder::new(
        &hotpot::render::encode::png_zlib_stream(&std::fs::read(&png_path).unwrap())[..],
    )
    .read_to_end(&mut inflated)
    .expect("one zlib stream with the right Adler-32");
    assert_eq!(
        inflated.len(),
        (img.width as usize * 4 + 1) * img.height as usize
    );

    let ours = gdal_checksums(&png_path);
    assert_eq!(ours.len(), 4, "RGBA: {ours:?}");
    assert_eq!(ours, gdal_checksums(&reference));
    assert_ne!(ours[3], "0", "alpha is not empty");

    // The raw export: 16-bit samples through the same encoder.
    let (w, h, values) = load_gray16(&raw_path.clone().unwrap());
    let raw_ref = dir.path().join("raw-reference.png");
    let mut header = PngHeader::rgba(w, h, true);
    header.format = PngFormat::Gray16;
    let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_be_bytes()).collect();
    write_png_blocks_serial(std::fs::File::create(&raw_ref).unwrap(), &header, [bytes]).unwrap();
    let raw_sums = gdal_checksums(&raw_path.unwrap());
    assert_eq!(raw_sums.len(), 1);
    assert_eq!(raw_sums, gdal_checksums(&raw_ref));
}

#[test]
fn dpi_goes_into_phys_and_raw_values_decode() {
    let dir = TempDir::new("poster-raw");
    // Two rides on the same road and one alone: 2 and 1 visits.
    let road = vec![(13.38, 52.52), (13.42, 52.52)];
    let s = scene(&[
        vec![road.clone()],
        vec![road],
        vec![vec![(13.40, 52.510), (13.40, 52.530)]],
    ]);
    let mut spec = PosterSpec::new(berlin(), 300, 200, hot());
    spec.line_width = Some(3.0);
    spec.dpi = Some(300.0);
    let mut cpu = CpuRenderer::new();
    let (png, raw_path, _) = poster(&mut cpu, &s, &spec, dir.path(), "p", true);
    let raw_path = raw_path.unwrap();
    for p in [&png, &raw_path] {
        let dims = info(p).pixel_dims.expect("pHYs written");
        // 300 dpi = 300 / 0.0254 m = 11811.02 px/m.
        assert_eq!(
            (dims.xppu, dims.yppu, dims.unit),
            (11811, 11811, png::Unit::Meter)
        );
    }
    let scale = info(&raw_path)
        .uncompressed_latin1_text
        .iter()
        .find(|t| t.keyword == raw::SCALE_KEYWORD)
        .map(|t| t.text.clone());
    assert_eq!(scale.as_deref(), Some("64"));

    let (w, h, values) = load_gray16(&raw_path);
    assert_eq!((w, h), (300, 200));
    let d = cpu.render_density(&s, &[spec.job()]).unwrap().remove(0);
    let expected: Vec<u16> = d.data.iter().map(|&v| raw::value(v)).collect();
    assert!(values == expected, "raw values are the density, scaled");
    let max = *values.iter().max().unwrap();
    assert_eq!(max, 3 * 64, "three visits where the roads cross");
    let twice = values.iter().filter(|&&v| v == 2 * 64).count();
    assert!(
        twice > 300,
        "the shared road is two visits wide: {twice} pixels"
    );

    spec.dpi = None;
    let (png, ..) = poster(&mut cpu, &s, &spec, dir.path(), "nodpi", false);
    assert!(info(&png).pixel_dims.is_none(), "no DPI, no pHYs");
}

#[test]
fn a_failed_poster_leaves_no_files() {
    let dir = TempDir::new("poster-fail");
    let s = scene(&[vec![winding()]]);
    let spec = PosterSpec::new(berlin(), 200, 150, hot());
    let png = dir.path().join("p.png");
    let raw = dir.path().join("missing").join("raw.png");
    let files = PosterFiles {
        png: &png,
        raw: Some(&raw),
    };
    let err = render_poster(&mut CpuRenderer::new(), &s, &spec, &files).unwrap_err();
    assert!(err.to_string().contains("raw.png"), "{err}");
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert!(left.is_empty(), "{left:?}");
}

/// A database holding one FIT activity per track (tracks as (lat, lon)).
fn db_with(dir: &Path, tracks: &[Vec<(f64, f64)>]) -> PathBuf {
    let files = dir.join("files");
    std::fs::create_dir_all(&files).unwrap();
    for (i, t) in tracks.iter().enumerate() {
        let t0 = 1_700_000_000_000 + i as i64 * 86_400_000;
        let points = t
            .iter()
            .enumerate()
            .map(|(j, &(lat, lon))| Point {
                lat,
                lon,
                ele: None,
                time: Some(t0 + j as i64 * 1000),
            })
            .collect();
        let a = ParsedActivity {
            segments: vec![points],
            sport: Some("cycling".into()),
            start_time: Some(t0),
            ..Default::default()
        };
        std::fs::write(files.join(format!("t{i}.fit")), write_fit(&a)).unwrap();
    }
    let db = dir.join("h.sqlite3");
    let out = hotpot(&db, &["import", files.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    db
}

fn render_ok(db: &Path, args: &[&str]) -> String {
    let out = hotpot(db, &[&["render"], args].concat());
    assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
    text(&out.stderr)
}

#[test]
fn print_size_and_dpi_set_pixels_and_metadata() {
    let dir = TempDir::new("poster-print");
    let db = db_with(
        dir.path(),
        &[ride(52.50, 13.40, 300, 0).segments[0]
            .iter()
            .map(|p| (p.lat, p.lon))
            .collect()],
    );
    let png = dir.path().join("p.png");
    let p = png.to_str().unwrap();
    // 2 cm / 2.54 * 254 dpi = 200 px; 3 cm = 300 px; 254 dpi = 10000 px/m.
    render_ok(&db, &["--fit", "--size", "2x3cm", "--dpi", "254", "-o", p]);
    let i = info(&png);
    assert_eq!((i.width, i.height), (200, 300));
    assert_eq!(i.pixel_dims.unwrap().xppu, 10000);
    // Without --dpi a print size is 300 dpi: 1 in = 300 px.
    render_ok(&db, &["--fit", "--size", "1x0.5in", "-o", p]);
    let i = info(&png);
    assert_eq!(
        (i.width, i.height, i.pixel_dims.unwrap().xppu),
        (300, 150, 11811)
    );
    // --dpi with pixels is only metadata: 72 / 0.0254 = 2834.6 px/m.
    render_ok(
        &db,
        &[
            "--fit", "--width", "120", "--height", "80", "--dpi", "72", "-o", p,
        ],
    );
    let i = info(&png);
    assert_eq!(
        (i.width, i.height, i.pixel_dims.unwrap().xppu),
        (120, 80, 2835)
    );
}

#[test]
fn center_and_zoom_cover_what_tiles_at_that_zoom_cover() {
    let dir = TempDir::new("poster-center");
    let (lat0, lon0, zoom) = (52.52, 13.405, 16.0);
    let (cx, cy) = lonlat_to_unit(lon0, lat0);
    let world_px = 256.0 * 2f64.powf(zoom);
    // A road 40.3 px north of the centre and one 30.4 px east of it.
    let (_, lat) = unit_to_lonlat(cx, cy - 40.3 / world_px);
    let (lon, _) = unit_to_lonlat(cx + 30.4 / world_px, cy);
    let db = db_with(
        dir.path(),
        &[
            vec![(lat, 13.40), (lat, 13.41)],
            vec![(52.518, lon), (52.522, lon)],
        ],
    );
    let png = dir.path().join("c.png");
    let p = png.to_str().unwrap();
    let center = format!("{lat0},{lon0}");
    render_ok(
        &db,
        &[
            "--center",
            &center,
            "--zoom",
            "16",
            "--width",
            "256",
            "--height",
            "200",
            "--line-width",
            "1",
            "-o",
            p,
        ],
    );
    let img = load(&png);
    assert_eq!((img.width, img.height), (256, 200));
    // Centre at (128, 100): the roads' centres at y = 59.7 and x = 158.4.
    assert_eq!(brightest_row(&img, 20), 59);
    assert_eq!(brightest_col(&img, 150), 158);
    // Without a size, --center renders 2048 x 2048.
    render_ok(&db, &["--center", &center, "--zoom", "12", "-o", p]);
    let i = info(&png);
    assert_eq!((i.width, i.height), (2048, 2048));
}

#[test]
fn poster_options_get_clear_errors() {
    let dir = TempDir::new("poster-errors");
    let db = db_with(
        dir.path(),
        &[
            vec![(52.50, 13.40), (52.51, 13.42)],
            vec![(52.52, 13.38), (52.50, 13.41)],
        ],
    );
    let png = dir.path().join("e.png");
    let p = png.to_str().unwrap();
    for (args, needle) in [
        (
            vec!["--fit", "--size", "60x90cm", "--width", "100"],
            "cannot be used with",
        ),
        (
            vec!["--bounds", "13,52,14,53", "--fit"],
            "cannot be used with",
        ),
        (
            vec!["--fit", "--center", "52.5,13.4", "--zoom", "3"],
            "cannot be used with",
        ),
        (vec!["--zoom", "12"], "--center"),
        (vec!["--center", "52.5,13.4"], "--zoom"),
        (vec!["--bounds", "13,52,14,53", "--margin", "10%"], "--fit"),
        (vec!["--fit", "--margin", "lots"], "margin"),
        (vec!["--fit", "--size", "60x90ft"], "unit"),
        (vec!["--fit", "--size", "60x90"], "60x90cm"),
        (vec!["--fit", "--size", "60x90cm", "--dpi", "0"], "DPI"),
        (vec!["--center", "north,13", "--zoom", "3"], "LAT,LON"),
        (vec!["--center", "52.5,13.4", "--zoom", "40"], "zoom"),
        (vec!["--center", "88,13.4", "--zoom", "4"], "latitude"),
        (vec!["--fit", "--width", "0"], "width"),
        (vec![], "--center"),
    ] {
        let out = hotpot(&db, &[&["render", "-o", p], &args[..]].concat());
        assert!(!out.status.success(), "{args:?} should fail");
        let err = text(&out.stderr);
        assert!(err.contains(needle), "{args:?}: {err}");
        assert_eq!(
            err.trim()
                .lines()
                .filter(|l| l.starts_with("error"))
                .count(),
            1,
            "{err}"
        );
    }
    assert!(!png.exists(), "failed renders leave no file");

    let err = render_ok(
        &db,
        &[
            "--bounds",
            "13.3,52.4,13.5,52.6",
            "--width",
            "300",
            "--height",
            "100",
            "-o",
            p,
        ],
    );
    let warnings: Vec<_> = err.lines().filter(|l| l.starts_with("warning")).collect();
    assert_eq!(warnings.len(), 1, "{err}");
    assert!(warnings[0].contains("stretched"), "{err}");
    for args in [
        vec!["--bounds", "13.3,52.4,13.5,52.6", "--width", "300"],
        vec!["--fit", "--width", "300", "--height", "100"],
    ] {
        let err = render_ok(&db, &[&args[..], &["-o", p]].concat());
        assert!(!err.contains("warning"), "{args:?}: {err}");
    }
}

#[test]
fn big_posters_stay_in_bounded_memory() {
    let dir = TempDir::new("poster-memory");
    let tracks: Vec<Vec<(f64, f64)>> = (0..5)
        .map(|i| {
            ride(52.50 + i as f64 * 0.002, 13.40, 400, 0).segments[0]
                .iter()
                .map(|p| (p.lat, p.lon))
                .collect()
        })
        .collect();
    let db = db_with(dir.path(), &tracks);
    let png = dir.path().join("big.png");
    let m = peak::run_measured(
        Command::new(env!("CARGO_BIN_EXE_hotpot"))
            .arg("--db")
            .arg(&db)
            .args([
                "--backend",
                "cpu",
                "render",
                "--fit",
                "--width",
                "20000",
                "--height",
                "20000",
                "-o",
            ])
            .arg(&png),
    );
    assert!(m.success, "{}", m.stderr);
    assert!(m.stdout.contains("20000x20000"), "{}", m.stdout);
    let mb = m.peak_rss as f64 / 1e6;
    eprintln!(
        "20000x20000 poster: {:.1} s, peak {mb:.0} MB",
        m.wall.as_secs_f64()
    );
    // The whole poster would be 1600 MB of RGBA alone.
    assert!(mb < 600.0, "peak memory {mb:.0} MB");

    // Decode it row by row (checks every chunk and the zlib stream without
    // holding the picture): all rows there, tracks drawn.
    let file = std::io::BufReader::new(std::fs::File::open(&png).unwrap());
    let mut reader = png::Decoder::new(file).read_info().unwrap();
    assert_eq!(reader.info().size(), (20000, 20000));
    let (mut rows, mut lit) = (0u32, 0u64);
    while let Some(row) = reader.next_row().unwrap() {
        rows += 1;
        lit += row.data().chunks_exact(4).filter(|p| p[3] > 0).count() as u64;
    }
    assert_eq!(rows, 20000);
    assert!(lit > 100_000, "{lit} lit pixels");
}

/// Issue 10 item 4: sizes that cannot work are refused before anything is
/// allocated or written, with the reason.
#[test]
fn impossible_sizes_are_refused_up_front() {
    let dir = TempDir::new("poster-huge");
    let db = db_with(dir.path(), &[vec![(52.5, 13.4), (52.51, 13.41)]]);
    let out_png = dir.path().join("huge.png");
    for args in [
        vec!["--fit", "--width", "4294967295"],
        vec!["--fit", "--width", "2147483648"],
        vec!["--fit", "--width", "1000000", "--height", "2000000"],
        vec![
            "--center",
            "52.5,13.4",
            "--zoom",
            "12",
            "--height",
            "3000000",
        ],
    ] {
        let out = hotpot(
            &db,
            &[&["render", "-o", out_png.to_str().unwrap()], &args[..]].concat(),
        );
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = text(&out.stderr);
        assert!(
            err.contains("too large") || err.contains("4294967295"),
            "{args:?}: {err}"
        );
        assert!(!out_png.exists());
    }
}

/// Issue 10 item 4: SIGTERM mid-poster removes the `.partial` file.
#[test]
fn a_stopped_poster_leaves_no_partial_file() {
    let dir = TempDir::new("poster-sigterm");
    let tracks: Vec<Vec<(f64, f64)>> = (0..40)
        .map(|i| {
            winding()
                .iter()
                .map(|&(lon, lat)| (lat + i as f64 * 1e-4, lon))
                .collect()
        })
        .collect();
    let db = db_with(dir.path(), &tracks);
    let png = dir.path().join("big.png");
    let child = Command::new(env!("CARGO_BIN_EXE_hotpot"))
        .args([
            "--db",
            db.to_str().unwrap(),
            "--backend",
            "cpu",
            "render",
            "--fit",
        ])
        .args(["--width", "60000", "-o", png.to_str().unwrap()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let partial = dir.path().join("big.png.partial");
    let t = std::time::Instant::now();
    while !partial.exists() && t.elapsed().as_secs() < 60 {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(partial.exists(), "the poster never started");
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", text(&out.stderr));
    assert!(!partial.exists(), "SIGTERM left {}", partial.display());
    assert!(!png.exists());
}
