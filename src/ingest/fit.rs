//! Reads FIT files (Garmin's binary activity/course format) into [`Parsed`].
//!
//! The reader is deliberately lenient. FIT files come straight off devices
//! that crash, run out of battery or are written by buggy apps, and most of
//! the damage is at the end: a bad checksum, a missing or truncated tail, a
//! reference to a message type that was never defined, junk after the data.
//! Everything read before the damage is still a good track, so instead of
//! failing we keep it and describe the problem in [`Parsed::warnings`]. Only
//! a file that yields no position at all is an error.
//!
//! How the work is split, and why:
//! - We frame the file ourselves: headers (chained FIT files are read one
//!   after the other, each becoming its own activity), definition messages,
//!   message sizes, the CRCs. Knowing where every message starts is what
//!   lets us stop exactly at the damage and keep everything before it.
//! - Record messages, the only numerous ones, are decoded straight from
//!   their bytes. Running them through `fitparser` builds a hash map and
//!   several allocations per message: on a 100 000-record file that costs
//!   about 80 ms (over 200 ms with its profile decoding) against about 10 ms
//!   for our whole parse.
//! - The few summary messages we need (file id, session, sport, course) are
//!   decoded with `fitparser`'s [`FitStreamProcessor`], so names such as
//!   "cycling" or "course" are the FIT profile's own.

use std::fmt;
use std::panic::{self, AssertUnwindSafe};

use fitparser::de::{FitObject, FitStreamProcessor};
use fitparser::profile::MesgNum;
use fitparser::profile::field_types::{Event, EventType};
use fitparser::{FitDataRecord, Value};

use super::types::{ActivityKind, ParseError, Parsed, ParsedActivity, Point};
use hotpot_model::fit::{
    DEG_PER_SEMICIRCLE, FIT_EPOCH_UNIX_S, FIT_MIN_UTC, INDOOR_CYCLING, VIRTUAL_PREFIX, crc16,
};

const FIT_MIN_UTC_MS: i64 = (FIT_MIN_UTC as i64 + FIT_EPOCH_UNIX_S) * 1000;

/// Sub-sport that marks a ride or run done on a trainer in a virtual world
/// (Zwift and the like). Its positions are not places the athlete went, so
/// the sport is reported as "virtual_ride" (the importer's name for it) or
/// "virtual_<sport>" to let the importer tell it apart; likewise the
/// sub-sport "indoor_cycling" is reported as such.
const VIRTUAL_SUB_SPORT: &str = "virtual_activity";

const CRC_LEN: usize = 2;

/// Parses a FIT file, possibly chained, possibly damaged. Each chained file
/// with positions gives one activity; damage is reported in the warnings.
///
/// # Errors
/// [`ParseError::Unsupported`] when the bytes are not FIT at all,
/// [`ParseError::Malformed`] when damage leaves no position to keep, and
/// [`ParseError::NoPoints`] for intact FIT files that hold no positions
/// (settings, workouts, indoor sessions, ...).
pub fn parse_fit(bytes: &[u8]) -> Result<Parsed, ParseError> {
    Header::read(bytes).map_err(HeaderProblem::into_error)?;

    let mut warnings = Vec::new();
    let mut files = Vec::new();
    let mut offset = 0;
    while offset < bytes.len() {
        let rest = &bytes[offset..];
        let Ok(header) = Header::read(rest) else {
            warnings.push(format!(
                "ignored {} bytes of unreadable data after the FIT data at byte {offset}",
                rest.len()
            ));
            break;
        };
        let block = Block::new(rest, header, offset);
        files.push(read_block(&block, &mut warnings));
        offset += block.advance();
    }
    assemble(files, warnings)
}

/// The fixed part at the start of every FIT file (and of every chained one).
#[derive(Debug, Clone, Copy)]
struct Header {
    len: usize,
    data_len: usize,
    /// Only 14-byte headers have one, and 0 means "not computed".
    crc: Option<u16>,
}

enum HeaderProblem {
    NotFit,
    OddSize(u8),
    Truncated,
}

impl HeaderProblem {
    fn into_error(self) -> ParseError {
        let malformed = |message: &str| ParseError::Malformed {
            format: "FIT",
            message: message.to_string(),
        };
        match self {
            HeaderProblem::NotFit => ParseError::Unsupported("not a FIT file".to_string()),
            HeaderProblem::OddSize(n) => malformed(&format!("unsupported header size {n}")),
            HeaderProblem::Truncated => malformed("file ends inside its header"),
        }
    }
}

impl Header {
    fn read(bytes: &[u8]) -> Result<Header, HeaderProblem> {
        if bytes.get(8..12) != Some(b".FIT") {
            return Err(HeaderProblem::NotFit);
        }
        let len = bytes[0];
        if len != 12 && len != 14 {
            return Err(HeaderProblem::OddSize(len));
        }
        if bytes.len() < usize::from(len) {
            return Err(HeaderProblem::Truncated);
        }
        let data_len = u32::from_le_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]);
        let crc = (len == 14)
            .then(|| u16::from_le_bytes([bytes[12], bytes[13]]))
            .filter(|&crc| crc != 0);
        Ok(Header {
            len: usize::from(len),
            data_len: data_len as usize,
            crc,
        })
    }
}

