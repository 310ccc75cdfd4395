//! The model of `dsys check snapshot`: every interleaving of a small bank's
//! transfers and one Chandy–Lamport snapshot.

use dsys_core::model::{self, History, Model, ModelOptions, ModelVerdict, Network, Observed};
use dsys_core::NodeId;

use super::bank::{self, Bank, BankConfig, BankRequest};
use super::{SnapshotEvent, SnapshotRequest, Snapshotting};

/// What each branch sends to the next in the model.
const AMOUNT: u64 = 10;

/// A branch of the model: a [`Bank`] that transfers only when asked.
type Branch = Snapshotting<Bank>;

/// `nodes` branches of 100 each on FIFO links, as Chandy–Lamport assumes.
/// Each branch sends 10 to the next round the ring once, and n0 initiates
/// one snapshot, in every interleaving of those requests, the markers, the
/// transfers and the reports. Judged: every completed snapshot holds all
/// the money, in the recorded balances and the recorded channels
/// (`conservation`, over the initiator's `Completed` events); and in every
/// run that ends, no node is still recording or collecting (`the snapshot
/// completes`); and, as a sanity check, that some run records a transfer
/// in a channel's state. On links that reorder (`model(n).network(Network::default())`)
/// a transfer overtakes a marker and the model finds money created or lost.
///
/// ```
/// use dsys_clocks::snapshot::model;
///
/// let report = model(2).check();
/// assert!(report.passed() && report.exhaustive, "{report}");
/// ```
pub fn model(nodes: usize) -> Model<Branch> {
    let config = BankConfig::default();
    let total = config.total(nodes);
    let mut model = Model::new(nodes, move |_| {
        Snapshotting::new(Bank::on_request_only(config).expect("the default bank is valid"))
    })
    .network(Network {
        fifo: true,
        ..Network::default()
    })
    .observes(|seen: &Observed<Branch>| {
        matches!(
            seen,
            Observed::Event {
                event: SnapshotEvent::Completed(_),
                ..
            }
        )
    })
    .property(model::Property::history(
        "conservation",
        move |history: &History<Branch>| {
            history.iter().try_for_each(|seen| match seen {
                Observed::Event {
                    event: SnapshotEvent::Completed(snapshot),
                    ..
                } => bank::check_conservation(snapshot, total).map_err(|v| v.to_string()),
                _ => Ok(()),
            })
        },
    ))
    .property(model::Property::eventually(
        "the snapshot completes",
        |nodes: &[Option<Branch>]| {
            nodes
                .iter()
                .flatten()
                .all(|n| n.recording().next().is_none() && n.collecting().next().is_none())
        },
    ))
    .property(model::Property::sometimes(
        "a transfer is recorded in transit",
        |nodes: &[Option<Branch>]| {
            nodes.iter().flatten().any(|n| {
                n.recording().any(|id| {
                    (0..nodes.len() as u32).any(|from| {
                        n.recorded_messages(id, NodeId(from))
                            .is_some_and(|m| !m.is_empty())
                    })
                })
            })
        },
    ));
    model = model.request(NodeId(0), SnapshotRequest::Snapshot);
    for i in 0..nodes {
        let to = NodeId(((i + 1) % nodes) as u32);
        let transfer = BankRequest::Transfer { to, amount: AMOUNT };
        model = model.request(NodeId(i as u32), SnapshotRequest::App(transfer));
    }
    model
}

/// `dsys check snapshot`: [`model`] with the options given (its links stay
/// FIFO, as the algorithm assumes: see [`Model::options`]).
pub(super) fn check_model(options: &ModelOptions) -> dsys_core::Result<ModelVerdict> {
    super::ALGORITHM.defect_named(options.defect.as_deref())?; // it ships none
    Ok(model(options.nodes).options(options).verdict())
}

#[cfg(test)]
mod tests {
    use super::*;
    use dsys_core::model::Finding;

    #[test]
    fn the_snapshot_holds_every_coin_on_fifo_links_and_records_one_in_transit() {
        let report = model(3).check();
        assert!(report.passed() && report.exhaustive, "{report}");
        let reached = |name| report.findings.iter().find(|f| f.0 == name).map(|f| &f.1);
        assert!(
            matches!(
                reached("a transfer is recorded in transit"),
                Some(Finding::Reached(_))
            ),
            "{report}"
        );
        assert_eq!(report.states, 3374, "{report}");
    }

    #[test]
    fn on_links_that_reorder_a_transfer_overtakes_a_marker() {
        let report = model(2).network(Network::default()).check();
        let (property, path) = report.counterexample().expect("a violation");
        assert_eq!(property, "conservation", "{report}");
        // n1 sends 10 to n0 before it hears of the snapshot, and its own
        // marker overtakes the transfer: n0 closes the channel before the
        // 10 arrive, so they are counted nowhere.
        let Some(Finding::Violated { why, .. }) = report.findings.first().map(|f| &f.1) else {
            panic!("{report}");
        };
        assert_eq!(
            why, "snapshot n0#0 adds up to 190 (190 in local states + 0 in transit), expected 200",
            "{report}"
        );
        assert_eq!(path.len(), 5, "{report}");
        assert_eq!(
            path[1], "n1 is asked App(Transfer { to: n0, amount: 10 })",
            "{report}"
        );
    }

    #[test]
    fn dsys_check_keeps_the_links_fifo_whatever_the_options() {
        let verdict = check_model(&ModelOptions {
            nodes: 2,
            ..ModelOptions::default()
        })
        .unwrap();
        assert!(verdict.passed && verdict.exhaustive, "{}", verdict.text);
        let err = check_model(&ModelOptions {
            defect: Some("no-such".to_string()),
            ..ModelOptions::default()
        })
        .unwrap_err();
        assert!(err.to_string().contains("no-such"), "{err}");
    }
}
