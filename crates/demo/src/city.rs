//! The demo city: a street graph in metres on a plane tangent to the Earth
//! at [`ANCHOR`], plus a smooth synthetic terrain.
//!
//! Layout, from the centre out:
//! - a core of blocks 80–200 m wide: a grid, rotated and gently warped so
//!   that streets bend a little, with a few parks where streets are missing;
//! - two main axes and four diagonal avenues that cross the core and carry
//!   on to a ring road just outside it;
//! - from each place where a main road meets the ring, a curvy country road
//!   out to about 50 km, linked to its neighbours by lanes at a few radii
//!   (a spider web), so long rides can make loops.
//!
//! Everything is built in an abstract "grid space" first where crossings are
//! easy to compute (straight lines), then mapped to the world through the
//! rotation and warp, so the warp bends streets without breaking the graph.

use super::rng::Rng;

/// A position in metres east (`[0]`) and north (`[1]`) of the anchor.
pub type Xy = [f64; 2];

/// The real place the city sits on: south-west Berlin (Steglitz).
pub const ANCHOR: (f64, f64) = (52.45, 13.30);

const CITY_STREAM: u64 = u64::MAX;

/// Radius of the block grid (each street's end is jittered around it).
const CORE_RADIUS: f64 = 4_000.0;
/// Block widths (metres between parallel streets).
const BLOCK_M: (f64, f64) = (80.0, 200.0);
const RING_RADIUS: f64 = 5_000.0;
const COUNTRY_RADIUS: f64 = 50_000.0;
/// Radii at which lanes join neighbouring country roads.
const LANE_RADII: [f64; 5] = [9_000.0, 16_000.0, 24_000.0, 33_000.0, 43_000.0];
/// Grid-space angles of the diagonal avenues; with the two axes, their ends
/// meet the ring roughly every 30 degrees.
const AVENUE_ANGLES_DEG: [f64; 4] = [30.0, 60.0, 120.0, 150.0];
const PARKS: usize = 6;
const HOMES: usize = 5;
const TOWN_SPOTS: usize = 24;
/// Longest straight piece of an edge's geometry, so the warp shows as bends.
const MAX_PIECE_M: f64 = 50.0;

/// Kinds of road, from quiet streets to main roads. Routing prefers the
/// higher classes, which is what makes bright corridors on the heatmap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoadClass {
    Street,
    Avenue,
    Ring,
    Country,
    Lane,
}

impl RoadClass {
    /// How strongly routes are drawn to this class: the routing cost of an
    /// edge is its length divided by this.
    pub fn preference(self) -> f64 {
        match self {
            RoadClass::Street => 1.0,
            RoadClass::Avenue => 1.7,
            RoadClass::Ring => 1.4,
            RoadClass::Country => 1.5,
            RoadClass::Lane => 1.2,
        }
    }
}

/// One road between two nodes. `geometry` runs from node `a` to node `b`,
/// both ends included.
#[derive(Debug, Clone)]
pub struct Edge {
    pub a: u32,
    pub b: u32,
    pub class: RoadClass,
    pub geometry: Vec<Xy>,
    pub length: f64,
}

impl Edge {
    /// The node at the other end from `node`.
    pub fn other(&self, node: u32) -> u32 {
        if node == self.a { self.b } else { self.a }
    }
}

/// Conversion between the local plane and WGS84 degrees. Equirectangular
/// with scales taken at the anchor: over 50 km the distortion is well under
/// 1 %, and the city only has to be plausible, not surveyed.
#[derive(Debug, Clone, Copy)]
pub struct LocalFrame {
    lat0: f64,
    lon0: f64,
    m_per_deg_lat: f64,
    m_per_deg_lon: f64,
}

impl LocalFrame {
    pub fn new(lat0: f64, lon0: f64) -> LocalFrame {
        let phi = lat0.to_radians();
        // Series for the WGS84 ellipsoid's degree lengths.
        let m_per_deg_lat = 111_132.92 - 559.82 * (2.0 * phi).cos() + 1.175 * (4.0 * phi).cos();
        let m_per_deg_lon = 111_412.84 * phi.cos() - 93.5 * (3.0 * phi).cos();
        LocalFrame {
            lat0,
            lon0,
            m_per_deg_lat,
            m_per_deg_lon,
        }
    }

