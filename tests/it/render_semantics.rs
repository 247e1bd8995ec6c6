//! The rendering rules of DESIGN.md, checked on the CPU reference renderer:
//! sampling-rate invariance, seams, placement, transparency.

use crate::support::{densify, max_diff, rel_diff, render, scene, winding};
use hotpot::geo::{LonLatBounds, lonlat_to_unit};
use hotpot::render::colormap::{Colormap, Gradient};
use hotpot::render::cpu::CpuRenderer;
use hotpot::render::{Density, RenderJob, Renderer, View};

fn area() -> View {
    let b = LonLatBounds {
        west: 13.37,
        south: 52.505,
        east: 13.43,
        north: 52.535,
    };
    View::for_rect(b.to_unit(), 600, 500)
}

/// Each pixel replaced by the sum of its 3x3 neighbourhood: differences
/// that no eye could see (a line moved by a tenth of a pixel) cancel out,
/// bright dots and gaps do not.
fn box3(d: &Density) -> Density {
    let (w, h) = (d.width as i64, d.height as i64);
    let mut out = Density::zeros(d.width, d.height);
    for y in 0..h {
        for x in 0..w {
            let mut sum = 0u32;
            for (dx, dy) in (-1..=1).flat_map(|dx| (-1..=1).map(move |dy| (dx, dy))) {
                let (nx, ny) = (x + dx, y + dy);
                if (0..w).contains(&nx) && (0..h).contains(&ny) {
                    sum += d.data[(ny * w + nx) as usize];
                }
            }
            out.data[(y * w + x) as usize] = sum;
        }
    }
    out
}

/// The same road sampled ten times as often gives the same picture. Both
/// are simplified at a sub-pixel tolerance, so lines may move by a tenth of
/// a pixel; that moves coverage between neighbouring pixels, which the 3x3
/// comparison forgives and the max-pixel check bounds.
#[test]
fn densified_track_renders_the_same() {
    let coarse = winding();
    let fine = densify(&coarse, 10);
    assert_eq!(fine.len(), 199 * 10 + 1);
    for width in [1.0, 2.0, 4.0] {
        let a = render(&scene(&[vec![coarse.clone()]]), area(), width);
        let b = render(&scene(&[vec![fine.clone()]]), area(), width);
        let rd = rel_diff(&box3(&a), &box3(&b));
        let md = max_diff(&a, &b);
        eprintln!(
            "width {width}: {:.3}% (3x3), max pixel {md}, raw {:.2}%",
            rd * 100.0,
            rel_diff(&a, &b) * 100.0
        );
        assert!(
            rd < 0.02,
            "width {width}: densified differs by {:.2}%",
            rd * 100.0
        );
        assert!(md < 0.25, "width {width}: a pixel changed by {md} visits");
        assert!((a.total() - b.total()).abs() / a.total() < 0.01);
    }
}

#[test]
fn no_bright_dots_at_vertices() {
    // A gently curving road sampled every few pixels: one track must never
    // count more than once anywhere, so no pixel exceeds one visit except
    // where the track really crosses itself.
    let road: Vec<(f64, f64)> = (0..120)
        .map(|i| {
            (
                13.375 + i as f64 * 0.0004,
                52.52 + 0.004 * (i as f64 * 0.08).sin(),
            )
        })
        .collect();
    let d = render(&scene(&[vec![road]]), area(), 3.0);
    let max = d.data.iter().copied().max().unwrap() as f32 / 1024.0;
    assert!(max <= 1.01, "a single track reached {max} visits");
    // And the line's core is fully covered (no gaps between segments).
    let full = d.data.iter().filter(|&&v| v >= 1020).count();
    assert!(full > 400, "only {full} fully covered pixels");
}

#[test]
fn sharp_zigzag_never_double_counts() {
    let zig: Vec<(f64, f64)> = (0..30)
        .map(|i| {
            (
                13.38 + i as f64 * 0.0015,
                52.52 + if i % 2 == 0 { 0.0 } else { 0.003 },
            )
        })
        .collect();
    let d = render(&scene(&[vec![zig]]), area(), 4.0);
    let max = d.data.iter().copied().max().unwrap() as f32 / 1024.0;
    assert!(max <= 1.01, "zigzag reached {max} visits");
}

