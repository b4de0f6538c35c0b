//! [`SlcanBus`]: a [`CanBus`] on an SLCAN adapter behind a serial port.

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};
use isotp_core::Frame;
use serialport::SerialPort;

use super::protocol::{self, Line, Piece, Splitter};
use crate::bus::inbox::{Inbox, InboxSender};
use crate::bus::{BusError, CanBus, Capabilities};

/// How often the reader thread checks whether the bus was dropped.
const READ_POLL: Duration = Duration::from_millis(50);
/// A write blocked this long fails instead of hanging.
const WRITE_TIMEOUT: Duration = Duration::from_secs(1);
/// Quiet time that ends the wait for replies to the initial flush.
const FLUSH_QUIET: Duration = Duration::from_millis(30);

/// How to open an SLCAN adapter; see [`SlcanBus::open_with`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SlcanOptions {
    /// Nominal CAN bit rate in bit/s: 10000, 20000, 50000, 100000, 125000, 250000, 500000,
    /// 750000 or 800000 (both `S7`), 1000000, or 83333 (`S9`, CANable firmware).
    pub bitrate: u32,
    /// CAN FD data-phase bit rate in bit/s (`Y` command of CANable 2.0-style firmware): 500000,
    /// 1000000, 2000000, 3000000, 4000000, 5000000 or 8000000. `None` leaves the adapter's default.
    pub data_bitrate: Option<u32>,
    /// Serial line speed; ignored by USB adapters (CDC-ACM), needed by UART ones. Default 115200.
    pub serial_baud: u32,
    /// How long to wait for each reply while opening. Default 1 s.
    pub reply_timeout: Duration,
}

impl SlcanOptions {
    /// Options for `bitrate` with the defaults above.
    #[must_use]
    pub fn new(bitrate: u32) -> SlcanOptions {
        SlcanOptions {
            bitrate,
            data_bitrate: None,
            serial_baud: 115_200,
            reply_timeout: Duration::from_secs(1),
        }
    }

    /// Sets [`data_bitrate`](SlcanOptions::data_bitrate).
    #[must_use]
    pub fn data_bitrate(mut self, bitrate: u32) -> SlcanOptions {
        self.data_bitrate = Some(bitrate);
        self
    }

    /// Sets [`serial_baud`](SlcanOptions::serial_baud).
    #[must_use]
    pub fn serial_baud(mut self, baud: u32) -> SlcanOptions {
        self.serial_baud = baud;
        self
    }

