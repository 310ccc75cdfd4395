//! Lecture 2, concurrency: three classic bugs of threads sharing memory, each
//! shown happening and then fixed, with std threads and locks only.
//!
//! 1. A race condition: threads increment a shared counter with a separate
//!    read and write, so increments are lost; `fetch_add` or a `Mutex` fixes it.
//! 2. A deadlock: two threads take two locks in opposite orders and each waits
//!    forever for the other; taking locks in one global order fixes it.
//! 3. Starvation: under an unfair lock a waiting thread can be overtaken again
//!    and again, without bound; a ticket lock serves waiters first come, first
//!    served, so each gets its turn.
//!
//! Run it with `cargo run --example concurrency` (or with `--release`). It
//! finishes in about a second and never hangs: the deadlock is detected with a
//! timeout rather than waited out.

use std::hint::spin_loop;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Barrier, Mutex, MutexGuard, TryLockError};
use std::thread;
use std::time::{Duration, Instant};

fn main() {
    lost_update();
    deadlock();
    starvation();
}

// ---------------------------------------------------------------------------
// 1. Lost update
// ---------------------------------------------------------------------------

const COUNTER_THREADS: u64 = 4;
const INCREMENTS_PER_THREAD: u64 = 100_000;

fn lost_update() {
    println!("1. Race condition: a lost update");
    println!("   ------------------------------");
    let expected = COUNTER_THREADS * INCREMENTS_PER_THREAD;
    println!(
        "   {COUNTER_THREADS} threads each add 1 to a shared counter {INCREMENTS_PER_THREAD} times: expected total {expected}."
    );

    // The careless increment reads the counter, then writes back what it read
    // plus one. Each step is atomic, but the pair is not: another thread can
    // write between our load and our store, and our store then overwrites its
    // increment with a stale value. The spin in the middle stands for "some
    // work" and widens that window so the race shows up on every run.
    let careless = count_with(|counter| {
        let seen = counter.load(Ordering::Relaxed);
        for _ in 0..20 {
            spin_loop();
        }
        counter.store(seen + 1, Ordering::Relaxed);
    });
    let lost = expected - careless;
    println!("   load, then store(load + 1): total {careless}");
    if lost > 0 {
        println!(
            "     -> {lost} updates lost ({:.1}%): two threads read the same value and both wrote value + 1.",
            100.0 * lost as f64 / expected as f64
        );
    } else {
        println!(
            "     -> no update lost this time: the threads happened never to interleave between load and store."
        );
        println!("        The race is still there; run again and it will likely show.");
    }

    // fetch_add makes the read, the addition and the write one indivisible
    // step, so no other thread's increment can fall between them.
    let atomic = count_with(|counter| {
        counter.fetch_add(1, Ordering::Relaxed);
    });
    assert_eq!(atomic, expected, "fetch_add must never lose an update");
    println!("   fetch_add(1):               total {atomic} (exact)");

    // A Mutex gives the same guarantee for any read-modify-write, however many
    // steps it takes: only the thread holding the lock can touch the value.
    let counter = Mutex::new(0u64);
    run_threads(COUNTER_THREADS, |_| {
        for _ in 0..INCREMENTS_PER_THREAD {
            *lock(&counter) += 1;
        }
    });
    let locked = *lock(&counter);
    assert_eq!(locked, expected, "a Mutex must never lose an update");
    println!("   Mutex<u64>, lock then += 1: total {locked} (exact)");
    println!();
}

/// Runs `increment` `INCREMENTS_PER_THREAD` times on each of `COUNTER_THREADS`
/// threads, all on one shared counter, and returns the counter's final value.
fn count_with(increment: impl Fn(&AtomicU64) + Sync) -> u64 {
    let counter = AtomicU64::new(0);
    run_threads(COUNTER_THREADS, |_| {
        for _ in 0..INCREMENTS_PER_THREAD {
            increment(&counter);
        }
    });
    counter.into_inner()
}

/// Runs `body(i)` on threads `i = 0..n`, released together by a barrier so
/// that they really overlap, and waits for all of them.
fn run_threads(n: u64, body: impl Fn(u64) + Sync) {
    let start = Barrier::new(n as usize);
    thread::scope(|s| {
        for i in 0..n {
            let (start, body) = (&start, &body);
            s.spawn(move || {
                start.wait();
                body(i);
            });
        }
    });
}

/// Locks `mutex`, ignoring poisoning. A lock is poisoned when a thread panics
/// while holding it; here that panic is re-raised when its thread is joined,
/// failing the program anyway, so there is nothing more to report.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

// ---------------------------------------------------------------------------
// 2. Deadlock
// ---------------------------------------------------------------------------