#[test]
fn halves_stitch_to_the_whole_pixel_for_pixel() {
    let s = scene(&[vec![winding()], vec![densify(&winding(), 3)[40..].to_vec()]]);
    let whole_view = area();
    let whole = render(&s, whole_view, 2.5);
    // Left/right at an odd column, top/bottom at an odd row.
    for (x, y, w, h) in [
        (0, 0, 301, 500),
        (301, 0, 299, 500),
        (0, 0, 600, 233),
        (0, 233, 600, 267),
    ] {
        let part = render(&s, whole_view.sub_view(x, y, w, h), 2.5);
        assert_eq!(part, whole.crop(x, y, w, h), "part at {x},{y} {w}x{h}");
    }
}

#[test]
fn wide_lines_keep_sharp_corners_across_strip_edges() {
    // A V whose vertex is 18 px above a strip: its miter tip (about 21 px
    // long for 13 px lines and this angle) reaches into the strip, so the
    // strip must not cull the V although all its points lie outside.
    let whole_view = area();
    let at = |x: f64, y: f64| {
        let r = whole_view.rect();
        let u = (
            r.x0 + x / whole_view.scale[0],
            r.y0 + y / whole_view.scale[1],
        );
        hotpot::geo::unit_to_lonlat(u.0, u.1)
    };
    let (vx, vy) = (300.0, 182.0);
    let spread = (17.5f64).to_radians().tan() * 150.0;
    let s = scene(&[vec![vec![
        at(vx - spread, vy - 150.0),
        at(vx, vy),
        at(vx + spread, vy - 150.0),
    ]]]);
    let whole = render(&s, whole_view, 13.0);
    let strip = render(&s, whole_view.sub_view(0, 200, 600, 100), 13.0);
    assert!(strip.total() > 0.5, "the tip reaches into the strip");
    assert_eq!(strip, whole.crop(0, 200, 600, 100));
}

#[test]
fn a_tile_is_the_crop_of_a_larger_render() {
    // Four z14 tiles around Berlin's centre against one 512² render of them.
    let (ux, uy) = lonlat_to_unit(13.40, 52.52);
    let (tx, ty) = ((ux * 16384.0) as u32 - 1, (uy * 16384.0) as u32 - 1);
    let s = scene(&[vec![winding()]]);
    let big = View::tile(13, tx / 2, ty / 2, 512);
    let whole = render(&s, big, 2.0);
    assert!(
        whole.total() > 10.0,
        "the test track must cross these tiles"
    );
    for (dx, dy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
        let (x, y) = ((tx / 2) * 2 + dx, (ty / 2) * 2 + dy);
        let tile = render(&s, View::tile(14, x, y, 256), 2.0);
        assert_eq!(
            tile,
            whole.crop(dx * 256, dy * 256, 256, 256),
            "tile 14/{x}/{y}"
        );
    }
}

#[test]
fn a_known_coordinate_lands_on_its_pixel() {
    // A short east-west line through 52.52 N 13.405 E on a z16 tile; Web
    // Mercator puts that latitude at a known fractional pixel row.
    let (lat, lon): (f64, f64) = (52.52, 13.405);
    let n = 65536.0 * 256.0;
    let px = (lon + 180.0) / 360.0 * n;
    let lat_r = lat.to_radians();
    let py = (1.0 - (lat_r.tan() + 1.0 / lat_r.cos()).ln() / std::f64::consts::PI) / 2.0 * n;
    let (tx, ty) = ((px / 256.0) as u32, (py / 256.0) as u32);
    let (col, row) = (
        (px - tx as f64 * 256.0) as u32,
        (py - ty as f64 * 256.0) as u32,
    );
    let s = scene(&[vec![vec![(lon - 0.0003, lat), (lon + 0.0003, lat)]]]);
    let d = render(&s, View::tile(16, tx, ty, 256), 1.0);
    let brightest = (0..256)
        .max_by_key(|&y| d.data[(y * 256 + col) as usize])
        .unwrap();
    assert_eq!(brightest, row, "line at row {py:.2} of the world");
    assert!(d.get(col, row) > 0.4);
    // A north-south line through the same point lands on the expected column.
    let s = scene(&[vec![vec![(lon, lat - 0.0002), (lon, lat + 0.0002)]]]);
    let d = render(&s, View::tile(16, tx, ty, 256), 1.0);
    let brightest = (0..256)
        .max_by_key(|&x| d.data[(row * 256 + x) as usize])
        .unwrap();
    assert_eq!(brightest, col);
}

