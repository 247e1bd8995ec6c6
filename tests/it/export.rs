//! `hotpot export`: tiles identical to the server's, read back by readers
//! this project did not write (Python `pmtiles`, GDAL, Chromium), shards,
//! atomic outputs and `serve --tiles`.

use crate::support::server::{Served, serve_hotpot, serve_router};
use crate::support::{TempDir, demo_db, heat_pixels, screenshot};
use hotpot::export::job::{ExportReport, ExportSpec, export};
use hotpot::export::shard::Shard;
use hotpot::render::cpu::CpuRenderer;
use hotpot::serve::ServeOptions;
use hotpot::serve::style::StyleQuery;
use hotpot::tiles::Tile;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn spec(db: &Path, output: PathBuf, zooms: std::ops::RangeInclusive<u8>) -> ExportSpec {
    ExportSpec {
        db: db.to_owned(),
        output,
        zooms,
        area: None,
        style: StyleQuery::default(),
        tile_size: 256,
        shard: None,
        viewer: None,
        name: "test heatmap".into(),
        progress: false,
    }
}

fn run(spec: &ExportSpec) -> ExportReport {
    export(spec, &mut CpuRenderer::new()).unwrap()
}

fn tiles_of(path: &Path) -> BTreeMap<Tile, Vec<u8>> {
    hotpot::export::read_all(path)
        .unwrap()
        .into_iter()
        .collect()
}

/// `hotpot serve` on `db` (CPU renderer), with `tiles` in front if given.
fn serve(db: &Path, tiles: Option<&Path>) -> Served {
    let opts = ServeOptions {
        db: db.to_owned(),
        cache_mb: 16,
        uploads: false,
        upload_token: None,
        max_upload_mb: 1,
        tiles: tiles.map(Path::to_owned),
        ..Default::default()
    };
    serve_hotpot(&opts, Box::new(CpuRenderer::new()), None).0
}

fn get(url: &str) -> (u16, Vec<u8>) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut res = agent.get(url).call().unwrap();
    let status = res.status().as_u16();
    (status, res.body_mut().read_to_vec().unwrap())
}

fn rendered(s: &Served) -> u64 {
    let (_, body) = get(&format!("{}/api/stats", s.base));
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    v["tiles_rendered"].as_u64().unwrap()
}

/// The served tile is "empty" when it is the 1x1 transparent placeholder.
fn served_empty(body: &[u8]) -> bool {
    hotpot::render::encode::read_png_rgba(body)
        .map(|img| img.data.iter().all(|&b| b == 0) || img.width == 1)
        .unwrap_or(false)
}

#[test]
fn exported_tiles_are_the_served_tiles_and_all_of_them() {
    let dir = TempDir::new("export-vs-serve");
    let db = demo_db(dir.path());
    let out = dir.path().join("h.pmtiles");
    let report = run(&spec(&db, out.clone(), 5..=13));
    let tiles = tiles_of(&out);
    assert_eq!(report.pipeline.tiles(), tiles.len() as u64);
    assert!(tiles.len() > 50, "{} tiles", tiles.len());
    for z in 5..=13 {
        assert!(tiles.keys().any(|t| t.z == z), "zoom {z} exported");
    }
    let s = serve(&db, None);
    for (t, png) in &tiles {
        let (status, body) = get(&format!("{}/tiles/{}/{}/{}.png", s.base, t.z, t.x, t.y));
        assert_eq!(status, 200);
        assert!(body == *png, "tile {t} differs from the server's");
    }
    // Every tile the server draws something on at z12 is in the export:
    // look at the exported tiles' box and one tile around it.
    let z12: Vec<&Tile> = tiles.keys().filter(|t| t.z == 12).collect();
    let (x0, x1) = (
        z12.iter().map(|t| t.x).min().unwrap(),
        z12.iter().map(|t| t.x).max().unwrap(),
    );
    let (y0, y1) = (
        z12.iter().map(|t| t.y).min().unwrap(),
        z12.iter().map(|t| t.y).max().unwrap(),
    );
    let mut looked = 0;
    for x in x0 - 1..=x1 + 1 {
        for y in y0 - 1..=y1 + 1 {
            let (_, body) = get(&format!("{}/tiles/12/{x}/{y}.png", s.base));
            let held = tiles.contains_key(&Tile::new(12, x, y));
            assert_eq!(
                !served_empty(&body),
                held,
                "tile 12/{x}/{y}: served vs exported"
            );
            looked += 1;
        }
    }
    eprintln!(
        "{} tiles equal to the server's; {looked} checked for completeness at z12",
        tiles.len()
    );
}

