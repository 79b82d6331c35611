//! The Python class: one endpoint (a UDP socket's worth of connections), driven with
//! datagrams in, datagrams out, and one timer; connections are named by small integers.

use std::collections::HashMap;
use std::io::IoSliceMut;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::RawFd;
use std::sync::Arc;
use std::time::Instant;

use bytes::BytesMut;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyTuple};
use quinn_proto::{ClientConfig, Endpoint as Proto, EndpointConfig, ServerConfig, VarInt};
use quinn_udp::{RecvMeta, UdpSockRef};

use crate::config::QuicServerConfig;
use crate::config::{self, Settings};
use crate::conn::{Conn, Ev};
use crate::session::{self, Slot};

mod drive;

use drive::{Io, RECV_BATCH, RECV_SLICE};

/// Event kinds, as the Python side knows them.
const CONNECTED: u8 = 1;
const STREAM_OPENED: u8 = 2;
const DATA: u8 = 3;
const FIN: u8 = 4;
const RESET: u8 = 5;
const UNEXPECTED: u8 = 6;
const ACKED: u8 = 7;
const FINISHED: u8 = 8;
const LOST: u8 = 9;
const DRAINED: u8 = 10;
const ACCEPTED: u8 = 11;
const READABLE: u8 = 12;

#[pyclass(module = "rxyomo_quic")]
pub struct Endpoint {
    proto: Proto,
    conns: HashMap<usize, Conn>,
    settings: Settings,
    /// Per datagram size, the server configuration (a loopback peer gets larger packets).
    servers: Vec<(u16, Arc<ServerConfig>)>,
    /// The server's TLS configuration, for refusals.
    refuser: Option<Arc<QuicServerConfig>>,
    loopback_size: u16,
    default_size: u16,
    accepting: bool,
    max_connections: Option<usize>,
    base: Instant,
    base_time: f64,
    buf: Vec<u8>,
    /// Connections with something to tell or to send.
    dirty: Vec<usize>,
    accepted: Vec<usize>,
    drained: Vec<usize>,
    responses: Vec<(Vec<u8>, SocketAddr)>,
    /// Where each new connection's session leaves its acknowledgement book.
    slot: Slot,
    io: Option<Io>,
    /// Datagrams dropped because the socket's buffer was full.
    #[pyo3(get)]
    send_drops: u64,
}

fn py_err(message: impl Into<String>) -> PyErr {
    PyValueError::new_err(message.into())
}

fn socket_addr(address: &Bound<'_, PyTuple>) -> PyResult<SocketAddr> {
    let host: String = address.get_item(0)?.extract()?;
    let port: u16 = address.get_item(1)?.extract()?;
    let ip: IpAddr = host
        .split('%')
        .next()
        .unwrap_or_default()
        .parse()
        .map_err(|_| py_err(format!("not an IP address: {host:?}")))?;
    Ok(SocketAddr::new(ip, port))
}

