//! The simulator's priority queue of pending events, keyed by (virtual time,
//! sequence number).
//!
//! Every event gets the next sequence number when it is pushed, so the order
//! is total: the earliest time first, and among events at the same time the
//! one pushed first. Nothing else — in particular not where an event is
//! stored — can influence the order, which is what makes runs reproducible.
//!
//! The heap holds only small keys; the events themselves wait in a slab
//! beside it. A binary heap moves its elements up and down on every push and
//! pop, and a message delivery is a large value (the message, its metadata,
//! an optional vector clock): moving 24-byte keys instead is most of the
//! difference between this queue and a heap of whole events. Slots are reused
//! last-freed-first, so the slab stays as large as the most events ever
//! pending at once and the slots in use stay warm in the cache.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// Where an event sits in the order, and in which slab slot it waits.
///
/// The derived order compares `time`, then `seq`; sequence numbers are
/// unique, so `slot` never decides anything.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Key {
    time: u64,
    seq: u64,
    slot: usize,
}

/// A min-queue of events of type `E` by (time, push order).
#[derive(Debug)]
pub(crate) struct EventQueue<E> {
    heap: BinaryHeap<Reverse<Key>>,
    /// The pending events; `None` marks a free slot.
    slab: Vec<Option<E>>,
    /// Free slots of `slab`, the most recently freed last.
    free: Vec<usize>,
    next_seq: u64,
}

impl<E> EventQueue<E> {
    pub(crate) fn new() -> Self {
        EventQueue {
            heap: BinaryHeap::new(),
            slab: Vec::new(),
            free: Vec::new(),
            next_seq: 0,
        }
    }

    /// Events pending.
    pub(crate) fn len(&self) -> usize {
        self.heap.len()
    }

    /// Adds `event` at virtual time `time`, after every event already
    /// pending at that time.
    #[inline]
    pub(crate) fn push(&mut self, time: u64, event: E) {
        let seq = self.next_seq;
        self.next_seq += 1;
        let slot = match self.free.pop() {
            Some(slot) => {
                self.slab[slot] = Some(event);
                slot
            }
            None => {
                self.slab.push(Some(event));
                self.slab.len() - 1
            }
        };
        self.heap.push(Reverse(Key { time, seq, slot }));
    }

    /// The time of the next event, if any.
    #[inline]
    pub(crate) fn peek_time(&self) -> Option<u64> {
        self.heap.peek().map(|Reverse(key)| key.time)
    }

    /// Every pending event as (slot, time), in the queue's order.
    pub(crate) fn in_order(&self) -> Vec<(usize, u64)> {
        let mut keys: Vec<Key> = self.heap.iter().map(|Reverse(key)| *key).collect();
        keys.sort_unstable();
        keys.into_iter().map(|key| (key.slot, key.time)).collect()
    }

    /// The event waiting in `slot`.
    pub(crate) fn get(&self, slot: usize) -> Option<&E> {
        self.slab.get(slot).and_then(Option::as_ref)
    }

    /// Removes the event in `slot`, out of order (a linear pass: for
    /// adversarial scheduling, not for the simulator's main loop).
    pub(crate) fn remove(&mut self, slot: usize) -> Option<(u64, E)> {
        let event = self.slab.get_mut(slot)?.take()?;
        let mut time = 0;
        self.heap.retain(|Reverse(key)| {
            if key.slot == slot {
                time = key.time;
                false
            } else {
                true
            }
        });
        self.free.push(slot);
        Some((time, event))
    }

    /// Removes and returns the next event with its time.
    #[inline]
    pub(crate) fn pop(&mut self) -> Option<(u64, E)> {
        let Reverse(key) = self.heap.pop()?;
        let event = self.slab[key.slot]
            .take()
            .expect("every key in the heap names a filled slot");
        self.free.push(key.slot);
        Some((key.time, event))
    }
}

#[cfg(test)]
mod tests {
    use super::EventQueue;

    fn drain(queue: &mut EventQueue<&'static str>) -> Vec<(u64, &'static str)> {
        std::iter::from_fn(|| queue.pop()).collect()
    }

    #[test]
    fn earliest_first_then_push_order() {
        let mut queue = EventQueue::new();
        queue.push(5, "c");
        queue.push(1, "a");
        queue.push(5, "d");
        queue.push(1, "b");
        assert_eq!(queue.len(), 4);
        assert_eq!(queue.peek_time(), Some(1));
        assert_eq!(drain(&mut queue), [(1, "a"), (1, "b"), (5, "c"), (5, "d")]);
        assert_eq!(queue.len(), 0);
        assert_eq!(queue.peek_time(), None);
    }

    #[test]
    fn events_can_be_listed_and_removed_out_of_order() {
        let mut queue = EventQueue::new();
        queue.push(5, "c");
        queue.push(1, "a");
        queue.push(5, "d");
        let order = queue.in_order();
        let names: Vec<_> = order
            .iter()
            .map(|&(slot, t)| (t, *queue.get(slot).unwrap()))
            .collect();
        assert_eq!(names, [(1, "a"), (5, "c"), (5, "d")]);
        assert_eq!(queue.remove(order[1].0), Some((5, "c")));
        assert_eq!(queue.remove(order[1].0), None, "gone");
        assert_eq!(queue.get(order[1].0), None);
        queue.push(0, "z");
        assert_eq!(drain(&mut queue), [(0, "z"), (1, "a"), (5, "d")]);
    }

    #[test]
    fn reused_slots_do_not_change_the_order() {
        let mut queue = EventQueue::new();
        queue.push(3, "x");
        queue.push(3, "y");
        queue.push(3, "z");
        assert_eq!(queue.pop(), Some((3, "x")));
        assert_eq!(queue.pop(), Some((3, "y")));
        // "w" takes the slot "y" left, "v" the one "x" left: both still come
        // after "z", which was pushed first.
        queue.push(3, "w");
        queue.push(3, "v");
        assert_eq!(queue.slab.len(), 3, "freed slots are reused");
        assert_eq!(drain(&mut queue), [(3, "z"), (3, "w"), (3, "v")]);
    }
}
