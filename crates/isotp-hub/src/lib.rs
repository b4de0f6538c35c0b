#![deny(missing_docs)]
//! A socketcand-compatible server holding virtual CAN buses: the server behind the `isotp hub`
//! command, as a library for tests and tools that embed it.
//!
//! It is an application of the `isotp` crate: its buses are `isotp`'s [`VirtualBus`]es and it
//! speaks the socketcand wire format of [`isotp::bus::socketcand::protocol`], the one `isotp`'s
//! client ([`SocketcandBus`](isotp::bus::socketcand::SocketcandBus)) speaks.
//!
//! [`Hub::bind`] listens on a TCP address. Each client is greeted with `< hi >`, opens a bus by
//! name with `< open NAME >` (the bus is created on first use), switches to raw mode with
//! `< rawmode >`, and from then on receives every frame other clients (and in-process ports from
//! [`Hub::attach`]) send on that bus, as socketcand would. A client's own frames are not sent back to
//! it. This is what python-can's `socketcand` interface needs, so python can-isotp, other machines and
//! `isotp`'s client can share a bus without
//! SocketCAN.
//!
//! Each bus is a [`VirtualBus`]; each TCP client is a port on it with three threads (reading
//! commands, forwarding the bus's frames, writing). A client's outgoing queue is bounded
//! ([`HubConfig::client_queue`]): a client that does not keep up is disconnected with a warning
//! rather than slowing the bus or growing memory. Malformed commands are answered with
//! `< error ... >` and do not affect other clients.
//!
//! Supported commands: `open`, `rawmode`, `bcmmode` (stops frame delivery), `send`, `fdsend`
//! (CAN FD), `echo`. The broadcast-manager commands of socketcand's BCM mode (`add`, `subscribe`,
//! `filter`...) are answered with `< error ... >`.
//!
//! ```
//! use isotp::bus::{CanBus, socketcand::SocketcandBus};
//! use isotp_hub::Hub;
//! use isotp_core::{CanId, Frame};
//! use std::time::Duration;
//!
//! let hub = Hub::bind("127.0.0.1:0")?; // port 0: any free port
//! let local = hub.attach("demo")?;   // an in-process port on bus "demo"
//! let remote = SocketcandBus::connect(hub.local_addr(), "demo")?;
//! remote.send(&Frame::new(CanId::standard(0x7E0)?, &[0x02, 0x10, 0x03])?)?;
//! let got = local.recv(Some(Duration::from_secs(2)))?.expect("frame from the TCP client");
//! assert_eq!(got.data(), &[0x02, 0x10, 0x03]);
//! hub.shutdown();
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::HashMap;
use std::io::{self, Write};
use std::net::{
    IpAddr, Ipv4Addr, Ipv6Addr, Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs,
};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use isotp::bus::socketcand::protocol;
use isotp::bus::{LogThrottle, VirtualBus, VirtualPort};

mod session;

pub use isotp::bus::socketcand::DEFAULT_PORT;

/// The address `isotp hub` listens on by default: `127.0.0.1:29536`.
pub const DEFAULT_ADDR: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), DEFAULT_PORT);

/// Limits of a [`Hub`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct HubConfig {
    /// Messages (frames and replies) waiting to be written to one client; when a client falls this
    /// far behind it is disconnected. Default 4096.
    pub client_queue: usize,
    /// A client that accepts no data for this long while data is waiting is disconnected. Default
    /// 5 s.
    pub write_timeout: Duration,
    /// Bytes the operating system may buffer for one client beyond
    /// [`client_queue`](HubConfig::client_queue) (its TCP send buffer; the OS may round it). With the
    /// queue, it bounds how stale the frames a lagging client reads can get before it is dropped.
    /// Default 64 KiB; 0 leaves the OS default (often megabytes).
    pub send_buffer: usize,
    /// Clients connected at once; more are refused with `< error ... >`. Default 256.
    pub max_clients: usize,
    /// Buses the hub holds; opening more is refused. Default 1024.
    pub max_buses: usize,
    /// A client that has not opened a bus this long after connecting is disconnected, so idle
    /// connections cannot hold the hub's client slots. Default 10 s.
    pub handshake_timeout: Duration,
}

