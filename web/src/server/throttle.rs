//! Slows password guessing, by user name and by client address. Every attempt is counted
//! *before* its password is checked, so a burst of parallel guesses cannot slip past the
//! limit while the slow checks run: five attempts for one name, or twenty from one
//! address, within fifteen minutes lock it (HTTP 429) until the window has passed. A
//! successful sign-in clears its name and takes its own attempt back from the address.
//! Kept in memory, per server.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Attempts per user name in one window.
pub const MAX_PER_USER: u32 = 5;
/// Attempts per client address in one window (several people may share one).
pub const MAX_PER_ADDRESS: u32 = 20;
const WINDOW: Duration = Duration::from_secs(15 * 60);
/// Past this many names or addresses, windows that have passed are swept out.
const SWEEP_ABOVE: usize = 10_000;

/// Attempts by key: how many, and when the first of this window was.
struct Counter<K> {
    max: u32,
    attempts: HashMap<K, (u32, Instant)>,
}

impl<K: Hash + Eq + Clone> Counter<K> {
    fn new(max: u32) -> Counter<K> {
        Counter {
            max,
            attempts: HashMap::new(),
        }
    }

    fn locked_for(&self, key: &K) -> Option<Duration> {
        let (count, since) = self.attempts.get(key)?;
        let elapsed = since.elapsed();
        (*count >= self.max && elapsed < WINDOW).then(|| WINDOW - elapsed)
    }

    fn count(&mut self, key: &K) {
        if self.attempts.len() > SWEEP_ABOVE {
            self.attempts
                .retain(|_, (_, since)| since.elapsed() < WINDOW);
        }
        let entry = self
            .attempts
            .entry(key.clone())
            .or_insert((0, Instant::now()));
        if entry.1.elapsed() >= WINDOW {
            *entry = (0, Instant::now());
        }
        entry.0 += 1;
    }
}

struct Counters {
    users: Counter<String>,
    addresses: Counter<IpAddr>,
}

pub struct LoginThrottle {
    counters: Mutex<Counters>,
}

impl Default for LoginThrottle {
    fn default() -> LoginThrottle {
        LoginThrottle {
            counters: Mutex::new(Counters {
                users: Counter::new(MAX_PER_USER),
                addresses: Counter::new(MAX_PER_ADDRESS),
            }),
        }
    }
}

impl LoginThrottle {
    /// Counts an attempt to sign in as `user` from `address`, before its password is
    /// checked; refused with how long to wait when the name or the address is locked.
    pub fn begin(&self, user: &str, address: Option<IpAddr>) -> Result<(), Duration> {
        let mut c = self.counters.lock().unwrap_or_else(|e| e.into_inner());
        let user = user.to_string();
        let locked = c
            .users
            .locked_for(&user)
            .or_else(|| address.and_then(|a| c.addresses.locked_for(&a)));
        if let Some(wait) = locked {
            return Err(wait);
        }
        c.users.count(&user);
        if let Some(a) = address {
            c.addresses.count(&a);
        }
        Ok(())
    }

    /// The attempt begun for `user` from `address` had the right password.
    pub fn succeeded(&self, user: &str, address: Option<IpAddr>) {
        let mut c = self.counters.lock().unwrap_or_else(|e| e.into_inner());
        c.users.attempts.remove(user);
        if let Some(entry) = address.and_then(|a| c.addresses.attempts.get_mut(&a)) {
            entry.0 = entry.0.saturating_sub(1);
        }
    }
}

/// "14 min" for a lock-out message.
pub fn minutes(wait: Duration) -> String {
    format!("{} min", wait.as_secs().div_ceil(60))
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOME: Option<IpAddr> = Some(IpAddr::V4(std::net::Ipv4Addr::LOCALHOST));

    #[test]
    fn attempts_are_counted_before_the_check_so_a_burst_stops_at_the_limit() {
        let throttle = LoginThrottle::default();
        let admitted = (0..300)
            .filter(|_| throttle.begin("li.na", None).is_ok())
            .count();
        assert_eq!(admitted, MAX_PER_USER as usize);
        let wait = throttle.begin("li.na", None).expect_err("locked");
        assert!(wait <= WINDOW && wait > WINDOW - Duration::from_secs(5));
        assert_eq!(minutes(wait), "15 min");
        assert!(throttle.begin("liu.qiang", None).is_ok(), "only that name");
    }

    #[test]
    fn a_success_clears_the_name_and_gives_back_its_attempt() {
        let throttle = LoginThrottle::default();
        for _ in 0..4 {
            throttle.begin("li.na", HOME).unwrap();
        }
        throttle.begin("li.na", HOME).unwrap();
        throttle.succeeded("li.na", HOME);
        assert!(throttle.begin("li.na", HOME).is_ok());
    }

    #[test]
    fn one_address_trying_many_names_is_locked_too() {
        let throttle = LoginThrottle::default();
        for i in 0..MAX_PER_ADDRESS {
            throttle.begin(&format!("user{i}"), HOME).unwrap();
        }
        assert!(throttle.begin("someone.else", HOME).is_err());
        assert!(throttle.begin("someone.else", None).is_ok());
    }
}
