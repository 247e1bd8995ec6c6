//! Privacy masks: circles on the ground that no output ever draws into.

/// A privacy zone: nothing within `radius_m` ground metres of (`lat`, `lon`)
/// is ever drawn.
#[derive(Debug, Clone, PartialEq)]
pub struct Mask {
    pub name: String,
    pub lat: f64,
    pub lon: f64,
    pub radius_m: f64,
}
