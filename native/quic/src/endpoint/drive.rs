//! The endpoint's inner workings: clock conversion, datagrams in (with refusals that say
//! why), endpoint events, datagrams out, and the socket it reads and writes.

use std::mem::ManuallyDrop;
use std::net::{SocketAddr, UdpSocket};
use std::os::fd::{FromRawFd, RawFd};
use std::time::{Duration, Instant};

use bytes::BytesMut;
use pyo3::exceptions::PyKeyError;
use pyo3::PyResult;
use quinn_proto::{ConnectionHandle, DatagramEvent, EcnCodepoint};
use quinn_udp::{UdpSockRef, UdpSocketState};

use super::{is_loopback, Endpoint};
use crate::conn::Conn;
use crate::refuse;
use crate::session;

impl Endpoint {
    pub(super) fn instant(&self, now: f64) -> Instant {
        self.base + Duration::from_secs_f64((now - self.base_time).max(0.0))
    }

    pub(super) fn time(&self, at: Instant) -> f64 {
        self.base_time + at.saturating_duration_since(self.base).as_secs_f64()
    }

    pub(super) fn conn(&mut self, handle: usize) -> PyResult<&mut Conn> {
        self.conns
            .get_mut(&handle)
            .ok_or_else(|| PyKeyError::new_err(handle))
    }

    pub(super) fn datagram(
        &mut self,
        at: Instant,
        remote: SocketAddr,
        ecn: Option<quinn_udp::EcnCodepoint>,
        data: BytesMut,
    ) {
        // A new connection starts with a long header; its ids are needed to refuse it.
        let ids = if data.first().is_some_and(|b| b & 0x80 != 0) {
            refuse::initial_ids(&data)
        } else {
            None
        };
        let ecn = ecn.and_then(|e| EcnCodepoint::from_bits(e as u8));
        let Some(event) = self
            .proto
            .handle(at, remote, None, ecn, data, &mut self.buf)
        else {
            return;
        };
        match event {
            DatagramEvent::ConnectionEvent(handle, event) => {
                if let Some(conn) = self.conns.get_mut(&handle.0) {
                    conn.quic.handle_event(event);
                    self.dirty.push(handle.0);
                }
            }
            DatagramEvent::Response(transmit) => {
                self.responses
                    .push((self.buf[..transmit.size].to_vec(), transmit.destination));
                self.buf.clear();
            }
            DatagramEvent::NewConnection(incoming) => {
                let full = self
                    .max_connections
                    .is_some_and(|limit| self.conns.len() >= limit);
                if !self.accepting || full || self.servers.is_empty() {
                    let why = if full {
                        "too many connections"
                    } else {
                        "not accepting connections"
                    };
                    let answer = match (&self.refuser, &ids) {
                        (Some(tls), Some(ids)) => refuse::refusal(tls.as_ref(), ids, why),
                        _ => None,
                    };
                    match answer {
                        Some(packet) => {
                            self.proto.ignore(incoming);
                            self.responses.push((packet, remote));
                        }
                        None => {
                            let transmit = self.proto.refuse(incoming, &mut self.buf);
                            self.responses
                                .push((self.buf[..transmit.size].to_vec(), transmit.destination));
                        }
                    }
                    self.buf.clear();
                    return;
                }
                let size = if is_loopback(&remote) {
                    self.loopback_size
                } else {
                    self.default_size
                };
                let server = self
                    .servers
                    .iter()
                    .find(|(s, _)| *s == size)
                    .map(|(_, config)| config.clone());
                match self.proto.accept(incoming, at, &mut self.buf, server) {
                    Ok((handle, quic)) => {
                        let book = session::take(&self.slot);
                        self.conns.insert(handle.0, Conn::new(quic, remote, book));
                        self.accepted.push(handle.0);
                        self.dirty.push(handle.0);
                    }
                    Err(error) => {
                        if let Some(transmit) = error.response {
                            self.responses
                                .push((self.buf[..transmit.size].to_vec(), transmit.destination));
                        }
                    }
                }
                self.buf.clear();
            }
        }
    }

    /// Pass endpoint events between the connection and the endpoint (connection ids,
    /// draining); a drained connection is forgotten.
    pub(super) fn pump(&mut self, handle: usize) {
        let Some(conn) = self.conns.get_mut(&handle) else {
            return;
        };
        let mut drained = false;
        while let Some(event) = conn.quic.poll_endpoint_events() {
            drained |= event.is_drained();
            if let Some(reply) = self.proto.handle_event(ConnectionHandle(handle), event) {
                conn.quic.handle_event(reply);
            }
        }
        if drained {
            self.conns.remove(&handle);
            self.drained.push(handle);
        }
    }

    pub(super) fn each_transmit(
        &mut self,
        now: f64,
        segments: usize,
        mut send: impl FnMut(&[u8], Option<usize>, SocketAddr, Option<EcnCodepoint>) -> bool,
    ) {
        let at = self.instant(now);
        for (data, remote) in std::mem::take(&mut self.responses) {
            send(&data, None, remote, None);
        }
        let handles: Vec<usize> = self.conns.keys().copied().collect();
        for handle in handles {
            self.pump(handle);
            let Some(conn) = self.conns.get_mut(&handle) else {
                continue;
            };
            // A batch stays within what one UDP send carries (64 KiB).
            let mtu = usize::from(conn.quic.current_mtu()).max(1);
            let batch = segments.min(65535 / mtu).max(1);
            let buf = &mut self.buf;
            loop {
                buf.clear();
                let Some(transmit) = conn.quic.poll_transmit(at, batch, buf) else {
                    break;
                };
                let data = &buf[..transmit.size];
                if !send(
                    data,
                    transmit.segment_size,
                    transmit.destination,
                    transmit.ecn,
                ) {
                    break;
                }
            }
            self.pump(handle);
        }
        self.buf.clear();
    }

    /// The socket state for `fd`, made on first use (it sets the socket's options).
    pub(super) fn take_io(&mut self, fd: RawFd) -> std::io::Result<Io> {
        match self.io.take() {
            Some(io) if io.fd == fd => Ok(io),
            _ => {
                let socket = ManuallyDrop::new(unsafe { UdpSocket::from_raw_fd(fd) });
                let state = UdpSocketState::new(UdpSockRef::from(&*socket))?;
                Ok(Io {
                    fd,
                    state,
                    buffer: vec![0u8; RECV_SLICE * RECV_BATCH],
                })
            }
        }
    }
}

/// Datagrams (or GRO batches of them) read per system call, and the room for each.
pub(super) const RECV_BATCH: usize = 8;
pub(super) const RECV_SLICE: usize = 65536;

/// The socket a driver owns, as the endpoint reads and writes it.
pub(super) struct Io {
    pub(super) fd: RawFd,
    pub(super) state: UdpSocketState,
    pub(super) buffer: Vec<u8>,
}

impl Io {
    /// The caller's socket, borrowed: never closed here.
    pub(super) fn socket(&self) -> ManuallyDrop<UdpSocket> {
        ManuallyDrop::new(unsafe { UdpSocket::from_raw_fd(self.fd) })
    }
}
