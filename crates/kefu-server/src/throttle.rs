//! Password guessing: after `MAX_FAILURES` wrong passwords for one username
//! within `WINDOW`, that username's logins are refused (`rate_limited`, with
//! the seconds to wait) until the window has passed. A success clears the
//! count. Kept per node: several nodes each allow the attempts.

use std::collections::HashMap;
use std::sync::Mutex;

use kefu_core::clock::Timestamp;

pub const MAX_FAILURES: u32 = 5;
pub const WINDOW_MS: i64 = 15 * 60_000;
/// Usernames remembered at most; expired entries are dropped first.
const MAX_TRACKED: usize = 100_000;

#[derive(Default)]
pub struct LoginThrottle {
    failures: Mutex<HashMap<String, (u32, Timestamp)>>,
}

fn key(username: &str) -> String {
    username.trim().to_lowercase()
}

impl LoginThrottle {
    /// `Err(seconds to wait)` while the username is locked out.
    pub fn check(&self, username: &str, now: Timestamp) -> Result<(), i64> {
        let map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        match map.get(&key(username)) {
            Some((n, since)) if *n >= MAX_FAILURES && now.0 - since.0 < WINDOW_MS => {
                Err((WINDOW_MS - (now.0 - since.0)).div_euclid(1000).max(1))
            }
            _ => Ok(()),
        }
    }

    pub fn failed(&self, username: &str, now: Timestamp) {
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= MAX_TRACKED {
            map.retain(|_, (_, since)| now.0 - since.0 < WINDOW_MS);
            if map.len() >= MAX_TRACKED {
                // Still full of fresh entries: forget the oldest half rather than grow.
                let mut ages: Vec<i64> = map.values().map(|(_, s)| s.0).collect();
                ages.sort_unstable();
                let cut = ages[ages.len() / 2];
                map.retain(|_, (_, since)| since.0 > cut);
            }
        }
        let entry = map.entry(key(username)).or_insert((0, now));
        if now.0 - entry.1.0 >= WINDOW_MS {
            *entry = (0, now);
        }
        entry.0 += 1;
    }

    pub fn succeeded(&self, username: &str) {
        self.failures.lock().unwrap_or_else(|e| e.into_inner()).remove(&key(username));
    }
}

/// A token bucket per client address: what one host may do a minute
/// (anonymous chat sessions, shoppers' uploads), beside the limits per
/// shopper — which a script could otherwise dodge by asking for a new
/// anonymous visitor each time. Generous, because shoppers on one carrier
/// NAT share an address; it stops a single host, not a botnet. Per node.
pub struct PerIp {
    /// Tokens refilled a minute; also the burst.
    per_minute: u32,
    buckets: Mutex<HashMap<std::net::IpAddr, (f64, Timestamp)>>,
}

impl PerIp {
    pub fn new(per_minute: u32) -> Self {
        PerIp { per_minute, buckets: Mutex::new(HashMap::new()) }
    }

    /// Takes one token for `ip`, or `Err(milliseconds until one is back)`.
    /// A limit of 0 allows everything.
    pub fn take(&self, ip: std::net::IpAddr, now: Timestamp) -> Result<(), i64> {
        if self.per_minute == 0 {
            return Ok(());
        }
        let full = f64::from(self.per_minute);
        let per_ms = full / 60_000.0;
        let mut map = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= MAX_TRACKED && !map.contains_key(&ip) {
            // Buckets that have filled again are the same as no bucket.
            map.retain(|_, (tokens, at)| *tokens + (now.0 - at.0) as f64 * per_ms < full);
            if map.len() >= MAX_TRACKED {
                map.clear();
            }
        }
        let (tokens, at) = map.entry(ip).or_insert((full, now));
        *tokens = (*tokens + (now.0 - at.0).max(0) as f64 * per_ms).min(full);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - *tokens) / per_ms).ceil() as i64)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_failures_lock_the_username_for_the_window() {
        let t = LoginThrottle::default();
        let start = Timestamp(1_000_000);
        for i in 0..MAX_FAILURES {
            assert_eq!(t.check("Alice", start), Ok(()), "attempt {i}");
            t.failed("alice ", start);
        }
        assert_eq!(t.check("alice", start.plus_millis(60_000)), Err(14 * 60));
        assert_eq!(t.check("bob", start), Ok(()), "other users are not affected");
        assert_eq!(t.check("alice", start.plus_millis(WINDOW_MS)), Ok(()), "the lock ends with the window");
        t.failed("alice", start.plus_millis(WINDOW_MS));
        assert_eq!(t.check("alice", start.plus_millis(WINDOW_MS)), Ok(()), "a new window starts at one failure");
        t.succeeded("ALICE");
        assert!(t.failures.lock().expect("lock").is_empty());
    }

    #[test]
    fn a_host_gets_its_burst_then_the_refill_others_are_not_touched() {
        let limit = PerIp::new(6);
        let (a, b): (std::net::IpAddr, std::net::IpAddr) =
            ("10.0.0.1".parse().expect("ip"), "10.0.0.2".parse().expect("ip"));
        let t0 = Timestamp(1_000_000);
        for _ in 0..6 {
            assert_eq!(limit.take(a, t0), Ok(()));
        }
        assert_eq!(limit.take(a, t0), Err(10_000), "one token every 10 s");
        assert_eq!(limit.take(b, t0), Ok(()));
        assert_eq!(limit.take(a, t0.plus_millis(9_000)), Err(1_000));
        assert_eq!(limit.take(a, t0.plus_millis(10_000)), Ok(()));
        assert_eq!(PerIp::new(0).take(a, t0), Ok(()), "0: no limit");
    }
}
