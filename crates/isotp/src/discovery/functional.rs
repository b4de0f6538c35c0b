//! One functional request, every answer: a tester asks all ECUs at once (OBD-II's 0x7DF, UDS's
//! 0x18DB33F1) and collects each responder's message, sending the flow control each segmented answer
//! needs on that responder's own physical id.

use std::collections::BTreeMap;
use std::time::{Duration, Instant as StdInstant};

use isotp_core::{
    Address, AddressError, AddressingMode, CanId, Config, ConfigError, Endpoint, Event, Frame,
    IdPair, LinkKey, ProtocolError, SendError, TargetAddressType,
};

use crate::bus::BusError;
use crate::discovery::IdRange;
use crate::stack::{Feed, Tapped};
use crate::Node;

/// How long to wait for answers by default: ISO 15765-4's P2 for OBD-II (50 ms) is too short for many
/// UDS ECUs, so the default is the UDS P2 server maximum plus margin.
pub const DEFAULT_WINDOW: Duration = Duration::from_millis(200);

/// How long to wait after a UDS "response pending" answer (`7F SID 78`) by default: ISO 14229-2's
/// P2*server maximum.
pub const DEFAULT_PENDING_WINDOW: Duration = Duration::from_secs(5);

/// How long a functional request waits at most by default, whatever its responders do: each first
/// frame and each "response pending" extends the wait, and a responder that keeps restarting its
/// answer or keeps saying it is pending must not extend it forever.
pub const DEFAULT_OVERALL_LIMIT: Duration = Duration::from_secs(30);

/// A functional request and who may answer it.
///
/// ```
/// use std::time::Duration;
/// use isotp::bus::VirtualBus;
/// use isotp::discovery::FunctionalRequest;
/// use isotp::{Address, Config, Node, Stack};
///
/// let bus = VirtualBus::new();
/// // An engine ECU on 7E0/7E8 that also listens to the OBD-II functional id 7DF.
/// let ecu_address = Address::builder(isotp::AddressingMode::Normal11)
///     .txid(0x7E8).rxid(0x7E0).functional_rxid(0x7DF).build()?;
/// let ecu = Stack::new(bus.attach(), ecu_address, Config::default())?;
/// let tester = Node::new(bus.attach());
/// let request = FunctionalRequest::obd().with_window(Duration::from_millis(300));
/// std::thread::scope(|s| -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
///     s.spawn(|| {
///         if let Ok(Some(_)) = ecu.recv(Some(Duration::from_secs(5))) {
///             let _ = ecu.send(&[0x49, 0x02, 0x01, b'W', b'V', b'W', b'Z', b'Z', b'Z']);
///         }
///     });
///     let answers = request.run(&tester, &[0x09, 0x02])?;
///     assert!(answers.cut_off.is_none());
///     let responses = &answers.responses;
///     assert_eq!(responses.len(), 1);
///     assert_eq!(responses[0].response_id.raw(), 0x7E8);
///     assert_eq!(responses[0].outcome.as_deref().unwrap()[..2], [0x49, 0x02]);
///     Ok(())
/// }).map_err(|e| e.to_string())?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct FunctionalRequest {
    request: Address,
    responders: Responders,
    config: Config,
    window: Duration,
    pending_window: Duration,
    overall_limit: Duration,
}

/// Who answers a functional request, and how the tester reaches each responder physically.
#[derive(Clone, Debug)]
enum Responders {
    /// Known responders; each address is the tester's physical link to one of them. Found by the
    /// response id when it is exact (several with address bytes may share one), else by trying
    /// each (fixed addressing modes, whose ids follow a pattern).
    Listed {
        by_id: BTreeMap<CanId, Vec<Address>>,
        patterned: Vec<Address>,
    },
    /// Normal fixed addressing: any source address answering `tester`.
    NormalFixed29 { tester: u8 },
}

/// One responder's answer to a functional request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response {
    /// The tester's physical link to the responder (transmits on the responder's request id, receives
    /// on its response id): give it to [`Node::add`] (the request's node) or a [`crate::Stack`] to
    /// go on talking to that ECU alone.
    pub address: Address,
    /// The CAN id the responder answered on.
    pub response_id: CanId,
    /// The message, or why its reception failed.
    pub outcome: Result<Vec<u8>, ProtocolError>,
    /// When its reception ended, after the request went out.
    pub after: Duration,
}

