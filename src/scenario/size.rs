//! How big a run is, known before it starts: the users and requests a scenario
//! asks for, the memory its per-user tables and per-window counts take, and the
//! request routings its policies and replications add up to. A run beyond
//! [`MEMORY_LIMIT`] or [`WORK_LIMIT`] is refused with the estimate unless the user
//! allows it, so a mistyped rate fails in a second rather than after an hour or
//! an allocation the machine cannot make.

use super::Scenario;

/// The most memory a run may be estimated to need without `--allow-large`.
pub const MEMORY_LIMIT: f64 = 8.0 * GIB;
/// The most request routings (requests × policies × replications) without `--allow-large`:
/// some twenty minutes on one core at the few million routings per second a
/// release build makes.
pub const WORK_LIMIT: f64 = 5e9;
/// Routings per second and core assumed for the time in messages.
const ROUTINGS_PER_SEC: f64 = 4e6;

const GIB: f64 = (1u64 << 30) as f64;
/// Per user and policy: the session table (holder, last use, wipe stamp) and a
/// policy's own memory of the client (a table entry, a cookie), rounded up.
const BYTES_PER_USER_LANE: f64 = 64.0;
/// Per user, once per replication: the workload's record of the user (address,
/// network, visit state).
const BYTES_PER_USER: f64 = 64.0;
/// Per window, server and policy: requests, peak sessions, time up and busy marks.
const BYTES_PER_WINDOW_SERVER: f64 = 32.0;

/// What a run would take.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Size {
    /// Users over the run, one replication.
    pub users: f64,
    /// Requests over the run, one replication.
    pub requests: f64,
    /// Request routings over every policy, replication and point.
    pub routings: f64,
    /// Peak memory, in bytes, with `parallel` replications at once.
    pub bytes: f64,
}

impl Size {
    /// The size of running `sc` (every policy and replication), with at most
    /// `parallel` replications in memory at once.
    pub fn of(sc: &Scenario, parallel: usize) -> Size {
        let users = sc.user_capacity_estimate();
        let visits_per_user = 1.0 / (1.0 - sc.sessions.return_share.0.min(0.999_999));
        let synthetic = sc.expected_users() - sc.users.iter().map(|u| f64::from(u.count)).sum::<f64>();
        let scripted: f64 = sc
            .users
            .iter()
            .map(|u| f64::from(u.count) * u.visits.len() as f64 * f64::from(u.requests))
            .sum();
        let requests = synthetic.max(0.0) * sc.sessions.requests.get_ref().mean() * visits_per_user + scripted;
        let lanes = sc.policies.len() as f64;
        let windows = (sc.duration / sc.window.max(1)).max(1) as f64;
        let per_replication = users * (BYTES_PER_USER + lanes * BYTES_PER_USER_LANE)
            + windows * sc.servers.len() as f64 * lanes * BYTES_PER_WINDOW_SERVER;
        let at_once = parallel.clamp(1, sc.replications.max(1) as usize) as f64;
        Size {
            users,
            requests,
            routings: requests * lanes * f64::from(sc.replications),
            bytes: per_replication * at_once,
        }
    }

    /// The sizes of runs done one after another: routings add up, memory is the
    /// most any one needs.
    pub fn then(self, other: Size) -> Size {
        Size {
            users: self.users.max(other.users),
            requests: self.requests.max(other.requests),
            routings: self.routings + other.routings,
            bytes: self.bytes.max(other.bytes),
        }
    }

