//! One TCP client of the hub: a reader thread (this one) that parses commands, a pump thread that
//! moves the bus's frames into the client's bounded queue, and a writer thread that empties it.

use std::collections::{HashMap, VecDeque};
use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crossbeam_channel::{Receiver, Sender, TrySendError};
use isotp_core::Frame;

use super::{HubError, HubInner, LogThrottle};
use isotp::bus::socketcand::protocol::{self, Chunk, Framer, Message};
use isotp::bus::{CanBus, VirtualPort};

/// Pause after answering `< rawmode >` before the first frame is written. python-can's client reads
/// that `< ok >` with one `recv` and fails unless it is alone, so frames must not arrive in the same
/// TCP read. Frames wait in the queue meanwhile; none are lost.
const RAW_SETTLE: Duration = Duration::from_millis(20);

/// Frames written with one `write` call at most (about 16 KiB).
const BATCH_BYTES: usize = 16 * 1024;

enum Out {
    /// A reply written on its own.
    Reply(String),
    /// `< ok >` to `< rawmode >`, followed by [`RAW_SETTLE`].
    RawOk,
    /// A frame from the bus and when the hub received it.
    Frame(Frame, Duration),
}

/// What ends the session: its control socket (shut to stop every thread), and why it ended.
struct SessionEnd {
    control: TcpStream,
    closing: AtomicBool,
    reason: Mutex<Option<String>>,
}

impl SessionEnd {
    /// Ends the session (once): records why and shuts the socket so every thread stops.
    fn close(&self, reason: String) -> bool {
        let mut r = super::lock(&self.reason);
        if r.is_some() {
            return false;
        }
        *r = Some(reason);
        self.closing.store(true, Ordering::SeqCst);
        let _ = self.control.shutdown(Shutdown::Both);
        true
    }

    fn is_closing(&self) -> bool {
        self.closing.load(Ordering::SeqCst)
    }
}

enum Mode {
    NoBus,
    Open {
        name: String,
        port: Arc<VirtualPort>,
        pump: JoinHandle<()>,
        /// Mode changes for the pump (true: raw), each followed by a wake-up of `port`.
        modes: Sender<bool>,
        /// The pump's word that it applied one (false: the session is over).
        applied: Receiver<bool>,
    },
}

struct Session {
    peer: String,
    inner: Arc<HubInner>,
    state: Arc<SessionEnd>,
    out: Sender<Out>,
    mode: Mode,
    /// In raw mode errors are logged, not answered (see [`Session::error`]).
    raw: bool,
    /// Bad input counted per kind: one log line per kind now and then, not one per command.
    complaints: HashMap<&'static str, LogThrottle>,
}

pub(super) fn run(id: u64, stream: TcpStream, peer: String, inner: Arc<HubInner>) {
    log::info!("hub: client {peer} connected");
    let clones = stream
        .try_clone()
        .and_then(|w| Ok((w, stream.try_clone()?)));
    let (write_half, control) = match clones {
        Ok(c) => c,
        Err(e) => {
            log::warn!("hub: cannot use the connection from {peer}: {e}");
            let _ = stream.shutdown(Shutdown::Both);
            inner.release_slot();
            inner.forget_client(id);
            return;
        }
    };
    let _ = stream.set_nodelay(true);
    if inner.config.send_buffer > 0 {
        if let Err(e) =
            socket2::SockRef::from(&stream).set_send_buffer_size(inner.config.send_buffer)
        {
            log::debug!("hub: cannot set the send buffer for {peer}: {e}");
        }
    }
    let wt = inner.config.write_timeout;
    let _ = write_half.set_write_timeout(if wt.is_zero() { None } else { Some(wt) });
    let state = Arc::new(SessionEnd {
        control,
        closing: AtomicBool::new(false),
        reason: Mutex::new(None),
    });
    let (out_tx, out_rx) = crossbeam_channel::bounded(inner.config.client_queue);
    let writer = {
        let state = state.clone();
        let peer = peer.clone();
        std::thread::Builder::new()
            .name(format!("hub writer {peer}"))
            .spawn(move || writer_loop(write_half, out_rx, state, peer))
    };
    let writer = match writer {
        Ok(w) => Some(w),
        Err(e) => {
            state.close(format!("cannot start its writer thread: {e}"));
            None
        }
    };
    let mut session = Session {
        peer: peer.clone(),
        inner: inner.clone(),
        state: state.clone(),
        out: out_tx,
        mode: Mode::NoBus,
        raw: false,
        complaints: HashMap::new(),
    };
    let reason = if writer.is_some() {
        session.reply("< hi >".into());
        session.read_loop(stream)
    } else {
        String::new()
    };
    state.close(reason);
    // The connection is closed: its slot is free now, whatever the threads still have to do.
    inner.release_slot();
    for (kind, w) in &session.complaints {
        let n = w.unreported();
        if n > 0 {
            log::warn!("hub: client {peer} sent {n} more {kind} before it left");
        }
    }

    let Session { mode, out, .. } = session;
    if let Mode::Open { port, pump, .. } = mode {
        port.interrupt();
        let _ = pump.join();
    }
    drop(out);
    if let Some(w) = writer {
        let _ = w.join();
    }
    inner.forget_client(id);
    let reason = super::lock(&state.reason).clone().unwrap_or_default();
    if inner.is_stopping() {
        log::info!("hub: client {peer} disconnected (hub shutting down)");
    } else {
        log::info!("hub: client {peer} disconnected ({reason})");
    }
}

