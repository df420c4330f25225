//! When the helper was last asked for something, and whether a call is running: it exits when
//! it has been idle a while (D-Bus activation starts it again at the next call), never in
//! the middle of one.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

#[derive(Default)]
pub struct Activity {
    running: AtomicUsize,
    last: AtomicU64,
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

    /// Marks a call as running, unless `max` are running already (`None`: refuse it).
    pub fn admit(self: &Arc<Self>, max: usize) -> Option<Busy> {
        if self.running.fetch_add(1, Ordering::SeqCst) >= max {
            self.running.fetch_sub(1, Ordering::SeqCst);
            return None;
        }
        self.last.store(now(), Ordering::SeqCst);
        Some(Busy(self.clone()))
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
        assert!(a.admit(2).is_none(), "a third is refused");
        drop(first);
        let third = a.admit(2).expect("room again");
        drop((second, third));
        assert!(a.idle_for(Duration::ZERO));
    }
}