#[test]
fn styles_and_512_px_tiles_match_the_server_too() {
    let dir = TempDir::new("export-style");
    let db = demo_db(dir.path());
    let out = dir.path().join("blue.mbtiles");
    let mut sp = spec(&db, out.clone(), 11..=12);
    sp.style = StyleQuery {
        palette: Some("blue".into()),
        line_width: Some(2.0),
        filter: Some("sport = \"running\"".into()),
        ..Default::default()
    };
    sp.tile_size = 512;
    run(&sp);
    let tiles = tiles_of(&out);
    assert!(!tiles.is_empty());
    let s = serve(&db, None);
    for (t, png) in &tiles {
        let url = format!(
            "{}/tiles/{}/{}/{}@2x.png?palette=blue&width=2&filter=sport%3D%22running%22",
            s.base, t.z, t.x, t.y
        );
        assert!(get(&url).1 == *png, "tile {t} differs from the server's");
    }
}

/// Issue 14 in export: glowing, equalised tiles are the server's too (the
/// halo drawn across tile edges, the histogram of the whole data set).
#[test]
fn glow_and_eqhist_tiles_match_the_server() {
    let dir = TempDir::new("export-glow");
    let db = demo_db(dir.path());
    let out = dir.path().join("glow.pmtiles");
    let mut sp = spec(&db, out.clone(), 12..=12);
    sp.style = StyleQuery {
        scale: Some("eqhist".into()),
        glow: Some("1".into()),
        ..Default::default()
    };
    run(&sp);
    let tiles = tiles_of(&out);
    assert!(!tiles.is_empty());
    let plain = dir.path().join("plain.pmtiles");
    run(&spec(&db, plain.clone(), 12..=12));
    assert_ne!(tiles, tiles_of(&plain), "glow and eqhist changed nothing");
    let s = serve(&db, None);
    for (t, png) in &tiles {
        let url = format!(
            "{}/tiles/{}/{}/{}.png?scale=eqhist&glow=1",
            s.base, t.z, t.x, t.y
        );
        assert!(get(&url).1 == *png, "tile {t} differs from the server's");
    }
}

/// Issue 13's export button: the dashboard links to
/// `/api/export.pmtiles` with the map's style, which answers the archive
/// `hotpot export` writes for that style and zooms.
#[test]
fn the_dashboard_downloads_the_export() {
    let dir = TempDir::new("export-download");
    let db = demo_db(dir.path());
    let s = serve(&db, None);
    let (status, page) = get(&format!("{}/", s.base));
    assert_eq!(status, 200);
    assert!(String::from_utf8_lossy(&page).contains("/api/export.pmtiles"));
    let (status, body) = get(&format!(
        "{}/api/export.pmtiles?palette=blue&zoom=8-11",
        s.base
    ));
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let got = dir.path().join("got.pmtiles");
    std::fs::write(&got, &body).unwrap();
    let want = dir.path().join("want.pmtiles");
    let mut sp = spec(&db, want.clone(), 8..=11);
    sp.style.palette = Some("blue".into());
    run(&sp);
    let got_tiles = tiles_of(&got);
    assert!(!got_tiles.is_empty());
    assert_eq!(got_tiles, tiles_of(&want));
    for bad in ["zoom=9-3", "zoom=30", "palette=nope"] {
        let (status, body) = get(&format!("{}/api/export.pmtiles?{bad}", s.base));
        assert_eq!(status, 400, "{bad}: {}", String::from_utf8_lossy(&body));
    }
}

