//! Random walks: for configurations too big to explore.

use std::hash::Hash;
use std::time::Instant;

use super::{hash_of, Action, Bound, Judged, Model, ModelReport, SearchProgress};
use crate::node::Node;

impl<N> Model<N>
where
    N: Node + Clone + Eq + Hash,
    N::Msg: Eq + Hash,
    N::Request: Clone,
{
    /// `walks` random walks from the initial state, each to a finished
    /// state or the depth bound, choosing among the enabled actions with a
    /// RNG seeded by `seed`: for configurations too big to explore. Never
    /// exhaustive.
    pub(super) fn random_walks(&self, walks: u32, seed: u64) -> ModelReport<N> {
        use rand::{RngExt, SeedableRng};
        let started = Instant::now();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let mut judged = Judged::new(self.properties.len());
        let mut visited: std::collections::HashSet<u64> = std::collections::HashSet::new();
        let (mut depth, mut bound) = (0, Some(Bound::Walks(walks)));
        let mut steps = 0usize;
        'walks: for _ in 0..walks {
            let mut state = self.initial();
            let mut path: Vec<Action<N>> = Vec::new();
            loop {
                visited.insert(hash_of(&state));
                depth = depth.max(path.len());
                steps += 1;
                self.tell(steps, || SearchProgress {
                    states: visited.len(),
                    queued: 0,
                    depth,
                    elapsed: started.elapsed(),
                });
                let mut successors = if path.len() < self.depth_max {
                    self.successors(&state)
                } else {
                    Vec::new()
                };
                let finished = successors.is_empty()
                    && path.len() < self.depth_max
                    && !self.timers_cut(&state);
                self.judge(&state, true, Some(finished), || path.clone(), &mut judged);
                if self.decided(&judged.findings) {
                    bound = None;
                    break 'walks;
                }
                if successors.is_empty() {
                    break;
                }
                if started.elapsed() > self.time_max {
                    bound = Some(Bound::Time(self.time_max));
                    break 'walks;
                }
                let (action, next) = successors.swap_remove(rng.random_range(0..successors.len()));
                path.push(action);
                state = next;
            }
        }
        ModelReport {
            findings: self.conclude(judged.findings),
            trail: judged.trail,
            states: visited.len(),
            depth,
            exhaustive: false,
            bound,
        }
    }
}
