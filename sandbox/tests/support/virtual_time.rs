//! Virtual time for simulations: the sandbox's manual clock is the one
//! source of "now"; futures sleep on it, and the driver jumps it straight to
//! the next thing due instead of waiting.

use std::cell::{Cell, RefCell};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use agent_console_sandbox::Clock;

/// Milliseconds since the simulation started, on the sandbox's manual clock.
pub struct VirtualTime {
    clock: Clock,
    start_ms: i64,
    timers: RefCell<BinaryHeap<Reverse<(u64, u64)>>>,
    wakers: RefCell<HashMap<u64, Waker>>,
    next_id: Cell<u64>,
}

impl VirtualTime {
    /// Time over `clock` (a [`Clock::manual`]), starting now.
    pub fn new(clock: Clock) -> Rc<Self> {
        let start_ms = clock.now_ms();
        Rc::new(Self {
            clock,
            start_ms,
            timers: RefCell::default(),
            wakers: RefCell::default(),
            next_id: Cell::new(0),
        })
    }

    /// Milliseconds since the start.
    pub fn now(&self) -> u64 {
        u64::try_from(self.clock.now_ms() - self.start_ms).unwrap_or(0)
    }

    /// The sandbox's wall clock (epoch ms).
    pub fn wall_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    /// Resolves `ms` from now.
    pub fn sleep(self: &Rc<Self>, ms: u64) -> Sleep {
        Sleep { time: self.clone(), due: self.now() + ms, id: None }
    }

    /// When the earliest sleeper wakes.
    pub fn next_due(&self) -> Option<u64> {
        self.timers.borrow().peek().map(|Reverse((t, _))| *t)
    }

    /// Moves time to `t` (never back) and wakes every sleeper due by then.
    pub fn advance_to(&self, t: u64) {
        let now = self.now();
        if t > now {
            self.clock.advance_ms((t - now) as i64);
        }
        loop {
            let due = {
                let mut timers = self.timers.borrow_mut();
                match timers.peek() {
                    Some(Reverse((at, _))) if *at <= t => timers.pop().map(|Reverse((_, id))| id),
                    _ => None,
                }
            };
            let Some(id) = due else { break };
            let waker = self.wakers.borrow_mut().remove(&id);
            if let Some(w) = waker {
                w.wake();
            }
        }
    }
}

/// A virtual-time sleep.
pub struct Sleep {
    time: Rc<VirtualTime>,
    due: u64,
    id: Option<u64>,
}

impl Future for Sleep {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.time.now() >= self.due {
            return Poll::Ready(());
        }
        let id = match self.id {
            Some(id) => id,
            None => {
                let id = self.time.next_id.get() + 1;
                self.time.next_id.set(id);
                self.time.timers.borrow_mut().push(Reverse((self.due, id)));
                self.id = Some(id);
                id
            }
        };
        self.time.wakers.borrow_mut().insert(id, cx.waker().clone());
        Poll::Pending
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        // A sleep dropped early (its task ended) leaves no waker behind.
        if let Some(id) = self.id {
            self.time.wakers.borrow_mut().remove(&id);
        }
    }
}

type Task = Pin<Box<dyn Future<Output = ()>>>;

/// A single-threaded executor for `!Send` futures (the library's are), run
/// until nothing can move without time passing.
#[derive(Default)]
pub struct Executor {
    tasks: RefCell<Vec<Option<Task>>>,
    free: RefCell<Vec<usize>>,
    incoming: RefCell<Vec<Task>>,
    ready: std::sync::Arc<std::sync::Mutex<std::collections::VecDeque<usize>>>,
    live: Cell<usize>,
    max_live: Cell<usize>,
}

struct TaskWaker {
    id: usize,
    ready: std::sync::Arc<std::sync::Mutex<std::collections::VecDeque<usize>>>,
}

impl std::task::Wake for TaskWaker {
    fn wake(self: std::sync::Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &std::sync::Arc<Self>) {
        if let Ok(mut q) = self.ready.lock() {
            q.push_back(self.id);
        }
    }
}

impl Executor {
    /// A new executor.
    pub fn new() -> Rc<Self> {
        Rc::new(Self::default())
    }

    /// Runs `f` from the next [`Executor::run_until_stalled`] on.
    pub fn spawn(&self, f: impl Future<Output = ()> + 'static) {
        self.incoming.borrow_mut().push(Box::pin(f));
    }

    /// Tasks not finished.
    pub fn live(&self) -> usize {
        self.live.get()
    }

    /// Most tasks alive at once.
    pub fn max_live(&self) -> usize {
        self.max_live.get()
    }

    /// Polls every woken task (and every new one) until none is left to poll.
    pub fn run_until_stalled(&self) {
        loop {
            let new: Vec<Task> = self.incoming.borrow_mut().drain(..).collect();
            for t in new {
                let id = match self.free.borrow_mut().pop() {
                    Some(id) => {
                        self.tasks.borrow_mut()[id] = Some(t);
                        id
                    }
                    None => {
                        let mut tasks = self.tasks.borrow_mut();
                        tasks.push(Some(t));
                        tasks.len() - 1
                    }
                };
                self.live.set(self.live.get() + 1);
                self.max_live.set(self.max_live.get().max(self.live.get()));
                self.ready.lock().unwrap().push_back(id);
            }
            let next = self.ready.lock().unwrap().pop_front();
            let Some(id) = next else {
                if self.incoming.borrow().is_empty() {
                    return;
                }
                continue;
            };
            // Taken out while it runs: it may spawn (borrowing `incoming` only).
            let task = self.tasks.borrow_mut().get_mut(id).and_then(Option::take);
            let Some(mut task) = task else { continue };
            let waker = Waker::from(std::sync::Arc::new(TaskWaker { id, ready: self.ready.clone() }));
            match task.as_mut().poll(&mut Context::from_waker(&waker)) {
                Poll::Ready(()) => {
                    self.free.borrow_mut().push(id);
                    self.live.set(self.live.get() - 1);
                }
                Poll::Pending => self.tasks.borrow_mut()[id] = Some(task),
            }
        }
    }
}
