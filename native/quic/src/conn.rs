//! One connection: quinn-proto's state machine plus rxyomo's single data stream, the bytes
//! queued beyond the peer's flow-control credit, and the events the Python side is told.

use std::collections::VecDeque;
use std::net::SocketAddr;

use bytes::Bytes;

use crate::track::Tracker;
use quinn_proto::{
    Connection, ConnectionError, Dir, Event, ReadError, StreamEvent, StreamId, VarInt, WriteError,
};

/// How a connection ended, as the Python side classifies it.
pub struct Close {
    /// "transport" / "application" (the peer closed), "local" (this end's transport
    /// failed, e.g. a TLS alert), "timeout", "reset", "version", "closed" (closed here).
    pub kind: &'static str,
    pub code: u64,
    pub reason: String,
}

/// What happened to a connection since it was last asked.
pub enum Ev {
    /// The handshake completed: the negotiated ALPN protocol, and the peer's idle timeout
    /// in milliseconds (0 when it announced none).
    Connected(Option<Vec<u8>>, u64),
    /// The peer opened the data stream (servers only).
    StreamOpened,
    /// Bytes of the data stream, in order (handed over unasked only as the connection ends).
    Data(Vec<u8>),
    /// The data stream has bytes to read (`Endpoint.read`).
    Readable,
    /// The peer finished the data stream.
    Fin,
    /// The peer reset the data stream, or asked this end to stop sending on it.
    Reset(u64),
    /// The peer opened a stream other than the data stream.
    Unexpected(u64),
    /// Bytes written, from the first, that the peer's transport acknowledged.
    Acked(u64),
    /// Everything written, FIN included, was acknowledged.
    Finished,
    /// The connection is closing or closed.
    Lost(Close),
}

pub struct Conn {
    pub quic: Connection,
    pub remote: SocketAddr,
    stream: Option<StreamId>,
    /// False while the application is paused: nothing is offered to read, so no credit is
    /// granted (quinn-proto grants it as bytes are read).
    pub reading: bool,
    /// The data stream may have bytes to read.
    readable: bool,
    queued: VecDeque<Bytes>,
    queued_len: u64,
    /// Bytes quinn-proto took into its send buffer.
    accepted: u64,
    acked_told: u64,
    fin_wanted: bool,
    fin_given: bool,
    peer_fin: bool,
    pub lost: bool,
    /// What the packet keys learned of acknowledgements (None: the session was not watched).
    book: Option<Tracker>,
}

impl Conn {
    pub fn new(quic: Connection, remote: SocketAddr, book: Option<Tracker>) -> Self {
        Self {
            quic,
            remote,
            stream: None,
            reading: true,
            readable: false,
            queued: VecDeque::new(),
            queued_len: 0,
            accepted: 0,
            acked_told: 0,
            fin_wanted: false,
            fin_given: false,
            peer_fin: false,
            lost: false,
            book,
        }
    }

    pub fn has_stream(&self) -> bool {
        self.stream.is_some()
    }

    /// Queue `data` on the data stream; a client opens the stream with its first write.
    pub fn write(&mut self, data: &[u8]) {
        if self.fin_wanted || data.is_empty() {
            return;
        }
        if self.stream.is_none() && self.quic.side().is_client() {
            self.stream = self.quic.streams().open(Dir::Bi);
        }
        if self.queued.is_empty() {
            if let Some(id) = self.stream {
                match self.quic.send_stream(id).write(data) {
                    Ok(n) => {
                        self.accepted += n as u64;
                        if n == data.len() {
                            return;
                        }
                        self.queue(Bytes::copy_from_slice(&data[n..]));
                        return;
                    }
                    Err(WriteError::Blocked) => {}
                    Err(_) => return,
                }
            }
        }
        self.queue(Bytes::copy_from_slice(data));
    }

    fn queue(&mut self, data: Bytes) {
        self.queued_len += data.len() as u64;
        self.queued.push_back(data);
    }

    /// Send FIN after what is queued.
    pub fn finish(&mut self) {
        if self.stream.is_none() && self.quic.side().is_client() {
            self.stream = self.quic.streams().open(Dir::Bi);
        }
        self.fin_wanted = true;
        self.flush_queue();
    }

    /// Bytes written but not yet acknowledged.
    pub fn unacked(&self) -> u64 {
        self.queued_len + self.accepted - self.acked()
    }

    /// Bytes written, from the first, that are acknowledged.
    pub fn acked(&self) -> u64 {
        let known = self.book.as_ref().and_then(|book| {
            let book = book.lock().ok()?;
            (!book.broken).then_some(book.prefix)
        });
        // Without a book, what quinn-proto took off the writer's hands (as TCP counts).
        known.unwrap_or(self.accepted).min(self.accepted)
    }

    fn flush_queue(&mut self) {
        let Some(id) = self.stream else { return };
        while let Some(front) = self.queued.front_mut() {
            match self.quic.send_stream(id).write(front) {
                Ok(n) => {
                    self.accepted += n as u64;
                    self.queued_len -= n as u64;
                    if n == front.len() {
                        self.queued.pop_front();
                    } else {
                        let _ = front.split_to(n);
                        return;
                    }
                }
                Err(WriteError::Blocked) => return,
                Err(_) => {
                    self.queued.clear();
                    self.queued_len = 0;
                    return;
                }
            }
        }
        if self.fin_wanted && !self.fin_given {
            self.fin_given = true;
            let _ = self.quic.send_stream(id).finish();
        }
    }

