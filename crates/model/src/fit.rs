//! Constants of the FIT protocol (Garmin's binary activity format) that its
//! reader (`hotpot::ingest::fit`) and its writer (the demo's FIT encoder)
//! must agree on.

/// FIT times count seconds from 1989-12-31T00:00:00Z; this is that instant
/// in unix seconds.
pub const FIT_EPOCH_UNIX_S: i64 = 631_065_600;

/// FIT time values below this are seconds since the device was switched on,
/// not UTC, so they cannot be placed on a calendar.
pub const FIT_MIN_UTC: u32 = 0x1000_0000;

/// Degrees per semicircle: 2^31 semicircles make 180 degrees.
pub const DEG_PER_SEMICIRCLE: f64 = 180.0 / 2_147_483_648.0;

/// Sport names the reader reports for trainer rides in a virtual world
/// ("virtual_ride", "virtual_<sport>") and for indoor cycling.
pub const VIRTUAL_PREFIX: &str = "virtual_";
pub const INDOOR_CYCLING: &str = "indoor_cycling";

/// FIT's CRC-16 (the SDK's nibble-table algorithm computes CRC-16/ARC),
/// one table lookup per byte.
pub fn crc16(mut crc: u16, bytes: &[u8]) -> u16 {
    for &byte in bytes {
        crc = (crc >> 8) ^ CRC_TABLE[usize::from((crc ^ u16::from(byte)) as u8)];
    }
    crc
}

const CRC_TABLE: [u16; 256] = {
    let mut table = [0u16; 256];
    let mut i = 0;
    while i < 256 {
        let mut crc = i as u16;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xA001
            } else {
                crc >> 1
            };
            bit += 1;
        }
        table[i] = crc;
        i += 1;
    }
    table
};