    pub fn to_lat_lon(&self, p: Xy) -> (f64, f64) {
        (
            self.lat0 + p[1] / self.m_per_deg_lat,
            self.lon0 + p[0] / self.m_per_deg_lon,
        )
    }

    pub fn to_xy(&self, lat: f64, lon: f64) -> Xy {
        [
            (lon - self.lon0) * self.m_per_deg_lon,
            (lat - self.lat0) * self.m_per_deg_lat,
        ]
    }
}

pub use hotpot_model::geo::haversine_m;

/// Smooth hills: a sum of plane waves from continental to block scale,
/// giving roughly 10–110 m above sea level like the Berlin area.
#[derive(Debug, Clone)]
struct Terrain {
    /// (wave vector x, wave vector y, phase, amplitude in metres)
    waves: Vec<(f64, f64, f64, f64)>,
}

impl Terrain {
    const BASE_M: f64 = 60.0;

    fn random(rng: &mut Rng) -> Terrain {
        let scales = [
            (25_000.0, 22.0),
            (11_000.0, 14.0),
            (4_500.0, 8.0),
            (1_800.0, 3.0),
            (700.0, 1.0),
        ];
        let waves = scales
            .iter()
            .map(|&(wavelength, amp)| {
                let dir = rng.uniform(0.0, std::f64::consts::TAU);
                let k = std::f64::consts::TAU / wavelength;
                (
                    k * dir.cos(),
                    k * dir.sin(),
                    rng.uniform(0.0, std::f64::consts::TAU),
                    amp,
                )
            })
            .collect();
        Terrain { waves }
    }

    fn elevation(&self, p: Xy) -> f64 {
        self.waves
            .iter()
            .map(|&(kx, ky, phase, amp)| amp * (kx * p[0] + ky * p[1] + phase).sin())
            .sum::<f64>()
            + Terrain::BASE_M
    }
}

/// The street network and terrain. Node and edge ids are indices.
#[derive(Debug, Clone)]
pub struct City {
    pub frame: LocalFrame,
    pub nodes: Vec<Xy>,
    pub edges: Vec<Edge>,
    /// Edge ids at each node.
    pub adjacency: Vec<Vec<u32>>,
    /// Where most activities start and end, most used first.
    pub homes: Vec<u32>,
    /// Destinations in town (for runs and short rides).
    pub town_spots: Vec<u32>,
    /// Junctions and road ends in the countryside (for longer rides).
    pub country_spots: Vec<u32>,
    terrain: Terrain,
}

impl City {
    /// Builds the city for `seed`; the same seed always gives the same city.
    pub fn generate(seed: u64) -> City {
        let mut rng = Rng::derive(seed, CITY_STREAM);
        let mut b = Builder::default();
        let gates = build_core(&mut b, &mut rng);
        build_ring(&mut b, &gates, &mut rng);
        let country_spots = build_country(&mut b, &gates, &mut rng);
        let terrain = Terrain::random(&mut rng);
        let adjacency = b.adjacency();
        let town = TownPicker {
            nodes: &b.nodes,
            adjacency: &adjacency,
            core_nodes: b.core_nodes,
        };
        let homes = town.pick(&mut rng, HOMES, (400.0, 3_000.0), 800.0);
        let town_spots = town.pick(&mut rng, TOWN_SPOTS, (0.0, 3_800.0), 300.0);
        City {
            frame: LocalFrame::new(ANCHOR.0, ANCHOR.1),
            nodes: b.nodes,
            edges: b.edges,
            adjacency,
            homes,
            town_spots,
            country_spots,
            terrain,
        }
    }

    /// Ground elevation in metres above sea level.
    pub fn elevation(&self, p: Xy) -> f64 {
        self.terrain.elevation(p)
    }

    /// Total length of all roads.
    pub fn road_km(&self) -> f64 {
        self.edges.iter().map(|e| e.length).sum::<f64>() / 1000.0
    }
}

/// Accumulates nodes and edges while the city is laid out.
#[derive(Default)]
struct Builder {
    nodes: Vec<Xy>,
    edges: Vec<Edge>,
    /// Nodes `0..core_nodes` belong to the block grid and its avenues.
    core_nodes: usize,
}

