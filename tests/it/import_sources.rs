//! The Importer's three entry points and the file walker: what each source
//! gives, what the report says changed, and folders that used to hang or
//! exhaust memory (symlink loops, FIFOs, devices).

use crate::support::{TempDir, ride};
use hotpot::ingest::importer::{ImportOptions, ImportReport, Importer};
use hotpot::store::Store;
use std::path::{Path, PathBuf};

fn import_dir(store: &mut Store, dir: &Path) -> ImportReport {
    Importer::new(store, ImportOptions::default())
        .import_paths(&[dir.to_path_buf()])
        .unwrap()
}

#[test]
fn every_entry_point_reports_the_added_ids_and_their_world_boxes() {
    let dir = TempDir::new("importer-added");
    let mut store = Store::open(&dir.path().join("h.sqlite3")).unwrap();
    let acts = vec![
        ride(52.5, 13.4, 200, 1_700_000_000_000),
        ride(48.1, 11.5, 100, 1_700_100_000_000),
    ];
    let parsed = Importer::new(&mut store, ImportOptions::default())
        .import_parsed("api", acts.clone())
        .unwrap();
    assert_eq!(parsed.activities_added, 2);
    assert_eq!(parsed.added.len(), 2);
    // The boxes are the stored ones: every stored point lies inside.
    for a in &parsed.added {
        let tracks = store.tracks_by_id(&[a.id]).unwrap();
        let [x0, y0, x1, y1] = a.bounds;
        assert!(
            tracks[0]
                .1
                .points
                .iter()
                .all(|p| (x0..=x1).contains(&p.x) && (y0..=y1).contains(&p.y))
        );
        let rows = store.activities().unwrap();
        assert_eq!(rows.iter().find(|r| r.id == a.id).unwrap().source, "api");
    }
    // Bytes: the same rides again are duplicates, a new one is added, a
    // broken one fails alone.
    let gpx = hotpot_demo::to_gpx(&ride(40.0, -3.7, 50, 1_700_200_000_000));
    let report = Importer::new(&mut store, ImportOptions::default())
        .import_bytes(vec![
            ("again.gpx".into(), hotpot_demo::to_gpx(&acts[0])),
            ("new.gpx".into(), gpx),
            ("broken.gpx".into(), b"<gpx><trk>".to_vec()),
        ])
        .unwrap();
    assert_eq!(
        (
            report.activities_added,
            report.duplicates,
            report.failed.len()
        ),
        (1, 1, 1),
        "{report:?}"
    );
    assert_eq!(report.failed[0].0, PathBuf::from("broken.gpx"));
    let (lon, lat) = hotpot::geo::WorldPoint {
        x: report.added[0].bounds[0],
        y: report.added[0].bounds[3],
    }
    .to_lonlat();
    assert!(
        (lon + 3.7).abs() < 1e-4 && (lat - 40.0).abs() < 1e-4,
        "{lon} {lat}"
    );
}

#[test]
fn bytes_are_trimmed_like_files() {
    let dir = TempDir::new("importer-trim");
    let mut store = Store::open(&dir.path().join("h.sqlite3")).unwrap();
    let a = ride(52.5, 13.4, 400, 1_700_000_000_000);
    let opts = ImportOptions {
        trim_m: Some(500.0),
        ..Default::default()
    };
    let report = Importer::new(&mut store, opts)
        .import_bytes(vec![("upload/a.gpx".into(), hotpot_demo::to_gpx(&a))])
        .unwrap();
    assert_eq!(report.activities_added, 1);
    let trimmed = store.activities().unwrap()[0].distance_m;
    let mut whole = Store::open(&dir.path().join("whole.sqlite3")).unwrap();
    Importer::new(&mut whole, ImportOptions::default())
        .import_parsed("a", vec![a])
        .unwrap();
    let full = whole.activities().unwrap()[0].distance_m;
    assert!(
        (full - 1000.0 - trimmed).abs() < 10.0,
        "{full} m less 2 x 500 m: {trimmed}"
    );
}