    /// Collect what happened into `out`.
    pub fn drain(&mut self, out: &mut Vec<Ev>) {
        let mut lost = None;
        while let Some(event) = self.quic.poll() {
            match event {
                Event::Connected => {
                    let alpn = self
                        .quic
                        .crypto_session()
                        .handshake_data()
                        .and_then(|data| {
                            data.downcast::<quinn_proto::crypto::rustls::HandshakeData>()
                                .ok()
                        })
                        .and_then(|data| data.protocol);
                    let idle = self
                        .book
                        .as_ref()
                        .and_then(|book| book.lock().ok().map(|book| book.peer_idle_ms))
                        .unwrap_or(0);
                    out.push(Ev::Connected(alpn, idle));
                }
                Event::ConnectionLost { reason } => lost = Some(close_of(reason)),
                Event::Stream(StreamEvent::Opened { dir }) => {
                    while let Some(id) = self.quic.streams().accept(dir) {
                        if dir == Dir::Bi && id.index() == 0 && self.stream.is_none() {
                            self.stream = Some(id);
                            self.readable = true;
                            out.push(Ev::StreamOpened);
                        } else {
                            out.push(Ev::Unexpected(VarInt::from(id).into_inner()));
                        }
                    }
                }
                Event::Stream(StreamEvent::Readable { id }) if Some(id) == self.stream => {
                    self.readable = true;
                }
                Event::Stream(StreamEvent::Finished { id }) if Some(id) == self.stream => {
                    out.push(Ev::Finished);
                }
                Event::Stream(StreamEvent::Stopped { id, error_code })
                    if Some(id) == self.stream =>
                {
                    out.push(Ev::Reset(error_code.into_inner()));
                }
                _ => {}
            }
        }
        if lost.is_some() {
            // Held bytes reach the application before the loss does.
            self.read_into(out);
        } else if self.reading && self.readable && self.stream.is_some() && !self.peer_fin {
            // Read when the application asks: what a handler pausing on the way leaves
            // unread is not granted credit for.
            out.push(Ev::Readable);
        }
        self.flush_queue();
        let acked = self.acked();
        if acked > self.acked_told {
            self.acked_told = acked;
            out.push(Ev::Acked(acked));
        }
        if let Some(close) = lost {
            self.lost = true;
            out.push(Ev::Lost(close));
        }
    }

    /// Mark the stream worth reading again (after a resume).
    pub fn readable(&self) -> bool {
        self.readable
    }

    pub fn set_reading(&mut self, reading: bool) {
        self.reading = reading;
        if reading {
            self.readable = true;
        }
    }

    /// Up to `limit` bytes of what the data stream has now, whether the peer finished it,
    /// and the peer's reset code if it reset it; more may be left when `limit` was reached.
    pub fn read(&mut self, limit: usize) -> (Vec<u8>, bool, Option<u64>) {
        let mut data: Vec<u8> = Vec::new();
        let Some(id) = self.stream else {
            return (data, false, None);
        };
        if self.peer_fin {
            return (data, false, None);
        }
        self.readable = false;
        let mut recv = self.quic.recv_stream(id);
        let Ok(mut chunks) = recv.read(true) else {
            return (data, false, None);
        };
        let mut fin = false;
        let mut reset = None;
        loop {
            if data.len() >= limit {
                // Stopped short: the rest waits for the next read.
                self.readable = true;
                break;
            }
            match chunks.next(limit - data.len()) {
                Ok(Some(chunk)) => {
                    if data.is_empty() {
                        data = Vec::from(chunk.bytes);
                    } else {
                        data.extend_from_slice(&chunk.bytes);
                    }
                }
                Ok(None) => {
                    fin = true;
                    break;
                }
                Err(ReadError::Blocked) => break,
                Err(ReadError::Reset(code)) => {
                    reset = Some(code.into_inner());
                    break;
                }
            }
        }
        let _ = chunks.finalize();
        if fin || reset.is_some() {
            self.peer_fin = true;
        }
        (data, fin, reset)
    }

    fn read_into(&mut self, out: &mut Vec<Ev>) {
        let (data, fin, reset) = self.read(usize::MAX);
        if !data.is_empty() {
            out.push(Ev::Data(data));
        }
        if fin {
            out.push(Ev::Fin);
        }
        if let Some(code) = reset {
            out.push(Ev::Reset(code));
        }
    }
}

fn close_of(reason: ConnectionError) -> Close {
    let (kind, code, reason) = match reason {
        ConnectionError::VersionMismatch => ("version", 0, String::new()),
        ConnectionError::TransportError(error) => ("local", u64::from(error.code), error.reason),
        ConnectionError::ConnectionClosed(close) => (
            "transport",
            u64::from(close.error_code),
            String::from_utf8_lossy(&close.reason).into_owned(),
        ),
        ConnectionError::ApplicationClosed(close) => (
            "application",
            close.error_code.into_inner(),
            String::from_utf8_lossy(&close.reason).into_owned(),
        ),
        ConnectionError::Reset => ("reset", 0, String::new()),
        ConnectionError::TimedOut => ("timeout", 0, String::new()),
        ConnectionError::LocallyClosed => ("closed", 0, String::new()),
        ConnectionError::CidsExhausted => ("local", 0, "connection ids exhausted".into()),
    };
    Close { kind, code, reason }
}
