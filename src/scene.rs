//! The tracks a render draws from, loaded once from the store and shared by
//! every render (poster strips, tile batches, both renderers).

use crate::filter::Filter;
use crate::geo::{UnitRect, WORLD_SIZE};
use crate::render::mask::Mask;
use crate::store::track::Track;
use crate::store::{Store, StoreError};

/// Tracks in id order (the order every renderer sums them in), each with its
/// bounding box for culling.
#[derive(Debug, Clone, Default)]
pub struct Scene {
    pub tracks: Vec<SceneTrack>,
    /// Unique per loaded scene (clones share it): renderers that keep
    /// tracks resident key their copy on it.
    pub id: u64,
    /// Privacy masks every render of this scene honours.
    pub masks: Vec<Mask>,
}

static NEXT_SCENE_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

#[derive(Debug, Clone)]
pub struct SceneTrack {
    pub id: i64,
    pub track: Track,
    /// min_x, min_y, max_x, max_y in world units.
    pub bbox: [u32; 4],
}

impl Scene {
    /// Loads every track, or only those whose box meets `area`, and of
    /// those only the ones that pass `filter`.
    pub fn load(
        store: &Store,
        area: Option<UnitRect>,
        filter: Option<&Filter>,
    ) -> Result<Scene, StoreError> {
        let rect = area.map(|r| {
            let f = |v: f64| (v * WORLD_SIZE).clamp(0.0, u32::MAX as f64) as u32;
            [f(r.x0), f(r.y0), f(r.x1), f(r.y1)]
        });
        let tracks = store.load_tracks(rect, filter)?;
        Ok(Scene {
            masks: store.masks()?,
            ..Scene::from_tracks(tracks)
        })
    }

    pub fn from_tracks(tracks: Vec<(i64, Track)>) -> Scene {
        let tracks = tracks
            .into_iter()
            .filter(|(_, t)| !t.points.is_empty())
            .map(|(id, track)| {
                let bbox = track
                    .points
                    .iter()
                    .fold([u32::MAX, u32::MAX, 0, 0], |b, p| {
                        [b[0].min(p.x), b[1].min(p.y), b[2].max(p.x), b[3].max(p.y)]
                    });
                SceneTrack { id, track, bbox }
            })
            .collect();
        let id = NEXT_SCENE_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Scene {
            tracks,
            id,
            masks: Vec::new(),
        }
    }

    pub fn num_points(&self) -> usize {
        self.tracks.iter().map(|t| t.track.points.len()).sum()
    }

    /// The box of all tracks in normalized Mercator units.
    pub fn bounds(&self) -> Option<UnitRect> {
        let b = self.tracks.iter().map(|t| t.bbox).reduce(|a, b| {
            [
                a[0].min(b[0]),
                a[1].min(b[1]),
                a[2].max(b[2]),
                a[3].max(b[3]),
            ]
        })?;
        Some(UnitRect::from_world_box(b))
    }
}
