//! Activities on the demo city: when they happen, where they go, and how a
//! GPS device would have recorded them.
//!
//! Routes are built from shortest-path trees towards a fixed set of places
//! (homes, town spots, country junctions), with road classes weighting the
//! cost so main roads are preferred. Because every route from a home starts
//! down the same few trees, the roads near homes and the main roads are
//! shared by many activities (bright corridors), while random detours add
//! faint one-offs.
//!
//! Each activity draws from its own generator, derived from the seed and its
//! index, so any activity can be generated alone and in any order.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use super::DemoConfig;
use super::city::{City, LocalFrame, RoadClass, Xy, dist};
use super::rng::Rng;
use hotpot_model::activity::{ActivityKind, ParsedActivity, Point};
use hotpot_model::timefmt::{civil_from_days, days_from_civil};

const SCHEDULE_STREAM: u64 = u64::MAX - 1;
const NO_EDGE: u32 = u32::MAX;
const MS_PER_DAY: i64 = 86_400_000;
/// Longest distance travelled between two recorded points; speeds are
/// capped so that even at a 5 s interval, and with the GPS error's change
/// on top, consecutive points stay within 50 m.
const MAX_STEP_M: f64 = 40.0;
/// Correlation time of the GPS error: real receivers drift over tens of
/// seconds to minutes rather than jumping from fix to fix.
const GPS_TAU_S: f64 = 60.0;
/// Waypoint combinations tried when matching a route to its target length.
const ROUTE_CANDIDATES: usize = 64;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sport {
    Ride,
    Run,
}

impl Sport {
    fn name(self) -> &'static str {
        match self {
            Sport::Ride => "cycling",
            Sport::Run => "running",
        }
    }
}

/// When an activity happens: its sport, its start (unix ms, UTC) and the
/// local wall-clock minute of the day it started at (for its title).
#[derive(Debug, Clone, Copy)]
pub struct Slot {
    pub sport: Sport,
    pub start_ms: i64,
    pub local_minute: u32,
}

/// Start times for all activities, in chronological order, with rides and
/// runs shuffled among them. More activities in summer; each day has a
/// morning and an evening slot, used at most once while free slots remain,
/// so activities don't overlap.
pub fn schedule(cfg: &DemoConfig) -> Vec<Slot> {
    let mut rng = Rng::derive(cfg.seed, SCHEDULE_STREAM);
    let first = days_from_civil(cfg.first_day.0 as i64, cfg.first_day.1, cfg.first_day.2);
    let last = days_from_civil(cfg.last_day.0 as i64, cfg.last_day.1, cfg.last_day.2).max(first);
    let mut taken = vec![[false; 2]; (last - first + 1) as usize];
    let mut slots: Vec<Slot> = (0..cfg.rides + cfg.runs)
        .map(|_| {
            let (day, evening) = free_slot(&mut rng, first, &mut taken);
            let local_minute = start_minute(&mut rng, day, evening);
            let local_ms =
                day * MS_PER_DAY + local_minute as i64 * 60_000 + rng.below(60) as i64 * 1000;
            let start_ms = local_ms - cet_offset_ms(day);
            Slot {
                sport: Sport::Ride,
                start_ms,
                local_minute,
            }
        })
        .collect();
    slots.sort_by_key(|s| s.start_ms);
    let mut sports: Vec<Sport> = std::iter::repeat_n(Sport::Ride, cfg.rides)
        .chain(std::iter::repeat_n(Sport::Run, cfg.runs))
        .collect();
    shuffle(&mut rng, &mut sports);
    for (slot, sport) in slots.iter_mut().zip(sports) {
        slot.sport = sport;
    }
    slots
}

fn shuffle<T>(rng: &mut Rng, items: &mut [T]) {
    for i in (1..items.len()).rev() {
        items.swap(i, rng.below(i + 1));
    }
}

/// A free (day, is evening) slot, days weighted by season. When free slots
/// get too hard to find (more activities than slots) a taken one is reused.
fn free_slot(rng: &mut Rng, first: i64, taken: &mut [[bool; 2]]) -> (i64, bool) {
    let last = first + taken.len() as i64 - 1;
    let mut attempts = 0;
    loop {
        let day = seasonal_day(rng, first, last);
        let evening = rng.chance(if is_weekend(day) { 0.2 } else { 0.4 });
        let slot = &mut taken[(day - first) as usize][usize::from(evening)];
        attempts += 1;
        if !*slot || attempts > 100 {
            *slot = true;
            return (day, evening);
        }
    }
}

