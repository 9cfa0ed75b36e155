//! `[slow_start]`: the section as written, its checks and its description.

use schemars::JsonSchema;
use serde::Deserialize;
use toml::Spanned;

use super::ScenarioError;
use super::units::{Duration, written};
use crate::policy::{Spec, SpecError};
use crate::pool::slow_start::{Product, Reach, SlowStart};

/// `[slow_start]` as written.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SlowStartFile {
    /// Whose ramp: `nginx` (`slow_start`), `haproxy` (`slowstart`) or `envoy`
    /// (`slow_start_config`).
    pub product: Product,
    /// nginx `slow_start`, HAProxy `slowstart`, Envoy `slow_start_window`.
    #[schemars(with = "Duration")]
    pub window: Spanned<Duration>,
    /// Envoy `aggression` (default 1.0: linear).
    #[serde(default)]
    #[schemars(with = "Option<f64>")]
    pub aggression: Option<Spanned<f64>>,
    /// Envoy `min_weight_percent` (default 10).
    #[serde(default)]
    #[schemars(with = "Option<f64>")]
    pub min_weight_percent: Option<Spanned<f64>>,
}

/// Envoy's defaults (SlowStartConfig): aggression 1.0, min_weight_percent 10%.
const AGGRESSION: f64 = 1.0;
const MIN_WEIGHT_PERCENT: f64 = 10.0;

pub(super) fn resolve(
    f: &SlowStartFile,
    err: &dyn Fn(usize, String) -> ScenarioError,
) -> Result<SlowStart, ScenarioError> {
    let window = f.window.get_ref().0;
    if window == 0 {
        return Err(err(
            f.window.span().start,
            "window must be longer than 0, e.g. \"30s\"".into(),
        ));
    }
    let envoy_only = |key: &str, v: &Option<Spanned<f64>>| match v {
        Some(v) if f.product != Product::Envoy => Err(err(
            v.span().start,
            format!(
                "{key} is Envoy's (slow_start_config): {} has no such setting; give it with product = \"envoy\"",
                f.product.name()
            ),
        )),
        _ => Ok(()),
    };
    envoy_only("aggression", &f.aggression)?;
    envoy_only("min_weight_percent", &f.min_weight_percent)?;
    let aggression = match &f.aggression {
        Some(a) if !(a.get_ref().is_finite() && *a.get_ref() > 0.0) => {
            return Err(err(
                a.span().start,
                format!(
                    "aggression = {}: expected a number above 0, e.g. 1.0 (Envoy's default: linear)",
                    a.get_ref()
                ),
            ));
        }
        Some(a) => *a.get_ref(),
        None => AGGRESSION,
    };
    let min_weight = match &f.min_weight_percent {
        Some(p) if !(0.0..=100.0).contains(p.get_ref()) => {
            return Err(err(
                p.span().start,
                format!(
                    "min_weight_percent = {}: expected a percentage from 0 to 100, e.g. 10 (Envoy's default)",
                    p.get_ref()
                ),
            ));
        }
        Some(p) => *p.get_ref() / 100.0,
        None => MIN_WEIGHT_PERCENT / 100.0,
    };
    Ok(SlowStart {
        product: f.product,
        window,
        aggression,
        min_weight,
    })
}

/// Refuses a policy the product will not combine with slow start.
pub(super) fn check(ss: &SlowStart, spec: &Spec) -> Result<(), SpecError> {
    match ss.decider(spec) {
        (Reach::Refused, refused) => Err(SpecError::at(
            refused.offset,
            format!(
                "{}: nginx refuses slow_start with the hash, ip_hash and random methods; use nginx.round_robin or \
                 nginx.least_conn, or leave out [slow_start]",
                refused.name
            ),
        )),
        _ => Ok(()),
    }
}

/// The line of `lbsim validate`: the ramp, and which policies follow it.
pub fn describe(ss: &SlowStart, policies: &[Spec]) -> String {
    let ramp = match ss.product {
        Product::Nginx => "nginx slow_start: weight from 0 to full, linearly".to_string(),
        Product::Haproxy => "HAProxy slowstart: weight from 1/16 to full, linearly, updated every second".to_string(),
        Product::Envoy => format!(
            "Envoy slow_start_config: weight × max({}%, time^(1/{}))",
            crate::output::num(ss.min_weight * 100.0),
            crate::output::num(ss.aggression)
        ),
    };
    let (ramped, fixed): (Vec<&Spec>, Vec<&Spec>) = policies.iter().partition(|p| ss.reach(p) == Reach::Ramped);
    let names = |v: &[&Spec]| v.iter().map(|p| p.text.as_str()).collect::<Vec<_>>().join(", ");
    let mut out = format!(
        "  slow start    {ramp} over {} after a server recovers or is added",
        written(ss.window)
    );
    if !ramped.is_empty() {
        out += &format!("; ramps {}", names(&ramped));
    }
    if !fixed.is_empty() {
        out += &format!("; {} keep full weights", names(&fixed));
    }
    out + "\n"
}
