//! An in-memory LRU of encoded tiles, bounded in bytes.
//!
//! Keys carry the style and the tile; data changes invalidate only the
//! tiles whose area new tracks touch, so the rest stays warm.

use crate::geo::{UnitRect, tile_rect};
use axum::body::Bytes;
use std::collections::{BTreeMap, HashMap};

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TileKey {
    pub style: String,
    pub z: u8,
    pub x: u32,
    pub y: u32,
    /// Pixels per side (256, 512).
    pub size: u32,
}

#[derive(Debug, Clone)]
pub struct CachedTile {
    pub png: Bytes,
    pub etag: String,
}

#[derive(Debug, Default)]
pub struct TileCache {
    capacity: usize,
    bytes: usize,
    tick: u64,
    entries: HashMap<TileKey, (CachedTile, u64)>,
    order: BTreeMap<u64, TileKey>,
    pub hits: u64,
    pub misses: u64,
}

impl TileCache {
    pub fn new(capacity_bytes: usize) -> TileCache {
        TileCache {
            capacity: capacity_bytes,
            ..TileCache::default()
        }
    }

    pub fn get(&mut self, key: &TileKey) -> Option<CachedTile> {
        self.tick += 1;
        let tick = self.tick;
        match self.entries.get_mut(key) {
            Some((tile, used)) => {
                self.order.remove(used);
                *used = tick;
                self.order.insert(tick, key.clone());
                self.hits += 1;
                Some(tile.clone())
            }
            None => {
                self.misses += 1;
                None
            }
        }
    }

    pub fn insert(&mut self, key: TileKey, tile: CachedTile) {
        self.remove(&key);
        self.tick += 1;
        self.bytes += tile.png.len();
        self.order.insert(self.tick, key.clone());
        self.entries.insert(key, (tile, self.tick));
        while self.bytes > self.capacity {
            let Some((_, oldest)) = self.order.pop_first() else {
                break;
            };
            if let Some((t, _)) = self.entries.remove(&oldest) {
                self.bytes -= t.png.len();
            }
        }
    }

    fn remove(&mut self, key: &TileKey) {
        if let Some((t, used)) = self.entries.remove(key) {
            self.bytes -= t.png.len();
            self.order.remove(&used);
        }
    }

    /// Drops every tile whose area (grown by `margin` of a tile, for line
    /// width) meets one of `areas`. Returns how many were dropped.
    pub fn invalidate(&mut self, areas: &[UnitRect], margin: f64) -> usize {
        let stale: Vec<TileKey> = self
            .entries
            .keys()
            .filter(|k| {
                let r = tile_rect(k.z, k.x, k.y).padded(margin, 0.0);
                areas
                    .iter()
                    .any(|a| a.x1 >= r.x0 && a.x0 <= r.x1 && a.y1 >= r.y0 && a.y0 <= r.y1)
            })
            .cloned()
            .collect();
        for k in &stale {
            self.remove(k);
        }
        stale.len()
    }

    pub fn clear(&mut self) {
        self.entries.clear();
        self.order.clear();
        self.bytes = 0;
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn bytes(&self) -> usize {
        self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(x: u32) -> TileKey {
        TileKey {
            style: "s".into(),
            z: 10,
            x,
            y: 300,
            size: 256,
        }
    }

    fn tile(n: usize) -> CachedTile {
        CachedTile {
            png: Bytes::from(vec![0u8; n]),
            etag: "\"e\"".into(),
        }
    }

    #[test]
    fn evicts_least_recently_used_by_bytes() {
        let mut c = TileCache::new(250);
        c.insert(key(1), tile(100));
        c.insert(key(2), tile(100));
        assert!(c.get(&key(1)).is_some());
        c.insert(key(3), tile(100));
        assert!(c.get(&key(2)).is_none(), "2 was least recently used");
        assert!(c.get(&key(1)).is_some() && c.get(&key(3)).is_some());
        assert_eq!(c.bytes(), 200);
    }

    #[test]
    fn invalidates_only_touched_tiles() {
        let mut c = TileCache::new(1 << 20);
        for x in 0..10 {
            c.insert(key(x), tile(10));
        }
        let touched = tile_rect(10, 4, 300);
        let area = UnitRect {
            x0: touched.x0 + 1e-6,
            y0: touched.y0 + 1e-6,
            x1: touched.x0 + 2e-6,
            y1: touched.y0 + 2e-6,
        };
        assert_eq!(c.invalidate(&[area], 0.0), 1);
        assert!(c.get(&key(4)).is_none() && c.get(&key(5)).is_some());
    }
}
