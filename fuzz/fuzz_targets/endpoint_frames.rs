//! An endpoint fed an arbitrary sequence of frames, times, sends, confirmations and timeouts.
//!
//! Invariants: nothing panics; every transmitted frame has a valid length for its kind, the endpoint's
//! transmit id and FD flag; listen mode never transmits; after the timers ran and the due frames went
//! out, the next wakeup is in the future (no livelock); a reception never holds more memory than the
//! bytes it received plus one frame (checked through a counting allocator).
#![no_main]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};

use isotp_core::wire::{dlc, StMin};
use isotp_core::{
    Address, CanId, Config, Duration, Endpoint, Frame, Instant, PaddingCheck, RateLimit,
    TargetAddressType,
};
use libfuzzer_sys::fuzz_target;

struct Counting;
static LIVE: AtomicIsize = AtomicIsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(
            new_size as isize - layout.size() as isize,
            Ordering::Relaxed,
        );
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

struct Input<'a>(&'a [u8]);

impl Input<'_> {
    fn byte(&mut self) -> Option<u8> {
        let (&b, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(b)
    }
    fn bytes(&mut self, n: usize) -> &[u8] {
        let n = n.min(self.0.len());
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        a
    }
    fn u32(&mut self) -> u32 {
        let b = self.bytes(4);
        let mut a = [0u8; 4];
        a[..b.len()].copy_from_slice(b);
        u32::from_le_bytes(a)
    }
}

fn config(sel: u8, sel2: u8) -> Config {
    let mut c = Config::default();
    c.block_size = sel2 & 0x0F;
    c.st_min = StMin::from_byte(if sel2 & 0x10 != 0 { 0xF2 } else { 0 });
    c.wft_max = sel2 >> 5;
    c.max_frame_size = if sel & 0x40 != 0 { u32::MAX } else { 4095 };
    c.n_bs = Duration::from_millis(100);
    c.n_cr = Duration::from_millis(150);
    c.n_as = Duration::from_millis(20);
    c.n_ar = Duration::from_millis(30);
    match sel & 0x07 {
        0 => {}
        1 => {
            c.link_layer.can_fd = true;
            c.link_layer.tx_data_length = 64;
        }
        2 => c.listen_mode = true,
        3 => {
            c.rate_limit = Some(RateLimit {
                max_bitrate: 20_000,
                window: Duration::from_millis(50),
            })
        }
        4 => {
            c.link_layer.can_fd = true;
            c.link_layer.tx_data_length = 16;
            c.link_layer.tx_data_min_length = Some(12);
            c.tx_padding = Some(0xAA);
        }
        5 => c.tx_padding = Some(0x55),
        6 => c.override_receiver_st_min = Some(Duration::ZERO),
        _ => {
            c.link_layer.can_fd = true;
            c.link_layer.tx_data_length = 12;
            c.link_layer.bitrate_switch = true;
        }
    }
    match (sel >> 3) & 0x03 {
        0 => {}
        1 => c.rx_padding_check = PaddingCheck::Length,
        2 => {
            c.rx_padding_check = PaddingCheck::LengthAndContent;
            c.rx_padding = Some(0xCC);
        }
        _ => {
            c.rx_padding_check = PaddingCheck::Content;
            c.rx_padding = Some(0xAA);
        }
    }
    c
}

fn address(sel: u8) -> Address {
    match sel % 4 {
        0 => Address::normal_11(0x6F1, 0x610).unwrap(),
        1 => Address::extended_11(0x6F1, 0x610, 0x10, 0xF1).unwrap(),
        2 => Address::normal_fixed_29(0x10, 0xF1).unwrap(),
        _ => Address::builder(isotp_core::AddressingMode::Mixed11)
            .txid(0x6F1)
            .rxid(0x610)
            .functional_txid(0x6DF)
            .functional_rxid(0x6DE)
            .address_extension(0x99)
            .build()
            .unwrap(),
    }
}

