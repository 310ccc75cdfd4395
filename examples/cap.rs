//! CAP as a run (lecture 8). Five replicas of a key-value store are split
//! {n0, n1} | {n2, n3, n4} from 1.0 s to 2.5 s; two clients on each side
//! keep calling, each reaching only its side's replicas. Two designs, the
//! same partition:
//!
//! - CP: the store over Raft. A write needs a majority, so the minority
//!   side answers nothing while the partition lasts; the history stays
//!   linearizable.
//! - AP: primary-backup trusting its failure detector. Each side makes its
//!   own primary and keeps answering; the history is not linearizable.
//!
//! Prints each design's availability per side and the checker's verdict,
//! and draws the AP history (`cap-ap.html`: one lane per client, the calls
//! that cannot all be explained highlighted).
//!
//! Run it with `cargo run --example cap`.

use dsys::replication::cap::{run, Choice, ANSWER_TIME, PARTITION_FROM, PARTITION_TO};
use dsys::replication::consistency::html;
use dsys::replication::consistency::models::Kv;

fn main() -> anyhow::Result<()> {
    println!(
        "5 replicas, {{n0, n1}} | {{n2, n3, n4}} from {:?} to {:?}; calls made during it (up to {:?} before it heals):\n",
        PARTITION_FROM, PARTITION_TO, ANSWER_TIME
    );
    println!(
        "  {:<34} {:>20} {:>20}  history",
        "design", "minority answered", "majority answered"
    );
    for (choice, name) in [
        (Choice::Consistent, "CP: Raft"),
        (Choice::Available, "AP: primary-backup, f + 1"),
    ] {
        let outcome = run(choice, 1)?;
        let side = |s: dsys::replication::cap::Side| {
            format!("{} of {} ({:.0}%)", s.answered, s.calls, s.percent())
        };
        println!(
            "  {:<34} {:>20} {:>20}  linearizable: {}",
            name,
            side(outcome.minority),
            side(outcome.majority),
            outcome.report.verdict
        );
        if choice == Choice::Available {
            let page = html::render(&Kv, &outcome.history, &outcome.report);
            std::fs::write("cap-ap.html", page)?;
        }
    }
    println!(
        "\nDuring a partition a store picks: consistency (the minority refuses) or\n\
         availability (both sides answer, and the history no longer fits one copy).\n\
         The AP history is drawn in cap-ap.html."
    );
    Ok(())
}
