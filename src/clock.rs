//! The clock abstraction. Engine code never reads the wall clock directly (clippy's
//! `disallowed-methods` enforces it); it asks a [`Clock`], so tests can run on virtual time.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};

/// A source of "now".
pub trait Clock: Send + Sync + std::fmt::Debug + 'static {
    /// The current instant.
    fn now(&self) -> DateTime<Utc>;

    /// Whether this clock follows the machine's real time, so that a wait for one of its
    /// instants may use the operating system's timers; a virtual clock's waits stay on tokio's
    /// timer, which tests control.
    fn is_wall_clock(&self) -> bool {
        false
    }
}

/// The real wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[allow(clippy::disallowed_methods)] // The one sanctioned wall-clock read.
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }

    fn is_wall_clock(&self) -> bool {
        true
    }
}

/// A clock that only moves when told to, for deterministic tests and simulations.
#[derive(Debug, Clone)]
pub struct ManualClock {
    // A std mutex is right here: the critical section is a copy, never held across an await.
    now: Arc<Mutex<DateTime<Utc>>>,
}

impl ManualClock {
    /// A clock stopped at `start`.
    pub fn new(start: DateTime<Utc>) -> Self {
        Self { now: Arc::new(Mutex::new(start)) }
    }

    /// Moves the clock forward by `by` (a negative duration moves it back, which tests of
    /// clock skew may want).
    pub fn advance(&self, by: chrono::Duration) {
        let mut now = self.now.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        *now += by;
    }

    /// Sets the clock to `to`.
    pub fn set(&self, to: DateTime<Utc>) {
        *self.now.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = to;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.now.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Waits that end on the instant: how a run claimed ahead starts on its scheduled instant.
///
/// tokio's timer counts whole milliseconds: a sleep's deadline is rounded up to the next tick
/// of its wheel, and the runtime then parks in `epoll_wait`, whose timeout is whole
/// milliseconds too. A run claimed ahead (`EngineConfig::claim_ahead`) that waited with
/// `tokio::time::sleep` started a median 1.3 ms after its instant (measured on Postgres in the
/// engine benchmark's idle-lateness case), and every record-and-claim cycle after that first
/// batch started that much later too. Here one thread per process keeps the pending deadlines
/// in a heap and waits for the earliest with a condition variable, whose timeout the kernel
/// keeps to microseconds (a futex with a high-resolution timer); at the deadline it completes
/// each waiter's oneshot channel. A waiter never ends early: the thread fires only deadlines
/// that have passed.
///
/// Only waits on the wall clock come here; an engine on a virtual clock (tests) keeps tokio's
/// timer, which `tokio::time::pause` controls.
mod on_time {
    use std::cmp::Reverse;
    use std::collections::BinaryHeap;
    use std::sync::{Condvar, Mutex, OnceLock};
    use std::time::{Duration, Instant};

    use tokio::sync::oneshot;

    /// Waits for `duration` on the wall clock, ending within microseconds after it, never before.
    /// Dropping the future abandons the wait (the thread drops its entry at the deadline).
    pub(crate) async fn sleep(duration: Duration) {
        if duration.is_zero() {
            return;
        }
        let deadline = Instant::now() + duration;
        let Some(timer) = timer() else {
            // No thread (it could not be started): tokio's timer is late, never early.
            return tokio::time::sleep_until(deadline.into()).await;
        };
        let (fire, fired) = oneshot::channel();
        timer.add(deadline, fire);
        if fired.await.is_err() {
            // The thread dropped the entry without firing it (it cannot, short of a panic there):
            // wait out the rest on tokio's timer rather than start early.
            tokio::time::sleep_until(deadline.into()).await;
        }
    }

    /// A pending deadline. Entries compare by deadline alone: a heap holds equal elements, and
    /// entries with the same deadline fire in the same pass, in whatever order.
    struct Entry {
        deadline: Instant,
        fire: oneshot::Sender<()>,
    }

    impl PartialEq for Entry {
        fn eq(&self, other: &Self) -> bool {
            self.deadline == other.deadline
        }
    }

    impl Eq for Entry {}

    impl PartialOrd for Entry {
        fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
            Some(self.cmp(other))
        }
    }

    impl Ord for Entry {
        fn cmp(&self, other: &Self) -> std::cmp::Ordering {
            self.deadline.cmp(&other.deadline)
        }
    }

    #[derive(Default)]
    struct Pending {
        /// Earliest first.
        heap: BinaryHeap<Reverse<Entry>>,
    }

    /// The process's timer thread and its deadlines.
    struct Timer {
        pending: Mutex<Pending>,
        /// Signalled when a deadline earlier than every pending one arrives.
        earlier: Condvar,
    }

    impl Timer {
        fn lock(&self) -> std::sync::MutexGuard<'_, Pending> {
            self.pending.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
        }

        fn add(&self, deadline: Instant, fire: oneshot::Sender<()>) {
            let mut pending = self.lock();
            let earliest =
                pending.heap.peek().is_none_or(|Reverse(first)| deadline < first.deadline);
            pending.heap.push(Reverse(Entry { deadline, fire }));
            drop(pending);
            if earliest {
                self.earlier.notify_one();
            }
        }

        /// The thread: fires every deadline that has passed, then sleeps until the earliest left
        /// (or until an earlier one is added).
        fn serve(&self) {
            let mut pending = self.lock();
            loop {
                let now = Instant::now();
                while pending.heap.peek().is_some_and(|Reverse(first)| first.deadline <= now) {
                    if let Some(Reverse(due)) = pending.heap.pop() {
                        // An abandoned wait has dropped its receiver: nothing to do.
                        let _ = due.fire.send(());
                    }
                }
                pending = match pending.heap.peek().map(|Reverse(first)| first.deadline - now) {
                    Some(until) => {
                        self.earlier
                            .wait_timeout(pending, until)
                            .unwrap_or_else(|poisoned| poisoned.into_inner())
                            .0
                    }
                    None => {
                        self.earlier.wait(pending).unwrap_or_else(|poisoned| poisoned.into_inner())
                    }
                };
            }
        }
    }

