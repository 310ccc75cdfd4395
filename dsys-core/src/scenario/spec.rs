//! The scenario strings the CLI and [`SimOptions`](super::SimOptions) take:
//! latency ranges, partitions, node-at-time events and Byzantine
//! strategies, each with `FromStr` and a `Display` that prints what parses
//! back.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use crate::error::{Error, Result};
use crate::node::NodeId;
use crate::sim::Strategy;

/// A latency range `MIN..MAX` in milliseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LatencyRange {
    /// Shortest delay.
    pub min: Duration,
    /// Longest delay.
    pub max: Duration,
}

impl FromStr for LatencyRange {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, String> {
        let (min, max) = match s.split_once("..") {
            Some((a, b)) => (parse_ms(a)?, parse_ms(b)?),
            None => {
                let v = parse_ms(s)?;
                (v, v)
            }
        };
        if min > max {
            return Err(format!(
                "latency range {s:?} is empty: write MIN..MAX with MIN <= MAX"
            ));
        }
        Ok(LatencyRange { min, max })
    }
}

/// A partition between two sides, from a time, until an optional heal.
/// Written `0,1|2,3@100..400` (heal at 400 ms) or `0|1,2@100` (never heals).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartitionSpec {
    /// One side.
    pub a: Vec<NodeId>,
    /// The other side.
    pub b: Vec<NodeId>,
    /// When the partition starts.
    pub from: Duration,
    /// When it heals (every link is restored), if ever.
    pub to: Option<Duration>,
}

impl FromStr for PartitionSpec {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, String> {
        let usage = "write SIDE|SIDE@FROM_MS[..TO_MS], e.g. 0,1|2,3@100..400";
        let (sides, times) = s
            .split_once('@')
            .ok_or_else(|| format!("partition {s:?} has no '@': {usage}"))?;
        let (a, b) = sides
            .split_once('|')
            .ok_or_else(|| format!("partition {s:?} has no '|' between its sides: {usage}"))?;
        let (from, to) = match times.split_once("..") {
            Some((f, t)) => (parse_ms(f)?, Some(parse_ms(t)?)),
            None => (parse_ms(times)?, None),
        };
        if to.is_some_and(|t| t < from) {
            return Err(format!("partition {s:?} heals before it starts: {usage}"));
        }
        let (a, b) = (parse_nodes(a)?, parse_nodes(b)?);
        if let Some(both) = a.iter().find(|n| b.contains(n)) {
            return Err(format!(
                "partition {s:?} puts {both} on both sides: a node can be on one side only"
            ));
        }
        Ok(PartitionSpec { a, b, from, to })
    }
}

impl fmt::Display for PartitionSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let side = |s: &[NodeId]| {
            s.iter()
                .map(|n| n.0.to_string())
                .collect::<Vec<_>>()
                .join(",")
        };
        write!(
            f,
            "{}|{}@{}",
            side(&self.a),
            side(&self.b),
            self.from.as_millis()
        )?;
        if let Some(to) = self.to {
            write!(f, "..{}", to.as_millis())?;
        }
        Ok(())
    }
}

/// A node and a time: `2@500` is node 2 at 500 ms.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NodeAt {
    /// The node.
    pub node: NodeId,
    /// The time.
    pub at: Duration,
}

impl FromStr for NodeAt {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, String> {
        let (node, at) = s
            .split_once('@')
            .ok_or_else(|| format!("{s:?}: write NODE@MS, e.g. 2@500"))?;
        Ok(NodeAt {
            node: parse_node(node)?,
            at: parse_ms(at)?,
        })
    }
}

impl fmt::Display for NodeAt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.node.0, self.at.as_millis())
    }
}

/// A Byzantine node for `dsys sim --byzantine`: `2:equivocate` makes node 2
/// lie by equivocating from the start. See [`StrategySpec`] for the
/// strategies and their parameters.
#[derive(Clone, Debug, PartialEq)]
pub struct ByzantineSpec {
    /// The node.
    pub node: NodeId,
    /// What it does to its messages.
    pub strategy: StrategySpec,
}

impl FromStr for ByzantineSpec {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, String> {
        let (node, strategy) = s.split_once(':').ok_or_else(|| {
            format!("{s:?}: write NODE:STRATEGY, e.g. 2:equivocate, 1:drop=0.5, 3:delay=20..80")
        })?;
        Ok(ByzantineSpec {
            node: parse_node(node)?,
            strategy: strategy.parse()?,
        })
    }
}

impl fmt::Display for ByzantineSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.node.0, self.strategy)
    }
}

/// A Byzantine strategy named on the command line.
///
/// | written | strategy |
/// |---|---|
/// | `drop`, `drop=P` | withhold each message with probability P (default 1: silent) |
/// | `delay`, `delay=MIN..MAX` | hold each message back MIN..MAX ms more (default 50..200) |
/// | `replay`, `replay=P` | with probability P (default 0.5) per send, also re-send an earlier message 1..100 ms later |
/// | `equivocate` | tell different peers different things: how is the algorithm's own ([`Lies`]) |
/// | `tamper` | alter every message the same way: how is the algorithm's own ([`Lies`]) |
///
/// The first three work for every algorithm; the last two need the
/// algorithm's scenario to say how its messages lie.
#[derive(Clone, Debug, PartialEq)]
pub enum StrategySpec {
    /// [`Strategy::Drop`].
    Drop {
        /// Probability of withholding a message.
        probability: f64,
    },
    /// [`Strategy::Delay`].
    Delay(LatencyRange),
    /// [`Strategy::Replay`], with extra delays of 1..100 ms.
    Replay {
        /// Probability, per send, of also re-sending an earlier message.
        probability: f64,
    },
    /// [`Strategy::Equivocate`] with the algorithm's [`Lies::equivocate`].
    Equivocate,
    /// [`Strategy::Tamper`] with the algorithm's [`Lies::tamper`].
    Tamper,
}

