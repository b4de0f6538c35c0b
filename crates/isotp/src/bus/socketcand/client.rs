//! [`SocketcandBus`]: a [`CanBus`] over a TCP connection to a socketcand server in raw mode.

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use isotp_core::Frame;

use super::protocol::{self, Chunk, Framer, Message};
use crate::bus::inbox::{Inbox, InboxSender};
use crate::bus::{BusError, CanBus, Capabilities, ClockPair};

/// How long [`SocketcandBus::connect`] waits for the TCP connection and for each handshake answer.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// A `send` blocked this long (the server stopped reading) fails instead of hanging.
const WRITE_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Default)]
struct Shared {
    stopping: AtomicBool,
    errors: AtomicU64,
    error_log: std::sync::Mutex<crate::bus::LogThrottle>,
}

/// A CAN bus reached through a [socketcand](https://github.com/linux-can/socketcand) server (or
/// `isotp hub`, the `isotp-hub` crate) over TCP, in socketcand's raw mode.
///
/// The connection handshake is the one python-can's `socketcand` interface performs: the server
/// greets with `< hi >`, the client sends `< open CHANNEL >` and `< rawmode >`, each answered with
/// `< ok >`. Then every frame on the bus arrives as `< frame ID SECONDS.MICROS DATA >`, and frames
/// are sent as `< send ID LEN B0 B1 ... >`. The time in each `frame` line (when the server
/// captured it) is the frame's timestamp in [`recv_timestamped`](CanBus::recv_timestamped); a time
/// more than 2 s old or in the future, which says the two machines' clocks disagree, is replaced
/// by the time the line arrived.
///
/// CAN FD frames are sent as `< fdsend ID FLAGS LEN B0 ... >` and received from
/// `< fdframe ID FLAGS SECONDS.MICROS DATA >`, the extension recent socketcand versions implement
/// (FLAGS in hex: 0x01 bit rate switch). A server without it answers with an error or closes the
/// connection, so send CAN FD only to a server on a CAN FD bus. Classic frames never use it.
///
/// A background thread reads the connection; [`recv`](CanBus::recv) waits on what it delivers, so
/// [`interrupt`](CanBus::interrupt) wakes it at once. `< error ... >` messages from the server (bus
/// error frames, refused commands) are logged at warn level and counted in
/// [`errors_received`](SocketcandBus::errors_received); malformed input is logged and skipped.
/// When the server closes the connection, `recv` and `send` return [`BusError::Closed`].
///
/// ```no_run
/// use isotp::bus::{CanBus, socketcand::SocketcandBus};
/// use isotp_core::{CanId, Frame};
///
/// let bus = SocketcandBus::connect("127.0.0.1:29536", "vcan0")?;
/// bus.send(&Frame::new(CanId::standard(0x7E0)?, &[0x02, 0x10, 0x03])?)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct SocketcandBus {
    writer: Mutex<TcpStream>,
    inbox: Inbox,
    shared: Arc<Shared>,
    reader: Option<JoinHandle<()>>,
    peer: SocketAddr,
    channel: String,
}

impl std::fmt::Debug for SocketcandBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SocketcandBus")
            .field("peer", &self.peer)
            .field("channel", &self.channel)
            .finish_non_exhaustive()
    }
}

impl SocketcandBus {
    /// Connects to the socketcand server at `addr` (e.g. `"127.0.0.1:29536"`) and opens `channel`
    /// (e.g. `"can0"`) in raw mode, waiting up to [`DEFAULT_CONNECT_TIMEOUT`] for each step.
    ///
    /// # Errors
    ///
    /// The address does not resolve or nothing accepts connections there
    /// ([`BusError::Io`]); the server refuses the channel, or is not a socketcand server
    /// ([`BusError::Protocol`]); it closes the connection during the handshake
    /// ([`BusError::Closed`]).
    pub fn connect(addr: impl ToSocketAddrs, channel: &str) -> Result<SocketcandBus, BusError> {
        SocketcandBus::connect_timeout(addr, channel, DEFAULT_CONNECT_TIMEOUT)
    }