/// Every answer to a functional request, and whether the overall limit cut the wait short.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answers {
    /// The answers in the order they completed (failed receptions included, with their error).
    pub responses: Vec<Response>,
    /// Set when the overall limit ended the wait while answers were still due.
    pub cut_off: Option<CutOff>,
}

impl IntoIterator for Answers {
    type Item = Response;
    type IntoIter = std::vec::IntoIter<Response>;

    /// The responses (check [`Answers::cut_off`] first to know whether every responder was done).
    fn into_iter(self) -> Self::IntoIter {
        self.responses.into_iter()
    }
}

/// The overall limit of a functional request ended the wait before every responder was done.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CutOff {
    /// The limit (see [`FunctionalRequest::with_overall_limit`]).
    pub limit: Duration,
    /// Response ids whose answer was still arriving, or whose last answer said "response pending".
    pub unfinished: Vec<CanId>,
}

impl std::fmt::Display for CutOff {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids: Vec<String> = self.unfinished.iter().map(|id| id.to_string()).collect();
        write!(
            f,
            "the overall limit of {:?} ended the wait while {} still answering (a responder that keeps restarting its answer or keeps sending \"response pending\")",
            self.limit,
            if ids.is_empty() {
                "responders were".to_string()
            } else {
                format!("{} {}", ids.join(", "), if ids.len() == 1 { "was" } else { "were" })
            }
        )
    }
}

impl Response {
    /// The CAN id the tester's flow controls (and physical requests) to this responder go on.
    #[must_use]
    pub fn request_id(&self) -> Option<CanId> {
        self.address.tx_id(TargetAddressType::Physical)
    }
}

