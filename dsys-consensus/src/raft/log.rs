//! The in-memory copy of a server's log: the entries after its latest
//! snapshot.

use std::collections::VecDeque;

use super::types::{Entry, LogIndex, Term};

/// A server's log: a snapshot boundary (`start`, the last index the
/// snapshot covers, and its term) followed by the entries after it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Log<C> {
    start: LogIndex,
    start_term: Term,
    entries: VecDeque<Entry<C>>,
}

impl<C> Default for Log<C> {
    fn default() -> Self {
        Log {
            start: 0,
            start_term: 0,
            entries: VecDeque::new(),
        }
    }
}

impl<C: Clone> Log<C> {
    pub(crate) fn new(start: LogIndex, start_term: Term, entries: Vec<Entry<C>>) -> Self {
        Log {
            start,
            start_term,
            entries: entries.into(),
        }
    }

    /// The last index covered by the snapshot (0 when there is none): entries
    /// up to here are compacted away.
    pub fn snapshot_index(&self) -> LogIndex {
        self.start
    }

    /// The term of the entry at [`Log::snapshot_index`].
    pub fn snapshot_term(&self) -> Term {
        self.start_term
    }

    /// The index of the last entry (the snapshot's, when no entry follows it).
    pub fn last_index(&self) -> LogIndex {
        self.start + self.entries.len() as u64
    }

    /// The term of the last entry.
    pub fn last_term(&self) -> Term {
        self.entries.back().map_or(self.start_term, |e| e.term)
    }

    /// The term of the entry at `index`: known for the snapshot boundary and
    /// the entries after it, `None` before (compacted) or past the end.
    pub fn term_at(&self, index: LogIndex) -> Option<Term> {
        if index == self.start {
            Some(self.start_term)
        } else {
            self.get(index).map(|e| e.term)
        }
    }

    /// The entry at `index`, if it is in memory.
    pub fn get(&self, index: LogIndex) -> Option<&Entry<C>> {
        let offset = index.checked_sub(self.start + 1)?;
        self.entries.get(offset as usize)
    }

    /// The entries in memory, in order.
    pub fn entries(&self) -> impl DoubleEndedIterator<Item = &Entry<C>> + ExactSizeIterator + '_ {
        self.entries.iter()
    }

    /// Up to `max` entries from `from` on, cloned (for AppendEntries).
    pub(crate) fn slice(&self, from: LogIndex, max: usize) -> Vec<Entry<C>> {
        let Some(offset) = from.checked_sub(self.start + 1) else {
            return Vec::new();
        };
        self.entries
            .iter()
            .skip(offset as usize)
            .take(max)
            .cloned()
            .collect()
    }

    pub(crate) fn push(&mut self, entry: Entry<C>) {
        debug_assert_eq!(entry.index, self.last_index() + 1);
        self.entries.push_back(entry);
    }

    /// Drops the entries from `from` on.
    pub(crate) fn truncate(&mut self, from: LogIndex) {
        let keep = from.saturating_sub(self.start + 1);
        self.entries.truncate(keep as usize);
    }

    /// Drops the entries up to and including `index` (now in a snapshot).
    pub(crate) fn compact(&mut self, index: LogIndex, term: Term) {
        let drop = index
            .saturating_sub(self.start)
            .min(self.entries.len() as u64);
        self.entries.drain(..drop as usize);
        self.start = index;
        self.start_term = term;
    }

    /// Replaces the whole log by a snapshot boundary.
    pub(crate) fn reset(&mut self, index: LogIndex, term: Term) {
        self.entries.clear();
        self.start = index;
        self.start_term = term;
    }

    /// The first index of the run of entries with `term` that ends at `index`
    /// (for the fast back-off hint, Raft §5.3).
    pub(crate) fn first_index_of_term(&self, index: LogIndex, term: Term) -> LogIndex {
        let mut first = index;
        while first > self.start + 1 && self.term_at(first - 1) == Some(term) {
            first -= 1;
        }
        first
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::raft::types::Payload;

    /// A log after a snapshot at `start` (term `start_term`) holding one
    /// entry per term in `terms`.
    fn log(start: LogIndex, start_term: Term, terms: &[Term]) -> Log<u64> {
        let entries = terms
            .iter()
            .zip(start + 1..)
            .map(|(&term, index)| Entry {
                term,
                index,
                payload: Payload::Noop,
            })
            .collect();
        Log::new(start, start_term, entries)
    }

    #[test]
    fn terms_are_known_from_the_snapshot_boundary_to_the_end() {
        let l = log(3, 2, &[2, 4, 4]);
        assert_eq!((l.snapshot_index(), l.snapshot_term()), (3, 2));
        assert_eq!((l.last_index(), l.last_term()), (6, 4));
        assert_eq!(l.term_at(2), None, "compacted");
        assert_eq!(l.term_at(3), Some(2), "the boundary");
        assert_eq!(l.term_at(5), Some(4));
        assert_eq!(l.term_at(7), None, "past the end");
        assert_eq!(l.get(3), None);
        assert_eq!(l.get(4).map(|e| e.index), Some(4));
        let empty = log(5, 3, &[]);
        assert_eq!((empty.last_index(), empty.last_term()), (5, 3));
    }

    #[test]
    fn slices_truncation_and_compaction_keep_positions() {
        let mut l = log(0, 0, &[1, 1, 2, 2, 3]);
        let indexes = |v: Vec<Entry<u64>>| v.iter().map(|e| e.index).collect::<Vec<_>>();
        assert_eq!(indexes(l.slice(2, 2)), [2, 3]);
        assert_eq!(indexes(l.slice(4, 10)), [4, 5]);
        assert_eq!(indexes(l.slice(6, 10)), Vec::<u64>::new());
        l.truncate(4);
        assert_eq!(l.last_index(), 3);
        l.compact(2, 1);
        assert_eq!((l.snapshot_index(), l.snapshot_term()), (2, 1));
        assert_eq!(indexes(l.entries().cloned().collect()), [3]);
        assert_eq!(
            indexes(l.slice(2, 10)),
            Vec::<u64>::new(),
            "in the snapshot"
        );
        l.compact(9, 5); // past the end: everything goes
        assert_eq!((l.last_index(), l.last_term()), (9, 5));
        l.reset(20, 7);
        assert_eq!(
            (l.snapshot_index(), l.snapshot_term(), l.entries().len()),
            (20, 7, 0)
        );
    }

    #[test]
    fn the_first_index_of_a_term_stops_at_the_run_or_the_snapshot() {
        let l = log(0, 0, &[1, 2, 2, 2, 3]);
        assert_eq!(l.first_index_of_term(4, 2), 2);
        assert_eq!(l.first_index_of_term(2, 2), 2);
        assert_eq!(l.first_index_of_term(5, 3), 5);
        assert_eq!(l.first_index_of_term(1, 1), 1);
        // The run reaches the snapshot boundary: it stops after it, even
        // though the boundary has the same term.
        let l = log(3, 2, &[2, 2, 4]);
        assert_eq!(l.first_index_of_term(5, 2), 4);
    }
}