#[test]
fn segment_breaks_draw_no_line_across_the_gap() {
    let a = vec![(13.38, 52.52), (13.39, 52.52)];
    let b = vec![(13.41, 52.52), (13.42, 52.52)];
    let d = render(&scene(&[vec![a, b]]), area(), 2.0);
    let (ux, uy) = lonlat_to_unit(13.40, 52.52);
    let r = area().rect();
    let col = ((ux - r.x0) / r.width() * 600.0) as u32;
    let row = ((uy - r.y0) / r.height() * 500.0) as u32;
    for y in row.saturating_sub(3)..row + 3 {
        assert_eq!(d.get(col, y), 0.0, "gap between segments must stay empty");
    }
}

#[test]
fn empty_places_are_transparent() {
    let s = scene(&[vec![winding()]]);
    let cm = Colormap::new(Gradient::palette("hot").unwrap(), None);
    let img = CpuRenderer::new()
        .render_rgba(
            &s,
            &[RenderJob {
                view: area(),
                line_width: 2.0,
            }],
            &cm,
        )
        .unwrap();
    let img = &img[0];
    assert_eq!(&img.data[..4], &[0, 0, 0, 0], "corner far from the track");
    let lit = img.data.chunks(4).filter(|p| p[3] > 0).count();
    assert!(lit > 1000 && lit < 600 * 500 / 4, "{lit} lit pixels");
    let nothing = render(&scene(&[]), area(), 2.0);
    assert!(nothing.data.iter().all(|&v| v == 0));
}

#[test]
fn single_point_track_is_a_dot() {
    let d = render(&scene(&[vec![vec![(13.40, 52.52)]]]), area(), 3.0);
    let lit = d.data.iter().filter(|&&v| v > 0).count();
    assert!((4..=25).contains(&lit), "{lit} pixels");
}

#[test]
fn overlapping_tracks_add_up() {
    let line = vec![(13.38, 52.52), (13.42, 52.521)];
    let one = render(&scene(&[vec![line.clone()]]), area(), 2.0);
    let five = render(&scene(&vec![vec![line]; 5]), area(), 2.0);
    assert_eq!(
        one.data.iter().map(|&v| v as u64 * 5).sum::<u64>(),
        five.data.iter().map(|&v| v as u64).sum::<u64>()
    );
    assert!(five.data.iter().copied().max().unwrap() >= 5 * 1000);
}

#[test]
fn batches_and_strips_equal_single_renders() {
    let s = scene(&[vec![winding()]]);
    let v = area();
    let jobs = [
        RenderJob {
            view: v,
            line_width: 2.0,
        },
        RenderJob {
            view: v.sub_view(100, 50, 200, 200),
            line_width: 2.0,
        },
    ];
    let batch = CpuRenderer::new().render_density(&s, &jobs).unwrap();
    assert_eq!(batch[0], render(&s, v, 2.0));
    assert_eq!(batch[1], batch[0].crop(100, 50, 200, 200));
}

#[test]
fn out_and_back_keeps_its_far_end() {
    // Out 4 km east and back on the same road, densely sampled: simplifying
    // straight runs must not cut off the turnaround.
    let out: Vec<(f64, f64)> = (0..=400)
        .map(|i| (13.375 + i as f64 * 0.0001, 52.52))
        .collect();
    let mut track = out.clone();
    track.extend(
        out.iter()
            .rev()
            .skip(1)
            .map(|&(lon, lat)| (lon, lat + 0.000001)),
    );
    let d = render(&scene(&[vec![track]]), area(), 2.0);
    let (ux, uy) = lonlat_to_unit(13.41, 52.52);
    let r = area().rect();
    let col = ((ux - r.x0) / r.width() * 600.0) as u32;
    let row = ((uy - r.y0) / r.height() * 500.0) as u32;
    let column: f32 = (row - 3..row + 4).map(|y| d.get(col, y)).sum();
    assert!(
        (column - 4.0).abs() < 0.1,
        "two passes of a 2 px line near the far end: {column}"
    );
}