/// Why a functional request could not be made (a responder's failure is in its [`Response`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FunctionalError {
    /// An address could not be built.
    #[error("{0}")]
    Address(#[from] AddressError),
    /// The configuration is not valid.
    #[error("{0}")]
    Config(#[from] ConfigError),
    /// The request cannot be sent (for example longer than a single frame).
    #[error("the functional request cannot be sent: {0}")]
    Send(#[from] SendError),
    /// The bus failed.
    #[error("{0}")]
    Bus(#[from] BusError),
    /// The functional id has no usual responders (neither 7DF nor 18DBxxxx): name the response ids.
    #[error("{0} is neither the OBD-II functional id 7DF nor a normal fixed 18DBxxxx id: give the response ids")]
    NoPreset(CanId),
    /// No physical id is known for a response id (see [`FunctionalRequest::with_response_ids`]).
    #[error("no flow control id is known for responses on {0}: 11-bit ids pair with the id 8 below (7E8 with 7E0), 29-bit ids of normal fixed addressing (18DA....) with target and source swapped")]
    NoPairing(CanId),
}

impl FunctionalRequest {
    /// OBD-II on 11-bit ids (ISO 15765-4): the request on 0x7DF, answers on 0x7E8..=0x7EF, each
    /// responder's flow control on the id 8 below (0x7E0..=0x7E7).
    #[must_use]
    pub fn obd() -> FunctionalRequest {
        let id = |raw| CanId::standard(raw).expect("an 11-bit id");
        let range = IdRange::new(id(0x7E8), id(0x7EF)).expect("7E8-7EF is a range");
        FunctionalRequest::with_response_ids(id(0x7DF), range).expect("the OBD-II ids pair")
    }

    /// Normal fixed addressing on 29-bit ids: the request on `0x18DB_TA_SA` (TA `functional_target`,
    /// SA `tester`), answers from any ECU on `0x18DA_tester_XX`, flow control on `0x18DA_XX_tester`.
    /// OBD-II on 29-bit ids is `normal_fixed_29(0x33, 0xF1)` (0x18DB33F1 → 0x18DAF1xx).
    ///
    /// # Errors
    ///
    /// [`FunctionalError::Address`] when the address builder refuses the request address.
    pub fn normal_fixed_29(
        functional_target: u8,
        tester: u8,
    ) -> Result<FunctionalRequest, FunctionalError> {
        let request = Address::builder(AddressingMode::NormalFixed29)
            .target_address(functional_target)
            .source_address(tester)
            .tx_only()
            .build()?;
        Ok(FunctionalRequest::new(
            request,
            Responders::NormalFixed29 { tester },
        ))
    }

    /// The usual responders of a functional id: 0x7DF is OBD-II ([`FunctionalRequest::obd`]), a
    /// 29-bit `0x18DB_TA_SA` is normal fixed addressing
    /// ([`FunctionalRequest::normal_fixed_29`]`(TA, SA)`); for any other id the response ids must
    /// be given ([`FunctionalRequest::with_response_ids`]).
    ///
    /// ```
    /// use isotp::discovery::FunctionalRequest;
    /// use isotp::{CanId, TargetAddressType};
    /// let r = FunctionalRequest::for_functional_id("18DB33F1".parse()?)?;
    /// let id = r.request_address().tx_id(TargetAddressType::Functional).unwrap();
    /// assert_eq!(id.raw(), 0x18DB_33F1);
    /// assert!(FunctionalRequest::for_functional_id("7FF".parse()?).is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`FunctionalError::NoPreset`] for an id that is neither 7DF nor a 29-bit 18DBxxxx id.
    pub fn for_functional_id(id: CanId) -> Result<FunctionalRequest, FunctionalError> {
        let raw = id.raw();
        match (id.is_extended(), raw) {
            (false, 0x7DF) => Ok(FunctionalRequest::obd()),
            (true, _) if raw >> 16 == 0x18DB => {
                let [.., target, source] = raw.to_be_bytes();
                FunctionalRequest::normal_fixed_29(target, source)
            }
            _ => Err(FunctionalError::NoPreset(id)),
        }
    }

    /// The request on `request_id` (normal addressing), answers on the ids of `responses`, each
    /// responder's flow control on the id paired with its response id: 11-bit ids pair with the id 8
    /// below (the OBD-II rule: 7E8 with 7E0), 29-bit normal fixed ids with target and source swapped
    /// (18DAF110 with 18DA10F1). For any other pairing, use [`FunctionalRequest::with_responders`].
    ///
    /// # Errors
    ///
    /// [`FunctionalError::NoPairing`] for a response id without a usual flow control id,
    /// [`FunctionalError::Address`] when an address cannot be built from the ids.
    pub fn with_response_ids(
        request_id: CanId,
        responses: IdRange,
    ) -> Result<FunctionalRequest, FunctionalError> {
        let responders = responses
            .iter()
            .map(physical_link_for)
            .collect::<Result<Vec<_>, _>>()?;
        FunctionalRequest::with_responders(normal_tx_only(request_id)?, responders)
    }

    /// The request through `request` (sent with the functional target address type; any addressing
    /// mode), answers through `responders`: each is the tester's physical link to one responder
    /// (any addressing mode, for example extended addressing with the ECU's address byte).
    ///
    /// # Errors
    ///
    /// [`FunctionalError::Send`] ([`SendError::NoTransmitAddress`]) when `request` has no transmit
    /// side.
    pub fn with_responders(
        request: Address,
        responders: Vec<Address>,
    ) -> Result<FunctionalRequest, FunctionalError> {
        if !request.can_transmit() {
            return Err(SendError::NoTransmitAddress.into());
        }
        let mut by_id: BTreeMap<CanId, Vec<Address>> = BTreeMap::new();
        let mut patterned = Vec::new();
        for a in responders {
            match a.rx_ids() {
                Some((physical, _)) => by_id.entry(physical).or_default().push(a),
                None => patterned.push(a),
            }
        }
        Ok(FunctionalRequest::new(
            request,
            Responders::Listed { by_id, patterned },
        ))
    }

    fn new(request: Address, responders: Responders) -> FunctionalRequest {
        FunctionalRequest {
            request,
            responders,
            config: Config::default(),
            window: DEFAULT_WINDOW,
            pending_window: DEFAULT_PENDING_WINDOW,
            overall_limit: DEFAULT_OVERALL_LIMIT,
        }
    }

    /// How long to wait for answers after the request, and again after each first frame (as P2
    /// restarts); a reception in progress is followed to its end (or N_Cr) even past the window.
    #[must_use]
    pub fn with_window(mut self, window: Duration) -> FunctionalRequest {
        self.window = window;
        self
    }

    /// How long to wait for more after an answer that is a UDS negative response "request correctly
    /// received, response pending" (`7F SID 78`), as P2* extends P2: the final answer of that
    /// responder follows later. The pending answer itself is returned too.
    #[must_use]
    pub fn with_pending_window(mut self, window: Duration) -> FunctionalRequest {
        self.pending_window = window;
        self
    }

    /// The longest the whole request may take, from the request to the last answer (default
    /// [`DEFAULT_OVERALL_LIMIT`]): past it the wait ends even while answers are arriving or pending,
    /// and [`Answers::cut_off`] says which.
    #[must_use]
    pub fn with_overall_limit(mut self, limit: Duration) -> FunctionalRequest {
        self.overall_limit = limit;
        self
    }

    /// The ISO-TP configuration of the request and of every responder's link (BS and STmin of the
    /// flow controls sent, padding, CAN FD, N_Cr ...).
    #[must_use]
    pub fn with_config(mut self, config: Config) -> FunctionalRequest {
        self.config = config;
        self
    }

    /// The address the request goes out on.
    #[must_use]
    pub fn request_address(&self) -> &Address {
        &self.request
    }

    /// Sends `payload` as one functional single frame on `node`'s bus and returns every answer in
    /// the order they completed, frames of other traffic ignored. Blocks for the window (longer
    /// while an answer is still arriving or pending, never past the overall limit).
    ///
    /// The request runs on the node's driver: each responder's link is made on the node by its
    /// first frame (routed by CAN id, its timers run with the node's), and removed when the
    /// request ends. A frame that a link of the node accepts goes to that link, not to the
    /// request. The calling thread reads the bus while it waits, unless another thread of the
    /// node does.
    ///
    /// # Errors
    ///
    /// [`FunctionalError::Config`] for an invalid configuration, [`FunctionalError::Send`] for a
    /// payload that is empty or longer than a single frame, [`FunctionalError::Bus`] when the bus
    /// fails. A responder's failure is in its [`Response`].
    pub fn run(&self, node: &Node, payload: &[u8]) -> Result<Answers, FunctionalError> {
        let epoch = StdInstant::now();
        let mut request = Endpoint::new(self.request, self.config)?;
        request.send(payload, TargetAddressType::Functional)?;
        let responders = self.responders.clone();
        // Listening before the request goes out: the quickest answer is not missed.
        let tap = node.tap(Feed::Responders {
            find: Box::new(move |frame| responders.find(frame)),
            config: self.config,
        });
        while let Some(frame) = request.poll_transmit(isotp_core::Instant::ZERO) {
            tap.send(&frame)?;
        }
        let mut links: Vec<Link> = Vec::new();
        let mut answers = Vec::new();
        let mut deadline = self.window;
        loop {
            let elapsed = epoch.elapsed();
            let receiving = links.iter().any(|l| l.receiving);
            // What already came is taken before the wait is judged over.
            let wake = if elapsed >= self.overall_limit || (elapsed >= deadline && !receiving) {
                elapsed
            } else if receiving {
                // A reception in progress ends with an answer or at N_Cr; the window is looked
                // at again meanwhile.
                (elapsed + self.window).min(self.overall_limit)
            } else {
                deadline.min(self.overall_limit)
            };
            let Some(item) = tap.recv(epoch + wake)? else {
                if elapsed < wake {
                    continue;
                }
                if elapsed < deadline || receiving {
                    let unfinished = links
                        .iter()
                        .filter(|l| l.receiving || l.pending)
                        .map(|l| l.response_id)
                        .collect();
                    return Ok(Answers {
                        responses: answers,
                        cut_off: Some(CutOff {
                            limit: self.overall_limit,
                            unfinished,
                        }),
                    });
                }
                return Ok(Answers {
                    responses: answers,
                    cut_off: None,
                });
            };
            let Tapped::Event {
                link: key,
                address,
                response_id,
                event,
                at,
            } = item
            else {
                continue;
            };
            let i = match links.iter().position(|l| l.key == key) {
                Some(i) => i,
                None => {
                    links.push(Link {
                        key,
                        response_id,
                        receiving: false,
                        pending: false,
                    });
                    links.len() - 1
                }
            };
            let link = &mut links[i];
            let after = at.saturating_duration_since(epoch);
            let outcome = match event {
                Event::ReceptionStarted { .. } => {
                    link.receiving = true;
                    deadline = deadline.max(after + self.window);
                    continue;
                }
                Event::Received { payload, .. } => {
                    link.receiving = false;
                    link.pending = matches!(payload[..], [0x7F, _, 0x78]);
                    if link.pending {
                        deadline = deadline.max(after + self.pending_window);
                    }
                    Ok(payload)
                }
                Event::ReceiveFailed { error } => {
                    link.receiving = false;
                    link.pending = false;
                    Err(error)
                }
                _ => continue,
            };
            answers.push(Response {
                address,
                response_id,
                outcome,
                after,
            });
        }
    }
}

impl Responders {
    /// The tester's physical link to the sender of `frame`, if it is an answer to this request.
    fn find(&self, frame: &Frame) -> Option<Address> {
        let physical = |a: &Address| a.accepts(frame) == Some(TargetAddressType::Physical);
        match self {
            Responders::Listed { by_id, patterned } => by_id
                .get(&frame.id())
                .into_iter()
                .flatten()
                .chain(patterned)
                .copied()
                .find(physical),
            Responders::NormalFixed29 { tester } => {
                let source = u8::try_from(frame.id().raw() & 0xFF).ok()?;
                Address::normal_fixed_29(source, *tester)
                    .ok()
                    .filter(physical)
            }
        }
    }
}

/// What the request knows of one responder's link.
struct Link {
    key: LinkKey,
    response_id: CanId,
    /// A segmented answer is arriving.
    receiving: bool,
    /// Its last answer was "response pending" (`7F SID 78`): the final one is still due.
    pending: bool,
}

/// A transmit-only normal address on `id` (11- or 29-bit by the id).
fn normal_tx_only(id: CanId) -> Result<Address, AddressError> {
    let mode = if id.is_extended() {
        AddressingMode::Normal29
    } else {
        AddressingMode::Normal11
    };
    Address::builder(mode).txid(id.raw()).tx_only().build()
}

/// The tester's physical link to the responder answering on `response`, by the usual pairing.
fn physical_link_for(response: CanId) -> Result<Address, FunctionalError> {
    let pair = IdPair::from_response(response).ok_or(FunctionalError::NoPairing(response))?;
    Ok(pair.tester_address()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn obd_pairs_each_response_id_with_the_id_8_below() {
        let r = FunctionalRequest::obd();
        assert_eq!(
            r.request_address()
                .tx_id(TargetAddressType::Functional)
                .unwrap()
                .raw(),
            0x7DF
        );
        let Responders::Listed { by_id, patterned } = &r.responders else {
            panic!("listed")
        };
        assert!(patterned.is_empty());
        let list: Vec<&Address> = by_id.values().flatten().collect();
        let pairs: Vec<(u32, u32)> = list
            .iter()
            .map(|a| {
                (
                    a.tx_id(TargetAddressType::Physical).unwrap().raw(),
                    a.rx_ids().unwrap().0.raw(),
                )
            })
            .collect();
        assert_eq!(pairs.len(), 8);
        assert_eq!(pairs[0], (0x7E0, 0x7E8));
        assert_eq!(pairs[7], (0x7E7, 0x7EF));
    }

    #[test]
    fn fixed_29_bit_ids_pair_by_swapping_target_and_source() {
        let a = physical_link_for(CanId::extended(0x18DA_F110).unwrap()).unwrap();
        assert_eq!(
            a.tx_id(TargetAddressType::Physical).unwrap().raw(),
            0x18DA_10F1
        );
        let e = physical_link_for(CanId::extended(0x1234_5678).unwrap()).unwrap_err();
        assert!(e
            .to_string()
            .contains("no flow control id is known for responses on 12345678"));
        assert!(physical_link_for(CanId::standard(0x005).unwrap()).is_err());
    }

    #[test]
    fn the_29_bit_responder_is_found_from_the_id() {
        let r = FunctionalRequest::normal_fixed_29(0x33, 0xF1).unwrap();
        assert_eq!(
            r.request_address()
                .tx_id(TargetAddressType::Functional)
                .unwrap()
                .raw(),
            0x18DB_33F1
        );
        let answer = Frame::new(CanId::extended(0x18DA_F117).unwrap(), &[0x01, 0x7E]).unwrap();
        let a = r.responders.find(&answer).unwrap();
        assert_eq!(
            a.tx_id(TargetAddressType::Physical).unwrap().raw(),
            0x18DA_17F1
        );
        // Another tester's answers, and other traffic, are not ours.
        let other = Frame::new(CanId::extended(0x18DA_F217).unwrap(), &[0x01, 0x7E]).unwrap();
        assert!(r.responders.find(&other).is_none());
        let other = Frame::new(CanId::standard(0x7E8).unwrap(), &[0x01, 0x7E]).unwrap();
        assert!(r.responders.find(&other).is_none());
    }

    #[test]
    fn a_request_longer_than_a_single_frame_is_refused() {
        let bus = crate::bus::VirtualBus::new();
        let node = Node::new(bus.attach());
        let e = FunctionalRequest::obd().run(&node, &[0; 8]).unwrap_err();
        assert!(
            matches!(
                e,
                FunctionalError::Send(SendError::FunctionalTooLong { .. })
            ),
            "{e}"
        );
        assert_eq!(bus.frames_sent(), 0);
    }
}