/// Text safe inside `< error ... >`.
fn sanitize(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '<' => '[',
            '>' => ']',
            c if c.is_ascii_graphic() || c == ' ' => c,
            _ => '?',
        })
        .collect()
}

impl Session {
    /// Reads and handles commands until the client goes; returns why.
    fn read_loop(&mut self, mut stream: TcpStream) -> String {
        let mut framer = Framer::new();
        let mut pending = VecDeque::new();
        let mut buf = [0u8; 4096];
        let handshake = self.inner.config.handshake_timeout;
        let connected = std::time::Instant::now();
        let mut timed = !handshake.is_zero() && stream.set_read_timeout(Some(handshake)).is_ok();
        loop {
            if self.state.is_closing() {
                return String::new();
            }
            if timed && matches!(self.mode, Mode::Open { .. }) {
                timed = false;
                let _ = stream.set_read_timeout(None);
            }
            match stream.read(&mut buf) {
                Err(e)
                    if timed
                        && matches!(
                            e.kind(),
                            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                        ) =>
                {
                    if connected.elapsed() >= handshake {
                        return format!(
                            "it opened no bus within {handshake:?} (HubConfig::handshake_timeout)"
                        );
                    }
                    continue;
                }
                Ok(0) if framer.is_mid_message() => {
                    return "closed by the client in the middle of a message".into()
                }
                Ok(0) => return "closed by the client".into(),
                Ok(n) => framer.push(&buf[..n], &mut pending),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return format!("reading failed: {e}"),
            }
            while let Some(chunk) = pending.pop_front() {
                if !self.handle(chunk) {
                    return String::new();
                }
            }
        }
    }

    /// Queues a reply; false when the session is over.
    fn reply(&self, text: String) -> bool {
        self.queue(Out::Reply(text))
    }

    /// Answers a bad command with `< error TEXT >` before raw mode (python-can's handshake then
    /// reports TEXT). In raw mode it only logs, as socketcand does for malformed `send`s: python-can's
    /// client parses every `< error ... >` as an error frame `< error ID SECONDS >` and its `recv`
    /// fails on anything else.
    fn error(&self, text: &str) -> bool {
        if self.raw {
            log::debug!("hub: not answering {} in raw mode: {text}", self.peer);
            return true;
        }
        self.reply(format!("< error {} >", sanitize(text)))
    }

    fn queue(&self, out: Out) -> bool {
        match self.out.try_send(out) {
            Ok(()) => true,
            Err(TrySendError::Full(_)) => {
                self.too_slow();
                false
            }
            Err(TrySendError::Disconnected(_)) => false,
        }
    }

    fn too_slow(&self) {
        too_slow(&self.state, &self.peer, self.inner.config.client_queue);
    }

