//! PNG output: whole images for tiles, and images streamed block by block
//! for posters too large to hold in memory.

mod parallel;

pub use parallel::write_png_blocks_parallel;

use super::RgbaImage;
use std::io::Write;

#[derive(Debug, thiserror::Error)]
pub enum EncodeError {
    #[error("PNG encoding failed: {0}")]
    Png(#[from] png::EncodingError),
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error("PNG image data: {0}")]
    Rows(String),
}

/// Pixel layouts hotpot writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PngFormat {
    /// Colours: RGBA, 8 bits per channel.
    Rgba8,
    /// Raw values: one 16-bit big-endian sample per pixel.
    Gray16,
}

impl PngFormat {
    pub fn bytes_per_pixel(self) -> usize {
        match self {
            PngFormat::Rgba8 => 4,
            PngFormat::Gray16 => 2,
        }
    }
}

/// What goes into a PNG besides its pixels.
#[derive(Debug, Clone, PartialEq)]
pub struct PngHeader {
    pub width: u32,
    pub height: u32,
    pub format: PngFormat,
    /// Written as the pHYs chunk (pixels per metre) when known.
    pub dpi: Option<f64>,
    /// tEXt chunks (keyword, text), Latin-1.
    pub text: Vec<(String, String)>,
    /// Trade size for speed (posters are large, tiles are not).
    pub fast: bool,
}

impl PngHeader {
    pub fn rgba(width: u32, height: u32, fast: bool) -> PngHeader {
        PngHeader {
            width,
            height,
            format: PngFormat::Rgba8,
            dpi: None,
            text: Vec::new(),
            fast,
        }
    }

    pub fn row_bytes(&self) -> usize {
        self.width as usize * self.format.bytes_per_pixel()
    }

    fn encoder<W: Write>(&self, out: W) -> Result<png::Encoder<'static, W>, EncodeError> {
        let mut enc = png::Encoder::new(out, self.width, self.height);
        let (color, depth) = match self.format {
            PngFormat::Rgba8 => (png::ColorType::Rgba, png::BitDepth::Eight),
            PngFormat::Gray16 => (png::ColorType::Grayscale, png::BitDepth::Sixteen),
        };
        enc.set_color(color);
        enc.set_depth(depth);
        // `Fastest` is fdeflate with the Up filter, `Fast` the same with
        // the adaptive filter: on a 16000² poster 0.39 s against 0.86 s of
        // encoding, for a file 3% larger (heatmaps are mostly runs of zeros).
        enc.set_compression(if self.fast {
            png::Compression::Fastest
        } else {
            png::Compression::Balanced
        });
        if let Some(dpi) = self.dpi {
            let ppm = pixels_per_metre(dpi);
            enc.set_pixel_dims(Some(png::PixelDimensions {
                xppu: ppm,
                yppu: ppm,
                unit: png::Unit::Meter,
            }));
        }
        for (k, v) in &self.text {
            enc.add_text_chunk(k.clone(), v.clone())?;
        }
        Ok(enc)
    }
}

/// Dots per inch as PNG's pHYs stores them: whole pixels per metre.
pub fn pixels_per_metre(dpi: f64) -> u32 {
    (dpi / 0.0254).round().clamp(1.0, u32::MAX as f64) as u32
}

/// Writes an RGBA PNG. `fast` trades size for speed (posters are large).
pub fn write_png<W: Write>(out: W, img: &RgbaImage, fast: bool) -> Result<(), EncodeError> {
    let mut writer = PngHeader::rgba(img.width, img.height, fast)
        .encoder(out)?
        .write_header()?;
    writer.write_image_data(&img.data)?;
    writer.finish()?;
    Ok(())
}

/// Writes a PNG whose rows arrive in blocks, top to bottom, each holding
/// whole rows in `header.format`. Only one block and a row or two of the
/// encoder's state are in memory at a time, so the image may be far larger
/// than memory. Returns the time spent encoding (not waiting for blocks).
///
/// Fast headers (posters) are filtered and compressed on all cores
/// ([`write_png_blocks_parallel`]); the others by the png crate on this
/// thread ([`write_png_blocks_serial`]).
pub fn write_png_blocks<W: Write>(
    out: W,
    header: &PngHeader,
    blocks: impl IntoIterator<Item = Vec<u8>>,
) -> Result<std::time::Duration, EncodeError> {
    if header.fast {
        write_png_blocks_parallel(out, header, blocks)
    } else {
        write_png_blocks_serial(out, header, blocks)
    }
}

/// [`write_png_blocks`] by the png crate's stream writer, on this thread.
pub fn write_png_blocks_serial<W: Write>(
    out: W,
    header: &PngHeader,
    blocks: impl IntoIterator<Item = Vec<u8>>,
) -> Result<std::time::Duration, EncodeError> {
    // IDAT chunks of 1 MiB: the 4 KiB default would mean a quarter of a
    // million chunk headers and CRCs per gigabyte.
    const CHUNK: usize = 1 << 20;
    let mut writer = header.encoder(out)?.write_header()?;
    let mut busy = std::time::Duration::ZERO;
    {
        let mut stream = writer.stream_writer_with_size(CHUNK)?;
        for block in blocks {
            let t = std::time::Instant::now();
            stream.write_all(&block)?;
            busy += t.elapsed();
        }
        let t = std::time::Instant::now();
        stream.finish()?;
        busy += t.elapsed();
    }
    writer.finish()?;
    Ok(busy)
}