/// A day in [first, last], twice as likely in July as in January.
fn seasonal_day(rng: &mut Rng, first: i64, last: i64) -> i64 {
    loop {
        let day = first + rng.below((last - first + 1) as usize) as i64;
        let (_, month, dom) = civil_from_days(day);
        let year_phase = ((month - 1) as f64 + dom as f64 / 31.0) / 12.0;
        // Peaks in mid-July (phase ~0.54), bottoms out in mid-January.
        let weight = 1.0 + 0.33 * (std::f64::consts::TAU * (year_phase - 0.54)).cos();
        if rng.f64() * 1.34 < weight {
            return day;
        }
    }
}

fn is_weekend(day: i64) -> bool {
    // 1970-01-01 was a Thursday: with Monday = 0 it is day 3.
    (day + 3).rem_euclid(7) >= 5
}

/// Local start minute: early on weekday mornings, later at weekends, or
/// after work.
fn start_minute(rng: &mut Rng, day: i64, evening: bool) -> u32 {
    let (from, to) = match (evening, is_weekend(day)) {
        (true, _) => (17 * 60, 19 * 60 + 30),
        (false, true) => (7 * 60 + 30, 10 * 60 + 30),
        (false, false) => (6 * 60, 8 * 60 + 30),
    };
    from + rng.below((to - from) as usize) as u32
}

/// Central European (summer) time offset, by month: April to October is
/// summer time. Close enough for titles and plausible UTC times.
fn cet_offset_ms(day: i64) -> i64 {
    let (_, month, _) = civil_from_days(day);
    if (4..=10).contains(&month) {
        2 * 3_600_000
    } else {
        3_600_000
    }
}

/// A shortest-path tree towards one place.
struct Tree {
    /// Edge to take from each node towards the root; `NO_EDGE` at the root
    /// and at nodes that cannot reach it.
    next_edge: Vec<u32>,
    /// Metres from each node to the root along the tree (infinite where
    /// unreachable).
    metres: Vec<f32>,
}

impl Tree {
    /// Dijkstra from `root` with cost = length / road preference.
    fn towards(city: &City, root: u32) -> Tree {
        let n = city.nodes.len();
        let mut cost = vec![f64::INFINITY; n];
        let mut tree = Tree {
            next_edge: vec![NO_EDGE; n],
            metres: vec![f32::INFINITY; n],
        };
        let mut metres = vec![f64::INFINITY; n];
        let mut heap = BinaryHeap::new();
        cost[root as usize] = 0.0;
        metres[root as usize] = 0.0;
        // Non-negative floats order like their bit patterns, which makes
        // them usable as heap keys with a deterministic tie-break on node.
        heap.push(Reverse((0f64.to_bits(), root)));
        while let Some(Reverse((bits, node))) = heap.pop() {
            if f64::from_bits(bits) > cost[node as usize] {
                continue;
            }
            for &e in &city.adjacency[node as usize] {
                let edge = &city.edges[e as usize];
                let next = edge.other(node);
                let c = cost[node as usize] + edge.length / edge.class.preference();
                if c < cost[next as usize] {
                    cost[next as usize] = c;
                    metres[next as usize] = metres[node as usize] + edge.length;
                    tree.next_edge[next as usize] = e;
                    heap.push(Reverse((c.to_bits(), next)));
                }
            }
        }
        for (m, &x) in tree.metres.iter_mut().zip(&metres) {
            *m = x as f32;
        }
        tree
    }
}

/// Shortest-path trees towards every place a route may start at or visit.
pub struct Router {
    /// Node of each place: homes first, then town spots, then country spots.
    places: Vec<u32>,
    trees: Vec<Tree>,
    homes: usize,
    /// Places `0..towns` are homes and town spots.
    towns: usize,
}

impl Router {
    pub fn new(city: &City) -> Router {
        let mut places: Vec<u32> = Vec::new();
        for &n in city
            .homes
            .iter()
            .chain(&city.town_spots)
            .chain(&city.country_spots)
        {
            if !places.contains(&n) {
                places.push(n);
            }
        }
        let trees = places.iter().map(|&n| Tree::towards(city, n)).collect();
        let towns = places
            .iter()
            .filter(|n| city.homes.contains(n) || city.town_spots.contains(n))
            .count();
        Router {
            places,
            trees,
            homes: city.homes.len(),
            towns,
        }
    }

    /// Metres from `node` to place `place` along the preferred route.
    fn metres(&self, node: u32, place: usize) -> f64 {
        self.trees[place].metres[node as usize] as f64
    }
}

/// One edge traversed in a route; `forward` means from its `a` to its `b`.
#[derive(Debug, Clone, Copy)]
struct Step {
    edge: u32,
    forward: bool,
}

