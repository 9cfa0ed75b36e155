//! `slowstart` on the servers as the scenario's `[slow_start]`: HAProxy ramps the
//! weight of a server that comes back up for the dynamic algorithms only
//! (configuration manual, `slowstart`; `static-rr` and map-based hashing keep
//! their weights), and never at start.

use super::persistence::haproxy_time;
use super::{Backend, Server};
use crate::engine::time::MILLISECOND;
use crate::import::haproxy::balance::Algorithm;
use crate::import::{ImportError, ImportedSlowStart, Origin};
use crate::policy::spec;
use crate::pool::slow_start::{Product, Reach, SlowStart};

impl Backend<'_, '_> {
    /// The longest `slowstart` of the active servers, when `policy` follows it.
    pub(super) fn slow_start(
        &mut self,
        algorithm: &Algorithm,
        servers: &[&Server],
        policy: &str,
    ) -> Result<Option<ImportedSlowStart>, ImportError> {
        let mut written = Vec::new();
        for s in servers {
            if let Some((text, at)) = &s.params.slowstart {
                // A number alone is milliseconds.
                let t = haproxy_time(text, MILLISECOND).ok_or_else(|| {
                    self.file.error(
                        *at,
                        format!("'slowstart' expects a time such as 30s or 500 (ms), not {text:?}"),
                    )
                })?;
                if t > 0 {
                    written.push((s.line.args()[0].text.as_str(), t, text.as_str(), *at));
                }
            }
        }
        let Some(&(_, window, text, at)) = written.iter().rev().max_by_key(|w| w.1) else {
            return Ok(None);
        };
        let listed: Vec<String> = written.iter().map(|w| format!("{} slowstart {}", w.0, w.2)).collect();
        let listed = listed.join(", ");
        if matches!(algorithm, Algorithm::StaticRr) {
            self.notes.push(format!(
                "{listed}: balance static-rr is static, so HAProxy does not ramp weights (slowstart then only \
                 limits maxconn)."
            ));
            return Ok(None);
        }
        let setting = SlowStart {
            product: Product::Haproxy,
            window,
            aggression: 1.0,
            min_weight: 0.0,
        };
        let why = match spec::parse(policy, 0).map(|spec| setting.decider(&spec)) {
            Ok((Reach::Ramped, _)) => None,
            Ok((_, by)) if by.name == "haproxy.source" => {
                Some("map-based hashing is static, so HAProxy does not ramp weights")
            }
            _ => Some(
                "HAProxy ramps this algorithm's weights, which lbsim models for roundrobin, leastconn, random(1) and \
                 consistent hashing only",
            ),
        };
        if let Some(why) = why {
            self.notes
                .push(format!("{listed}: {why}; the scenario has no [slow_start]."));
            return Ok(None);
        }
        if written.len() < servers.len() || written.iter().any(|w| w.1 != window) {
            self.notes.push(format!(
                "{listed}: the scenario's [slow_start] ramps every server that comes back over one window, the \
                 longest written."
            ));
        }
        Ok(Some(ImportedSlowStart {
            product: Product::Haproxy,
            window,
            aggression: None,
            min_weight_percent: None,
            origin: Origin {
                at: self.file.place(at),
                said: format!("slowstart {text}"),
            },
        }))
    }
}
