//! A counting global allocator that keeps live heap bytes per owner, so a
//! simulation can tell the console's memory from the sandbox's (which grows
//! with its CDR table by design). Each allocation carries its owner in a
//! small header, so bytes freed by the other side (a reply body the sandbox
//! built and the console dropped) come off the right count.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicI64, Ordering};
use std::task::{Context, Poll};

/// Who allocates: anything not marked (the test harness, other threads).
pub const OTHER: u8 = 0;
/// The console under test (the library's session, feed, reducers).
pub const CONSOLE: u8 = 1;
/// The sandbox's code (handlers, the simulation, the push hub).
pub const SANDBOX: u8 = 2;

static LIVE: [AtomicI64; 3] = [AtomicI64::new(0), AtomicI64::new(0), AtomicI64::new(0)];

thread_local! {
    static OWNER: Cell<u8> = const { Cell::new(OTHER) };
}

// Room for the owner byte in front of every block; at least the block's alignment.
const HEADER: usize = 16;

fn owner() -> u8 {
    OWNER.try_with(Cell::get).unwrap_or(OTHER)
}

/// Live heap bytes allocated by `tag` and not yet freed.
pub fn live(tag: u8) -> i64 {
    LIVE.get(usize::from(tag)).map_or(0, |c| c.load(Ordering::Relaxed))
}

/// Marks this thread's allocations as `tag`'s from now on.
pub fn set_owner(tag: u8) {
    OWNER.with(|o| o.set(tag));
}

/// Runs `f` with this thread's allocations marked as `tag`'s.
pub fn as_owner<R>(tag: u8, f: impl FnOnce() -> R) -> R {
    let before = OWNER.with(|o| o.replace(tag));
    let r = f();
    OWNER.with(|o| o.set(before));
    r
}

/// A future whose every poll allocates as `tag`.
pub struct Owned<F> {
    tag: u8,
    inner: Pin<Box<F>>,
}

/// Wraps `f` so its work (each poll) is counted as `tag`'s.
pub fn owned<F: Future>(tag: u8, f: F) -> Owned<F> {
    Owned { tag, inner: Box::pin(f) }
}

impl<F: Future> Future for Owned<F> {
    type Output = F::Output;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let tag = self.tag;
        as_owner(tag, || self.inner.as_mut().poll(cx))
    }
}

/// The allocator: `#[global_allocator] static A: heap::Counting = heap::Counting;`.
pub struct Counting;

fn outer(l: Layout) -> Option<(Layout, usize)> {
    let pad = l.align().max(HEADER);
    Layout::from_size_align(l.size().checked_add(pad)?, pad).ok().map(|o| (o, pad))
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        let Some((o, pad)) = outer(l) else { return std::ptr::null_mut() };
        // SAFETY: `o` has a non-zero size (it includes the header).
        let base = unsafe { System.alloc(o) };
        if base.is_null() {
            return base;
        }
        let tag = owner();
        // SAFETY: `pad` bytes lie in front of the block inside the allocation.
        unsafe {
            let p = base.add(pad);
            p.sub(1).write(tag);
            if let Some(c) = LIVE.get(usize::from(tag)) {
                c.fetch_add(l.size() as i64, Ordering::Relaxed);
            }
            p
        }
    }

    unsafe fn realloc(&self, p: *mut u8, l: Layout, new_size: usize) -> *mut u8 {
        // The padding depends on the alignment only, so it is the same after.
        let Some((o, pad)) = outer(l) else { return std::ptr::null_mut() };
        let Some(new_outer) = new_size.checked_add(pad) else { return std::ptr::null_mut() };
        // SAFETY: `p` came from `alloc` with layout `l`; the header moves with the
        // block, so it stays counted to whoever allocated it.
        unsafe {
            let base = System.realloc(p.sub(pad), o, new_outer);
            if base.is_null() {
                return base;
            }
            let p = base.add(pad);
            let tag = p.sub(1).read();
            if let Some(c) = LIVE.get(usize::from(tag)) {
                c.fetch_add(new_size as i64 - l.size() as i64, Ordering::Relaxed);
            }
            p
        }
    }

    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        let Some((o, pad)) = outer(l) else { return };
        // SAFETY: `p` came from `alloc` with this layout, so its header is in front.
        unsafe {
            let tag = p.sub(1).read();
            if let Some(c) = LIVE.get(usize::from(tag)) {
                c.fetch_sub(l.size() as i64, Ordering::Relaxed);
            }
            System.dealloc(p.sub(pad), o);
        }
    }
}