    /// Sets [`reply_timeout`](SlcanOptions::reply_timeout).
    #[must_use]
    pub fn reply_timeout(mut self, timeout: Duration) -> SlcanOptions {
        self.reply_timeout = timeout;
        self
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reply {
    Ack,
    Bell,
}

#[derive(Default)]
struct Shared {
    stopping: AtomicBool,
    /// While opening, replies go to the reply channel instead of the log.
    opening: AtomicBool,
    rejected: AtomicU64,
    /// Error frames (`e` lines) received, and their rate-limited log line.
    bus_errors: AtomicU64,
    bus_error_log: Mutex<crate::bus::LogThrottle>,
}

/// A CAN bus on an SLCAN (Lawicel protocol) adapter: CANable, CANtact, USBtin, Lawicel CANUSB and
/// the many clones that show up as a serial port.
///
/// Opening sends `C` (close, in case it was left open), `S0`-`S8` (bit rate), optionally `Y`
/// (CAN FD data bit rate), `Z0` (no timestamps) and `O` (open), each answered by `\r` or by BEL
/// (0x07) for an error. Frames go out as `t`/`T` (classic, 11/29-bit id), `d`/`D` (CAN FD) or
/// `b`/`B` (CAN FD with bit rate switch); received frames arrive in the same notation. CAN FD needs
/// an adapter with CAN FD firmware (e.g. CANable 2.0); others answer BEL.
///
/// A background thread reads the port; [`recv`](CanBus::recv) waits on what it delivers, so
/// [`interrupt`](CanBus::interrupt) wakes it at once. BEL replies after opening (a frame the adapter
/// could not queue) are logged at warn level and counted in [`rejected`](SlcanBus::rejected).
/// Dropping the bus sends `C` and closes the port.
///
/// ```no_run
/// use isotp::bus::{CanBus, slcan::SlcanBus};
/// let bus = SlcanBus::open("/dev/ttyACM0", 500_000)?;
/// # Ok::<(), isotp::bus::BusError>(())
/// ```
pub struct SlcanBus {
    writer: Mutex<Box<dyn SerialPort>>,
    inbox: Inbox,
    shared: Arc<Shared>,
    reader: Option<JoinHandle<()>>,
    path: String,
    /// A CAN FD data bit rate was set (the adapter has CAN FD firmware).
    can_fd: bool,
}

impl std::fmt::Debug for SlcanBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SlcanBus")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl SlcanBus {
    /// Opens the adapter at `path` (`/dev/ttyACM0`, `COM3`...) at `bitrate` bit/s with default
    /// [`SlcanOptions`].
    ///
    /// # Errors
    ///
    /// A bit rate SLCAN cannot set ([`BusError::Unsupported`]); the port cannot be opened
    /// ([`BusError::Io`]: wrong path, no permission, in use); the device does not answer like an
    /// SLCAN adapter or refuses a command ([`BusError::Protocol`]).
    pub fn open(path: &str, bitrate: u32) -> Result<SlcanBus, BusError> {
        SlcanBus::open_with(path, &SlcanOptions::new(bitrate))
    }

    /// Opens the adapter at `path` with `options`.
    ///
    /// # Errors
    ///
    /// Those of [`SlcanBus::open`]; a data bit rate SLCAN cannot set is [`BusError::Unsupported`]
    /// too.
    pub fn open_with(path: &str, options: &SlcanOptions) -> Result<SlcanBus, BusError> {
        let s_cmd = protocol::bitrate_command(options.bitrate).map_err(BusError::Unsupported)?;
        let y_cmd = options
            .data_bitrate
            .map(protocol::data_bitrate_command)
            .transpose()
            .map_err(BusError::Unsupported)?;
        let open_err = |e: serialport::Error| {
            BusError::io(
                format!("opening serial port {path} (check the path and that you may use it)"),
                io::Error::from(e),
            )
        };
        let reader_port = serialport::new(path, options.serial_baud)
            .timeout(READ_POLL)
            .open()
            .map_err(open_err)?;
        let mut writer = reader_port.try_clone().map_err(open_err)?;
        writer.set_timeout(WRITE_TIMEOUT).map_err(open_err)?;

        let inbox = Inbox::new(format!("slcan {path}"));
        let (reply_tx, reply_rx) = crossbeam_channel::bounded(64);
        let shared = Arc::new(Shared {
            opening: AtomicBool::new(true),
            ..Shared::default()
        });
        let reader = {
            let tx = inbox.sender();
            let shared = shared.clone();
            let path = path.to_string();
            std::thread::Builder::new()
                .name(format!("slcan {path}"))
                .spawn(move || reader_loop(reader_port, tx, reply_tx, shared, path))
                .map_err(|e| BusError::io("starting the slcan reader thread", e))?
        };
        let mut bus = SlcanBus {
            writer: Mutex::new(writer),
            inbox,
            shared,
            reader: Some(reader),
            path: path.to_string(),
            can_fd: options.data_bitrate.is_some(),
        };
        bus.initialise(&reply_rx, s_cmd, y_cmd, options)?;
        bus.shared.opening.store(false, Ordering::SeqCst);
        log::debug!("slcan: {path} open at {} bit/s", options.bitrate);
        Ok(bus)
    }

    fn initialise(
        &mut self,
        replies: &Receiver<Reply>,
        s_cmd: &str,
        y_cmd: Option<&str>,
        options: &SlcanOptions,
    ) -> Result<(), BusError> {
        let timeout = options
            .reply_timeout
            .clamp(Duration::from_millis(1), Duration::from_secs(3600));
        // Empty commands end any partial command left in the adapter; their replies (or none) are
        // drained before the real commands.
        self.write_raw(b"\r\r\r")?;
        let flush_end = Instant::now() + timeout;
        while Instant::now() < flush_end && replies.recv_timeout(FLUSH_QUIET).is_ok() {}

        match self.command(replies, "C", timeout)? {
            Reply::Ack | Reply::Bell => {} // BEL: it was closed already.
        }
        if self.command(replies, s_cmd, timeout)? == Reply::Bell {
            return Err(self.refused(s_cmd, &format!("setting {} bit/s", options.bitrate)));
        }
        if let Some(y) = y_cmd {
            if self.command(replies, y, timeout)? == Reply::Bell {
                return Err(self.refused(
                    y,
                    "setting the CAN FD data bit rate (does the adapter have CAN FD firmware?)",
                ));
            }
        }
        if self.command(replies, "Z0", timeout)? == Reply::Bell {
            log::warn!(
                "slcan {}: the adapter refused `Z0` (timestamps off); timestamps will be ignored",
                self.path
            );
        }
        if self.command(replies, "O", timeout)? == Reply::Bell {
            return Err(self.refused("O", "opening the CAN channel"));
        }
        Ok(())
    }

    fn refused(&self, cmd: &str, what: &str) -> BusError {
        BusError::Protocol(format!(
            "the SLCAN adapter at {} refused `{cmd}` ({what})",
            self.path
        ))
    }

    fn write_raw(&self, bytes: &[u8]) -> Result<(), BusError> {
        self.inbox.ensure_open()?;
        let mut w = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        w.write_all(bytes)
            .map_err(|e| BusError::io(format!("writing to the SLCAN adapter at {}", self.path), e))
    }

    /// Sends `cmd` and waits for its reply.
    fn command(
        &self,
        replies: &Receiver<Reply>,
        cmd: &str,
        timeout: Duration,
    ) -> Result<Reply, BusError> {
        while replies.try_recv().is_ok() {}
        self.write_raw(format!("{cmd}\r").as_bytes())?;
        match replies.recv_timeout(timeout) {
            Ok(r) => Ok(r),
            Err(_) => {
                self.inbox.ensure_open()?;
                Err(BusError::Protocol(format!(
                    "no reply from {} to `{cmd}` within {timeout:?}: is it an SLCAN adapter, and is the serial speed right?",
                    self.path
                )))
            }
        }
    }

    /// The serial port's path.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Frames lost because more than 65536 were received and not yet read with `recv`.
    pub fn dropped(&self) -> u64 {
        self.inbox.dropped()
    }

    /// BEL (error) replies received since the bus was opened: commands, usually transmissions, the
    /// adapter refused.
    pub fn rejected(&self) -> u64 {
        self.shared.rejected.load(Ordering::Relaxed)
    }

    /// Error frames (`e` lines) the adapter reported since the bus was opened.
    pub fn bus_errors(&self) -> u64 {
        self.shared.bus_errors.load(Ordering::Relaxed)
    }
}

impl CanBus for SlcanBus {
    fn send(&self, frame: &Frame) -> Result<(), BusError> {
        self.write_raw(protocol::encode(frame).as_bytes())
    }

