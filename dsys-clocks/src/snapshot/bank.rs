//! The bank: `N` branches that transfer money to each other at random —
//! the classic example for snapshots. No transfer creates or destroys
//! money, so every consistent snapshot holds the initial total, counting
//! the money in transit; [`check_conservation`] checks it.
//!
//! A [`Bank`] branch starts with [`BankConfig::initial_balance`]; every
//! `transfer_every_min..=transfer_every_max` (drawn from the node's RNG)
//! it sends a random peer a random amount of at most
//! [`BankConfig::amount_max`], never more than it holds, so balances never
//! go negative. The application may also ask for a transfer
//! ([`BankRequest::Transfer`]).
//!
//! ```
//! use std::time::Duration;
//! use dsys_clocks::snapshot::bank::{Bank, BankConfig};
//! use dsys_core::sim::Simulation;
//!
//! let branch = Bank::new(BankConfig::default()).unwrap();
//! let mut sim = Simulation::new(3, 5, move |_| branch.clone());
//! sim.run_until(Duration::from_millis(500)).unwrap();
//! let (sent, held): (u64, u64) = sim.nodes().fold((0, 0), |(s, h), (_, b)| {
//!     (s + b.transfers_sent(), h + b.balance())
//! });
//! assert!(sent > 100);
//! assert!(held <= 300); // the rest is in transit
//! ```

use std::time::Duration;

use dsys_core::rand::RngExt;
use dsys_core::{Context, Message, Node, NodeId};
use serde::{Deserialize, Serialize};

use super::{ConservationViolation, GlobalSnapshot};
use crate::{Error, Result};

/// How a branch behaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct BankConfig {
    /// Each branch's balance at start.
    pub initial_balance: u64,
    /// Shortest time between two transfers of a branch (local clock).
    pub transfer_every_min: Duration,
    /// Longest time between two transfers of a branch.
    pub transfer_every_max: Duration,
    /// The largest amount of one transfer.
    pub amount_max: u64,
}

impl Default for BankConfig {
    /// 100 per branch; a transfer of at most 30 every 2–8 ms.
    fn default() -> Self {
        BankConfig {
            initial_balance: 100,
            transfer_every_min: Duration::from_millis(2),
            transfer_every_max: Duration::from_millis(8),
            amount_max: 30,
        }
    }
}

impl BankConfig {
    /// Checks the values, with a message saying what to fix.
    pub fn validate(&self) -> Result<()> {
        if self.transfer_every_min.is_zero() {
            return Err(Error::InvalidConfig(
                "transfer_every_min must be longer than zero".to_string(),
            ));
        }
        if self.transfer_every_min > self.transfer_every_max {
            return Err(Error::InvalidConfig(format!(
                "transfer interval {:?}..={:?} is empty: the minimum must not exceed the maximum",
                self.transfer_every_min, self.transfer_every_max
            )));
        }
        if self.amount_max == 0 {
            return Err(Error::InvalidConfig(
                "amount_max must be at least 1".to_string(),
            ));
        }
        Ok(())
    }

    /// The money in a bank of `branches` branches.
    pub fn total(&self, branches: usize) -> u64 {
        self.initial_balance.saturating_mul(branches as u64)
    }
}

/// A transfer: `amount` leaves the sender and arrives at the receiver.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Transfer {
    /// The money carried.
    pub amount: u64,
}

impl Message for Transfer {}

/// The branch's one timer: make the next random transfer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct NextTransfer;

/// Requests from the application.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum BankRequest {
    /// Send `amount` to `to` now (to itself too: through the network).
    Transfer {
        /// The receiving branch.
        to: NodeId,
        /// The amount.
        amount: u64,
    },
}

/// Events to the application.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum BankEvent {
    /// A requested transfer was refused: the balance is too low.
    InsufficientFunds {
        /// The requested amount.
        amount: u64,
        /// The balance.
        balance: u64,
    },
}

/// A branch of the bank.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Bank {
    config: BankConfig,
    /// Whether it transfers at random by itself (or only when asked).
    automatic: bool,
    balance: u64,
    transfers_sent: u64,
    transfers_received: u64,
}

impl Bank {
    /// A branch holding `config.initial_balance`.
    pub fn new(config: BankConfig) -> Result<Self> {
        config.validate()?;
        Ok(Bank {
            config,
            automatic: true,
            balance: config.initial_balance,
            transfers_sent: 0,
            transfers_received: 0,
        })
    }

    /// A branch that transfers only when asked ([`BankRequest::Transfer`]),
    /// never by itself: for scripted runs and the model checker, where a
    /// timer that re-arms for ever would make every run endless.
    ///
    /// ```
    /// use dsys_clocks::snapshot::bank::{Bank, BankConfig};
    /// use dsys_core::testing::Harness;
    /// use dsys_core::NodeId;
    ///
    /// let mut h = Harness::new(Bank::on_request_only(BankConfig::default()).unwrap(), NodeId(0), 2);
    /// assert_eq!(h.start(), vec![]); // no timer
    /// ```
    pub fn on_request_only(config: BankConfig) -> Result<Self> {
        Ok(Bank {
            automatic: false,
            ..Bank::new(config)?
        })
    }

    /// The branch's balance.
    pub fn balance(&self) -> u64 {
        self.balance
    }

    /// The configuration.
    pub fn config(&self) -> &BankConfig {
        &self.config
    }

    /// Transfers sent so far.
    pub fn transfers_sent(&self) -> u64 {
        self.transfers_sent
    }

    /// Transfers received so far.
    pub fn transfers_received(&self) -> u64 {
        self.transfers_received
    }