#[cfg(unix)]
#[test]
fn symlink_loops_finish_and_every_file_is_read_once() {
    use std::os::unix::fs::symlink;
    let dir = TempDir::new("walk-loops");
    let root = dir.path().join("acts");
    std::fs::create_dir_all(root.join("sub")).unwrap();
    std::fs::create_dir_all(root.join("other")).unwrap();
    for (name, lat) in [
        ("ride.gpx", 52.0),
        ("sub/run.gpx", 50.0),
        ("other/walk.gpx", 48.0),
    ] {
        let a = ride(lat, 13.0, 20, 1_700_000_000_000 + lat as i64 * 1_000_000);
        std::fs::write(root.join(name), hotpot_demo::to_gpx(&a)).unwrap();
    }
    // Two self-links made the old walker exponential; `..` made it read
    // every file 41 times; a link to a sibling folder and a second name for
    // a file reach the same files again.
    symlink(".", root.join("a")).unwrap();
    symlink(".", root.join("b")).unwrap();
    symlink("..", root.join("sub/loop")).unwrap();
    symlink("../other", root.join("sub/alias")).unwrap();
    symlink("ride.gpx", root.join("same ride.gpx")).unwrap();
    let mut store = Store::open(&dir.path().join("h.sqlite3")).unwrap();
    let r = import_dir(&mut store, &root);
    assert_eq!((r.files_found, r.files_read), (3, 3), "{r:?}");
    assert_eq!((r.activities_added, r.duplicates), (3, 0));
    assert!(r.failed.is_empty() && r.walk_errors.is_empty(), "{r:?}");
    // Naming the same file twice, once through a link, reads it once too.
    let again = Importer::new(
        &mut store,
        ImportOptions {
            force: true,
            ..Default::default()
        },
    )
    .import_paths(&[root.join("ride.gpx"), root.join("a/same ride.gpx")])
    .unwrap();
    assert_eq!((again.files_read, again.duplicates), (1, 1));
}

#[cfg(unix)]
#[test]
fn only_regular_files_are_read() {
    let dir = TempDir::new("walk-special");
    let root = dir.path().join("acts");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::write(
        root.join("ok.gpx"),
        hotpot_demo::to_gpx(&ride(52.0, 13.0, 20, 1_700_000_000_000)),
    )
    .unwrap();
    // Reading a FIFO blocks until a writer comes; /dev/zero never ends.
    let status = std::process::Command::new("mkfifo")
        .arg(root.join("x.gpx"))
        .status()
        .expect("mkfifo runs");
    assert!(status.success());
    std::os::unix::fs::symlink("/dev/zero", root.join("zero.gpx")).unwrap();
    let mut store = Store::open(&dir.path().join("h.sqlite3")).unwrap();
    let r = import_dir(&mut store, &root);
    assert_eq!(r.activities_added, 1, "{r:?}");
    let failed: Vec<(String, &str)> = r
        .failed
        .iter()
        .map(|(p, e)| (p.file_name().unwrap().to_string_lossy().into(), e.as_str()))
        .collect();
    assert_eq!(
        failed,
        vec![
            ("x.gpx".to_string(), "not a regular file (a FIFO)"),
            (
                "zero.gpx".to_string(),
                "not a regular file (a character device)"
            ),
        ]
    );
    // Named explicitly, the device is refused the same way.
    let r = Importer::new(&mut store, ImportOptions::default())
        .import_paths(&[PathBuf::from("/dev/zero")])
        .unwrap();
    assert_eq!(r.failed.len(), 1, "{r:?}");
}

#[test]
fn a_folder_without_gps_files_says_so() {
    let dir = TempDir::new("walk-empty");
    std::fs::write(dir.path().join("notes.txt"), "no tracks here").unwrap();
    let mut store = Store::open(&dir.path().join("h.sqlite3")).unwrap();
    let r = import_dir(&mut store, dir.path());
    assert_eq!(r.files_found, 0);
    assert_eq!(r.warnings.len(), 1, "{r:?}");
    assert!(r.warnings[0].1.contains("no GPX, TCX or FIT files"));
}

#[cfg(unix)]
#[test]
fn names_that_differ_only_in_invalid_utf8_are_two_files() {
    use std::os::unix::ffi::OsStrExt;
    let dir = TempDir::new("walk-bytes");
    let root = dir.path().join("acts");
    std::fs::create_dir_all(&root).unwrap();
    for (i, byte) in [0xfe_u8, 0xff].into_iter().enumerate() {
        let bytes = [b'r', byte, b'.', b'g', b'p', b'x'];
        let name = std::ffi::OsStr::from_bytes(&bytes);
        let a = ride(52.0 + i as f64, 13.0, 20, 1_700_000_000_000 + i as i64);
        std::fs::write(root.join(name), hotpot_demo::to_gpx(&a)).unwrap();
    }
    let mut store = Store::open(&dir.path().join("h.sqlite3")).unwrap();
    let first = import_dir(&mut store, &root);
    assert_eq!((first.files_read, first.activities_added), (2, 2));
    // Both lossily read "r\u{FFFD}.gpx": one key, and one file re-read on
    // every run.
    let second = import_dir(&mut store, &root);
    assert_eq!((second.files_unchanged, second.files_read), (2, 0));
}

