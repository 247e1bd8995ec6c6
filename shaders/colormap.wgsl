// Colormap pass: fixed-point density to RGBA8 through the 256-entry
// gradient table, indexed by sqrt(density / last stop) exactly as
// Colormap::index in src/render/colormap.rs.

struct Params {
    count: u32,
    max_count: f32,
    row_pitch: u32,
    _pad: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> density: array<u32>;
@group(0) @binding(2) var<storage, read> lut: array<u32, 256>;
@group(0) @binding(3) var<storage, read_write> rgba: array<u32>;

const DENSITY_ONE: f32 = 1024.0;

@compute @workgroup_size(64)
fn colorize(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.y * params.row_pitch + gid.x;
    if (i >= params.count) {
        return;
    }
    let d = f32(density[i]) / DENSITY_ONE;
    let t = sqrt(d / params.max_count);
    let index = u32(min(t * 255.0 + 0.5, 255.0));
    rgba[i] = lut[index];
}
