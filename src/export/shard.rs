//! `--shard I/N`: one of N disjoint parts of a pyramid, balanced by work.
//!
//! Tiles are cut in tile-id order into N runs of about equal estimated
//! cost ([`TileWork::cost`]), not equal count: a z16 tile in the city
//! centre costs many times a z16 tile on a lone ride. Each part is a
//! contiguous tile-id range, so merged parts stay clustered.

use crate::tiles::TileWork;

/// A part of a pyramid: `index` of `count`, counted from 0 (Kubernetes
/// Indexed Jobs' `JOB_COMPLETION_INDEX`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

impl Shard {
    /// Parses `I/N` with `0 <= I < N`.
    pub fn parse(s: &str) -> Result<Shard, String> {
        let (i, n) = s
            .split_once('/')
            .ok_or_else(|| format!("{s:?}: expected I/N, e.g. 0/4"))?;
        let index: u32 = i
            .trim()
            .parse()
            .map_err(|_| format!("{i:?} is not a number"))?;
        let count: u32 = n
            .trim()
            .parse()
            .map_err(|_| format!("{n:?} is not a number"))?;
        if count == 0 || index >= count {
            return Err(format!(
                "shard {index}/{count}: I must be in 0..N (counted from 0)"
            ));
        }
        Ok(Shard { index, count })
    }

    /// This part's tiles of `tiles` (sorted by tile id).
    pub fn select<'a>(&self, tiles: &'a [TileWork]) -> &'a [TileWork] {
        let cuts = cuts(tiles, self.count);
        &tiles[cuts[self.index as usize]..cuts[self.index as usize + 1]]
    }
}

/// `count + 1` positions cutting `tiles` into runs of about equal cost: a
/// tile goes to the part its cost's midpoint falls in.
fn cuts(tiles: &[TileWork], count: u32) -> Vec<usize> {
    let total: u64 = tiles.iter().map(TileWork::cost).sum();
    let mut cuts = vec![0usize; count as usize + 1];
    let mut before = 0u64;
    let mut part = 0usize;
    for (i, t) in tiles.iter().enumerate() {
        let mid = 2 * before + t.cost();
        // The part whose share [p/N, (p+1)/N) of 2*total holds `mid`.
        while part + 1 < count as usize && mid >= 2 * total * (part as u64 + 1) / count as u64 {
            part += 1;
            cuts[part] = i;
        }
        before += t.cost();
    }
    for c in cuts.iter_mut().skip(part + 1) {
        *c = tiles.len();
    }
    cuts[count as usize] = tiles.len();
    cuts
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tiles::Tile;

    fn work(costs: &[u32]) -> Vec<TileWork> {
        costs
            .iter()
            .enumerate()
            .map(|(i, &c)| TileWork {
                tile: Tile::new(10, i as u32, 0),
                segments: c,
            })
            .collect()
    }

    #[test]
    fn parts_are_disjoint_complete_and_balanced_by_cost() {
        let mut costs = vec![0u32; 90];
        costs.extend([5000; 10]); // ten expensive tiles at the end
        let tiles = work(&costs);
        let parts: Vec<&[TileWork]> = (0..4)
            .map(|i| Shard { index: i, count: 4 }.select(&tiles))
            .collect();
        assert_eq!(parts.iter().map(|p| p.len()).sum::<usize>(), tiles.len());
        let cost = |p: &[TileWork]| p.iter().map(TileWork::cost).sum::<u64>();
        let total: u64 = cost(&tiles);
        for p in &parts {
            let share = cost(p) as f64 / total as f64;
            assert!((0.15..0.35).contains(&share), "share {share}");
        }
        assert!(parts[0].len() > 50, "cheap tiles go together");
    }

    #[test]
    fn more_parts_than_tiles_leaves_some_empty() {
        let tiles = work(&[1, 1]);
        let n: usize = (0..5)
            .map(|i| Shard { index: i, count: 5 }.select(&tiles).len())
            .sum();
        assert_eq!(n, 2);
    }

    #[test]
    fn parse_says_what_is_wrong() {
        assert_eq!(Shard::parse("1/3"), Ok(Shard { index: 1, count: 3 }));
        assert!(Shard::parse("3/3").unwrap_err().contains("0..N"));
        assert!(Shard::parse("x").is_err());
    }
}