#[test]
fn files_read_before_the_byte_keys_are_still_known() {
    let dir = TempDir::new("walk-migrate");
    let root = dir.path().join("acts");
    std::fs::create_dir_all(&root).unwrap();
    let a = ride(52.0, 13.0, 20, 1_700_000_000_000);
    std::fs::write(root.join("ride.gpx"), hotpot_demo::to_gpx(&a)).unwrap();
    let db = dir.path().join("h.sqlite3");
    import_dir(&mut Store::open(&db).unwrap(), &root);
    // Turn the database back into schema 2, whose keys were TEXT.
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute_batch(
        "CREATE TABLE old (path TEXT PRIMARY KEY, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL,
                           activities INTEGER NOT NULL, imported_at INTEGER NOT NULL);
         INSERT INTO old SELECT CAST(path AS TEXT), size, mtime_ns, activities, imported_at FROM source_files;
         DROP TABLE source_files; ALTER TABLE old RENAME TO source_files;
         PRAGMA user_version = 2;",
    )
    .unwrap();
    let kind: String = conn
        .query_row("SELECT typeof(path) FROM source_files", [], |r| r.get(0))
        .unwrap();
    assert_eq!(kind, "text");
    drop(conn);
    let again = import_dir(&mut Store::open(&db).unwrap(), &root);
    assert_eq!((again.files_unchanged, again.files_read), (1, 0));
}

/// Distance and warnings of `files` imported into a fresh store.
fn import_files(name: &str, files: Vec<(String, Vec<u8>)>) -> (f64, Vec<String>) {
    let dir = TempDir::new(name);
    let mut store = Store::open(&dir.path().join("h.sqlite3")).unwrap();
    let r = Importer::new(&mut store, ImportOptions::default())
        .import_bytes(files)
        .unwrap();
    assert!(r.failed.is_empty(), "{r:?}");
    let km = store.summary().unwrap().distance_km;
    (km, r.warnings.into_iter().map(|(_, w)| w).collect())
}

#[test]
#[cfg_attr(
    hotpot_no_corpus,
    ignore = "the real-track corpus is not at ../shared/data/tracks"
)]
fn impossible_jumps_are_dropped_on_every_format() {
    let dir = crate::support::corpus_dir();
    let clean = std::fs::read_to_string(dir.join("gpx/georust-gpx__garmin-activity.gpx")).unwrap();
    // Every 97th point moved to the southern hemisphere, as a flipped sign
    // bit would.
    let mut n = 0;
    let corrupted = clean
        .split("<trkpt lat=\"")
        .enumerate()
        .map(|(i, part)| {
            if i > 0 && i % 97 == 0 {
                n += 1;
                format!("-{part}")
            } else {
                part.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("<trkpt lat=\"");
    assert_eq!(n, 10);
    let (want, none) = import_files("jumps-gpx-clean", vec![("a.gpx".into(), clean.into())]);
    assert!(none.is_empty(), "{none:?}");
    let (got, warnings) = import_files("jumps-gpx", vec![("a.gpx".into(), corrupted.into())]);
    assert!(
        (got - want).abs() < 0.01 * want,
        "{got} km, clean {want} km"
    );
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].contains("10 points dropped"), "{warnings:?}");

    // The same in a FIT file: a ride with three points on other continents.
    let a = ride(47.0, 8.0, 300, 1_600_000_000_000);
    let mut bad = a.clone();
    bad.segments[0][100].lat = -47.0;
    bad.segments[0][200].lon = 120.0;
    bad.segments[0][201].lat = 10.0;
    let fit = |a| hotpot_demo::fit_write::write_fit(a);
    let (want, _) = import_files("jumps-fit-clean", vec![("a.fit".into(), fit(&a))]);
    let (got, warnings) = import_files("jumps-fit", vec![("a.fit".into(), fit(&bad))]);
    assert!(
        (got - want).abs() < 0.01 * want,
        "{got} km, clean {want} km"
    );
    assert!(warnings[0].contains("3 points dropped"), "{warnings:?}");
}

#[test]
fn chained_fit_files_keep_every_part() {
    let fit = hotpot_demo::fit_write::write_fit;
    let mut run = ride(47.5, 8.5, 120, 1_600_100_000_000);
    run.sport = Some("running".into());
    let parts = [
        fit(&ride(47.0, 8.0, 300, 1_600_000_000_000)),
        fit(&run),
        fit(&ride(46.0, 7.0, 200, 1_600_200_000_000)),
    ];
    let chained = parts.concat();
    let dir = TempDir::new("fit-chain");
    let mut store = Store::open(&dir.path().join("h.sqlite3")).unwrap();
    let r = Importer::new(&mut store, ImportOptions::default())
        .import_bytes(vec![("chain.fit".into(), chained)])
        .unwrap();
    assert_eq!(r.activities_added, 3, "{r:?}");
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
    let points: Vec<u32> = store
        .activities()
        .unwrap()
        .iter()
        .map(|a| a.num_points)
        .collect();
    assert_eq!(points, vec![300, 120, 200]);
}

#[test]
#[cfg_attr(
    hotpot_no_corpus,
    ignore = "the real-track corpus is not at ../shared/data/tracks"
)]
fn real_fit_files_chained_keep_every_part() {
    let dir = crate::support::corpus_dir().join("fit");
    let chained: Vec<u8> = [
        "geo-activity-playground__2024-05-10-19-32-04.fit",
        "gpsbabel__fit-sample.fit",
        "gpsbabel__garmin-forerunner-10.fit",
    ]
    .iter()
    .flat_map(|f| std::fs::read(dir.join(f)).unwrap())
    .collect();
    let tmp = TempDir::new("fit-chain-real");
    let mut store = Store::open(&tmp.path().join("h.sqlite3")).unwrap();
    let r = Importer::new(&mut store, ImportOptions::default())
        .import_bytes(vec![("chain.fit".into(), chained)])
        .unwrap();
    // The counts each file gives alone (MANIFEST.tsv).
    let points: Vec<u64> = r.files.iter().map(|f| f.points).collect();
    assert_eq!((r.activities_added, points), (3, vec![1082 + 533 + 514]));
}

