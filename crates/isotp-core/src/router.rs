//! Routing received frames to many links, and keeping their timers in deadline order.

use alloc::collections::{BTreeMap, BTreeSet};
use alloc::vec::Vec;
use core::{fmt, slice};

use crate::{Address, CanId, Config, Endpoint, Instant};

/// A link's handle in a [`Router`].
///
/// A handle outlives its link: once the link is removed, the handle refers to nothing, even after
/// its slot is reused for another link.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LinkKey {
    slot: u32,
    generation: u32,
}

impl LinkKey {
    /// A small number, unique among the links present at the same time (slots are reused): for
    /// indexing a driver's own per-link tables.
    #[must_use]
    pub fn index(self) -> usize {
        self.slot as usize
    }
}

impl fmt::Debug for LinkKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LinkKey({}#{})", self.slot, self.generation)
    }
}

/// Which received frames a link is offered.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Route {
    /// Frames with one of these CAN ids (none: a transmit-only link that receives nothing).
    Ids(Vec<CanId>),
    /// Every frame; the link filters them itself.
    Every,
}

impl Route {
    /// The frames a link with `address` and `config` needs: its receive ids and, in listen mode
    /// ([`Config::listen_mode`]), the ids of the other direction too (the endpoint reassembles both). [`Route::Every`] when one of them
    /// follows a pattern rather than exact ids (fixed addressing modes).
    ///
    /// ```
    /// use isotp_core::{Address, CanId, Config, Route};
    /// let address = Address::normal_11(0x7E0, 0x7E8)?;
    /// let ids = |raw: &[u32]| Route::Ids(raw.iter().map(|&r| CanId::standard(r).unwrap()).collect());
    /// let config = Config::default();
    /// assert_eq!(Route::of(&address, &config), ids(&[0x7E8]));
    /// let mut listen = config;
    /// listen.listen_mode = true;
    /// assert_eq!(Route::of(&address, &listen), ids(&[0x7E8, 0x7E0]));
    /// assert_eq!(Route::of(&Address::normal_fixed_29(0xF1, 0x10)?, &config), Route::Every);
    /// # Ok::<(), isotp_core::AddressError>(())
    /// ```
    #[must_use]
    pub fn of(address: &Address, config: &Config) -> Route {
        let mut ids = Vec::new();
        let mut add = |a: &Address| -> bool {
            if !a.can_receive() {
                return true;
            }
            match a.rx_ids() {
                Some((physical, functional)) => {
                    for id in core::iter::once(physical).chain(functional) {
                        if !ids.contains(&id) {
                            ids.push(id);
                        }
                    }
                    true
                }
                None => false,
            }
        };
        if !add(address) {
            return Route::Every;
        }
        if config.listen_mode {
            // The endpoint reassembles the other direction with the mirrored address.
            if let Ok(mirror) = address.mirrored() {
                if !add(&mirror) {
                    return Route::Every;
                }
            }
        }
        Route::Ids(ids)
    }

    /// The route of an endpoint, from its address and configuration.
    #[must_use]
    pub fn for_endpoint(endpoint: &Endpoint) -> Route {
        Route::of(endpoint.address(), endpoint.config())
    }
}

struct Slot<L> {
    generation: u32,
    entry: Option<Entry<L>>,
}

struct Entry<L> {
    link: L,
    route: Route,
    deadline: Option<Instant>,
}

