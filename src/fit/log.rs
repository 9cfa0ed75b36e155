//! A log read for fitting: each request's time from midnight (UTC) of the log's
//! first day, its address, and the user behind it.
//!
//! Who a user is depends on what the log shows. By default, one per address, as a
//! replay counts them. With user agents (Combined format), one per address and user
//! agent: people behind one address mostly run different browsers. With a session
//! or user id column (`--session-field`), the id, wherever it comes from.

use std::collections::HashMap;
use std::path::Path;

use crate::engine::time::{DAY, SECOND, Time};
use crate::policy::key::Addr;
use crate::privacy::Secret;
use crate::trace::labels::UNLABELLED;
use crate::trace::nginx_json::Keys;
use crate::trace::{Format, Label, Reading, TraceError, read_labelled};

/// One request.
#[derive(Clone, Copy, Debug)]
pub struct Hit {
    /// From midnight UTC of the first request's day.
    pub time: Time,
    /// Index into [`LogRequests::addrs`].
    pub client: u32,
    pub user: u32,
}

pub struct LogRequests {
    /// In time order (same-second requests in file order).
    pub hits: Vec<Hit>,
    pub addrs: Vec<Addr>,
    pub users: u32,
    /// The window the log covers: its first request, and the end of its last second.
    pub start: Time,
    pub end: Time,
    pub malformed: u64,
    /// Unix seconds of the midnight times are counted from.
    pub midnight_unix_s: i64,
}

impl LogRequests {
    pub fn read(path: &Path, format: Format, label: &Label) -> Result<LogRequests, TraceError> {
        // Host names become addresses under a fixed key: a fit writes estimates,
        // never a client, and the same log fits the same way on every run.
        let how = Reading {
            format,
            json: Keys::default(),
            names: Secret::new([0; 32]),
        };
        let parsed = read_labelled(path, &how, label)?;
        if parsed.requests.is_empty() {
            return Err(TraceError::Empty {
                path: path.to_path_buf(),
                format,
                malformed: parsed.malformed,
                first: parsed.first_malformed.first().copied(),
            });
        }
        let first = parsed.requests.iter().map(|r| r.0).min().unwrap_or_default();
        let midnight = first.div_euclid(DAY as i64) * DAY as i64;
        let mut ids: HashMap<(u32, u32), u32> = HashMap::new();
        let mut hits: Vec<Hit> = parsed
            .requests
            .iter()
            .enumerate()
            .map(|(i, &(t, client))| {
                let l = parsed.labels.get(i).copied().unwrap_or(UNLABELLED);
                let key = match label {
                    Label::Field(_) if l != UNLABELLED => (u32::MAX, l),
                    _ => (client, l),
                };
                let next = ids.len() as u32;
                let user = *ids.entry(key).or_insert(next);
                Hit {
                    time: (t - midnight) as Time,
                    client,
                    user,
                }
            })
            .collect();
        hits.sort_by_key(|h| h.time);
        let start = hits[0].time;
        let end = (hits[hits.len() - 1].time / SECOND + 1) * SECOND;
        Ok(LogRequests {
            hits,
            addrs: parsed.clients.addrs,
            users: ids.len() as u32,
            start,
            end,
            malformed: parsed.malformed,
            midnight_unix_s: midnight / SECOND as i64,
        })
    }

    /// (time, address) of every request, for the statistics.
    pub fn stream(&self) -> Vec<(Time, Addr)> {
        self.hits
            .iter()
            .map(|h| (h.time, self.addrs[h.client as usize]))
            .collect()
    }
}