    /// [`connect`](SocketcandBus::connect) with another limit for the TCP connection and for each
    /// answer of the handshake.
    ///
    /// # Errors
    ///
    /// Those of [`connect`](SocketcandBus::connect); a channel name socketcand cannot carry
    /// ([`check_bus_name`](super::protocol::check_bus_name)) is a [`BusError::Io`] of kind
    /// `InvalidInput`, before anything connects.
    pub fn connect_timeout(
        addr: impl ToSocketAddrs,
        channel: &str,
        timeout: Duration,
    ) -> Result<SocketcandBus, BusError> {
        if let Err(why) = protocol::check_bus_name(channel) {
            return Err(BusError::io(
                format!("opening socketcand channel {channel:?}"),
                io::Error::new(io::ErrorKind::InvalidInput, why),
            ));
        }
        // Zero would make connect_timeout fail and a huge value would overflow deadlines.
        let timeout = timeout.clamp(Duration::from_millis(1), Duration::from_secs(86_400));
        let addrs: Vec<SocketAddr> = addr
            .to_socket_addrs()
            .map_err(|e| BusError::io("resolving the socketcand server address", e))?
            .collect();
        let mut last = None;
        let mut stream = None;
        for a in &addrs {
            match TcpStream::connect_timeout(a, timeout) {
                Ok(s) => {
                    stream = Some((s, *a));
                    break;
                }
                Err(e) => last = Some((*a, e)),
            }
        }
        let (stream, peer) = match (stream, last) {
            (Some(s), _) => s,
            (None, Some((a, e))) => {
                return Err(BusError::io(
                    format!(
                    "connecting to socketcand at {a} (is the server running and the port right?)"
                ),
                    e,
                ))
            }
            (None, None) => {
                return Err(BusError::io(
                    "resolving the socketcand server address",
                    io::Error::new(io::ErrorKind::NotFound, "the name resolved to no address"),
                ))
            }
        };
        let io_err = |what: &str, e| BusError::io(format!("{what} socketcand at {peer}"), e);
        stream
            .set_nodelay(true)
            .map_err(|e| io_err("configuring the connection to", e))?;
        let mut hs = Handshake {
            stream: &stream,
            framer: Framer::new(),
            pending: VecDeque::new(),
            peer,
            timeout,
        };
        hs.expect(Expected::Hi, "connecting")?;
        hs.command(&format!("< open {channel} >"))?;
        hs.expect(Expected::Ok, &format!("< open {channel} >"))?;
        hs.command("< rawmode >")?;
        hs.expect(Expected::Ok, "< rawmode >")?;
        let Handshake {
            framer, pending, ..
        } = hs;

        stream
            .set_read_timeout(None)
            .and_then(|()| stream.set_write_timeout(Some(WRITE_TIMEOUT)))
            .map_err(|e| io_err("configuring the connection to", e))?;
        let read_half = stream
            .try_clone()
            .map_err(|e| io_err("cloning the connection to", e))?;
        let inbox = Inbox::new(format!("socketcand connection to {peer}/{channel}"));
        let shared = Arc::new(Shared::default());
        let reader = {
            let tx = inbox.sender();
            let shared = shared.clone();
            let label = format!("{peer}/{channel}");
            std::thread::Builder::new()
                .name(format!("socketcand {label}"))
                .spawn(move || reader_loop(read_half, framer, pending, tx, shared, label))
                .map_err(|e| BusError::io("starting the socketcand reader thread", e))?
        };
        log::debug!("socketcand: connected to {peer}, channel {channel} in raw mode");
        Ok(SocketcandBus {
            writer: Mutex::new(stream),
            inbox,
            shared,
            reader: Some(reader),
            peer,
            channel: channel.to_string(),
        })
    }

    /// The server's address.
    pub fn peer_addr(&self) -> SocketAddr {
        self.peer
    }

    /// The channel (bus name) opened on the server.
    pub fn channel(&self) -> &str {
        &self.channel
    }

    /// Frames lost because more than 65536 were received and not yet read with `recv`.
    pub fn dropped(&self) -> u64 {
        self.inbox.dropped()
    }

