//! The GPU renderer against the CPU reference, and the rendering rules on
//! the GPU. Runs on whatever adapter exists (lavapipe in CI); without one
//! the tests skip loudly, unless HOTPOT_REQUIRE_GPU=1 makes that a failure.

use crate::support::{corpus_dir, densify, max_diff, rel_diff, scene, winding};
use hotpot::geo::{LonLatBounds, WorldPoint, lonlat_to_unit};
use hotpot::render::colormap::{Colormap, Gradient};
use hotpot::render::cpu::CpuRenderer;
use hotpot::render::gpu::{GpuContext, GpuRenderer};
use hotpot::render::{Density, RenderJob, Renderer, RgbaImage, View};
use hotpot::scene::Scene;
use hotpot::store::track::Track;
use std::sync::{Arc, OnceLock};

/// One device for the whole test binary. Tests that use it are ignored
/// when build.rs found no Vulkan driver (`hotpot_no_gpu`); otherwise (and
/// always in CI) a missing adapter fails them.
pub fn gpu() -> GpuRenderer {
    static CTX: OnceLock<Arc<GpuContext>> = OnceLock::new();
    let ctx = CTX.get_or_init(|| match GpuContext::new() {
        Ok(ctx) => {
            eprintln!("GPU tests run on {}", ctx.info);
            Arc::new(ctx)
        }
        Err(e) => panic!("GPU tests need an adapter: {e}"),
    });
    GpuRenderer::new(ctx.clone())
}

/// Per-channel error between two pictures: mean absolute and maximum.
pub fn rgba_error(a: &RgbaImage, b: &RgbaImage) -> (f64, u8) {
    assert_eq!((a.width, a.height), (b.width, b.height));
    let diffs = a.data.iter().zip(&b.data).map(|(&x, &y)| x.abs_diff(y));
    let (sum, max) = diffs.fold((0u64, 0u8), |(s, m), d| (s + d as u64, m.max(d)));
    (sum as f64 / a.data.len() as f64, max)
}

/// Density error relative to the total, and the largest pixel difference
/// in visits.
fn density_error(a: &Density, b: &Density) -> (f64, f32) {
    (rel_diff(a, b), max_diff(a, b))
}

/// Tolerances for GPU vs CPU: f32 on the device vs f64 positions on the
/// host move a line by a few millionths of a pixel, which flips a pixel
/// centre from one side of a joint to the other now and then.
const MAX_REL_DENSITY: f64 = 0.002;
pub const MAX_MEAN_CHANNEL: f64 = 0.05;
pub const MAX_CHANNEL: u8 = 48;

fn assert_parity(name: &str, s: &Scene, jobs: &[RenderJob]) {
    let mut g = gpu();
    let cm = Colormap::new(Gradient::palette("hot").unwrap(), None);
    let cpu_d = CpuRenderer::new().render_density(s, jobs).unwrap();
    let gpu_d = g.render_density(s, jobs).unwrap();
    let cpu_c = CpuRenderer::new().render_rgba(s, jobs, &cm).unwrap();
    let gpu_c = g.render_rgba(s, jobs, &cm).unwrap();
    let total: f64 = cpu_d.iter().map(Density::total).sum();
    assert!(
        total > 0.5,
        "{name}: the scene must draw something ({total})"
    );
    for (i, job) in jobs.iter().enumerate() {
        let (rel, max_px) = density_error(&cpu_d[i], &gpu_d[i]);
        let (mean, max_ch) = rgba_error(&cpu_c[i], &gpu_c[i]);
        eprintln!(
            "{name} job {i} ({}x{}): density rel {rel:.2e}, max pixel {max_px:.3} visits; rgba mean {mean:.4}, max {max_ch}",
            job.view.width, job.view.height
        );
        assert!(rel < MAX_REL_DENSITY, "{name}: density differs by {rel}");
        assert!(
            mean < MAX_MEAN_CHANNEL && max_ch <= MAX_CHANNEL,
            "{name}: colours differ (mean {mean}, max {max_ch})"
        );
    }
}

fn berlin(width: u32, height: u32) -> View {
    let b = LonLatBounds {
        west: 13.37,
        south: 52.505,
        east: 13.43,
        north: 52.535,
    };
    View::for_rect(b.to_unit(), width, height)
}

#[test]
fn shaders_are_valid_wgsl() {
    for (name, src) in [
        ("density.wgsl", include_str!("../../shaders/density.wgsl")),
        ("colormap.wgsl", include_str!("../../shaders/colormap.wgsl")),
    ] {
        let module = naga::front::wgsl::parse_str(src)
            .unwrap_or_else(|e| panic!("{name}: {}", e.emit_to_string(src)));
        naga::valid::Validator::new(
            naga::valid::ValidationFlags::all(),
            naga::valid::Capabilities::all(),
        )
        .validate(&module)
        .unwrap_or_else(|e| panic!("{name}: {e:?}"));
    }
}