fuzz_target!(|data: &[u8]| {
    let mut input = Input(data);
    let (Some(a), Some(b), Some(c)) = (input.byte(), input.byte(), input.byte()) else {
        return;
    };
    let cfg = config(a, b);
    let addr = address(c);
    let Ok(mut ep) = Endpoint::new(addr, cfg) else {
        return;
    };
    if a & 0x80 != 0 {
        ep = ep.with_tx_confirmation();
    }
    if c & 0x80 != 0 {
        ep = ep.with_first_frame_indication();
    }
    let peer = addr.mirrored().unwrap();
    let peer_ids = [
        peer.tx_id(TargetAddressType::Physical).unwrap(),
        peer.tx_id(TargetAddressType::Functional).unwrap(),
        addr.tx_id(TargetAddressType::Physical).unwrap(),
        CanId::standard(0x6DE).unwrap(),
    ];
    let own_ids = [
        addr.tx_id(TargetAddressType::Physical).unwrap(),
        addr.tx_id(TargetAddressType::Functional).unwrap(),
    ];
    let mut now = Instant::ZERO;
    let baseline = LIVE.load(Ordering::Relaxed);
    let mut received_bytes: isize = 0;
    let mut steps = 0;
    while let Some(op) = input.byte() {
        steps += 1;
        if steps > 2000 {
            break;
        }
        match op % 9 {
            0..=2 => {
                // A frame: id choice, FD flag, length, then bytes.
                let meta = input.byte().unwrap_or(0);
                let id = peer_ids[usize::from(meta & 3)];
                let fd = meta & 4 != 0;
                let len = usize::from(input.byte().unwrap_or(0) % 65);
                let mut bytes = input.bytes(len).to_vec();
                let frame = if fd {
                    let n = dlc::round_up(bytes.len()).unwrap_or(64);
                    bytes.resize(n, 0xCC);
                    Frame::new_fd(id, &bytes).unwrap().with_brs(meta & 8 != 0)
                } else {
                    bytes.truncate(8);
                    Frame::new(id, &bytes).unwrap()
                };
                received_bytes += frame.len() as isize;
                ep.handle_frame(&frame, now);
            }
            3 => now += Duration::from_micros(u64::from(input.u32() % 2_000_000)),
            4 => {
                let len = usize::from(input.byte().unwrap_or(1)) * 16 + 1;
                let target = if len % 2 == 0 {
                    TargetAddressType::Functional
                } else {
                    TargetAddressType::Physical
                };
                let payload = vec![0x5A; len];
                let _ = ep.send(&payload, target);
            }
            5 => {
                let mut n = 0;
                while let Some(f) = ep.poll_transmit(now) {
                    assert!(!cfg.listen_mode, "listen mode transmitted {f:?}");
                    assert!(own_ids.contains(&f.id()), "{f:?} on a foreign id");
                    assert_eq!(f.is_fd(), cfg.link_layer.can_fd);
                    if f.is_fd() {
                        assert!(dlc::is_valid_fd_len(f.len()));
                        assert!(f.len() <= usize::from(cfg.link_layer.tx_data_length).max(8));
                    } else {
                        assert!(f.len() <= 8);
                    }
                    n += 1;
                    assert!(n < 100_000, "poll_transmit never ends");
                }
            }
            6 => ep.handle_timeout(now),
            7 => {
                let _ = ep.handle_tx_confirmation(now);
            }
            _ => match input.byte().unwrap_or(0) % 6 {
                0 => {
                    ep.stop_sending();
                }
                1 => ep.stop_receiving(),
                2 => ep.reset(),
                3 => {
                    let _ = ep.handle_tx_failure();
                }
                4 => ep.set_receive_ready(!ep.is_receive_ready()),
                _ => {
                    let _ = ep.reception_progress();
                }
            },
        }
        while ep.poll_event().is_some() {}
        if ep.poll_timeout().is_some_and(|t| t <= now) {
            ep.handle_timeout(now);
            while ep.poll_transmit(now).is_some() {}
            while ep.poll_event().is_some() {}
            let next = ep.poll_timeout();
            assert!(
                !matches!(next, Some(t) if t <= now),
                "livelock: wakeup {next:?} at {now:?}"
            );
        }
        // Memory follows what was received (amortised growth: at most twice), plus queued sends
        // (bounded here), never what was announced.
        let held = LIVE.load(Ordering::Relaxed) - baseline;
        let sends_bound = 64 * (256 * 16 + 1) as isize;
        assert!(
            held <= 2 * received_bytes + sends_bound + 64 * 1024,
            "endpoint holds {held} bytes after receiving {received_bytes}"
        );
    }
});
