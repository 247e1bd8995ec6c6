//! The one definition of how a track covers pixels, shared by both
//! renderers (`shaders/density.wgsl` mirrors it; keep them in sync).
//!
//! A track is a polyline of width `w`. Each segment owns the pixels on its
//! side of the bisector planes at its two joints, so neighbouring segments
//! split the line between them: no bright dots at vertices, no double
//! counting at bends, and splitting a straight segment into ten collinear
//! ones changes nothing. Track ends get round caps (a one-point track is a
//! dot). A pixel's coverage is `clamp(w/2 + 0.5 - distance, 0, 1)`, a box
//! filter across the line whose integral over a cross-section is exactly `w`.

use super::view::View;
use crate::geo::WorldPoint;

/// Joints sharper than this miter ratio are bevelled.
const MITER_LIMIT: f32 = 4.0;
/// Turns sharper than about 150 degrees are reversals, not joints.
const REVERSAL_COS: f64 = -0.866;

/// One segment ready to rasterize in a view.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Segment {
    /// Ends in the view's pixels (f64 so that views sharing a grid agree
    /// bit for bit on `pixel - a`).
    pub a: [f64; 2],
    pub b: [f64; 2],
    /// Unit direction and length (px).
    pub u: [f32; 2],
    pub len: f32,
    /// Bisector normals at the joints, pointing along the track; zero at a
    /// track end (round cap there).
    pub(crate) na: [f32; 2],
    pub(crate) nb: [f32; 2],
    /// How far (px) the segment's pixels may reach beyond `a` and `b` along `u`.
    pub(crate) ext_a: f32,
    pub(crate) ext_b: f32,
}

/// Half width plus the half pixel of the box filter.
fn reach(half_width: f32) -> f32 {
    half_width + 0.5
}

/// How far (px) from a polyline's points its segments can add coverage: a
/// miter tip lies up to `MITER_LIMIT` reaches past its vertex along the
/// segment and a reach across it. Culling by the points' boxes must grow
/// them by this much, or wide lines lose their sharp corners at the edges
/// of tiles and strips.
pub(crate) fn max_reach(half_width: f32) -> f32 {
    (MITER_LIMIT + 1.0) * reach(half_width) + 1.0
}

/// Coverage of the pixel whose centre is at `qa` from `a` and `qb` from `b`.
#[inline(always)]
pub fn coverage(s: &Segment, qa: [f32; 2], qb: [f32; 2], half_width: f32) -> f32 {
    match s.joints() {
        (true, true) => coverage_at::<true, true>(s, qa, qb, half_width),
        (true, false) => coverage_at::<true, false>(s, qa, qb, half_width),
        (false, true) => coverage_at::<false, true>(s, qa, qb, half_width),
        (false, false) => coverage_at::<false, false>(s, qa, qb, half_width),
    }
}

/// [`coverage`] for a segment whose ends are joints (`JA`, `JB`) or caps.
/// Written without branches so that a row of pixels compiles to vector
/// code: every test is computed and the result masked, which gives the
/// same value as testing one by one.
#[inline(always)]
pub(crate) fn coverage_at<const JA: bool, const JB: bool>(
    s: &Segment,
    qa: [f32; 2],
    qb: [f32; 2],
    half_width: f32,
) -> f32 {
    let along = qa[0] * s.u[0] + qa[1] * s.u[1];
    let mut keep = along >= -s.ext_a && along <= s.len + s.ext_b;
    if JA {
        keep &= qa[0] * s.na[0] + qa[1] * s.na[1] >= 0.0;
    }
    if JB {
        keep &= qb[0] * s.nb[0] + qb[1] * s.nb[1] < 0.0;
    }
    let mut dist = (qa[0] * s.u[1] - qa[1] * s.u[0]).abs();
    // Round caps: beyond a cap end the distance is to the end point.
    // `along` cannot be both below 0 and above `len`.
    if !JB && along > s.len {
        dist = (qb[0] * qb[0] + qb[1] * qb[1]).sqrt();
    }
    if !JA && along < 0.0 {
        dist = (qa[0] * qa[0] + qa[1] * qa[1]).sqrt();
    }
    // max/min rather than clamp: they drop NaN, which lets callers convert
    // without checks.
    #[allow(clippy::manual_clamp)]
    let c = (reach(half_width) - dist).max(0.0).min(1.0);
    if keep { c } else { 0.0 }
}

/// The rectangle (in the view's pixels) outside which a segment covers
/// nothing: centre, unit axes and half extents along `u` and across it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Quad {
    pub center: [f64; 2],
    pub u: [f64; 2],
    pub(crate) half_len: f64,
    pub(crate) half_wid: f64,
    /// `1 / u.x` and `1 / -u.y` (`None` where that is near 0): rows are
    /// many and short, so their divisions are done once per segment.
    inv: [Option<f64>; 2],
}