#[test]
fn folder_export_has_tilejson_and_the_same_tiles() {
    let dir = TempDir::new("export-folder");
    let db = demo_db(dir.path());
    let (pm, folder) = (dir.path().join("a.pmtiles"), dir.path().join("site"));
    run(&spec(&db, pm.clone(), 8..=12));
    run(&spec(&db, folder.clone(), 8..=12));
    assert_eq!(tiles_of(&pm), tiles_of(&folder));
    let tj: serde_json::Value =
        serde_json::from_slice(&std::fs::read(folder.join("tiles.json")).unwrap()).unwrap();
    assert_eq!(tj["tilejson"], "3.0.0");
    assert_eq!(tj["tiles"][0], "{z}/{x}/{y}.png");
    assert_eq!(
        (tj["minzoom"].as_u64(), tj["maxzoom"].as_u64()),
        (Some(8), Some(12))
    );
    let b = tj["bounds"].as_array().unwrap();
    assert!(b[0].as_f64().unwrap() < 13.3 && b[2].as_f64().unwrap() > 13.3);
    assert!(folder.join("index.html").exists() && folder.join("leaflet/leaflet.js").exists());
    // Exporting again replaces the folder.
    run(&spec(&db, folder.clone(), 9..=9));
    assert!(tiles_of(&folder).keys().all(|t| t.z == 9));
}

#[test]
fn shards_merged_hold_exactly_the_tiles_of_one_export() {
    let dir = TempDir::new("export-shards");
    let db = demo_db(dir.path());
    let whole = dir.path().join("whole.pmtiles");
    run(&spec(&db, whole.clone(), 4..=13));
    let mut parts = Vec::new();
    let mut seen = BTreeMap::new();
    for i in 0..3 {
        let p = dir.path().join(format!("part{i}.pmtiles"));
        let mut sp = spec(&db, p.clone(), 4..=13);
        sp.shard = Some(Shard { index: i, count: 3 });
        run(&sp);
        for (t, png) in tiles_of(&p) {
            assert!(seen.insert(t, png).is_none(), "tile {t} in two shards");
        }
        parts.push(p);
    }
    let merged = dir.path().join("all.pmtiles");
    let r = hotpot::export::merge::merge(&parts, &merged).unwrap();
    let all = tiles_of(&whole);
    assert_eq!(r.tiles, all.len() as u64);
    assert_eq!(seen, all);
    assert_eq!(tiles_of(&merged), all);
}

#[test]
fn serve_tiles_answers_from_the_archive_and_renders_the_rest() {
    let dir = TempDir::new("export-serve-tiles");
    let db = demo_db(dir.path());
    for name in ["a.pmtiles", "a.mbtiles"] {
        let out = dir.path().join(name);
        run(&spec(&db, out.clone(), 10..=12));
        let tiles = tiles_of(&out);
        let s = serve(&db, Some(&out));
        let (t, png) = tiles.iter().find(|(t, _)| t.z == 12).unwrap();
        let url = format!("{}/tiles/{}/{}/{}.png", s.base, t.z, t.x, t.y);
        assert!(get(&url).1 == *png, "{name}: tile from the archive");
        let tms = format!("{}/tms/{}/{}/{}.png", s.base, t.z, t.x, t.tms_y());
        assert!(get(&tms).1 == *png, "{name}: TMS row order");
        assert_eq!(rendered(&s), 0, "{name}: nothing rendered live");
        // Outside the archive's zooms, and in another palette: live.
        let (x, y) = (t.x * 2, t.y * 2);
        let deep = get(&format!("{}/tiles/13/{x}/{y}.png", s.base));
        let blue = get(&format!("{url}?palette=blue"));
        assert_eq!((deep.0, blue.0), (200, 200));
        assert!(blue.1 != *png);
        assert_eq!(rendered(&s), 2, "{name}: other requests rendered live");
        drop(s.rt);
    }
}