#[test]
#[cfg_attr(
    hotpot_no_corpus,
    ignore = "the real-track corpus is not at ../shared/data/tracks"
)]
fn utf16_and_declared_8_bit_encodings_read_like_utf8() {
    let path = crate::support::corpus_dir().join("gpx/gpx-cli__short_trek.gpx");
    let utf8 = std::fs::read_to_string(path).unwrap();
    assert!(utf8.contains("Randonnée du 04/09/2017 à 10:49"));
    let utf16 = |big_endian: bool, bom: bool| -> Vec<u8> {
        let units = bom.then_some(0xFEFF).into_iter().chain(utf8.encode_utf16());
        units
            .flat_map(|u| {
                if big_endian {
                    u.to_be_bytes()
                } else {
                    u.to_le_bytes()
                }
            })
            .collect()
    };
    let latin = {
        let declared = utf8.replacen(r#"encoding="UTF-8""#, r#"encoding="ISO-8859-15""#, 1);
        let (bytes, _, unmappable) = encoding_rs::ISO_8859_15.encode(&declared);
        assert!(!unmappable);
        bytes.into_owned()
    };
    assert!(std::str::from_utf8(&latin).is_err(), "really 8-bit");
    let files = vec![
        ("utf8.gpx".to_string(), utf8.clone().into_bytes()),
        ("le-bom.gpx".into(), utf16(false, true)),
        ("be-bom.gpx".into(), utf16(true, true)),
        // Without a mark, and without a telling name: sniffed from `<`.
        ("le-bare.xml".into(), utf16(false, false)),
        ("latin9.gpx".into(), latin),
    ];
    for (name, bytes) in &files {
        let parsed = hotpot::ingest::parse_bytes(name, bytes).unwrap();
        let title = parsed.activities[0].title.as_deref();
        assert_eq!(title, Some("Randonnée du 04/09/2017 à 10:49"), "{name}");
    }
    let dir = TempDir::new("encodings");
    let mut store = Store::open(&dir.path().join("h.sqlite3")).unwrap();
    let r = Importer::new(&mut store, ImportOptions::default())
        .import_bytes(files)
        .unwrap();
    assert!(r.failed.is_empty() && r.warnings.is_empty(), "{r:?}");
    // One activity; every other file is the same track.
    assert_eq!((r.activities_added, r.duplicates), (1, 4), "{r:?}");
    let points: Vec<u64> = r.files.iter().map(|f| f.points).collect();
    assert!(
        points.iter().all(|&p| p == points[0] && p > 100),
        "{points:?}"
    );
    let title = &store.activities().unwrap()[0].title;
    assert_eq!(title.as_deref(), Some("Randonnée du 04/09/2017 à 10:49"));
}
