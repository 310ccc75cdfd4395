//! A network scheduled by hand: [`Scripted`], for runs where the order of
//! every delivery is the point (a hostile schedule, a counterexample).
//!
//! The simulator chooses delays at random from its seed; some lessons need
//! an adversary instead — one that delivers *this* message before *that*
//! one, fires a timer now, crashes a node in between. `Scripted` holds the
//! nodes, the messages in flight and the pending timers, and does nothing
//! until told: deliver the first message matching a predicate, fire a
//! timer, crash, restart. No message is ever lost unless the script drops
//! it. Invariants run after every step, as in the simulator.
//!
//! ```
//! use dsys_consensus::paxos::scripted::Scripted;
//! use dsys_consensus::paxos::{Msg, Paxos, PaxosConfig, PaxosRequest};
//! use dsys_consensus::stable::Stable;
//! use dsys_core::NodeId;
//!
//! let mut net = Scripted::new(3, |_| Paxos::<u64>::new(PaxosConfig::default(), Stable::default()).unwrap());
//! net.start_all().unwrap();
//! net.request(NodeId(0), PaxosRequest::Propose(7)).unwrap();
//! // Every message, in the order sent, until none is left.
//! while net.deliver_first(|_| true).unwrap() {}
//! assert!(net.nodes().all(|(_, n)| n.decided() == Some(&7)));
//! ```

use std::fmt;
use std::time::Duration;

use dsys_core::driver::Driver;
use dsys_core::{Effect, Input, InputOf, Node, NodeId};

type InvariantFn<N> = Box<dyn FnMut(&[Option<N>]) -> Result<(), String>>;

/// A message in flight.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Envelope<M> {
    /// The sender.
    pub from: NodeId,
    /// The destination.
    pub to: NodeId,
    /// The message.
    pub msg: M,
}

/// Nodes on a network that delivers only what the script says, when it
/// says (see the [module](self)).
pub struct Scripted<N: Node> {
    factory: Box<dyn FnMut(NodeId) -> N>,
    nodes: Vec<Option<N>>,
    drivers: Vec<Driver<N>>,
    incarnations: Vec<u64>,
    timers: Vec<Vec<N::Timer>>,
    in_flight: Vec<Envelope<N::Msg>>,
    events: Vec<(NodeId, N::Event)>,
    now: Duration,
    invariants: Vec<(String, InvariantFn<N>)>,
    steps: u64,
}

impl<N: Node> fmt::Debug for Scripted<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Scripted")
            .field("nodes", &self.nodes.len())
            .field("in_flight", &self.in_flight.len())
            .field("steps", &self.steps)
            .finish_non_exhaustive()
    }
}

impl<N: Node> Scripted<N> {
    /// `n` nodes built by `factory`, not yet started.
    pub fn new(n: usize, mut factory: impl FnMut(NodeId) -> N + 'static) -> Self {
        let ids: Vec<NodeId> = (0..n as u32).map(NodeId).collect();
        let drivers = ids.iter().map(|&id| Self::driver(&ids, id, 0)).collect();
        let nodes = ids.iter().map(|&id| Some(factory(id))).collect();
        Scripted {
            factory: Box::new(factory),
            nodes,
            drivers,
            incarnations: vec![0; n],
            timers: vec![Vec::new(); n],
            in_flight: Vec::new(),
            events: Vec::new(),
            now: Duration::ZERO,
            invariants: Vec::new(),
            steps: 0,
        }
    }

    fn driver(ids: &[NodeId], id: NodeId, incarnation: u64) -> Driver<N> {
        let peers: Vec<NodeId> = ids.iter().copied().filter(|&p| p != id).collect();
        Driver::seeded(id, peers, 0, incarnation)
    }

    /// Checks `check` over all node states after every step from now on.
    pub fn invariant(
        &mut self,
        name: impl Into<String>,
        check: impl FnMut(&[Option<N>]) -> Result<(), String> + 'static,
    ) {
        self.invariants.push((name.into(), Box::new(check)));
    }

    /// Starts every node, in id order.
    pub fn start_all(&mut self) -> Result<(), String> {
        (0..self.nodes.len()).try_for_each(|i| self.run(NodeId(i as u32), Input::Start))
    }

    /// Moves the clock the nodes read.
    pub fn advance(&mut self, by: Duration) {
        self.now += by;
    }

