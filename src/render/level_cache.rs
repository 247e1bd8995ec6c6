//! Prepared geometry kept between renders: per scene and [`LevelKey`], least
//! recently used first out. Both renderers keep their own (CPU: simplified
//! runs in memory; GPU: resident buffers), so that switching between a few
//! filtered scenes, or zooms, never rebuilds or re-uploads what was used
//! moments ago.

use super::lod::LevelKey;
use std::collections::HashMap;

pub(crate) struct LevelCache<T> {
    entries: HashMap<(u64, LevelKey), (T, u64)>,
    tick: u64,
    max_entries: usize,
    max_weight: u64,
    weight: fn(&T) -> u64,
}

impl<T> LevelCache<T> {
    /// Keeps at most `max_entries`, and at most `max_weight` by `weight`
    /// (bytes, say) beyond what the current render needs.
    pub fn new(max_entries: usize, max_weight: u64, weight: fn(&T) -> u64) -> LevelCache<T> {
        LevelCache {
            entries: HashMap::new(),
            tick: 0,
            max_entries,
            max_weight,
            weight,
        }
    }

    /// Marks the start of a render: entries used from now on are "current"
    /// and never evicted until the next one.
    pub fn begin(&mut self) -> u64 {
        self.tick += 1;
        self.tick
    }

    pub(crate) fn get_or_build(
        &mut self,
        scene: u64,
        key: LevelKey,
        build: impl FnOnce() -> T,
    ) -> &T {
        let now = self.tick;
        let entry = self
            .entries
            .entry((scene, key))
            .or_insert_with(|| (build(), now));
        entry.1 = now;
        &entry.0
    }

    pub fn get(&self, scene: u64, key: LevelKey) -> Option<&T> {
        self.entries.get(&(scene, key)).map(|(t, _)| t)
    }

    /// Drops least recently used entries (never those of the current
    /// render) until the limits hold.
    pub(crate) fn evict(&mut self) {
        loop {
            let total: u64 = self.entries.values().map(|(t, _)| (self.weight)(t)).sum();
            if self.entries.len() <= self.max_entries && total <= self.max_weight {
                return;
            }
            let oldest = self
                .entries
                .iter()
                .filter(|(_, (_, used))| *used < self.tick)
                .min_by_key(|(_, (_, used))| *used);
            let Some((&key, _)) = oldest else { return };
            self.entries.remove(&key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(level: u8) -> LevelKey {
        LevelKey { level, mask_px: 0 }
    }

    #[test]
    fn keeps_recent_levels_of_several_scenes() {
        let mut c: LevelCache<u64> = LevelCache::new(3, 1000, |w| *w);
        let mut builds = 0;
        for (scene, level) in [(1, 10), (2, 10), (1, 12), (1, 10), (3, 10)] {
            c.begin();
            c.get_or_build(scene, key(level), || {
                builds += 1;
                100
            });
            c.evict();
        }
        assert_eq!(
            builds, 4,
            "scene 1 level 10 was still cached the second time"
        );
        assert!(
            c.get(2, key(10)).is_none(),
            "least recently used went first"
        );
        assert!(c.get(1, key(10)).is_some() && c.get(3, key(10)).is_some());
    }

    #[test]
    fn weight_limit_spares_the_current_render() {
        let mut c: LevelCache<u64> = LevelCache::new(10, 150, |w| *w);
        c.begin();
        c.get_or_build(1, key(1), || 100);
        c.begin();
        c.get_or_build(1, key(2), || 100);
        c.get_or_build(1, key(3), || 100);
        c.evict();
        assert!(c.get(1, key(1)).is_none());
        assert!(
            c.get(1, key(2)).is_some() && c.get(1, key(3)).is_some(),
            "over budget but in use"
        );
    }
}
