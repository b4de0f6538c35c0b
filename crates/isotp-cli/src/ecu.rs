//! A simulated ECU for the demo: answers a few UDS requests the way an engine controller would.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use isotp::Stack;

/// The vehicle identification number the ECU reports.
pub const VIN: &[u8; 17] = b"WVWZZZ1JZXW000001";

/// A DID answered only over CAN FD by the demo's second ECU: a 200-byte calibration record.
pub const CALIBRATION_DID: u16 = 0xF1A0;

/// The ECU's answer to `request`, or `None` when it stays silent (TesterPresent with the
/// suppress-positive-response bit).
pub fn respond(request: &[u8]) -> Option<Vec<u8>> {
    let (&sid, rest) = request.split_first()?;
    let negative = |nrc: u8| Some(vec![0x7F, sid, nrc]);
    match (sid, rest) {
        (0x10, [session]) => Some(vec![0x50, *session, 0x00, 0x32, 0x01, 0xF4]),
        (0x3E, [sub]) if sub & 0x80 != 0 => None,
        (0x3E, [sub]) => Some(vec![0x7E, *sub]),
        (0x22, [hi, lo]) => {
            let did = u16::from_be_bytes([*hi, *lo]);
            let mut response = vec![0x62, *hi, *lo];
            match did {
                0xF190 => response.extend_from_slice(VIN),
                0xF18C => response.extend_from_slice(b"SN-4711"),
                CALIBRATION_DID => response.extend((0..200u16).map(|i| (i * 7 % 251) as u8)),
                _ => return negative(0x31),
            }
            Some(response)
        }
        (0x19, [0x02, mask]) => {
            // Fourteen stored DTCs: 3-byte code and status.
            let mut response = vec![0x59, 0x02, *mask];
            for i in 0..14u8 {
                response.extend_from_slice(&[0x01, 0x23, i, 0x2F & *mask]);
            }
            Some(response)
        }
        (0x10 | 0x22 | 0x19, _) => negative(0x13),
        _ => negative(0x11),
    }
}

/// Runs an ECU on `stack` in a thread until the returned flag is set.
pub fn spawn(stack: Stack) -> (Arc<AtomicBool>, JoinHandle<()>) {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let handle = std::thread::spawn(move || {
        while !flag.load(Ordering::Relaxed) {
            match stack.recv(Some(Duration::from_millis(20))) {
                Ok(Some(request)) => {
                    if let Some(response) = respond(&request) {
                        // A failed response shows in the tester's timeout.
                        let _ = stack.send_blocking(&response, Some(Duration::from_secs(2)));
                    }
                }
                Ok(None) => {}
                Err(_) => break,
            }
        }
    });
    (stop, handle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers() {
        assert_eq!(
            respond(&[0x10, 0x03]).unwrap(),
            vec![0x50, 0x03, 0x00, 0x32, 0x01, 0xF4]
        );
        assert_eq!(respond(&[0x3E, 0x80]), None);
        assert_eq!(respond(&[0x3E, 0x00]).unwrap(), vec![0x7E, 0x00]);
        assert_eq!(&respond(&[0x22, 0xF1, 0x90]).unwrap()[3..], VIN);
        assert_eq!(respond(&[0x22, 0xF1, 0xA0]).unwrap().len(), 203);
        assert_eq!(
            respond(&[0x22, 0x12, 0x34]).unwrap(),
            vec![0x7F, 0x22, 0x31]
        );
        assert_eq!(respond(&[0x19, 0x02, 0xFF]).unwrap().len(), 59);
        assert_eq!(respond(&[0x85]).unwrap(), vec![0x7F, 0x85, 0x11]);
        assert_eq!(respond(&[]), None);
    }
}
