//! quinn-proto's rustls sessions with their 1-RTT packet keys watched (see `track`).
//!
//! Each connection's session gets a fresh book; the configuration leaves it in a slot for
//! the endpoint to take right after quinn-proto created the connection (sessions start
//! inside `connect` and `accept`, synchronously).

use std::any::Any;
use std::sync::{Arc, Mutex};

use quinn_proto::crypto::rustls::{QuicClientConfig, QuicServerConfig};
use quinn_proto::crypto::{
    self, ExportKeyingMaterialError, HeaderKey, KeyPair, Keys, PacketKey, Session,
    UnsupportedVersion,
};
use quinn_proto::transport_parameters::TransportParameters;
use quinn_proto::{ConnectError, ConnectionId, Side, TransportError};

use crate::track::{idle_timeout_ms, watch_keys, watch_pair, Book, Tracker};

/// Where a new session leaves its book.
pub type Slot = Arc<Mutex<Option<Tracker>>>;

fn new_book(slot: &Slot) -> Tracker {
    let book: Tracker = Arc::new(Mutex::new(Book::default()));
    if let Ok(mut slot) = slot.lock() {
        *slot = Some(book.clone());
    }
    book
}

/// Take the book the last session left (None if there is none).
pub fn take(slot: &Slot) -> Option<Tracker> {
    slot.lock().ok().and_then(|mut slot| slot.take())
}

struct Watching {
    inner: Box<dyn Session>,
    book: Tracker,
    /// Key changes so far: the handshake keys come first, the 1-RTT ones second.
    changes: u8,
}

impl Session for Watching {
    fn initial_keys(&self, dst_cid: &ConnectionId, side: Side) -> Keys {
        self.inner.initial_keys(dst_cid, side)
    }

    fn handshake_data(&self) -> Option<Box<dyn Any>> {
        self.inner.handshake_data()
    }

    fn peer_identity(&self) -> Option<Box<dyn Any>> {
        self.inner.peer_identity()
    }

    fn early_crypto(&self) -> Option<(Box<dyn HeaderKey>, Box<dyn PacketKey>)> {
        self.inner.early_crypto()
    }

    fn early_data_accepted(&self) -> Option<bool> {
        self.inner.early_data_accepted()
    }

    fn is_handshaking(&self) -> bool {
        self.inner.is_handshaking()
    }

    fn read_handshake(&mut self, buf: &[u8]) -> Result<bool, TransportError> {
        self.inner.read_handshake(buf)
    }

    fn transport_parameters(&self) -> Result<Option<TransportParameters>, TransportError> {
        let params = self.inner.transport_parameters()?;
        if let Some(params) = &params {
            // quinn-proto keeps the peer's idle timeout to itself; the channel paces its
            // keep-alive PINGs by it.
            let mut encoded = Vec::new();
            params.write(&mut encoded);
            if let Ok(mut book) = self.book.lock() {
                book.peer_idle_ms = idle_timeout_ms(&encoded);
            }
        }
        Ok(params)
    }

    fn write_handshake(&mut self, buf: &mut Vec<u8>) -> Option<Keys> {
        let keys = self.inner.write_handshake(buf)?;
        self.changes = self.changes.saturating_add(1);
        Some(if self.changes == 2 {
            watch_keys(keys, &self.book)
        } else {
            keys
        })
    }

    fn next_1rtt_keys(&mut self) -> Option<KeyPair<Box<dyn PacketKey>>> {
        Some(watch_pair(self.inner.next_1rtt_keys()?, &self.book))
    }

    fn is_valid_retry(&self, orig_dst_cid: &ConnectionId, header: &[u8], payload: &[u8]) -> bool {
        self.inner.is_valid_retry(orig_dst_cid, header, payload)
    }

    fn export_keying_material(
        &self,
        output: &mut [u8],
        label: &[u8],
        context: &[u8],
    ) -> Result<(), ExportKeyingMaterialError> {
        self.inner.export_keying_material(output, label, context)
    }
}

/// A client configuration whose sessions are watched.
pub struct Client {
    pub inner: Arc<QuicClientConfig>,
    pub slot: Slot,
}

impl crypto::ClientConfig for Client {
    fn start_session(
        self: Arc<Self>,
        version: u32,
        server_name: &str,
        params: &TransportParameters,
    ) -> Result<Box<dyn Session>, ConnectError> {
        let inner = self
            .inner
            .clone()
            .start_session(version, server_name, params)?;
        Ok(Box::new(Watching {
            inner,
            book: new_book(&self.slot),
            changes: 0,
        }))
    }
}

/// A server configuration whose sessions are watched.
pub struct Server {
    pub inner: Arc<QuicServerConfig>,
    pub slot: Slot,
}

impl crypto::ServerConfig for Server {
    fn initial_keys(
        &self,
        version: u32,
        dst_cid: &ConnectionId,
    ) -> Result<Keys, UnsupportedVersion> {
        self.inner.initial_keys(version, dst_cid)
    }

    fn retry_tag(&self, version: u32, orig_dst_cid: &ConnectionId, packet: &[u8]) -> [u8; 16] {
        self.inner.retry_tag(version, orig_dst_cid, packet)
    }

    fn start_session(
        self: Arc<Self>,
        version: u32,
        params: &TransportParameters,
    ) -> Box<dyn Session> {
        let inner = self.inner.clone().start_session(version, params);
        Box::new(Watching {
            inner,
            book: new_book(&self.slot),
            changes: 0,
        })
    }
}