impl Segment {
    /// Whether the ends `a` and `b` are joints (else round caps).
    pub fn joints(&self) -> (bool, bool) {
        (self.na != [0.0, 0.0], self.nb != [0.0, 0.0])
    }

    pub(crate) fn quad(&self, half_width: f32) -> Quad {
        let u = [self.u[0] as f64, self.u[1] as f64];
        let shift = (self.ext_b - self.ext_a) as f64 / 2.0;
        Quad {
            center: [
                (self.a[0] + self.b[0]) / 2.0 + u[0] * shift,
                (self.a[1] + self.b[1]) / 2.0 + u[1] * shift,
            ],
            u,
            half_len: (self.len + self.ext_a + self.ext_b) as f64 / 2.0 + 0.01,
            half_wid: reach(half_width) as f64 + 0.01,
            inv: [inverse(u[0]), inverse(-u[1])],
        }
    }
}

impl Quad {
    /// Bounding box: x0, y0, x1, y1.
    pub fn bbox(&self) -> [f64; 4] {
        let ex = self.half_len * self.u[0].abs() + self.half_wid * self.u[1].abs();
        let ey = self.half_len * self.u[1].abs() + self.half_wid * self.u[0].abs();
        [
            self.center[0] - ex,
            self.center[1] - ey,
            self.center[0] + ex,
            self.center[1] + ey,
        ]
    }

    /// The x range of the quad along the horizontal line `y`, if any.
    #[inline]
    pub(crate) fn span_at(&self, y: f64) -> Option<(f64, f64)> {
        let dy = y - self.center[1];
        let (ux, uy) = (self.u[0], self.u[1]);
        // |(p - c)·u| <= half_len and |(p - c)·v| <= half_wid with v = (-uy, ux).
        let (lo1, hi1) = slab(self.inv[0], dy * uy, self.half_len)?;
        let (lo2, hi2) = slab(self.inv[1], dy * ux, self.half_wid)?;
        let lo = lo1.max(lo2);
        let hi = hi1.min(hi2);
        (lo <= hi).then_some((self.center[0] + lo, self.center[0] + hi))
    }
}

/// Where a segment can add coverage, row by row: its [`Quad`] cut by the
/// bisector planes at its joints. With short segments and wide lines the
/// quads of neighbours overlap by far more than they own, and the planes
/// reject those pixels anyway; scanning only the footprint skips them.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Footprint {
    pub(crate) quad: Quad,
    /// The kept side of the joint at `a`, and of the one at `b`.
    joints: [Option<HalfPlane>; 2],
}

/// Points `p` with `(p - at)·n >= -MARGIN`.
#[derive(Debug, Clone, Copy)]
struct HalfPlane {
    at: [f64; 2],
    n: [f64; 2],
    inv_nx: Option<f64>,
}

/// Slack (px) for the footprint's bounds: the coverage test runs in f32
/// and must never find a pixel the footprint left out.
const MARGIN: f64 = 0.01;

impl Segment {
    pub(crate) fn footprint(&self, half_width: f32) -> Footprint {
        let plane = |at: [f64; 2], n: [f32; 2], flip: f64| {
            let n = [n[0] as f64 * flip, n[1] as f64 * flip];
            HalfPlane {
                at,
                n,
                inv_nx: inverse(n[0]),
            }
        };
        let (ja, jb) = self.joints();
        Footprint {
            quad: self.quad(half_width),
            // Kept: qa·na >= 0 at `a`, qb·nb < 0 (so qb·-nb > 0) at `b`.
            joints: [
                ja.then(|| plane(self.a, self.na, 1.0)),
                jb.then(|| plane(self.b, self.nb, -1.0)),
            ],
        }
    }
}

impl Footprint {
    /// The x range of the footprint along the horizontal line `y`, if any.
    #[inline(always)]
    pub(crate) fn span_at(&self, y: f64) -> Option<(f64, f64)> {
        let (mut lo, mut hi) = self.quad.span_at(y)?;
        for p in self.joints.iter().flatten() {
            // (x - at.x) * n.x + c >= -MARGIN.
            let c = (y - p.at[1]) * p.n[1];
            match p.inv_nx {
                None if c < -MARGIN => return None,
                None => {}
                Some(inv) => {
                    let x = p.at[0] - (c + MARGIN) * inv;
                    if p.n[0] > 0.0 {
                        lo = lo.max(x);
                    } else {
                        hi = hi.min(x);
                    }
                }
            }
        }
        (lo <= hi).then_some((lo, hi))
    }
}

