//! The population estimated from a log: arrivals, visits, returns and sharing.

use std::collections::{HashMap, HashSet};

use crate::engine::time::{HOUR, SECOND, Time};

use super::log::LogRequests;
use super::mle::{self, Data, Fit};
use super::stats::{exposure, hour_of_day};

/// Fewer sessions or think times than this cannot be fitted.
pub const MIN_SESSIONS: usize = 30;

/// An address showing more distinct user agents than this within one hour is a
/// shared gateway (carrier-grade NAT, proxy): a household rarely has more browsers
/// active at once. An assumption, stated in every fit.
pub const GATEWAY_AGENTS_PER_HOUR: usize = 10;

/// New users per hour of day.
#[derive(Clone, Debug)]
pub struct Arrivals {
    /// New users per second, by hour of day (0 where the log does not reach).
    pub hourly: [f64; 24],
    /// Poisson 95% interval of each.
    pub intervals: [(f64, f64); 24],
    pub exposure: [Time; 24],
    pub new_users: [u64; 24],
}

impl Arrivals {
    /// The daily mean, per second.
    pub fn rate(&self) -> f64 {
        self.hourly.iter().sum::<f64>() / 24.0
    }
}

/// Return visits: the share of visits followed by another, and the delay as a
/// Pareto starting at the idle time (a return is by definition later than that).
#[derive(Clone, Debug)]
pub struct Returns {
    pub share: f64,
    pub share_ci: (f64, f64),
    /// Pareto shape of the delay; scale = the idle time.
    pub shape: f64,
    pub shape_ci: (f64, f64),
    pub observed: u64,
    /// Visits whose following silence the log's end cut short.
    pub censored: u64,
}

/// Users per address, from user agents (or the session field).
#[derive(Clone, Debug)]
pub struct Sharing {
    /// Users per address of ordinary addresses, with its 95% interval.
    pub home: (f64, (f64, f64)),
    pub home_users: u64,
    pub home_addresses: u64,
    /// Gateways: share of users behind them, users per address (95% interval), addresses.
    pub gateways: Option<(f64, f64, (f64, f64), u64)>,
}

/// Address churn seen through a session field: users whose id shows up from more
/// than one address, and how often the address changes.
#[derive(Clone, Debug)]
pub struct Churn {
    /// Share of users seen from more than one address.
    pub share: f64,
    /// Changes per hour of a moving user's activity, and their count.
    pub switch_rate_per_h: f64,
    pub changes: u64,
    /// Mean time a moving user stays away from its first address before it returns, in seconds.
    pub stay_s: f64,
}

#[derive(Clone, Debug)]
pub struct Estimate {
    pub idle: Time,
    pub requests: u64,
    pub users: u32,
    pub addresses: u64,
    pub sessions: u64,
    pub arrivals: Arrivals,
    /// Requests per session, every family, best AIC first.
    pub lengths: Vec<Fit>,
    /// Think times inside sessions, every family, best AIC first.
    pub think: Vec<Fit>,
    pub returns: Option<Returns>,
    /// None: one user per address, since the log shows nothing else.
    pub sharing: Option<Sharing>,
    pub churn: Option<Churn>,
}

/// Why a log cannot be fitted.
#[derive(Debug)]
pub struct TooShort {
    pub sessions: usize,
    pub gaps: usize,
}

/// One user's visit.
struct Visit {
    start: Time,
    end: Time,
    requests: u64,
}

