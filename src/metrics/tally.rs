//! A lane's running counts, and the report they become at the end of a run.

use crate::engine::Time;
use crate::pool::{Pool, ServerId};
use crate::workload::Request;

use super::latency::Latency;
use super::loss::LossCause;
use super::spread::Spread;

/// Totals over a whole run (or one window of it).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Totals {
    pub requests: u64,
    pub served: u64,
    /// Turned away by a full waiting line.
    pub dropped: u64,
    /// No server was up.
    pub unroutable: u64,
    pub visits: u64,
    /// Visits that lost their state at least once.
    pub visits_lost: u64,
    pub users: u64,
    /// Users that lost state at least once.
    pub users_lost: u64,
    pub losses: u64,
}

impl Totals {
    /// Requests that got no answer: turned away by a full waiting line, sent
    /// while no server was up, or dropped on a connection to a gone server.
    pub fn not_served(&self) -> u64 {
        self.requests - self.served
    }
}

/// How a pool change moved the sessions alive at that moment.
#[derive(Clone, Debug, PartialEq)]
pub struct Remap {
    pub at: Time,
    pub action: &'static str,
    pub server: String,
    /// Sessions with live state just before the change.
    pub live: u64,
    /// Of those, the ones whose server the policy can predict (hash or memory).
    pub predictable: u64,
    /// Of those, the ones the change sends to another server.
    pub moved: u64,
}

/// One window of the time series.
#[derive(Clone, Debug, PartialEq)]
pub struct Window {
    pub start: Time,
    pub totals: Totals,
    pub requests: Spread,
    /// Spread of each server's peak concurrent sessions in the window per unit of weight.
    pub peak_sessions_per_weight: Spread,
    pub p99: f64,
    /// The busiest server's busy worker time over its available time in this
    /// window (NaN without queueing).
    pub utilisation_max: f64,
    /// Each server's requests in this window and its fair share of them.
    pub servers: Vec<ServerWindow>,
}

/// One server in one window.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ServerWindow {
    pub requests: u64,
    /// The window's requests split by weight × time up in it; 0 when it was not up.
    pub fair_requests: f64,
    /// Busy worker time over available worker time while up in this window (NaN
    /// without queueing or when it was not up).
    pub utilisation: f64,
}

/// One server's share of the run.
#[derive(Clone, Debug, PartialEq)]
pub struct ServerReport {
    pub name: String,
    pub requests: u64,
    /// Requests under a perfectly even split, by weight, of each window's requests
    /// among the servers present in it.
    pub fair_requests: f64,
    pub peak_sessions: u32,
    /// Seconds the server was up.
    pub up_secs: f64,
    /// Busy worker time over available worker time while up (NaN without queueing).
    pub utilisation: f64,
}

/// Everything a lane measured, ready for output.
#[derive(Clone, Debug, PartialEq)]
pub struct LaneReport {
    pub totals: Totals,
    /// A running checksum of every request routed (time, user, address, port):
    /// equal across policies when they saw the same stream.
    pub stream_checksum: u64,
    pub by_cause: [u64; LossCause::ALL.len()],
    pub servers: Vec<ServerReport>,
    pub windows: Vec<Window>,
    pub remaps: Vec<Remap>,
    /// Spread of each server's requests over its fair share (see `ServerReport`).
    pub requests_spread: Spread,
    /// Spread of peak concurrent sessions per unit of weight.
    pub peak_sessions_per_weight: Spread,
    pub latency: LatencySummary,
    /// With a shared session store: the most live sessions it held at once.
    pub store_sessions_peak: Option<u64>,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LatencySummary {
    pub mean: f64,
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
    pub max: f64,
}

/// Running counts of one lane.
pub struct Tally {
    servers: usize,
    window: Time,
    pub totals: Totals,
    stream_checksum: u64,
    pub by_cause: [u64; LossCause::ALL.len()],
    server_requests: Vec<u64>,
    active: Vec<u32>,
    peak_active: Vec<u32>,
    /// Up-time has been credited to the windows up to this instant.
    credited: Time,
    current: usize,
    windows: Vec<Totals>,
    win_requests: Vec<u64>,
    win_peak: Vec<u32>,
    /// Time each server was up in each window.
    win_up: Vec<Time>,
    /// With queueing, each server's service time given by the start of each
    /// window (by the end of the warm-up for the first one measured), then by
    /// the end of the run: a window's busy time is the difference of two marks.
    busy_marks: Vec<Time>,
    win_p99: Vec<f64>,
    latency: Latency,
    win_latency: Latency,
    pub remaps: Vec<Remap>,
    /// The window holding the end of the warm-up: earlier ones are not reported.
    first_window: usize,
}

impl Tally {
    pub fn new(pool: &Pool, duration: Time, window: Time) -> Tally {
        let servers = pool.len();
        let n = duration.div_ceil(window).max(1) as usize;
        Tally {
            servers,
            window,
            totals: Totals::default(),
            stream_checksum: 0,
            by_cause: [0; LossCause::ALL.len()],
            server_requests: vec![0; servers],
            active: vec![0; servers],
            peak_active: vec![0; servers],
            credited: 0,
            current: 0,
            windows: vec![Totals::default(); n],
            win_requests: vec![0; n * servers],
            win_peak: vec![0; n * servers],
            win_up: vec![0; n * servers],
            busy_marks: vec![0; (n + 1) * servers],
            win_p99: vec![f64::NAN; n],
            latency: Latency::new(3),
            win_latency: Latency::new(2),
            remaps: Vec::new(),
            first_window: 0,
        }
    }