#[test]
#[cfg_attr(
    hotpot_no_gpu,
    ignore = "no Vulkan driver at build time: apt-get install mesa-vulkan-drivers"
)]
fn parity_on_demo_data() {
    let cfg = hotpot_demo::DemoConfig {
        rides: 30,
        runs: 15,
        ..Default::default()
    };
    let tracks: Vec<(i64, Track)> = hotpot_demo::generate(&cfg)
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let row = hotpot::ingest::activity::prepare(a, "demo");
            (i as i64, Track::decode(&row.track_blob).unwrap())
        })
        .collect();
    let s = Scene::from_tracks(tracks);
    let all = s.bounds().unwrap().padded(0.02, 1e-6);
    let poster = RenderJob {
        view: View::for_rect(all, 1024, 1024),
        line_width: 1.5,
    };
    let (ux, uy) = lonlat_to_unit(13.30, 52.45);
    let tiles: Vec<RenderJob> = (0..4)
        .map(|i| {
            let (x, y) = ((ux * 32768.0) as u32 + i % 2, (uy * 32768.0) as u32 + i / 2);
            RenderJob::new(View::tile(15, x, y, 256))
        })
        .collect();
    assert_parity("demo poster", &s, &[poster]);
    assert_parity("demo z15 tiles", &s, &tiles);
}

#[test]
#[cfg_attr(
    hotpot_no_gpu,
    ignore = "no Vulkan driver at build time: apt-get install mesa-vulkan-drivers"
)]
#[cfg_attr(
    hotpot_no_corpus,
    ignore = "the real-track corpus is not at ../shared/data/tracks"
)]
fn parity_on_real_tracks() {
    let dir = corpus_dir();
    let mut tracks = Vec::new();
    for name in [
        "gpx/sports-lib__strava.gpx",
        "tcx/sports-lib__polar.tcx",
        "fit/hotpot__sample.fit",
        "gpx/gpxpy__cerknicko-jezero.gpx",
    ] {
        let parsed =
            hotpot::ingest::parse_bytes(name, &std::fs::read(dir.join(name)).unwrap()).unwrap();
        for a in &parsed.activities {
            let row = hotpot::ingest::activity::prepare(a, name);
            tracks.push((tracks.len() as i64, Track::decode(&row.track_blob).unwrap()));
        }
    }
    let s = Scene::from_tracks(tracks);
    for t in &s.tracks {
        let b = t.bbox;
        let r = hotpot::geo::UnitRect {
            x0: b[0] as f64 / hotpot::geo::WORLD_SIZE,
            y0: b[1] as f64 / hotpot::geo::WORLD_SIZE,
            x1: b[2] as f64 / hotpot::geo::WORLD_SIZE,
            y1: b[3] as f64 / hotpot::geo::WORLD_SIZE,
        }
        .padded(0.05, 1e-7);
        assert_parity(
            &format!("real track {}", t.id),
            &s,
            &[RenderJob {
                view: View::for_rect(r, 700, 500),
                line_width: 2.0,
            }],
        );
    }
}

#[test]
#[cfg_attr(
    hotpot_no_gpu,
    ignore = "no Vulkan driver at build time: apt-get install mesa-vulkan-drivers"
)]
fn parity_on_wide_poster_lines() {
    // Big posters draw lines 8-50 px wide: miters, caps and the joints of
    // short segments at that width, on a strip boundary too.
    let s = scene(&[vec![winding()], vec![densify(&winding()[50..90], 4)]]);
    for width in [8.0, 21.0] {
        let view = berlin(600, 500);
        assert_parity(
            &format!("{width} px lines"),
            &s,
            &[
                RenderJob {
                    view,
                    line_width: width,
                },
                RenderJob {
                    view: view.sub_view(0, 217, 600, 100),
                    line_width: width,
                },
            ],
        );
    }
}

#[test]
#[cfg_attr(
    hotpot_no_gpu,
    ignore = "no Vulkan driver at build time: apt-get install mesa-vulkan-drivers"
)]
fn parity_on_edge_cases() {
    // Near the antimeridian (Fiji), a track that crosses tile borders, a
    // single point, and a 50,000-point track.
    let fiji: Vec<(f64, f64)> = (0..500)
        .map(|i| {
            (
                179.95 + i as f64 * 0.0001,
                -16.5 + (i as f64 * 0.05).sin() * 0.002,
            )
        })
        .collect();
    let s = scene(&[vec![fiji]]);
    let (ux, uy) = lonlat_to_unit(179.97, -16.5);
    let z = 14;
    let n = (1u32 << z) as f64;
    let jobs: Vec<RenderJob> = (0..2)
        .map(|i| RenderJob::new(View::tile(z, (ux * n) as u32 + i, (uy * n) as u32, 256)))
        .collect();
    assert_parity("antimeridian tiles", &s, &jobs);

    let s = scene(&[vec![winding()]]);
    let (ux, uy) = lonlat_to_unit(13.40, 52.52);
    let (tx, ty) = ((ux * 16384.0) as u32 - 1, (uy * 16384.0) as u32 - 1);
    let tiles: Vec<RenderJob> = (0..4)
        .map(|i| RenderJob {
            view: View::tile(14, tx + i % 2, ty + i / 2, 256),
            line_width: 2.0,
        })
        .collect();
    assert_parity("tile borders", &s, &tiles);

    let s = scene(&[vec![vec![(13.40, 52.52)]]]);
    assert_parity(
        "single point",
        &s,
        &[RenderJob {
            view: berlin(300, 200),
            line_width: 4.0,
        }],
    );

    let long: Vec<(f64, f64)> = (0..50_000)
        .map(|i| {
            let t = i as f64 / 50_000.0 * 40.0;
            (
                13.40 + 0.02 * t.cos() * t / 40.0,
                52.52 + 0.012 * t.sin() * t / 40.0,
            )
        })
        .collect();
    let s = scene(&[vec![long]]);
    assert_parity(
        "50k points",
        &s,
        &[RenderJob {
            view: berlin(900, 700),
            line_width: 1.5,
        }],
    );
}