/// A route as it is assembled: the edges so far and where it stands.
struct RouteBuilder<'a> {
    city: &'a City,
    steps: Vec<Step>,
    node: u32,
    metres: f64,
}

impl<'a> RouteBuilder<'a> {
    fn new(city: &'a City, start: u32) -> Self {
        RouteBuilder {
            city,
            steps: Vec::new(),
            node: start,
            metres: 0.0,
        }
    }

    fn push(&mut self, edge: u32) {
        let e = &self.city.edges[edge as usize];
        self.steps.push(Step {
            edge,
            forward: e.a == self.node,
        });
        self.node = e.other(self.node);
        self.metres += e.length;
    }

    /// Follows the preferred route to a place.
    fn go_to(&mut self, router: &Router, place: usize) {
        let tree = &router.trees[place];
        while tree.next_edge[self.node as usize] != NO_EDGE {
            self.push(tree.next_edge[self.node as usize]);
        }
    }

    /// A random walk of about `metres`, preferring main roads and avoiding
    /// U-turns except at dead ends: the one-off detours of the heatmap.
    fn wander(&mut self, rng: &mut Rng, metres: f64) {
        let until = self.metres + metres;
        let mut came_by = NO_EDGE;
        let mut weights = Vec::new();
        while self.metres < until {
            let adjacent = &self.city.adjacency[self.node as usize];
            weights.clear();
            weights.extend(adjacent.iter().map(|&e| {
                if e == came_by && adjacent.len() > 1 {
                    0.0
                } else {
                    self.city.edges[e as usize].class.preference().powi(2)
                }
            }));
            let edge = adjacent[rng.weighted(&weights)];
            came_by = edge;
            self.push(edge);
        }
    }

    /// Goes back the way it came.
    fn retrace(&mut self) {
        let back: Vec<Step> = self
            .steps
            .iter()
            .rev()
            .map(|s| Step {
                edge: s.edge,
                forward: !s.forward,
            })
            .collect();
        self.steps.extend(back);
        self.metres *= 2.0;
    }
}

/// Places to visit from `from` (a node) so that the rest of the route
/// comes close to `budget` metres: to each place in turn, then back to
/// `home` (a place), or for an out-and-back only to one place (the caller
/// retraces the way). Tries random combinations of places that still fit
/// the budget and keeps the one that comes closest; `None` if none fits.
/// An empty list means: go straight home (only offered after a detour).
fn choose_waypoints(
    router: &Router,
    rng: &mut Rng,
    from: u32,
    home: usize,
    budget: f64,
    out_and_back: bool,
) -> Option<Vec<usize>> {
    // Slack so that a route can end up somewhat longer than planned.
    const SLACK: f64 = 1.15;
    let stops = if out_and_back {
        1
    } else if rng.chance(0.8) {
        2
    } else {
        3
    };
    let back = |node: u32| {
        if out_and_back {
            0.0
        } else {
            router.metres(node, home)
        }
    };
    let mut best = (f64::INFINITY, None);
    if !out_and_back && from != router.places[home] {
        best = ((back(from) - budget).abs(), Some(Vec::new()));
    }
    let mut fits = Vec::with_capacity(router.places.len());
    for _ in 0..ROUTE_CANDIDATES {
        let (mut visit, mut at, mut used) = (Vec::with_capacity(stops), from, 0.0);
        for _ in 0..stops {
            fits.clear();
            fits.extend((0..router.places.len()).filter(|&p| {
                let node = router.places[p];
                node != at
                    && p != home
                    && used + router.metres(at, p) + back(node) <= budget * SLACK
            }));
            if fits.is_empty() {
                break;
            }
            let p = fits[rng.below(fits.len())];
            used += router.metres(at, p);
            at = router.places[p];
            visit.push(p);
        }
        let miss = (used + back(at) - budget).abs();
        if !visit.is_empty() && miss < best.0 {
            best = (miss, Some(visit));
        }
    }
    best.1
}

/// The route as one polyline with cumulative distances and ground
/// elevation at each vertex, plus the junctions passed (distance along the
/// route and how likely a stop is there).
struct Path {
    points: Vec<Xy>,
    cum: Vec<f64>,
    /// Vertices are at most ~60 m apart and the shortest terrain wave is
    /// 700 m long, so interpolating between vertices is within centimetres
    /// of the terrain and saves evaluating it at every recorded point.
    ground: Vec<f64>,
    junctions: Vec<(f64, f64)>,
}