/// One FIT file of a chain: its header, data and CRC, as far as present.
struct Block<'a> {
    /// From the header to the end of the whole input.
    bytes: &'a [u8],
    header: Header,
    /// Byte offset of the block in the whole input, for messages.
    start: usize,
    /// The header says "no data" but data follows: a recording the device
    /// never finalised. It is read to the end of the input.
    unfinished: bool,
}

impl<'a> Block<'a> {
    fn new(bytes: &'a [u8], header: Header, start: usize) -> Block<'a> {
        let after_empty = header.len + CRC_LEN;
        let unfinished = header.data_len == 0
            && bytes.len() > after_empty
            && Header::read(&bytes[after_empty..]).is_err();
        Block {
            bytes,
            header,
            start,
            unfinished,
        }
    }

    /// Where the data would end if the file were whole.
    fn declared_end(&self) -> usize {
        if self.unfinished {
            self.bytes.len()
        } else {
            self.header.len + self.header.data_len
        }
    }

    fn data(&self) -> &'a [u8] {
        &self.bytes[self.header.len..self.declared_end().min(self.bytes.len())]
    }

    fn advance(&self) -> usize {
        if self.unfinished {
            self.bytes.len()
        } else {
            self.declared_end() + CRC_LEN
        }
    }

    fn header_crc_ok(&self) -> bool {
        self.header
            .crc
            .is_none_or(|crc| crc == crc16(0, &self.bytes[..12]))
    }

    /// Checks the file CRC once all data was read; complains if it is wrong
    /// or missing. The SDK computes it over header and data together.
    fn check_crc(&self, file: &mut FileData, warnings: &mut Vec<String>) {
        if self.unfinished {
            return;
        }
        let end = self.declared_end();
        match self.bytes.get(end..end + CRC_LEN) {
            Some(stored)
                if u16::from_le_bytes([stored[0], stored[1]]) == crc16(0, &self.bytes[..end]) => {}
            Some(_) => warnings.push(format!(
                "bad file CRC at byte {} (data may be damaged)",
                self.start + end
            )),
            None => file.stop(
                Damage::Truncated,
                self.start + self.bytes.len().min(end),
                warnings,
            ),
        }
    }
}

fn read_block(block: &Block, warnings: &mut Vec<String>) -> FileData {
    if !block.header_crc_ok() {
        warnings.push(format!("bad header CRC at byte {}", block.start));
    }
    if block.unfinished {
        warnings.push(format!(
            "header at byte {} declares no data (unfinished recording?); read to the end",
            block.start
        ));
    }
    let mut file = FileData::default();
    let mut framer = Framer::default();
    let data = block.data();
    let mut pos = 0;
    while pos < data.len() {
        match framer.next_message(&data[pos..], &mut file) {
            Ok(len) => pos += len,
            Err(why) => {
                file.stop(why, block.start + block.header.len + pos, warnings);
                return file;
            }
        }
    }
    block.check_crc(&mut file, warnings);
    file
}

/// Fields we read without the profile decoder, by field number. In record
/// messages 0/1/2/78 are position_lat/position_long/altitude/
/// enhanced_altitude; in event messages 0/1 are event/event_type.
const TIMESTAMP: u8 = 253;
const WATCHED: [u8; 5] = [TIMESTAMP, 0, 1, 2, 78];

/// Where one watched field sits inside a data message.
#[derive(Debug, Clone, Copy)]
struct Spot {
    offset: usize,
    size: usize,
    base_type: u8,
}

/// What a definition message says about the data messages of its local
/// type: which global message they are and where our fields are.
#[derive(Debug, Clone)]
struct Definition {
    global: u16,
    big_endian: bool,
    /// Length of a data message, header byte included.
    data_len: usize,
    spots: [Option<Spot>; WATCHED.len()],
    /// Every field's size is a whole number of values of its type.
    /// fitparser prints a complaint to stderr for each field that is not.
    sizes_match: bool,
    /// fitparser knows this definition, so its messages can be decoded.
    profiled: bool,
}

impl Definition {
    /// Parses a definition message; returns it and its own length.
    fn parse(input: &[u8]) -> Result<(Definition, usize), Damage> {
        const FIXED_LEN: usize = 6;
        const HAS_DEVELOPER_FIELDS: u8 = 0x20;
        let fixed = input.get(..FIXED_LEN).ok_or(Damage::Truncated)?;
        // Anything but little- (0) or big-endian (1) means the data went
        // wrong earlier and we are reading garbage.
        let big_endian = match fixed[2] {
            0 => false,
            1 => true,
            _ => return Err(Damage::CorruptDefinition),
        };
        let global = [fixed[3], fixed[4]];
        let global = if big_endian {
            u16::from_be_bytes(global)
        } else {
            u16::from_le_bytes(global)
        };
        let fields_end = FIXED_LEN + 3 * usize::from(fixed[5]);
        let fields = input.get(FIXED_LEN..fields_end).ok_or(Damage::Truncated)?;
        let (developer_fields, end) = if fixed[0] & HAS_DEVELOPER_FIELDS != 0 {
            let count = usize::from(*input.get(fields_end).ok_or(Damage::Truncated)?);
            let end = fields_end + 1 + 3 * count;
            (
                input.get(fields_end + 1..end).ok_or(Damage::Truncated)?,
                end,
            )
        } else {
            (&[][..], fields_end)
        };

        let mut definition = Definition {
            global,
            big_endian,
            data_len: 1,
            spots: [None; WATCHED.len()],
            sizes_match: true,
            profiled: false,
        };
        for field in fields.chunks_exact(3) {
            let (number, size, base_type) = (field[0], usize::from(field[1]), field[2]);
            if let Some(slot) = WATCHED.iter().position(|&w| w == number) {
                definition.spots[slot] = Some(Spot {
                    offset: definition.data_len,
                    size,
                    base_type,
                });
            }
            definition.data_len += size;
            definition.sizes_match &= size % base_type_width(base_type) == 0;
        }
        // Developer fields only take up room.
        definition.data_len += developer_fields
            .chunks_exact(3)
            .map(|f| usize::from(f[1]))
            .sum::<usize>();
        Ok((definition, end))
    }

