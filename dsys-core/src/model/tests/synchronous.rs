//! Synchronous rounds: one clock, timers in deadline order across nodes,
//! a round's messages delivered within the round.

use super::*;

/// Sends `Early` at start and `Late` when its round ends (at 10 ms);
/// writes down what it received before and after its own round ended.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
struct Rounds {
    ended: bool,
    early_in_time: u32,
    late_before_own_end: u32,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
enum Said {
    Early,
    Late,
}

impl crate::Message for Said {}

impl Node for Rounds {
    type Msg = Said;
    type Timer = ();
    type Request = ();
    type Event = ();

    fn on_start(&mut self, ctx: &mut Context<'_, Self>) {
        ctx.broadcast(Said::Early);
        ctx.set_timer(Duration::from_millis(10), ());
    }

    fn on_message(&mut self, _: &mut Context<'_, Self>, _: NodeId, said: Said) {
        match said {
            Said::Early if !self.ended => self.early_in_time += 1,
            Said::Late if !self.ended => self.late_before_own_end += 1,
            _ => {}
        }
    }

    fn on_timer(&mut self, ctx: &mut Context<'_, Self>, (): ()) {
        self.ended = true;
        ctx.broadcast(Said::Late);
    }
}

fn in_lock_step(nodes: &[Option<Rounds>]) -> Result<(), String> {
    for (i, n) in nodes.iter().enumerate() {
        let Some(n) = n else { continue };
        if n.ended && n.early_in_time < 2 {
            return Err(format!("n{i}'s round ended before its messages arrived"));
        }
        if n.late_before_own_end > 0 {
            return Err(format!(
                "n{i} heard from the next round before its own ended"
            ));
        }
    }
    Ok(())
}

fn rounds() -> Model<Rounds> {
    Model::new(3, |_| Rounds::default()).property(Property::always("lock step", in_lock_step))
}

#[test]
fn clocks_of_their_own_let_a_round_end_before_its_messages_arrive() {
    let report = rounds().local_clocks().check();
    assert_eq!(
        report.counterexample(),
        Some(("lock step", &["n0's timer () fires".to_string()][..])),
        "{report}"
    );
}

#[test]
fn synchronous_rounds_deliver_within_the_round_and_end_together() {
    let report = rounds().synchronous().check();
    assert!(report.passed() && report.exhaustive, "{report}");
    // Six Early deliveries in any order, then three timers in any order,
    // then six Late deliveries: the rounds never interleave.
    let report = rounds()
        .synchronous()
        .property(Property::sometimes(
            "all ended",
            |n: &[Option<Rounds>]| n.iter().flatten().all(|n| n.ended),
        ))
        .check();
    let Some(Finding::Reached(path)) = report.findings.get(1).map(|f| f.1.clone()) else {
        panic!("{report}");
    };
    assert_eq!(path.len(), 9, "{report}");
    assert!(path[..6].iter().all(|s| s.contains("Early")), "{report}");
    assert!(path[6..].iter().all(|s| s.contains("fires")), "{report}");
}

#[test]
fn a_synchronous_counterexample_replays_in_the_simulator() {
    // Broken by the first round's end: after the six Early deliveries.
    let model = rounds().synchronous().property(Property::always(
        "no round ends",
        |n: &[Option<Rounds>]| match n.iter().flatten().any(|n| n.ended) {
            true => Err("a round ended".into()),
            false => Ok(()),
        },
    ));
    let report = model.check();
    assert_eq!(
        report.counterexample().map(|(_, p)| p.len()),
        Some(7),
        "{report}"
    );
    let replayed = model.replay(report.trail.as_deref().unwrap()).unwrap();
    assert_eq!(
        replayed.violated.map(|v| (v.0, v.2)),
        Some(("no round ends", 7))
    );
}