impl Default for HubConfig {
    fn default() -> HubConfig {
        HubConfig {
            client_queue: 4096,
            write_timeout: Duration::from_secs(5),
            send_buffer: 64 * 1024,
            max_clients: 256,
            max_buses: 1024,
            handshake_timeout: Duration::from_secs(10),
        }
    }
}

impl HubConfig {
    /// Sets [`client_queue`](HubConfig::client_queue) (at least 1).
    #[must_use]
    pub fn client_queue(mut self, messages: usize) -> HubConfig {
        self.client_queue = messages.max(1);
        self
    }

    /// Sets [`write_timeout`](HubConfig::write_timeout).
    #[must_use]
    pub fn write_timeout(mut self, timeout: Duration) -> HubConfig {
        self.write_timeout = timeout;
        self
    }

    /// Sets [`send_buffer`](HubConfig::send_buffer).
    #[must_use]
    pub fn send_buffer(mut self, bytes: usize) -> HubConfig {
        self.send_buffer = bytes;
        self
    }

    /// Sets [`max_clients`](HubConfig::max_clients).
    #[must_use]
    pub fn max_clients(mut self, clients: usize) -> HubConfig {
        self.max_clients = clients;
        self
    }

    /// Sets [`handshake_timeout`](HubConfig::handshake_timeout).
    #[must_use]
    pub fn handshake_timeout(mut self, timeout: Duration) -> HubConfig {
        self.handshake_timeout = timeout;
        self
    }

    /// Sets [`max_buses`](HubConfig::max_buses).
    #[must_use]
    pub fn max_buses(mut self, buses: usize) -> HubConfig {
        self.max_buses = buses;
        self
    }
}