const DEADLOCK_TIMEOUT: Duration = Duration::from_millis(200);

/// A bank account: a balance behind its own lock, and a name to print.
struct Account {
    name: &'static str,
    balance: Mutex<i64>,
}

/// What one thread saw while trying to transfer between two accounts.
struct Attempt {
    thread: &'static str,
    held: &'static str,
    wanted: &'static str,
    waited: Duration,
    got_it: bool,
}

fn deadlock() {
    println!("2. Deadlock: two locks taken in opposite orders");
    println!("   ---------------------------------------------");
    let x = Account {
        name: "X",
        balance: Mutex::new(100),
    };
    let y = Account {
        name: "Y",
        balance: Mutex::new(100),
    };

    // Thread A transfers from X to Y and thread B from Y to X; each locks the
    // account it takes money from first. The barrier makes both hold their
    // first lock before either asks for its second, so the bad interleaving
    // is certain instead of merely possible. Waiting uses try_lock with a
    // deadline so that the program reports the deadlock instead of hanging.
    println!("   thread A: lock X, then Y (transfer X -> Y)");
    println!("   thread B: lock Y, then X (transfer Y -> X)");
    let both_hold_first = Barrier::new(2);
    let both_gave_up = Barrier::new(2);
    let attempts: Vec<Attempt> = thread::scope(|s| {
        let (x_ref, y_ref) = (&x, &y);
        let barriers = (&both_hold_first, &both_gave_up);
        let a = s.spawn(move || transfer_or_give_up("A", x_ref, y_ref, barriers));
        let b = s.spawn(move || transfer_or_give_up("B", y_ref, x_ref, barriers));
        [a, b]
            .into_iter()
            .map(|handle| handle.join().expect("transfer thread panicked"))
            .collect()
    });
    for attempt in &attempts {
        let outcome = if attempt.got_it { "got it" } else { "gave up" };
        println!(
            "   thread {} holds {} and waited {} ms for {}: {outcome}",
            attempt.thread,
            attempt.held,
            attempt.waited.as_millis(),
            attempt.wanted
        );
    }
    // Each thread waits for a lock the other holds: a cycle in the wait-for
    // graph, which is exactly what a deadlock is. Neither can ever proceed, so
    // only the timeout (and giving up, which releases the held lock) ends it.
    let (a, b) = (&attempts[0], &attempts[1]);
    if !a.got_it && !b.got_it && a.wanted == b.held && b.wanted == a.held {
        println!(
            "     -> thread A waited {} ms for {} held by B; B waited for {} held by A: deadlock (circular wait).",
            DEADLOCK_TIMEOUT.as_millis(),
            a.wanted,
            b.wanted
        );
        println!("        Both then gave up and released their lock. The timeout turned a hang into an error the");
        println!(
            "        program can handle (back off, retry), but it does not prevent the deadlock."
        );
    } else {
        println!("     -> no circular wait this time: a thread got both locks.");
    }

    // The fix: every thread takes the locks in the same global order (here, by
    // account name), whatever the direction of its transfer. Then no thread
    // can hold the later lock while waiting for the earlier one, so no cycle
    // can form, and a plain blocking lock() is safe. Many transfers each way,
    // with both threads running flat out, show that they always get through.
    const TRANSFERS: u64 = 100_000;
    println!("   fix, lock ordering: both threads lock X before Y, whichever way the money goes");
    let started = Instant::now();
    run_threads(2, |i| {
        let (from, to) = if i == 0 { (&x, &y) } else { (&y, &x) };
        for _ in 0..TRANSFERS {
            let (first, second) = if from.name < to.name {
                (from, to)
            } else {
                (to, from)
            };
            let mut first_balance = lock(&first.balance);
            let mut second_balance = lock(&second.balance);
            let (from_balance, to_balance) = if first.name == from.name {
                (&mut *first_balance, &mut *second_balance)
            } else {
                (&mut *second_balance, &mut *first_balance)
            };
            *from_balance -= 1;
            *to_balance += 1;
        }
    });
    let total = *lock(&x.balance) + *lock(&y.balance);
    assert_eq!(total, 200, "transfers must conserve money");
    println!(
        "     -> A and B each made {TRANSFERS} transfers in {:.1} ms; both finished, and X + Y is still {total}.",
        started.elapsed().as_secs_f64() * 1e3
    );
    println!();
}