impl Path {
    fn from_steps(city: &City, steps: &[Step]) -> Path {
        let mut path = Path {
            points: Vec::new(),
            cum: Vec::new(),
            ground: Vec::new(),
            junctions: Vec::new(),
        };
        for (i, step) in steps.iter().enumerate() {
            let geometry = &city.edges[step.edge as usize].geometry;
            let skip = usize::from(i > 0);
            if step.forward {
                geometry.iter().skip(skip).for_each(|&p| path.push(city, p));
            } else {
                geometry
                    .iter()
                    .rev()
                    .skip(skip)
                    .for_each(|&p| path.push(city, p));
            }
            if let Some(next) = steps.get(i + 1) {
                let edge = &city.edges[step.edge as usize];
                let end = if step.forward { edge.b } else { edge.a };
                let p = stop_probability(city, end, step, next);
                if p > 0.0 {
                    path.junctions.push((path.length(), p));
                }
            }
        }
        path
    }

    fn push(&mut self, city: &City, p: Xy) {
        let d = self.points.last().map_or(0.0, |&q| dist(p, q));
        self.cum.push(self.length() + d);
        self.points.push(p);
        self.ground.push(city.elevation(p));
    }

    fn length(&self) -> f64 {
        self.cum.last().copied().unwrap_or(0.0)
    }

    /// Position and ground elevation `s` metres along; `cursor` remembers
    /// the piece last used so a forward sweep costs O(1) per call.
    fn at(&self, s: f64, cursor: &mut usize) -> (Xy, f64) {
        while *cursor + 2 < self.points.len() && self.cum[*cursor + 1] < s {
            *cursor += 1;
        }
        let i = *cursor;
        if i + 1 >= self.points.len() {
            return (self.points[i], self.ground[i]);
        }
        let span = self.cum[i + 1] - self.cum[i];
        let f = if span > 0.0 {
            ((s - self.cum[i]) / span).clamp(0.0, 1.0)
        } else {
            0.0
        };
        let (a, b) = (self.points[i], self.points[i + 1]);
        let ground = self.ground[i] + (self.ground[i + 1] - self.ground[i]) * f;
        ([a[0] + (b[0] - a[0]) * f, a[1] + (b[1] - a[1]) * f], ground)
    }
}

/// Chance of waiting at the junction between two steps: traffic lights on
/// main roads in town, the odd give-way elsewhere.
fn stop_probability(city: &City, node: u32, a: &Step, b: &Step) -> f64 {
    if city.adjacency[node as usize].len() < 3 {
        return 0.0;
    }
    let class = |s: &Step| city.edges[s.edge as usize].class;
    let main = |c: RoadClass| matches!(c, RoadClass::Avenue | RoadClass::Ring);
    if main(class(a)) || main(class(b)) {
        0.1
    } else {
        0.02
    }
}

/// A mean-reverting random walk (Ornstein–Uhlenbeck) sampled at a fixed
/// interval: consecutive values are correlated, like GPS error or effort.
#[derive(Debug, Clone, Copy)]
struct Ou {
    value: f64,
    keep: f64,
    kick: f64,
    sd: f64,
}

impl Ou {
    fn new(rng: &mut Rng, sd: f64, tau_s: f64, dt_s: f64) -> Ou {
        let keep = (-dt_s / tau_s).exp();
        Ou {
            value: rng.gauss(0.0, sd),
            keep,
            kick: sd * (1.0 - keep * keep).sqrt(),
            sd,
        }
    }

    fn step(&mut self, rng: &mut Rng) -> f64 {
        self.value = self.value * self.keep + self.kick * rng.normal();
        self.value
    }

    /// Forgets the past, e.g. after the device was paused for minutes.
    fn restart(&mut self, rng: &mut Rng) {
        self.value = rng.gauss(0.0, self.sd);
    }
}

/// How one activity moves and is recorded.
struct Motion {
    sport: Sport,
    /// Cruising speed, m/s.
    speed: f64,
    interval_s: u32,
    /// Waits: distance along the route and seconds spent there.
    stops: Vec<(f64, f64)>,
    /// Where the recording is paused, and for how long (ms).
    pause: Option<(f64, i64)>,
    gps_sd: f64,
}

