//! Fault schedules: scripts of partition, heal, crash, restart and wait steps.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::node::NodeId;

/// A fault the simulator can inject.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Fault {
    /// Crash a node: its state, timers and the messages in flight to it are lost.
    Crash(NodeId),
    /// Rebuild a crashed node from its factory (a live node is crashed first).
    Restart(NodeId),
    /// Freeze a node: messages, timers and requests for it wait until it resumes.
    Pause(NodeId),
    /// Unfreeze a paused node.
    Resume(NodeId),
    /// Cut every link between the two sides, both ways.
    Partition(Vec<NodeId>, Vec<NodeId>),
    /// Restore every cut link.
    Heal,
    /// Cut the one-way link `from → to`.
    CutLink(NodeId, NodeId),
    /// Restore the one-way link `from → to`.
    RestoreLink(NodeId, NodeId),
}

impl Fault {
    /// Every node the fault names.
    pub fn nodes(&self) -> Vec<NodeId> {
        match self {
            Fault::Crash(n) | Fault::Restart(n) | Fault::Pause(n) | Fault::Resume(n) => vec![*n],
            Fault::Partition(a, b) => a.iter().chain(b).copied().collect(),
            Fault::Heal => Vec::new(),
            Fault::CutLink(a, b) | Fault::RestoreLink(a, b) => vec![*a, *b],
        }
    }
}

/// One step of a [`Script`].
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Step {
    /// Let virtual time pass.
    Wait(Duration),
    /// Inject a fault.
    Fault(Fault),
}

/// A fault schedule: steps that run one after the other in virtual time,
/// starting when the script is handed to
/// [`Simulation::schedule`](super::Simulation::schedule).
///
/// ```
/// use std::time::Duration;
/// use dsys_core::{sim::Script, NodeId};
///
/// let script = Script::new()
///     .wait(Duration::from_millis(100))
///     .partition(&[NodeId(0), NodeId(1)], &[NodeId(2)])
///     .wait(Duration::from_millis(500))
///     .heal()
///     .crash(NodeId(1))
///     .wait(Duration::from_millis(200))
///     .restart(NodeId(1));
/// assert_eq!(script.steps().len(), 7);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Script {
    steps: Vec<Step>,
}

impl Script {
    /// An empty script.
    pub fn new() -> Self {
        Script::default()
    }

    /// The steps, in order.
    pub fn steps(&self) -> &[Step] {
        &self.steps
    }

    /// Appends a wait.
    pub fn wait(mut self, duration: Duration) -> Self {
        self.steps.push(Step::Wait(duration));
        self
    }

    /// Appends a fault.
    pub fn fault(mut self, fault: Fault) -> Self {
        self.steps.push(Step::Fault(fault));
        self
    }

    /// Appends a crash.
    pub fn crash(self, node: NodeId) -> Self {
        self.fault(Fault::Crash(node))
    }

    /// Appends a restart.
    pub fn restart(self, node: NodeId) -> Self {
        self.fault(Fault::Restart(node))
    }

    /// Appends a pause.
    pub fn pause(self, node: NodeId) -> Self {
        self.fault(Fault::Pause(node))
    }

    /// Appends a resume.
    pub fn resume(self, node: NodeId) -> Self {
        self.fault(Fault::Resume(node))
    }

    /// Appends a partition between two sides.
    pub fn partition(self, a: &[NodeId], b: &[NodeId]) -> Self {
        self.fault(Fault::Partition(a.to_vec(), b.to_vec()))
    }

    /// Appends a heal.
    pub fn heal(self) -> Self {
        self.fault(Fault::Heal)
    }

    /// Appends a one-way link cut.
    pub fn cut_link(self, from: NodeId, to: NodeId) -> Self {
        self.fault(Fault::CutLink(from, to))
    }

    /// Appends a one-way link restore.
    pub fn restore_link(self, from: NodeId, to: NodeId) -> Self {
        self.fault(Fault::RestoreLink(from, to))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_builder_appends_its_own_step_in_order() {
        let (a, b, c) = (NodeId(0), NodeId(1), NodeId(2));
        let script = Script::new()
            .wait(Duration::from_millis(5))
            .crash(a)
            .restart(a)
            .pause(b)
            .resume(b)
            .partition(&[a, b], &[c])
            .heal()
            .cut_link(c, a)
            .restore_link(c, a)
            .fault(Fault::Heal);
        assert_eq!(
            script.steps(),
            &[
                Step::Wait(Duration::from_millis(5)),
                Step::Fault(Fault::Crash(a)),
                Step::Fault(Fault::Restart(a)),
                Step::Fault(Fault::Pause(b)),
                Step::Fault(Fault::Resume(b)),
                Step::Fault(Fault::Partition(vec![a, b], vec![c])),
                Step::Fault(Fault::Heal),
                Step::Fault(Fault::CutLink(c, a)),
                Step::Fault(Fault::RestoreLink(c, a)),
                Step::Fault(Fault::Heal),
            ]
        );
        assert!(Script::new().steps().is_empty());
    }

    #[test]
    fn a_fault_names_every_node_it_touches_in_order() {
        let (a, b, c) = (NodeId(3), NodeId(1), NodeId(2));
        assert_eq!(Fault::Crash(a).nodes(), vec![a]);
        assert_eq!(Fault::Restart(b).nodes(), vec![b]);
        assert_eq!(Fault::Pause(c).nodes(), vec![c]);
        assert_eq!(Fault::Resume(a).nodes(), vec![a]);
        assert_eq!(Fault::Partition(vec![a, b], vec![c]).nodes(), vec![a, b, c]);
        assert_eq!(Fault::Heal.nodes(), vec![]);
        assert_eq!(Fault::CutLink(c, a).nodes(), vec![c, a]);
        assert_eq!(Fault::RestoreLink(b, c).nodes(), vec![b, c]);
    }
}
