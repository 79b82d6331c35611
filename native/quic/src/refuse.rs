//! A refusal that says why: an Initial packet carrying CONNECTION_CLOSE
//! (CONNECTION_REFUSED) with a reason phrase, answering a client's Initial.
//!
//! quinn-proto's own refusal carries no reason; rxyomo's clients tell their users why a
//! server turned them away ("not accepting connections", "too many connections").

use quinn_proto::crypto::ServerConfig;
use quinn_proto::ConnectionId;

const CONNECTION_REFUSED: u8 = 0x02;
const CONNECTION_CLOSE: u8 = 0x1c;

/// The version and connection ids of a client's Initial packet.
pub struct InitialIds {
    version: u32,
    dcid: Vec<u8>,
    scid: Vec<u8>,
}

/// Read the long header of a datagram's first packet (None unless it is a long header).
pub fn initial_ids(datagram: &[u8]) -> Option<InitialIds> {
    if datagram.first()? & 0x80 == 0 {
        return None;
    }
    let version = u32::from_be_bytes(datagram.get(1..5)?.try_into().ok()?);
    let dcid_len = usize::from(*datagram.get(5)?);
    let dcid = datagram.get(6..6 + dcid_len)?.to_vec();
    let scid_len = usize::from(*datagram.get(6 + dcid_len)?);
    let start = 7 + dcid_len;
    let scid = datagram.get(start..start + scid_len)?.to_vec();
    Some(InitialIds {
        version,
        dcid,
        scid,
    })
}

fn push_varint(out: &mut Vec<u8>, value: u64) {
    if value < 0x40 {
        out.push(value as u8);
    } else if value < 0x4000 {
        out.extend_from_slice(&(0x4000 | value as u16).to_be_bytes());
    } else {
        out.extend_from_slice(&(0x8000_0000 | value as u32).to_be_bytes());
    }
}

/// The refusal datagram for the client that sent `ids`, keyed as every Initial is.
pub fn refusal(server: &dyn ServerConfig, ids: &InitialIds, reason: &str) -> Option<Vec<u8>> {
    if ids.dcid.len() > 20 || ids.scid.len() > 20 {
        return None;
    }
    let keys = server
        .initial_keys(ids.version, &ConnectionId::new(&ids.dcid))
        .ok()?;
    let reason = &reason.as_bytes()[..reason.len().min(512)];
    let mut payload = vec![CONNECTION_CLOSE, CONNECTION_REFUSED, 0x00];
    push_varint(&mut payload, reason.len() as u64);
    payload.extend_from_slice(reason);
    // Header protection samples 16 bytes from 4 past the packet number's start.
    while payload.len() < 4 {
        payload.push(0);
    }
    let tag = keys.packet.local.tag_len();
    let mut packet = vec![0xc0]; // long header, Initial, one-byte packet number
    packet.extend_from_slice(&ids.version.to_be_bytes());
    packet.push(ids.scid.len() as u8);
    packet.extend_from_slice(&ids.scid);
    packet.push(ids.dcid.len() as u8);
    packet.extend_from_slice(&ids.dcid);
    packet.push(0); // no token
    let length = 1 + payload.len() + tag;
    packet.extend_from_slice(&(0x4000 | length as u16).to_be_bytes());
    let pn_offset = packet.len();
    packet.push(0); // packet number 0
    let header_len = packet.len();
    packet.extend_from_slice(&payload);
    packet.resize(packet.len() + tag, 0);
    keys.packet.local.encrypt(0, &mut packet, header_len);
    keys.header.local.encrypt(pn_offset, &mut packet);
    Some(packet)
}