    /// Logs bad input of `kind` now and then (with how many since the last line), never a line per
    /// command.
    fn complain(&mut self, kind: &'static str, detail: std::fmt::Arguments<'_>) {
        if let Some(n) = self.complaints.entry(kind).or_default().note() {
            log::warn!(
                "hub: client {} sent {n} {kind} (latest: {detail})",
                self.peer
            );
        }
    }

    fn bus_name(&self) -> &str {
        match &self.mode {
            Mode::Open { name, .. } => name,
            Mode::NoBus => "",
        }
    }

    /// Handles one piece of input; false when the session is over.
    fn handle(&mut self, chunk: Chunk) -> bool {
        let text = match chunk {
            Chunk::Message(m) => m,
            Chunk::Junk(n) => {
                self.complain(
                    "runs of bytes outside `< >` messages",
                    format_args!("{n} bytes, skipped"),
                );
                return self.error(&format!("skipped {n} bytes outside a message"));
            }
            Chunk::TooLong(n) => {
                self.complain("over-long messages", format_args!("{n} bytes, skipped"));
                return self.error(&format!(
                    "message longer than {} bytes skipped",
                    protocol::MAX_MESSAGE_LEN
                ));
            }
            Chunk::Unterminated(m) => {
                self.complain("unterminated messages", format_args!("{m:?}, skipped"));
                return self.error("unterminated message skipped");
            }
        };
        let msg = match protocol::parse(&text) {
            Ok(m) => m,
            Err(e) => {
                self.complain("malformed messages", format_args!("{text:?}: {e}"));
                return self.error(&format!("malformed message: {e}"));
            }
        };
        match msg {
            Message::Open(name) => self.open(name),
            Message::RawMode => self.set_raw(true),
            Message::BcmMode => self.set_raw(false),
            Message::Echo => self.reply("< echo >".into()),
            Message::Send(frame) => match &self.mode {
                Mode::Open { port, .. } => {
                    if let Err(e) = port.send(&frame) {
                        log::warn!("hub: sending a frame from {} failed: {e}", self.peer);
                    }
                    true
                }
                Mode::NoBus => self.error("open a bus first: < open NAME >"),
            },
            Message::Other(cmd) => {
                self.complain("unsupported commands", format_args!("{text:?}, ignored"));
                self.error(&format!(
                    "command {cmd} is not supported by this hub (it serves raw mode: open, rawmode, send, fdsend, echo)"
                ))
            }
            Message::Hi | Message::Ok | Message::Error(_) | Message::Frame(..) => {
                self.complain("server messages", format_args!("{text:?}, ignored"));
                self.error("unexpected message from a client")
            }
        }
    }

    /// Switches frame delivery on or off. The pump makes the switch, in order with the frames on
    /// the bus: those sent before the command follow the old mode, those sent after the client sees
    /// `< ok >` the new one. The pump also queues the `< ok >`, before any frame of raw mode.
    fn set_raw(&mut self, raw: bool) -> bool {
        let Mode::Open {
            port,
            modes,
            applied,
            ..
        } = &self.mode
        else {
            return self.error("open a bus first: < open NAME >");
        };
        if modes.send(raw).is_err() {
            return false;
        }
        port.interrupt();
        let ok = applied.recv().unwrap_or(false);
        self.raw = raw;
        ok
    }

    fn open(&mut self, name: String) -> bool {
        if !matches!(self.mode, Mode::NoBus) {
            let msg = format!("bus {} is already open on this connection", self.bus_name());
            return self.error(&msg);
        }
        let bus = match self.inner.bus(&name) {
            Ok(b) => b,
            Err(e) => {
                log::warn!("hub: client {} cannot open {name:?}: {e}", self.peer);
                let why = match e {
                    HubError::InvalidBusName { reason, .. } => reason,
                    other => other.to_string(),
                };
                return self.error(&format!("cannot open bus: {why}"));
            }
        };
        let port = Arc::new(bus.attach());
        let (modes, modes_rx) = crossbeam_channel::unbounded();
        let (applied_tx, applied) = crossbeam_channel::bounded(1);
        let pump = {
            let pump = Pump {
                port: port.clone(),
                out: self.out.clone(),
                state: self.state.clone(),
                peer: self.peer.clone(),
                cap: self.inner.config.client_queue,
                modes: modes_rx,
                applied: applied_tx,
            };
            std::thread::Builder::new()
                .name(format!("hub pump {}", self.peer))
                .spawn(move || pump.run())
        };
        let pump = match pump {
            Ok(p) => p,
            Err(e) => {
                log::warn!("hub: cannot start a thread for {}: {e}", self.peer);
                return self.error("the hub cannot serve more clients now");
            }
        };
        log::info!("hub: client {} opened bus {name:?}", self.peer);
        self.mode = Mode::Open {
            name,
            port,
            pump,
            modes,
            applied,
        };
        self.reply("< ok >".into())
    }
}