#[test]
#[cfg_attr(
    hotpot_no_gpu,
    ignore = "no Vulkan driver at build time: apt-get install mesa-vulkan-drivers"
)]
fn gpu_follows_the_rendering_rules() {
    let mut g = gpu();
    // A gently curving road, densely sampled: totals match and no pixel
    // counts one track twice.
    let coarse: Vec<(f64, f64)> = (0..120)
        .map(|i| {
            (
                13.375 + i as f64 * 0.0004,
                52.52 + 0.004 * (i as f64 * 0.08).sin(),
            )
        })
        .collect();
    let fine = densify(&coarse, 10);
    let a = g
        .render_density(
            &scene(&[vec![coarse]]),
            &[RenderJob {
                view: berlin(600, 500),
                line_width: 2.0,
            }],
        )
        .unwrap();
    let b = g
        .render_density(
            &scene(&[vec![fine]]),
            &[RenderJob {
                view: berlin(600, 500),
                line_width: 2.0,
            }],
        )
        .unwrap();
    assert!(
        (a[0].total() - b[0].total()).abs() / a[0].total() < 0.01,
        "sampling rate changes the total"
    );
    let max = b[0].data.iter().copied().max().unwrap() as f32 / 1024.0;
    assert!(max <= 1.01, "one track counts once: {max}");

    // Seams: halves and tiles match the whole within the GPU tolerance.
    let s = scene(&[vec![winding()]]);
    let whole = g
        .render_density(
            &s,
            &[RenderJob {
                view: berlin(600, 500),
                line_width: 2.5,
            }],
        )
        .unwrap()
        .remove(0);
    let halves = [
        berlin(600, 500).sub_view(0, 0, 301, 500),
        berlin(600, 500).sub_view(301, 0, 299, 500),
    ];
    let parts = g
        .render_density(
            &s,
            &halves.map(|view| RenderJob {
                view,
                line_width: 2.5,
            }),
        )
        .unwrap();
    for (part, x) in parts.iter().zip([0, 301]) {
        let (rel, max_px) = density_error(&whole.crop(x, 0, part.width, 500), part);
        assert!(
            rel < 1e-4 && max_px < 0.01,
            "half at {x}: rel {rel}, max {max_px}"
        );
    }

    // Placement: a line through a known point lands on its pixel.
    let (lat, lon): (f64, f64) = (52.52, 13.405);
    let wp = WorldPoint::from_lonlat(lon, lat);
    // z16: 2^24 pixels across the world, 2^32 world units: 256 units a pixel.
    let (px, py) = (wp.x as f64 / 256.0, wp.y as f64 / 256.0);
    let (tx, ty) = ((px / 256.0) as u32, (py / 256.0) as u32);
    let (col, row) = (
        (px - tx as f64 * 256.0) as u32,
        (py - ty as f64 * 256.0) as u32,
    );
    let s = scene(&[vec![vec![(lon - 0.0003, lat), (lon + 0.0003, lat)]]]);
    let d = g
        .render_density(
            &s,
            &[RenderJob {
                view: View::tile(16, tx, ty, 256),
                line_width: 1.0,
            }],
        )
        .unwrap();
    let brightest = (0..256)
        .max_by_key(|&y| d[0].data[(y * 256 + col) as usize])
        .unwrap();
    assert_eq!(brightest, row);
}

#[test]
#[cfg_attr(
    hotpot_no_gpu,
    ignore = "no Vulkan driver at build time: apt-get install mesa-vulkan-drivers"
)]
fn big_jobs_are_split_to_fit_the_adapter() {
    let mut g = gpu();
    let limit = g.context().max_binding() / 4;
    // Taller than one binding allows: the renderer must cut it into strips.
    let height = (limit / 2048 + 300) as u32;
    let s = scene(&[vec![winding()]]);
    let view = View::for_rect(berlin(600, 500).rect(), 2048, height);
    let job = RenderJob {
        view,
        line_width: 3.0,
    };
    let gpu_d = g.render_density(&s, &[job]).unwrap().remove(0);
    assert_eq!(gpu_d.data.len() as u64, 2048 * height as u64);
    let cpu_d = CpuRenderer::new()
        .render_density(&s, &[job])
        .unwrap()
        .remove(0);
    let (rel, max_px) = density_error(&cpu_d, &gpu_d);
    assert!(
        rel < MAX_REL_DENSITY && max_px < 0.1,
        "rel {rel}, max {max_px}"
    );
}