    /// A watched integer field of `message`, unless absent or invalid.
    fn int(&self, message: &[u8], number: u8) -> Option<i64> {
        let slot = WATCHED.iter().position(|&w| w == number)?;
        let spot = self.spots[slot]?;
        let bytes = message.get(spot.offset..spot.offset + spot.size)?;
        read_int(bytes, spot.base_type, self.big_endian)
    }
}

/// Bytes per value of a FIT base type (the low 5 bits number the type).
fn base_type_width(base_type: u8) -> usize {
    match base_type & 0x1F {
        3 | 4 | 11 => 2,
        5 | 6 | 8 | 12 => 4,
        9 | 14..=16 => 8,
        _ => 1,
    }
}

/// Decodes one integer of FIT base type `base_type` (the low 5 bits number
/// the type). Arrays, non-integers and FIT's "invalid" sentinels give None.
fn read_int(bytes: &[u8], base_type: u8, big_endian: bool) -> Option<i64> {
    // (width, signed, invalid value) per base type number.
    let (width, signed, invalid): (usize, bool, u64) = match base_type & 0x1F {
        0 | 2 | 13 => (1, false, 0xFF),
        1 => (1, true, 0x7F),
        3 => (2, true, 0x7FFF),
        4 => (2, false, 0xFFFF),
        5 => (4, true, 0x7FFF_FFFF),
        6 => (4, false, 0xFFFF_FFFF),
        10 => (1, false, 0),
        11 => (2, false, 0),
        12 => (4, false, 0),
        _ => return None,
    };
    if bytes.len() != width {
        return None;
    }
    let mut buf = [0u8; 8];
    let raw = if big_endian {
        buf[8 - width..].copy_from_slice(bytes);
        u64::from_be_bytes(buf)
    } else {
        buf[..width].copy_from_slice(bytes);
        u64::from_le_bytes(buf)
    };
    if raw == invalid {
        return None;
    }
    let unused_bits = 64 - 8 * width as u32;
    Some(if signed {
        ((raw << unused_bits) as i64) >> unused_bits
    } else {
        raw as i64
    })
}

/// Splits the data section into messages, keeping the definitions in force.
#[derive(Default)]
struct Framer {
    definitions: [Option<Definition>; 16],
    profile: ProfileDecoder,
}

impl Framer {
    /// Reads the message at the start of `input` into `file`; returns its
    /// length, or why reading cannot go on.
    fn next_message(&mut self, input: &[u8], file: &mut FileData) -> Result<usize, Damage> {
        const COMPRESSED_TIMESTAMP: u8 = 0x80;
        const DEFINITION: u8 = 0x40;
        let header = input[0];
        let (local, time_offset) = if header & COMPRESSED_TIMESTAMP != 0 {
            ((header >> 5) & 0x03, Some(header & 0x1F))
        } else if header & DEFINITION != 0 {
            return self.define(input);
        } else {
            (header & 0x0F, None)
        };
        let definition = self.definitions[usize::from(local)]
            .as_ref()
            .ok_or(Damage::UndefinedLocal(local))?;
        let message = input.get(..definition.data_len).ok_or(Damage::Truncated)?;
        file.take(definition, message, time_offset, &mut self.profile);
        Ok(definition.data_len)
    }

    fn define(&mut self, input: &[u8]) -> Result<usize, Damage> {
        let (mut definition, len) = Definition::parse(input)?;
        definition.profiled = ProfileDecoder::wants(definition.global)
            && definition.sizes_match
            && self.profile.learn(&input[..len]);
        self.definitions[usize::from(input[0] & 0x0F)] = Some(definition);
        Ok(len)
    }
}

/// Why reading a FIT file had to stop before its end.
#[derive(Debug, Clone, Copy)]
enum Damage {
    Truncated,
    CorruptDefinition,
    UndefinedLocal(u8),
}

impl fmt::Display for Damage {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            Damage::Truncated => write!(f, "truncated"),
            Damage::CorruptDefinition => write!(f, "corrupt definition message"),
            Damage::UndefinedLocal(n) => write!(f, "undefined local message type {n}"),
        }
    }
}