    fn transfer(&mut self, ctx: &mut Context<'_, Self>, to: NodeId, amount: u64) {
        self.balance -= amount;
        self.transfers_sent += 1;
        ctx.send(to, Transfer { amount });
    }

    fn next_transfer(&self, ctx: &mut Context<'_, Self>) {
        let (min, max) = (
            self.config.transfer_every_min,
            self.config.transfer_every_max,
        );
        let after = if min >= max {
            min
        } else {
            ctx.rng().random_range(min..=max)
        };
        ctx.set_timer(after, NextTransfer);
    }
}

impl Node for Bank {
    type Msg = Transfer;
    type Timer = NextTransfer;
    type Request = BankRequest;
    type Event = BankEvent;

    fn on_start(&mut self, ctx: &mut Context<'_, Self>) {
        if self.automatic {
            self.next_transfer(ctx);
        }
    }

    fn on_message(&mut self, _ctx: &mut Context<'_, Self>, _from: NodeId, msg: Transfer) {
        self.balance = self.balance.saturating_add(msg.amount);
        self.transfers_received += 1;
    }

    fn on_timer(&mut self, ctx: &mut Context<'_, Self>, _timer: NextTransfer) {
        let peers = ctx.peers().len();
        if self.balance > 0 && peers > 0 {
            let pick = ctx.rng().random_range(0..peers);
            let to = ctx.peers()[pick];
            let most = self.balance.min(self.config.amount_max);
            let amount = ctx.rng().random_range(1..=most);
            self.transfer(ctx, to, amount);
        }
        self.next_transfer(ctx);
    }

    fn on_request(&mut self, ctx: &mut Context<'_, Self>, request: BankRequest) {
        match request {
            BankRequest::Transfer { to, amount } if amount <= self.balance => {
                self.transfer(ctx, to, amount)
            }
            BankRequest::Transfer { amount, .. } => ctx.emit(BankEvent::InsufficientFunds {
                amount,
                balance: self.balance,
            }),
        }
    }
}

/// The money a snapshot holds: every recorded balance plus every
/// recorded transfer in transit.
pub fn total(snapshot: &GlobalSnapshot<Bank>) -> u64 {
    let balances: u64 = snapshot.states.values().map(Bank::balance).sum();
    let in_transit: u64 = snapshot.in_transit().map(|(_, t)| t.amount).sum();
    balances + in_transit
}

/// Checks that a snapshot holds exactly `initial_total`: no money was
/// created or destroyed.
pub fn check_conservation(
    snapshot: &GlobalSnapshot<Bank>,
    initial_total: u64,
) -> std::result::Result<(), ConservationViolation> {
    super::check_conservation(snapshot, initial_total, Bank::balance, |t| t.amount)
}

#[cfg(test)]
mod tests {
    use super::*;
    use dsys_core::testing::Harness;
    use dsys_core::Effect;

    fn branch(initial_balance: u64) -> Bank {
        Bank::new(BankConfig {
            initial_balance,
            ..BankConfig::default()
        })
        .unwrap()
    }

    #[test]
    fn a_branch_counts_the_transfers_it_sends_and_receives() {
        let mut h = Harness::new(branch(50), NodeId(0), 3);
        h.start();
        let send = |to, amount| BankRequest::Transfer {
            to: NodeId(to),
            amount,
        };
        assert_eq!(
            h.request(send(1, 20)),
            vec![Effect::Send {
                to: NodeId(1),
                msg: Transfer { amount: 20 },
            }]
        );
        h.request(send(2, 30));
        assert_eq!((h.node().balance(), h.node().transfers_sent()), (0, 2));
        h.message(NodeId(1), Transfer { amount: 7 });
        h.message(NodeId(2), Transfer { amount: 5 });
        h.message(NodeId(2), Transfer { amount: 1 });
        assert_eq!(h.node().balance(), 13);
        assert_eq!(h.node().transfers_received(), 3);
        assert_eq!(h.node().transfers_sent(), 2);
    }

    #[test]
    fn a_branch_alone_has_nobody_to_pay_and_keeps_its_money() {
        let mut h = Harness::new(branch(100), NodeId(0), 1);
        h.start();
        for _ in 0..5 {
            let effects = h.timer(NextTransfer);
            assert!(
                matches!(
                    effects.as_slice(),
                    [Effect::SetTimer {
                        timer: NextTransfer,
                        ..
                    }]
                ),
                "{effects:?}"
            );
        }
        assert_eq!((h.node().balance(), h.node().transfers_sent()), (100, 0));
    }

    #[test]
    fn the_next_transfer_is_drawn_across_the_whole_interval() {
        // 2 to 8 ms by default: over many draws, both ends show up and so
        // does something between.
        let mut h = Harness::new(branch(100), NodeId(0), 2);
        let mut delays = std::collections::BTreeSet::new();
        for effect in h.start() {
            if let Effect::SetTimer { after, .. } = effect {
                delays.insert(after);
            }
        }
        for _ in 0..200 {
            h.message(NodeId(1), Transfer { amount: 30 }); // never runs dry
            for effect in h.timer(NextTransfer) {
                if let Effect::SetTimer { after, .. } = effect {
                    delays.insert(after);
                }
            }
        }
        let (first, last) = (delays.first().copied(), delays.last().copied());
        assert!(
            first < Some(Duration::from_millis(3)) && last > Some(Duration::from_millis(7)),
            "{delays:?}"
        );
        assert!(delays.len() > 10, "{delays:?}");
    }

    #[test]
    fn a_branch_keeps_its_configuration() {
        assert_eq!(branch(7).config().initial_balance, 7);
    }
}