/// `1 / k`, or `None` for a `k` so small that `dx * k` is constant.
fn inverse(k: f64) -> Option<f64> {
    (k.abs() >= 1e-12).then(|| 1.0 / k)
}

/// Solutions `dx` of `|dx * k + c| <= h`, given `inv` = [`inverse`]`(k)`.
#[inline(always)]
fn slab(inv: Option<f64>, c: f64, h: f64) -> Option<(f64, f64)> {
    let Some(inv) = inv else {
        return (c.abs() <= h).then_some((f64::NEG_INFINITY, f64::INFINITY));
    };
    let (a, b) = ((-h - c) * inv, (h - c) * inv);
    Some(if a < b { (a, b) } else { (b, a) })
}

/// Turns a run of a simplified polyline (see [`super::lod`]) into segments
/// in `view`, calling `emit` for each one that can touch the view. With
/// `lead` (`tail`), the first (last) point is context: it shapes the joint
/// but its segment belongs to the neighbouring run. `scratch` is reused
/// between calls to avoid allocating per run.
pub(crate) fn for_each_segment(
    view: &View,
    points: &[WorldPoint],
    (lead, tail): (bool, bool),
    half_width: f32,
    scratch: &mut Vec<[f64; 2]>,
    mut emit: impl FnMut(&Segment),
) {
    scratch.clear();
    scratch.extend(points.iter().map(|&p| view.absolute(p)));
    let pts = &scratch[..];
    let limits = [
        -1.0,
        -1.0,
        view.width as f64 + 1.0,
        view.height as f64 + 1.0,
    ];
    let mut emit_visible = |s: &Segment| {
        let b = s.quad(half_width).bbox();
        if b[2] >= limits[0] && b[0] <= limits[2] && b[3] >= limits[1] && b[1] <= limits[3] {
            emit(s);
        }
    };
    let cap = reach(half_width) + 0.5;
    if pts.len() == 1 {
        let a = view.local(pts[0]);
        let (na, nb) = ([0.0; 2], [0.0; 2]);
        return emit_visible(&Segment {
            a,
            b: a,
            u: [1.0, 0.0],
            len: 0.0,
            na,
            nb,
            ext_a: cap,
            ext_b: cap,
        });
    }
    let drawn = lead as usize..pts.len() - 1 - tail as usize;
    // Joint at the start of the current edge: (normal, extension).
    let mut joint_a: Option<([f32; 2], f32)> = None;
    let mut u_cur = unit(pts[0], pts[1]);
    for i in 0..pts.len() - 1 {
        let joint_b = (i + 2 < pts.len()).then(|| {
            let u_next = unit(pts[i + 1], pts[i + 2]);
            (joint(u_cur.0, u_next.0, half_width), u_next)
        });
        if drawn.contains(&i) {
            let (na, ext_a) = joint_a.unwrap_or(([0.0; 2], cap));
            let (nb, ext_b) = joint_b.map_or(([0.0; 2], cap), |(j, _)| j);
            emit_visible(&Segment {
                a: view.local(pts[i]),
                b: view.local(pts[i + 1]),
                u: [u_cur.0[0] as f32, u_cur.0[1] as f32],
                len: u_cur.1 as f32,
                na,
                nb,
                ext_a,
                ext_b,
            });
        }
        joint_a = joint_b.map(|(j, _)| j);
        if let Some((_, u_next)) = joint_b {
            u_cur = u_next;
        }
    }
}

fn unit(p: [f64; 2], q: [f64; 2]) -> ([f64; 2], f64) {
    let d = [q[0] - p[0], q[1] - p[1]];
    let len = (d[0] * d[0] + d[1] * d[1]).sqrt();
    ([d[0] / len, d[1] / len], len)
}

/// The bisector normal between edges with directions `u0` and `u1`, and how
/// far the pixels of either edge reach past the shared vertex. A near
/// reversal (an out-and-back's turnaround) is no joint: both edges get round
/// caps there, because the way back really passes the same pixels again.
fn joint(u0: [f64; 2], u1: [f64; 2], half_width: f32) -> ([f32; 2], f32) {
    let cos = u0[0] * u1[0] + u0[1] * u1[1];
    if cos < REVERSAL_COS {
        return ([0.0; 2], reach(half_width) + 0.5);
    }
    let n = [u0[0] + u1[0], u0[1] + u1[1]];
    let norm = (n[0] * n[0] + n[1] * n[1]).sqrt();
    let sin = (u0[0] * u1[1] - u0[1] * u1[0]).abs();
    let tan_half = sin / (1.0 + cos);
    let limit = (MITER_LIMIT * reach(half_width)) as f64;
    let ext = (reach(half_width) as f64 * tan_half + 0.5).min(limit);
    ([(n[0] / norm) as f32, (n[1] / norm) as f32], ext as f32)
}
