//! All integration tests build into this one binary (linking is slow on
//! small machines); each module covers one area.

mod cli;
mod compat;
mod corpus;
mod crash;
mod dashboard;
mod explorer;
mod export;
mod gpu;
mod hostile;
mod import;
mod import_sources;
mod manage;
mod mutated;
mod poster;
mod prerender;
mod privacy;
mod render_semantics;
mod serve;
mod support;
mod sync;
mod sync_fake;
mod timelapse;
mod tone;
