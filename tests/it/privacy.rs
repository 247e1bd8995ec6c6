//! Privacy masks: no lit pixel inside a masked circle, at several latitudes
//! and zooms, on both renderers; trims at import.

use crate::support::scene;
use hotpot::geo::{haversine_m, lonlat_to_unit, unit_to_lonlat};
use hotpot::render::cpu::CpuRenderer;
use hotpot::render::gpu::{GpuContext, GpuRenderer};
use hotpot::render::mask::Mask;
use hotpot::render::{Density, RenderJob, Renderer, View};
use hotpot::scene::Scene;
use std::sync::Arc;

/// Tracks through and around a home at (lat, lon): 24 spokes through the
/// centre, and chords passing at several distances.
fn around(lat: f64, lon: f64) -> Scene {
    let d = 0.02; // degrees of latitude, about 2 km
    let dx = d / lat.to_radians().cos();
    let mut tracks = Vec::new();
    for k in 0..24 {
        let a = k as f64 * std::f64::consts::PI / 12.0 + 0.05;
        let pts: Vec<(f64, f64)> = (0..=100)
            .map(|i| i as f64 / 50.0 - 1.0)
            .map(|t| (lon + t * dx * a.cos(), lat + t * d * a.sin()))
            .collect();
        tracks.push(vec![pts]);
    }
    for off in [0.002, 0.004, 0.0046, 0.005, 0.006] {
        let pts: Vec<(f64, f64)> = (0..=100)
            .map(|i| (lon - dx + i as f64 * dx / 50.0, lat + off))
            .collect();
        tracks.push(vec![pts]);
    }
    let home = Mask {
        name: "home".into(),
        lat,
        lon,
        radius_m: 500.0,
    };
    Scene {
        masks: vec![home],
        ..scene(&tracks)
    }
}

/// Pixels whose centre lies inside the circle but are lit, and pixels lit
/// well outside it (there must be some: the tracks go on out there).
fn check(d: &Density, view: &View, lat: f64, lon: f64, r: f64) -> (usize, usize) {
    let rect = view.rect();
    let (mut inside_lit, mut outside_lit) = (0, 0);
    for y in 0..d.height {
        for x in 0..d.width {
            let v = d.data[(y * d.width + x) as usize];
            if v == 0 {
                continue;
            }
            let ux = rect.x0 + (x as f64 + 0.5) / d.width as f64 * rect.width();
            let uy = rect.y0 + (y as f64 + 0.5) / d.height as f64 * rect.height();
            let (plon, plat) = unit_to_lonlat(ux, uy);
            let dist = haversine_m(lat, lon, plat, plon);
            if dist < r {
                inside_lit += 1;
            } else if dist > r * 1.5 {
                outside_lit += 1;
            }
        }
    }
    (inside_lit, outside_lit)
}

fn renderers() -> Vec<(String, Box<dyn Renderer>)> {
    let mut out: Vec<(String, Box<dyn Renderer>)> =
        vec![("cpu".into(), Box::new(CpuRenderer::new()))];
    // Without a Vulkan driver at build time the GPU half is left out, and
    // `gpu_mask_checks_need_a_driver` shows as ignored; with one, a missing
    // adapter fails.
    if cfg!(not(hotpot_no_gpu)) {
        let ctx = GpuContext::new().expect("mask checks on the GPU need an adapter");
        out.push(("gpu".into(), Box::new(GpuRenderer::new(Arc::new(ctx)))));
    }
    out
}

/// Marks, in the test list, that the GPU half of the mask tests did not run.
#[test]
#[cfg_attr(
    hotpot_no_gpu,
    ignore = "no Vulkan driver at build time: mask tests ran on the CPU only"
)]
fn gpu_mask_checks_need_a_driver() {
    assert_eq!(renderers().len(), 2);
}

