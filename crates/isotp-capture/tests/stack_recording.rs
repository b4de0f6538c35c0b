//! A recording of two of our stacks talking, written as a candump log, read back and checked:
//! nothing in it breaks ISO 15765-2, and the log carries what was sent.

use std::io::Cursor;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use isotp::bus::{CanBus, VirtualBus};
use isotp::{Address, Config, Stack};
use isotp_capture::{Channel, ChannelName, Format, Reader, Record, Writer};
use isotp_core::monitor::check::{CheckConfig, Checker};
use isotp_core::monitor::Discovery;
use isotp_core::wire::StMin;
use isotp_core::Instant;

fn payload(len: usize, salt: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31) ^ salt)
        .collect()
}

#[test]
fn a_recording_of_our_stacks_breaks_no_rule() {
    let bus = VirtualBus::new();
    let recorder = bus.attach();
    let address = Address::normal_11(0x7E0, 0x7E8).unwrap();
    let config = |block_size, st_min| {
        let mut c = Config::default();
        c.block_size = block_size;
        c.st_min = StMin::from_byte(st_min);
        c
    };
    // The tester asks for 500 µs between consecutive frames, the ECU for 2 ms.
    let tester = Stack::new(bus.attach(), address, config(3, 0xF5)).unwrap();
    let ecu = Stack::new(bus.attach(), address.mirrored().unwrap(), config(8, 2)).unwrap();
    let wait = Some(Duration::from_secs(5));
    let sizes = [3usize, 7, 8, 20, 62, 200, 1000];
    for (i, &n) in sizes.iter().enumerate() {
        let request = payload(n, i as u8);
        tester.send_blocking(&request, wait).unwrap();
        assert_eq!(ecu.recv(wait).unwrap().unwrap(), request);
        let response = payload(sizes[sizes.len() - 1 - i], 0x55);
        ecu.send_blocking(&response, wait).unwrap();
        assert_eq!(tester.recv(wait).unwrap().unwrap(), response);
    }

    // Every frame with the moment it was put on the bus, as a candump log.
    let origin = std::time::Instant::now();
    let epoch = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    let mut writer = Writer::new(Cursor::new(Vec::new()), Format::Candump).unwrap();
    let mut frames = 0;
    while let Some((frame, at)) = recorder
        .recv_timestamped(Some(Duration::from_millis(200)))
        .expect("the virtual bus does not fail")
    {
        let since = origin.checked_duration_since(at).unwrap_or_default();
        writer
            .write(&Record {
                time: epoch - since,
                channel: Channel::Name(ChannelName::new("vcan0").unwrap()),
                direction: None,
                frame,
            })
            .unwrap();
        frames += 1;
    }
    let log = writer.finish().unwrap().into_inner();
    // 7 SF/FF each way, flow controls and consecutive frames: well over a hundred frames.
    assert!(frames > 150, "{frames} frames recorded");

    let check = |settings: CheckConfig| {
        let mut checker = Checker::new(settings);
        for record in Reader::new(Cursor::new(&log), Format::Candump).unwrap() {
            let record = record.unwrap();
            let micros = u64::try_from(record.time.as_micros()).unwrap();
            checker.handle_frame(&record.frame, Instant::from_micros(micros));
        }
        checker.finish();
        assert_eq!(checker.frames(), frames);
        assert_eq!(checker.conversations().count(), 1);
        std::iter::from_fn(|| checker.poll_finding())
            .map(|f| format!("{} at frame {}: {}", f.kind.name(), f.frame.index, f.kind))
            .collect::<Vec<String>>()
    };
    let found = check(CheckConfig::discovering(Discovery::Normal));
    assert!(found.is_empty(), "{found:#?}");
    // The same log against an N_Cs limit no sender meets: every consecutive frame is judged.
    let mut strict = CheckConfig::discovering(Discovery::Normal);
    strict.n_cs = Duration::from_nanos(1);
    let found = check(strict);
    assert!(found.len() > 100, "{found:#?}");
    assert!(found.iter().all(|f| f.starts_with("n_cs_exceeded")));
}
