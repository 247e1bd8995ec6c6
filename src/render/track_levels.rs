//! The CPU renderer's levels of detail, built track by track on first use.
//!
//! A whole [`Level`] simplifies every point of the scene: on the 2,000-ride
//! benchmark set (14 M points) that is the first tile of every zoom waiting
//! for all of it. A tile needs only the tracks whose boxes meet it, so each
//! track's runs are built the first time a job meets its box, and kept:
//! the slowest cold z14-z16 tiles went from 1.1-1.2 s to 0.5-0.6 s (issue
//! run of `benches/serve.rs`, shared 2-core machine at load 12-15; long
//! rides' boxes still cover the city, so a centre tile builds most tracks). A track's runs are the same whichever job
//! builds them (simplification sees one track at a time), and fixed-point
//! sums do not depend on order, so pictures are the same bit for bit as
//! from a whole level.

use super::RenderJob;
use super::lod::{self, Level, LevelKey, Run};
use super::mask::Mask;
use crate::scene::Scene;
use rayon::prelude::*;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

pub struct LazyLevel {
    key: LevelKey,
    masks: Vec<Mask>,
    /// One per scene track, in scene order.
    tracks: Vec<OnceLock<Level>>,
    /// Points built so far, for the cache's weight.
    points: AtomicU64,
}

impl LazyLevel {
    /// An empty level of `scene` (cheap: nothing is simplified yet).
    pub fn new(scene: &Scene, key: LevelKey) -> LazyLevel {
        LazyLevel {
            key,
            masks: lod::widened_masks(scene, key),
            tracks: scene.tracks.iter().map(|_| OnceLock::new()).collect(),
            points: AtomicU64::new(0),
        }
    }

    /// Bytes held, about: a point is 8 bytes, a run 32 over 16 points.
    pub fn weight(&self) -> u64 {
        self.points.load(Ordering::Relaxed) * 10
    }

    /// The runs that can touch `job`'s pixels, in scene order, building
    /// the tracks they belong to where that is needed. `scene` must be the
    /// scene the level was made for.
    pub fn visible_runs<'l>(&'l self, scene: &Scene, job: &RenderJob) -> Vec<(&'l Level, &'l Run)> {
        let rect = lod::reach_rect(job);
        self.build_for(scene, job)
            .into_iter()
            .flat_map(|i| {
                let level = self.track(scene, i);
                level
                    .runs
                    .iter()
                    .filter(move |r| r.touches(rect))
                    .map(move |r| (level, r))
            })
            .collect()
    }

    /// Builds (on all threads) the tracks whose boxes meet `job`'s reach,
    /// and returns their indices in scene order.
    pub fn build_for(&self, scene: &Scene, job: &RenderJob) -> Vec<usize> {
        let rect = lod::reach_rect(job);
        let meets = |b: [u32; 4]| {
            (b[2] as f64) >= rect[0]
                && (b[0] as f64) <= rect[2]
                && (b[3] as f64) >= rect[1]
                && (b[1] as f64) <= rect[3]
        };
        let hit: Vec<usize> = (0..self.tracks.len())
            .filter(|&i| meets(scene.tracks[i].bbox))
            .collect();
        hit.par_iter()
            .filter(|&&i| self.tracks[i].get().is_none())
            .for_each(|&i| {
                self.track(scene, i);
            });
        hit
    }

    /// Track `i`'s runs, built on first use.
    fn track(&self, scene: &Scene, i: usize) -> &Level {
        self.tracks[i].get_or_init(|| {
            let mut level = Level::default();
            level.push_track(&scene.tracks[i].track, &self.masks, self.key.level);
            self.points
                .fetch_add(level.points.len() as u64, Ordering::Relaxed);
            level
        })
    }
}
