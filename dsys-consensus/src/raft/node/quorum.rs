//! Quorums: the one computation behind commit advancement (Raft §5.3,
//! §5.4.2), read-index confirmation (dissertation §6.4) and check-quorum
//! (dissertation §6.2).

use super::progress::Progress;
use super::Raft;
use crate::raft::state_machine::StateMachine;

/// How many values fit on the stack: clusters larger than this (rare) sort
/// on the heap.
const INLINE_VOTERS: usize = 16;

/// The `quorum`-th highest of `values`: the highest value that at least
/// `quorum` of them reach. For a monotone property ("has stored index i",
/// "confirmed round r", "answered after t"), a quorum has it exactly when
/// this value has it.
///
/// Panics unless `1 <= quorum <= values.len()`.
pub(super) fn quorum_value<T: Ord + Copy + Default>(
    values: impl ExactSizeIterator<Item = T>,
    quorum: usize,
) -> T {
    let count = values.len();
    assert!(
        (1..=count).contains(&quorum),
        "a quorum of {quorum} out of {count} values"
    );
    let kth_highest =
        |slice: &mut [T]| *slice.select_nth_unstable_by(quorum - 1, |a, b| b.cmp(a)).1;
    if count <= INLINE_VOTERS {
        // On the commit path: no allocation.
        let mut buffer = [T::default(); INLINE_VOTERS];
        for (slot, value) in buffer.iter_mut().zip(values) {
            *slot = value;
        }
        kth_highest(&mut buffer[..count])
    } else {
        kth_highest(&mut values.collect::<Vec<T>>())
    }
}

impl<SM: StateMachine, S> Raft<SM, S> {
    /// The highest value a quorum of voters reaches, where the leader's own
    /// value is `own` and a follower's is read from its progress (a voter
    /// without progress counts as `T::default()`, the lowest).
    pub(super) fn quorum_reaches<T: Ord + Copy + Default>(
        &self,
        own: T,
        of_follower: impl Fn(&Progress) -> T,
    ) -> T {
        let values = self.membership.voters.iter().map(|voter| {
            if *voter == self.id {
                own
            } else {
                self.progress
                    .get(voter)
                    .map_or_else(T::default, &of_follower)
            }
        });
        quorum_value(values, self.membership.quorum())
    }
}

#[cfg(test)]
mod tests {
    use super::quorum_value;

    #[test]
    fn the_quorum_value_is_the_kth_highest() {
        assert_eq!(quorum_value([5u64, 1, 3].into_iter(), 2), 3);
        assert_eq!(quorum_value([5u64, 1, 3].into_iter(), 1), 5);
        assert_eq!(quorum_value([5u64, 1, 3].into_iter(), 3), 1);
        assert_eq!(quorum_value([7u64, 7, 2, 9, 1].into_iter(), 3), 7);
        let many: Vec<u64> = (0..40).collect();
        assert_eq!(quorum_value(many.into_iter(), 21), 19);
        assert_eq!(quorum_value([None, Some(4u64), None].into_iter(), 2), None);
    }
}