/// Estimates the population of `log`, cutting visits at `idle`; `agents` says
/// users were told apart by user agent, `field` by a session field.
pub fn estimate(log: &LogRequests, idle: Time, agents: bool, field: bool) -> Result<Estimate, TooShort> {
    let mut visits: Vec<Vec<Visit>> = (0..log.users).map(|_| Vec::new()).collect();
    let mut gaps = Vec::new();
    for h in &log.hits {
        let mine = &mut visits[h.user as usize];
        match mine.last_mut() {
            Some(v) if h.time - v.end <= idle => {
                gaps.push((h.time - v.end) / SECOND);
                v.end = h.time;
                v.requests += 1;
            }
            _ => mine.push(Visit {
                start: h.time,
                end: h.time,
                requests: 1,
            }),
        }
    }
    let sessions: usize = visits.iter().map(Vec::len).sum();
    if sessions < MIN_SESSIONS || gaps.len() < MIN_SESSIONS {
        return Err(TooShort {
            sessions,
            gaps: gaps.len(),
        });
    }
    let lengths = mle::fit_all(
        Data::Counts,
        &mle::histogram(visits.iter().flatten().map(|v| v.requests)),
    );
    let limit = (idle / SECOND) as f64;
    let think = mle::fit_all(Data::Seconds { limit }, &mle::histogram(gaps.iter().copied()));
    let addresses = log.hits.iter().map(|h| h.client).collect::<HashSet<_>>().len() as u64;
    Ok(Estimate {
        idle,
        requests: log.hits.len() as u64,
        users: log.users,
        addresses,
        sessions: sessions as u64,
        arrivals: arrivals(log, &visits),
        lengths,
        think,
        returns: returns(&visits, log.end, idle),
        sharing: (agents || field).then(|| sharing(log)),
        churn: field.then(|| churn(log)),
    })
}

fn arrivals(log: &LogRequests, visits: &[Vec<Visit>]) -> Arrivals {
    let exposure = exposure(log.start, log.end);
    let mut new_users = [0u64; 24];
    for v in visits.iter().filter_map(|v| v.first()) {
        new_users[hour_of_day(v.start)] += 1;
    }
    let mut hourly = [0.0; 24];
    let mut intervals = [(0.0, 0.0); 24];
    for h in 0..24 {
        if exposure[h] > 0 {
            let secs = exposure[h] as f64 / SECOND as f64;
            let n = new_users[h] as f64;
            hourly[h] = n / secs;
            let half = 1.96 * n.sqrt();
            intervals[h] = ((n - half).max(0.0) / secs, (n + half) / secs);
        }
    }
    Arrivals {
        hourly,
        intervals,
        exposure,
        new_users,
    }
}

/// Share and Pareto shape by maximum likelihood, with the log's end censoring the
/// silence after each visit: a visit with no return seen either has none (1 − s)
/// or one later than the log shows (s·(L/c)^α, c the silence the log saw).
fn returns(visits: &[Vec<Visit>], end: Time, idle: Time) -> Option<Returns> {
    let l = idle as f64 / SECOND as f64;
    let mut delays = Vec::new();
    let mut silences = Vec::new();
    for mine in visits {
        for (i, v) in mine.iter().enumerate() {
            match mine.get(i + 1) {
                Some(next) => delays.push((next.start - v.end) as f64 / SECOND as f64),
                None => silences.push(((end - v.end) as f64 / SECOND as f64).max(l)),
            }
        }
    }
    if delays.is_empty() {
        return None;
    }
    let censored = silences.iter().filter(|&&c| c > l).count() as u64;
    let nll = |theta: &[f64]| {
        let s = 1.0 / (1.0 + (-theta[0]).exp());
        let a = theta[1].clamp(-20.0, 20.0).exp();
        let seen: f64 = delays
            .iter()
            .map(|d| s.ln() + a.ln() + a * l.ln() - (a + 1.0) * d.ln())
            .sum();
        let unseen: f64 = silences.iter().map(|c| (1.0 - s + s * (l / c).powf(a)).ln()).sum();
        -(seen + unseen)
    };
    let n = (delays.len() + silences.len()) as f64;
    let theta = mle::nelder_mead(&nll, &[(delays.len() as f64 / n).max(1e-3).ln(), 0.0]);
    let se = mle::standard_errors(&nll, &theta);
    let logistic = |x: f64| 1.0 / (1.0 + (-x).exp());
    Some(Returns {
        share: logistic(theta[0]),
        share_ci: (logistic(theta[0] - 1.96 * se[0]), logistic(theta[0] + 1.96 * se[0])),
        shape: theta[1].exp(),
        shape_ci: ((theta[1] - 1.96 * se[1]).exp(), (theta[1] + 1.96 * se[1]).exp()),
        observed: delays.len() as u64,
        censored,
    })
}