    fn recv(&self, timeout: Option<Duration>) -> Result<Option<Frame>, BusError> {
        self.inbox.recv(timeout)
    }

    /// The time the serial reader read the frame, not when the driver takes it from the queue.
    fn recv_timestamped(
        &self,
        timeout: Option<Duration>,
    ) -> Result<Option<(Frame, std::time::Instant)>, BusError> {
        self.inbox.recv_timestamped(timeout)
    }

    fn interrupt(&self) {
        self.inbox.interrupt()
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities::CLASSIC
            .with_can_fd(self.can_fd)
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

impl Drop for SlcanBus {
    fn drop(&mut self) {
        if self.inbox.closed().is_none() {
            let _ = self.write_raw(b"C\r");
        }
        self.shared.stopping.store(true, Ordering::SeqCst);
        if let Some(h) = self.reader.take() {
            let _ = h.join();
        }
    }
}

fn reader_loop(
    mut port: Box<dyn SerialPort>,
    tx: InboxSender,
    replies: Sender<Reply>,
    shared: Arc<Shared>,
    path: String,
) {
    let mut splitter = Splitter::default();
    let mut pieces = VecDeque::new();
    let mut buf = [0u8; 1024];
    let reason = loop {
        if shared.stopping.load(Ordering::SeqCst) {
            break None;
        }
        match port.read(&mut buf) {
            Ok(0) => break Some("the serial device was closed".to_string()),
            Ok(n) => splitter.push(&buf[..n], &mut pieces),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::TimedOut
                        | io::ErrorKind::WouldBlock
                        | io::ErrorKind::Interrupted
                ) => {}
            Err(e) => break Some(format!("reading the serial device failed: {e}")),
        }
        for piece in pieces.drain(..) {
            handle_piece(piece, &tx, &replies, &shared, &path);
        }
    };
    let reason = match reason {
        Some(r) => {
            if !shared.stopping.load(Ordering::SeqCst) {
                log::warn!("slcan {path}: {r}");
            }
            r
        }
        None => "the bus was dropped".to_string(),
    };
    tx.close(reason);
}

fn handle_piece(
    piece: Piece,
    tx: &InboxSender,
    replies: &Sender<Reply>,
    shared: &Shared,
    path: &str,
) {
    let opening = shared.opening.load(Ordering::SeqCst);
    match piece {
        Piece::Bell => {
            if opening {
                let _ = replies.try_send(Reply::Bell);
            } else {
                let n = shared.rejected.fetch_add(1, Ordering::Relaxed) + 1;
                if n <= 10 || n % 1000 == 0 {
                    log::warn!(
                        "slcan {path}: the adapter answered BEL (error) to a command, {n} so far (transmit queue full, bus off, or CAN FD unsupported?)"
                    );
                }
            }
        }
        Piece::TooLong(n) => log::warn!(
            "slcan {path}: skipped a line of {n} bytes (longer than {})",
            protocol::MAX_LINE_LEN
        ),
        Piece::Line(line) => match protocol::decode(&line) {
            Ok(Line::Frame(f)) => {
                if tx.deliver(f) == Some(1) {
                    log::warn!("slcan {path}: receive queue full, dropping frames");
                }
            }
            Ok(Line::Ack) => {
                if opening {
                    let _ = replies.try_send(Reply::Ack);
                }
            }
            Ok(Line::TxAck) => {}
            Ok(Line::Other(what)) => log::debug!("slcan {path}: ignoring {what:?}"),
            Ok(Line::BusError(what)) => {
                // They can come by the thousand: counted, logged now and then.
                shared.bus_errors.fetch_add(1, Ordering::Relaxed);
                let mut w = shared
                    .bus_error_log
                    .lock()
                    .unwrap_or_else(|e| e.into_inner());
                if let Some(n) = w.note() {
                    log::warn!("slcan {path}: {n} error frame(s) from the adapter, latest e{what}");
                }
            }
            Err(e) => log::warn!("slcan {path}: skipping a malformed line: {e}"),
        },
    }
}
