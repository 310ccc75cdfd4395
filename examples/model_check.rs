//! The model checker on mutual exclusion: every interleaving of two or
//! three processes that each enter the critical section once. Ricart &
//! Agrawala holds ME1 in every reachable state; its broken variant that
//! ignores Lamport timestamps is caught, and the checker prints the
//! shortest run that breaks ME1, step by step; Maekawa without `Inquire`
//! deadlocks, and the checker prints the run that ends with a process
//! waiting forever.
//!
//! Run it with `cargo run --release --example model_check`.

use dsys::mutex::maekawa::{self, Maekawa};
use dsys::mutex::ricart_agrawala::{Defect, RicartAgrawala};
use dsys::mutex::workload::each_enters_once;

fn main() {
    println!("== Ricart & Agrawala, 3 processes");
    print!(
        "{}",
        each_enters_once(3, |_| RicartAgrawala::new(), RicartAgrawala::phase).check()
    );
    println!("\n== Ricart & Agrawala ignoring timestamps, 2 processes");
    let broken = |_| RicartAgrawala::broken(Defect::IgnoresTimestamps);
    print!(
        "{}",
        each_enters_once(2, broken, RicartAgrawala::phase).check()
    );
    println!("\n== Maekawa without Inquire, 3 processes");
    let no_inquire = |_| Maekawa::broken(maekawa::Defect::NoInquire);
    print!(
        "{}",
        each_enters_once(3, no_inquire, Maekawa::phase).check()
    );
}