/// `fitparser` decoding of the summary messages, fed one message at a time.
struct ProfileDecoder {
    stream: FitStreamProcessor,
}

impl Default for ProfileDecoder {
    fn default() -> Self {
        // fitparser decides where the data ends from the header it saw. We
        // show it one that declares 4 GB of data, then hand it single
        // messages: framing, CRCs and the real end are handled above.
        const ENDLESS: [u8; 12] = [
            12, 0x10, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, b'.', b'F', b'I', b'T',
        ];
        let mut stream = FitStreamProcessor::new();
        let primed = stream.deserialize_next(&ENDLESS);
        debug_assert!(primed.is_ok());
        ProfileDecoder { stream }
    }
}

impl ProfileDecoder {
    /// Message types we decode. Field descriptions are never looked at, but
    /// fitparser needs them to read messages that carry developer fields.
    fn wants(global: u16) -> bool {
        matches!(
            MesgNum::from(global),
            MesgNum::FileId
                | MesgNum::Session
                | MesgNum::Sport
                | MesgNum::Course
                | MesgNum::FieldDescription
        )
    }

    /// Shows fitparser a definition; false if it could not read it.
    fn learn(&mut self, definition: &[u8]) -> bool {
        contain_panic(|| self.stream.deserialize_next(definition)).is_some()
    }

    fn decode(&mut self, message: &[u8]) -> Option<FitDataRecord> {
        contain_panic(|| match self.stream.deserialize_next(message)? {
            (_, FitObject::DataMessage(data)) => self.stream.decode_message(data).map(Some),
            _ => Ok(None),
        })
        .flatten()
    }
}

/// Runs a fitparser call; None if it failed. fitparser has arithmetic that
/// overflows on hostile input (a panic in debug builds): that must cost one
/// message, not the whole import.
fn contain_panic<T>(f: impl FnOnce() -> fitparser::Result<T>) -> Option<T> {
    panic::catch_unwind(AssertUnwindSafe(f)).ok()?.ok()
}

/// Keeps track of message time the way FIT defines it: a compressed-
/// timestamp header carries only 5 bits of seconds, relative to the last
/// full timestamp field seen in any message.
#[derive(Default)]
struct Clock {
    last: Option<u32>,
}

impl Clock {
    /// The time of a message in FIT seconds, if it has one.
    fn stamp(&mut self, time_offset: Option<u8>, timestamp: Option<i64>) -> Option<u32> {
        let time = match time_offset {
            Some(offset) => {
                let base = self.last?;
                let offset = u32::from(offset);
                let mut time = (base & !0x1F).wrapping_add(offset);
                if offset < base & 0x1F {
                    time = time.wrapping_add(0x20);
                }
                time
            }
            None => u32::try_from(timestamp?).ok()?,
        };
        self.last = Some(time);
        Some(time)
    }
}

/// Unix ms of a FIT time value, if it is a calendar time.
fn fit_time_ms(fit_seconds: u32) -> Option<i64> {
    (fit_seconds >= FIT_MIN_UTC).then(|| (i64::from(fit_seconds) + FIT_EPOCH_UNIX_S) * 1000)
}

/// What one FIT file of a chain told us.
#[derive(Default)]
struct FileData {
    file_type: Option<String>,
    course_name: Option<String>,
    session_sports: Vec<String>,
    /// From `sport` and `course` messages, used when there is no session.
    other_sports: Vec<String>,
    session_start: Option<i64>,
    segments: Vec<Vec<Point>>,
    current: Vec<Point>,
    timer_stopped: bool,
    clock: Clock,
    records: usize,
    invalid_positions: usize,
    undecodable: usize,
    /// Why reading ended early on damage rather than at the file's CRC.
    stopped: Option<String>,
}

impl FileData {
    fn take(
        &mut self,
        definition: &Definition,
        message: &[u8],
        time_offset: Option<u8>,
        profile: &mut ProfileDecoder,
    ) {
        let time = self
            .clock
            .stamp(time_offset, definition.int(message, TIMESTAMP));
        match MesgNum::from(definition.global) {
            MesgNum::Record => self.add_record(definition, message, time),
            MesgNum::Event => self.timer_event(definition, message),
            _ if ProfileDecoder::wants(definition.global) => {
                let record = if definition.profiled {
                    profile.decode(message)
                } else {
                    None
                };
                match record {
                    Some(record) => self.take_summary(&record),
                    None => self.undecodable += 1,
                }
            }
            _ => {}
        }
    }

    fn add_record(&mut self, definition: &Definition, message: &[u8], time: Option<u32>) {
        const LAT: u8 = 0;
        const LON: u8 = 1;
        const ALTITUDE: u8 = 2;
        const ENHANCED_ALTITUDE: u8 = 78;
        self.records += 1;
        // Positions are sint32 semicircles; a writer that declared them
        // unsigned still meant the same 32 bits.
        let degrees = |n| {
            definition
                .int(message, n)
                .map(|s| f64::from(s as i32) * DEG_PER_SEMICIRCLE)
        };
        let (Some(lat), Some(lon)) = (degrees(LAT), degrees(LON)) else {
            return;
        };
        if !Point::is_valid_position(lat, lon) {
            self.invalid_positions += 1;
            return;
        }
        let ele = definition
            .int(message, ENHANCED_ALTITUDE)
            .or_else(|| definition.int(message, ALTITUDE))
            // Scale 5, offset 500. Subtracting first gives 3.6, not 3.6000000000000227.
            .map(|raw| (raw - 2500) as f64 / 5.0);
        let time = time.and_then(fit_time_ms);
        self.current.push(Point {
            lat,
            lon,
            ele,
            time,
        });
    }

