//! The vocabulary every stage of hotpot shares: the Web Mercator projection
//! and tiles ([`geo`]), an activity as sources produce it ([`activity`]), a
//! track as the store keeps it and the renderers draw it ([`track`]), privacy
//! masks ([`mask`]), times ([`timefmt`]) and the FIT protocol constants its
//! reader and writer share ([`fit`]).
//!
//! It depends on nothing of hotpot's, so ingest, store, scene, render, serve
//! and export (and the demo generator) all sit on it and never reach back up.

pub mod activity;
pub mod fit;
pub mod geo;
pub mod mask;
pub mod timefmt;
pub mod track;
