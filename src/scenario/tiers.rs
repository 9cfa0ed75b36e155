//! `[tiers]`: an L4 tier (ECMP routers, Katran, IPVS Maglev) spreading clients
//! over several L7 balancer instances, each running the policy under test with
//! its own memory, in front of the one backend pool. `[[tiers.events]]` adds and
//! removes L7 instances, which remaps the L4 tier.

use schemars::JsonSchema;
use serde::Deserialize;
use toml::Spanned;

use super::ScenarioError;
use super::units::Duration;
use crate::engine::time::Time;
use crate::policy::Spec;
use crate::pool::{PoolChange, PoolChangeKind, Presence, Server};

/// What the L4 tier runs unless the file says: Katran with its defaults (Maglev
/// over the instances, the packet's source address and ports hashed).
pub const DEFAULT_L4: &str = "katran.maglev";

/// The most L7 instances a tier may have ever.
const MAX_INSTANCES: u32 = 1000;

/// `[tiers]` as written.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TiersFile {
    /// The L4 tier's policy over the L7 instances (default "katran.maglev").
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub l4: Option<Spanned<String>>,
    /// L7 instances at the start, named l7-1, l7-2, …
    #[schemars(with = "u32")]
    pub instances: Spanned<u32>,
    /// HAProxy `peers`: every instance pushes its stick-table updates to the
    /// others (default false: each instance has its own table).
    #[serde(default)]
    pub peers: bool,
    /// L7 instances added or removed during the run.
    #[serde(default)]
    pub events: Vec<TierEventFile>,
}

/// One `[[tiers.events]]` entry as written.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TierEventFile {
    #[schemars(with = "Duration")]
    pub at: Spanned<Duration>,
    pub action: TierAction,
    /// The instance acted on; for `add`, the new instance's name (default: the next l7-K).
    #[schemars(with = "Option<String>")]
    pub instance: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize, JsonSchema, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum TierAction {
    Add,
    Remove,
}

/// The two tiers, checked.
#[derive(Clone, Debug)]
pub struct Tiers {
    pub l4: Spec,
    /// Every L7 instance ever: the initial ones up, later additions absent.
    pub instances: Vec<Server>,
    pub peers: bool,
    /// Instances added and removed, in time order.
    pub changes: Vec<PoolChange>,
}

impl Tiers {
    /// The line `lbsim validate` prints.
    pub fn describe(&self) -> String {
        let up = self.instances.iter().filter(|s| s.presence == Presence::Up).count();
        let mut out = format!(
            "  tiers         L4 {} over {up} L7 instances, each running the policy with its own memory{}\n",
            self.l4.text,
            if self.peers {
                "; peers push stick-table entries to every other instance at once"
            } else {
                "; no peers: stick tables are per instance"
            },
        );
        for c in &self.changes {
            out += &format!(
                "  tier event    at {}: {} L7 instance {}\n",
                crate::engine::time::clock(c.at),
                c.kind.verb(),
                self.instances[c.kind.server() as usize].name
            );
        }
        out
    }
}

/// Checks the L4 policy's text over the instances, placing errors in the file.
pub(super) type CheckL4<'a> = dyn Fn(&Spanned<String>, &[Server]) -> Result<Spec, ScenarioError> + 'a;

/// Reads the section; `l4` checks the L4 policy over a pool of the instances (an
/// error's offset within its text), `err` places a message at a file offset.
pub(super) fn resolve(
    f: &Spanned<TiersFile>,
    duration: Time,
    l4: &CheckL4,
    err: &dyn Fn(usize, String) -> ScenarioError,
) -> Result<Tiers, ScenarioError> {
    let t = f.get_ref();
    let initial = *t.instances.get_ref();
    if initial == 0 {
        return Err(err(
            t.instances.span().start,
            "instances = 0: the L7 tier needs at least one instance, e.g. 4".into(),
        ));
    }
    if initial > MAX_INSTANCES {
        return Err(err(
            t.instances.span().start,
            format!("instances = {initial}: at most {MAX_INSTANCES} L7 instances"),
        ));
    }
    let mut instances: Vec<Server> = (1..=initial)
        .map(|i| Server {
            name: format!("l7-{i}"),
            weight: 1,
            presence: Presence::Up,
        })
        .collect();
    // Events in time order, each checked against the instances up at its time.
    let mut order: Vec<&TierEventFile> = t.events.iter().collect();
    order.sort_by_key(|e| e.at.get_ref().0);
    let mut changes = Vec::with_capacity(order.len());
    for e in order {
        let at = e.at.get_ref().0;
        let offset = e.instance.as_ref().map_or(e.at.span().start, |n| n.span().start);
        if at >= duration {
            return Err(err(
                e.at.span().start,
                "this event is not before the end of the run: make `at` smaller than `duration`".into(),
            ));
        }
        let known = |instances: &[Server]| instances.iter().map(|s| s.name.as_str()).collect::<Vec<_>>().join(", ");
        let kind = match e.action {
            TierAction::Add => {
                let name = e
                    .instance
                    .as_ref()
                    .map_or_else(|| format!("l7-{}", instances.len() + 1), |n| n.get_ref().clone());
                match instances.iter().position(|s| s.name == name) {
                    Some(i) if instances[i].presence == Presence::Up => {
                        return Err(err(
                            offset,
                            format!("cannot add L7 instance {name:?}: it is already running then"),
                        ));
                    }
                    Some(i) => {
                        instances[i].presence = Presence::Up;
                        PoolChangeKind::Add(i as u32)
                    }
                    None if instances.len() as u32 >= MAX_INSTANCES => {
                        return Err(err(offset, format!("at most {MAX_INSTANCES} L7 instances")));
                    }
                    None => {
                        instances.push(Server {
                            name,
                            weight: 1,
                            presence: Presence::Up,
                        });
                        PoolChangeKind::Add(instances.len() as u32 - 1)
                    }
                }
            }
            TierAction::Remove => {
                let Some(n) = &e.instance else {
                    return Err(err(
                        e.at.span().start,
                        "action = \"remove\" needs instance = \"NAME\", e.g. \"l7-2\"".into(),
                    ));
                };
                let Some(i) = instances.iter().position(|s| s.name == *n.get_ref()) else {
                    return Err(err(
                        offset,
                        format!(
                            "unknown L7 instance {:?}; instances are: {}",
                            n.get_ref(),
                            known(&instances)
                        ),
                    ));
                };
                if instances[i].presence != Presence::Up {
                    return Err(err(
                        offset,
                        format!("cannot remove L7 instance {:?}: it is not running then", n.get_ref()),
                    ));
                }
                if instances.iter().filter(|s| s.presence == Presence::Up).count() == 1 {
                    return Err(err(
                        offset,
                        format!(
                            "removing {:?} would leave the L7 tier with no instance: keep at least one",
                            n.get_ref()
                        ),
                    ));
                }
                instances[i].presence = Presence::Absent;
                PoolChangeKind::Remove(i as u32)
            }
        };
        changes.push(PoolChange { at, kind });
    }
    // The start: the initial instances up, the ones events add absent.
    for (i, s) in instances.iter_mut().enumerate() {
        s.presence = if i < initial as usize {
            Presence::Up
        } else {
            Presence::Absent
        };
    }
    let l4 = match &t.l4 {
        Some(text) => l4(text, &instances)?,
        None => crate::policy::spec::parse(DEFAULT_L4, 0).expect("the default L4 policy parses"),
    };
    Ok(Tiers {
        l4,
        instances,
        peers: t.peers,
        changes,
    })
}
