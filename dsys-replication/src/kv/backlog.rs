//! What a leader keeps for followers that fall behind.

use std::collections::VecDeque;

/// The requests a leader (a primary, a sequencer) has sent, from some
/// position on, so that it can send them again to a replica that missed
/// them; trimmed to what some replica may still need and to a bound.
/// When a replica needs a position the backlog no longer holds, the leader
/// sends its whole state instead.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Backlog<T> {
    items: VecDeque<T>,
    /// The position of `items[0]` (positions count from 1).
    start: u64,
}

impl<T: Clone> Backlog<T> {
    /// An empty backlog whose first item will be position 1.
    pub(crate) fn new() -> Self {
        Backlog {
            items: VecDeque::new(),
            start: 1,
        }
    }

    /// Empties it; the next item pushed is position `next`.
    pub(crate) fn reset(&mut self, next: u64) {
        self.items.clear();
        self.start = next;
    }

    /// Keeps the item at the next position.
    pub(crate) fn push(&mut self, item: T) {
        self.items.push_back(item);
    }

    /// Up to `max` items from position `from` on, or `None` if position
    /// `from` was trimmed away.
    pub(crate) fn since(&self, from: u64, max: usize) -> Option<Vec<T>> {
        let skip = from.checked_sub(self.start)?;
        let skip = usize::try_from(skip).ok()?;
        Some(self.items.iter().skip(skip).take(max).cloned().collect())
    }

    /// Forgets every position up to `everyone` (which every replica has),
    /// and the oldest beyond `max` kept.
    pub(crate) fn trim(&mut self, everyone: u64, max: usize) {
        while self.start <= everyone || self.items.len() > max {
            if self.items.pop_front().is_none() {
                break;
            }
            self.start += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_count_from_the_start_and_trimmed_ones_are_gone() {
        let mut backlog = Backlog::new();
        for c in ['a', 'b', 'c', 'd'] {
            backlog.push(c);
        }
        assert_eq!(backlog.since(1, 2), Some(vec!['a', 'b']));
        assert_eq!(backlog.since(3, 10), Some(vec!['c', 'd']));
        assert_eq!(backlog.since(5, 10), Some(vec![]));
        backlog.trim(2, 10);
        assert_eq!(backlog.since(2, 10), None);
        assert_eq!(backlog.since(3, 1), Some(vec!['c']));
        backlog.trim(0, 1); // the bound: only the newest stays
        assert_eq!(backlog.since(3, 10), None);
        assert_eq!(backlog.since(4, 10), Some(vec!['d']));
        backlog.trim(100, 10); // more than it holds: empty, not stuck
        assert_eq!(backlog.since(5, 10), Some(vec![]));
        backlog.reset(9);
        backlog.push('x');
        assert_eq!(backlog.since(9, 10), Some(vec!['x']));
        assert_eq!(backlog.since(8, 10), None);
    }
}