impl Builder {
    fn add_node(&mut self, p: Xy) -> u32 {
        self.nodes.push(p);
        (self.nodes.len() - 1) as u32
    }

    fn add_edge(&mut self, a: u32, b: u32, class: RoadClass, geometry: Vec<Xy>) {
        debug_assert!(geometry.len() >= 2);
        let length = polyline_length(&geometry);
        self.edges.push(Edge {
            a,
            b,
            class,
            geometry,
            length,
        });
    }

    fn adjacency(&self) -> Vec<Vec<u32>> {
        let mut adj = vec![Vec::new(); self.nodes.len()];
        for (id, e) in self.edges.iter().enumerate() {
            adj[e.a as usize].push(id as u32);
            adj[e.b as usize].push(id as u32);
        }
        adj
    }
}

fn polyline_length(points: &[Xy]) -> f64 {
    points.windows(2).map(|w| dist(w[0], w[1])).sum()
}

pub fn dist(a: Xy, b: Xy) -> f64 {
    (a[0] - b[0]).hypot(a[1] - b[1])
}

/// Angle difference wrapped to (-pi, pi].
fn wrap_angle(a: f64) -> f64 {
    let t = std::f64::consts::TAU;
    let r = a.rem_euclid(t);
    if r > std::f64::consts::PI { r - t } else { r }
}

/// Grid space to world: rotate, then displace by a smooth low-frequency
/// field so straight grid lines come out gently curved.
struct Warp {
    cos: f64,
    sin: f64,
    /// (amplitude m, wavelength m, phase) for the x and y displacement.
    x: [(f64, f64, f64); 2],
    y: [(f64, f64, f64); 2],
}

impl Warp {
    fn random(rng: &mut Rng) -> Warp {
        let angle = rng.uniform(-0.6, 0.6);
        let wave = |rng: &mut Rng| {
            (
                rng.uniform(40.0, 90.0),
                rng.uniform(1_500.0, 4_000.0),
                rng.uniform(0.0, std::f64::consts::TAU),
            )
        };
        Warp {
            cos: angle.cos(),
            sin: angle.sin(),
            x: [wave(rng), wave(rng)],
            y: [wave(rng), wave(rng)],
        }
    }

    fn apply(&self, g: Xy) -> Xy {
        let r = [
            g[0] * self.cos - g[1] * self.sin,
            g[0] * self.sin + g[1] * self.cos,
        ];
        let field = |waves: &[(f64, f64, f64); 2], along: f64, across: f64| {
            let (a0, l0, p0) = waves[0];
            let (a1, l1, p1) = waves[1];
            a0 * (std::f64::consts::TAU * along / l0 + p0).sin()
                + a1 * (std::f64::consts::TAU * (along + across) / l1 + p1).sin()
        };
        [
            r[0] + field(&self.x, r[1], r[0]),
            r[1] + field(&self.y, r[0], r[1]),
        ]
    }
}

/// A straight road in grid space, `origin + t * dir` for t in [t0, t1].
struct Line {
    origin: Xy,
    dir: Xy,
    t0: f64,
    t1: f64,
    class: RoadClass,
    /// Nodes on the line and their parameter t, filled in as crossings are
    /// found.
    stops: Vec<(f64, u32)>,
}

impl Line {
    fn at(&self, t: f64) -> Xy {
        [
            self.origin[0] + t * self.dir[0],
            self.origin[1] + t * self.dir[1],
        ]
    }

    /// A line through `origin` at `angle`, running to radius `radius` from
    /// the grid centre at both ends.
    fn across_circle(origin: Xy, angle: f64, radius: f64, class: RoadClass) -> Line {
        let dir = [angle.cos(), angle.sin()];
        let od = origin[0] * dir[0] + origin[1] * dir[1];
        let oo = origin[0] * origin[0] + origin[1] * origin[1];
        let half = (od * od - oo + radius * radius).sqrt();
        Line {
            origin,
            dir,
            t0: -od - half,
            t1: -od + half,
            class,
            stops: Vec::new(),
        }
    }

