//! `dsys sim reliable` and `dsys check reliable`: the channel carrying
//! numbered messages over a network that loses, duplicates and reorders.

use dsys_core::model::{self, Model, ModelOptions, ModelVerdict, Network};
use dsys_core::scenario::{
    run_scenario, Algorithm, Check, DefectInfo, Outcome, Property, SimOptions, Verdict,
};
use dsys_core::sim::Simulation;
use dsys_core::NodeId;

use super::{Numbers, Reliable, ReliableConfig};

/// The node of the scenario and the model: [`Numbers`] over the channel.
pub type Channel = Reliable<Numbers>;

/// How many numbers each node sends each peer in `dsys sim reliable`.
pub const SCENARIO_COUNT: u32 = 50;

/// `dsys sim reliable`: every node sends the numbers 0..50 to every peer
/// through a [`Reliable`] channel (window 8). Judged: exactly once and in
/// order after every event, and all of them delivered at the end (on a
/// lossy network too: the channel retransmits until acknowledged).
/// `--defect no-duplicate-suppression` hands a duplicate segment to the
/// node again.
pub const ALGORITHM: Algorithm = Algorithm {
    name: "reliable",
    summary: "reliable delivery over a lossy link: handshake, sequence numbers, cumulative acks, \
              sliding window, retransmission; exactly once and in order",
    run: simulate,
    settings: &[],
    model: Some(check_model),
    defects: &[DefectInfo {
        name: "no-duplicate-suppression",
        breaks: "the receiver hands a duplicate segment to the node again (exactly once: dsys \
                 sim reliable --dup 0.1, or dsys check reliable)",
    }],
};

/// The channel's configuration, with or without the defect.
fn config(defect: Option<&str>) -> ReliableConfig {
    ReliableConfig {
        suppress_duplicates: defect.is_none(),
        ..ReliableConfig::default()
    }
}

/// Exactly once and in order, so far, at every node.
fn in_order(nodes: &[Option<Channel>]) -> Result<(), String> {
    nodes.iter().enumerate().try_for_each(|(i, n)| match n {
        Some(n) => n.inner().check_in_order(NodeId(i as u32)),
        None => Ok(()),
    })
}

fn simulate(options: &SimOptions) -> dsys_core::Result<Outcome> {
    let config = config(ALGORITHM.defect_named(options.defect.as_deref())?);
    let channel = Reliable::new(Numbers::new(SCENARIO_COUNT), config)
        .map_err(|e| dsys_core::Error::InvalidConfig(e.to_string()))?;
    run_scenario(
        ALGORITHM.name,
        options,
        move |_| channel.clone(),
        &[
            Property {
                name: "exactly once, in order",
                check: Check::invariant(in_order),
            },
            Property {
                name: "every number delivered",
                check: Check::at_end(|sim: &Simulation<Channel>, options| {
                    if !options.crashes.is_empty() || !options.partitions.is_empty() {
                        return Verdict::Skipped(
                            "a crash or a partition can keep numbers from arriving".into(),
                        );
                    }
                    let ids: Vec<NodeId> = sim.ids().collect();
                    sim.nodes()
                        .try_for_each(|(id, n)| n.inner().check_complete(id, &ids))
                        .into()
                }),
            },
        ],
    )
}

/// A model of the channel: n0 sends `numbers` numbers to every other node
/// through it (window 2), on a network that loses messages (a
/// retransmission duplicates a segment; add network duplicates with
/// [`Model::network`], though a counterexample with one cannot be replayed
/// in the simulator, which duplicates by its own draw only), with the
/// retransmission timers firing at most twice in a run. The nodes' random numbers (the initial sequence
/// numbers, the nonces) continue from step to step
/// ([`Model::continuous_rng`]), so a counterexample replays in the
/// simulator. Judged: exactly once and in order in every state, and, as a
/// sanity check, that every number can arrive.
///
/// ```
/// use dsys_net::reliable::scenario::model;
///
/// let report = model(2, 2, true).check();
/// assert!(report.passed(), "{report}");
/// ```
pub fn model(nodes: usize, numbers: u32, suppress_duplicates: bool) -> Model<Channel> {
    let config = ReliableConfig {
        suppress_duplicates,
        ..ReliableConfig::default().with_window(2)
    };
    Model::new(nodes, move |id| {
        let count = if id == NodeId(0) { numbers } else { 0 };
        Reliable::new(Numbers::new(count), config).expect("a window of 2 is valid")
    })
    .network(Network {
        lossy: true,
        ..Network::default()
    })
    .timers_max(2)
    .continuous_rng()
    .property(model::Property::always("exactly once, in order", in_order))
    .property(model::Property::sometimes(
        "every number delivered",
        move |nodes: &[Option<Channel>]| {
            nodes.iter().skip(1).all(|n| {
                n.as_ref()
                    .is_some_and(|n| n.inner().received_from(NodeId(0)).len() == numbers as usize)
            })
        },
    ))
}

/// `dsys check reliable`: [`model`] with one number per node, with the
/// options given (the network stays lossy: see [`Model::options`]).
fn check_model(options: &ModelOptions) -> dsys_core::Result<ModelVerdict> {
    let defect = ALGORITHM.defect_named(options.defect.as_deref())?;
    Ok(model(options.nodes, 1, defect.is_none())
        .options(options)
        .verdict())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_channel_keeps_two_numbers_in_order_through_loss_and_a_duplicate() {
        let report = model(2, 2, true)
            .network(Network {
                lossy: true,
                duplicates_max: 1,
                fifo: false,
            })
            .check();
        assert!(report.passed(), "{report}");
        // Bounded by the timer budget only: every run within it is explored.
        assert!(
            report.states > 1_000 && report.states < 1_000_000,
            "{report}"
        );
        let reached = report
            .findings
            .iter()
            .find(|f| f.0 == "every number delivered");
        assert!(
            matches!(reached, Some((_, model::Finding::Reached(_)))),
            "{report}"
        );
    }

    #[test]
    fn without_duplicate_suppression_a_retransmission_is_delivered_twice() {
        let model = model(2, 1, false);
        let report = model.check();
        let (property, path) = report.counterexample().expect("a violation");
        assert_eq!(property, "exactly once, in order", "{report}");
        assert_eq!(path.len(), 5, "{report}");
        assert_eq!(
            path[3], "n0's timer Retransmit { peer: n1 } fires",
            "{report}"
        );
        // The random sequence numbers continue as in the simulator: the
        // counterexample replays there, to the same violation.
        let replayed = model.replay(report.trail.as_deref().unwrap()).unwrap();
        let (property, _, steps) = replayed.violated.expect("the replay breaks it too");
        assert_eq!((property, steps), ("exactly once, in order", 5));
    }

    #[test]
    fn the_scenario_delivers_everything_and_catches_the_defect() {
        let options = SimOptions {
            loss: 0.2,
            duplicate: 0.1,
            reorder: true,
            ..SimOptions::default()
        };
        let outcome = (ALGORITHM.run)(&options).unwrap();
        assert!(outcome.report.passed(), "{}", outcome.report);
        let broken = SimOptions {
            defect: Some("no-duplicate-suppression".to_string()),
            ..options
        };
        let outcome = (ALGORITHM.run)(&broken).unwrap();
        assert!(!outcome.report.passed(), "{}", outcome.report);
        assert!(
            outcome
                .report
                .to_string()
                .contains("a duplicate or a reordering"),
            "{}",
            outcome.report
        );
    }
}
