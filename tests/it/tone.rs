//! Tone mapping (`--scale`) and glow: seams (a tile is the crop of a
//! larger render, strips join), brightness that does not depend on the
//! window, and CPU/GPU parity.

use crate::gpu::{MAX_CHANNEL, MAX_MEAN_CHANNEL, gpu, rgba_error};
use crate::support::TempDir;
use crate::support::{max_diff, rel_diff, scene, winding};
use hotpot::geo::LonLatBounds;
use hotpot::render::colormap::{Colormap, Gradient};
use hotpot::render::cpu::CpuRenderer;
use hotpot::render::encode::read_png;
use hotpot::render::poster::{PosterFiles, PosterSpec, render_poster};
use hotpot::render::tone::{EqHistCache, Scale, Tone};
use hotpot::render::{Density, RenderJob, Renderer, View, glow};
use hotpot::scene::Scene;

/// Winding rides and a straight one crossing them, around Berlin's centre.
fn rides() -> Scene {
    let w = winding();
    let shifted: Vec<_> = w
        .iter()
        .map(|&(lon, lat)| (lon + 0.004, lat - 0.002))
        .collect();
    let straight: Vec<_> = (0..50)
        .map(|i| (13.38 + i as f64 * 0.001, 52.515 + i as f64 * 0.0002))
        .collect();
    scene(&[
        vec![w.clone()],
        vec![w.clone()],
        vec![w[30..150].to_vec()],
        vec![shifted],
        vec![straight],
    ])
}

/// z15 tiles over the rides: a 2x2 block whose top-left is (x, y).
fn block_origin() -> (u32, u32) {
    let (ux, uy) = hotpot::geo::lonlat_to_unit(13.40, 52.52);
    let n = 32768.0;
    ((ux * n) as u32 - 1, (uy * n) as u32 - 1)
}

fn tone(scale: Scale, cache: &EqHistCache, s: &Scene, job: &RenderJob, glow: bool) -> Colormap {
    let t = Tone::new(scale, cache, s, job, glow);
    Colormap::with_tone(Gradient::palette("hot").unwrap(), None, t)
}

#[test]
fn glowing_tiles_are_crops_of_a_glowing_block() {
    let s = rides();
    let (x, y) = block_origin();
    let big = RenderJob::new(View {
        width: 512,
        height: 512,
        ..View::tile(15, x, y, 256)
    });
    let mut cpu = CpuRenderer::new();
    let whole = glow::render_density(&mut cpu, &s, &[big])
        .unwrap()
        .remove(0);
    let plain = cpu.render_density(&s, &[big]).unwrap().remove(0);
    assert!(whole.total() > plain.total() * 1.5, "the halo adds density");
    let tiles: Vec<RenderJob> = (0..4)
        .map(|i| RenderJob::new(View::tile(15, x + i % 2, y + i / 2, 256)))
        .collect();
    let glowing = glow::render_density(&mut cpu, &s, &tiles).unwrap();
    for (i, t) in glowing.iter().enumerate() {
        let crop = whole.crop(256 * (i as u32 % 2), 256 * (i as u32 / 2), 256, 256);
        assert!(*t == crop, "tile {i} differs from its crop");
    }
    // And pixels off the lines but near them glow.
    let near: usize = whole
        .data
        .iter()
        .zip(&plain.data)
        .filter(|&(&g, &p)| p == 0 && g > 0)
        .count();
    assert!(near > 1000, "{near} halo pixels");
}

#[test]
fn eqhist_is_one_histogram_per_zoom_so_tiles_match_the_block() {
    let s = rides();
    let (x, y) = block_origin();
    let cache = EqHistCache::default();
    let big = RenderJob::new(View {
        width: 512,
        height: 512,
        ..View::tile(15, x, y, 256)
    });
    let mut cpu = CpuRenderer::new();
    for glowing in [false, true] {
        let render = |cpu: &mut CpuRenderer, jobs: &[RenderJob]| -> Vec<Density> {
            if glowing {
                glow::render_density(cpu, &s, jobs).unwrap()
            } else {
                cpu.render_density(&s, jobs).unwrap()
            }
        };
        let cm_big = tone(Scale::Eqhist, &cache, &s, &big, glowing);
        let whole = cm_big.colorize(&render(&mut cpu, &[big])[0]);
        for i in 0..4u32 {
            let job = RenderJob::new(View::tile(15, x + i % 2, y + i / 2, 256));
            let cm = tone(Scale::Eqhist, &cache, &s, &job, glowing);
            assert_eq!(cm, cm_big, "one histogram for every window at z15");
            let img = cm.colorize(&render(&mut cpu, &[job])[0]);
            let (ox, oy) = (256 * (i % 2) as usize, 256 * (i / 2) as usize);
            for row in 0..256 {
                let a = ((oy + row) * 512 + ox) * 4;
                assert_eq!(
                    img.data[row * 1024..(row + 1) * 1024],
                    whole.data[a..a + 1024],
                    "glow {glowing}, tile {i}, row {row}"
                );
            }
        }
    }
    // Equalised, the most common density lands mid-table, not at the
    // bottom as with counts: faint roads get brighter.
    let d = cpu.render_density(&s, &[big]).unwrap().remove(0);
    let eq = tone(Scale::Eqhist, &cache, &s, &big, false);
    let counts = tone(Scale::Counts, &cache, &s, &big, false);
    let log = tone(Scale::Log, &cache, &s, &big, false);
    let mean_index = |cm: &Colormap| {
        let lit: Vec<u32> = d.data.iter().copied().filter(|&v| v > 0).collect();
        lit.iter().map(|&v| cm.index(v) as f64).sum::<f64>() / lit.len() as f64
    };
    let (e, c, l) = (mean_index(&eq), mean_index(&counts), mean_index(&log));
    eprintln!("mean LUT index: counts {c:.1}, log {l:.1}, eqhist {e:.1}");
    assert!(l > c && (100.0..160.0).contains(&e), "{c} {l} {e}");
}

