//! The stored form of a track: fixed-point world coordinates, delta and
//! varint encoded, with segment breaks.
//!
//! Layout (version 1):
//! `version u8 = 1`, `varint segment_count`, `varint points` per segment,
//! then every point: the first as two plain varints, the rest as zigzag
//! varint deltas from the previous point (deltas run across segment breaks,
//! the counts say where the breaks are). A GPS point sampled every second or
//! so moves a few metres, i.e. a few hundred world units: 2-3 bytes per axis.

use crate::geo::WorldPoint;

const VERSION: u8 = 1;

/// A decoded track: all points plus where each segment starts.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Track {
    pub points: Vec<WorldPoint>,
    /// Start index of every segment in `points`; the first is always 0.
    pub segment_starts: Vec<u32>,
}

/// Why a stored blob could not be decoded (a corrupt or newer database).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TrackDecodeError {
    #[error("track blob is empty")]
    Empty,
    #[error("track blob has unknown version {0}")]
    Version(u8),
    #[error("track blob is truncated")]
    Truncated,
}

impl Track {
    pub fn from_segments(segments: &[Vec<WorldPoint>]) -> Track {
        let mut t = Track::default();
        for seg in segments.iter().filter(|s| !s.is_empty()) {
            t.segment_starts.push(t.points.len() as u32);
            t.points.extend_from_slice(seg);
        }
        t
    }

    /// The points of each segment.
    pub fn segments(&self) -> impl Iterator<Item = &[WorldPoint]> {
        let n = self.points.len();
        self.segment_starts.iter().enumerate().map(move |(i, &s)| {
            let end = self.segment_starts.get(i + 1).map_or(n, |&e| e as usize);
            &self.points[s as usize..end]
        })
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(8 + self.segment_starts.len() * 2 + self.points.len() * 5);
        out.push(VERSION);
        put_varint(&mut out, self.segment_starts.len() as u64);
        for (i, &s) in self.segment_starts.iter().enumerate() {
            let end = self
                .segment_starts
                .get(i + 1)
                .map_or(self.points.len() as u32, |&e| e);
            put_varint(&mut out, (end - s) as u64);
        }
        let mut prev = (0i64, 0i64);
        for p in &self.points {
            let cur = (p.x as i64, p.y as i64);
            put_varint(&mut out, zigzag(cur.0 - prev.0));
            put_varint(&mut out, zigzag(cur.1 - prev.1));
            prev = cur;
        }
        out
    }

    pub fn decode(blob: &[u8]) -> Result<Track, TrackDecodeError> {
        let (&version, mut rest) = blob.split_first().ok_or(TrackDecodeError::Empty)?;
        if version != VERSION {
            return Err(TrackDecodeError::Version(version));
        }
        let nseg = get_varint(&mut rest)? as usize;
        let mut segment_starts = Vec::with_capacity(nseg.min(rest.len()));
        let mut total = 0u64;
        for _ in 0..nseg {
            segment_starts.push(total as u32);
            total += get_varint(&mut rest)?;
        }
        // Two bytes per point at the very least: reject absurd counts before
        // allocating for them.
        if total > rest.len() as u64 {
            return Err(TrackDecodeError::Truncated);
        }
        let mut points = Vec::with_capacity(total as usize);
        let (mut x, mut y) = (0i64, 0i64);
        for _ in 0..total {
            x += unzigzag(get_varint(&mut rest)?);
            y += unzigzag(get_varint(&mut rest)?);
            points.push(WorldPoint {
                x: x as u32,
                y: y as u32,
            });
        }
        Ok(Track {
            points,
            segment_starts,
        })
    }
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn get_varint(input: &mut &[u8]) -> Result<u64, TrackDecodeError> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let (&b, rest) = input.split_first().ok_or(TrackDecodeError::Truncated)?;
        *input = rest;
        v |= ((b & 0x7f) as u64) << shift;
        if b < 0x80 {
            return Ok(v);
        }
    }
    Err(TrackDecodeError::Truncated)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wp(x: u32, y: u32) -> WorldPoint {
        WorldPoint { x, y }
    }

    #[test]
    fn round_trip_keeps_segments_and_extremes() {
        let t = Track::from_segments(&[
            vec![wp(0, 0), wp(u32::MAX, u32::MAX), wp(5, 7)],
            vec![],
            vec![wp(1_000_000, 2_000_000)],
        ]);
        assert_eq!(t.segment_starts, vec![0, 3]);
        let back = Track::decode(&t.encode()).unwrap();
        assert_eq!(back, t);
        let segs: Vec<_> = back.segments().map(|s| s.len()).collect();
        assert_eq!(segs, vec![3, 1]);
    }

    #[test]
    fn gps_steps_take_few_bytes() {
        let pts: Vec<_> = (0..1000)
            .map(|i| wp(2_000_000_000 + i * 300, 1_300_000_000 - i * 200))
            .collect();
        let blob = Track::from_segments(&[pts]).encode();
        assert!(blob.len() < 1000 * 5, "{} bytes", blob.len());
    }

    #[test]
    fn corrupt_blobs_are_errors_not_panics() {
        let blob = Track::from_segments(&[vec![wp(1, 2), wp(3, 4)]]).encode();
        for cut in 0..blob.len() {
            assert!(Track::decode(&blob[..cut]).is_err());
        }
        assert_eq!(Track::decode(&[9]), Err(TrackDecodeError::Version(9)));
        assert!(
            Track::decode(&[
                1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff
            ])
            .is_err()
        );
    }
}