pub fn png_bytes(img: &RgbaImage, fast: bool) -> Result<Vec<u8>, EncodeError> {
    let mut buf = Vec::new();
    write_png(&mut buf, img, fast)?;
    Ok(buf)
}

/// Decodes a PNG as stored (tests and tools read back what we wrote).
pub fn read_png(bytes: &[u8]) -> Result<RgbaImage, png::DecodingError> {
    decode(bytes, png::Transformations::IDENTITY)
}

/// The pixels of a PNG after `transformations`, in `RgbaImage`'s shape
/// (whatever the channels: the caller knows what it asked for).
fn decode(
    bytes: &[u8],
    transformations: png::Transformations,
) -> Result<RgbaImage, png::DecodingError> {
    let mut decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    decoder.set_transformations(transformations);
    let mut reader = decoder.read_info()?;
    let mut data = vec![0; reader.output_buffer_size().unwrap_or(0)];
    let info = reader.next_frame(&mut data)?;
    data.truncate(info.buffer_size());
    Ok(RgbaImage {
        width: info.width,
        height: info.height,
        data,
    })
}

/// Encodes density as an indexed PNG whose palette is the colormap's table:
/// one byte per pixel straight from the table index, about half the time
/// and bytes of RGBA for a tile.
pub fn indexed_png(d: &super::Density, cm: &super::Colormap) -> Result<Vec<u8>, EncodeError> {
    let indices: Vec<u8> = d.data.iter().map(|&v| cm.index(v)).collect();
    let mut out = Vec::with_capacity(1024);
    let mut enc = png::Encoder::new(&mut out, d.width, d.height);
    enc.set_color(png::ColorType::Indexed);
    enc.set_depth(png::BitDepth::Eight);
    enc.set_palette(
        cm.lut
            .iter()
            .flat_map(|c| [c[0], c[1], c[2]])
            .collect::<Vec<u8>>(),
    );
    if cm.lut.iter().any(|c| c[3] < 255) {
        enc.set_trns(cm.lut.iter().map(|c| c[3]).collect::<Vec<u8>>());
    }
    enc.set_compression(png::Compression::Fast);
    let mut writer = enc.write_header()?;
    writer.write_image_data(&indices)?;
    writer.finish()?;
    Ok(out)
}

/// One chunk of a PNG file.
#[derive(Debug, Clone, Copy)]
pub struct PngChunk<'a> {
    pub kind: [u8; 4],
    pub data: &'a [u8],
    /// The chunk as stored: length, type, data and CRC.
    pub whole: &'a [u8],
}

/// The chunks of a PNG file in order, or `None` if it does not start with
/// the PNG signature or a chunk runs past the end. CRCs are not checked.
pub fn png_chunks(png: &[u8]) -> Option<Vec<PngChunk<'_>>> {
    const SIGNATURE: [u8; 8] = [137, 80, 78, 71, 13, 10, 26, 10];
    let mut rest = png.strip_prefix(&SIGNATURE)?;
    let mut out = Vec::new();
    while !rest.is_empty() {
        let len = u32::from_be_bytes(rest.get(..4)?.try_into().ok()?) as usize;
        let whole = rest.get(..12usize.checked_add(len)?)?;
        out.push(PngChunk {
            kind: whole[4..8].try_into().ok()?,
            data: &whole[8..8 + len],
            whole,
        });
        rest = &rest[whole.len()..];
    }
    Some(out)
}

/// The zlib stream of a PNG: its IDAT chunks' data joined (empty if the
/// bytes are not a PNG).
pub fn png_zlib_stream(png: &[u8]) -> Vec<u8> {
    png_chunks(png)
        .unwrap_or_default()
        .iter()
        .filter(|c| &c.kind == b"IDAT")
        .flat_map(|c| c.data.iter().copied())
        .collect()
}

/// Expands an indexed or RGBA PNG to RGBA (what a browser would show).
pub fn read_png_rgba(bytes: &[u8]) -> Result<RgbaImage, png::DecodingError> {
    decode(
        bytes,
        png::Transformations::EXPAND | png::Transformations::ALPHA,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_make_the_same_image_as_one_buffer() {
        let img = RgbaImage {
            width: 5,
            height: 7,
            data: (0..5 * 7 * 4).map(|i| (i * 37 % 251) as u8).collect(),
        };
        let mut header = PngHeader::rgba(5, 7, true);
        header.dpi = Some(300.0);
        for fast in [true, false] {
            header.fast = fast;
            let mut streamed = Vec::new();
            let blocks = img.data.chunks(3 * 5 * 4).map(<[u8]>::to_vec);
            write_png_blocks(&mut streamed, &header, blocks).unwrap();
            assert_eq!(read_png(&streamed).unwrap(), img, "fast: {fast}");
            let dims = png::Decoder::new(std::io::Cursor::new(&streamed))
                .read_info()
                .unwrap()
                .info()
                .pixel_dims
                .unwrap();
            assert_eq!((dims.xppu, dims.unit), (11811, png::Unit::Meter));
        }
    }

    #[test]
    fn missing_rows_are_an_error() {
        for fast in [true, false] {
            let header = PngHeader::rgba(4, 4, fast);
            let r = write_png_blocks(Vec::new(), &header, [vec![0u8; 16]]);
            assert!(r.is_err(), "three of four rows missing (fast: {fast})");
        }
    }
}
