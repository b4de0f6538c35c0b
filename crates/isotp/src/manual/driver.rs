//! The driver: the threads of a node, and the lead protocol that decides who reads the bus and who
//! sleeps.
//!
//! A [`Stack`](crate::Stack) is a [`Node`](crate::Node) with one [`Link`](crate::Link); an
//! `AsyncStack` (feature `tokio`) is a node whose waiters are tasks. Everything below is about a
//! node: one bus, its links, one background thread, and the threads and tasks that wait on its
//! links.
//!
//! # Threads
//!
//! A round trip is only as fast as its thread hand-offs, so the drivers keep them few:
//!
//! - **The caller drives while it waits.** A thread blocked in [`Link::recv`](crate::Link::recv) or
//!   [`Link::send_blocking`](crate::Link::send_blocking) reads the bus, runs the endpoints and fires
//!   their timers itself; its result needs no hand-off. Right after the node sent a frame, the
//!   waiting thread polls the bus for up to 50 µs before it sleeps
//!   ([`DriverOptions::spin_before_park`](crate::DriverOptions::spin_before_park)), since the reply
//!   (a flow control, a response) usually comes within microseconds and waking a sleeping core
//!   costs tens; only on buses that poll cheaply
//!   ([`Capabilities::cheap_poll`](crate::bus::Capabilities::cheap_poll)), so not on a python-can
//!   bus, whose every poll takes the GIL.
//! - **A caller sends on its own thread.** [`Link::send`](crate::Link::send) queues the message and
//!   puts the frames that are due at once (a single frame, a first frame) on the bus before it
//!   returns, unless another thread is writing that link's frames (it then sends them in order).
//! - **An awaiting task drives too.** A task awaiting `AsyncStack::recv` or `send` takes the lead
//!   during its polls: it reads what the bus has
//!   ([`CanBus::poll_recv`](crate::bus::CanBus::poll_recv)), handles it, and leaves the bus to wake
//!   it when the next frame arrives, so the frame it waits for wakes it directly. A poll never waits
//!   for a frame; it handles at most 128 frames and sends at most 16 (a block of consecutive frames,
//!   or a flow control and a response) before it gives the runtime back, and leaves a longer burst
//!   to the node's thread. This needs a bus that can wake a task
//!   ([`Capabilities::task_wakeup`](crate::bus::Capabilities::task_wakeup): the virtual bus,
//!   socketcand, SLCAN, and SocketCAN through tokio's reactor when opened with
//!   `SocketCanBus::with_task_wakeup`); on other buses the node's thread reads for the task.
//! - **One background thread per node** (a `Stack` and an `AsyncStack` each own a node) drives the
//!   links while nobody waits: it answers first frames with flow control, paces consecutive frames
//!   and runs the timers. It sleeps on the bus until the earliest deadline of all its links (the
//!   [`Router`](isotp_core::Router)'s `next_deadline`) and spins through the last 300 µs before a
//!   protocol deadline ([`time`](super::time)).
//! - **While tasks watch the bus**, the background thread keeps only the timers: it sleeps until
//!   300 µs before the next deadline and leads then, so STmin, N_Bs and N_Cr stay as precise as with
//!   threads.
//! - **The kernel socket** (`kernel::KernelSocket`, Linux) has no engine thread of ours: the kernel
//!   runs the protocol and the calls are plain socket reads and writes.
//!
//! # Who reads the bus and who sleeps
//!
//! One protocol, in `src/stack/lead.rs` (the token), `engine.rs` (the loop) and `alarm.rs` (the
//! sleep). Its rules:
//!
//! 1. **One reader.** A node has one token, the lead. Only its holder reads the bus (`recv`,
//!    `poll_recv`) and runs the due timers of every link, so frames are handled in the order they
//!    arrived. Anyone may *send* a link's due frames (a caller right after `send`, the reader after
//!    a frame or a timer); the state lock is released during the bus write, and a link being written
//!    by one thread is left to it (`tx_busy`), so its frames keep their order.
//! 2. **A waiter leads.** A thread that waits (`recv`, `send_blocking`) takes a free lead and reads
//!    the bus until its result comes; if the lead is held, it registers on its result (the link's
//!    mailbox, or the message's completion) and parks. A delivery unparks the one waiter it
//!    concerns; a release unparks the first parked waiter, which takes the lead or, if its result
//!    came meanwhile, passes it on, so a free lead with waiters always has a thread woken to take
//!    it. A waiter that takes the lead looks at its result again before it reads the bus.
//! 3. **The background thread leads when nobody else does**: once the lead has been free for 1 ms
//!    (the waiter that just released it usually comes back at once), or at once when a timer is due.
//!    It gives the lead up as soon as a waiter or a task asks (the asker interrupts its sleep on the
//!    bus), and parks while others lead.
//! 4. **An awaiting task leads during its polls** on buses that can wake it (`task_wakeup`): it
//!    reads what the bus has, then leaves the bus to wake it; a task that finds the lead held is
//!    woken at the release. While tasks watch the bus, the background thread only keeps the timers:
//!    it leads just before each is due.
//! 5. **The reader sleeps until the earliest deadline** of all links (or its caller's timeout), on
//!    the bus, and publishes that instant *while it still holds the state lock* it read the
//!    deadlines under. A caller that sets an earlier deadline holds the same lock, sees the
//!    published instant and interrupts the bus ([`CanBus::interrupt`](crate::bus::CanBus::interrupt)).
//!    So a deadline is either read by the reader or wakes it; none is slept past. An interrupt is
//!    sticky (the next `recv` returns at once) and queues at most one wake-up.
//! 6. **Closing ends every wait.** Dropping the node, a closed bus, or a call into the bus that
//!    panics (a user's `CanBus`, a [`Tracer`](crate::bus::Tracer)'s watcher) sets the stop flag,
//!    closes every mailbox and ends every awaited send, so every parked waiter returns with an
//!    error; a reader that panics gives the lead up on its way out.
//! 7. **Discoveries are clients of a node**, not drivers.
//!    [`FunctionalRequest`](crate::discovery::FunctionalRequest) and
//!    [`Scan`](crate::discovery::Scan) take a [`Node`](crate::Node) and put a tap on it
//!    (`stack/tap.rs`): the leader hands the tap a copy of each frame it reads (a scan), or, for a
//!    frame no link accepts, makes a link on the fly for the responder the tap names and routes the
//!    frame to it (a functional request: each responder's flow control, N_Cr and reassembly are a
//!    link's, on the node's `Router` and timers); the link's receptions go to the tap. The
//!    discovery's thread waits on its tap as a receiver waits on its mailbox (rule 2), so it reads
//!    the bus when no other thread does. A tap holds at most 4096 items and makes at most 1024
//!    links, all removed with it; a bus failure ends it with the bus's error.
//!
//! Two model checks with shuttle run in `cargo test -p isotp --lib`: `stack::alarm::model` explores
//! rule 5's handshake (a reader going to sleep, callers setting deadlines, a close); with the
//! instant published after the lock is released, it finds the interleaving in which a
//! non-blocking send's N_Bs deadline is never fired. `stack::lead_model` compiles `lead.rs` again
//! over shuttle's primitives and explores rules 1–3: waiting threads that lead or follow, a peer
//! whose frames only the leader reads, the background thread's turns; it checks that every waiter
//! gets its result and that one thread reads at a time. It found the waiter that took the lead just
//! after the previous leader had delivered its result and then slept on the bus with the result in
//! its mailbox, which rule 2's second look prevents.
//!
//! # Round trips in one process
//!
//! Round trips between two stacks in one process (`isotp perf --rtt`) come in two modes, decided by
//! where the scheduler put the two waiting threads (the sender's and the echoing receiver's) when
//! they started, and kept for the whole run:
//!
//! - **Two vCPUs** (median 1–2 µs, p99 3–5 µs on this project's 2-vCPU machines): each thread polls
//!   the bus while the other answers; a round trip has no context switch.
//! - **One vCPU** (median 8 µs, p99 11–26 µs): the reply can only run once the waiting thread gives
//!   the CPU up, so every round trip costs about 1.3 context switches (measured: 80,000–90,000
//!   involuntary switches per second per thread at 125,000 round trips per second). A spinning
//!   waiter yields after every 8 polls of the bus for this case. `taskset -c 0 isotp perf --rtt`
//!   gives this mode in every run.
//!
//! Why a run stays in one mode: both threads spin (a round trip is far shorter than the 50 µs
//! `spin_before_park` window), so neither is ever woken, and the wake-up placement that moves a
//! woken thread to an idle CPU never runs for them. Only the periodic load balancer can separate
//! them, and it does so only when the other vCPU is idle; with other work on the machine the pair
//! stays together, even migrating together from one vCPU to the other (sampled in
//! `/proc/PID/task/*/stat` during runs of 400,000 round trips). The spin window is not the cause: a
//! window of 5 µs gives the same 8 µs in the one-vCPU mode (the waiter then sleeps instead of
//! yielding, at the same cost), and no window at all gives 13 µs (a sleeping thread's wake-up). The
//! library cannot choose the mode without pinning the application's threads, which it does not do;
//! an application that needs the fast mode on a 2-vCPU machine pins its two talking threads to
//! different CPUs. Stacks talking to another process or a real bus see the first mode whenever a
//! CPU is free.
