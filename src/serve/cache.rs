//! The cache of encoded tiles: moka's concurrent cache, bounded in bytes.
//!
//! Get-or-insert is the point: `try_get_with` runs one render per key and
//! hands its result to every request waiting for it, and when the request
//! that started a render goes away (Leaflet cancels tiles on every pan),
//! the next one waiting takes over. The hand-written "in flight" map this
//! replaces kept an entry nobody completed after such a cancel, and every
//! later request for that tile hung (issue 10, item 1).
//!
//! Keys carry the style and the tile; data changes invalidate only the
//! tiles whose area new tracks touch, so the rest stays warm.

use super::error::TileError;
use crate::geo::{UnitRect, tile_rect};
use axum::body::Bytes;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TileKey {
    pub style: String,
    pub z: u8,
    pub x: u32,
    pub y: u32,
    /// Pixels per side (256, 512, 1024).
    pub size: u32,
}

#[derive(Debug, Clone)]
pub struct CachedTile {
    /// Empty for "nothing drawn here".
    pub png: Bytes,
    pub etag: String,
}

impl CachedTile {
    /// A tile and its ETag, a hash of its bytes (the same for the same
    /// tile whether rendered now or pre-rendered).
    pub fn new(png: Bytes) -> CachedTile {
        let etag = format!("\"{:016x}\"", xxhash_rust::xxh3::xxh3_64(&png));
        CachedTile { png, etag }
    }
}

pub struct TileCache {
    inner: moka::future::Cache<TileKey, CachedTile>,
    pub hits: AtomicU64,
    pub misses: AtomicU64,
}

/// What an entry costs beside its PNG: the key, the ETag, moka's own
/// bookkeeping. Empty tiles weigh this much too, so they count.
const ENTRY_OVERHEAD: usize = 128;

impl TileCache {
    pub fn new(capacity_bytes: usize) -> TileCache {
        let inner = moka::future::Cache::builder()
            .max_capacity(capacity_bytes as u64)
            .weigher(|k: &TileKey, v: &CachedTile| {
                (v.png.len() + k.style.len() + ENTRY_OVERHEAD).min(u32::MAX as usize) as u32
            })
            .build();
        TileCache {
            inner,
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    /// The tile if cached; counts a hit or a miss.
    pub async fn get(&self, key: &TileKey) -> Option<CachedTile> {
        let t = self.inner.get(key).await;
        let counter = if t.is_some() {
            &self.hits
        } else {
            &self.misses
        };
        counter.fetch_add(1, Ordering::Relaxed);
        t
    }

    /// The tile, made by `init` unless cached or already being made, in
    /// which case this waits for that one. Errors are not cached.
    pub async fn get_or_make(
        &self,
        key: TileKey,
        init: impl Future<Output = Result<CachedTile, TileError>>,
    ) -> Result<CachedTile, Arc<TileError>> {
        self.inner.try_get_with(key, init).await
    }

    /// Drops every tile whose area (grown by `margin` of a tile, for line
    /// width) meets one of `areas`. Returns how many were dropped.
    pub async fn invalidate(&self, areas: &[UnitRect], margin: f64) -> usize {
        if areas.is_empty() {
            return 0;
        }
        let stale: Vec<Arc<TileKey>> = self
            .inner
            .iter()
            .map(|(k, _)| k)
            .filter(|k| {
                let r = tile_rect(k.z, k.x, k.y).padded(margin, 0.0);
                areas
                    .iter()
                    .any(|a| a.x1 >= r.x0 && a.x0 <= r.x1 && a.y1 >= r.y0 && a.y0 <= r.y1)
            })
            .collect();
        for k in &stale {
            self.inner.invalidate(k.as_ref()).await;
        }
        stale.len()
    }

    /// Drops everything; returns how many tiles there were.
    pub fn clear(&self) -> usize {
        let n = self.inner.entry_count() as usize;
        self.inner.invalidate_all();
        n
    }

    /// Tiles held (moka counts lazily: close, not exact, under load).
    pub fn len(&self) -> usize {
        self.inner.entry_count() as usize
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes held by the weigher's measure.
    pub fn bytes(&self) -> usize {
        self.inner.weighted_size() as usize
    }

    /// Applies moka's pending bookkeeping, so `len` and `bytes` are exact.
    pub async fn settle(&self) {
        self.inner.run_pending_tasks().await;
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

    async fn put(c: &TileCache, x: u32, n: usize) {
        c.get_or_make(key(x), async move { Ok(tile(n)) })
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn stays_within_its_bytes() {
        let c = TileCache::new(10_000);
        for x in 0..100 {
            put(&c, x, 1000).await;
        }
        c.settle().await;
        assert!(c.bytes() <= 10_000, "{} bytes", c.bytes());
        assert!(!c.is_empty() && c.len() < 10);
    }

    #[tokio::test]
    async fn makes_a_tile_once_and_not_an_error() {
        let c = TileCache::new(1 << 20);
        let made = AtomicU64::new(0);
        for _ in 0..3 {
            let t = c
                .get_or_make(key(1), async {
                    made.fetch_add(1, Ordering::Relaxed);
                    Ok(tile(10))
                })
                .await;
            assert!(t.is_ok());
        }
        assert_eq!(made.load(Ordering::Relaxed), 1);
        let failed = c
            .get_or_make(key(2), async { Err(TileError::Encode("x".into())) })
            .await;
        assert!(failed.is_err());
        assert!(c.get(&key(2)).await.is_none(), "errors are not cached");
    }

    #[tokio::test]
    async fn invalidates_only_touched_tiles() {
        let c = TileCache::new(1 << 20);
        for x in 0..10 {
            put(&c, x, 10).await;
        }
        let touched = tile_rect(10, 4, 300);
        let area = UnitRect {
            x0: touched.x0 + 1e-6,
            y0: touched.y0 + 1e-6,
            x1: touched.x0 + 2e-6,
            y1: touched.y0 + 2e-6,
        };
        assert_eq!(c.invalidate(&[area], 0.0).await, 1);
        assert!(c.get(&key(4)).await.is_none() && c.get(&key(5)).await.is_some());
    }
}
