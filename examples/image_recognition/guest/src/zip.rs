//! Finds a stored (uncompressed) member of a zip archive appended to a file.
//!
//! TensorFlow-Lite models made with the Model Maker carry their label files this way: the
//! `.tflite` flatbuffer is followed by a zip archive whose members are not compressed.

fn u16_at(data: &[u8], at: usize) -> Option<usize> {
    let b = data.get(at..at + 2)?;
    Some(u16::from_le_bytes([b[0], b[1]]) as usize)
}

fn u32_at(data: &[u8], at: usize) -> Option<usize> {
    let b = data.get(at..at + 4)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
}

const END_OF_CENTRAL_DIRECTORY: &[u8] = b"PK\x05\x06";
const CENTRAL_DIRECTORY_ENTRY: &[u8] = b"PK\x01\x02";
const LOCAL_HEADER: &[u8] = b"PK\x03\x04";

/// The bytes of the first stored member whose name satisfies `wanted`.
pub fn stored_member<'a>(data: &'a [u8], wanted: impl Fn(&str) -> bool) -> Option<&'a [u8]> {
    // The end record is 22 bytes plus a comment of at most 64 KiB.
    let earliest = data.len().saturating_sub(22 + 0xFFFF);
    let end = (earliest..=data.len().checked_sub(22)?)
        .rev()
        .find(|&at| data[at..].starts_with(END_OF_CENTRAL_DIRECTORY))?;
    let entries = u16_at(data, end + 10)?;
    let directory_size = u32_at(data, end + 12)?;
    // Offsets are relative to the archive's start, which is past the model when the archive
    // was appended to it: the central directory ends where the end record begins.
    let base = end.checked_sub(directory_size)?.checked_sub(u32_at(data, end + 16)?)?;
    let mut at = base + u32_at(data, end + 16)?;
    for _ in 0..entries {
        if !data.get(at..)?.starts_with(CENTRAL_DIRECTORY_ENTRY) {
            return None;
        }
        let method = u16_at(data, at + 10)?;
        let size = u32_at(data, at + 20)?;
        let name_len = u16_at(data, at + 28)?;
        let extra_len = u16_at(data, at + 30)?;
        let comment_len = u16_at(data, at + 32)?;
        let local = base + u32_at(data, at + 42)?;
        let name = std::str::from_utf8(data.get(at + 46..at + 46 + name_len)?).ok()?;
        if method == 0 && wanted(name) {
            if !data.get(local..)?.starts_with(LOCAL_HEADER) {
                return None;
            }
            let start = local + 30 + u16_at(data, local + 26)? + u16_at(data, local + 28)?;
            return data.get(start..start + size);
        }
        at += 46 + name_len + extra_len + comment_len;
    }
    None
}
