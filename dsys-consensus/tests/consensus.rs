//! dsys-consensus's integration tests: each file is a module of this one
//! test binary (`autotests = false` in Cargo.toml), because each binary
//! links the whole crate and its dependencies. Run one file's tests with
//! `cargo test -p dsys-consensus --test consensus FILE::`.

#[path = "byzantine_generals.rs"]
mod byzantine_generals;
#[path = "dolev_strong.rs"]
mod dolev_strong;
#[path = "multi_paxos.rs"]
mod multi_paxos;
#[path = "paxos.rs"]
mod paxos;
#[path = "raft.rs"]
mod raft;
#[path = "raft_actix.rs"]
mod raft_actix;
#[path = "raft_defects.rs"]
mod raft_defects;
#[path = "raft_features.rs"]
mod raft_features;
#[path = "storage.rs"]
mod storage;

/// The length of the counterexample to the property named `prefix`.
pub(crate) fn counterexample<N: dsys_core::Node>(
    report: &dsys_core::model::ModelReport<N>,
    prefix: &str,
) -> usize {
    match report.counterexample() {
        Some((name, path)) if name.starts_with(prefix) => path.len(),
        _ => panic!("no counterexample to {prefix}:\n{report}"),
    }
}

/// Replays `report`'s first counterexample in the simulator with `model`
/// and returns why it breaks there the same property, after as many
/// steps as the model checker found.
pub(crate) fn replayed_violation<N>(
    model: &dsys_core::model::Model<N>,
    report: &dsys_core::model::ModelReport<N>,
) -> String
where
    N: dsys_core::Node + Clone + Eq + std::hash::Hash,
    N::Msg: Eq + std::hash::Hash,
    N::Request: Clone,
    N::Timer: PartialEq,
{
    let (name, path) = report.counterexample().expect("a counterexample");
    let trail = report.trail.as_deref().expect("a counterexample's trail");
    let replayed = model.replay(trail).expect("replays");
    let (property, why, steps) = replayed
        .violated
        .unwrap_or_else(|| panic!("{name} is not broken in the replay:\n{report}"));
    assert_eq!(property, name, "{report}");
    assert_eq!(steps, path.len(), "{report}");
    why
}