    /// `< error ... >` messages received from the server since the connection was opened.
    pub fn errors_received(&self) -> u64 {
        self.shared.errors.load(Ordering::Relaxed)
    }
}

impl CanBus for SocketcandBus {
    fn send(&self, frame: &Frame) -> Result<(), BusError> {
        self.inbox.ensure_open()?;
        let msg = protocol::format_send(frame);
        let mut w = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        w.write_all(msg.as_bytes()).map_err(|e| {
            BusError::io(
                format!(
                    "sending a frame to socketcand at {}/{}",
                    self.peer, self.channel
                ),
                e,
            )
        })
    }

    fn recv(&self, timeout: Option<Duration>) -> Result<Option<Frame>, BusError> {
        self.inbox.recv(timeout)
    }

    /// The server's capture time (`< frame ID SECS.USECS ... >`), mapped to an `Instant`.
    fn recv_timestamped(
        &self,
        timeout: Option<Duration>,
    ) -> Result<Option<(Frame, Instant)>, BusError> {
        self.inbox.recv_timestamped(timeout)
    }

    fn interrupt(&self) {
        self.inbox.interrupt()
    }

    fn capabilities(&self) -> Capabilities {
        // `fdsend`/`fdframe`: servers without the extension answer with an error at send time.
        Capabilities::CLASSIC
            .with_can_fd(true)
            .with_timestamps(true)
            .with_cheap_poll(true)
            .with_task_wakeup(true)
    }

    fn poll_recv(
        &self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<Option<(Frame, std::time::Instant)>, BusError>> {
        self.inbox.poll_recv(cx)
    }
}

impl Drop for SocketcandBus {
    fn drop(&mut self) {
        self.shared.stopping.store(true, Ordering::SeqCst);
        let w = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        let _ = w.shutdown(Shutdown::Both);
        drop(w);
        if let Some(h) = self.reader.take() {
            let _ = h.join();
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Expected {
    Hi,
    Ok,
}

struct Handshake<'a> {
    stream: &'a TcpStream,
    framer: Framer,
    pending: VecDeque<Chunk>,
    peer: SocketAddr,
    timeout: Duration,
}

impl Handshake<'_> {
    fn command(&mut self, cmd: &str) -> Result<(), BusError> {
        let mut s = self.stream;
        s.write_all(cmd.as_bytes())
            .map_err(|e| BusError::io(format!("sending `{cmd}` to socketcand at {}", self.peer), e))
    }

    /// Waits for `< hi >` or `< ok >`; `after` names what it answers, for error messages.
    fn expect(&mut self, want: Expected, after: &str) -> Result<(), BusError> {
        let peer = self.peer;
        let deadline = Instant::now() + self.timeout;
        let mut buf = [0u8; 1024];
        loop {
            while let Some(chunk) = self.pending.pop_front() {
                let text = match chunk {
                    Chunk::Message(m) => m,
                    other => {
                        log::warn!("socketcand {peer}: skipping unexpected input during the handshake: {other:?}");
                        continue;
                    }
                };
                match protocol::parse(&text) {
                    Ok(Message::Hi) if want == Expected::Hi => return Ok(()),
                    Ok(Message::Ok) if want == Expected::Ok => return Ok(()),
                    Ok(Message::Error(why)) => {
                        return Err(BusError::Protocol(format!(
                            "socketcand at {peer} refused `{after}`: < error {why} >"
                        )))
                    }
                    Ok(Message::Frame(..)) => {
                        log::debug!("socketcand {peer}: ignoring a frame received before raw mode")
                    }
                    _ => {
                        return Err(BusError::Protocol(format!(
                            "socketcand at {peer} answered `{after}` with `{text}` instead of `{}`; is it a socketcand server?",
                            if want == Expected::Hi { "< hi >" } else { "< ok >" }
                        )))
                    }
                }
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(self.timed_out(want, after));
            }
            self.stream
                .set_read_timeout(Some(left))
                .map_err(|e| BusError::io(format!("reading from socketcand at {peer}"), e))?;
            let mut s = self.stream;
            match s.read(&mut buf) {
                Ok(0) => {
                    return Err(BusError::Closed(format!(
                    "socketcand at {peer} closed the connection {} (does it serve that channel?)",
                    if want == Expected::Hi {
                        "before greeting".to_string()
                    } else {
                        format!("after `{after}`")
                    }
                )))
                }
                Ok(n) => self.framer.push(&buf[..n], &mut self.pending),
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) =>
                {
                    return Err(self.timed_out(want, after))
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    return Err(BusError::io(
                        format!("reading the handshake from socketcand at {peer}"),
                        e,
                    ))
                }
            }
        }
    }

