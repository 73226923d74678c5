//! Slows password guessing: after five wrong passwords for one user name within fifteen
//! minutes, that name is refused (HTTP 429) until the window has passed. Kept in memory,
//! per server.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

const MAX_FAILURES: u32 = 5;
const WINDOW: Duration = Duration::from_secs(15 * 60);

#[derive(Default)]
pub struct LoginThrottle {
    /// Failures by user name: how many, and when the first of this window was.
    failures: Mutex<HashMap<String, (u32, Instant)>>,
}

impl LoginThrottle {
    /// How long `user` must still wait, if they are locked out.
    pub fn locked_for(&self, user: &str) -> Option<Duration> {
        let failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let (count, since) = failures.get(user)?;
        let elapsed = since.elapsed();
        (*count >= MAX_FAILURES && elapsed < WINDOW).then(|| WINDOW - elapsed)
    }

    pub fn failed(&self, user: &str) {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        // Forget windows that have passed, so the map does not grow without end.
        failures.retain(|_, (_, since)| since.elapsed() < WINDOW);
        let entry = failures
            .entry(user.to_string())
            .or_insert((0, Instant::now()));
        entry.0 += 1;
    }

    pub fn succeeded(&self, user: &str) {
        self.failures
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(user);
    }
}

/// "14 min" for a lock-out message.
pub fn minutes(wait: Duration) -> String {
    format!("{} min", wait.as_secs().div_ceil(60))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_failures_lock_a_name_and_a_success_clears_it() {
        let throttle = LoginThrottle::default();
        for _ in 0..4 {
            throttle.failed("li.na");
        }
        assert!(throttle.locked_for("li.na").is_none());
        throttle.succeeded("li.na");
        for _ in 0..5 {
            throttle.failed("li.na");
        }
        let wait = throttle.locked_for("li.na").expect("locked");
        assert!(wait <= WINDOW && wait > WINDOW - Duration::from_secs(5));
        assert!(throttle.locked_for("liu.qiang").is_none(), "only that name");
        assert_eq!(minutes(wait), "15 min");
    }
}