/// Links of type `L`, indexed by the CAN ids they receive, with one timer each.
///
/// A driver with many links on one bus (a tester talking to every ECU, a gateway, a monitor following
/// every conversation) must answer two questions for each frame and each wake-up: which links does
/// this frame concern, and which link's timer is due next. A [`Router`] answers both without I/O and
/// without a clock, for any link type: an [`Endpoint`], or a driver's own structure around one.
///
/// Links whose receive ids are exact are indexed by CAN id, so a frame costs a lookup, not a scan.
/// Links whose acceptance cannot be reduced to a few ids (the fixed addressing modes, whose ids carry
/// the addresses and any priority) are offered every frame and decide with [`Address::accepts`].
///
/// ```
/// use isotp_core::{Route, Router};
/// use isotp_core::{Address, Config, Endpoint, Frame, CanId, Instant};
///
/// let mut router = Router::new();
/// for i in 0..4u32 {
///     let ep = Endpoint::new(Address::normal_11(0x700 + i, 0x708 + i)?, Config::default())?;
///     let route = Route::for_endpoint(&ep);
///     router.insert(ep, route);
/// }
/// // A first frame for the third link: only it is offered the frame.
/// let now = Instant::ZERO;
/// let frame = Frame::new(CanId::standard(0x70A)?, &[0x10, 0x20, 1, 2, 3, 4, 5, 6])?;
/// let targets: Vec<_> = router.targets(frame.id()).collect();
/// assert_eq!(targets.len(), 1);
/// for key in targets {
///     let ep = router.get_mut(key).unwrap();
///     ep.handle_frame(&frame, now);
///     while let Some(_flow_control) = ep.poll_transmit(now) { /* put it on the bus */ }
///     let deadline = ep.poll_timeout();
///     router.set_deadline(key, deadline);
/// }
/// // The link now waits for consecutive frames: its N_Cr deadline is the router's next one.
/// let due = router.next_deadline().unwrap();
/// while let Some(key) = router.pop_due(due) {
///     let ep = router.get_mut(key).unwrap();
///     ep.handle_timeout(due);
///     let deadline = ep.poll_timeout();
///     router.set_deadline(key, deadline);
/// }
/// assert_eq!(router.next_deadline(), None);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// The router never calls the links: a driver asks it which links a frame concerns
/// ([`targets`](Router::targets)) and which timers are due ([`pop_due`](Router::pop_due)), calls the
/// links itself, then tells the router each link's next deadline ([`set_deadline`](Router::set_deadline)).
pub struct Router<L> {
    slots: Vec<Slot<L>>,
    free: Vec<u32>,
    by_id: BTreeMap<CanId, Vec<LinkKey>>,
    every: Vec<LinkKey>,
    timers: BTreeSet<(Instant, LinkKey)>,
    len: usize,
}

impl<L> Default for Router<L> {
    fn default() -> Self {
        Router::new()
    }
}

impl<L> fmt::Debug for Router<L> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Router")
            .field("links", &self.len)
            .field("indexed_ids", &self.by_id.len())
            .field("every", &self.every.len())
            .field("timers", &self.timers.len())
            .finish()
    }
}

impl<L> Router<L> {
    /// An empty router.
    #[must_use]
    pub const fn new() -> Router<L> {
        Router {
            slots: Vec::new(),
            free: Vec::new(),
            by_id: BTreeMap::new(),
            every: Vec::new(),
            timers: BTreeSet::new(),
            len: 0,
        }
    }

    /// Adds a link offered the frames of `route`; it has no deadline yet.
    ///
    /// # Panics
    ///
    /// When 2^32 links are present at once (memory runs out long before).
    pub fn insert(&mut self, link: L, route: Route) -> LinkKey {
        let entry = Entry {
            link,
            route,
            deadline: None,
        };
        let key = match self.free.pop() {
            Some(slot) => {
                let s = &mut self.slots[slot as usize];
                s.entry = Some(entry);
                LinkKey {
                    slot,
                    generation: s.generation,
                }
            }
            None => {
                let slot = u32::try_from(self.slots.len()).expect("fewer than 2^32 links");
                self.slots.push(Slot {
                    generation: 0,
                    entry: Some(entry),
                });
                LinkKey {
                    slot,
                    generation: 0,
                }
            }
        };
        self.len += 1;
        self.index(key);
        key
    }

    /// Removes a link, its index entries and its timer; `None` if `key` is stale.
    pub fn remove(&mut self, key: LinkKey) -> Option<L> {
        self.entry(key)?;
        self.unindex(key);
        let slot = &mut self.slots[key.slot as usize];
        let entry = slot.entry.take()?;
        // Stale handles to this slot must not find its next link.
        slot.generation = slot.generation.wrapping_add(1);
        if let Some(t) = entry.deadline {
            self.timers.remove(&(t, key));
        }
        self.free.push(key.slot);
        self.len -= 1;
        Some(entry.link)
    }

    /// The link of `key`, if it is still present.
    #[must_use]
    pub fn get(&self, key: LinkKey) -> Option<&L> {
        self.entry(key).map(|e| &e.link)
    }

    /// The link of `key`, mutably, if it is still present.
    pub fn get_mut(&mut self, key: LinkKey) -> Option<&mut L> {
        self.entry_mut(key).map(|e| &mut e.link)
    }