/// Moves 10 from `from` to `to`, locking `from` first, but gives up if `to`
/// stays locked for `DEADLOCK_TIMEOUT`. The barriers line the two threads up:
/// both hold their first lock before either asks for the second, and both keep
/// holding it until each has got its second lock or given up.
fn transfer_or_give_up(
    thread: &'static str,
    from: &Account,
    to: &Account,
    (both_hold_first, both_gave_up): (&Barrier, &Barrier),
) -> Attempt {
    let mut from_balance = lock(&from.balance);
    both_hold_first.wait();
    let started = Instant::now();
    let second = lock_within(&to.balance, started + DEADLOCK_TIMEOUT);
    let attempt = Attempt {
        thread,
        held: from.name,
        wanted: to.name,
        waited: started.elapsed(),
        got_it: second.is_some(),
    };
    if let Some(mut to_balance) = second {
        *from_balance -= 10;
        *to_balance += 10;
    }
    // Keep holding the first lock until the other thread has given up too.
    // Otherwise whichever thread times out first would release its lock just
    // in time for the other to get it, and only one of the two would see the
    // deadlock.
    both_gave_up.wait();
    attempt
}

/// Tries to lock `mutex` until `deadline`, polling with `try_lock`. Returns
/// `None` if the lock stayed busy the whole time.
fn lock_within<T>(mutex: &Mutex<T>, deadline: Instant) -> Option<MutexGuard<'_, T>> {
    loop {
        match mutex.try_lock() {
            Ok(guard) => return Some(guard),
            Err(TryLockError::Poisoned(poisoned)) => return Some(poisoned.into_inner()),
            Err(TryLockError::WouldBlock) => {}
        }
        if Instant::now() >= deadline {
            return None;
        }
        thread::sleep(Duration::from_millis(1));
    }
}

// ---------------------------------------------------------------------------
// 3. Starvation
// ---------------------------------------------------------------------------

const STARVATION_THREADS: u64 = 4;
const STARVATION_RUN: Duration = Duration::from_millis(250);
const HOLD: Duration = Duration::from_micros(2);

/// A ticket lock, the lock at a bakery counter: take a number, wait until it is
/// called. Tickets are handed out and served in the same order, so the lock is
/// fair: first come, first served, and nobody waits for more than everyone
/// ahead of them in the queue.
struct TicketLock {
    next_ticket: AtomicU64,
    now_serving: AtomicU64,
}

/// Holding this means holding the lock; dropping it serves the next ticket.
struct TicketGuard<'a> {
    lock: &'a TicketLock,
}

impl TicketLock {
    fn new() -> Self {
        TicketLock {
            next_ticket: AtomicU64::new(0),
            now_serving: AtomicU64::new(0),
        }
    }

    fn lock(&self) -> TicketGuard<'_> {
        // fetch_add gives every caller a distinct ticket, in arrival order.
        let ticket = self.next_ticket.fetch_add(1, Ordering::Relaxed);
        let mut spins = 0u32;
        // Acquire pairs with the Release in unlock: once our number is called,
        // we see everything the previous holder wrote inside the lock.
        while self.now_serving.load(Ordering::Acquire) != ticket {
            // Spin briefly, then yield the CPU: with more threads than cores
            // the holder, or the next in line, may need our core to run.
            if spins < 100 {
                spins += 1;
                spin_loop();
            } else {
                thread::yield_now();
            }
        }
        TicketGuard { lock: self }
    }
}

impl Drop for TicketGuard<'_> {
    fn drop(&mut self) {
        // Only the holder ever changes now_serving, so a plain add is enough.
        self.lock.now_serving.fetch_add(1, Ordering::Release);
    }
}

fn starvation() {
    println!("3. Starvation: an unfair lock versus a fair one");
    println!("   ---------------------------------------------");
    println!(
        "   {STARVATION_THREADS} greedy threads each lock, work {} us, unlock and lock again at once, for {} ms per lock.",
        HOLD.as_micros(),
        STARVATION_RUN.as_millis()
    );
    println!(
        "   {:<19} {:<31} {:>8} {:>10}",
        "", "acquisitions per thread", "fairness", "overtaken"
    );

    // std's Mutex promises nothing about who gets the lock next. A thread that
    // unlocks and immediately locks again is already running, while a waiter
    // that went to sleep must first be woken by the OS; the running thread
    // often wins that race, again and again, and the sleeper is overtaken.
    let mutex = Mutex::new(());
    let unfair = Summary::of(&compete(|critical_section| {
        let _guard = lock(&mutex);
        critical_section()
    }));
    unfair.print("std::sync::Mutex");

    // The ticket lock hands the lock to the longest waiter instead: a thread
    // that unlocks and locks again takes a new ticket at the back of the
    // queue, behind everyone already waiting.
    let ticket_lock = TicketLock::new();
    let fair = Summary::of(&compete(|critical_section| {
        let _guard = ticket_lock.lock();
        critical_section()
    }));
    fair.print("ticket lock (FIFO)");

    println!("   (fairness = fewest / most acquisitions of any thread, 1.00 is perfectly even; overtaken = the");
    println!("   most times other threads took the lock while one thread was waiting for it)");
    if unfair.fairness < 0.5 {
        println!("     -> Mutex: very uneven counts: the threads that kept winning the race to re-lock starved");
        println!("        the others.");
    } else {
        println!("     -> Mutex: the counts look fairly even, but only because the OS shares out CPU time over");
        println!("        the whole run.");
    }
    println!(
        "        While it waited, one thread saw the others take the lock {} times: nothing bounds how",
        unfair.overtaken
    );
    println!(
        "        often a waiter is overtaken, so under steady contention a thread can starve."
    );
    println!(
        "     -> ticket lock: a waiter was overtaken at most {} times, by the threads already queued ahead",
        fair.overtaken
    );
    println!(
        "        of it, one turn each (bounded waiting); so every thread gets a near-equal share."
    );
    if fair.total < unfair.total {
        println!(
            "        The price: {:.0}% fewer acquisitions in all, since each hand-over waits for the one",
            100.0 * (1.0 - fair.total as f64 / unfair.total as f64)
        );
        println!("        thread next in line to notice, instead of whichever thread happens to be running.");
    }
}