impl FromStr for StrategySpec {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, String> {
        let (name, parameter) = match s.split_once('=') {
            Some((n, p)) => (n.trim(), Some(p.trim())),
            None => (s.trim(), None),
        };
        let probability = |default: f64| -> std::result::Result<f64, String> {
            let Some(p) = parameter else {
                return Ok(default);
            };
            match p.parse::<f64>() {
                Ok(p) if (0.0..=1.0).contains(&p) => Ok(p),
                _ => Err(format!("{s:?}: {p:?} is not a probability in [0, 1]")),
            }
        };
        let none = || match parameter {
            None => Ok(()),
            Some(p) => Err(format!("{s:?}: {name} takes no parameter (got {p:?})")),
        };
        match name {
            "drop" => Ok(StrategySpec::Drop {
                probability: probability(1.0)?,
            }),
            "delay" => Ok(StrategySpec::Delay(match parameter {
                Some(range) => range.parse()?,
                None => LatencyRange {
                    min: Duration::from_millis(50),
                    max: Duration::from_millis(200),
                },
            })),
            "replay" => Ok(StrategySpec::Replay {
                probability: probability(0.5)?,
            }),
            "equivocate" => none().map(|()| StrategySpec::Equivocate),
            "tamper" => none().map(|()| StrategySpec::Tamper),
            _ => Err(format!(
                "unknown Byzantine strategy {name:?}: use drop[=P], delay[=MIN..MAX], replay[=P], equivocate or tamper"
            )),
        }
    }
}

impl fmt::Display for StrategySpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StrategySpec::Drop { probability } => write!(f, "drop={probability}"),
            StrategySpec::Delay(range) => write!(
                f,
                "delay={}..{}",
                range.min.as_millis(),
                range.max.as_millis()
            ),
            StrategySpec::Replay { probability } => write!(f, "replay={probability}"),
            StrategySpec::Equivocate => f.write_str("equivocate"),
            StrategySpec::Tamper => f.write_str("tamper"),
        }
    }
}

impl StrategySpec {
    /// The strategy for messages of type `M`, with `lies` for the
    /// algorithm-specific ones; `algorithm` names the algorithm in the
    /// error when it has no such lie.
    pub fn strategy<M: 'static>(&self, lies: &Lies<M>, algorithm: &str) -> Result<Strategy<M>> {
        let missing = |what: &str| {
            Error::InvalidConfig(format!(
                "--byzantine …:{what}: {algorithm} does not say how its messages {what}; \
                 use drop, delay or replay, which work for every algorithm"
            ))
        };
        Ok(match *self {
            StrategySpec::Drop { probability } => Strategy::drop(probability),
            StrategySpec::Delay(range) => Strategy::delay(range.min, range.max),
            StrategySpec::Replay { probability } => Strategy::replay(
                probability,
                Duration::from_millis(1),
                Duration::from_millis(100),
            ),
            StrategySpec::Equivocate => {
                let alter = lies.equivocate.ok_or_else(|| missing("equivocate"))?;
                Strategy::equivocate(alter)
            }
            StrategySpec::Tamper => {
                let tamper = lies.tamper.ok_or_else(|| missing("tamper"))?;
                Strategy::tamper(tamper)
            }
        })
    }
}

/// How an algorithm's messages lie: what `--byzantine K:equivocate` and
/// `K:tamper` do to them. An algorithm's scenario hands its lies to
/// [`run_scenario_lying`](super::run_scenario_lying); `drop`, `delay` and `replay` need none.
#[derive(Debug)]
pub struct Lies<M> {
    /// The message destination `to` gets in place of `msg` (different
    /// destinations should get different versions).
    pub equivocate: Option<fn(NodeId, &M) -> M>,
    /// An altered version of `msg`, the same for every destination.
    pub tamper: Option<fn(&M) -> M>,
}

impl<M> Lies<M> {
    /// No algorithm-specific lies.
    pub const NONE: Lies<M> = Lies {
        equivocate: None,
        tamper: None,
    };
}

fn parse_ms(s: &str) -> std::result::Result<Duration, String> {
    s.trim()
        .parse::<u64>()
        .map(Duration::from_millis)
        .map_err(|_| format!("{s:?} is not a whole number of milliseconds"))
}

fn parse_node(s: &str) -> std::result::Result<NodeId, String> {
    let s = s.trim();
    s.strip_prefix('n')
        .unwrap_or(s)
        .parse::<u32>()
        .map(NodeId)
        .map_err(|_| format!("{s:?} is not a node id (write 2 or n2)"))
}

fn parse_nodes(s: &str) -> std::result::Result<Vec<NodeId>, String> {
    let nodes = s
        .split(',')
        .map(parse_node)
        .collect::<std::result::Result<Vec<_>, _>>()?;
    Ok(nodes)
}
