//! PNG image data filtered and compressed on all cores, as pigz does for
//! gzip: the rows are cut into pieces, each piece is filtered and deflated
//! on its own (rayon), and the pieces are joined into the single zlib
//! stream that PNG's IDAT chunks hold.
//!
//! A piece is raw deflate that is not final and ends on a byte boundary
//! (zlib's sync flush: an empty stored block), so pieces concatenate
//! byte-wise; the stream is closed by an empty final block and the Adler-32
//! of all rows, combined from the pieces' own ([`adler32_combine`]).
//! Back-references never cross a piece, which costs nothing here: the
//! compressor only refers to the previous byte (runs of zeros).
//!
//! The compressor is fdeflate's, the one the png crate uses for
//! `Compression::Fastest`, so files stay the size they were (12.23 MB
//! against 12.16 MB for a 16000² poster) and each core compresses as fast
//! as the single encoder did. fdeflate only writes whole streams; flate2
//! could sync-flush, but would swap a compressor made for filtered PNG rows
//! for a general LZ77 one (not measured here), and gzp's zlib writer is
//! a `Write` with threads of its own and no PNG filtering, whose Zlib
//! format needs flate2's C backend. So this module takes fdeflate's whole stream apart and joins the
//! pieces, which is the part written by hand (~40 lines); zlib-rs combines
//! the checksums. The png crate filters only inside its own encoder, so the
//! Up filter is here too (one subtraction a byte).

use super::{EncodeError, PngHeader};
use rayon::prelude::*;
use std::io::Write;
use std::time::{Duration, Instant};
use zlib_rs::adler32::adler32_combine;

/// Bytes of rows per piece. Pieces are compressed independently, so more
/// pieces spread better over cores; each costs ~60 bytes of headers.
const PIECE_BYTES: usize = 1 << 20;

/// IDAT chunks of at most this many bytes (as the serial encoder writes).
const CHUNK: usize = 1 << 20;

/// zlib header: deflate, 32 KiB window, fastest level (fdeflate's own).
const ZLIB_HEADER: [u8; 2] = [0x78, 0x01];

/// The end of a stream: an empty final block with fixed codes (BFINAL=1,
/// BTYPE=01, end-of-block), starting on a byte boundary.
const EMPTY_FINAL_BLOCK: [u8; 2] = [0x03, 0x00];

/// One piece of the stream: its deflate bytes and the Adler-32 and length
/// of what it holds.
struct Piece {
    deflate: Vec<u8>,
    adler: u32,
    len: u64,
}

/// Filters `rows` (whole rows of `row` bytes; `above` is the row before
/// the first, zeros at the top of the image) with PNG's Up filter and
/// compresses them into a [`Piece`].
///
/// Up is the filter `Compression::Fastest` uses. Rows are handed to
/// fdeflate one at a time from a row-sized buffer that stays in cache:
/// nothing is lost by it, as every row starts with its filter byte, which
/// ends any run of zeros anyway.
fn compress_piece(above: &[u8], rows: &[u8], row: usize) -> Piece {
    let mut line = vec![0u8; row + 1];
    line[0] = 2; // Up
    let mut c = fdeflate::Compressor::new(Vec::with_capacity(rows.len() / 16 + 64))
        .expect("writing to a Vec cannot fail");
    let mut above = above;
    for r in rows.chunks_exact(row) {
        // Slices of one length: the loop runs as vector code.
        let (out, prev) = (&mut line[1..=row], &above[..row]);
        for ((o, &a), &b) in out.iter_mut().zip(r).zip(prev) {
            *o = a.wrapping_sub(b);
        }
        c.write_data(&line).expect("writing to a Vec cannot fail");
        above = r;
    }
    let stream = c.finish().expect("writing to a Vec cannot fail");
    let len = (rows.len() + rows.len() / row) as u64;
    split_stream(stream, len)
}

/// Turns a whole zlib stream from fdeflate into a [`Piece`]: strips the
/// header and checksum, marks its one block not final, and ends it with an
/// empty stored block on the next byte boundary (zlib's sync flush).
///
/// This relies on two properties of fdeflate 0.3's output, both checked by
/// the tests below: the stream is one dynamic block starting right after
/// the 2-byte header, and the last bit of its end-of-block code is a 1
/// (the code is fixed: fdeflate uses one Huffman table for all inputs). The
/// bits after it up to the byte boundary are zeros, so the highest set bit
/// of the last byte marks where the block ends.
fn split_stream(mut stream: Vec<u8>, len: u64) -> Piece {
    let n = stream.len();
    assert!(
        n > ZLIB_HEADER.len() + 4 && stream[..2] == ZLIB_HEADER,
        "fdeflate wrote no zlib stream"
    );
    let adler = u32::from_be_bytes(stream[n - 4..].try_into().unwrap());
    stream.truncate(n - 4);
    stream.drain(..2);
    // BFINAL is the block's first bit.
    stream[0] &= !1;
    let last = *stream.last().unwrap();
    assert_ne!(last, 0, "fdeflate's end-of-block code ends in a 1 bit");
    // An empty stored block: 3 header bits (not final, type 00), zeros to
    // the byte boundary, then LEN = 0 and NLEN = !0. The header fits in the
    // last byte's spare bits when there are three; else it takes a byte.
    if last.leading_zeros() < 3 {
        stream.push(0);
    }
    stream.extend([0x00, 0x00, 0xff, 0xff]);
    Piece {
        deflate: stream,
        adler,
        len,
    }
}

