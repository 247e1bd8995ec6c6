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
