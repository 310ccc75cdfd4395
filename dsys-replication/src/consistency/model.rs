//! The [`Model`] trait: the sequential specification a history is judged
//! against.

use std::fmt::Debug;
use std::hash::Hash;

use super::history::Operation;

/// A sequential object: its initial state, and what each operation does to
/// a state and answers. A history is linearizable (or sequentially
/// consistent) with respect to a model when its operations can be put in
/// one order (respecting real time, or each client's program order) in
/// which the model, starting from [`Model::init`], accepts every answer.
///
/// `step` is deterministic: an input applied to a state has one outcome.
/// An unknown output (`None`: the call never returned, or returned without
/// a usable result) accepts whatever the model would answer.
///
/// ```
/// use dsys_replication::consistency::history::Operation;
/// use dsys_replication::consistency::model::Model;
///
/// /// A counter: `true` increments and answers the new value; `false` reads.
/// #[derive(Debug)]
/// struct Counter;
/// impl Model for Counter {
///     type Input = bool;
///     type Output = u64;
///     type State = u64;
///     fn name(&self) -> &'static str { "counter" }
///     fn init(&self) -> u64 { 0 }
///     fn step(&self, state: &u64, increment: &bool, output: Option<&u64>) -> Option<u64> {
///         let next = if *increment { state + 1 } else { *state };
///         (output.is_none() || output == Some(&next)).then_some(next)
///     }
/// }
///
/// assert_eq!(Counter.step(&4, &true, Some(&5)), Some(5));
/// assert_eq!(Counter.step(&4, &false, Some(&5)), None, "a read of 5 in state 4 is impossible");
/// assert_eq!(Counter.step(&4, &true, None), Some(5), "an unknown answer accepts the model's");
/// ```
pub trait Model {
    /// What a client asks.
    type Input: Clone + Debug;
    /// What the object answers.
    type Output: Clone + Debug + PartialEq;
    /// The object's state.
    type State: Clone + Eq + Hash + Debug;

    /// A short name (`"cas-register"`), for reports.
    fn name(&self) -> &'static str;

    /// The state before any operation.
    fn init(&self) -> Self::State;

    /// The state after `input` is applied to `state` and answered `output`,
    /// or `None` if the object in `state` cannot answer `output`.
    fn step(
        &self,
        state: &Self::State,
        input: &Self::Input,
        output: Option<&Self::Output>,
    ) -> Option<Self::State>;

    /// Splits a history into independent parts that can be checked
    /// separately, as sets of operation indices (P-compositionality: a
    /// history is linearizable if and only if each part is, when the parts
    /// touch disjoint objects, such as the keys of a map). The default is
    /// one part holding everything.
    fn partition(&self, ops: &[Operation<Self::Input, Self::Output>]) -> Vec<Vec<usize>> {
        vec![(0..ops.len()).collect()]
    }
}
