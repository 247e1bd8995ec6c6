//! Explorer squares on constructed tracks whose answers are known: a 3x3
//! block of z14 tiles plus a spur, a segment crossing tiles with no point
//! in them, deletion, and the command line with GDAL reading the GeoJSON.

use crate::cli::hotpot;
use crate::support::TempDir;
use hotpot::explorer::stats::{ExplorerStats, Square};
use hotpot::geo::unit_to_lonlat;
use hotpot::ingest::importer::{ImportOptions, Importer};
use hotpot::store::Store;
use std::path::{Path, PathBuf};

/// Top-left of the test block, z14 tiles in Berlin.
const X0: u32 = 8800;
const Y0: u32 = 5372;

/// (lat, lon) of a point inside z`zoom` tile (x, y), at fraction (fx, fy).
pub fn in_tile(zoom: u8, x: u32, y: u32, fx: f64, fy: f64) -> (f64, f64) {
    let n = (1u64 << zoom) as f64;
    let (lon, lat) = unit_to_lonlat((x as f64 + fx) / n, (y as f64 + fy) / n);
    (lat, lon)
}

/// A GPX file of one track, a point a minute from `start` (an ISO date).
pub fn write_gpx(dir: &Path, name: &str, start: &str, points: &[(f64, f64)]) {
    let mut s = String::from(
        r#"<?xml version="1.0"?><gpx version="1.1" xmlns="http://www.topografix.com/GPX/1/1"><trk><trkseg>"#,
    );
    for (i, (lat, lon)) in points.iter().enumerate() {
        s.push_str(&format!(
            r#"<trkpt lat="{lat:.9}" lon="{lon:.9}"><time>{start}T10:{:02}:00Z</time></trkpt>"#,
            i % 60
        ));
    }
    s.push_str("</trkseg></trk></gpx>");
    std::fs::write(dir.join(name), s).unwrap();
}

/// Rows of the block, each a two-point ride from the first tile's centre
/// to the third's (the middle tile has no point), one year each; and a
/// spur east from the middle row's last tile, two tiles long.
fn block_with_spur(dir: &Path) {
    for (row, year) in [(0, 2019), (1, 2020), (2, 2021)] {
        let y = Y0 + row;
        write_gpx(
            dir,
            &format!("row{row}.gpx"),
            &format!("{year}-06-01"),
            &[
                in_tile(14, X0, y, 0.5, 0.5),
                in_tile(14, X0 + 2, y, 0.5, 0.5),
            ],
        );
    }
    write_gpx(
        dir,
        "spur.gpx",
        "2021-07-01",
        &[
            in_tile(14, X0 + 2, Y0 + 1, 0.6, 0.4),
            in_tile(14, X0 + 4, Y0 + 1, 0.5, 0.5),
        ],
    );
}

fn import(store: &mut Store, dir: &Path) -> usize {
    Importer::new(store, ImportOptions::default())
        .import_paths(&[dir.to_owned()])
        .unwrap()
        .activities_added
}

/// Files written by `write` into `files/` of a new temporary directory and
/// imported into the database `h.sqlite3` beside it.
struct Imported {
    dir: TempDir,
    db: PathBuf,
    store: Store,
    added: usize,
}

fn imported(name: &str, write: impl FnOnce(&Path)) -> Imported {
    let dir = TempDir::new(name);
    let files = dir.path().join("files");
    std::fs::create_dir_all(&files).unwrap();
    write(&files);
    let db = dir.path().join("h.sqlite3");
    let mut store = Store::open(&db).unwrap();
    let added = import(&mut store, &files);
    Imported {
        dir,
        db,
        store,
        added,
    }
}

fn stats(store: &Store, zoom: u8) -> ExplorerStats {
    ExplorerStats::compute(zoom, &store.explorer_visits(zoom).unwrap())
}

fn years(s: &ExplorerStats) -> Vec<(&str, usize)> {
    s.new_per_year
        .iter()
        .map(|(k, v)| (k.as_str(), *v))
        .collect()
}