/// Something the hub could not do.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HubError {
    /// The listening socket could not be created.
    #[error("cannot listen on {addr}: {source} (is another hub or socketcand using that port? choose another address, or port 0 for any free port)")]
    Bind {
        /// The address asked for.
        addr: String,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// A bus name socketcand clients could not use.
    #[error("invalid bus name {name:?}: {reason}")]
    InvalidBusName {
        /// The name given.
        name: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The hub already holds [`HubConfig::max_buses`] buses.
    #[error("the hub already holds {max} buses; reuse one or raise HubConfig::max_buses")]
    TooManyBuses {
        /// The limit.
        max: usize,
    },
    /// A thread could not be started.
    #[error("cannot start a hub thread: {0}")]
    Thread(#[source] io::Error),
}

pub(crate) struct ClientEntry {
    stream: TcpStream,
    thread: Option<JoinHandle<()>>,
}

pub(crate) struct HubInner {
    pub(crate) config: HubConfig,
    buses: Mutex<HashMap<String, VirtualBus>>,
    clients: Mutex<HashMap<u64, ClientEntry>>,
    /// Clients whose connection is open: a slot is free as soon as a connection closes, before its
    /// threads have finished.
    connected: AtomicUsize,
    /// Connections refused for [`HubConfig::max_clients`], for the rate-limited warning.
    refused: Mutex<LogThrottle>,
    stopping: AtomicBool,
    next_client: AtomicU64,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl HubInner {
    /// The bus called `name`, created if needed.
    pub(crate) fn bus(&self, name: &str) -> Result<VirtualBus, HubError> {
        protocol::check_bus_name(name).map_err(|reason| HubError::InvalidBusName {
            name: name.to_string(),
            reason,
        })?;
        let mut buses = lock(&self.buses);
        if let Some(b) = buses.get(name) {
            return Ok(b.clone());
        }
        if buses.len() >= self.config.max_buses {
            return Err(HubError::TooManyBuses {
                max: self.config.max_buses,
            });
        }
        let bus = VirtualBus::new();
        buses.insert(name.to_string(), bus.clone());
        log::info!("hub: created bus {name:?}");
        Ok(bus)
    }

    pub(crate) fn is_stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }

    /// Called by a session thread as it ends.
    pub(crate) fn forget_client(&self, id: u64) {
        lock(&self.clients).remove(&id);
    }

    /// Called once per session when its connection is closed.
    pub(crate) fn release_slot(&self) {
        self.connected.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A socketcand-compatible server holding named virtual buses. See the [module docs](self).
///
/// Runs on its own threads from [`bind`](Hub::bind) until [`shutdown`](Hub::shutdown) or drop.
pub struct Hub {
    inner: Arc<HubInner>,
    local_addr: SocketAddr,
    accept: Mutex<Option<JoinHandle<()>>>,
}

impl std::fmt::Debug for Hub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hub")
            .field("local_addr", &self.local_addr)
            .field("clients", &self.clients())
            .finish_non_exhaustive()
    }
}

impl Hub {
    /// Listens on `addr` (e.g. `"127.0.0.1:29536"`, or port 0 for any free port; see
    /// [`local_addr`](Hub::local_addr)) with the default [`HubConfig`], and starts serving.
    ///
    /// # Errors
    ///
    /// As [`bind_with`](Hub::bind_with).
    pub fn bind(addr: impl ToSocketAddrs) -> Result<Hub, HubError> {
        Hub::bind_with(addr, HubConfig::default())
    }

    /// [`bind`](Hub::bind) with other limits.
    ///
    /// # Errors
    ///
    /// [`HubError::Bind`] when `addr` does not resolve or cannot be listened on (a port in use),
    /// [`HubError::Thread`] when the accepting thread cannot be started.
    pub fn bind_with(addr: impl ToSocketAddrs, config: HubConfig) -> Result<Hub, HubError> {
        let addrs: Vec<SocketAddr> = addr
            .to_socket_addrs()
            .map_err(|source| HubError::Bind {
                addr: "the given address".into(),
                source,
            })?
            .collect();
        let described = addrs
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ");
        let listener = TcpListener::bind(&addrs[..]).map_err(|source| HubError::Bind {
            addr: if described.is_empty() {
                "the given address (it resolved to nothing)".into()
            } else {
                described.clone()
            },
            source,
        })?;
        let local_addr = listener.local_addr().map_err(|source| HubError::Bind {
            addr: described,
            source,
        })?;
        let inner = Arc::new(HubInner {
            config: HubConfig {
                client_queue: config.client_queue.max(1),
                ..config
            },
            buses: Mutex::new(HashMap::new()),
            clients: Mutex::new(HashMap::new()),
            connected: AtomicUsize::new(0),
            refused: Mutex::new(LogThrottle::default()),
            stopping: AtomicBool::new(false),
            next_client: AtomicU64::new(1),
        });
        let accept = {
            let inner = inner.clone();
            std::thread::Builder::new()
                .name(format!("hub accept {local_addr}"))
                .spawn(move || accept_loop(listener, inner))
                .map_err(HubError::Thread)?
        };
        log::info!("hub: listening on {local_addr}");
        Ok(Hub {
            inner,
            local_addr,
            accept: Mutex::new(Some(accept)),
        })
    }

    /// The address the hub listens on (with the actual port when bound to port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// A new in-process port on bus `name` (created if needed), sharing it with the TCP clients
    /// that open the same name. It implements [`CanBus`](isotp::bus::CanBus), so a stack can run
    /// on it.
    ///
    /// # Errors
    ///
    /// As [`bus`](Hub::bus).
    pub fn attach(&self, name: &str) -> Result<VirtualPort, HubError> {
        Ok(self.inner.bus(name)?.attach())
    }

    /// The bus called `name` (created if needed), e.g. to attach several ports.
    ///
    /// # Errors
    ///
    /// [`HubError::InvalidBusName`] for a name socketcand clients could not open,
    /// [`HubError::TooManyBuses`] when creating it would pass [`HubConfig::max_buses`].
    pub fn bus(&self, name: &str) -> Result<VirtualBus, HubError> {
        self.inner.bus(name)
    }

    /// Names of the buses opened so far, sorted.
    pub fn bus_names(&self) -> Vec<String> {
        let mut names: Vec<String> = lock(&self.inner.buses).keys().cloned().collect();
        names.sort();
        names
    }

    /// TCP clients connected now (a client counts until its connection is closed).
    pub fn clients(&self) -> usize {
        self.inner.connected.load(Ordering::SeqCst)
    }

    /// Stops listening, disconnects every client and waits for the hub's threads to end.
    /// In-process ports from [`attach`](Hub::attach) keep working among themselves. Calling it
    /// again does nothing.
    pub fn shutdown(&self) {
        let Some(accept) = lock(&self.accept).take() else {
            return;
        };
        self.inner.stopping.store(true, Ordering::SeqCst);
        // Wake the accept loop with a connection of our own.
        let wake = match self.local_addr.ip() {
            IpAddr::V4(ip) if ip.is_unspecified() => {
                SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), self.local_addr.port())
            }
            IpAddr::V6(ip) if ip.is_unspecified() => {
                SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), self.local_addr.port())
            }
            _ => self.local_addr,
        };
        if let Err(e) = TcpStream::connect_timeout(&wake, Duration::from_secs(1)) {
            log::warn!("hub: could not wake the accept thread at {wake}: {e}");
        }
        let _ = accept.join();
        let clients: Vec<ClientEntry> = lock(&self.inner.clients).drain().map(|(_, c)| c).collect();
        for c in &clients {
            let _ = c.stream.shutdown(Shutdown::Both);
        }
        for mut c in clients {
            if let Some(t) = c.thread.take() {
                let _ = t.join();
            }
        }
        log::info!("hub: stopped listening on {}", self.local_addr);
    }
}