    /// How many links there are.
    #[must_use]
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when there is no link.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Every link with its key, in slot order.
    pub fn iter(&self) -> impl Iterator<Item = (LinkKey, &L)> + '_ {
        // `insert` keeps the slot numbers within `u32`.
        self.slots.iter().zip(0u32..).filter_map(|(s, slot)| {
            let e = s.entry.as_ref()?;
            Some((
                LinkKey {
                    slot,
                    generation: s.generation,
                },
                &e.link,
            ))
        })
    }

    /// Every link with its key, mutably, in slot order.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = (LinkKey, &mut L)> + '_ {
        self.slots.iter_mut().zip(0u32..).filter_map(|(s, slot)| {
            let generation = s.generation;
            let e = s.entry.as_mut()?;
            Some((LinkKey { slot, generation }, &mut e.link))
        })
    }

    /// The frames link `key` is offered.
    #[must_use]
    pub fn route(&self, key: LinkKey) -> Option<&Route> {
        self.entry(key).map(|e| &e.route)
    }

    /// Changes the frames link `key` is offered (after its address changed); false if `key` is stale.
    pub fn set_route(&mut self, key: LinkKey, route: Route) -> bool {
        if self.entry(key).is_none() {
            return false;
        }
        self.unindex(key);
        if let Some(e) = self.entry_mut(key) {
            e.route = route;
        }
        self.index(key);
        true
    }

    /// The links a frame with CAN id `id` concerns: those indexed by `id`, then those offered every
    /// frame, each in the order they were routed. Collect them before calling the links mutably.
    pub fn targets(&self, id: CanId) -> Targets<'_> {
        let indexed = self.by_id.get(&id).map_or(&[][..], Vec::as_slice);
        Targets {
            inner: indexed.iter().chain(self.every.iter()),
        }
    }

    /// Sets (or with `None` clears) the one deadline of link `key`, replacing the previous one;
    /// false if `key` is stale.
    pub fn set_deadline(&mut self, key: LinkKey, deadline: Option<Instant>) -> bool {
        let Some(e) = self.entry_mut(key) else {
            return false;
        };
        let old = core::mem::replace(&mut e.deadline, deadline);
        if old != deadline {
            if let Some(t) = old {
                self.timers.remove(&(t, key));
            }
            if let Some(t) = deadline {
                self.timers.insert((t, key));
            }
        }
        true
    }

    /// The deadline of link `key`, if it has one.
    #[must_use]
    pub fn deadline(&self, key: LinkKey) -> Option<Instant> {
        self.entry(key)?.deadline
    }

    /// The earliest deadline of all links: when the driver must wake up next.
    #[must_use]
    pub fn next_deadline(&self) -> Option<Instant> {
        self.timers.first().map(|&(t, _)| t)
    }

    /// The link whose deadline is the earliest one at or before `now`, its deadline cleared; `None`
    /// when no deadline is due. Call until `None`, setting each link's next deadline on the way.
    /// Links due at the same instant come in key order.
    pub fn pop_due(&mut self, now: Instant) -> Option<LinkKey> {
        let &(t, key) = self.timers.first()?;
        if t > now {
            return None;
        }
        self.timers.pop_first();
        if let Some(e) = self.entry_mut(key) {
            e.deadline = None;
        }
        Some(key)
    }

    fn entry(&self, key: LinkKey) -> Option<&Entry<L>> {
        let slot = self.slots.get(key.slot as usize)?;
        if slot.generation != key.generation {
            return None;
        }
        slot.entry.as_ref()
    }

    fn entry_mut(&mut self, key: LinkKey) -> Option<&mut Entry<L>> {
        let slot = self.slots.get_mut(key.slot as usize)?;
        if slot.generation != key.generation {
            return None;
        }
        slot.entry.as_mut()
    }

    /// The route of a present link; borrows only `slots`, so the indexes can change meanwhile.
    fn route_in(slots: &[Slot<L>], key: LinkKey) -> Option<&Route> {
        let slot = slots.get(key.slot as usize)?;
        if slot.generation != key.generation {
            return None;
        }
        slot.entry.as_ref().map(|e| &e.route)
    }

    fn index(&mut self, key: LinkKey) {
        match Self::route_in(&self.slots, key) {
            Some(Route::Ids(ids)) => {
                for &id in ids {
                    self.by_id.entry(id).or_default().push(key);
                }
            }
            Some(Route::Every) => self.every.push(key),
            None => {}
        }
    }

    fn unindex(&mut self, key: LinkKey) {
        match Self::route_in(&self.slots, key) {
            Some(Route::Ids(ids)) => {
                for id in ids {
                    if let Some(v) = self.by_id.get_mut(id) {
                        v.retain(|&k| k != key);
                        if v.is_empty() {
                            self.by_id.remove(id);
                        }
                    }
                }
            }
            Some(Route::Every) => self.every.retain(|&k| k != key),
            None => {}
        }
    }
}

