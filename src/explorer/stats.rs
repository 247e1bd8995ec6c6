//! What a set of visited tiles adds up to: the max square, the max cluster,
//! new tiles per year and the unvisited tiles around the cluster.
//!
//! Definitions follow the explorer sites riders already use (statshunters,
//! VeloViewer): the max square is the largest N×N block of visited tiles;
//! a cluster tile is a visited tile whose four neighbours are all visited,
//! and the max cluster is the largest 4-connected set of cluster tiles.

use super::TileXY;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};

/// A visited tile and when it was first visited (unix ms; `None` when no
/// activity through it has a start time).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Visit {
    pub tile: TileXY,
    pub(crate) first_ms: Option<i64>,
}

/// The largest all-visited N×N block: its top-left tile and N.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Square {
    pub x: u32,
    pub y: u32,
    pub size: u32,
}

/// Everything `hotpot explorer` prints.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ExplorerStats {
    pub zoom: u8,
    pub visited: usize,
    pub max_square: Option<Square>,
    /// Tiles in the max cluster.
    pub max_cluster: usize,
    /// Year (UTC) → tiles first visited that year; `"unknown"` for tiles
    /// only visited by activities without a start time.
    pub new_per_year: BTreeMap<String, usize>,
}

impl ExplorerStats {
    pub fn compute(zoom: u8, visits: &[Visit]) -> ExplorerStats {
        let set: HashSet<TileXY> = visits.iter().map(|v| v.tile).collect();
        let mut new_per_year = BTreeMap::new();
        for v in visits {
            let key = v.first_ms.map_or("unknown".to_string(), |ms| {
                crate::timefmt::date(ms)[..4].to_string()
            });
            *new_per_year.entry(key).or_insert(0) += 1;
        }
        ExplorerStats {
            zoom,
            visited: set.len(),
            max_square: max_square(&set),
            max_cluster: max_cluster(&set).len(),
            new_per_year,
        }
    }
}

/// The largest N×N block of tiles all in `set` (the top-left-most of equal
/// ones), by the classic dynamic programme over rows: the block ending at a
/// tile is one more than the smallest of those ending left, above and
/// diagonally above-left of it.
pub fn max_square(set: &HashSet<TileXY>) -> Option<Square> {
    let mut tiles: Vec<TileXY> = set.iter().copied().collect();
    tiles.sort_by_key(|&(x, y)| (y, x));
    let mut size: HashMap<TileXY, u32> = HashMap::with_capacity(tiles.len());
    let mut best: Option<Square> = None;
    for (x, y) in tiles {
        let at = |dx: u32, dy: u32| -> u32 {
            match (x.checked_sub(dx), y.checked_sub(dy)) {
                (Some(px), Some(py)) => size.get(&(px, py)).copied().unwrap_or(0),
                _ => 0,
            }
        };
        let n = 1 + at(1, 0).min(at(0, 1)).min(at(1, 1));
        size.insert((x, y), n);
        let sq = Square {
            x: x + 1 - n,
            y: y + 1 - n,
            size: n,
        };
        let better = best.is_none_or(|b| n > b.size || (n == b.size && (sq.y, sq.x) < (b.y, b.x)));
        if better {
            best = Some(sq);
        }
    }
    best
}

fn neighbours((x, y): TileXY) -> impl Iterator<Item = TileXY> {
    [
        x.checked_sub(1).map(|x| (x, y)),
        x.checked_add(1).map(|x| (x, y)),
        y.checked_sub(1).map(|y| (x, y)),
        y.checked_add(1).map(|y| (x, y)),
    ]
    .into_iter()
    .flatten()
}

/// Visited tiles whose four neighbours are all visited.
pub(crate) fn cluster_tiles(set: &HashSet<TileXY>) -> HashSet<TileXY> {
    set.iter()
        .copied()
        .filter(|&t| neighbours(t).filter(|n| set.contains(n)).count() == 4)
        .collect()
}

/// The largest 4-connected set of cluster tiles (on a tie, the one holding
/// the smallest tile, so the answer never depends on hashing order).
pub fn max_cluster(set: &HashSet<TileXY>) -> BTreeSet<TileXY> {
    let inner = cluster_tiles(set);
    let mut seen: HashSet<TileXY> = HashSet::with_capacity(inner.len());
    let mut starts: Vec<TileXY> = inner.iter().copied().collect();
    starts.sort_unstable();
    let mut best = BTreeSet::new();
    for start in starts {
        if !seen.insert(start) {
            continue;
        }
        let mut component = BTreeSet::from([start]);
        let mut queue = VecDeque::from([start]);
        while let Some(t) = queue.pop_front() {
            for n in neighbours(t) {
                if inner.contains(&n) && seen.insert(n) {
                    component.insert(n);
                    queue.push_back(n);
                }
            }
        }
        if component.len() > best.len() {
            best = component;
        }
    }
    best
}

/// Unvisited tiles next to the max cluster's edge: neighbours of the
/// visited tiles that border the cluster. Visiting one can turn an edge
/// tile into a cluster tile, so these are the tiles that grow the cluster
/// (the list route planners import).
pub fn cluster_frontier(set: &HashSet<TileXY>) -> BTreeSet<TileXY> {
    let cluster = max_cluster(set);
    let edge: HashSet<TileXY> = cluster
        .iter()
        .flat_map(|&t| neighbours(t))
        .filter(|n| !cluster.contains(n))
        .collect();
    edge.into_iter()
        .flat_map(neighbours)
        .filter(|n| !set.contains(n))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(x0: u32, y0: u32, n: u32) -> HashSet<TileXY> {
        (x0..x0 + n)
            .flat_map(|x| (y0..y0 + n).map(move |y| (x, y)))
            .collect()
    }

    #[test]
    fn square_and_cluster_of_a_block() {
        let mut set = block(10, 20, 4);
        set.insert((14, 21)); // a spur
        assert_eq!(
            max_square(&set),
            Some(Square {
                x: 10,
                y: 20,
                size: 4
            })
        );
        // Inner 2x2 of the 4x4 block, plus (13, 21) whose right neighbour
        // is the spur.
        assert_eq!(
            max_cluster(&set),
            BTreeSet::from([(11, 21), (12, 21), (11, 22), (12, 22), (13, 21)])
        );
    }

    #[test]
    fn tiles_at_the_world_edge_never_wrap() {
        let set = block(0, 0, 3);
        assert_eq!(max_cluster(&set), BTreeSet::from([(1, 1)]));
        assert!(cluster_frontier(&set).contains(&(3, 1)));
    }
}
