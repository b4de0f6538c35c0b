//! Which links a received frame concerns, and which link's deadline comes next.
//!
//! Kept as one small piece with no knowledge of endpoints, so it can be replaced by a shared sans-IO
//! router without touching the rest of the driver.

use std::collections::{BTreeSet, HashMap};

use isotp_core::{CanId, Instant};
use smallvec::SmallVec;

/// Link indices by receive id, plus deadline-ordered timers.
#[derive(Default)]
pub(crate) struct Routes {
    by_id: HashMap<CanId, SmallVec<[usize; 2]>>,
    /// Links whose receive ids cannot be indexed (fixed modes, listen mode): offered every frame.
    fallback: Vec<usize>,
    timers: BTreeSet<(Instant, usize)>,
    scheduled: HashMap<usize, Instant>,
}

impl Routes {
    /// Routes frames with `ids` to `link`; `None` offers it every frame.
    pub(crate) fn insert(&mut self, link: usize, ids: Option<(CanId, Option<CanId>)>) {
        match ids {
            Some((physical, functional)) => {
                for id in std::iter::once(physical).chain(functional) {
                    self.by_id.entry(id).or_default().push(link);
                }
            }
            None => self.fallback.push(link),
        }
    }

    /// Forgets `link`'s ids and timer.
    pub(crate) fn remove(&mut self, link: usize) {
        for v in self.by_id.values_mut() {
            v.retain(|i| *i != link);
        }
        self.by_id.retain(|_, v| !v.is_empty());
        self.fallback.retain(|&i| i != link);
        self.schedule(link, None);
    }

    /// Every id some link listens to; `None` when a link takes every frame.
    pub(crate) fn ids(&self) -> Option<Vec<CanId>> {
        if !self.fallback.is_empty() {
            return None;
        }
        let mut ids: Vec<CanId> = self.by_id.keys().copied().collect();
        ids.sort_by_key(|id| (id.is_extended(), id.raw()));
        Some(ids)
    }

    /// The links a frame with `id` concerns.
    pub(crate) fn targets(&self, id: CanId) -> SmallVec<[usize; 4]> {
        let mut out = SmallVec::new();
        if let Some(v) = self.by_id.get(&id) {
            out.extend_from_slice(v);
        }
        out.extend_from_slice(&self.fallback);
        out
    }

    /// Sets (or clears) `link`'s next deadline.
    pub(crate) fn schedule(&mut self, link: usize, at: Option<Instant>) {
        let old = match at {
            Some(t) => self.scheduled.insert(link, t),
            None => self.scheduled.remove(&link),
        };
        if old == at {
            return;
        }
        if let Some(old) = old {
            self.timers.remove(&(old, link));
        }
        if let Some(t) = at {
            self.timers.insert((t, link));
        }
    }

    /// The earliest deadline of any link.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.timers.first().map(|&(t, _)| t)
    }

    /// A link whose deadline is at or before `now`, unscheduled.
    pub(crate) fn pop_due(&mut self, now: Instant) -> Option<usize> {
        let &(t, link) = self.timers.first()?;
        if t > now {
            return None;
        }
        self.timers.pop_first();
        self.scheduled.remove(&link);
        Some(link)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_go_to_indexed_links_and_fallbacks_and_timers_pop_in_order() {
        let mut r = Routes::default();
        let a = CanId::standard(0x7E8).unwrap();
        let f = CanId::standard(0x7DF).unwrap();
        r.insert(0, Some((a, Some(f))));
        r.insert(1, None);
        assert_eq!(r.targets(a).as_slice(), &[0, 1]);
        assert_eq!(r.targets(CanId::standard(0x100).unwrap()).as_slice(), &[1]);
        r.schedule(0, Some(Instant::from_micros(50)));
        r.schedule(1, Some(Instant::from_micros(20)));
        r.schedule(0, Some(Instant::from_micros(10)));
        assert_eq!(r.next_deadline(), Some(Instant::from_micros(10)));
        assert_eq!(r.pop_due(Instant::from_micros(5)), None);
        assert_eq!(r.pop_due(Instant::from_micros(30)), Some(0));
        assert_eq!(r.pop_due(Instant::from_micros(30)), Some(1));
        assert_eq!(r.pop_due(Instant::from_micros(100)), None);
        r.remove(0);
        assert_eq!(r.targets(a).as_slice(), &[1]);
    }
}