    /// Where this line crosses `other` within both extents, as the
    /// parameters on each.
    fn crossing(&self, other: &Line) -> Option<(f64, f64)> {
        let cross = self.dir[0] * other.dir[1] - self.dir[1] * other.dir[0];
        if cross.abs() < 1e-9 {
            return None;
        }
        let d = [
            other.origin[0] - self.origin[0],
            other.origin[1] - self.origin[1],
        ];
        let t = (d[0] * other.dir[1] - d[1] * other.dir[0]) / cross;
        let s = (d[0] * self.dir[1] - d[1] * self.dir[0]) / cross;
        let inside = |l: &Line, x: f64| (l.t0..=l.t1).contains(&x);
        (inside(self, t) && inside(other, s)).then_some((t, s))
    }
}

/// Offsets of parallel streets: irregular block widths across the core.
fn street_offsets(rng: &mut Rng) -> Vec<f64> {
    let start = rng.uniform(-BLOCK_M.0, BLOCK_M.0);
    let mut offsets = vec![start];
    for sign in [1.0, -1.0] {
        let mut x = start;
        loop {
            x += sign * rng.uniform(BLOCK_M.0, BLOCK_M.1);
            if x.abs() >= CORE_RADIUS {
                break;
            }
            offsets.push(x);
        }
    }
    offsets.sort_by(f64::total_cmp);
    offsets
}

/// The grid's streets in one direction (`axis` 0: along x, 1: along y).
/// The street nearest the centre becomes a main axis reaching the ring.
fn grid_lines(rng: &mut Rng, axis: usize) -> Vec<Line> {
    let offsets = street_offsets(rng);
    let main = offsets
        .iter()
        .enumerate()
        .min_by(|a, b| a.1.abs().total_cmp(&b.1.abs()))
        .map(|(i, _)| i);
    let dir = if axis == 0 { [1.0, 0.0] } else { [0.0, 1.0] };
    let mut lines = Vec::new();
    for (i, &off) in offsets.iter().enumerate() {
        let origin = if axis == 0 { [0.0, off] } else { [off, 0.0] };
        if Some(i) == main {
            lines.push(Line::across_circle(
                origin,
                if axis == 0 {
                    0.0
                } else {
                    std::f64::consts::FRAC_PI_2
                },
                RING_RADIUS,
                RoadClass::Avenue,
            ));
            continue;
        }
        // Jitter each end so the town's edge is ragged, not a perfect circle.
        let half_chord = |r: f64| (r * r - off * off).sqrt();
        let (left, right) = (
            half_chord(CORE_RADIUS * rng.uniform(0.88, 1.06)),
            half_chord(CORE_RADIUS * rng.uniform(0.88, 1.06)),
        );
        if left.is_nan() || right.is_nan() {
            continue;
        }
        lines.push(Line {
            origin,
            dir,
            t0: -left,
            t1: right,
            class: RoadClass::Street,
            stops: Vec::new(),
        });
    }
    lines
}

fn avenues(rng: &mut Rng) -> Vec<Line> {
    AVENUE_ANGLES_DEG
        .iter()
        .map(|&deg| {
            let angle = (deg + rng.uniform(-6.0, 6.0)).to_radians();
            // Pass the centre at some distance so the avenues don't all
            // meet in one point.
            let side = if rng.chance(0.5) { 1.0 } else { -1.0 };
            let offset = side * rng.uniform(250.0, 1_200.0);
            let origin = [-offset * angle.sin(), offset * angle.cos()];
            Line::across_circle(origin, angle, RING_RADIUS, RoadClass::Avenue)
        })
        .collect()
}

/// Circles in grid space where streets are left out.
fn parks(rng: &mut Rng) -> Vec<(Xy, f64)> {
    (0..PARKS)
        .map(|_| {
            let (r, phi) = (
                rng.uniform(600.0, 3_200.0),
                rng.uniform(0.0, std::f64::consts::TAU),
            );
            ([r * phi.cos(), r * phi.sin()], rng.uniform(200.0, 500.0))
        })
        .collect()
}

