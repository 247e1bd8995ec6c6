//! PNG output.

use super::RgbaImage;
use std::io::Write;

#[derive(Debug, thiserror::Error)]
pub enum EncodeError {
    #[error("PNG encoding failed: {0}")]
    Png(#[from] png::EncodingError),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// Writes an RGBA PNG. `fast` trades size for speed (posters are large).
pub fn write_png<W: Write>(out: W, img: &RgbaImage, fast: bool) -> Result<(), EncodeError> {
    let mut enc = png::Encoder::new(out, img.width, img.height);
    enc.set_color(png::ColorType::Rgba);
    enc.set_depth(png::BitDepth::Eight);
    enc.set_compression(if fast {
        png::Compression::Fast
    } else {
        png::Compression::Balanced
    });
    let mut writer = enc.write_header()?;
    writer.write_image_data(&img.data)?;
    writer.finish()?;
    Ok(())
}

pub fn png_bytes(img: &RgbaImage, fast: bool) -> Result<Vec<u8>, EncodeError> {
    let mut buf = Vec::new();
    write_png(&mut buf, img, fast)?;
    Ok(buf)
}

/// Decodes an RGBA8 PNG (tests and tools read back what we wrote).
pub fn read_png(bytes: &[u8]) -> Result<RgbaImage, png::DecodingError> {
    let mut reader = png::Decoder::new(std::io::Cursor::new(bytes)).read_info()?;
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

/// Expands an indexed or RGBA PNG to RGBA (what a browser would show).
pub fn read_png_rgba(bytes: &[u8]) -> Result<RgbaImage, png::DecodingError> {
    let mut decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::ALPHA);
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