/// What one competing thread saw.
struct Contender {
    acquisitions: u64,
    /// The most times other threads took the lock while this one waited.
    overtaken: u64,
}

/// Runs `STARVATION_THREADS` threads that, for `STARVATION_RUN`, lock, run a
/// critical section of `HOLD`, unlock, and immediately lock again. The lock is
/// whatever `with_lock` takes: it must run the critical section it is given
/// while holding its lock, and return what that returned.
fn compete(with_lock: impl Fn(&dyn Fn() -> u64) -> u64 + Sync) -> Vec<Contender> {
    let stop = AtomicBool::new(false);
    // Counts every acquisition, by any thread, so a waiter can tell how many
    // times it was overtaken: the count when it got the lock minus the count
    // when it asked for it.
    let served = AtomicU64::new(0);
    // Threads start one by one, and the first would rack up acquisitions
    // alone before the last has even started. So a thread counts only the
    // acquisitions it asked for once every thread had joined in.
    let joined = AtomicU64::new(0);
    thread::scope(|s| {
        let handles: Vec<_> = (0..STARVATION_THREADS)
            .map(|_| {
                let (stop, served, joined, with_lock) = (&stop, &served, &joined, &with_lock);
                s.spawn(move || {
                    joined.fetch_add(1, Ordering::SeqCst);
                    let mut me = Contender {
                        acquisitions: 0,
                        overtaken: 0,
                    };
                    while !stop.load(Ordering::Relaxed) {
                        let counts = joined.load(Ordering::SeqCst) == STARVATION_THREADS;
                        let served_before = served.load(Ordering::Relaxed);
                        let overtaken = with_lock(&|| {
                            // The lock is held here. Spinning stands in for
                            // real work; it does not sleep, so the thread
                            // stays running and is ready to re-lock at once.
                            let overtaken = served.fetch_add(1, Ordering::Relaxed) - served_before;
                            let until = Instant::now() + HOLD;
                            while Instant::now() < until {
                                spin_loop();
                            }
                            overtaken
                        });
                        if counts {
                            me.acquisitions += 1;
                            me.overtaken = me.overtaken.max(overtaken);
                        }
                    }
                    me
                })
            })
            .collect();
        thread::sleep(STARVATION_RUN);
        stop.store(true, Ordering::Relaxed);
        handles
            .into_iter()
            .map(|handle| handle.join().expect("competing thread panicked"))
            .collect()
    })
}

/// The figures printed for one lock.
struct Summary {
    counts: Vec<u64>,
    total: u64,
    /// Fewest acquisitions of any thread divided by the most.
    fairness: f64,
    overtaken: u64,
}

impl Summary {
    fn of(contenders: &[Contender]) -> Summary {
        let counts: Vec<u64> = contenders.iter().map(|c| c.acquisitions).collect();
        let min = counts.iter().copied().min().unwrap_or(0);
        let max = counts.iter().copied().max().unwrap_or(0);
        Summary {
            total: counts.iter().sum(),
            fairness: if max == 0 {
                1.0
            } else {
                min as f64 / max as f64
            },
            counts,
            overtaken: contenders.iter().map(|c| c.overtaken).max().unwrap_or(0),
        }
    }

    fn print(&self, label: &str) {
        let columns: Vec<String> = self.counts.iter().map(|c| format!("{c:>7}")).collect();
        println!(
            "   {label:<19} {:<31} {:>8.2} {:>10}",
            columns.join(" "),
            self.fairness,
            self.overtaken
        );
    }
}