#[test]
fn block_plus_spur_has_known_square_cluster_and_years() {
    let fx = imported("explorer-block", block_with_spur);
    let (_dir, mut store) = (fx.dir, fx.store);
    assert_eq!(fx.added, 4);
    let s = stats(&store, 14);
    assert_eq!(s.visited, 9 + 2);
    assert_eq!(
        s.max_square,
        Some(Square {
            x: X0,
            y: Y0,
            size: 3
        })
    );
    // The block's centre, and the middle row's east tile (the spur is its
    // east neighbour).
    assert_eq!(s.max_cluster, 2);
    assert_eq!(years(&s), [("2019", 3), ("2020", 3), ("2021", 5)]);

    // Deleting the spur: the block alone.
    let spur = store
        .list(None)
        .unwrap()
        .into_iter()
        .find(|a| a.source.ends_with("spur.gpx"))
        .unwrap();
    assert_eq!(store.delete(&[spur.id]).unwrap(), 1);
    let s = stats(&store, 14);
    assert_eq!(s.visited, 9);
    assert_eq!(s.max_cluster, 1);
    assert_eq!(years(&s), [("2019", 3), ("2020", 3), ("2021", 3)]);
}

#[test]
fn a_tile_stays_visited_while_any_activity_passes_it() {
    let fx = imported("explorer-delete", |files| {
        block_with_spur(files);
        // The top row again in 2023, a little further south in its tiles.
        write_gpx(
            files,
            "again.gpx",
            "2023-03-01",
            &[
                in_tile(14, X0, Y0, 0.2, 0.7),
                in_tile(14, X0 + 2, Y0, 0.9, 0.7),
            ],
        );
    });
    let (_dir, mut store) = (fx.dir, fx.store);
    assert_eq!(fx.added, 5);
    assert_eq!(stats(&store, 14).new_per_year["2019"], 3);
    let first = store
        .list(None)
        .unwrap()
        .into_iter()
        .find(|a| a.source.ends_with("row0.gpx"))
        .unwrap();
    store.delete(&[first.id]).unwrap();
    let s = stats(&store, 14);
    assert_eq!(s.visited, 11, "the 2023 ride still visits the top row");
    assert_eq!(years(&s), [("2020", 3), ("2021", 5), ("2023", 3)]);
}

#[test]
fn a_segment_visits_tiles_without_points_in_them() {
    // Two points 2 km apart due east at 52.5°N: z17 tiles there are ~186 m
    // wide, so the segment crosses 11 or 12 of them, all in one row.
    let (a, b) = (
        (52.5, 13.30),
        (
            52.5,
            13.30 + 2000.0 / (111_320.0 * 52.5f64.to_radians().cos()),
        ),
    );
    let fx = imported("explorer-segment", |files| {
        write_gpx(files, "straight.gpx", "2024-01-01", &[a, b])
    });
    let (_dir, store) = (fx.dir, fx.store);
    assert_eq!(fx.added, 1);
    let tile = |(lat, lon): (f64, f64)| {
        let (ux, uy) = hotpot::geo::lonlat_to_unit(lon, lat);
        ((ux * 131072.0) as u32, (uy * 131072.0) as u32)
    };
    let (ta, tb) = (tile(a), tile(b));
    assert_eq!(ta.1, tb.1);
    let mut got: Vec<_> = store
        .explorer_visits(17)
        .unwrap()
        .into_iter()
        .map(|v| v.tile)
        .collect();
    got.sort();
    let want: Vec<_> = (ta.0..=tb.0).map(|x| (x, ta.1)).collect();
    assert!(want.len() >= 11, "{}", want.len());
    assert_eq!(got, want);
    // And at z14 the one or two tiles it crosses.
    assert!(matches!(store.explorer_visits(14).unwrap().len(), 1 | 2));
}

