//! The comparison table of distributed mutual exclusion (Coulouris et al.,
//! *Distributed Systems*, §15.2), measured in the simulator for N = 5 and
//! N = 9 and printed beside the textbook's figures.
//!
//! Every message takes exactly one latency (`Latency::Fixed`), so delays
//! come out in whole latencies. Entry is measured for every process on an
//! idle system; synchronisation delay for every (holder, one waiter) pair.
//! Where an algorithm is not uniform (the server process, the token's
//! position) the line shows min…max and the mean, and says why.
//!
//! Run it with `cargo run --example mutex_table`.

use dsys::core::NodeId;
use dsys::mutex::central_server::CentralServer;
use dsys::mutex::cost::{measure, Costs, LATENCY};
use dsys::mutex::maekawa::Maekawa;
use dsys::mutex::ricart_agrawala::RicartAgrawala;
use dsys::mutex::token_ring::TokenRing;

struct Row {
    name: &'static str,
    costs: Costs,
    book: [String; 4],
    /// 1 / (synchronisation delay under saturation + one latency inside).
    book_throughput: f64,
    why: &'static str,
}

fn main() -> anyhow::Result<()> {
    println!("Messages per entry and exit; client delay (Enter -> Entered, section free) and");
    println!(
        "synchronisation delay (Exit -> next Entered) in message latencies ({LATENCY:?} each);"
    );
    println!(
        "throughput in entries per latency when everyone always wants the section and holds it"
    );
    println!("for one latency (book: 1 / (sync delay + 1); saturated, the ring's next waiter is 1 hop away).");
    for n in [5usize, 9] {
        let nf = n as f64;
        let root = nf.sqrt();
        let rows = [
            Row {
                name: "central server",
                costs: measure(n, |_| CentralServer::new(NodeId(0)))?,
                book: ["2".into(), "1".into(), "2".into(), "2".into()],
                book_throughput: 1.0 / 3.0,
                why: "the minima are the server itself: it enters with 0 messages, and a hand-over to or from it takes 1 latency (hence throughput above 1/3)",
            },
            Row {
                name: "token ring",
                costs: measure(n, |_| TokenRing::new())?,
                book: [format!("0…{n}"), "1".into(), format!("0…{n}"), format!("1…{n}")],
                book_throughput: 1.0 / 2.0,
                why: "entry counts the hops sent while waiting (≤ N−1); a token that just left needs N latencies; sync ≤ N−1 (next waiter's distance)",
            },
            Row {
                name: "Ricart & Agrawala",
                costs: measure(n, |_| RicartAgrawala::new())?,
                book: [format!("{}", 2.0 * (nf - 1.0)), "0…N−1".into(), "2".into(), "1".into()],
                book_throughput: 1.0 / 2.0,
                why: "as the book: exit sends one deferred reply per waiter, 0 when uncontended",
            },
            Row {
                name: "Maekawa",
                costs: measure(n, |_| Maekawa::new())?,
                book: [format!("2√N={:.1}", 2.0 * root), format!("√N={root:.1}"), "2".into(), "2".into()],
                book_throughput: 1.0 / 3.0,
                why: if n == 9 {
                    "grid sets have K = 2√N−1 = 5 members, self included: 2(K−1) = 8 to enter, K−1 = 4 to exit (the book's 3√N assumes sets of √N); sync 2: release, grant"
                } else {
                    "the 3-wide grid's last row is short: sets of K = 3 or 4, self included: 2(K−1) to enter, K−1 to exit; sync 1 (and throughput above 1/3) when the only vote the waiter lacks is the leaver's own"
                },
            },
        ];
        println!("\nN = {n}");
        println!(
            "  {:<18} {:>22} {:>7} | {:>12} {:>6} | {:>22} {:>6} | {:>22} {:>6} | {:>10} {:>6}",
            "algorithm",
            "enter msgs",
            "book",
            "exit msgs",
            "book",
            "client delay",
            "book",
            "sync delay",
            "book",
            "throughput",
            "book"
        );
        for row in &rows {
            let c = &row.costs;
            println!(
                "  {:<18} {:>22} {:>7} | {:>12} {:>6} | {:>22} {:>6} | {:>22} {:>6} | {:>10.3} {:>6.3}",
                row.name,
                c.enter_messages.to_string(),
                row.book[0],
                c.exit_messages.to_string(),
                row.book[1],
                c.client_delay.to_string(),
                row.book[2],
                c.sync_delay.to_string(),
                row.book[3],
                c.throughput,
                row.book_throughput
            );
            println!("  {:<18} why: {}", "", row.why);
        }
    }
    Ok(())
}