/// [`super::write_png_blocks_serial`] on all cores (rayon's pool): the same
/// pixels, in a standard PNG of about the same size. Only one block, its
/// compressed pieces and the last row of the block before are held at a
/// time. Returns the time spent encoding (not waiting for blocks).
pub fn write_png_blocks_parallel<W: Write>(
    out: W,
    header: &PngHeader,
    blocks: impl IntoIterator<Item = Vec<u8>>,
) -> Result<Duration, EncodeError> {
    let row = header.row_bytes();
    let height = header.height as u64;
    let mut writer = header.encoder(out)?.write_header()?;
    let mut busy = Duration::ZERO;
    let mut above = vec![0u8; row];
    let mut adler = 1u32; // of nothing
    let mut rows_done = 0u64;
    let mut idat = Vec::from(ZLIB_HEADER);
    let piece_rows = (PIECE_BYTES / row.max(1)).max(1);
    for block in blocks {
        let t = Instant::now();
        if row == 0 || block.len() % row != 0 {
            return Err(EncodeError::Rows(format!(
                "a block of {} bytes is not whole rows of {row}",
                block.len()
            )));
        }
        rows_done += (block.len() / row) as u64;
        if rows_done > height {
            return Err(EncodeError::Rows(format!(
                "more than the {height} rows of the header"
            )));
        }
        let pieces: Vec<Piece> = block
            .par_chunks(piece_rows * row)
            .enumerate()
            .map(|(i, rows)| {
                let start = i * piece_rows * row;
                let prev = if i == 0 {
                    &above[..]
                } else {
                    &block[start - row..start]
                };
                compress_piece(prev, rows, row)
            })
            .collect();
        for p in pieces {
            adler = adler32_combine(adler, p.adler, p.len);
            idat.extend_from_slice(&p.deflate);
        }
        if let Some(last) = block.rchunks_exact(row).next() {
            above.copy_from_slice(last);
        }
        write_idat(&mut writer, &mut idat, CHUNK)?;
        busy += t.elapsed();
    }
    if rows_done != height {
        return Err(EncodeError::Rows(format!(
            "{rows_done} rows of the header's {height}"
        )));
    }
    let t = Instant::now();
    idat.extend_from_slice(&EMPTY_FINAL_BLOCK);
    idat.extend_from_slice(&adler.to_be_bytes());
    write_idat(&mut writer, &mut idat, 1)?;
    writer.finish()?;
    busy += t.elapsed();
    Ok(busy)
}

