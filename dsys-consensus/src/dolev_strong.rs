//! # Dolev–Strong authenticated broadcast
//!
//! **Problem.** Byzantine broadcast (the Byzantine generals problem with
//! one commander): a designated *sender* holds a value; every node must
//! decide a value such that
//!
//! - *Agreement*: every correct node decides the same value;
//! - *Validity*: if the sender is correct, every correct node decides the
//!   sender's value;
//! - *Termination*: every correct node decides (here: by the end of round
//!   f + 1),
//!
//! while up to f nodes, the sender possibly among them, are *traitors*
//! (Byzantine: they may lie, stay silent, send different things to
//! different nodes, collude). With oral messages this needs N > 3f (Lamport,
//! Shostak & Pease 1982: three generals cannot cope with one traitor).
//! Signatures change the bound: a relay can no longer lie about what the
//! sender said, only withhold or delay it, and Dolev–Strong tolerates any
//! f < N — three nodes with one traitor included.
//!
//! **Algorithm.** Time is divided into f + 1 synchronous rounds of
//! [`DolevStrongConfig::round_length`], counted by timers from a common
//! start. A *chain* for value v is v signed by the sender, then by each
//! node that vouched for it, every signature covering v and all earlier
//! signatures ([`SignedChain`]).
//!
//! 1. *Round 1.* The sender signs its value, sends the chain to every
//!    other node, and accepts the value itself.
//! 2. *Round r = 1 … f + 1, receiving.* A chain for a value not yet
//!    accepted is accepted if it carries at least r valid signatures from
//!    r distinct nodes, the sender's first ([`SignedChain::check`]);
//!    anything else is rejected ([`Rejection`]).
//! 3. *Start of round r + 1 (r ≤ f), relaying.* Every value accepted in
//!    round r is relayed: the node appends its own signature (r + 1 now)
//!    and sends the chain to every node that has not signed it.
//! 4. *End of round f + 1, deciding.* If exactly one value was accepted,
//!    decide it; if none or several, decide the default ⊥ (the sender is
//!    then certainly a traitor).
//!
//! A node stops looking at chains once it has accepted two values: a
//! second value already means ⊥, and relaying it is enough for everyone
//! else to see two as well. This bounds the work of a correct node.
//!
//! *Why it works.* If a correct node accepts v in a round r ≤ f, it relays
//! v with r + 1 signatures, so every correct node accepts v in round r + 1
//! at the latest. If it accepts v only in round f + 1, the chain carries
//! f + 1 distinct signers, so at least one is correct, and that one
//! accepted v earlier and relayed it to everyone. Hence all correct nodes
//! end with the same accepted values (or all with two or more) and decide
//! alike. A correct sender signs one value, and nobody can forge its
//! signature on another, so every correct node accepts exactly that value.
//! *Why f + 1 rounds:* f colluding traitors can sign a second value and
//! reveal it to one correct node late ([`Traitor::LateReveal`]); in round f
//! that node still has a round to pass it on, and in round f + 1 the chain
//! would need an (f + 1)-th, correct, signer.
//!
//! **Assumptions.**
//! - *Synchrony*: a message sent at the start of a round arrives before
//!   the round ends, and nodes start together with clocks that agree:
//!   [`DolevStrongConfig::round_length`] must exceed the longest delay
//!   plus the largest clock difference. When this breaks, a correct
//!   node's chain arrives a round late with one signature too few and is
//!   rejected: a slow correct node is indistinguishable from a traitor that
//!   delays. Once slow links and traitors together exceed f, Agreement or
//!   Validity fail (the tests show a correct sender with slow links making
//!   everyone decide ⊥, and a lagging clock deciding after round f + 1).
//! - *Reliable links*: a lost message is an omission, so its sender counts
//!   as faulty. Duplicates and reordering within a round are harmless.
//! - *Authentication*: a public-key infrastructure (every node knows every
//!   node's public key beforehand, [`Keyring`]) and unforgeable signatures
//!   (ed25519, `ed25519-dalek`, verified strictly). Every signature covers
//!   [`DolevStrongConfig::instance`], so chains cannot be replayed into
//!   another broadcast. In the simulator the keys are derived from a seed
//!   ([`NodeKey::derived`]); a node never generates a key or reads
//!   randomness itself: its key is part of its configuration.
//! - A crashed or restarted node is a faulty one (it counts toward f).
//!
//! **Properties** ([`properties`]): Agreement, Validity, Termination in
//! f + 1 rounds, judged on correct nodes, each with a checker.
//!
//! **Cost.** f + 1 rounds of virtual time, whatever happens. With a correct
//! sender and no traitor: N − 1 messages in round 1 and (N − 1)(N − 2) in
//! round 2, (N − 1)² in all for f ≥ 1 (N − 1 for f = 0); N signatures made,
//! N − 1 verified (a chain for a value already accepted is not verified
//! again). In any run, a correct node relays at most two values to at most
//! N − 2 nodes each, so correct nodes send at most (N − 1) + 2(N − 1)(N − 2)
//! messages ([`simulation::messages_bound`]); a chain carries at most
//! f + 1 signatures of 68 bytes (signer and signature): O(N² f) bytes, the
//! paper's bound.
//!
//! **Traitors and broken variants.** A traitor is a Dolev–Strong node with a
//! [`Traitor`] strategy in its configuration (silent, forging, delaying,
//! repeating its signature, equivocating, reaching only some nodes, a
//! coalition's late reveal); [`simulation::plans`] scripts which nodes are
//! traitors and what they do. A [`Defect`] is a deliberate bug in the
//! correct nodes (accepting chains shorter than the round, not relaying),
//! which the checkers catch.
//!
//! **Sources.** D. Dolev and H. R. Strong, "Authenticated algorithms for
//! Byzantine agreement", *SIAM Journal on Computing* 12(4), 1983; L.
//! Lamport, R. Shostak and M. Pease, "The Byzantine generals problem",
//! *ACM TOPLAS* 4(3), 1982, §4 (signed messages, SM(m)); course lecture 8.
//!
//! ```
//! use dsys_consensus::dolev_strong::simulation::Cluster;
//! use dsys_consensus::dolev_strong::{Decision, Traitor};
//! use dsys_core::sim::Simulation;
//! use dsys_core::NodeId;
//!
//! // Three nodes, one traitor: the sender, telling n1 "1" and n2 "2".
//! let mut cluster = Cluster::new(3, 1);
//! cluster.traitors.push((NodeId(0), Traitor::Equivocate { other: 2 }));
//! let mut sim = Simulation::new(3, 7, cluster.factory().unwrap());
//! sim.run_until(cluster.deadline()).unwrap();
//! for id in [NodeId(1), NodeId(2)] {
//!     assert_eq!(sim.node(id).unwrap().decision(), Some(Decision::Default));
//! }
//! assert!(cluster.judge(&sim).iter().all(|(_, verdict)| verdict.is_ok()));
//! ```

mod chain;
pub mod model;
mod node;
pub mod properties;
pub mod simulation;

pub use chain::{Keyring, Link, NodeKey, Rejection, SignedChain, Value};
pub use node::{Decision, Defect, DolevStrong, DolevStrongConfig, Event, Msg, Timer, Traitor};
