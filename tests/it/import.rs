//! Importing files into the store: formats, dedup, idempotence, failures,
//! joins, stats. Fixtures are written by the tests themselves.

use crate::support::{TempDir, ride};
use hotpot::ingest::importer::{ImportOptions, ImportReport, Importer};
use hotpot::ingest::join::read_join_csv;
use hotpot::store::Store;
use hotpot_demo::fit_write::write_fit;
use std::io::Write;
use std::path::{Path, PathBuf};

fn gpx_of(trks: &[&[&[(f64, f64)]]]) -> String {
    let mut s = String::from(
        r#"<?xml version="1.0"?><gpx version="1.1" xmlns="http://www.topografix.com/GPX/1/1">"#,
    );
    for trk in trks {
        s.push_str("<trk><name>Fixture</name><type>running</type>");
        for seg in *trk {
            s.push_str("<trkseg>");
            for (lat, lon) in *seg {
                s.push_str(&format!(r#"<trkpt lat="{lat}" lon="{lon}"/>"#));
            }
            s.push_str("</trkseg>");
        }
        s.push_str("</trk>");
    }
    s.push_str("</gpx>");
    s
}

fn gz(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

fn import(store: &mut Store, paths: &[&Path]) -> ImportReport {
    let paths: Vec<PathBuf> = paths.iter().map(|p| p.to_path_buf()).collect();
    Importer::new(store, ImportOptions::default())
        .import_paths(&paths)
        .unwrap()
}

#[test]
fn imports_a_folder_of_mixed_formats_once() {
    let dir = TempDir::new("mixed");
    let data = dir.path().join("export/activities");
    std::fs::create_dir_all(data.join("nested")).unwrap();
    let two_tracks = gpx_of(&[
        &[
            &[(52.5, 13.4), (52.501, 13.401)],
            &[(52.51, 13.41), (52.511, 13.411)],
        ],
        &[&[(48.1, 11.5), (48.2, 11.6)]],
    ]);
    std::fs::write(data.join("two.gpx"), &two_tracks).unwrap();
    std::fs::write(
        data.join("nested/ride.fit.gz"),
        gz(&write_fit(&ride(47.0, 8.0, 300, 1_600_000_000_000))),
    )
    .unwrap();
    std::fs::write(
        data.join("nested/run.gpx.gz"),
        gz(gpx_of(&[&[&[(40.0, -3.7), (40.001, -3.701)]]]).as_bytes()),
    )
    .unwrap();
    std::fs::write(data.join("notes.txt"), "not a track, and not looked at").unwrap();
    std::fs::write(
        data.join("broken.gpx"),
        "<gpx><trk><trkseg><trkpt lat=\"1\"",
    )
    .unwrap();
    let db = dir.path().join("h.sqlite3");
    let mut store = Store::open(&db).unwrap();

    let r = import(&mut store, &[&dir.path().join("export")]);
    assert_eq!(r.files_found, 4, "the .txt file is not a candidate");
    assert_eq!(r.activities_added, 4, "two tracks + ride + run: {r:?}");
    assert_eq!(r.failed.len(), 1, "{:?}", r.failed);
    assert!(r.failed[0].0.ends_with("broken.gpx"));
    assert!(!r.failed[0].1.is_empty());

    let rows = store.activities().unwrap();
    let two: Vec<_> = rows
        .iter()
        .filter(|a| a.source.ends_with("two.gpx"))
        .collect();
    assert_eq!(two.len(), 2, "each <trk> is its own activity");
    let segs: Vec<u64> = two
        .iter()
        .map(|a| {
            store.properties(a.id).unwrap().unwrap()["segments"]
                .as_u64()
                .unwrap()
        })
        .collect();
    assert_eq!(segs, vec![2, 1], "<trkseg> breaks are kept");
    let fit = rows
        .iter()
        .find(|a| a.source.ends_with("ride.fit.gz"))
        .unwrap();
    assert_eq!(fit.num_points, 300);
    assert_eq!(fit.sport.as_deref(), Some("cycling"));
    assert_eq!(fit.start_time, Some(1_600_000_000_000));

    // Unchanged files are skipped without being parsed again.
    let again = import(&mut store, &[&dir.path().join("export")]);
    assert_eq!(
        (
            again.files_unchanged,
            again.files_read,
            again.activities_added
        ),
        (3, 1, 0)
    );
    // Forced re-reads find every activity already there.
    let paths = vec![dir.path().join("export")];
    let forced = Importer::new(
        &mut store,
        ImportOptions {
            force: true,
            ..Default::default()
        },
    )
    .import_paths(&paths)
    .unwrap();
    assert_eq!((forced.activities_added, forced.duplicates), (0, 4));
    assert_eq!(store.activities().unwrap().len(), 4);
}

#[test]
fn the_same_ride_under_another_name_or_format_is_stored_once() {
    let dir = TempDir::new("dedup");
    let a = ride(52.4, 13.1, 600, 1_650_000_000_000);
    let gpx = hotpot_demo::to_gpx(&a);
    std::fs::write(dir.path().join("original.gpx"), &gpx).unwrap();
    std::fs::write(dir.path().join("copy with another name.gpx"), &gpx).unwrap();
    // The device's FIT of the same ride: same start, coordinates rounded
    // differently (semicircles vs 7 decimals), a few points fewer.
    let mut fit_version = a.clone();
    fit_version.segments[0].truncate(595);
    std::fs::write(dir.path().join("device.fit"), write_fit(&fit_version)).unwrap();
    // A different ride on the same road an hour later is not a duplicate.
    std::fs::write(
        dir.path().join("later.gpx"),
        hotpot_demo::to_gpx(&ride(52.4, 13.1, 600, 1_650_003_600_000)),
    )
    .unwrap();
    let mut store = Store::open(&dir.path().join("h.sqlite3")).unwrap();
    let r = import(&mut store, &[dir.path()]);
    assert_eq!((r.activities_added, r.duplicates), (2, 2), "{r:?}");
}

#[test]
fn join_merges_strava_csv_columns() {
    let dir = TempDir::new("join");
    std::fs::create_dir_all(dir.path().join("activities")).unwrap();
    std::fs::write(
        dir.path().join("activities/123.fit.gz"),
        gz(&write_fit(&ride(46.0, 7.0, 100, 1_700_000_000_000))),
    )
    .unwrap();
    let csv = dir.path().join("activities.csv");
    std::fs::write(&csv, "Activity ID,Activity Name,Activity Gear,Filename,Commute\n123,Lunch Ride,Bianchi,activities/123.fit.gz,true\n999,Other,,activities/999.gpx,false\n").unwrap();
    let mut store = Store::open(&dir.path().join("h.sqlite3")).unwrap();
    import(&mut store, &[&dir.path().join("activities")]);
    let rows = read_join_csv(&csv).unwrap();
    assert_eq!(store.merge_properties_by_file_name(&rows).unwrap(), 1);
    let id = store.activities().unwrap()[0].id;
    let props = store.properties(id).unwrap().unwrap();
    assert_eq!(props["Activity Gear"], "Bianchi");
    assert_eq!(props["Commute"], true);
    assert_eq!(props["Activity ID"], 123.0);
    assert!(
        props["distance_km"].as_f64().unwrap() > 0.5,
        "computed properties stay"
    );
}

#[test]
fn summary_counts_sports_and_dates() {
    let dir = TempDir::new("summary");
    std::fs::write(
        dir.path().join("a.fit"),
        write_fit(&ride(52.0, 13.0, 100, 1_551_398_400_000)),
    )
    .unwrap();
    let mut run = ride(52.1, 13.1, 100, 1_795_000_000_000);
    run.sport = Some("running".into());
    std::fs::write(dir.path().join("b.fit"), write_fit(&run)).unwrap();
    let mut store = Store::open(&dir.path().join("h.sqlite3")).unwrap();
    import(&mut store, &[dir.path()]);
    let s = store.summary().unwrap();
    assert_eq!(s.activities, 2);
    assert_eq!(hotpot::timefmt::date(s.first_start.unwrap()), "2019-03-01");
    assert_eq!(hotpot::timefmt::date(s.last_start.unwrap()), "2026-11-18");
    assert_eq!(s.per_sport["cycling"].activities, 1);
    assert_eq!(s.per_sport["running"].activities, 1);
    let [w, so, e, n] = s.bounds.unwrap();
    assert!(w >= 12.999 && e < 13.2 && so >= 51.999 && n < 52.2);
}

#[test]
fn filters_choose_which_tracks_load() {
    let dir = TempDir::new("filter-load");
    let mut run = ride(52.1, 13.1, 100, 1_700_000_000_000);
    run.sport = Some("running".into());
    std::fs::write(dir.path().join("run.fit"), write_fit(&run)).unwrap();
    std::fs::write(
        dir.path().join("ride.fit"),
        write_fit(&ride(52.0, 13.0, 300, 1_600_000_000_000)),
    )
    .unwrap();
    let mut store = Store::open(&dir.path().join("h.sqlite3")).unwrap();
    import(&mut store, &[dir.path()]);
    let load = |f: &str| {
        let f = hotpot::filter::Filter::parse(f).unwrap();
        store
            .load_tracks(None, Some(&f))
            .unwrap()
            .iter()
            .map(|(_, t)| t.points.len())
            .collect::<Vec<_>>()
    };
    assert_eq!(load(r#"sport = "running""#), vec![100]);
    assert_eq!(
        load("distance_km > 1"),
        vec![300],
        "the 300-point ride is the long one"
    );
    assert_eq!(
        load("start_time >= 2023-01-01 && sport in [running, cycling]"),
        vec![100]
    );
    // With an area too: the bbox parameters come first, the filter's after.
    let everywhere = Some([0, 0, u32::MAX, u32::MAX]);
    let f = hotpot::filter::Filter::parse("has? elevation_gain_m").unwrap();
    assert_eq!(store.load_tracks(everywhere, Some(&f)).unwrap().len(), 2);
}