/// Writes `idat` as IDAT chunks of `CHUNK` bytes while at least `min`
/// bytes are left; the rest waits for more.
fn write_idat<W: Write>(
    writer: &mut png::Writer<W>,
    idat: &mut Vec<u8>,
    min: usize,
) -> Result<(), EncodeError> {
    let mut done = 0;
    while idat.len() - done >= min.max(1) {
        let n = (idat.len() - done).min(CHUNK);
        writer.write_chunk(png::chunk::IDAT, &idat[done..done + n])?;
        done += n;
    }
    idat.drain(..done);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::encode::{png_zlib_stream, read_png, write_png_blocks_serial};
    use crate::render::{RgbaImage, encode::PngFormat};
    use std::io::Read;

    /// Inflates with zlib-rs (through flate2), which checks the Adler-32.
    fn inflate(stream: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        flate2::read::ZlibDecoder::new(stream)
            .read_to_end(&mut out)
            .expect("a valid zlib stream with the right checksum");
        out
    }

    fn heatmap_like(width: u32, height: u32) -> RgbaImage {
        // Mostly zeros, with lines and a noisy patch: runs of every length
        // and literals of every byte value.
        let mut data = vec![0u8; width as usize * height as usize * 4];
        for y in 0..height as usize {
            for x in 0..width as usize {
                let i = (y * width as usize + x) * 4;
                if x == y || x == 2 * y + 3 || (x + y) % 97 == 0 {
                    data[i..i + 4].copy_from_slice(&[255, (x * 7) as u8, (y * 3) as u8, 200]);
                }
                if (10..30).contains(&x) && (5..25).contains(&y) {
                    let v = (x * 131 + y * 71) as u8;
                    data[i..i + 4].copy_from_slice(&[v, v ^ 0x55, v.wrapping_mul(3), v | 1]);
                }
            }
        }
        RgbaImage {
            width,
            height,
            data,
        }
    }

    #[test]
    fn pieces_join_into_one_valid_stream() {
        // Pieces of 0..200 pseudo-random bytes (a third of them zeros, for
        // runs) end fdeflate's block at every bit of their last byte.
        let mut ends = std::collections::HashSet::new();
        let mut all = Vec::new();
        let mut stream = Vec::from(ZLIB_HEADER);
        let mut adler = 1;
        let mut seed = 12345u32;
        for n in 0..200usize {
            let data: Vec<u8> = (0..n)
                .map(|_| {
                    seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
                    let v = (seed >> 16) as u8;
                    if v.is_multiple_of(3) { 0 } else { v }
                })
                .collect();
            let whole = fdeflate::compress_to_vec(&data);
            ends.insert(whole[whole.len() - 5].leading_zeros());
            let p = split_stream(whole, n as u64);
            assert_eq!(p.adler, zlib_rs::adler32::adler32(1, &data));
            adler = adler32_combine(adler, p.adler, p.len);
            stream.extend_from_slice(&p.deflate);
            all.extend_from_slice(&data);
        }
        assert_eq!(ends.len(), 8, "{ends:?}");
        stream.extend_from_slice(&EMPTY_FINAL_BLOCK);
        stream.extend_from_slice(&adler.to_be_bytes());
        assert_eq!(inflate(&stream), all);
    }

    #[test]
    fn same_pixels_as_the_serial_encoder() {
        let (w, h) = (301, 257);
        let img = heatmap_like(w, h);
        let header = PngHeader::rgba(w, h, true);
        // Blocks of uneven sizes, pieces of a few rows (the piece size is
        // a byte budget: 1 MiB is many of these rows, so force small ones
        // through narrow blocks too).
        let cuts = [0, 1, 2, 50, 51, 200, 257];
        let blocks = cuts
            .windows(2)
            .map(|c| img.data[c[0] * w as usize * 4..c[1] * w as usize * 4].to_vec());
        let mut par = Vec::new();
        write_png_blocks_parallel(&mut par, &header, blocks.clone()).unwrap();
        let mut serial = Vec::new();
        write_png_blocks_serial(&mut serial, &header, blocks).unwrap();
        assert_eq!(read_png(&par).unwrap(), img);
        assert_eq!(read_png(&par).unwrap(), read_png(&serial).unwrap());
        // The filtered rows themselves: all Up, as the serial encoder's.
        assert_eq!(
            inflate(&png_zlib_stream(&par)),
            inflate(&png_zlib_stream(&serial))
        );
    }

    #[test]
    fn many_pieces_per_block() {
        // Rows of 1 MiB / 3: three rows a piece, so a block of 20 rows is
        // seven pieces, each needing the row above from the block itself.
        let w = (PIECE_BYTES / 3 / 4) as u32;
        let img = heatmap_like(w, 20);
        let header = PngHeader::rgba(w, 20, true);
        let mut par = Vec::new();
        write_png_blocks_parallel(&mut par, &header, [img.data.clone()]).unwrap();
        assert_eq!(read_png(&par).unwrap(), img);
    }

    #[test]
    fn gray16_and_metadata_survive() {
        let (w, h) = (40, 30);
        let data: Vec<u8> = (0..w * h * 2).map(|i| (i % 11 * 23) as u8).collect();
        let header = PngHeader {
            width: w,
            height: h,
            format: PngFormat::Gray16,
            dpi: Some(300.0),
            text: vec![("k".into(), "v".into())],
            fast: true,
        };
        let mut par = Vec::new();
        write_png_blocks_parallel(&mut par, &header, data.chunks(7 * 80).map(<[u8]>::to_vec))
            .unwrap();
        let mut reader = png::Decoder::new(std::io::Cursor::new(&par))
            .read_info()
            .unwrap();
        let info = reader.info().clone();
        assert_eq!(info.pixel_dims.unwrap().xppu, 11811);
        assert_eq!(info.uncompressed_latin1_text[0].text, "v");
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        reader.next_frame(&mut buf).unwrap();
        assert_eq!(buf, data);
    }

    #[test]
    fn wrong_row_counts_are_errors() {
        let header = PngHeader::rgba(4, 4, true);
        let run = |blocks: Vec<Vec<u8>>| write_png_blocks_parallel(Vec::new(), &header, blocks);
        assert!(
            run(vec![vec![0; 16]]).is_err(),
            "three of four rows missing"
        );
        assert!(run(vec![vec![0; 16 * 5]]).is_err(), "a row too many");
        assert!(run(vec![vec![0; 10]]).is_err(), "part of a row");
        assert!(run(vec![vec![0; 64]]).is_ok());
    }
}