impl Motion {
    fn random(rng: &mut Rng, cfg: &DemoConfig, sport: Sport, path: &Path) -> Motion {
        let speed_kmh = match sport {
            Sport::Ride => rng.gauss(25.0, 3.5).clamp(18.0, 32.0),
            Sport::Run => rng.gauss(11.0, 1.0).clamp(9.0, 13.0),
        };
        let stop_scale = if sport == Sport::Run { 0.5 } else { 1.0 };
        let mut stops = Vec::new();
        for &(at, p) in &path.junctions {
            if rng.chance(p * stop_scale) {
                stops.push((at, rng.uniform(5.0, 45.0)));
            }
        }
        let pause = rng.chance(cfg.pause_share).then(|| {
            // Whole seconds, like every other time here: FIT stores seconds.
            (
                path.length() * rng.uniform(0.3, 0.7),
                rng.uniform(240.0, 2_400.0) as i64 * 1000,
            )
        });
        Motion {
            sport,
            speed: speed_kmh / 3.6,
            interval_s: sample_interval(rng, cfg.interval_s),
            stops,
            pause,
            gps_sd: rng.uniform(2.0, 4.0),
        }
    }

    /// Speed factor for the road's grade: uphill slows, downhill helps,
    /// riders more than runners.
    fn grade_factor(&self, grade: f64) -> f64 {
        match self.sport {
            Sport::Ride => (1.0 - 10.0 * grade).clamp(0.5, 1.3),
            Sport::Run => (1.0 - 4.0 * grade).clamp(0.7, 1.15),
        }
    }
}

/// Recording interval: most devices record every second, some less often.
fn sample_interval(rng: &mut Rng, (lo, hi): (u32, u32)) -> u32 {
    let (lo, hi) = (lo.max(1), hi.max(lo.max(1)));
    if hi == lo || rng.chance(0.8) {
        lo
    } else {
        lo + 1 + rng.below((hi - lo) as usize) as u32
    }
}

/// Slows down approaching and leaving a stop (factor in [0.3, 1]).
fn stop_easing(metres_from_stop: f64) -> f64 {
    (metres_from_stop.abs() / 40.0).sqrt().clamp(0.3, 1.0)
}

/// What happened in one recording interval.
enum Tick {
    /// Moved on, or stood at a stop; the next fix comes one interval later.
    Interval,
    /// The recording was paused for this many ms and resumes here.
    Resume(i64),
}

/// The athlete's progress along the path: speed, stops and the pause.
struct Mover<'a> {
    motion: &'a Motion,
    /// Metres along the path, and where the recording ends.
    s: f64,
    end: f64,
    effort: Ou,
    next_stop: usize,
    last_stop: f64,
    /// Seconds still to stand at the current stop.
    waiting: f64,
    /// The pause, until it has happened; `pausing` once it is reached.
    pause: Option<(f64, i64)>,
    pausing: bool,
    /// Ground elevation and position at the last move, for the grade.
    last_ground: (f64, f64),
}

impl<'a> Mover<'a> {
    fn new(rng: &mut Rng, motion: &'a Motion, start: f64, end: f64) -> Self {
        let dt = motion.interval_s as f64;
        Mover {
            motion,
            s: start.min(end),
            end,
            effort: Ou::new(rng, 0.08, 90.0, dt),
            // Junctions inside the trimmed start are behind us already.
            next_stop: motion.stops.partition_point(|x| x.0 < start),
            last_stop: f64::NEG_INFINITY,
            waiting: 0.0,
            pause: motion.pause,
            pausing: false,
            last_ground: (f64::NAN, start),
        }
    }

    fn finished(&self) -> bool {
        self.s >= self.end
    }

    /// Advances one recording interval; `ground` is the elevation here.
    fn tick(&mut self, rng: &mut Rng, ground: f64) -> Tick {
        if self.pausing {
            self.pausing = false;
            let (_, ms) = self.pause.take().expect("pause pending");
            return Tick::Resume(ms);
        }
        let dt = self.motion.interval_s as f64;
        let wobble = self.effort.step(rng);
        if self.waiting > 0.0 {
            self.waiting -= dt;
            return Tick::Interval;
        }
        let (last_ground, last_s) = self.last_ground;
        let grade = if self.s - last_s > 1.0 {
            (ground - last_ground) / (self.s - last_s)
        } else {
            0.0
        };
        self.last_ground = (ground, self.s);
        let stop = self.motion.stops.get(self.next_stop).copied();
        let to_stop = stop.map_or(f64::INFINITY, |x| x.0 - self.s);
        let easing = stop_easing(to_stop).min(stop_easing(self.s - self.last_stop));
        let speed = self.motion.speed * (1.0 + wobble) * self.motion.grade_factor(grade) * easing;
        let mut next = (self.s + speed.clamp(0.5, MAX_STEP_M / dt) * dt).min(self.end);
        if let Some((at, wait)) = stop.filter(|x| x.0 <= next) {
            next = at.max(self.s);
            self.waiting = wait;
            self.last_stop = at;
            self.next_stop += 1;
        }
        if let Some((at, _)) = self.pause.filter(|p| p.0 <= next) {
            next = at.max(self.s);
            self.pausing = true;
        }
        self.s = next;
        Tick::Interval
    }
}