/// Lays out the block grid and avenues; returns the nodes where the main
/// roads end on the ring ("gates").
fn build_core(b: &mut Builder, rng: &mut Rng) -> Vec<u32> {
    let warp = Warp::random(rng);
    let parks = parks(rng);
    let mut lines = grid_lines(rng, 0);
    lines.extend(grid_lines(rng, 1));
    lines.extend(avenues(rng));

    for i in 0..lines.len() {
        for j in i + 1..lines.len() {
            if let Some((t, s)) = lines[i].crossing(&lines[j]) {
                let node = b.add_node(warp.apply(lines[i].at(t)));
                lines[i].stops.push((t, node));
                lines[j].stops.push((s, node));
            }
        }
    }

    let mut gates = Vec::new();
    for line in &mut lines {
        add_line_ends(b, &warp, line, &mut gates);
        add_line_edges(b, &warp, line, &parks);
    }
    b.core_nodes = b.nodes.len();
    gates
}

/// Adds a node at each end of `line` unless a crossing is nearly there;
/// main roads' ends become gates to the ring.
fn add_line_ends(b: &mut Builder, warp: &Warp, line: &mut Line, gates: &mut Vec<u32>) {
    const MIN_STUB_M: f64 = 30.0;
    line.stops.sort_by(|x, y| x.0.total_cmp(&y.0));
    let (first, last) = match (line.stops.first(), line.stops.last()) {
        (Some(f), Some(l)) => (f.0, l.0),
        _ => (f64::INFINITY, f64::NEG_INFINITY),
    };
    let is_main = line.class == RoadClass::Avenue;
    for (t, inner) in [(line.t0, first), (line.t1, last)] {
        if is_main || (t - inner).abs() >= MIN_STUB_M {
            let node = b.add_node(warp.apply(line.at(t)));
            line.stops.push((t, node));
            if is_main {
                gates.push(node);
            }
        }
    }
    line.stops.sort_by(|x, y| x.0.total_cmp(&y.0));
}

/// Connects consecutive nodes along `line`, leaving out streets in parks.
fn add_line_edges(b: &mut Builder, warp: &Warp, line: &Line, parks: &[(Xy, f64)]) {
    for w in line.stops.windows(2) {
        let ((ta, na), (tb, nb)) = (w[0], w[1]);
        if na == nb {
            continue;
        }
        let mid = line.at((ta + tb) / 2.0);
        if line.class == RoadClass::Street && parks.iter().any(|&(c, r)| dist(c, mid) < r) {
            continue;
        }
        let pieces = ((tb - ta) / MAX_PIECE_M).ceil().max(1.0) as usize;
        let mut geometry: Vec<Xy> = (0..=pieces)
            .map(|k| warp.apply(line.at(ta + (tb - ta) * k as f64 / pieces as f64)))
            .collect();
        // Pin the ends to the node positions exactly (they are the same
        // computation, but crossings were mapped from the other line's t).
        geometry[0] = b.nodes[na as usize];
        geometry[pieces] = b.nodes[nb as usize];
        b.add_edge(na, nb, line.class, geometry);
    }
}

fn polar(p: Xy) -> (f64, f64) {
    (p[0].hypot(p[1]), p[1].atan2(p[0]))
}

/// Gates ordered anticlockwise by their angle around the centre.
fn sorted_by_angle(b: &Builder, gates: &[u32]) -> Vec<u32> {
    let mut sorted = gates.to_vec();
    sorted.sort_by(|&x, &y| {
        polar(b.nodes[x as usize])
            .1
            .total_cmp(&polar(b.nodes[y as usize]).1)
    });
    sorted
}

/// The ring road: smooth arcs between consecutive gates.
fn build_ring(b: &mut Builder, gates: &[u32], rng: &mut Rng) {
    let order = sorted_by_angle(b, gates);
    for (i, &from) in order.iter().enumerate() {
        let to = order[(i + 1) % order.len()];
        let (ra, aa) = polar(b.nodes[from as usize]);
        let (rb, ab) = polar(b.nodes[to as usize]);
        let sweep = (ab - aa).rem_euclid(std::f64::consts::TAU);
        let bulge = rng.uniform(-150.0, 150.0);
        let pieces = ((sweep * (ra + rb) / 2.0) / 80.0).ceil().max(2.0) as usize;
        let geometry = (0..=pieces)
            .map(|k| {
                let s = k as f64 / pieces as f64;
                let r = ra + (rb - ra) * s + bulge * (std::f64::consts::PI * s).sin();
                let a = aa + sweep * s;
                [r * a.cos(), r * a.sin()]
            })
            .collect::<Vec<_>>();
        let mut geometry = geometry;
        geometry[0] = b.nodes[from as usize];
        geometry[pieces] = b.nodes[to as usize];
        b.add_edge(from, to, RoadClass::Ring, geometry);
    }
}

