//! Conversions between [`CanId`]/[`Frame`] and the `embedded-can` traits (feature `embedded-can`), for
//! drivers of microcontroller CAN peripherals and the rest of the embedded-hal ecosystem.
//!
//! `embedded_can::Frame` knows ids, data and remote frames, but neither CAN FD nor the bit rate switch:
//! the FD flag of a converted frame follows from its length (more than 8 bytes is CAN FD), and BRS is
//! lost. Links that need CAN FD frames of 8 bytes or less, or BRS, need a driver that speaks [`Frame`].

use embedded_can::{ExtendedId, Id, StandardId};

use super::{CanId, Frame};

impl From<CanId> for Id {
    fn from(id: CanId) -> Id {
        if id.is_extended() {
            // CanId is range-checked like ExtendedId, so the fallback is never taken.
            Id::Extended(ExtendedId::new(id.raw()).unwrap_or(ExtendedId::ZERO))
        } else {
            let raw = u16::try_from(id.raw()).unwrap_or(0);
            Id::Standard(StandardId::new(raw).unwrap_or(StandardId::ZERO))
        }
    }
}

impl From<Id> for CanId {
    fn from(id: Id) -> CanId {
        // embedded_can's ids are range-checked like ours.
        match id {
            Id::Standard(s) => CanId::from_parts(u32::from(s.as_raw()), false),
            Id::Extended(e) => CanId::from_parts(e.as_raw(), true),
        }
    }
}

