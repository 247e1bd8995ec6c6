//! hotpot: personal GPS heatmaps from years of activity files.
//!
//! Data flows one way: [`ingest`] parses GPX, TCX and FIT files into
//! [`store`] (SQLite); a [`scene`] loads tracks from it; a [`render`]er turns
//! them into density, a colormap into colours, and the encoder into PNG.
//! The shared vocabulary (projection, activities, tracks, masks) is the
//! `hotpot-model` crate, re-exported here as [`geo`] and [`timefmt`]; the
//! demo generator is the `hotpot-demo` crate, which only the binary and the
//! tests use.

pub mod explorer;
pub mod export;
pub mod filter;
pub use hotpot_model::{geo, timefmt};
pub mod ingest;
pub mod progress;
pub mod render;
pub mod scene;
pub mod serve;
pub mod store;
pub mod sync;
pub mod text;
pub mod tiles;
pub mod timelapse;