#[test]
fn glow_and_eqhist_strips_join_on_the_cpu() {
    let dir = TempDir::new("tone-strips");
    let s = rides();
    let area = LonLatBounds {
        west: 13.37,
        south: 52.505,
        east: 13.43,
        north: 52.535,
    }
    .to_unit();
    let mut spec = PosterSpec::new(
        area,
        500,
        377,
        Colormap::new(Gradient::palette("hot").unwrap(), None),
    );
    spec.glow = true;
    spec.line_width = Some(2.0);
    spec.colormap = tone(
        Scale::Eqhist,
        &EqHistCache::default(),
        &s,
        &spec.job(),
        true,
    );
    let mut cpu = CpuRenderer::new();
    let mut draw = |spec: &PosterSpec, name: &str| {
        let png = dir.path().join(name);
        let files = PosterFiles {
            png: &png,
            raw: None,
        };
        let t = render_poster(&mut cpu, &s, spec, &files).unwrap();
        (read_png(&std::fs::read(&png).unwrap()).unwrap(), t.strips)
    };
    let (whole, n) = draw(&spec, "whole.png");
    assert_eq!(n, 1);
    spec.strip_rows = Some(9);
    let (strips, n) = draw(&spec, "strips.png");
    assert_eq!(n, 42);
    assert!(whole.data.chunks(4).filter(|p| p[3] > 0).count() > 5000);
    assert!(whole == strips, "strips differ from the one-piece poster");
}

#[test]
#[cfg_attr(
    hotpot_no_gpu,
    ignore = "no Vulkan driver at build time: apt-get install mesa-vulkan-drivers"
)]
fn glow_and_eqhist_on_the_gpu_match_the_cpu() {
    let mut g = gpu();
    let s = rides();
    let (x, y) = block_origin();
    let jobs: Vec<RenderJob> = (0..4)
        .map(|i| RenderJob::new(View::tile(15, x + i % 2, y + i / 2, 256)))
        .collect();
    let mut cpu = CpuRenderer::new();
    let c = glow::render_density(&mut cpu, &s, &jobs).unwrap();
    let d = glow::render_density(&mut g, &s, &jobs).unwrap();
    let cm = tone(Scale::Eqhist, &EqHistCache::default(), &s, &jobs[0], true);
    for (i, (c, d)) in c.iter().zip(&d).enumerate() {
        let (rel, max) = (rel_diff(c, d), max_diff(c, d));
        let (ci, di) = (cm.colorize(c), cm.colorize(d));
        let (mean, max_ch) = rgba_error(&ci, &di);
        // A density right at a quantile or at the floor may step one LUT
        // entry for the 1/1024 visit the renderers may differ by: a step
        // is small, except from clear to the first colour at the floor.
        let steps = ci
            .data
            .chunks(4)
            .zip(di.data.chunks(4))
            .filter(|(a, b)| a.iter().zip(*b).any(|(x, y)| x.abs_diff(*y) > MAX_CHANNEL))
            .count();
        eprintln!(
            "glow tile {i}: density rel {rel:.2e}, max {max:.3}; eqhist rgba mean {mean:.4}, max {max_ch}, {steps} pixels over {MAX_CHANNEL}"
        );
        assert!(rel < 0.002, "tile {i}: density differs by {rel}");
        assert!(
            mean < MAX_MEAN_CHANNEL && steps <= 2,
            "tile {i}: {mean} {steps}"
        );
    }
    // The GPU's own colouring falls back to the CPU for eqhist, and gives
    // the same picture as colouring its density.
    let img = g.render_rgba(&s, &jobs[..1], &cm).unwrap().remove(0);
    let plain = g.render_density(&s, &jobs[..1]).unwrap().remove(0);
    assert!(img == cm.colorize(&plain));
}

#[test]
fn server_tiles_take_scale_and_glow() {
    use crate::serve::{centre_tile, get, server};
    use hotpot::render::encode::{indexed_png, read_png_rgba};
    use hotpot::store::Store;
    let s = server("serve-tone", |_| {});
    let (x, y) = centre_tile(13);
    let url = format!("{}/tiles/13/{x}/{y}.png?scale=eqhist&glow=1", s.base);
    let reply = get(&url, &[]);
    assert_eq!(reply.status, 200);
    let got = read_png_rgba(&reply.body).unwrap();
    // The reference: the same data rendered here, glowing, equalised
    // against the z13 histogram.
    let scene = Scene::load(&Store::open_existing(&s.db).unwrap(), None, None).unwrap();
    let job = RenderJob::new(View::tile(13, x, y, 256));
    let d = glow::render_density(&mut CpuRenderer::new(), &scene, &[job])
        .unwrap()
        .remove(0);
    let cm = tone(Scale::Eqhist, &EqHistCache::default(), &scene, &job, true);
    let want = read_png_rgba(&indexed_png(&d, &cm).unwrap()).unwrap();
    assert!(got == want, "served tile differs from the reference");
    let plain = get(&format!("{}/tiles/13/{x}/{y}.png", s.base), &[]);
    assert_ne!(plain.body, reply.body);
    for bad in ["scale=linear", "glow=maybe"] {
        let r = get(&format!("{}/tiles/13/{x}/{y}.png?{bad}", s.base), &[]);
        assert_eq!(r.status, 400, "{bad}");
        let msg = String::from_utf8_lossy(&r.body).into_owned();
        assert!(msg.starts_with(bad.split('=').next().unwrap()), "{msg}");
    }
}