impl Drop for Hub {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn accept_loop(listener: TcpListener, inner: Arc<HubInner>) {
    for conn in listener.incoming() {
        if inner.is_stopping() {
            break;
        }
        let mut stream = match conn {
            Ok(s) => s,
            Err(e) => {
                log::warn!("hub: accepting a connection failed: {e}");
                // Out of file descriptors and the like: do not spin.
                std::thread::sleep(Duration::from_millis(50));
                continue;
            }
        };
        let peer = stream
            .peer_addr()
            .map_or_else(|_| "?".into(), |a| a.to_string());
        let mut clients = lock(&inner.clients);
        if inner.connected.load(Ordering::SeqCst) >= inner.config.max_clients {
            drop(clients);
            if let Some(n) = lock(&inner.refused).note() {
                log::warn!(
                    "hub: refused {n} connection(s) (latest {peer}): already {} clients (HubConfig::max_clients)",
                    inner.config.max_clients
                );
            }
            let _ = stream.set_write_timeout(Some(Duration::from_millis(100)));
            let _ = stream.write_all(b"< error too many clients >");
            continue;
        }
        let control = match stream.try_clone() {
            Ok(c) => c,
            Err(e) => {
                log::warn!("hub: cannot use the connection from {peer}: {e}");
                continue;
            }
        };
        let id = inner.next_client.fetch_add(1, Ordering::Relaxed);
        let thread = {
            let inner = inner.clone();
            let peer = peer.clone();
            std::thread::Builder::new()
                .name(format!("hub client {peer}"))
                .spawn(move || session::run(id, stream, peer, inner))
        };
        inner.connected.fetch_add(1, Ordering::SeqCst);
        match thread {
            Ok(t) => {
                clients.insert(
                    id,
                    ClientEntry {
                        stream: control,
                        thread: Some(t),
                    },
                );
            }
            Err(e) => {
                inner.release_slot();
                log::warn!("hub: cannot start a thread for {peer}: {e}");
            }
        }
    }
}
