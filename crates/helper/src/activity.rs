//! When the helper was last asked for something, and whether a call is running: it exits when
//! it has been idle a while (D-Bus activation starts it again at the next call), never in
//! the middle of one; asked to stop (SIGTERM), it takes no new call and lets the running ones
//! finish.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

#[derive(Default)]
pub struct Activity {
    running: AtomicUsize,
    last: AtomicU64,
    stopping: AtomicBool,
}

/// Why a call was not taken.
#[derive(Debug, PartialEq, Eq)]
pub enum Refused {
    /// As many calls as allowed are running.
    Full,
    /// The helper is stopping.
    Stopping,
}

/// Held while a call runs.
pub struct Busy(Arc<Activity>);

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.last.store(now(), Ordering::SeqCst);
        self.0.running.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Activity {
    pub fn new() -> Arc<Self> {
        let a = Arc::new(Activity::default());
        a.last.store(now(), Ordering::SeqCst);
        a
    }

    /// Marks a call as running until the guard is dropped.
    pub fn busy(self: &Arc<Self>) -> Busy {
        self.running.fetch_add(1, Ordering::SeqCst);
        self.last.store(now(), Ordering::SeqCst);
        Busy(self.clone())
    }

    /// Marks a call as running, unless `max` are running already or the helper is stopping.
    pub fn admit(self: &Arc<Self>, max: usize) -> Result<Busy, Refused> {
        if self.running.fetch_add(1, Ordering::SeqCst) >= max {
            self.running.fetch_sub(1, Ordering::SeqCst);
            return Err(Refused::Full);
        }
        // Counted first, then checked: a call that passes here is one `stop` waits for.
        if self.stopping.load(Ordering::SeqCst) {
            self.running.fetch_sub(1, Ordering::SeqCst);
            return Err(Refused::Stopping);
        }
        self.last.store(now(), Ordering::SeqCst);
        Ok(Busy(self.clone()))
    }

    /// Takes no new call from now on.
    pub fn stop(&self) {
        self.stopping.store(true, Ordering::SeqCst);
    }

    /// How many calls are running.
    pub fn running(&self) -> usize {
        self.running.load(Ordering::SeqCst)
    }

    /// No call running, and none for at least `idle`.
    pub fn idle_for(&self, idle: Duration) -> bool {
        self.running.load(Ordering::SeqCst) == 0
            && now().saturating_sub(self.last.load(Ordering::SeqCst)) >= idle.as_secs()
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_running_call_is_never_idle() {
        let a = Activity::new();
        assert!(a.idle_for(Duration::ZERO));
        let b = a.busy();
        assert!(!a.idle_for(Duration::ZERO), "a call is running");
        drop(b);
        assert!(a.idle_for(Duration::ZERO));
        assert!(!a.idle_for(Duration::from_secs(60)), "just used");
    }

    #[test]
    fn calls_beyond_the_cap_are_refused_and_the_count_comes_back() {
        let a = Activity::new();
        let first = a.admit(2).expect("one");
        let second = a.admit(2).expect("two");
        assert_eq!(a.admit(2).err(), Some(Refused::Full), "a third is refused");
        drop(first);
        let third = a.admit(2).expect("room again");
        drop((second, third));
        assert!(a.idle_for(Duration::ZERO));
    }

    #[test]
    fn once_stopping_no_call_is_taken_and_the_running_ones_are_counted_until_they_end() {
        let a = Activity::new();
        let running = a.admit(4).expect("one");
        a.stop();
        assert_eq!(a.admit(4).err(), Some(Refused::Stopping));
        assert_eq!(a.running(), 1, "the refused call is not counted");
        drop(running);
        assert_eq!(a.running(), 0);
    }
}
