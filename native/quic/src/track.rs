//! How many bytes of the data stream the peer acknowledged, from the first one on.
//!
//! quinn-proto keeps that to itself, and rxyomo's delivery accounting needs it (a frame is
//! confirmed once every byte up to its end is acknowledged). So the 1-RTT packet keys are
//! wrapped: each packet this end encrypts is read for the data stream's STREAM frames
//! (which byte ranges went in which packet number), and each packet it decrypts for ACK
//! frames (which packet numbers arrived). A range counts once a packet carrying it was
//! acknowledged; retransmissions carry the same ranges in new packets. Only 1-RTT keys
//! are wrapped: packet numbers are per packet-number space, and only that space carries
//! stream data.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use bytes::BytesMut;
use quinn_proto::crypto::{CryptoError, KeyPair, Keys, PacketKey};

/// What one connection's wrapped keys learned.
#[derive(Default)]
pub struct Book {
    /// Per packet number sent, the data-stream ranges it carried.
    sent: BTreeMap<u64, Vec<(u64, u64)>>,
    /// Acknowledged ranges beyond `prefix`, start to end, disjoint.
    acked: BTreeMap<u64, u64>,
    /// Every byte before this one is acknowledged.
    pub prefix: u64,
    /// A packet could not be read: the count is no longer known.
    pub broken: bool,
    /// The peer's `max_idle_timeout` transport parameter in milliseconds (0: none).
    pub peer_idle_ms: u64,
}

pub type Tracker = Arc<Mutex<Book>>;

/// The data stream: the client's first bidirectional stream.
const DATA_STREAM: u64 = 0;

struct Reader<'a> {
    data: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn varint(&mut self) -> Option<u64> {
        let first = *self.data.get(self.at)?;
        let len = 1usize << (first >> 6);
        let bytes = self.data.get(self.at..self.at + len)?;
        self.at += len;
        let mut value = u64::from(first & 0x3f);
        for byte in &bytes[1..] {
            value = (value << 8) | u64::from(*byte);
        }
        Some(value)
    }

    fn skip(&mut self, len: u64) -> Option<()> {
        let end = self.at.checked_add(usize::try_from(len).ok()?)?;
        if end > self.data.len() {
            return None;
        }
        self.at = end;
        Some(())
    }

    fn skip_varints(&mut self, count: usize) -> Option<()> {
        for _ in 0..count {
            self.varint()?;
        }
        Some(())
    }

    fn done(&self) -> bool {
        self.at >= self.data.len()
    }
}

/// The frames of one packet's payload: data-stream ranges go to `on_stream`, ACK ranges
/// (inclusive packet-number bounds) to `on_ack`. None if the payload cannot be read.
fn frames(
    payload: &[u8],
    mut on_stream: impl FnMut(u64, u64),
    mut on_ack: impl FnMut(u64, u64),
) -> Option<()> {
    let mut r = Reader {
        data: payload,
        at: 0,
    };
    while !r.done() {
        let kind = r.varint()?;
        match kind {
            0x00 | 0x01 | 0x1e | 0x1f => {}
            0x02 | 0x03 => {
                let largest = r.varint()?;
                r.varint()?; // ACK delay
                let count = r.varint()?;
                let first = r.varint()?;
                let mut high = largest;
                let mut low = largest.checked_sub(first)?;
                on_ack(low, high);
                for _ in 0..count {
                    let gap = r.varint()?;
                    let len = r.varint()?;
                    high = low.checked_sub(gap + 2)?;
                    low = high.checked_sub(len)?;
                    on_ack(low, high);
                }
                if kind == 0x03 {
                    r.skip_varints(3)?;
                }
            }
            0x04 => r.skip_varints(3)?,
            0x05 | 0x11 | 0x15 => r.skip_varints(2)?,
            0x06 => {
                r.varint()?;
                let len = r.varint()?;
                r.skip(len)?;
            }
            0x07 => {
                let len = r.varint()?;
                r.skip(len)?;
            }
            0x08..=0x0f => {
                let id = r.varint()?;
                let offset = if kind & 0x04 != 0 { r.varint()? } else { 0 };
                let len = if kind & 0x02 != 0 {
                    r.varint()?
                } else {
                    (r.data.len() - r.at) as u64
                };
                r.skip(len)?;
                if id == DATA_STREAM && len > 0 {
                    on_stream(offset, offset + len);
                }
            }
            0x10 | 0x12 | 0x13 | 0x14 | 0x16 | 0x17 | 0x19 => r.skip_varints(1)?,
            0x18 => {
                r.skip_varints(2)?;
                let len = *r.data.get(r.at)?;
                r.skip(1 + u64::from(len) + 16)?;
            }
            0x1a | 0x1b => r.skip(8)?,
            0x1c | 0x1d => {
                r.skip_varints(if kind == 0x1c { 2 } else { 1 })?;
                let len = r.varint()?;
                r.skip(len)?;
            }
            0x30 => return Some(()),
            0x31 => {
                let len = r.varint()?;
                r.skip(len)?;
            }
            // ACK_FREQUENCY (draft-ietf-quic-ack-frequency).
            0xaf => r.skip_varints(4)?,
            _ => return None,
        }
    }
    Some(())
}

