//! The heartbeat failure detector: five nodes send heartbeats every 50 ms and
//! suspect a peer after 200 ms of silence. Node 3 crashes at 1 s; later a
//! partition cuts n4 off and heals — a *false* suspicion, after which the
//! detectors raise their timeout for n4. Prints who suspects whom, when.
//!
//! Run it with `cargo run --example failure_detector`.

use std::time::Duration;

use dsys::core::failure_detector::{Change, Heartbeat, HeartbeatConfig};
use dsys::core::sim::Simulation;
use dsys::core::NodeId;

fn main() -> anyhow::Result<()> {
    let ms = Duration::from_millis;
    let config = HeartbeatConfig::default();
    let mut sim = Simulation::new(5, 1, move |_| Heartbeat::new(config));
    sim.fault_at(ms(1000), dsys::core::sim::Fault::Crash(NodeId(3)))?;
    let rest = [NodeId(0), NodeId(1), NodeId(2)];
    sim.fault_at(
        ms(2000),
        dsys::core::sim::Fault::Partition(rest.to_vec(), vec![NodeId(4)]),
    )?;
    sim.fault_at(ms(2600), dsys::core::sim::Fault::Heal)?;
    sim.run_until(ms(4000))?;

    println!(
        "heartbeat every {:?}, suspect after {:?} of silence",
        config.period, config.timeout
    );
    println!("n3 crashes at 1000 ms; n4 is cut off from 2000 ms to 2600 ms\n");
    println!("  time (ms)  node  change");
    for (id, emitted) in sim.all_events() {
        let what = match emitted.event {
            Change::Suspect(peer) => format!("suspects {peer}"),
            Change::Trust(peer) => format!("trusts {peer} again (the suspicion was false)"),
        };
        println!("  {:>9}  {id}    {what}", emitted.time.as_millis());
    }
    println!("\nat the end:");
    for (id, node) in sim.nodes() {
        let detector = node.detector().expect("started");
        let timeouts: Vec<String> = sim
            .ids()
            .filter(|&p| p != id)
            .map(|p| format!("{p}:{:?}", detector.timeout_of(p).unwrap_or_default()))
            .collect();
        let suspects: Vec<String> = detector.suspects().iter().map(|p| p.to_string()).collect();
        println!(
            "  {id} suspects [{}]; timeouts {}",
            suspects.join(", "),
            timeouts.join(" ")
        );
    }
    println!(
        "\nn3 is suspected by everyone (completeness); n4 was suspected while cut off\n\
         although it never crashed (accuracy needs bounded delays), and the detectors\n\
         that were wrong about it now wait longer before suspecting it again."
    );
    Ok(())
}