    /// Ends the warm-up at `at`: everything counted so far is forgotten, while
    /// the state the warm-up built (sessions active on each server) stays, and
    /// `open_visits` visits already under way count as measured. Windows before
    /// the one holding `at` are left out of the report, and that one counts from
    /// `at` on.
    pub fn start_measuring(&mut self, at: Time, pool: &Pool, open_visits: u64) {
        self.roll_to(at, pool);
        self.credit_up_time(at, pool);
        self.totals = Totals {
            visits: open_visits,
            ..Totals::default()
        };
        self.by_cause = [0; LossCause::ALL.len()];
        self.server_requests.fill(0);
        self.peak_active.copy_from_slice(&self.active);
        self.windows.fill(Totals::default());
        self.windows[self.current].visits = open_visits;
        self.win_requests.fill(0);
        self.win_up.fill(0);
        self.win_peak.fill(0);
        let n = self.servers;
        self.win_peak[self.current * n..(self.current + 1) * n].copy_from_slice(&self.active);
        self.win_p99.fill(f64::NAN);
        self.latency.reset();
        self.win_latency.reset();
        self.remaps.clear();
        self.first_window = self.current;
    }

    /// The window under way.
    pub fn current_window(&self) -> usize {
        self.current
    }

    /// How many windows the run has.
    pub fn windows(&self) -> usize {
        self.windows.len()
    }

    /// The start of window `w`.
    pub fn window_start(&self, w: usize) -> Time {
        w as Time * self.window
    }

    /// Where to write each server's service time given by the start of window
    /// `w` (`w` = the number of windows: by the end of the run).
    pub fn busy_mark(&mut self, w: usize) -> &mut [Time] {
        &mut self.busy_marks[w * self.servers..(w + 1) * self.servers]
    }

    fn window_of(&self, t: Time) -> usize {
        ((t / self.window) as usize).min(self.windows.len() - 1)
    }

    /// Advances the current window to the one holding `now`.
    pub fn roll_to(&mut self, now: Time, pool: &Pool) {
        let w = self.window_of(now);
        if self.current == w {
            return;
        }
        self.credit_up_time(w as Time * self.window, pool);
        while self.current < w {
            self.win_p99[self.current] = self.win_latency.quantile_secs(0.99);
            self.win_latency.reset();
            self.current += 1;
            for s in 0..self.servers {
                self.win_peak[self.current * self.servers + s] = self.active[s];
            }
        }
    }

    /// Credits the servers up in `pool` with the time from the last credit to
    /// `until`, window by window. Called before every pool change and at the end.
    pub fn credit_up_time(&mut self, until: Time, pool: &Pool) {
        while self.credited < until {
            let w = self.window_of(self.credited);
            let end = if w + 1 == self.windows.len() {
                until
            } else {
                until.min((w as Time + 1) * self.window)
            };
            for &s in pool.up() {
                self.win_up[w * self.servers + s as usize] += end - self.credited;
            }
            self.credited = end;
        }
    }

    fn window(&mut self) -> &mut Totals {
        &mut self.windows[self.current]
    }

    pub fn request(&mut self, r: &Request, new_user: bool) {
        let opens_visit = r.opens_visit;
        let word =
            r.time ^ (r.user as u64).rotate_left(40) ^ (r.addr.0 as u64) ^ ((r.addr.0 >> 64) as u64) ^ r.port as u64;
        self.stream_checksum = (self.stream_checksum.rotate_left(7) ^ word).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        self.totals.requests += 1;
        self.window().requests += 1;
        if opens_visit {
            self.totals.visits += 1;
            self.window().visits += 1;
        }
        if new_user {
            self.totals.users += 1;
            self.window().users += 1;
        }
    }

    pub fn dropped(&mut self) {
        self.totals.dropped += 1;
        self.window().dropped += 1;
    }

    pub fn unroutable(&mut self) {
        self.totals.unroutable += 1;
        self.window().unroutable += 1;
    }

    pub fn served(&mut self, s: ServerId, response: Option<Time>) {
        self.totals.served += 1;
        self.window().served += 1;
        self.server_requests[s as usize] += 1;
        self.win_requests[self.current * self.servers + s as usize] += 1;
        if let Some(r) = response {
            self.latency.record(r);
            self.win_latency.record(r);
        }
    }

    pub fn loss(&mut self, cause: LossCause, first_in_visit: bool, first_for_user: bool) {
        self.by_cause[cause.index()] += 1;
        self.totals.losses += 1;
        self.window().losses += 1;
        if first_in_visit {
            self.totals.visits_lost += 1;
            self.window().visits_lost += 1;
        }
        if first_for_user {
            self.totals.users_lost += 1;
            self.window().users_lost += 1;
        }
    }

