//! hotpot: personal GPS heatmaps from years of activity files.
//!
//! Data flows one way: [`ingest`] parses GPX, TCX and FIT files into
//! [`store`] (SQLite); a [`scene`] loads tracks from it; a [`render`]er turns
//! them into density, a colormap into colours, and the encoder into PNG.
//! [`demo`] makes realistic data for the demo, tests and benchmarks.

pub mod demo;
pub mod export;
pub mod filter;
pub mod geo;
pub mod ingest;
pub mod privacy;
pub mod progress;
pub mod render;
pub mod scene;
pub mod serve;
pub mod store;
pub mod tiles;
pub mod timefmt;
