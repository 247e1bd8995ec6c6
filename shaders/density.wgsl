// Density pass: one invocation per track segment adds the segment's
// anti-aliased coverage to the pixels of its quad, in fixed point, with
// atomics (order-independent, so identical to the CPU sums).
//
// Mirrors src/render/coverage.rs; keep the two in sync. The structs mirror
// src/render/gpu/layout.rs.

struct Params {
    total_segs: u32,
    work_count: u32,
    // Invocations per dispatch row (workgroups in x times 64).
    row_pitch: u32,
    _pad: u32,
}

// One view drawn into a region of the density buffer.
struct Job {
    scale: vec2<f32>,   // pixels per world unit, per axis
    size: vec2<u32>,    // width, height
    offset: u32,        // first pixel of the region
    half_width: f32,
    _pad: vec2<u32>,
}

// One run of a resident track drawn into one job.
struct Work {
    first_seg: u32,     // invocation index of the item's first segment
    run: u32,
    job: u32,
    _pad: u32,
    origin: vec2<f32>,  // the run's origin in the job's pixels
    _pad2: vec2<f32>,
}

// Up to 64 segments of one simplified polyline; `points` holds its points
// relative to its origin, plus a context point on each side where the
// polyline goes on (for the joints).
struct Run {
    point_start: u32,
    seg_count: u32,
    flags: u32,         // 1: a point before, 2: a point after
    _pad: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> jobs: array<Job>;
@group(0) @binding(2) var<storage, read> work: array<Work>;
@group(0) @binding(3) var<storage, read> runs: array<Run>;
@group(0) @binding(4) var<storage, read> points: array<vec2<f32>>;
@group(0) @binding(5) var<storage, read_write> density: array<atomic<u32>>;

const DENSITY_ONE: f32 = 1024.0;
const MITER_LIMIT: f32 = 4.0;
const REVERSAL_COS: f32 = -0.866;

struct Segment {
    a: vec2<f32>,
    b: vec2<f32>,
    u: vec2<f32>,
    len: f32,
    na: vec2<f32>,      // zero: round cap
    nb: vec2<f32>,
    ext_a: f32,
    ext_b: f32,
}

fn unit_dir(p: vec2<f32>, q: vec2<f32>) -> vec2<f32> {
    let d = q - p;
    let l = length(d);
    if (l > 0.0) {
        return d / l;
    }
    return vec2<f32>(1.0, 0.0);
}

// Bisector normal (xy) and reach past the vertex (z); see coverage.rs joint().
fn joint(u0: vec2<f32>, u1: vec2<f32>, reach: f32) -> vec3<f32> {
    let c = dot(u0, u1);
    if (c < REVERSAL_COS) {
        return vec3<f32>(0.0, 0.0, reach + 0.5);
    }
    let n = normalize(u0 + u1);
    let s = abs(u0.x * u1.y - u0.y * u1.x);
    let tan_half = s / (1.0 + c);
    let ext = min(reach * tan_half + 0.5, MITER_LIMIT * reach);
    return vec3<f32>(n, ext);
}

fn coverage(s: Segment, qa: vec2<f32>, qb: vec2<f32>, reach: f32) -> f32 {
    let along = dot(qa, s.u);
    if (along < -s.ext_a || along > s.len + s.ext_b) {
        return 0.0;
    }
    let joint_a = any(s.na != vec2<f32>(0.0));
    let joint_b = any(s.nb != vec2<f32>(0.0));
    if (joint_a && dot(qa, s.na) < 0.0) {
        return 0.0;
    }
    if (joint_b && dot(qb, s.nb) >= 0.0) {
        return 0.0;
    }
    var dist: f32;
    if (!joint_a && along < 0.0) {
        dist = length(qa);
    } else if (!joint_b && along > s.len) {
        dist = length(qb);
    } else {
        dist = abs(qa.x * s.u.y - qa.y * s.u.x);
    }
    return clamp(reach - dist, 0.0, 1.0);
}

// Solutions dx of |dx * k + c| <= h, as (lo, hi); lo > hi when none.
fn slab(k: f32, c: f32, h: f32) -> vec2<f32> {
    if (abs(k) < 1e-12) {
        if (abs(c) <= h) {
            return vec2<f32>(-3.0e38, 3.0e38);
        }
        return vec2<f32>(1.0, -1.0);
    }
    let a = (-h - c) / k;
    let b = (h - c) / k;
    return vec2<f32>(min(a, b), max(a, b));
}

fn joint_a(s: Segment) -> bool {
    return any(s.na != vec2<f32>(0.0));
}

fn joint_b(s: Segment) -> bool {
    return any(s.nb != vec2<f32>(0.0));
}

// The part of the x range `span` (lo, hi) on row `y` where
// (p - at)·n >= -0.01; an empty range has lo > hi.
fn cut(span: vec2<f32>, at: vec2<f32>, n: vec2<f32>, y: f32) -> vec2<f32> {
    let c = (y - at.y) * n.y + 0.01;
    if (abs(n.x) < 1e-12) {
        if (c < 0.0) {
            return vec2<f32>(1.0, -1.0);
        }
        return span;
    }
    let x = at.x - c / n.x;
    if (n.x > 0.0) {
        return vec2<f32>(max(span.x, x), span.y);
    }
    return vec2<f32>(span.x, min(span.y, x));
}

fn find_work(s: u32) -> u32 {
    var lo = 0u;
    var hi = params.work_count - 1u;
    while (lo < hi) {
        let mid = (lo + hi + 1u) / 2u;
        if (work[mid].first_seg <= s) {
            lo = mid;
        } else {
            hi = mid - 1u;
        }
    }
    return lo;
}

@compute @workgroup_size(64)
fn accumulate(@builtin(global_invocation_id) gid: vec3<u32>) {
    let s_index = gid.y * params.row_pitch + gid.x;
    if (s_index >= params.total_segs) {
        return;
    }
    let w = work[find_work(s_index)];
    let run = runs[w.run];
    let job = jobs[w.job];
    let k = s_index - w.first_seg;
    let i = run.point_start + k;
    let reach = job.half_width + 0.5;
    let cap = reach + 0.5;

    var s: Segment;
    s.a = w.origin + points[i] * job.scale;
    s.b = w.origin + points[i + 1u] * job.scale;
    s.len = length(s.b - s.a);
    s.u = unit_dir(s.a, s.b);
    s.na = vec2<f32>(0.0);
    s.nb = vec2<f32>(0.0);
    s.ext_a = cap;
    s.ext_b = cap;
    if (k > 0u || (run.flags & 1u) != 0u) {
        let p = w.origin + points[i - 1u] * job.scale;
        let j = joint(unit_dir(p, s.a), s.u, reach);
        s.na = j.xy;
        s.ext_a = j.z;
    }
    if (k + 1u < run.seg_count || (run.flags & 2u) != 0u) {
        let q = w.origin + points[i + 2u] * job.scale;
        let j = joint(s.u, unit_dir(s.b, q), reach);
        s.nb = j.xy;
        s.ext_b = j.z;
    }

    // The quad outside which the segment covers nothing.
    let center = (s.a + s.b) * 0.5 + s.u * ((s.ext_b - s.ext_a) * 0.5);
    let half_len = (s.len + s.ext_a + s.ext_b) * 0.5 + 0.01;
    let half_wid = reach + 0.01;
    let ex = half_len * abs(s.u.x) + half_wid * abs(s.u.y);
    let ey = half_len * abs(s.u.y) + half_wid * abs(s.u.x);
    let w_px = i32(job.size.x);
    let h_px = i32(job.size.y);
    let y0 = max(i32(floor(center.y - ey - 0.5)), 0);
    let y1 = min(i32(ceil(center.y + ey - 0.5)), h_px - 1);
    for (var y = y0; y <= y1; y++) {
        let yc = f32(y) + 0.5;
        let dy = yc - center.y;
        let s1 = slab(s.u.x, dy * s.u.y, half_len);
        let s2 = slab(-s.u.y, dy * s.u.x, half_wid);
        var span = vec2<f32>(center.x + max(s1.x, s2.x), center.x + min(s1.y, s2.y));
        // Cut the row to the side of each joint plane the segment owns
        // (Footprint::span_at in coverage.rs): the quads of short segments
        // overlap their neighbours by far more than they own.
        if (joint_a(s)) {
            span = cut(span, s.a, s.na, yc);
        }
        if (joint_b(s)) {
            span = cut(span, s.b, -s.nb, yc);
        }
        if (span.x > span.y) {
            continue;
        }
        let x0 = max(i32(floor(span.x - 0.5)), 0);
        let x1 = min(i32(ceil(span.y - 0.5)), w_px - 1);
        let row = job.offset + u32(y) * job.size.x;
        for (var x = x0; x <= x1; x++) {
            let q = vec2<f32>(f32(x) + 0.5, yc);
            let c = coverage(s, q - s.a, q - s.b, reach);
            if (c > 0.0) {
                atomicAdd(&density[row + u32(x)], u32(c * DENSITY_ONE + 0.5));
            }
        }
    }
}