fn too_slow(state: &SessionEnd, peer: &str, cap: usize) {
    if state.close(format!(
        "too slow: {cap} messages were waiting to be written to it"
    )) {
        log::warn!(
            "hub: client {peer} is too slow ({cap} messages waiting, HubConfig::client_queue); disconnecting it"
        );
    }
}

/// Moves the bus's frames into the client's queue while in raw mode.
struct Pump {
    port: Arc<VirtualPort>,
    out: Sender<Out>,
    state: Arc<SessionEnd>,
    peer: String,
    cap: usize,
    modes: Receiver<bool>,
    applied: Sender<bool>,
}

impl Pump {
    fn queue(&self, out: Out) -> bool {
        match self.out.try_send(out) {
            Ok(()) => true,
            Err(TrySendError::Full(_)) => {
                too_slow(&self.state, &self.peer, self.cap);
                false
            }
            Err(TrySendError::Disconnected(_)) => false,
        }
    }

    fn run(self) {
        let mut raw = false;
        loop {
            match self.port.recv_timestamped(None).ok().flatten() {
                Some((frame, at)) => {
                    if !raw || self.state.is_closing() {
                        continue;
                    }
                    // Wall-clock time of the moment the frame was put on the bus.
                    let now = SystemTime::now()
                        .duration_since(UNIX_EPOCH)
                        .unwrap_or_default();
                    let stamp = now.saturating_sub(at.elapsed());
                    if !self.queue(Out::Frame(frame, stamp)) {
                        return;
                    }
                }
                // A wake-up: a mode change (or the end of the session).
                None => {
                    if self.state.is_closing() {
                        return;
                    }
                    if let Ok(new) = self.modes.try_recv() {
                        raw = new;
                        let ok = self.queue(if raw {
                            Out::RawOk
                        } else {
                            Out::Reply("< ok >".into())
                        });
                        let _ = self.applied.send(ok);
                        if !ok {
                            return;
                        }
                    }
                }
            }
        }
    }
}

fn writer_loop(mut stream: TcpStream, rx: Receiver<Out>, state: Arc<SessionEnd>, peer: String) {
    let mut buf: Vec<u8> = Vec::with_capacity(BATCH_BYTES + protocol::MAX_MESSAGE_LEN);
    let mut next: Option<Out> = None;
    loop {
        let msg = match next.take() {
            Some(m) => m,
            None => match rx.recv() {
                Ok(m) => m,
                Err(_) => return,
            },
        };
        let result = match msg {
            Out::Reply(text) => stream.write_all(text.as_bytes()),
            Out::RawOk => {
                let r = stream.write_all(b"< ok >");
                if r.is_ok() && !state.is_closing() {
                    std::thread::sleep(RAW_SETTLE);
                }
                r
            }
            Out::Frame(frame, ts) => {
                buf.clear();
                buf.extend_from_slice(protocol::format_frame(&frame, ts).as_bytes());
                while buf.len() < BATCH_BYTES {
                    match rx.try_recv() {
                        Ok(Out::Frame(f, ts)) => {
                            buf.extend_from_slice(protocol::format_frame(&f, ts).as_bytes())
                        }
                        Ok(other) => {
                            next = Some(other);
                            break;
                        }
                        Err(_) => break,
                    }
                }
                stream.write_all(&buf)
            }
        };
        if let Err(e) = result {
            let why = if matches!(
                e.kind(),
                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
            ) {
                "too slow: it accepted no data within the write timeout".to_string()
            } else {
                format!("writing failed: {e}")
            };
            if !state.is_closing() && state.close(why.clone()) {
                log::warn!("hub: client {peer}: {why}; disconnecting it");
            }
            return;
        }
    }
}