#[test]
fn command_line_reports_and_gdal_reads_the_geojson() {
    let fx = imported("explorer-cli", block_with_spur);
    let (dir, db) = (fx.dir, fx.db);
    drop(fx.store);

    let out = hotpot(&db, &["explorer", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["visited"], 11);
    assert_eq!(v["max_square"]["size"], 3);
    assert_eq!(v["max_cluster"], 2);

    let out = hotpot(&db, &["explorer", "--zoom", "15"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("[14, 17]"));

    let out = hotpot(&db, &["explorer", "--geojson"]);
    assert!(out.status.success());
    let path = dir.path().join("frontier.geojson");
    std::fs::write(&path, &out.stdout).unwrap();
    // The cluster is the block's centre and (X0+2, Y0+1); its edge tiles'
    // unvisited neighbours: the ring around the 3x3 block (less the spur)
    // and the spur's own neighbours.
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut tiles: Vec<(u64, u64)> = v["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let p = &f["properties"];
            (p["x"].as_u64().unwrap(), p["y"].as_u64().unwrap())
        })
        .collect();
    tiles.sort();
    assert!(tiles.contains(&((X0 - 1) as u64, (Y0 + 1) as u64)));
    assert!(tiles.contains(&((X0 + 1) as u64, (Y0 - 1) as u64)));
    assert!(tiles.contains(&((X0 + 3) as u64, Y0 as u64)));
    assert!(!tiles.contains(&((X0 + 1) as u64, (Y0 + 1) as u64)));
    let Ok(ogr) = std::process::Command::new("ogrinfo")
        .args(["-ro", "-so", "-al"])
        .arg(&path)
        .output()
    else {
        panic!("ogrinfo (gdal-bin) is needed to check the GeoJSON");
    };
    let text = String::from_utf8_lossy(&ogr.stdout);
    assert!(ogr.status.success(), "{text}");
    assert!(
        text.contains(&format!("Feature Count: {}", tiles.len())),
        "{text}"
    );
    assert!(text.contains("Polygon"), "{text}");
}

#[test]
fn server_draws_explorer_tiles_and_the_page_toggles_them() {
    use crate::serve::{centre_tile, get, server};
    use hotpot::explorer::layer::ExplorerLayer;
    use hotpot::render::View;
    use hotpot::render::encode::read_png_rgba;
    let s = server("serve-explorer", |_| {});
    let (x, y) = centre_tile(12);
    let reply = get(&format!("{}/explorer/14/tiles/12/{x}/{y}.png", s.base), &[]);
    assert_eq!(reply.status, 200);
    let got = read_png_rgba(&reply.body).unwrap();
    let visits = Store::open_existing(&s.db)
        .unwrap()
        .explorer_visits(14)
        .unwrap();
    assert!(!visits.is_empty());
    let layer = ExplorerLayer::new(14, visits.iter().map(|v| v.tile).collect());
    let want = layer.draw(&View::tile(12, x, y, 256));
    assert!(got == want, "served explorer tile differs from the layer");
    assert!(got.data.chunks(4).filter(|p| p[3] > 0).count() > 1000);
    let r = get(&format!("{}/explorer/15/tiles/12/{x}/{y}.png", s.base), &[]);
    assert_eq!(r.status, 400);
    let page = String::from_utf8(get(&format!("{}/assets/map.js", s.base), &[]).body).unwrap();
    assert!(page.contains("/explorer/"));
}

#[test]
fn render_draws_the_explorer_overlay_and_takes_scale_and_glow() {
    let fx = imported("explorer-render", block_with_spur);
    let (dir, db) = (fx.dir, fx.db);
    drop(fx.store);
    let png = |name: &str, extra: &[&str]| {
        let out = dir.path().join(name);
        let mut args = vec![
            "--backend",
            "cpu",
            "render",
            "--fit",
            "--width",
            "400",
            "-o",
        ];
        args.push(out.to_str().unwrap());
        args.extend(extra);
        let r = hotpot(&db, &args);
        assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
        hotpot::render::encode::read_png(&std::fs::read(&out).unwrap()).unwrap()
    };
    let plain = png("plain.png", &[]);
    let overlay = png("explorer.png", &["--explorer", "14"]);
    let lit = |img: &hotpot::render::RgbaImage| img.data.chunks(4).filter(|p| p[3] > 0).count();
    // The block and spur fill most of the fitted poster; lines alone don't.
    assert!(
        lit(&overlay) > lit(&plain) * 5,
        "{} vs {}",
        lit(&overlay),
        lit(&plain)
    );
    let glow = png("glow.png", &["--glow", "--scale", "log"]);
    assert!(
        lit(&glow) > lit(&plain),
        "the halo lights pixels around the lines"
    );
    let bad = hotpot(&db, &["render", "--fit", "--scale", "linear"]);
    assert!(!bad.status.success());
}

#[test]
fn databases_from_before_the_table_are_filled_in_on_open() {
    let fx = imported("explorer-backfill", block_with_spur);
    let (_dir, db) = (fx.dir, fx.db);
    drop(fx.store);
    // Back to an older schema, before the explorer table.
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute_batch("DROP TABLE explorer_cover; PRAGMA user_version = 3;")
        .unwrap();
    drop(conn);
    let store = Store::open(&db).unwrap();
    assert_eq!(stats(&store, 14).visited, 11);
    assert_eq!(
        stats(&store, 17).visited,
        store.explorer_visits(17).unwrap().len()
    );
}