/// Ordinary addresses and gateways, told apart by the most distinct users any one
/// hour shows on them; users per address is users over addresses in each class.
fn sharing(log: &LogRequests) -> Sharing {
    let mut users: HashMap<u32, HashSet<u32>> = HashMap::new();
    let mut hourly: HashMap<(u32, Time), HashSet<u32>> = HashMap::new();
    for h in &log.hits {
        users.entry(h.client).or_default().insert(h.user);
        hourly.entry((h.client, h.time / HOUR)).or_default().insert(h.user);
    }
    let mut busiest: HashMap<u32, usize> = HashMap::new();
    for ((client, _), u) in &hourly {
        let b = busiest.entry(*client).or_default();
        *b = (*b).max(u.len());
    }
    let (mut home, mut gateway): (Vec<f64>, Vec<f64>) = (Vec::new(), Vec::new());
    let mut sorted: Vec<(&u32, &HashSet<u32>)> = users.iter().collect();
    sorted.sort_by_key(|(c, _)| **c);
    for (client, u) in sorted {
        if busiest[client] > GATEWAY_AGENTS_PER_HOUR {
            gateway.push(u.len() as f64);
        } else {
            home.push(u.len() as f64);
        }
    }
    let summary = |x: &[f64]| {
        let n = x.len() as f64;
        let total: f64 = x.iter().sum();
        let mean = total / n;
        let var = x.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0).max(1.0);
        let half = 1.96 * (var / n).sqrt();
        (total, mean, ((mean - half).max(1.0), mean + half))
    };
    let (home_total, home_mean, home_ci) = summary(&home);
    let all = home_total + gateway.iter().sum::<f64>();
    Sharing {
        home: (home_mean.max(1.0), home_ci),
        home_users: home_total as u64,
        home_addresses: home.len() as u64,
        gateways: (!gateway.is_empty()).then(|| {
            let (total, mean, ci) = summary(&gateway);
            (total / all, mean, ci, gateway.len() as u64)
        }),
    }
}

/// Users whose id shows up from several addresses, and the rate of those changes.
fn churn(log: &LogRequests) -> Churn {
    // Per user: first address, current address, first and last time, changes, time away.
    type Track = (u32, u32, Time, Time, u64, Time, Option<Time>);
    let mut seen: HashMap<u32, Track> = HashMap::new();
    for h in &log.hits {
        let e = seen
            .entry(h.user)
            .or_insert((h.client, h.client, h.time, h.time, 0, 0, None));
        if h.client != e.1 {
            e.4 += 1;
            if e.1 == e.0 {
                e.6 = Some(h.time);
            } else if h.client == e.0 {
                e.5 += e.6.take().map_or(0, |away| h.time - away);
            }
            e.1 = h.client;
        }
        e.3 = h.time;
    }
    let moving: Vec<_> = seen.values().filter(|e| e.4 > 0).collect();
    let changes: u64 = moving.iter().map(|e| e.4).sum();
    let active: f64 = moving.iter().map(|e| (e.3 - e.2) as f64 / HOUR as f64).sum();
    let returned: u64 = moving.iter().map(|e| e.4 / 2).sum();
    let away: f64 = moving.iter().map(|e| e.5 as f64 / SECOND as f64).sum();
    Churn {
        share: moving.len() as f64 / seen.len().max(1) as f64,
        switch_rate_per_h: changes as f64 / 2.0 / active.max(1e-9),
        changes,
        stay_s: if returned > 0 { away / returned as f64 } else { 30.0 },
    }
}

impl Estimate {
    /// The model written for requests per session: the best AIC whose mean is finite.
    pub fn requests_fit(&self) -> &Fit {
        self.lengths
            .iter()
            .find(|f| f.finite_mean())
            .unwrap_or(&self.lengths[0])
    }
}