    /// A timer stop followed by a start is a pause: what comes after it is
    /// a new segment, so no line is drawn across the gap.
    fn timer_event(&mut self, definition: &Definition, message: &[u8]) {
        const EVENT: u8 = 0;
        const EVENT_TYPE: u8 = 1;
        if definition.int(message, EVENT) != Some(Event::Timer.as_i64()) {
            return;
        }
        let Some(event_type) = definition.int(message, EVENT_TYPE) else {
            return;
        };
        let is = |t: EventType| event_type == t.as_i64();
        if is(EventType::Start) {
            if self.timer_stopped {
                self.break_segment();
            }
            self.timer_stopped = false;
        } else if is(EventType::Stop)
            || is(EventType::StopAll)
            || is(EventType::StopDisable)
            || is(EventType::StopDisableAll)
        {
            self.timer_stopped = true;
        }
    }

    fn break_segment(&mut self) {
        if !self.current.is_empty() {
            self.segments.push(std::mem::take(&mut self.current));
        }
    }

    fn take_summary(&mut self, record: &FitDataRecord) {
        let kind = record.kind();
        let mut sport = None;
        let mut sub_sport = None;
        for field in record.fields() {
            match (kind, field.name(), field.value()) {
                (MesgNum::FileId, "type", value) => self.file_type = Some(file_type_name(value)),
                (_, "sport", Value::String(name)) => sport = Some(name.as_str()),
                (_, "sub_sport", Value::String(name)) => sub_sport = Some(name.as_str()),
                (MesgNum::Session, "start_time", Value::Timestamp(t)) => {
                    let ms = t.timestamp_millis();
                    if self.session_start.is_none() && ms >= FIT_MIN_UTC_MS {
                        self.session_start = Some(ms);
                    }
                }
                (MesgNum::Course, "name", Value::String(name)) if !name.trim().is_empty() => {
                    self.course_name = Some(name.trim().to_string());
                }
                _ => {}
            }
        }
        if let Some(sport) = sport {
            let name = sport_name(sport, sub_sport);
            match kind {
                MesgNum::Session => self.session_sports.push(name),
                _ => self.other_sports.push(name),
            }
        }
    }

    fn points(&self) -> usize {
        self.segments.iter().map(Vec::len).sum::<usize>() + self.current.len()
    }

    fn stop(&mut self, why: Damage, at: usize, warnings: &mut Vec<String>) {
        let warning = match self.points() {
            0 => format!("{why} at byte {at}"),
            n => format!("{why} at byte {at}; kept {} before it", count(n, "point")),
        };
        warnings.push(warning.clone());
        self.stopped = Some(warning);
    }

    fn sport(&self) -> Option<String> {
        let names = if self.session_sports.is_empty() {
            &self.other_sports
        } else {
            &self.session_sports
        };
        let first = names.first()?;
        if names.iter().all(|name| name == first) {
            Some(first.clone())
        } else {
            Some("multisport".to_string())
        }
    }

    fn into_activity(mut self) -> Option<ParsedActivity> {
        self.break_segment();
        if self.segments.is_empty() {
            return None;
        }
        let first_time = self.segments.iter().flatten().find_map(|p| p.time);
        Some(ParsedActivity {
            kind: match self.file_type.as_deref() {
                Some("course") => ActivityKind::Route,
                _ => ActivityKind::Track,
            },
            sport: self.sport(),
            title: self.course_name.take(),
            start_time: self.session_start.or(first_time),
            segments: self.segments,
        })
    }
}

fn sport_name(sport: &str, sub_sport: Option<&str>) -> String {
    let sport = sport.to_lowercase();
    match (sport.as_str(), sub_sport) {
        ("cycling", Some(VIRTUAL_SUB_SPORT)) => format!("{VIRTUAL_PREFIX}ride"),
        (_, Some(VIRTUAL_SUB_SPORT)) => format!("{VIRTUAL_PREFIX}{sport}"),
        ("cycling", Some(INDOOR_CYCLING)) => INDOOR_CYCLING.to_string(),
        _ => sport,
    }
}

/// The decoder names known file types and gives others as plain numbers.
fn file_type_name(value: &Value) -> String {
    let number = match *value {
        Value::String(ref name) => return name.clone(),
        Value::SInt64(n) => u64::try_from(n).ok(),
        Value::Enum(n) | Value::UInt8(n) => Some(u64::from(n)),
        _ => None,
    };
    match number {
        // Not in the published profile, but Garmin devices use it for saved
        // locations (waypoints).
        Some(8) => "locations".to_string(),
        Some(n) => format!("type {n}"),
        None => "unknown".to_string(),
    }
}