/// Python's `pmtiles` package (not ours) reads the header, the metadata
/// and every tile; they are the export's, and so the server's.
#[test]
#[cfg_attr(
    hotpot_no_py_pmtiles,
    ignore = "needs target/pyenv with `pip install pmtiles` (.ci/run makes it)"
)]
fn python_pmtiles_reads_the_archive() {
    let dir = TempDir::new("export-python");
    let db = demo_db(dir.path());
    let out = dir.path().join("h.pmtiles");
    run(&spec(&db, out.clone(), 6..=12));
    let dump = dir.path().join("dump");
    let script = r#"
import json, os, sys
from pmtiles.reader import Reader, MmapSource, all_tiles
path, out = sys.argv[1], sys.argv[2]
with open(path, "r+b") as f:
    r = Reader(MmapSource(f))
    h = r.header()
    meta = r.metadata()
    n = 0
    for (z, x, y), data in all_tiles(r.get_bytes):
        os.makedirs(f"{out}/{z}/{x}", exist_ok=True)
        open(f"{out}/{z}/{x}/{y}.png", "wb").write(data)
        n += 1
    h = {k: (v.name if hasattr(v, "name") else v) for k, v in h.items()}
    print(json.dumps({"header": h, "metadata": meta, "tiles": n}))
"#;
    let python = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/pyenv/bin/python");
    let o = std::process::Command::new(python)
        .args(["-c", script])
        .arg(&out)
        .arg(&dump)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let h = &v["header"];
    let ours = tiles_of(&out);
    assert_eq!(v["tiles"].as_u64(), Some(ours.len() as u64));
    assert_eq!(
        (h["min_zoom"].as_u64(), h["max_zoom"].as_u64()),
        (Some(6), Some(12))
    );
    assert_eq!(h["tile_type"], "PNG");
    assert_eq!(h["clustered"], true);
    assert!(
        h["min_lon_e7"].as_i64().unwrap() < 133_000_000
            && h["max_lon_e7"].as_i64().unwrap() > 133_000_000
    );
    assert!(h["center_zoom"].as_u64().unwrap() >= 6);
    assert_eq!(v["metadata"]["name"], "test heatmap");
    assert_eq!(v["metadata"]["format"], "png");
    assert!(
        v["metadata"]["generator"]
            .as_str()
            .unwrap()
            .starts_with("hotpot")
    );
    assert!(v["metadata"]["style"].is_object());
    assert!(
        h["addressed_tiles_count"].as_u64() >= h["tile_contents_count"].as_u64(),
        "identical tiles stored once"
    );
    assert_eq!(
        hotpot::export::folder::read_all(&dump)
            .unwrap()
            .into_iter()
            .collect::<BTreeMap<_, _>>(),
        ours
    );
}

/// GDAL's MBTiles driver (not ours) opens the export and a window of it
/// holds the heatmap.
#[test]
#[cfg_attr(hotpot_no_gdal, ignore = "needs gdal-bin (gdalinfo, gdal_translate)")]
fn gdal_reads_the_mbtiles() {
    let dir = TempDir::new("export-gdal");
    let db = demo_db(dir.path());
    let out = dir.path().join("h.mbtiles");
    run(&spec(&db, out.clone(), 8..=12));
    let info = std::process::Command::new("gdalinfo")
        .arg("-json")
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        info.status.success(),
        "{}",
        String::from_utf8_lossy(&info.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&info.stdout).unwrap();
    assert_eq!(v["driverShortName"], "MBTiles");
    let md = &v["metadata"][""];
    assert_eq!(md["ZOOM_LEVEL"], "12", "{md}");
    assert_eq!(md["name"], "test heatmap");
    // The city centre (13.30 E, 52.45 N), a few km wide, in Web Mercator.
    let (x, y) = (1_480_600.0, 6_880_000.0);
    let png = dir.path().join("window.png");
    let t = std::process::Command::new("gdal_translate")
        .args(["-of", "PNG", "-projwin"])
        .args([x - 6000.0, y + 6000.0, x + 6000.0, y - 6000.0].map(|v| v.to_string()))
        .arg(&out)
        .arg(&png)
        .output()
        .unwrap();
    assert!(t.status.success(), "{}", String::from_utf8_lossy(&t.stderr));
    let img = hotpot::render::encode::read_png_rgba(&std::fs::read(&png).unwrap()).unwrap();
    let hot = img
        .data
        .chunks(4)
        .filter(|p| p[3] > 0 && p[0] > 100)
        .count();
    assert!(
        hot > 1000,
        "{hot} heatmap pixels in the GDAL window of {}x{}",
        img.width,
        img.height
    );
}

