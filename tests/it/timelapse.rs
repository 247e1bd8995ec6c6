//! Time-lapses through the command line: an animated PNG read back by the
//! png crate's APNG decoder, numbered frames and a small-multiples grid
//! read by GDAL, and the last cumulative frame equal to a poster of
//! everything.

use crate::cli::hotpot;
use crate::explorer::write_gpx;
use crate::support::TempDir;
use hotpot::render::RgbaImage;
use hotpot::render::encode::read_png;
use std::path::Path;

/// Three rides in three places: 2019 west, 2020 middle, 2021 east.
fn db(dir: &Path) -> std::path::PathBuf {
    let files = dir.join("files");
    std::fs::create_dir_all(&files).unwrap();
    for (i, (year, lon)) in [(2019, 13.30), (2020, 13.40), (2021, 13.50)]
        .iter()
        .enumerate()
    {
        let pts: Vec<(f64, f64)> = (0..60)
            .map(|k| {
                (
                    52.50 + 0.0004 * k as f64,
                    lon + 0.0003 * (k as f64 * 0.3).sin(),
                )
            })
            .collect();
        write_gpx(
            &files,
            &format!("r{i}.gpx"),
            &format!("{year}-0{}-10", i + 4),
            &pts,
        );
    }
    let db = dir.join("h.sqlite3");
    let out = hotpot(&db, &["import", files.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    db
}

fn run(db: &Path, args: &[&str]) {
    let out = hotpot(db, args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Lit pixels (alpha > 0) per third of the picture, west to east.
fn lit_thirds(img: &RgbaImage) -> [usize; 3] {
    let mut n = [0; 3];
    for (i, px) in img.data.chunks(4).enumerate() {
        let x = (i as u32 % img.width) * 3 / img.width;
        // Skip the label's corner.
        if px[3] > 0 && (i as u32 / img.width) > img.height / 5 {
            n[x as usize] += 1;
        }
    }
    n
}

fn apng_frames(path: &Path) -> (u32, Vec<RgbaImage>) {
    let dec = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).unwrap()));
    let mut reader = dec.read_info().unwrap();
    let actl = reader.info().animation_control.expect("an acTL chunk");
    let (w, h) = (reader.info().width, reader.info().height);
    let mut frames = Vec::new();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    for _ in 0..actl.num_frames {
        let info = reader.next_frame(&mut buf).unwrap();
        assert_eq!((info.width, info.height), (w, h));
        frames.push(RgbaImage {
            width: w,
            height: h,
            data: buf[..info.buffer_size()].to_vec(),
        });
    }
    (actl.num_frames, frames)
}

#[test]
fn yearly_frames_show_each_year_and_cumulative_ones_add_up() {
    let dir = TempDir::new("timelapse-apng");
    let db = db(dir.path());
    let apng = dir.path().join("years.png");
    let common = ["--backend", "cpu", "timelapse", "--fit", "--width", "300"];
    let mut args = common.to_vec();
    args.extend(["--by", "year", "-o", apng.to_str().unwrap()]);
    run(&db, &args);
    let (n, frames) = apng_frames(&apng);
    assert_eq!(n, 3);
    let lit: Vec<[usize; 3]> = frames.iter().map(lit_thirds).collect();
    eprintln!("per year: {lit:?}");
    for (i, l) in lit.iter().enumerate() {
        for (j, &v) in l.iter().enumerate() {
            assert_eq!(v > 0, i == j, "frame {i}, third {j}: {lit:?}");
        }
    }
    // The label: white pixels in the top-left corner.
    let white = |img: &RgbaImage| {
        (0..20u32)
            .flat_map(|y| (0..60u32).map(move |x| (x, y)))
            .filter(|&(x, y)| img.data[((y * img.width + x) * 4) as usize..][..4] == [255; 4])
            .count()
    };
    assert!(white(&frames[0]) > 20);

    let cumulative = dir.path().join("cumulative.png");
    let mut args = common.to_vec();
    args.extend([
        "--cumulative",
        "--no-labels",
        "-o",
        cumulative.to_str().unwrap(),
    ]);
    run(&db, &args);
    let (_, frames) = apng_frames(&cumulative);
    let lit: Vec<[usize; 3]> = frames.iter().map(lit_thirds).collect();
    assert_eq!(lit[2].iter().filter(|&&v| v > 0).count(), 3, "{lit:?}");
    assert_eq!(lit[1][..2], lit[2][..2], "{lit:?}");
    // The last cumulative frame is a poster of everything.
    let poster = dir.path().join("poster.png");
    run(
        &db,
        &[
            "--backend",
            "cpu",
            "render",
            "--fit",
            "--width",
            "300",
            "-o",
            poster.to_str().unwrap(),
        ],
    );
    let poster = read_png(&std::fs::read(&poster).unwrap()).unwrap();
    assert!(
        poster == frames[2],
        "last cumulative frame differs from render"
    );
}

#[test]
fn monthly_frames_to_a_directory_and_a_grid_read_by_gdal() {
    let dir = TempDir::new("timelapse-frames");
    let db = db(dir.path());
    let frames = dir.path().join("frames/");
    run(
        &db,
        &[
            "timelapse",
            "--fit",
            "--width",
            "200",
            "--by",
            "month",
            "--glow",
            "--scale",
            "log",
            "-o",
            frames.to_str().unwrap(),
        ],
    );
    // April 2019 to June 2021: 27 months, empty ones included.
    let mut names: Vec<String> = std::fs::read_dir(&frames)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names.len(), 27);
    assert_eq!(names[0], "frame-0001.png");
    let gdal = |path: &Path| {
        let out = std::process::Command::new("gdalinfo")
            .arg(path)
            .output()
            .expect("gdalinfo (gdal-bin) is needed to read the frames");
        assert!(out.status.success());
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let info = gdal(&frames.join("frame-0027.png"));
    assert!(
        info.contains("Driver: PNG/Portable Network Graphics"),
        "{info}"
    );
    let size = info
        .lines()
        .find(|l| l.starts_with("Size is"))
        .unwrap()
        .to_string();

    let grid = dir.path().join("grid.png");
    run(
        &db,
        &[
            "timelapse",
            "--fit",
            "--width",
            "200",
            "--grid",
            "--cumulative",
            "-o",
            grid.to_str().unwrap(),
        ],
    );
    // Three years: two columns, two rows of frame-sized panels.
    let (w, h): (u32, u32) = {
        let mut it = size
            .trim_start_matches("Size is ")
            .split(", ")
            .map(|v| v.trim().parse().unwrap());
        (it.next().unwrap(), it.next().unwrap())
    };
    assert!(gdal(&grid).contains(&format!("Size is {}, {}", 2 * w, 2 * h)));
}