fn is_loopback(address: &SocketAddr) -> bool {
    match address.ip() {
        IpAddr::V4(ip) => ip.is_loopback(),
        IpAddr::V6(ip) => {
            ip.is_loopback() || ip.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
    }
}

#[pymethods]
impl Endpoint {
    /// A client endpoint (no certificate) or a server one (`certfile` and `keyfile`).
    #[new]
    #[pyo3(signature = (now, *, alpn, idle_timeout, keepalive, receive_window, congestion,
        loopback_datagram_size, datagram_size, max_udp_payload_size, certfile=None,
        keyfile=None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        now: f64,
        alpn: Vec<u8>,
        idle_timeout: f64,
        keepalive: Option<f64>,
        receive_window: u64,
        congestion: String,
        loopback_datagram_size: u16,
        datagram_size: u16,
        max_udp_payload_size: u16,
        certfile: Option<String>,
        keyfile: Option<String>,
    ) -> PyResult<Self> {
        let settings = Settings {
            alpn,
            idle_timeout,
            keepalive,
            receive_window,
            congestion,
        };
        let mut endpoint_config = EndpointConfig::default();
        endpoint_config
            .max_udp_payload_size(max_udp_payload_size)
            .map_err(|e| py_err(e.to_string()))?;
        let slot = Slot::default();
        let mut servers = Vec::new();
        let mut refuser = None;
        if let Some(certfile) = certfile {
            let keyfile = keyfile.unwrap_or_else(|| certfile.clone());
            for size in [loopback_datagram_size, datagram_size] {
                let (server, tls) = config::server(&certfile, &keyfile, &settings, size, &slot)?;
                servers.push((size, server));
                refuser = Some(tls);
            }
        }
        let default_server = servers.first().map(|(_, config)| config.clone());
        Ok(Self {
            proto: Proto::new(Arc::new(endpoint_config), default_server, false, None),
            conns: HashMap::new(),
            settings,
            servers,
            refuser,
            loopback_size: loopback_datagram_size,
            default_size: datagram_size,
            accepting: true,
            max_connections: None,
            base: Instant::now(),
            base_time: now,
            buf: Vec::with_capacity(65536),
            dirty: Vec::new(),
            accepted: Vec::new(),
            drained: Vec::new(),
            responses: Vec::new(),
            slot,
            io: None,
            send_drops: 0,
        })
    }

    /// Start a connection to `address`; returns its handle.
    #[pyo3(signature = (address, server_name, now, *, cafile=None, verify=true))]
    fn connect(
        &mut self,
        address: &Bound<'_, PyTuple>,
        server_name: &str,
        now: f64,
        cafile: Option<String>,
        verify: bool,
    ) -> PyResult<usize> {
        let remote = socket_addr(address)?;
        let size = if is_loopback(&remote) {
            self.loopback_size
        } else {
            self.default_size
        };
        let client: ClientConfig =
            config::client(cafile.as_deref(), verify, &self.settings, size, &self.slot)?;
        let (handle, quic) = self
            .proto
            .connect(self.instant(now), client, remote, server_name)
            .map_err(|e| py_err(format!("cannot connect: {e}")))?;
        let book = session::take(&self.slot);
        self.conns.insert(handle.0, Conn::new(quic, remote, book));
        self.dirty.push(handle.0);
        Ok(handle.0)
    }

    /// Whether new connections are accepted, and how many at most.
    #[pyo3(signature = (accepting, max_connections=None))]
    fn set_accepting(&mut self, accepting: bool, max_connections: Option<usize>) {
        self.accepting = accepting;
        self.max_connections = max_connections;
    }

    /// Feed a batch of `(data, address)` datagrams.
    fn receive(&mut self, batch: &Bound<'_, PyList>, now: f64) -> PyResult<()> {
        let at = self.instant(now);
        for item in batch.iter() {
            let item = item.cast_into::<PyTuple>()?;
            let data = item.get_item(0)?;
            let data = data.cast::<PyBytes>()?.as_bytes();
            let remote = socket_addr(&item.get_item(1)?.cast_into::<PyTuple>()?)?;
            self.datagram(at, remote, None, BytesMut::from(data));
        }
        Ok(())
    }

    /// Read up to `limit` datagrams from the non-blocking UDP socket `fd` (owned by the
    /// caller) and feed them. Returns how many were read and the error that stopped the
    /// reading (an errno; 0 when the socket was simply drained or the limit reached).
    fn receive_from(&mut self, fd: RawFd, now: f64, limit: usize) -> (usize, i32) {
        let at = self.instant(now);
        let mut io = match self.take_io(fd) {
            Ok(io) => io,
            Err(error) => return (0, error.raw_os_error().unwrap_or(-1)),
        };
        let socket = io.socket();
        let mut count = 0;
        let mut failure = 0;
        let mut meta = [RecvMeta::default(); RECV_BATCH];
        while count < limit {
            let mut slices: Vec<IoSliceMut<'_>> = io
                .buffer
                .chunks_mut(RECV_SLICE)
                .map(IoSliceMut::new)
                .collect();
            match io
                .state
                .recv(UdpSockRef::from(&*socket), &mut slices, &mut meta)
            {
                Ok(messages) => {
                    for (slice, meta) in slices.iter().zip(&meta).take(messages) {
                        // One message may hold several datagrams of `stride` bytes (GRO).
                        for datagram in slice[..meta.len].chunks(meta.stride.max(1)) {
                            count += 1;
                            self.datagram(at, meta.addr, meta.ecn, BytesMut::from(datagram));
                        }
                    }
                }
                Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(error) if error.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(error) => {
                    failure = error.raw_os_error().unwrap_or(-1);
                    break;
                }
            }
        }
        self.io = Some(io);
        (count, failure)
    }

    /// Events since the last call: `(handle, kind, value)` tuples.
    fn poll<'py>(&mut self, py: Python<'py>, now: f64) -> PyResult<Bound<'py, PyList>> {
        let _ = now;
        let events = PyList::empty(py);
        for handle in std::mem::take(&mut self.accepted) {
            if let Some(conn) = self.conns.get(&handle) {
                let remote = conn.remote;
                events.append((handle, ACCEPTED, (remote.ip().to_string(), remote.port())))?;
            }
        }
        let mut out = Vec::new();
        let mut dirty = std::mem::take(&mut self.dirty);
        dirty.sort_unstable();
        dirty.dedup();
        for handle in dirty {
            self.pump(handle);
            let Some(conn) = self.conns.get_mut(&handle) else {
                continue;
            };
            conn.drain(&mut out);
            for ev in out.drain(..) {
                match ev {
                    Ev::Connected(alpn, idle) => {
                        let alpn = alpn.map(|a| PyBytes::new(py, &a).unbind());
                        events.append((handle, CONNECTED, (alpn, idle)))?
                    }
                    Ev::StreamOpened => events.append((handle, STREAM_OPENED, py.None()))?,
                    Ev::Data(data) => events.append((handle, DATA, PyBytes::new(py, &data)))?,
                    Ev::Fin => events.append((handle, FIN, py.None()))?,
                    Ev::Readable => events.append((handle, READABLE, py.None()))?,
                    Ev::Reset(code) => events.append((handle, RESET, code))?,
                    Ev::Unexpected(id) => events.append((handle, UNEXPECTED, id))?,
                    Ev::Acked(count) => events.append((handle, ACKED, count))?,
                    Ev::Finished => events.append((handle, FINISHED, py.None()))?,
                    Ev::Lost(close) => {
                        events.append((handle, LOST, (close.kind, close.code, close.reason)))?
                    }
                }
            }
        }
        for handle in std::mem::take(&mut self.drained) {
            events.append((handle, DRAINED, py.None()))?;
        }
        Ok(events)
    }

    /// Datagrams to send now, as `(data, address)` tuples.
    fn transmit<'py>(&mut self, py: Python<'py>, now: f64) -> PyResult<Bound<'py, PyList>> {
        let out = PyList::empty(py);
        self.each_transmit(now, 1, |data, _, remote, _| {
            out.append((
                PyBytes::new(py, data),
                (remote.ip().to_string(), remote.port()),
            ))
            .is_ok()
        });
        Ok(out)
    }

    /// Send what is due straight to the UDP socket `fd` (the caller's), several datagrams
    /// a call where the kernel segments them (GSO). Returns the sends made and the last
    /// error other than a full buffer (an errno, or 0); what finds the buffer full is
    /// dropped and counted, as a lost packet QUIC recovers.
    fn transmit_to(&mut self, fd: RawFd, now: f64) -> (usize, i32) {
        let io = match self.take_io(fd) {
            Ok(io) => io,
            Err(error) => return (0, error.raw_os_error().unwrap_or(-1)),
        };
        let socket = io.socket();
        let segments = io.state.max_gso_segments();
        let mut sent = 0;
        let mut drops = 0;
        let mut failure = 0;
        self.each_transmit(now, segments, |contents, segment_size, destination, ecn| {
            let transmit = quinn_udp::Transmit {
                destination,
                ecn: ecn.and_then(|e| quinn_udp::EcnCodepoint::from_bits(e as u8)),
                contents,
                segment_size,
                src_ip: None,
            };
            match io.state.try_send(UdpSockRef::from(&*socket), &transmit) {
                Ok(()) => sent += 1,
                Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => drops += 1,
                Err(error) => failure = error.raw_os_error().unwrap_or(-1),
            }
            true
        });
        self.send_drops += drops;
        self.io = Some(io);
        (sent, failure)
    }

    /// When the next timer is due (loop time), or None.
    fn timeout(&mut self) -> Option<f64> {
        if !self.drained.is_empty() {
            // Drained connections are yet to be told: at once.
            return Some(self.base_time);
        }
        let next = self
            .conns
            .values_mut()
            .filter_map(|c| c.quic.poll_timeout())
            .min()?;
        Some(self.time(next))
    }

    /// Handle the timers due at `now`.
    fn handle_timeout(&mut self, now: f64) {
        let at = self.instant(now);
        for (handle, conn) in self.conns.iter_mut() {
            if conn.quic.poll_timeout().is_some_and(|due| due <= at) {
                conn.quic.handle_timeout(at);
                self.dirty.push(*handle);
            }
        }
    }

    fn write(&mut self, handle: usize, data: &[u8]) -> PyResult<()> {
        self.conn(handle)?.write(data);
        self.dirty.push(handle);
        Ok(())
    }

    fn finish(&mut self, handle: usize) -> PyResult<()> {
        self.conn(handle)?.finish();
        self.dirty.push(handle);
        Ok(())
    }

    /// Close with an application error code.
    fn close(&mut self, handle: usize, code: u64, reason: &[u8], now: f64) -> PyResult<()> {
        let at = self.instant(now);
        let code = VarInt::from_u64(code).map_err(|_| py_err("error code too large"))?;
        let reason = bytes::Bytes::copy_from_slice(reason);
        self.conn(handle)?.quic.close(at, code, reason);
        self.dirty.push(handle);
        Ok(())
    }

    fn set_reading(&mut self, handle: usize, reading: bool) -> PyResult<()> {
        self.conn(handle)?.set_reading(reading);
        self.dirty.push(handle);
        Ok(())
    }

    /// Read up to `limit` bytes of the data stream: `(data, fin, reset code or None,
    /// whether more is left)`; the credit it frees goes out with the next transmit.
    fn read<'py>(
        &mut self,
        py: Python<'py>,
        handle: usize,
        limit: usize,
    ) -> PyResult<(Bound<'py, PyBytes>, bool, Option<u64>, bool)> {
        let conn = self.conn(handle)?;
        let (data, fin, reset) = conn.read(limit);
        let more = conn.readable();
        self.dirty.push(handle);
        Ok((PyBytes::new(py, &data), fin, reset, more))
    }

    fn ping(&mut self, handle: usize) -> PyResult<()> {
        self.conn(handle)?.quic.ping();
        self.dirty.push(handle);
        Ok(())
    }

    fn unacked(&mut self, handle: usize) -> PyResult<u64> {
        Ok(self.conn(handle)?.unacked())
    }

    fn acked(&mut self, handle: usize) -> PyResult<u64> {
        Ok(self.conn(handle)?.acked())
    }

    fn has_stream(&mut self, handle: usize) -> PyResult<bool> {
        Ok(self.conn(handle)?.has_stream())
    }

    /// The largest datagram the connection sends now.
    fn datagram_size(&mut self, handle: usize) -> PyResult<u16> {
        Ok(self.conn(handle)?.quic.current_mtu())
    }

    fn __len__(&self) -> usize {
        self.conns.len()
    }
}
