//! Shared test harness for isotp-core's integration tests.
//!
//! - [`pair::Pair`]: two endpoints joined by an in-memory [`link::Link`] (perfect or fault-injecting),
//!   in virtual time, recording every frame and event with its timestamp (quinn-proto's `Pair`).
//! - [`solo::Solo`]: one endpoint driven frame by frame, the test playing the peer.
//! - [`reference`]: an independent model of the expected frames of a message, for exact-byte checks.
//! - [`rng::XorShift`]: a seeded deterministic PRNG.
#![allow(dead_code, unused_imports)]

pub mod link;
pub mod pair;
pub mod reference;
pub mod rng;
pub mod solo;

pub use core::time::Duration;

pub use isotp_core::wire::{
    explain, AddressLength, EmitError, FlowStatus, ParseError, PciType, Pdu, StMin,
};
pub use isotp_core::{
    ATimer, Address, AddressError, AddressingMode, CanId, Config, ConfigError, Endpoint, Event,
    Frame, Instant, MessageId, PaddingCheck, ParseFrameError, ProtocolError, RateLimit,
    ReceptionProgress, SendError, TargetAddressType, Warning,
};
pub use link::{FaultStats, Faults, Link, Side};
pub use pair::{Confirm, Pair, Record};
pub use reference::{expected_frames, Layout};
pub use rng::XorShift;
pub use solo::Solo;

/// The tester's address used by most tests: transmit on 0x7E0, receive on 0x7E8.
pub fn tester_address() -> Address {
    Address::normal_11(0x7E0, 0x7E8).unwrap()
}

/// The ECU's address (the tester's mirror).
pub fn ecu_address() -> Address {
    Address::normal_11(0x7E8, 0x7E0).unwrap()
}

/// A standard id.
pub fn sid(raw: u32) -> CanId {
    CanId::standard(raw).unwrap()
}

/// An extended id.
pub fn xid(raw: u32) -> CanId {
    CanId::extended(raw).unwrap()
}

/// A recognisable payload of `len` bytes: byte i is `(i + seed) mod 256`.
pub fn payload(len: usize, seed: u8) -> Vec<u8> {
    (0..len).map(|i| (i as u8).wrapping_add(seed)).collect()
}

/// The default configuration changed by `f`.
pub fn config(f: impl FnOnce(&mut Config)) -> Config {
    let mut c = Config::default();
    f(&mut c);
    c
}

/// Milliseconds.
pub fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Microseconds.
pub fn us(n: u64) -> Duration {
    Duration::from_micros(n)
}

/// An instant `n` ms after the epoch.
pub fn at_ms(n: u64) -> Instant {
    Instant::from_millis(n)
}

/// Concatenation helper: `cat(&[&[0x21], &data[6..13]])`.
pub fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.iter().flat_map(|p| p.iter().copied()).collect()
}

/// True for a receive failure with the given error.
pub fn is_receive_failed(e: &Event, f: impl Fn(&ProtocolError) -> bool) -> bool {
    matches!(e, Event::ReceiveFailed { error } if f(error))
}

/// True for a send failure with the given error.
pub fn is_send_failed(e: &Event, f: impl Fn(&ProtocolError) -> bool) -> bool {
    matches!(e, Event::SendFailed { error, .. } if f(error))
}

/// The events without warnings.
pub fn no_warnings(events: Vec<Event>) -> Vec<Event> {
    events
        .into_iter()
        .filter(|e| !matches!(e, Event::Warning(_)))
        .collect()
}

/// A physical `Received` event.
pub fn received(payload: Vec<u8>) -> Event {
    Event::Received {
        payload,
        target_address_type: TargetAddressType::Physical,
    }
}

/// One microsecond before `t`.
pub fn just_before(t: Instant) -> Instant {
    Instant::from_micros(t.as_micros() - 1)
}

/// An instant `n` µs after the epoch.
pub fn at_us(n: u64) -> Instant {
    Instant::from_micros(n)
}

/// A tester address of each mode (the ECU is its mirror).
pub fn address_for(mode: AddressingMode) -> Address {
    let b = Address::builder(mode);
    match mode {
        AddressingMode::Normal11 => b.txid(0x7E0).rxid(0x7E8).functional_txid(0x7DF),
        AddressingMode::Normal29 => b
            .txid(0x18DA10F1)
            .rxid(0x18DAF110)
            .functional_txid(0x18DB33F1),
        AddressingMode::NormalFixed29 => b.target_address(0x10).source_address(0xF1),
        AddressingMode::Extended11 => b
            .txid(0x6F1)
            .rxid(0x610)
            .functional_txid(0x6DF)
            .target_address(0x10)
            .source_address(0xF1),
        AddressingMode::Extended29 => b
            .txid(0x1BAD_0001)
            .rxid(0x1BAD_0002)
            .functional_txid(0x1BAD_00FF)
            .target_address(0x10)
            .source_address(0xF1),
        AddressingMode::Mixed11 => b
            .txid(0x7E0)
            .rxid(0x7E8)
            .functional_txid(0x7DF)
            .address_extension(0x99),
        AddressingMode::Mixed29 => b
            .target_address(0x10)
            .source_address(0xF1)
            .address_extension(0x99),
    }
    .build()
    .unwrap()
}