    /// A visit becomes active on `s`.
    pub fn session_on(&mut self, s: ServerId) {
        let i = s as usize;
        self.active[i] += 1;
        self.peak_active[i] = self.peak_active[i].max(self.active[i]);
        let w = &mut self.win_peak[self.current * self.servers + i];
        *w = (*w).max(self.active[i]);
    }

    /// A visit stops being active on `s`.
    pub fn session_off(&mut self, s: ServerId) {
        self.active[s as usize] -= 1;
    }

    /// The server went away: its active sessions are no longer on it.
    pub fn sessions_gone(&mut self, s: ServerId) {
        self.active[s as usize] = 0;
    }

    /// Closes the books at `end`. `busy`: with queueing, each server's total
    /// service time and its workers, for utilisation; the busy marks
    /// are then written up to the end of the run.
    pub fn finish(mut self, pool: &Pool, end: Time, busy: Option<(&[Time], &[u32])>) -> LaneReport {
        self.win_p99[self.current] = self.win_latency.quantile_secs(0.99);
        self.credit_up_time(end, pool);
        let n = self.servers;
        let weight = |s: usize| pool.weight(s as ServerId) as f64;
        // A server's capacity in a window: its weight times the time it was up.
        let capacity = |w: usize, s: usize| weight(s) * self.win_up[w * n + s] as f64;
        // What each server would have served under a split of every window's
        // requests in proportion to capacity: the yardstick for servers that joined
        // late, left early or failed for a while, whatever the daily curve.
        let mut fair = vec![0.0f64; n];
        for w in 0..self.windows.len() {
            let total: f64 = (0..n).map(|s| capacity(w, s)).sum();
            let requests: u64 = (0..n).map(|s| self.win_requests[w * n + s]).sum();
            for (s, f) in fair.iter_mut().enumerate() {
                if total > 0.0 {
                    *f += requests as f64 * capacity(w, s) / total;
                }
            }
        }
        let up_time = |s: usize| (0..self.windows.len()).map(|w| self.win_up[w * n + s]).sum::<Time>();
        let servers: Vec<ServerReport> = (0..n)
            .map(|s| ServerReport {
                name: pool.name(s as ServerId).to_string(),
                requests: self.server_requests[s],
                fair_requests: fair[s],
                peak_sessions: self.peak_active[s],
                up_secs: up_time(s) as f64 / 1e9,
                utilisation: busy.map_or(f64::NAN, |(b, workers)| {
                    b[s] as f64 / (workers[s] as f64 * up_time(s) as f64)
                }),
            })
            .collect();
        let win_utilisation = |w: usize, s: usize| match busy {
            Some((_, workers)) if self.win_up[w * n + s] > 0 => {
                let given = self.busy_marks[(w + 1) * n + s] - self.busy_marks[w * n + s];
                given as f64 / (workers[s] as f64 * self.win_up[w * n + s] as f64)
            }
            _ => f64::NAN,
        };
        let windows = (self.first_window..self.windows.len())
            .map(|w| {
                let present = || (0..n).filter(move |&s| capacity(w, s) > 0.0);
                let total: f64 = (0..n).map(|s| capacity(w, s)).sum();
                let requests: u64 = (0..n).map(|s| self.win_requests[w * n + s]).sum();
                Window {
                    utilisation_max: (0..n)
                        .map(|s| win_utilisation(w, s))
                        .filter(|u| u.is_finite())
                        .fold(f64::NAN, f64::max),
                    start: w as Time * self.window,
                    totals: self.windows[w],
                    requests: Spread::of(present().map(|s| self.win_requests[w * n + s] as f64 / capacity(w, s))),
                    peak_sessions_per_weight: Spread::of(
                        present().map(|s| self.win_peak[w * n + s] as f64 / weight(s)),
                    ),
                    p99: self.win_p99[w],
                    servers: (0..n)
                        .map(|s| ServerWindow {
                            requests: self.win_requests[w * n + s],
                            fair_requests: if total > 0.0 {
                                requests as f64 * capacity(w, s) / total
                            } else {
                                0.0
                            },
                            utilisation: win_utilisation(w, s),
                        })
                        .collect(),
                }
            })
            .collect();
        LaneReport {
            totals: self.totals,
            stream_checksum: self.stream_checksum,
            by_cause: self.by_cause,
            requests_spread: Spread::of(
                (0..n)
                    .filter(|&s| fair[s] > 0.0)
                    .map(|s| self.server_requests[s] as f64 / fair[s]),
            ),
            peak_sessions_per_weight: Spread::of(
                (0..n)
                    .filter(|&s| fair[s] > 0.0)
                    .map(|s| self.peak_active[s] as f64 / weight(s)),
            ),
            servers,
            windows,
            remaps: self.remaps,
            store_sessions_peak: None,
            latency: LatencySummary {
                mean: self.latency.mean_secs(),
                p50: self.latency.quantile_secs(0.5),
                p95: self.latency.quantile_secs(0.95),
                p99: self.latency.quantile_secs(0.99),
                max: self.latency.max_secs(),
            },
        }
    }
}
