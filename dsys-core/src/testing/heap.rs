//! Heap measurement for benchmarks: an allocator that counts live and
//! peak bytes, and [`peak_heap`], the peak a closure added.
//!
//! A benchmark installs it as its global allocator:
//!
//! ```
//! use dsys_core::testing::heap::{peak_heap, Counting};
//!
//! #[global_allocator]
//! static ALLOCATOR: Counting = Counting;
//!
//! let (v, peak) = peak_heap(|| vec![0u8; 1 << 20]);
//! assert_eq!(v.len(), 1 << 20);
//! assert!(peak >= 1 << 20);
//! ```
//!
//! Without it installed, [`peak_heap`] answers 0.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicIsize, Ordering};

/// The system allocator, counting live and peak bytes while [`peak_heap`]
/// runs (and costing one relaxed load per call the rest of the time, so a
/// timing taken outside [`peak_heap`] is the system allocator's).
#[derive(Clone, Copy, Debug, Default)]
pub struct Counting;

static ON: AtomicBool = AtomicBool::new(false);
static LIVE: AtomicIsize = AtomicIsize::new(0);
static PEAK: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every call is forwarded as is to the system allocator; the
// counters only observe.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded as is to the system allocator.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() && ON.load(Ordering::Relaxed) {
            let size = layout.size() as isize;
            let live = LIVE.fetch_add(size, Ordering::Relaxed) + size;
            PEAK.fetch_max(live, Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded as is to the system allocator.
        unsafe { System.dealloc(ptr, layout) };
        if ON.load(Ordering::Relaxed) {
            LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        }
    }
}

/// Runs `f`, answering its result and the peak heap it added, as
/// [`Counting`] saw it: the most bytes allocated and not yet freed at any
/// moment since `f` began. (Memory allocated before and freed during `f`
/// counts against it, so that is a lower bound; not thread-safe with a
/// second `peak_heap` at once.)
pub fn peak_heap<T>(f: impl FnOnce() -> T) -> (T, usize) {
    LIVE.store(0, Ordering::Relaxed);
    PEAK.store(0, Ordering::Relaxed);
    ON.store(true, Ordering::Relaxed);
    let out = f();
    ON.store(false, Ordering::Relaxed);
    (out, PEAK.load(Ordering::Relaxed).max(0) as usize)
}
