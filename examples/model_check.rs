//! The model checker on mutual exclusion: every interleaving of two or
//! three processes that each enter the critical section once. Ricart &
//! Agrawala holds ME1 in every reachable state; its broken variant that
//! ignores Lamport timestamps is caught, and the checker prints the
//! shortest run that breaks ME1, step by step; Maekawa without `Inquire`
//! deadlocks, and the checker prints the run that ends with a process
//! waiting forever. The Ricart & Agrawala counterexample is then replayed
//! in the simulator, whose trace (JSON Lines, ShiViz) shows it as a
//! space-time diagram.
//!
//! Run it with `cargo run --release --example model_check`.

use dsys::mutex::maekawa::{self, Maekawa};
use dsys::mutex::properties::me1_trace;
use dsys::mutex::ricart_agrawala::{Defect, RicartAgrawala};
use dsys::mutex::workload::each_enters_once;

fn main() {
    println!("== Ricart & Agrawala, 3 processes");
    let correct = each_enters_once(3, |_| RicartAgrawala::new(), RicartAgrawala::phase);
    print!("{}", correct.check());

    println!("\n== Ricart & Agrawala ignoring timestamps, 2 processes");
    let broken = each_enters_once(
        2,
        |_| RicartAgrawala::broken(Defect::IgnoresTimestamps),
        RicartAgrawala::phase,
    );
    let report = broken.check();
    print!("{report}");
    // The same steps in the simulator: a trace to export (JSON Lines, ShiViz).
    let trail = report.trail.as_ref().expect("a violation has its steps");
    let replayed = broken
        .replay(trail)
        .expect("the steps exist in the simulator");
    let trace = replayed.sim.trace().expect("replays record a trace");
    println!(
        "  replayed in the simulator: {} trace records; ME1 on the trace: {:?}",
        trace.len(),
        me1_trace(trace)
    );

    println!("\n== Maekawa without Inquire, 3 processes");
    let no_inquire = |_| Maekawa::broken(maekawa::Defect::NoInquire);
    print!(
        "{}",
        each_enters_once(3, no_inquire, Maekawa::phase).check()
    );
}