    /// The timer, its thread started on first use; `None` if the thread could not be started.
    fn timer() -> Option<&'static Timer> {
        static TIMER: OnceLock<Option<&'static Timer>> = OnceLock::new();
        *TIMER.get_or_init(|| {
            let timer: &'static Timer = Box::leak(Box::new(Timer {
                pending: Mutex::new(Pending::default()),
                earlier: Condvar::new(),
            }));
            match std::thread::Builder::new().name("rota-on-time".into()).spawn(|| timer.serve()) {
                Ok(_) => Some(timer),
                Err(error) => {
                    tracing::warn!(%error, "could not start the timer thread; runs claimed ahead start on tokio's timer (about a millisecond late)");
                    None
                }
            }
        })
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[tokio::test]
        async fn waits_never_end_before_their_deadline_in_any_order() {
            // Deadlines added latest first, so each new one is the earliest and wakes the thread.
            let waits: Vec<_> = (0..20u64)
                .rev()
                .map(|step| {
                    let duration = Duration::from_micros(300 * step);
                    tokio::spawn(async move {
                        let deadline = Instant::now() + duration;
                        sleep(duration).await;
                        Instant::now() >= deadline
                    })
                })
                .collect();
            for wait in waits {
                assert!(wait.await.unwrap(), "a wait ended before its deadline");
            }
        }

        #[tokio::test]
        async fn waits_with_the_same_deadline_all_end_on_it() {
            let timer = timer().expect("the timer thread");
            let deadline = Instant::now() + Duration::from_millis(2);
            let waits: Vec<_> = (0..5)
                .map(|_| {
                    let (fire, fired) = oneshot::channel();
                    timer.add(deadline, fire);
                    fired
                })
                .collect();
            for fired in waits {
                fired.await.expect("fired");
                assert!(Instant::now() >= deadline, "a wait ended before its deadline");
            }
        }

        #[tokio::test]
        async fn an_abandoned_wait_does_not_disturb_the_others() {
            let abandoned = tokio::spawn(sleep(Duration::from_millis(5)));
            abandoned.abort();
            let deadline = Instant::now() + Duration::from_millis(2);
            sleep(Duration::from_millis(2)).await;
            assert!(Instant::now() >= deadline);
            // The abandoned entry fires into a dropped receiver at its deadline; a later wait
            // still ends.
            sleep(Duration::from_millis(6)).await;
        }
    }
}

pub(crate) use on_time::sleep as sleep_precisely;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_told() {
        let start = DateTime::parse_from_rfc3339("2027-03-28T00:00:00Z").unwrap().to_utc();
        let clock = ManualClock::new(start);
        assert_eq!(clock.now(), start);
        clock.advance(chrono::Duration::minutes(90));
        assert_eq!(clock.now(), start + chrono::Duration::minutes(90));
        let shared = clock.clone();
        shared.set(start);
        assert_eq!(clock.now(), start);
    }
}