/// A winding road from `from` to `to`: a walker whose heading is pulled
/// towards the target and nudged at random, so bends are smooth and the
/// road always arrives.
fn winding_road(rng: &mut Rng, from: Xy, to: Xy, step: f64) -> Vec<Xy> {
    const PULL: f64 = 0.12;
    const TURN_SD: f64 = 0.09;
    let bearing = |p: Xy| (to[1] - p[1]).atan2(to[0] - p[0]);
    let max_steps = (3.0 * dist(from, to) / step) as usize + 10;
    let mut heading = bearing(from) + rng.gauss(0.0, 0.3);
    let mut p = from;
    let mut points = vec![from];
    for _ in 0..max_steps {
        if dist(p, to) <= 1.5 * step {
            break;
        }
        // Pull harder when close, or the walker would orbit the target.
        let pull = PULL.max(3.0 * step / dist(p, to)).min(1.0);
        heading += pull * wrap_angle(bearing(p) - heading) + rng.gauss(0.0, TURN_SD);
        p = [p[0] + step * heading.cos(), p[1] + step * heading.sin()];
        points.push(p);
    }
    points.push(to);
    points
}

/// Country roads from every gate and the lanes between them; returns the
/// rural junctions and road ends.
fn build_country(b: &mut Builder, gates: &[u32], rng: &mut Rng) -> Vec<u32> {
    let order = sorted_by_angle(b, gates);
    let mut spots = Vec::new();
    // Node at each lane radius, per country road (in `order`).
    let mut junctions: Vec<[Option<u32>; LANE_RADII.len()]> = Vec::new();
    for &gate in &order {
        let start = b.nodes[gate as usize];
        let angle = polar(start).1 + rng.uniform(-0.05, 0.05);
        let radius = COUNTRY_RADIUS * rng.uniform(0.95, 1.04);
        let road = winding_road(
            rng,
            start,
            [radius * angle.cos(), radius * angle.sin()],
            60.0,
        );
        let levels = split_at_radii(b, gate, &road);
        spots.extend(levels.iter().flatten());
        spots.push(
            b.edges
                .last()
                .map(|e| e.b)
                .expect("country road has an edge"),
        );
        junctions.push(levels);
    }
    for (i, here) in junctions.iter().enumerate() {
        let next = &junctions[(i + 1) % junctions.len()];
        for (level, ends) in here.iter().zip(next).enumerate() {
            // The innermost lanes always exist so every country road has a
            // neighbour; further out some are missing.
            if level > 0 && rng.chance(0.2) {
                continue;
            }
            if let (&Some(a), &Some(c)) = ends {
                let road = winding_road(rng, b.nodes[a as usize], b.nodes[c as usize], 60.0);
                b.add_edge(a, c, RoadClass::Lane, road);
            }
        }
    }
    spots
}

/// Adds a country road as edges, with a junction node where it first
/// reaches each lane radius; returns those junctions.
fn split_at_radii(b: &mut Builder, gate: u32, road: &[Xy]) -> [Option<u32>; LANE_RADII.len()] {
    let mut levels = [None; LANE_RADII.len()];
    let mut level = 0;
    let (mut from_node, mut from_idx) = (gate, 0);
    for (i, &p) in road.iter().enumerate().skip(1) {
        let last = i == road.len() - 1;
        let at_level = level < LANE_RADII.len() && polar(p).0 >= LANE_RADII[level];
        if !(at_level || last) {
            continue;
        }
        let node = b.add_node(p);
        b.add_edge(
            from_node,
            node,
            RoadClass::Country,
            road[from_idx..=i].to_vec(),
        );
        if at_level && !last {
            levels[level] = Some(node);
            level += 1;
        }
        (from_node, from_idx) = (node, i);
    }
    levels
}