/// Turns the per-file results into the answer for the whole input.
fn assemble(files: Vec<FileData>, mut warnings: Vec<String>) -> Result<Parsed, ParseError> {
    let invalid: usize = files.iter().map(|f| f.invalid_positions).sum();
    let undecodable: usize = files.iter().map(|f| f.undecodable).sum();
    let records: usize = files.iter().map(|f| f.records).sum();
    let stopped = files.iter().find_map(|f| f.stopped.clone());
    let file_type = files.iter().find_map(|f| f.file_type.clone());
    if invalid > 0 {
        warnings.push(format!(
            "{} with invalid coordinates skipped",
            count(invalid, "point")
        ));
    }
    if undecodable > 0 {
        let messages = count(undecodable, "summary message");
        warnings.push(format!("{messages} could not be decoded"));
    }

    let activities: Vec<ParsedActivity> = files
        .into_iter()
        .filter_map(FileData::into_activity)
        .collect();
    if !activities.is_empty() {
        return Ok(Parsed {
            activities,
            warnings,
        });
    }
    if let Some(damage) = stopped {
        // Damage, not the file's nature, may be why there is nothing: say so.
        return Err(ParseError::Malformed {
            format: "FIT",
            message: format!("{damage}, no positions before it"),
        });
    }
    let kind = file_type.as_deref().unwrap_or("untyped");
    let records_text = count(records, "record");
    Err(ParseError::NoPoints(match (records, invalid) {
        (0, _) => format!("FIT {kind} file without positions"),
        (_, 0) => format!("FIT {kind} file without positions ({records_text}, none located)"),
        (_, bad) => format!("FIT {kind} file without positions ({records_text}, {bad} invalid)"),
    }))
}

fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fitparser::de::DecodeOption;
    use hotpot_demo::fit_write::write_fit;

    struct CorpusFile {
        path: String,
        bytes: Vec<u8>,
        expected_points: usize,
        notes: String,
    }

    /// The manifest's FIT files, gzip undone.
    fn fit_corpus() -> Vec<CorpusFile> {
        crate::ingest::test_corpus::entries()
            .into_iter()
            .filter(|e| matches!(e.format.as_str(), "fit" | "fit.gz"))
            .map(|e| CorpusFile {
                bytes: e.unzipped(),
                expected_points: e.approx_points.expect("a point count") as usize,
                notes: e.notes.to_lowercase(),
                path: e.path,
            })
            .collect()
    }

    /// Whether the manifest says the file is broken in a way we warn about.
    fn is_damaged(file: &CorpusFile) -> bool {
        const DAMAGE: [&str; 5] = [
            "crc mismatch",
            "bad file crc",
            "truncated",
            "undefined local message",
            "corrupt header",
        ];
        DAMAGE.iter().any(|d| file.notes.contains(d))
    }

    /// Checks one corpus file against the manifest; returns a complaint.
    /// Files with N positioned records must give between 95% and 100% of N
    /// points (we drop records at 0,0 and out-of-range ones), files with none
    /// a one-line error, damaged files their points plus a warning.
    fn check(file: &CorpusFile, result: &Result<Parsed, ParseError>) -> Option<String> {
        let n = file.expected_points;
        // Exception: the reference parser gives up on a header that says
        // data_size=0 (a recording the device never finalised) and counts
        // no points; we read such a file to its end, so we expect points
        // and a warning.
        let unfinished = file.notes.contains("data_size=0");
        let parsed = match result {
            Err(e) if n > 0 || unfinished => return Some(format!("expected points, got: {e}")),
            Err(e) => {
                let text = e.to_string();
                return (text.contains('\n') || text.len() > 200)
                    .then(|| format!("unclear error: {text}"));
            }
            Ok(parsed) => parsed,
        };
        if (unfinished || is_damaged(file)) && parsed.warnings.is_empty() {
            return Some("damaged file without warning".to_string());
        }
        if unfinished {
            return None;
        }
        if n == 0 {
            return Some("expected an error, got points".to_string());
        }
        let points: usize = parsed
            .activities
            .iter()
            .map(ParsedActivity::num_points)
            .sum();
        let low = n * 95 / 100;
        (points < low || points > n).then(|| format!("{points} points, expected {low}..={n}"))
    }

    fn describe(result: &Result<Parsed, ParseError>) -> String {
        match result {
            Ok(parsed) => {
                let activities: Vec<String> = parsed
                    .activities
                    .iter()
                    .map(|a| {
                        format!(
                            "{} pts/{} seg {} {:?} {:?}",
                            a.num_points(),
                            a.segments.len(),
                            a.kind.as_str(),
                            a.sport.as_deref().unwrap_or("-"),
                            a.title.as_deref().unwrap_or("")
                        )
                    })
                    .collect();
                format!(
                    "Ok [{}] warnings {:?}",
                    activities.join(", "),
                    parsed.warnings
                )
            }
            Err(e) => format!("Err {e}"),
        }
    }

    #[test]
    #[cfg_attr(
        hotpot_no_corpus,
        ignore = "the real-track corpus is not at ../shared/data/tracks"
    )]
    fn corpus_matches_manifest() {
        let corpus = fit_corpus();
        let mut failures = Vec::new();
        for file in &corpus {
            let result = parse_fit(&file.bytes);
            println!("{:<62} {}", file.path, describe(&result));
            if let Some(complaint) = check(file, &result) {
                failures.push(format!("{}: {complaint}", file.path));
            }
        }
        assert!(corpus.len() > 10, "too few FIT files in the manifest");
        assert!(
            failures.is_empty(),
            "corpus mismatches:\n{}",
            failures.join("\n")
        );
    }

    #[test]
    #[cfg_attr(
        hotpot_no_corpus,
        ignore = "the real-track corpus is not at ../shared/data/tracks"
    )]
    fn truncated_corpus_files_never_panic() {
        let corpus = fit_corpus();
        for file in &corpus {
            let len = file.bytes.len();
            let mut cuts: Vec<usize> = (1..20).map(|i| len * i / 20).collect();
            cuts.extend([0, 1, 8, 11, 12, 13, 14, 15, len.saturating_sub(1)]);
            for cut in cuts.into_iter().filter(|&c| c <= len) {
                // Only the absence of a panic matters here.
                let _ = parse_fit(&file.bytes[..cut]);
            }
        }
    }

    /// Records are decoded from raw bytes rather than by fitparser (see the
    /// module docs); check that both agree on every file fitparser reads
    /// from start to end.
    #[test]
    #[cfg_attr(
        hotpot_no_corpus,
        ignore = "the real-track corpus is not at ../shared/data/tracks"
    )]
    fn raw_record_decoding_matches_fitparser() {
        let corpus = fit_corpus();
        let options = [
            DecodeOption::SkipHeaderCrcValidation,
            DecodeOption::SkipDataCrcValidation,
        ];
        let mut compared = 0;
        for file in corpus.iter().filter(|f| !is_damaged(f)) {
            let Ok(records) = fitparser::de::from_bytes_with_options(&file.bytes, &options.into())
            else {
                continue;
            };
            let expected: Vec<Point> = records.iter().filter_map(fitparser_point).collect();
            let ours: Vec<Point> = match parse_fit(&file.bytes) {
                Ok(parsed) => parsed
                    .activities
                    .iter()
                    .flat_map(|a| a.points().copied())
                    .collect(),
                Err(_) => Vec::new(),
            };
            assert_eq!(ours.len(), expected.len(), "{}", file.path);
            for (a, b) in ours.iter().zip(&expected) {
                let same_ele = match (a.ele, b.ele) {
                    (Some(x), Some(y)) => (x - y).abs() < 1e-9,
                    (x, y) => x == y,
                };
                assert!(
                    a.lat == b.lat && a.lon == b.lon && a.time == b.time && same_ele,
                    "{}: {a:?} != {b:?}",
                    file.path
                );
            }
            compared += 1;
        }
        assert!(compared > 30, "only {compared} files compared");
    }

    /// A record as fitparser decodes it, with our rules for what is usable.
    fn fitparser_point(record: &FitDataRecord) -> Option<Point> {
        if record.kind() != MesgNum::Record {
            return None;
        }
        let field = |name: &str| {
            record
                .fields()
                .iter()
                .find(|f| f.name() == name)
                .map(|f| f.value())
        };
        let degrees = |name| match field(name)? {
            Value::SInt32(s) => Some(f64::from(*s) * DEG_PER_SEMICIRCLE),
            _ => None,
        };
        let (lat, lon) = (degrees("position_lat")?, degrees("position_long")?);
        let ele = [field("enhanced_altitude"), field("altitude")]
            .into_iter()
            .flatten()
            .find_map(|v| match v {
                Value::Float64(m) => Some(*m),
                _ => None,
            });
        let time = match field("timestamp") {
            Some(Value::Timestamp(t)) => {
                Some(t.timestamp_millis()).filter(|&ms| ms >= FIT_MIN_UTC_MS)
            }
            _ => None,
        };
        Point::is_valid_position(lat, lon).then_some(Point {
            lat,
            lon,
            ele,
            time,
        })
    }

    #[test]
    fn crc_matches_the_sdk_nibble_algorithm() {
        const SDK_TABLE: [u16; 16] = [
            0x0000, 0xCC01, 0xD801, 0x1400, 0xF001, 0x3C00, 0x2800, 0xE401, 0xA001, 0x6C00, 0x7800,
            0xB401, 0x5000, 0x9C01, 0x8801, 0x4400,
        ];
        let sdk = |mut crc: u16, byte: u8| {
            for nibble in [byte & 0xF, byte >> 4] {
                let tmp = SDK_TABLE[usize::from(crc & 0xF)];
                crc = (crc >> 4) & 0x0FFF;
                crc = crc ^ tmp ^ SDK_TABLE[usize::from(nibble)];
            }
            crc
        };
        let bytes: Vec<u8> = (0..1000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        assert_eq!(
            crc16(0, &bytes),
            bytes.iter().fold(0, |crc, &b| sdk(crc, b))
        );
    }

    fn small_activity(points: usize) -> ParsedActivity {
        let segment = (0..points)
            .map(|i| Point {
                lat: 47.0 + i as f64 * 1e-4,
                lon: 8.0,
                ele: Some(400.0),
                time: Some(1_700_000_000_000 + i as i64 * 1000),
            })
            .collect();
        ParsedActivity {
            segments: vec![segment],
            sport: Some("running".into()),
            ..ParsedActivity::default()
        }
    }

    #[test]
    fn non_fit_input_is_unsupported() {
        let inputs: [&[u8]; 4] = [
            b"",
            b"\xff\xd8\xff\xe0\x00\x10JFIF\x00",
            b"\x1f\x8b\x08\x00",
            b"<?xml version=\"1.0\"?><gpx/>",
        ];
        for input in inputs {
            assert!(
                matches!(parse_fit(input), Err(ParseError::Unsupported(_))),
                "{input:?}"
            );
        }
    }

    #[test]
    fn file_without_records_is_no_points() {
        let file = write_fit(&ParsedActivity::default());
        match parse_fit(&file) {
            Err(ParseError::NoPoints(message)) => {
                assert!(message.contains("activity"), "{message}")
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn chained_files_give_one_activity_each() {
        let mut bytes = write_fit(&small_activity(5));
        bytes.extend(write_fit(&small_activity(7)));
        let parsed = parse_fit(&bytes).unwrap();
        assert_eq!(parsed.warnings, Vec::<String>::new());
        let counts: Vec<usize> = parsed.activities.iter().map(|a| a.num_points()).collect();
        assert_eq!(counts, [5, 7]);
    }

    #[test]
    fn damage_keeps_points_and_warns() {
        let good = write_fit(&small_activity(20));
        let end = good.len();

        let mut bad_crc = good.clone();
        bad_crc[end - 1] ^= 0xFF;
        let mut garbage = good.clone();
        garbage.extend_from_slice(b"garbage after the data");
        // Cut inside the records: the last few are lost, the rest kept.
        let truncated = &good[..end - 150];

        for (name, bytes) in [
            ("crc", &bad_crc[..]),
            ("garbage", &garbage[..]),
            ("cut", truncated),
        ] {
            let parsed = parse_fit(bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(parsed.warnings.len(), 1, "{name}: {:?}", parsed.warnings);
            let points = parsed.activities[0].num_points();
            assert!((10..=20).contains(&points), "{name}: {points} points");
        }
    }

    /// A FIT file with a 12-byte header (no header CRC) around `data` and
    /// a zero file CRC.
    fn raw_fit(data: &[u8]) -> Vec<u8> {
        let mut bytes = vec![12, 0x10, 100, 0];
        bytes.extend_from_slice(&(data.len() as u32).to_le_bytes());
        bytes.extend_from_slice(b".FIT");
        bytes.extend_from_slice(data);
        bytes.extend_from_slice(&[0, 0]);
        bytes
    }

    #[test]
    fn hostile_developer_field_costs_one_message() {
        // A uint16 developer field declared 255 bytes long, followed by
        // another one: fitparser's field loop overflows on it (a panic in
        // debug builds, a read to the end of the message in release
        // builds). Either way only that message may be lost.
        #[rustfmt::skip]
        let mut data = vec![
            // Definition, local 0 = field_description (206), three uint8
            // fields: developer index, field number, base type.
            0x40, 0, 0, 206, 0, 3, 0, 1, 2, 1, 1, 2, 2, 1, 2,
            // Developer 0, field 0, base type uint16.
            0x00, 0, 0, 0x84,
            // Definition, local 1 = session (18) with developer data: a
            // timestamp, the 255-byte developer field and a 1-byte one.
            0x61, 0, 0, 18, 0, 1, 253, 4, 0x86, 2, 0, 255, 0, 0, 1, 0,
            // The session.
            0x01, 0, 0, 0, 0x40,
        ];
        data.extend([7; 256]);
        // Definition, local 2 = record (20): timestamp, lat, lon; a record.
        data.extend([0x42, 0, 0, 20, 0, 3, 253, 4, 0x86, 0, 4, 0x85, 1, 4, 0x85]);
        data.push(0x02);
        data.extend(0x4000_0000u32.to_le_bytes());
        data.extend(560_000_000i32.to_le_bytes());
        data.extend(95_000_000i32.to_le_bytes());

        let parsed = parse_fit(&raw_fit(&data)).unwrap();
        assert_eq!(parsed.activities[0].num_points(), 1);
        assert!(
            parsed
                .warnings
                .iter()
                .any(|w| w.contains("1 summary message")),
            "{:?}",
            parsed.warnings
        );
    }

    #[test]
    fn undefined_local_message_stops_with_warning() {
        let mut bytes = write_fit(&small_activity(10));
        // Find the last record by its timestamp and point its header byte
        // at local message type 15, which was never defined.
        let last_time = (1_700_000_009 - FIT_EPOCH_UNIX_S) as u32;
        let stamp = last_time.to_le_bytes();
        let at = bytes.windows(4).position(|w| w == stamp).unwrap() - 1;
        bytes[at] = 15;
        let parsed = parse_fit(&bytes).unwrap();
        assert!(
            parsed.warnings[0].contains("undefined local message type 15"),
            "{:?}",
            parsed.warnings
        );
        assert_eq!(parsed.activities[0].num_points(), 9);
    }
}