    fn timed_out(&self, want: Expected, after: &str) -> BusError {
        let what = if want == Expected::Hi {
            "no `< hi >` greeting".to_string()
        } else {
            format!("no answer to `{after}`")
        };
        BusError::io(
            format!("socketcand at {}", self.peer),
            io::Error::new(
                io::ErrorKind::TimedOut,
                format!(
                    "{what} within {:?}; is it a socketcand server?",
                    self.timeout
                ),
            ),
        )
    }
}

fn reader_loop(
    mut stream: TcpStream,
    mut framer: Framer,
    mut pending: VecDeque<Chunk>,
    tx: InboxSender,
    shared: Arc<Shared>,
    label: String,
) {
    let mut buf = vec![0u8; 8192];
    let reason = loop {
        for chunk in pending.drain(..) {
            handle_chunk(chunk, &tx, &shared, &label);
        }
        match stream.read(&mut buf) {
            Ok(0) => {
                break if framer.is_mid_message() {
                    "the server closed the connection in the middle of a message".to_string()
                } else {
                    "the server closed the connection".to_string()
                }
            }
            Ok(n) => framer.push(&buf[..n], &mut pending),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => break format!("reading failed: {e}"),
        }
    };
    let reason = if shared.stopping.load(Ordering::SeqCst) {
        "the bus was dropped".to_string()
    } else {
        log::warn!("socketcand {label}: {reason}");
        reason
    };
    tx.close(reason);
}

fn handle_chunk(chunk: Chunk, tx: &InboxSender, shared: &Shared, label: &str) {
    let text = match chunk {
        Chunk::Message(m) => m,
        Chunk::Junk(n) => {
            log::warn!("socketcand {label}: skipped {n} bytes outside `< >` messages");
            return;
        }
        Chunk::TooLong(n) => {
            log::warn!(
                "socketcand {label}: skipped a message of {n} bytes (longer than {})",
                protocol::MAX_MESSAGE_LEN
            );
            return;
        }
        Chunk::Unterminated(m) => {
            log::warn!("socketcand {label}: skipped an unterminated message {m:?}");
            return;
        }
    };
    match protocol::parse(&text) {
        Ok(Message::Frame(f, stamp)) => {
            let at = ClockPair::now().instant_of_recent(stamp, MAX_STAMP_AGE);
            if tx.deliver_at(f, at) == Some(1) {
                log::warn!("socketcand {label}: receive queue full, dropping frames");
            }
        }
        Ok(Message::Error(why)) => {
            // Bus error frames can come by the thousand: counted, logged now and then.
            shared.errors.fetch_add(1, Ordering::Relaxed);
            let mut w = shared.error_log.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(n) = w.note() {
                log::warn!(
                    "socketcand {label}: the server reported {n} error(s), latest < error {why} >"
                );
            }
        }
        Ok(other) => log::debug!("socketcand {label}: ignoring {other:?}"),
        Err(e) => log::warn!("socketcand {label}: skipping malformed message {text:?}: {e}"),
    }
}

/// A server's capture time (since the epoch, on the server's realtime clock) is mapped by its age
/// ([`ClockPair`]): exact when the server runs on this machine (as `isotp hub` usually does), and
/// as good as the two machines' clock agreement otherwise. A stamp older than this says more about
/// the clocks than about the frame (a line does not wait seconds in a socket while the reader
/// thread runs) and is taken as the moment the line was read, so that the protocol timers of a
/// stack never start from a moment long gone.
const MAX_STAMP_AGE: Duration = Duration::from_secs(2);