/// The links a frame concerns: see [`Router::targets`].
#[derive(Clone, Debug)]
pub struct Targets<'a> {
    inner: core::iter::Chain<slice::Iter<'a, LinkKey>, slice::Iter<'a, LinkKey>>,
}

impl Iterator for Targets<'_> {
    type Item = LinkKey;

    fn next(&mut self) -> Option<LinkKey> {
        self.inner.next().copied()
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.inner.size_hint()
    }
}

impl ExactSizeIterator for Targets<'_> {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Duration, Frame, TargetAddressType};
    use alloc::vec;

    fn id(raw: u32) -> CanId {
        CanId::standard(raw).unwrap()
    }

    fn ids(raw: &[u32]) -> Route {
        Route::Ids(raw.iter().map(|&r| id(r)).collect())
    }

    fn at(ms: u64) -> Instant {
        Instant::ZERO + Duration::from_millis(ms)
    }

    fn targets<L>(r: &Router<L>, raw: u32) -> Vec<LinkKey> {
        r.targets(id(raw)).collect()
    }

    #[test]
    fn a_frame_goes_to_the_links_of_its_id_then_to_those_taking_every_frame() {
        let mut r = Router::new();
        let a = r.insert("a", ids(&[0x7E8, 0x7DF]));
        let b = r.insert("b", ids(&[0x7E9, 0x7DF]));
        let any = r.insert("any", Route::Every);
        assert_eq!(targets(&r, 0x7E8), vec![a, any]);
        assert_eq!(targets(&r, 0x7E9), vec![b, any]);
        assert_eq!(targets(&r, 0x7DF), vec![a, b, any]);
        assert_eq!(targets(&r, 0x123), vec![any]);
        assert_eq!(r.targets(id(0x7DF)).len(), 3);
        assert_eq!(r.len(), 3);
    }

    #[test]
    fn routes_follow_the_address() {
        let plain = Config::default();
        let listen = Config {
            listen_mode: true,
            ..plain
        };
        let normal = Address::normal_11(0x7E0, 0x7E8).unwrap();
        assert_eq!(Route::of(&normal, &plain), ids(&[0x7E8]));
        assert_eq!(Route::of(&normal, &listen), ids(&[0x7E8, 0x7E0]));
        let functional = Address::builder(crate::AddressingMode::Normal11)
            .txid(0x7E8)
            .rxid(0x7E0)
            .functional_rxid(0x7DF)
            .build()
            .unwrap();
        assert_eq!(Route::of(&functional, &plain), ids(&[0x7E0, 0x7DF]));
        let tx_only = Address::builder(crate::AddressingMode::Normal11)
            .txid(0x7E0)
            .tx_only()
            .build()
            .unwrap();
        assert_eq!(Route::of(&tx_only, &plain), Route::Ids(vec![]));
        let fixed = Address::normal_fixed_29(0xF1, 0x10).unwrap();
        assert_eq!(Route::of(&fixed, &plain), Route::Every);
        assert_eq!(Route::of(&fixed, &listen), Route::Every);
        let extended = Address::extended_11(0x6F1, 0x610, 0x10, 0xF1).unwrap();
        assert_eq!(Route::of(&extended, &plain), ids(&[0x610]));
    }

    #[test]
    fn a_route_reaches_every_frame_the_endpoint_accepts() {
        // Listen mode: the endpoint reassembles frames of both ids, so both must reach it.
        let config = Config {
            listen_mode: true,
            ..Config::default()
        };
        let ep = Endpoint::new(Address::normal_11(0x7E0, 0x7E8).unwrap(), config).unwrap();
        let mut r = Router::new();
        let route = Route::for_endpoint(&ep);
        let key = r.insert(ep, route);
        let frame = Frame::new(id(0x7E0), &[0x02, 0x3E, 0x00]).unwrap();
        assert_eq!(targets(&r, 0x7E0), vec![key]);
        let ep = r.get_mut(key).unwrap();
        ep.handle_frame(&frame, at(0));
        assert_eq!(
            ep.poll_event(),
            Some(crate::Event::Observed {
                payload: vec![0x3E, 0x00],
                target_address_type: TargetAddressType::Physical
            })
        );
    }

    #[test]
    fn removal_unindexes_and_stale_keys_find_nothing() {
        let mut r = Router::new();
        let a = r.insert(1, ids(&[0x100]));
        let b = r.insert(2, Route::Every);
        r.set_deadline(a, Some(at(5)));
        assert_eq!(r.remove(a), Some(1));
        assert_eq!(r.remove(a), None);
        assert_eq!(targets(&r, 0x100), vec![b]);
        assert_eq!(r.next_deadline(), None);
        // The slot is reused; the old key still finds nothing.
        let c = r.insert(3, ids(&[0x100]));
        assert_eq!(c.index(), a.index());
        assert_ne!(c, a);
        assert_eq!(r.get(a), None);
        assert!(!r.set_deadline(a, Some(at(1))));
        assert!(!r.set_route(a, Route::Every));
        assert_eq!(r.get(c), Some(&3));
        assert_eq!(targets(&r, 0x100), vec![c, b]);
        assert_eq!(r.remove(b), Some(2));
        assert_eq!(targets(&r, 0x100), vec![c]);
        assert_eq!(r.len(), 1);
        assert_eq!(
            r.iter().map(|(k, &v)| (k, v)).collect::<Vec<_>>(),
            vec![(c, 3)]
        );
    }

    #[test]
    fn a_new_route_replaces_the_old_one() {
        let mut r = Router::new();
        let a = r.insert((), ids(&[0x100]));
        assert!(r.set_route(a, ids(&[0x200])));
        assert_eq!(targets(&r, 0x100), vec![]);
        assert_eq!(targets(&r, 0x200), vec![a]);
        assert!(r.set_route(a, Route::Every));
        assert_eq!(targets(&r, 0x200), vec![a]);
        assert_eq!(targets(&r, 0x300), vec![a]);
        assert!(r.set_route(a, ids(&[])));
        assert_eq!(targets(&r, 0x300), vec![]);
        assert_eq!(r.route(a), Some(&ids(&[])));
    }

    #[test]
    fn timers_come_due_in_deadline_order() {
        let mut r = Router::new();
        let a = r.insert('a', Route::Every);
        let b = r.insert('b', Route::Every);
        let c = r.insert('c', Route::Every);
        r.set_deadline(a, Some(at(30)));
        r.set_deadline(b, Some(at(10)));
        r.set_deadline(c, Some(at(10)));
        assert_eq!(r.next_deadline(), Some(at(10)));
        assert_eq!(r.pop_due(at(9)), None);
        // Equal deadlines: key order.
        assert_eq!(r.pop_due(at(10)), Some(b));
        assert_eq!(r.deadline(b), None);
        assert_eq!(r.pop_due(at(10)), Some(c));
        assert_eq!(r.pop_due(at(10)), None);
        assert_eq!(r.next_deadline(), Some(at(30)));
        // A new deadline replaces the old one.
        r.set_deadline(a, Some(at(20)));
        assert_eq!(r.deadline(a), Some(at(20)));
        assert_eq!(r.pop_due(at(25)), Some(a));
        assert_eq!(r.pop_due(at(1000)), None);
        r.set_deadline(b, Some(at(40)));
        r.set_deadline(b, None);
        assert_eq!(r.next_deadline(), None);
    }

    #[test]
    fn many_links_route_in_constant_lookups() {
        let mut r = Router::new();
        let keys: Vec<_> = (0..500u32)
            .map(|i| r.insert(i, ids(&[0x100 + i])))
            .collect();
        for (i, &k) in keys.iter().enumerate() {
            assert_eq!(targets(&r, 0x100 + i as u32), vec![k]);
            assert_eq!(r.get(k), Some(&(i as u32)));
        }
        for (i, &k) in keys.iter().enumerate() {
            r.set_deadline(k, Some(at(1000 - i as u64)));
        }
        let order: Vec<_> = core::iter::from_fn(|| r.pop_due(at(1000))).collect();
        let mut expected = keys.clone();
        expected.reverse();
        assert_eq!(order, expected);
    }
}
