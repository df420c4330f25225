//! Open polkit checks, per calling user, and how long one may stay open: a user who leaves
//! password prompts open holds at most [`PER_UID`] of the helper's calls, so every other caller
//! still gets through; a check polkit has not answered after [`timeout`] is cancelled and the
//! call refused with words.

use std::collections::HashMap;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

/// Open checks one uid may have at once.
pub const PER_UID: usize = 4;

/// How long polkit may take to answer (a password prompt included): five minutes, or
/// PASSAGE_HELPER_POLKIT_TIMEOUT_MS (tests).
pub fn timeout() -> Duration {
    std::env::var("PASSAGE_HELPER_POLKIT_TIMEOUT_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .map(Duration::from_millis)
        .unwrap_or(Duration::from_secs(300))
}

#[derive(Default)]
pub struct Checks {
    open: Mutex<HashMap<u32, usize>>,
}

/// One open check; the slot is free again when it is dropped.
pub struct Open {
    checks: Arc<Checks>,
    uid: u32,
}

impl Drop for Open {
    fn drop(&mut self) {
        let mut open = self.checks.open.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = open.get_mut(&self.uid) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                open.remove(&self.uid);
            }
        }
    }
}

impl Checks {
    pub fn new() -> Arc<Self> {
        Arc::new(Checks::default())
    }

    /// A slot for one more check of `uid`; `None` when it has `max` open.
    pub fn open(self: &Arc<Self>, uid: u32, max: usize) -> Option<Open> {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        let n = open.entry(uid).or_insert(0);
        if *n >= max {
            return None;
        }
        *n += 1;
        Some(Open {
            checks: self.clone(),
            uid,
        })
    }
}

/// A timer that ends at `after`, or at once when [`Timer::cancel`] is called: it sleeps on a
/// condition variable in the blocking pool, so a check answered early leaves no thread behind.
#[derive(Clone, Default)]
pub struct Timer(Arc<(Mutex<bool>, Condvar)>);

impl Timer {
    pub fn new() -> Timer {
        Timer::default()
    }

    /// Ends after `after` (true) or when cancelled (false).
    pub async fn run(&self, after: Duration) -> bool {
        let pair = self.0.clone();
        blocking::unblock(move || {
            let (lock, cv) = &*pair;
            let done = lock.lock().unwrap_or_else(|p| p.into_inner());
            let (done, _) = cv
                .wait_timeout_while(done, after, |d| !*d)
                .unwrap_or_else(|p| p.into_inner());
            !*done
        })
        .await
    }

    pub fn cancel(&self) {
        let (lock, cv) = &*self.0;
        *lock.lock().unwrap_or_else(|p| p.into_inner()) = true;
        cv.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_user_holds_at_most_its_share_and_others_still_get_through() {
        let c = Checks::new();
        let mine: Vec<Open> = (0..PER_UID).filter_map(|_| c.open(1000, PER_UID)).collect();
        assert_eq!(mine.len(), PER_UID);
        assert!(c.open(1000, PER_UID).is_none(), "the fifth is refused");
        assert!(c.open(1001, PER_UID).is_some(), "another uid is not");
        drop(mine);
        assert!(c.open(1000, PER_UID).is_some(), "slots come back");
    }

    #[test]
    fn a_timer_ends_at_its_time_or_at_once_when_cancelled() {
        let t = Timer::new();
        let start = std::time::Instant::now();
        assert!(zbus::block_on(t.run(Duration::from_millis(50))));
        assert!(start.elapsed() >= Duration::from_millis(50));
        let t = Timer::new();
        let c = t.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            c.cancel();
        });
        let start = std::time::Instant::now();
        assert!(!zbus::block_on(t.run(Duration::from_secs(30))));
        assert!(start.elapsed() < Duration::from_secs(5));
    }
}