    /// Hands `request` to `node`.
    pub fn request(&mut self, node: NodeId, request: N::Request) -> Result<(), String> {
        self.run(node, Input::Request(request))
    }

    /// Delivers the first message in flight that `which` accepts. `Ok(false)`
    /// if none does. A message to a crashed node is lost.
    pub fn deliver_first(
        &mut self,
        which: impl Fn(&Envelope<N::Msg>) -> bool,
    ) -> Result<bool, String> {
        let Some(i) = self.in_flight.iter().position(which) else {
            return Ok(false);
        };
        let Envelope { from, to, msg } = self.in_flight.remove(i);
        if self.nodes[to.index()].is_some() {
            self.run(to, Input::Message { from, msg })?;
        }
        Ok(true)
    }

    /// Delivers, one at a time in order, every message `which` accepts —
    /// including those sent meanwhile — until none is left; returns how many.
    pub fn deliver_all(
        &mut self,
        which: impl Fn(&Envelope<N::Msg>) -> bool,
    ) -> Result<usize, String> {
        let mut delivered = 0;
        while self.deliver_first(&which)? {
            delivered += 1;
        }
        Ok(delivered)
    }

    /// Fires `timer` at `node` if it is pending there. `Ok(false)` if not.
    pub fn fire(&mut self, node: NodeId, timer: N::Timer) -> Result<bool, String> {
        let pending = &mut self.timers[node.index()];
        let Some(i) = pending.iter().position(|t| *t == timer) else {
            return Ok(false);
        };
        pending.remove(i);
        self.run(node, Input::Timer(timer))?;
        Ok(true)
    }

    /// Crashes `node`: its state, its timers and the messages in flight to
    /// it are gone (as in the simulator); what it sent is still in flight.
    pub fn crash(&mut self, node: NodeId) {
        self.nodes[node.index()] = None;
        self.timers[node.index()].clear();
        self.in_flight.retain(|m| m.to != node);
    }

    /// Restarts `node` from the factory (which hands it its stable storage).
    pub fn restart(&mut self, node: NodeId) -> Result<(), String> {
        let i = node.index();
        self.incarnations[i] += 1;
        let ids: Vec<NodeId> = (0..self.nodes.len() as u32).map(NodeId).collect();
        self.drivers[i] = Self::driver(&ids, node, self.incarnations[i]);
        self.nodes[i] = Some((self.factory)(node));
        self.run(node, Input::Start)
    }

    /// Messages in flight, in the order they were sent.
    pub fn in_flight(&self) -> &[Envelope<N::Msg>] {
        &self.in_flight
    }

    /// The timers pending at `node`.
    pub fn pending_timers(&self, node: NodeId) -> &[N::Timer] {
        &self.timers[node.index()]
    }

    /// A node's state, `None` if crashed.
    pub fn node(&self, node: NodeId) -> Option<&N> {
        self.nodes[node.index()].as_ref()
    }

    /// Every live node with its id.
    pub fn nodes(&self) -> impl Iterator<Item = (NodeId, &N)> + '_ {
        self.nodes
            .iter()
            .enumerate()
            .filter_map(|(i, n)| n.as_ref().map(|n| (NodeId(i as u32), n)))
    }

    /// Every event emitted so far, in order, with its node.
    pub fn events(&self) -> &[(NodeId, N::Event)] {
        &self.events
    }

    /// Steps taken (inputs handled).
    pub fn steps(&self) -> u64 {
        self.steps
    }

    fn run(&mut self, id: NodeId, input: InputOf<N>) -> Result<(), String> {
        let i = id.index();
        let Some(node) = self.nodes[i].as_mut() else {
            return Ok(());
        };
        self.steps += 1;
        let effects = self.drivers[i].handle(node, self.now, input);
        for effect in effects {
            match effect {
                Effect::Send { to, msg } => self.in_flight.push(Envelope { from: id, to, msg }),
                Effect::SetTimer { timer, .. } => {
                    if !self.timers[i].contains(&timer) {
                        self.timers[i].push(timer);
                    }
                }
                Effect::CancelTimer { timer } => self.timers[i].retain(|t| *t != timer),
                Effect::Emit(event) => self.events.push((id, event)),
            }
        }
        for (name, check) in &mut self.invariants {
            check(&self.nodes).map_err(|why| format!("{name}: {why}"))?;
        }
        Ok(())
    }
}