#[test]
fn no_lit_pixel_inside_a_mask() {
    for (name, mut r) in renderers() {
        for (lat, lon) in [(0.0, 10.0), (52.45, 13.30), (70.0, 25.0)] {
            let s = around(lat, lon);
            let (ux, uy) = lonlat_to_unit(lon, lat);
            for z in [11u8, 13, 14, 16, 18] {
                for width in [1.0, 3.0, 8.0] {
                    // A 768 px window centred on the home.
                    let scale = 256.0 * (1u64 << z) as f64;
                    let rect = hotpot::geo::UnitRect {
                        x0: ux - 384.0 / scale,
                        y0: uy - 384.0 / scale,
                        x1: ux + 384.0 / scale,
                        y1: uy + 384.0 / scale,
                    };
                    let view = View::for_rect(rect, 768, 768);
                    let d = r
                        .render_density(
                            &s,
                            &[RenderJob {
                                view,
                                line_width: width,
                            }],
                        )
                        .unwrap()
                        .remove(0);
                    let (inside, outside) = check(&d, &view, lat, lon, 500.0);
                    assert_eq!(
                        inside, 0,
                        "{name}: {inside} lit pixels inside the mask at {lat}°, z{z}, width {width}"
                    );
                    // Up to z14 the window reaches well past the circle.
                    if z <= 14 {
                        assert!(
                            outside > 100,
                            "{name}: tracks outside the mask are drawn ({outside}) at {lat}°, z{z}"
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn masks_come_from_the_store_and_apply_to_every_scene() {
    let dir = crate::support::TempDir::new("mask-store");
    let mut store = hotpot::store::Store::open(&dir.path().join("h.sqlite3")).unwrap();
    let home = Mask {
        name: "home".into(),
        lat: 52.5,
        lon: 13.4,
        radius_m: 300.0,
    };
    assert!(!store.put_mask(&home).unwrap());
    assert!(
        store
            .put_mask(&Mask {
                radius_m: 400.0,
                ..home.clone()
            })
            .unwrap(),
        "same name replaces"
    );
    assert_eq!(store.masks().unwrap()[0].radius_m, 400.0);
    let s = Scene::load(&store, None, None).unwrap();
    assert_eq!(s.masks.len(), 1);
    assert!(store.remove_mask("home").unwrap());
    assert!(!store.remove_mask("home").unwrap());
}

#[test]
fn served_explorer_squares_hide_those_a_mask_touches() {
    use crate::serve::{get, server};
    use hotpot::render::encode::read_png_rgba;
    let s = server("explorer-mask", |_| {});
    let (lat, lon) = (52.45, 13.30);
    let (ux, uy) = hotpot::geo::lonlat_to_unit(lon, lat);
    let home = ((ux * 16384.0) as u32, (uy * 16384.0) as u32);
    let visits = hotpot::store::Store::open_existing(&s.db)
        .unwrap()
        .explorer_visits(14)
        .unwrap();
    assert!(visits.iter().any(|v| v.tile == home), "the demo rides pass");
    let far = visits
        .iter()
        .map(|v| v.tile)
        .find(|t| t.0.abs_diff(home.0) > 3 || t.1.abs_diff(home.1) > 3)
        .unwrap();
    // One explorer square per 256 px tile at zoom 14: filled when shown
    // (grid lines and the max square's frame run along the edges only).
    let url = |(x, y): (u32, u32)| format!("{}/explorer/14/tiles/14/{x}/{y}.png", s.base);
    let filled = |t| {
        let img = read_png_rgba(&get(&url(t), &[]).body).unwrap();
        img.data[(128 * 256 + 128) * 4 + 3] > 0
    };
    assert!(filled(home));
    hotpot::store::Store::open_existing(&s.db)
        .unwrap()
        .put_mask(&Mask {
            name: "home".into(),
            lat,
            lon,
            radius_m: 200.0,
        })
        .unwrap();
    assert!(!filled(home), "masked square shown");
    assert!(filled(far), "squares far away stay");
}