/// The static viewer in headless Chromium, served by a range-capable
/// static server (tower-http's ServeDir): tiles come from the archive by
/// HTTP range requests, and the heatmap is on screen.
#[test]
#[cfg_attr(
    hotpot_no_chromium,
    ignore = "needs chromium (apt-get install chromium)"
)]
fn viewer_shows_the_archive_in_chromium() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};
    let dir = TempDir::new("export-viewer");
    let db = demo_db(dir.path());
    let site = dir.path().join("site");
    std::fs::create_dir_all(&site).unwrap();
    let mut sp = spec(&db, site.join("heatmap.pmtiles"), 2..=14);
    sp.viewer = Some(site.clone());
    run(&sp);
    let ranges = Arc::new(AtomicU64::new(0));
    let counted = ranges.clone();
    let router = axum::Router::new()
        .fallback_service(tower_http::services::ServeDir::new(&site))
        .layer(axum::middleware::from_fn(
            move |req: axum::extract::Request, next: axum::middleware::Next| {
                if req.headers().contains_key("range") {
                    counted.fetch_add(1, Ordering::Relaxed);
                }
                next.run(req)
            },
        ));
    let site = serve_router(router, 1);
    let img = screenshot(
        &format!("{}/index.html?nobase", site.base),
        "export-viewer",
        (900, 700),
        10000,
    );
    let hot = heat_pixels(&img);
    eprintln!("viewer: {hot} heat-coloured pixels");
    assert!(
        ranges.load(Ordering::Relaxed) > 0,
        "the page read the archive by ranges"
    );
    assert!(hot > 500, "the heatmap is on screen ({hot} hot pixels)");
}

/// `hotpot export` on the command line: a summary, and a killed export
/// leaves nothing under the final name.
#[test]
fn cli_export_prints_a_summary_and_killed_exports_leave_no_file() {
    let dir = TempDir::new("export-cli");
    let db = demo_db(dir.path());
    let exe = env!("CARGO_BIN_EXE_hotpot");
    let out = dir.path().join("c.mbtiles");
    let o = std::process::Command::new(exe)
        .arg("--db")
        .arg(&db)
        .args([
            "--backend",
            "cpu",
            "export",
            "--zoom",
            "9-11",
            "--palette",
            "blue",
        ])
        .arg(&out)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(
        text.contains("tiles/s") && text.contains("z9 ") && text.contains("z11 "),
        "{text}"
    );
    assert!(out.exists());

    let big = dir.path().join("big.pmtiles");
    let mut child = std::process::Command::new(exe)
        .arg("--db")
        .arg(&db)
        .args(["--backend", "cpu", "export", "--zoom", "2-18"])
        .arg(&big)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Wait for the hidden partial file, then kill the export mid-way.
    let partial = |d: &Path| {
        std::fs::read_dir(d).unwrap().flatten().any(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with(".big.pmtiles.partial")
        })
    };
    while !partial(dir.path()) && child.try_wait().unwrap().is_none() {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(
        child.try_wait().unwrap().is_none(),
        "the export was still running when killed"
    );
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(!big.exists(), "no file under the final name");

    // A failed export leaves nothing either.
    let bad = std::process::Command::new(exe)
        .arg("--db")
        .arg(&db)
        .args(["export", "--zoom", "9", "--filter", "sport = \"curling\""])
        .arg(dir.path().join("none.pmtiles"))
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("no activities"));
    assert!(!dir.path().join("none.pmtiles").exists());
}