/// The `max_idle_timeout` (id 0x01) in encoded transport parameters, in milliseconds.
pub fn idle_timeout_ms(encoded: &[u8]) -> u64 {
    let mut r = Reader {
        data: encoded,
        at: 0,
    };
    while !r.done() {
        let (Some(id), Some(len)) = (r.varint(), r.varint()) else {
            return 0;
        };
        let start = r.at;
        if id == 0x01 {
            return r.varint().unwrap_or(0);
        }
        r.at = start;
        if r.skip(len).is_none() {
            return 0;
        }
    }
    0
}

impl Book {
    fn sent(&mut self, packet: u64, payload: &[u8]) {
        let mut ranges = Vec::new();
        if frames(payload, |start, end| ranges.push((start, end)), |_, _| {}).is_none() {
            self.broken = true;
        }
        if !ranges.is_empty() {
            self.sent.insert(packet, ranges);
        }
    }

    fn received(&mut self, payload: &[u8]) {
        let mut acks: Vec<(u64, u64)> = Vec::new();
        // An unknown frame in a peer's packet hides only what follows it.
        let _ = frames(payload, |_, _| {}, |low, high| acks.push((low, high)));
        for (low, high) in acks {
            let packets: Vec<u64> = self.sent.range(low..=high).map(|(pn, _)| *pn).collect();
            for packet in packets {
                if let Some(ranges) = self.sent.remove(&packet) {
                    for (start, end) in ranges {
                        self.acknowledge(start, end);
                    }
                }
            }
        }
        self.prune();
    }

    fn acknowledge(&mut self, start: u64, end: u64) {
        if end <= self.prefix {
            return;
        }
        let mut start = start.max(self.prefix);
        let mut end = end;
        // Merge with every range it touches.
        let touching: Vec<(u64, u64)> = self
            .acked
            .range(..=end)
            .rev()
            .take_while(|(_, e)| **e >= start)
            .map(|(s, e)| (*s, *e))
            .collect();
        for (s, e) in touching {
            self.acked.remove(&s);
            start = start.min(s);
            end = end.max(e);
        }
        if start <= self.prefix {
            self.prefix = end;
        } else {
            self.acked.insert(start, end);
        }
    }

    fn prune(&mut self) {
        // Records of lost packets whose ranges were since acknowledged in retransmissions.
        while let Some(entry) = self.sent.first_entry() {
            if entry.get().iter().all(|(_, end)| *end <= self.prefix) {
                entry.remove();
            } else {
                break;
            }
        }
    }
}

/// A packet key that tells the book what it protects (`local`) or opens (`remote`).
struct Watched {
    inner: Box<dyn PacketKey>,
    book: Tracker,
    local: bool,
}

impl PacketKey for Watched {
    fn encrypt(&self, packet: u64, buf: &mut [u8], header_len: usize) {
        if self.local {
            let end = buf.len().saturating_sub(self.inner.tag_len());
            if let Ok(mut book) = self.book.lock() {
                book.sent(packet, &buf[header_len.min(end)..end]);
            }
        }
        self.inner.encrypt(packet, buf, header_len);
    }

    fn decrypt(
        &self,
        packet: u64,
        header: &[u8],
        payload: &mut BytesMut,
    ) -> Result<(), CryptoError> {
        self.inner.decrypt(packet, header, payload)?;
        if !self.local {
            if let Ok(mut book) = self.book.lock() {
                book.received(payload);
            }
        }
        Ok(())
    }

    fn tag_len(&self) -> usize {
        self.inner.tag_len()
    }

    fn confidentiality_limit(&self) -> u64 {
        self.inner.confidentiality_limit()
    }

    fn integrity_limit(&self) -> u64 {
        self.inner.integrity_limit()
    }
}

/// Wrap a pair of 1-RTT packet keys.
pub fn watch_pair(
    pair: KeyPair<Box<dyn PacketKey>>,
    book: &Tracker,
) -> KeyPair<Box<dyn PacketKey>> {
    KeyPair {
        local: Box::new(Watched {
            inner: pair.local,
            book: book.clone(),
            local: true,
        }),
        remote: Box::new(Watched {
            inner: pair.remote,
            book: book.clone(),
            local: false,
        }),
    }
}

/// Wrap the packet keys of a `Keys` (the header keys stay as they are).
pub fn watch_keys(keys: Keys, book: &Tracker) -> Keys {
    Keys {
        header: keys.header,
        packet: watch_pair(keys.packet, book),
    }
}