/// The GPS device: turns true positions into recorded points with
/// correlated position and elevation error.
struct Device<'a> {
    frame: &'a LocalFrame,
    error_x: Ou,
    error_y: Ou,
    error_ele: Ou,
}

impl<'a> Device<'a> {
    fn new(rng: &mut Rng, frame: &'a LocalFrame, motion: &Motion) -> Self {
        let dt = motion.interval_s as f64;
        Device {
            frame,
            error_x: Ou::new(rng, motion.gps_sd, GPS_TAU_S, dt),
            error_y: Ou::new(rng, motion.gps_sd, GPS_TAU_S, dt),
            error_ele: Ou::new(rng, 0.4, 60.0, dt),
        }
    }

    fn fix(&mut self, rng: &mut Rng, pos: Xy, ground: f64, time: i64) -> Point {
        let noisy = [
            pos[0] + self.error_x.step(rng),
            pos[1] + self.error_y.step(rng),
        ];
        let (lat, lon) = self.frame.to_lat_lon(noisy);
        Point {
            lat,
            lon,
            ele: Some(ground + self.error_ele.step(rng)),
            time: Some(time),
        }
    }

    /// A new fix after minutes switched off has forgotten the old error.
    fn restart(&mut self, rng: &mut Rng) {
        self.error_x.restart(rng);
        self.error_y.restart(rng);
    }
}

/// Simulates riding or running `path` (less `trim` metres at each end)
/// and records it like a GPS device.
fn record(
    frame: &LocalFrame,
    rng: &mut Rng,
    motion: &Motion,
    path: &Path,
    start_ms: i64,
    trim: (f64, f64),
) -> Vec<Vec<Point>> {
    let mut mover = Mover::new(rng, motion, trim.0, path.length() - trim.1);
    let mut device = Device::new(rng, frame, motion);
    // Reserve for the whole recording so points are never copied on growth.
    let seconds =
        (mover.end - mover.s) / motion.speed + motion.stops.iter().map(|x| x.1).sum::<f64>();
    let capacity = (1.1 * seconds / motion.interval_s as f64) as usize + 16;
    let mut segments = vec![Vec::with_capacity(capacity)];
    let mut cursor = 0;
    let mut t = start_ms;
    loop {
        let (pos, ground) = path.at(mover.s, &mut cursor);
        let point = device.fix(rng, pos, ground, t);
        let segment = segments.last_mut().expect("at least one segment");
        segment.push(point);
        if mover.finished() {
            break;
        }
        match mover.tick(rng, ground) {
            Tick::Interval => t += motion.interval_s as i64 * 1000,
            Tick::Resume(pause_ms) => {
                let rest = capacity.saturating_sub(segment.len());
                segments.push(Vec::with_capacity(rest));
                t += pause_ms;
                device.restart(rng);
            }
        }
    }
    segments
}

/// Draws an activity length in metres: log-normal around `median`, within
/// `range` (km).
fn target_metres(rng: &mut Rng, range: (f64, f64), median: f64) -> f64 {
    let (lo, hi) = (range.0.min(range.1), range.0.max(range.1));
    let median = median.clamp(lo, hi);
    // A fifth of the log-range per standard deviation puts the ends of the
    // range at roughly two to three deviations from the median.
    let sd = ((hi / lo.max(0.1)).ln() / 5.0).clamp(0.01, 1.0);
    for _ in 0..8 {
        let km = median * (sd * rng.normal()).exp();
        if (lo..=hi).contains(&km) {
            return km * 1000.0;
        }
    }
    median * 1000.0
}

/// Strava-style default name from the local start time, sometimes a name
/// the athlete typed (with characters that need escaping in XML).
fn title(rng: &mut Rng, sport: Sport, local_minute: u32) -> String {
    const RIDE_NAMES: [&str; 5] = [
        "Commute",
        "Coffee ride",
        "Long ride",
        "Rund um den Grunewald & zurück",
        "Recovery spin",
    ];
    const RUN_NAMES: [&str; 5] = [
        "Easy run",
        "Intervals 6×800 m",
        "Long run",
        "Tempo <5'00\"/km>",
        "Lakeside loop",
    ];
    if rng.chance(0.1) {
        let names = if sport == Sport::Ride {
            &RIDE_NAMES
        } else {
            &RUN_NAMES
        };
        return names[rng.below(names.len())].to_string();
    }
    let part = match local_minute / 60 {
        5..=10 => "Morning",
        11..=13 => "Lunch",
        14..=16 => "Afternoon",
        17..=20 => "Evening",
        _ => "Night",
    };
    let what = if sport == Sport::Ride { "Ride" } else { "Run" };
    format!("{part} {what}")
}