/// Picks well-connected town nodes, spread apart.
struct TownPicker<'a> {
    nodes: &'a [Xy],
    adjacency: &'a [Vec<u32>],
    core_nodes: usize,
}

impl TownPicker<'_> {
    fn pick(&self, rng: &mut Rng, count: usize, radius: (f64, f64), min_apart: f64) -> Vec<u32> {
        let candidates: Vec<u32> = (0..self.core_nodes as u32)
            .filter(|&n| {
                let r = polar(self.nodes[n as usize]).0;
                self.adjacency[n as usize].len() >= 3 && (radius.0..=radius.1).contains(&r)
            })
            .collect();
        let mut picked: Vec<u32> = Vec::new();
        // Bounded tries: if spacing can't be met, settle for fewer spots.
        for _ in 0..count * 50 {
            if picked.len() == count || candidates.is_empty() {
                break;
            }
            let n = candidates[rng.below(candidates.len())];
            let p = self.nodes[n as usize];
            if picked
                .iter()
                .all(|&q| dist(self.nodes[q as usize], p) >= min_apart)
            {
                picked.push(n);
            }
        }
        picked
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reachable_from(city: &City, start: u32) -> Vec<bool> {
        let mut seen = vec![false; city.nodes.len()];
        let mut stack = vec![start];
        seen[start as usize] = true;
        while let Some(n) = stack.pop() {
            for &e in &city.adjacency[n as usize] {
                let m = city.edges[e as usize].other(n);
                if !seen[m as usize] {
                    seen[m as usize] = true;
                    stack.push(m);
                }
            }
        }
        seen
    }

    #[test]
    fn same_seed_same_city() {
        let (a, b) = (City::generate(5), City::generate(5));
        assert_eq!(a.nodes, b.nodes);
        assert_eq!(a.homes, b.homes);
        assert_ne!(a.nodes, City::generate(6).nodes);
    }

    #[test]
    fn city_is_plausible() {
        for seed in 0..4 {
            check_city(&City::generate(seed));
        }
    }

    fn check_city(city: &City) {
        assert_eq!(city.homes.len(), HOMES);
        assert!(city.town_spots.len() >= TOWN_SPOTS / 2);
        assert!(city.country_spots.len() >= 40);
        let km = city.road_km();
        assert!((1_500.0..4_000.0).contains(&km), "{km} km of road");
        for e in &city.edges {
            assert_eq!(e.geometry[0], city.nodes[e.a as usize]);
            assert_eq!(*e.geometry.last().unwrap(), city.nodes[e.b as usize]);
            assert!(e.geometry.windows(2).all(|w| dist(w[0], w[1]) <= 100.0));
        }
        assert!(city.nodes.iter().all(|&p| polar(p).0 < 55_000.0));
        // Every place a route may use is reachable from the first home.
        let seen = reachable_from(city, city.homes[0]);
        for &n in city
            .homes
            .iter()
            .chain(&city.town_spots)
            .chain(&city.country_spots)
        {
            assert!(seen[n as usize], "node {n} unreachable");
        }
    }

    #[test]
    fn frame_round_trips_and_scales() {
        let f = LocalFrame::new(ANCHOR.0, ANCHOR.1);
        let (lat, lon) = f.to_lat_lon([3_000.0, -4_000.0]);
        let back = f.to_xy(lat, lon);
        assert!((back[0] - 3_000.0).abs() < 1e-6 && (back[1] + 4_000.0).abs() < 1e-6);
        let d = haversine_m(ANCHOR.0, ANCHOR.1, lat, lon);
        assert!((d - 5_000.0).abs() < 10.0, "{d}");
    }

    #[test]
    fn terrain_is_smooth_and_in_range() {
        let city = City::generate(2);
        for i in 0..1000 {
            let p = [i as f64 * 97.0 - 48_000.0, i as f64 * -61.0 + 30_000.0];
            let e = city.elevation(p);
            assert!((0.0..130.0).contains(&e), "{e}");
            let slope = (city.elevation([p[0] + 10.0, p[1]]) - e) / 10.0;
            assert!(slope.abs() < 0.06, "{slope}");
        }
    }
}