impl Frame {
    /// This frame as an `F`; `None` when `F` cannot hold it (a CAN FD frame of more than 8 bytes and a
    /// classic-only `F`). The FD and BRS flags are not carried: `F::new` decides.
    ///
    /// ```
    /// use isotp_core::{CanId, Frame};
    /// # #[derive(Debug, PartialEq)]
    /// # struct MyFrame { id: embedded_can::Id, data: Vec<u8> }
    /// # impl embedded_can::Frame for MyFrame {
    /// #     fn new(id: impl Into<embedded_can::Id>, data: &[u8]) -> Option<Self> {
    /// #         (data.len() <= 8).then(|| MyFrame { id: id.into(), data: data.to_vec() })
    /// #     }
    /// #     fn new_remote(_: impl Into<embedded_can::Id>, _: usize) -> Option<Self> { None }
    /// #     fn is_extended(&self) -> bool { matches!(self.id, embedded_can::Id::Extended(_)) }
    /// #     fn is_remote_frame(&self) -> bool { false }
    /// #     fn id(&self) -> embedded_can::Id { self.id }
    /// #     fn dlc(&self) -> usize { self.data.len() }
    /// #     fn data(&self) -> &[u8] { &self.data }
    /// # }
    /// let frame = Frame::new(CanId::standard(0x7E0)?, &[0x02, 0x10, 0x03])?;
    /// let hal: MyFrame = frame.to_embedded().expect("fits a classic frame");
    /// assert_eq!(Frame::from_embedded(&hal), Some(frame));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn to_embedded<F: embedded_can::Frame>(&self) -> Option<F> {
        F::new(Id::from(self.id()), self.data())
    }

    /// An `embedded_can` frame as a [`Frame`]: 0 to 8 bytes give a classic frame, more a CAN FD frame
    /// (without BRS). `None` for remote frames and for lengths no CAN FD frame has.
    pub fn from_embedded<F: embedded_can::Frame>(frame: &F) -> Option<Frame> {
        if frame.is_remote_frame() {
            return None;
        }
        let id = CanId::from(frame.id());
        let data = frame.data();
        if data.len() <= 8 {
            Frame::new(id, data).ok()
        } else {
            Frame::new_fd(id, data).ok()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;
    use alloc::vec::Vec;

    /// A minimal embedded_can frame that also accepts CAN FD lengths.
    #[derive(Debug, Clone, PartialEq)]
    struct TestFrame {
        id: Id,
        data: Vec<u8>,
        remote: bool,
    }

    impl embedded_can::Frame for TestFrame {
        fn new(id: impl Into<Id>, data: &[u8]) -> Option<Self> {
            (data.len() <= 64).then(|| TestFrame {
                id: id.into(),
                data: data.to_vec(),
                remote: false,
            })
        }
        fn new_remote(id: impl Into<Id>, dlc: usize) -> Option<Self> {
            (dlc <= 8).then(|| TestFrame {
                id: id.into(),
                data: vec![0; dlc],
                remote: true,
            })
        }
        fn is_extended(&self) -> bool {
            matches!(self.id, Id::Extended(_))
        }
        fn is_remote_frame(&self) -> bool {
            self.remote
        }
        fn id(&self) -> Id {
            self.id
        }
        fn dlc(&self) -> usize {
            self.data.len()
        }
        fn data(&self) -> &[u8] {
            &self.data
        }
    }

    /// A classic-only frame type.
    #[derive(Debug, PartialEq)]
    struct Classic(Id, Vec<u8>);

    impl embedded_can::Frame for Classic {
        fn new(id: impl Into<Id>, data: &[u8]) -> Option<Self> {
            (data.len() <= 8).then(|| Classic(id.into(), data.to_vec()))
        }
        fn new_remote(_: impl Into<Id>, _: usize) -> Option<Self> {
            None
        }
        fn is_extended(&self) -> bool {
            matches!(self.0, Id::Extended(_))
        }
        fn is_remote_frame(&self) -> bool {
            false
        }
        fn id(&self) -> Id {
            self.0
        }
        fn dlc(&self) -> usize {
            self.1.len()
        }
        fn data(&self) -> &[u8] {
            &self.1
        }
    }

    #[test]
    fn ids_round_trip_at_the_edges() {
        for id in [
            CanId::standard(0).unwrap(),
            CanId::standard(0x7FF).unwrap(),
            CanId::extended(0).unwrap(),
            CanId::extended(0x7FF).unwrap(),
            CanId::extended(0x1FFF_FFFF).unwrap(),
        ] {
            assert_eq!(CanId::from(Id::from(id)), id);
        }
        // A 29-bit id below 0x800 stays 29-bit.
        assert!(matches!(
            Id::from(CanId::extended(0x10).unwrap()),
            Id::Extended(_)
        ));
    }

    #[test]
    fn classic_frames_round_trip() {
        let f = Frame::new(
            CanId::extended(0x18DA_F110).unwrap(),
            &[0x10, 0x14, 1, 2, 3, 4, 5, 6],
        )
        .unwrap();
        let e: TestFrame = f.to_embedded().unwrap();
        assert!(embedded_can::Frame::is_extended(&e));
        assert_eq!(Frame::from_embedded(&e), Some(f));
        let c: Classic = f.to_embedded().unwrap();
        assert_eq!(Frame::from_embedded(&c), Some(f));
    }

    #[test]
    fn long_fd_frames_need_an_fd_capable_type() {
        let data: Vec<u8> = (0..48).collect();
        let f = Frame::new_fd(CanId::standard(0x7E0).unwrap(), &data)
            .unwrap()
            .with_brs(true);
        assert_eq!(f.to_embedded::<Classic>(), None);
        let e: TestFrame = f.to_embedded().unwrap();
        let back = Frame::from_embedded(&e).unwrap();
        assert!(back.is_fd());
        assert!(!back.is_brs(), "BRS cannot travel through embedded_can");
        assert_eq!(back.data(), &data[..]);
    }

    #[test]
    fn remote_frames_and_invalid_lengths_are_refused() {
        let id = Id::Standard(StandardId::new(0x123).unwrap());
        let remote = <TestFrame as embedded_can::Frame>::new_remote(id, 3).unwrap();
        assert_eq!(Frame::from_embedded(&remote), None);
        let odd = <TestFrame as embedded_can::Frame>::new(id, &[0; 10]).unwrap();
        assert_eq!(
            Frame::from_embedded(&odd),
            None,
            "10 bytes is no CAN FD length"
        );
    }
}