/// Generates activity number `index` (its slot from [`schedule`]).
pub fn activity(
    city: &City,
    router: &Router,
    cfg: &DemoConfig,
    index: usize,
    slot: &Slot,
) -> ParsedActivity {
    let mut rng = Rng::derive(cfg.seed, index as u64);
    let (range, median) = match slot.sport {
        Sport::Ride => (cfg.ride_km, cfg.ride_median_km),
        Sport::Run => (cfg.run_km, cfg.run_median_km),
    };
    let target = target_metres(&mut rng, range, median);
    let path = Path::from_steps(city, &route(router, city, &mut rng, slot.sport, target));
    let motion = Motion::random(&mut rng, cfg, slot.sport, &path);
    // Devices start and stop recording a little away from the door.
    let trim_max = (0.1 * path.length()).min(150.0);
    let trim = (rng.uniform(0.0, trim_max), rng.uniform(0.0, trim_max));
    let segments = record(&city.frame, &mut rng, &motion, &path, slot.start_ms, trim);
    ParsedActivity {
        segments,
        kind: ActivityKind::Track,
        sport: Some(slot.sport.name().to_string()),
        title: Some(title(&mut rng, slot.sport, slot.local_minute)),
        start_time: Some(slot.start_ms),
    }
}

/// A route of about `target` metres: from a home (sometimes another town
/// spot, like work), sometimes a random detour first, then through a few
/// places and back, or out and back the same way.
fn route(router: &Router, city: &City, rng: &mut Rng, sport: Sport, target: f64) -> Vec<Step> {
    const HOME_WEIGHTS: [f64; 5] = [0.45, 0.25, 0.15, 0.1, 0.05];
    let homes = router.homes.min(HOME_WEIGHTS.len());
    let home = if homes == router.towns || rng.chance(0.9) {
        rng.weighted(&HOME_WEIGHTS[..homes])
    } else {
        homes + rng.below(router.towns - homes)
    };
    let (wander_chance, wander_share) = match sport {
        Sport::Ride => (0.4, (0.05, 0.2)),
        Sport::Run => (0.6, (0.1, 0.4)),
    };
    let out_and_back = rng.chance(0.25);
    // An out-and-back covers everything twice.
    let target = if out_and_back { target / 2.0 } else { target };

    let mut b = RouteBuilder::new(city, router.places[home]);
    if rng.chance(wander_chance) {
        let detour = target * rng.uniform(wander_share.0, wander_share.1);
        b.wander(rng, detour);
    }
    let budget = target - b.metres;
    let visit = choose_waypoints(router, rng, b.node, home, budget, out_and_back);
    let visit = visit.unwrap_or_else(|| {
        // No place near enough: wander out the rest of the way (half of it
        // for a loop, which then heads home).
        let share = if out_and_back { 1.0 } else { 0.5 };
        b.wander(rng, budget * share);
        Vec::new()
    });
    for &place in &visit {
        b.go_to(router, place);
    }
    if out_and_back {
        b.retrace();
    } else {
        b.go_to(router, home);
    }
    b.steps
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::city::haversine_m;
    use crate::{ANCHOR, generate};

    fn small() -> DemoConfig {
        DemoConfig {
            rides: 40,
            runs: 20,
            ..DemoConfig::default()
        }
    }

    fn median(mut xs: Vec<f64>) -> f64 {
        xs.sort_by(f64::total_cmp);
        xs[xs.len() / 2]
    }

    fn length_km(a: &ParsedActivity) -> f64 {
        a.segments
            .iter()
            .flat_map(|s| s.windows(2))
            .map(|w| haversine_m(w[0].lat, w[0].lon, w[1].lat, w[1].lon))
            .sum::<f64>()
            / 1000.0
    }

    #[test]
    fn generation_is_deterministic() {
        let cfg = DemoConfig {
            rides: 6,
            runs: 4,
            ..DemoConfig::default()
        };
        let (a, b) = (generate(&cfg), generate(&cfg));
        assert_eq!(a, b);
        let other = generate(&DemoConfig {
            seed: cfg.seed + 1,
            ..cfg
        });
        assert_ne!(a, other);
    }

    #[test]
    fn tiny_activities_still_have_tracks() {
        let cfg = DemoConfig {
            rides: 5,
            runs: 5,
            ride_km: (0.3, 1.0),
            ride_median_km: 0.5,
            run_km: (0.2, 0.5),
            run_median_km: 0.3,
            ..DemoConfig::default()
        };
        for a in generate(&cfg) {
            check_points(&a);
            assert!(length_km(&a) < 5.0);
        }
    }

    #[test]
    fn demo_can_be_shared_between_threads() {
        fn shareable<T: Send + Sync>() {}
        shareable::<crate::Demo>();
    }

    #[test]
    fn schedule_is_sorted_and_mixed() {
        let cfg = small();
        let slots = schedule(&cfg);
        assert_eq!(slots.len(), 60);
        assert!(slots.windows(2).all(|w| w[0].start_ms <= w[1].start_ms));
        assert_eq!(slots.iter().filter(|s| s.sport == Sport::Run).count(), 20);
        let first =
            days_from_civil(cfg.first_day.0 as i64, cfg.first_day.1, cfg.first_day.2) * MS_PER_DAY;
        let last = (days_from_civil(cfg.last_day.0 as i64, cfg.last_day.1, cfg.last_day.2) + 1)
            * MS_PER_DAY;
        assert!(
            slots
                .iter()
                .all(|s| (first - 3 * 3_600_000..last).contains(&s.start_ms))
        );
    }

    #[test]
    fn activities_are_realistic() {
        let cfg = small();
        let acts = generate(&cfg);
        assert_eq!(acts.len(), 60);
        let mut ride_km = Vec::new();
        let mut run_km = Vec::new();
        for a in &acts {
            assert!(!a.segments.is_empty() && a.segments.len() <= 2);
            assert_eq!(a.start_time, a.segments[0][0].time);
            let km = length_km(a);
            match a.sport.as_deref() {
                Some("cycling") => ride_km.push(km),
                Some("running") => run_km.push(km),
                other => panic!("sport {other:?}"),
            }
            check_points(a);
        }
        let (ride, run) = (median(ride_km), median(run_km));
        assert!(
            (cfg.ride_km.0..=cfg.ride_km.1).contains(&ride),
            "median ride {ride} km"
        );
        assert!(
            (cfg.run_km.0..=cfg.run_km.1).contains(&run),
            "median run {run} km"
        );
        assert!(
            acts.iter().any(|a| a.segments.len() == 2),
            "some activity is paused"
        );
    }

    fn check_points(a: &ParsedActivity) {
        let mut last_time = i64::MIN;
        for seg in &a.segments {
            assert!(seg.len() >= 2);
            for w in seg.windows(2) {
                let d = haversine_m(w[0].lat, w[0].lon, w[1].lat, w[1].lon);
                assert!(d <= 50.0, "{d} m between points");
                let dt = w[1].time.unwrap() - w[0].time.unwrap();
                assert!((1000..=5000).contains(&dt), "interval {dt} ms");
            }
            for p in seg {
                assert!(Point::is_valid_position(p.lat, p.lon));
                assert!(haversine_m(ANCHOR.0, ANCHOR.1, p.lat, p.lon) < 60_000.0);
                let t = p.time.unwrap();
                assert!(t > last_time, "times strictly increase");
                assert_eq!(t % 1000, 0, "whole seconds, as FIT stores them");
                last_time = t;
                assert!((-10.0..150.0).contains(&p.ele.unwrap()));
            }
        }
    }

    #[test]
    fn target_lengths_follow_config() {
        let mut rng = Rng::new(9);
        let xs: Vec<f64> = (0..2001)
            .map(|_| target_metres(&mut rng, (5.0, 100.0), 30.0) / 1000.0)
            .collect();
        assert!(xs.iter().all(|x| (5.0..=100.0).contains(x)));
        let m = median(xs);
        assert!((27.0..33.0).contains(&m), "median {m}");
    }

    #[test]
    fn gps_noise_is_correlated() {
        let mut rng = Rng::new(4);
        let mut ou = Ou::new(&mut rng, 3.0, GPS_TAU_S, 1.0);
        let xs: Vec<f64> = (0..20_000).map(|_| ou.step(&mut rng)).collect();
        let sd = (xs.iter().map(|x| x * x).sum::<f64>() / xs.len() as f64).sqrt();
        let step =
            (xs.windows(2).map(|w| (w[1] - w[0]).powi(2)).sum::<f64>() / xs.len() as f64).sqrt();
        assert!((2.0..4.0).contains(&sd), "sd {sd}");
        assert!(step < 1.0, "step {step}");
    }
}