    /// `None` within the limits; otherwise why not, with the estimate.
    pub fn refusal(&self) -> Option<String> {
        // NaN (an unbounded estimate) is too much as well.
        let too_big = self.bytes.is_nan() || self.bytes > MEMORY_LIMIT;
        let too_long = self.routings.is_nan() || self.routings > WORK_LIMIT;
        if !too_big && !too_long {
            return None;
        }
        let mut why = Vec::new();
        if too_big {
            why.push(format!(
                "about {} of memory (limit {})",
                bytes(self.bytes),
                bytes(MEMORY_LIMIT)
            ));
        }
        if too_long {
            why.push(format!(
                "about {} request routings (limit {}), some {} of one core",
                count(self.routings),
                count(WORK_LIMIT),
                hours(self.routings / ROUTINGS_PER_SEC)
            ));
        }
        Some(format!(
            "this run is too large: about {} users and {} requests per replication would need {}; \
             shorten the duration, lower the rates or user counts, run fewer replications, points or \
             policies, or pass --allow-large to run it anyway",
            count(self.users),
            count(self.requests),
            why.join(" and ")
        ))
    }

    /// One line for `lbsim validate`.
    pub fn describe(&self) -> String {
        format!(
            "about {} users and {} requests per replication, {} request routings in all, {} of memory",
            count(self.users),
            count(self.requests),
            count(self.routings),
            bytes(self.bytes)
        )
    }
}

impl Scenario {
    /// Users to size tables for, as [`Scenario::user_capacity`] reckons them, in
    /// floating point so that an absurd scenario does not overflow.
    fn user_capacity_estimate(&self) -> f64 {
        let expected = self.expected_users();
        expected + 8.0 * expected.sqrt() + 64.0
    }
}

/// A count for people: "1,200", "3.4 million", "2.1e15".
fn count(x: f64) -> String {
    if !x.is_finite() {
        "infinitely many".into()
    } else if x < 1e6 {
        thousands(x.round() as u64)
    } else if x < 1e12 {
        let (v, unit) = if x < 1e9 {
            (x / 1e6, "million")
        } else {
            (x / 1e9, "billion")
        };
        format!("{v:.1} {unit}")
    } else {
        format!("{x:.1e}")
    }
}

/// 1234567 as "1,234,567".
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn bytes(x: f64) -> String {
    if !x.is_finite() {
        return "unbounded memory".into();
    }
    let units = [("TiB", GIB * 1024.0), ("GiB", GIB), ("MiB", GIB / 1024.0)];
    for (unit, size) in units {
        if x >= size {
            return format!("{:.1} {unit}", x / size);
        }
    }
    format!("{:.1} MiB", x / (GIB / 1024.0))
}

fn hours(secs: f64) -> String {
    if !secs.is_finite() || secs > 1e9 {
        "forever".into()
    } else if secs < 3600.0 {
        format!("{:.0} minutes", (secs / 60.0).ceil())
    } else {
        format!("{} hours", thousands((secs / 3600.0).ceil() as u64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn scenario(extra: &str) -> Scenario {
        let text = format!(
            "name = \"t\"\nduration = \"1h\"\npolicies = [\"ip_hash\", \"ring\"]\n{extra}\n[servers]\ncount = 4\n"
        );
        Scenario::parse(&text, Path::new("t.toml")).expect("valid")
    }

    #[test]
    fn a_small_run_is_within_the_limits() {
        let s = Size::of(&scenario("[arrivals]\nrate = \"10/s\""), 2);
        // 36,000 users over the hour (with room for eight standard deviations and 64 more),
        // each a visit of about 10 requests by default.
        assert!((36_000.0..38_000.0).contains(&s.users), "{s:?}");
        assert!(s.requests > 36_000.0 && s.routings == 2.0 * s.requests, "{s:?}");
        assert_eq!(s.refusal(), None);
    }

    #[test]
    fn a_huge_rate_is_refused_with_the_estimate() {
        let s = Size::of(&scenario("[arrivals]\nrate = \"100000/s\""), 2);
        let why = s.refusal().expect("refused");
        assert!(
            why.contains("360.2 million users") && why.contains("--allow-large"),
            "{why}"
        );
        assert!(why.contains("GiB of memory"), "{why}");
    }

    #[test]
    fn counts_read_as_words() {
        assert_eq!(count(1234.0), "1,234");
        assert_eq!(count(3.4e6), "3.4 million");
        assert_eq!(count(2.5e15), "2.5e15");
        assert_eq!(bytes(3.0 * GIB), "3.0 GiB");
    }
}
