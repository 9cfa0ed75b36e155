//! The charts of a report. Each is drawn twice from the same code, once per
//! backend: SVG (inlined in report.html, sharp at any zoom) and PNG (for slides
//! and chat). Policies keep their palette colour in every chart; the legend sits
//! beside the plot, never over the data.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::bars::{cause_bars, grouped_bars, server_bars};
use super::canvas::{Chart, Drawn, FONT, LINE_HEIGHT, WIDTH, beside_legend, encode, legend};
use super::data::RunData;
use super::distribution::cdf_chart;
use super::lines::{Panel, time_chart};
use super::palette;

/// What a chart answers; report.html groups its charts under these.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Question {
    /// How many sessions does each policy lose, when and why?
    Losses,
    /// How evenly does each policy load the servers?
    Balance,
    /// How fast is it, and how busy are the servers?
    Speed,
}

impl Question {
    pub fn heading(self) -> &'static str {
        match self {
            Question::Losses => "How many sessions does each policy lose, when, and why?",
            Question::Balance => "How evenly does each policy load the servers?",
            Question::Speed => "How fast are the answers, and how busy are the servers?",
        }
    }
}

#[derive(Clone, Copy)]
enum Kind {
    LossOverTime,
    LossByCause,
    EventMoves,
    ImbalanceOverTime,
    ServerLoad,
    BusiestWindowLoad,
    LoadDistribution,
    LatencyOverTime,
    Utilisation,
    ServersOverTime,
}

/// Typical levels this many times apart put two groups of policies on separate scales.
const SCALE_GAP: f64 = 10.0;
/// Typical levels this many times apart, without one gap between two groups,
/// put the chart on a logarithmic axis.
const LOG_SPREAD: f64 = 100.0;

/// How a time chart's y axis shows policies of very different levels.
#[derive(Debug, PartialEq)]
enum Scale {
    /// One linear axis shows them all.
    Linear,
    /// Two groups in panels of their own: the high one, then the rest.
    Panels(Vec<usize>, Vec<usize>),
    /// Levels spread over decades with no clean break: a log axis.
    Log,
}

/// The level of each policy: its mean over windows, above `floor`.
fn levels(values: &[Vec<f64>], floor: f64) -> Vec<f64> {
    values
        .iter()
        .map(|series| {
            let (sum, n) = series
                .iter()
                .filter(|v| v.is_finite())
                .fold((0.0, 0), |(s, n), v| (s + (v - floor).max(0.0), n + 1));
            if n == 0 { 0.0 } else { sum / n as f64 }
        })
        .collect()
}

/// The scale for `values`: panels when [`by_scale`] splits them, a log axis when
/// the positive levels span [`LOG_SPREAD`] or more (on a floor of 0 only), else linear.
fn scale_for(values: &[Vec<f64>], floor: f64) -> Scale {
    if let Some((high, low)) = by_scale(values, floor) {
        return Scale::Panels(high, low);
    }
    let positive: Vec<f64> = levels(values, floor).into_iter().filter(|l| *l > 0.0).collect();
    let (lo, hi) = positive
        .iter()
        .fold((f64::INFINITY, 0.0f64), |(lo, hi), &l| (lo.min(l), hi.max(l)));
    if floor == 0.0 && hi / lo >= LOG_SPREAD {
        Scale::Log
    } else {
        Scale::Linear
    }
}

/// When some policies' mean level is at least [`SCALE_GAP`] times every other's
/// (round robin losing nearly every session beside hashes losing a few), the two
/// groups, each in run order: the high one, then the rest. `None` when one scale
/// shows all. Means rather than peaks, so one spike at a pool change does not
/// hide the difference.
fn by_scale(values: &[Vec<f64>], floor: f64) -> Option<(Vec<usize>, Vec<usize>)> {
    let levels = levels(values, floor);
    let level = |p: usize| levels[p];
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| level(b).total_cmp(&level(a)).then(a.cmp(&b)));
    let ratio = |k: usize| {
        let (hi, lo) = (level(order[k - 1]), level(order[k]));
        // A policy that loses nothing lies on the floor of any scale: no cut above it.
        if lo > 0.0 { hi / lo } else { 1.0 }
    };
    let cut = (1..order.len()).max_by(|&a, &b| ratio(a).total_cmp(&ratio(b)).then(b.cmp(&a)))?;
    if ratio(cut) < SCALE_GAP {
        return None;
    }
    let (mut high, mut low) = (order[..cut].to_vec(), order[cut..].to_vec());
    high.sort_unstable();
    low.sort_unstable();
    Some((high, low))
}

/// "a", "a and b", "a, b and c".
fn listing(names: Vec<&str>) -> String {
    match names.split_last() {
        None => String::new(),
        Some((last, [])) => last.to_string(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
    }
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::LossOverTime => "sessions_lost_over_time",
            Kind::LossByCause => "losses_by_cause",
            Kind::EventMoves => "sessions_moved_per_pool_change",
            Kind::ImbalanceOverTime => "imbalance_over_time",
            Kind::ServerLoad => "server_load",
            Kind::BusiestWindowLoad => "server_load_busiest_window",
            Kind::LoadDistribution => "server_load_distribution",
            Kind::LatencyOverTime => "latency_p99_over_time",
            Kind::Utilisation => "server_utilisation",
            Kind::ServersOverTime => "servers_over_time",
        }
    }

    fn question(self) -> Question {
        match self {
            Kind::LossOverTime | Kind::LossByCause | Kind::EventMoves => Question::Losses,
            Kind::ImbalanceOverTime | Kind::ServerLoad | Kind::BusiestWindowLoad | Kind::LoadDistribution => {
                Question::Balance
            }
            Kind::LatencyOverTime | Kind::Utilisation | Kind::ServersOverTime => Question::Speed,
        }
    }

    fn title(self, d: &RunData) -> String {
        let window = minutes(d.window_s);
        let busiest = d
            .busiest
            .as_ref()
            .map_or("", |b| b.clock.strip_suffix(":00").unwrap_or(&b.clock));
        match self {
            Kind::LossOverTime => format!("Sessions lost per {window} window, with pool changes"),
            Kind::LossByCause => "Losses by cause: share of each policy's losses, and losses per 1,000 requests".into(),
            Kind::EventMoves => "Live sessions each pool change moved to another server".into(),
            Kind::ImbalanceOverTime => format!("Request imbalance per {window} window (busiest server / mean)"),
            Kind::ServerLoad => "Each server's requests over its fair share, whole run".into(),
            Kind::BusiestWindowLoad => {
                format!("Each server's requests over its fair share in the busiest window ({window} from {busiest})")
            }
            Kind::LoadDistribution if d.busiest.is_some() => {
                format!("Share of servers at or below each load, busiest window ({window} from {busiest})")
            }
            Kind::LoadDistribution => "Share of servers at or below each load, whole run".into(),
            Kind::LatencyOverTime => format!("p99 latency per {window} window"),
            Kind::Utilisation => "Utilisation per server (busy worker time / available)".into(),
            Kind::ServersOverTime => "Servers over time, beside the load that sized them".into(),
        }
    }

    /// The values of a time chart and their floor, for the charts that may need two scales.
    fn series(self, d: &RunData) -> Option<(&[Vec<f64>], f64)> {
        match self {
            Kind::LossOverTime => Some((&d.sessions_lost, 0.0)),
            Kind::LatencyOverTime => Some((&d.p99_ms, 0.0)),
            _ => None,
        }
    }

    /// How the chart's y axis shows policies of very different levels.
    fn scale(self, d: &RunData) -> Scale {
        self.series(d).map_or(Scale::Linear, |(v, floor)| scale_for(v, floor))
    }

    /// What the chart shows and how to read it, for report.html.
    fn caption(self, d: &RunData) -> String {
        let mut text: String = match self {
            Kind::LossOverTime => "Sessions whose first loss fell in each window; grey lines mark pool changes.".into(),
            Kind::LossByCause => "Each bar is one policy's losses split by cause (shares, so a policy that loses \
                                  little shows its causes as clearly as one that loses much); the number after \
                                  it is its losses per 1,000 requests."
                .into(),
            Kind::EventMoves => "For each pool change, how many sessions alive at that moment the change sent to \
                                 another server (they are lost if their user comes back while the state lives). \
                                 Load-aware policies have no bar: where they would have sent a session cannot \
                                 be foreseen."
                .into(),
            Kind::ImbalanceOverTime => "1 means every server got its fair share of the window's requests.".into(),
            Kind::ServerLoad | Kind::BusiestWindowLoad => {
                "1 (dashed) is a server's fair share: requests split by weight × time up.".into()
            }
            Kind::LoadDistribution => "Each step is one server. A steep rise at 1 (dashed) is an even spread; \
                                       a line that reaches 100% far to the right has overloaded servers."
                .into(),
            Kind::LatencyOverTime => "99% of each window's requests were answered within this time.".into(),
            Kind::Utilisation => "Busy worker time over available worker time while the server was up.".into(),
            Kind::ServersOverTime => "The autoscaler's view at each evaluation of the first replication: requests \
                                      per second above; below, the servers it asked for (dashed) and those taking \
                                      traffic (solid), which follow after the provisioning delay. Every policy \
                                      sees this one pool, so their losses to it compare like for like."
                .into(),
        };
        match self.scale(d) {
            Scale::Panels(high, _) => {
                let names = listing(high.iter().map(|&p| d.policies[p].as_str()).collect());
                let (verb, pronoun) = if high.len() == 1 {
                    ("runs", "it is")
                } else {
                    ("run", "they are")
                };
                text.push_str(&format!(
                    " {names} {verb} more than {SCALE_GAP:.0} times higher than the other policies on average, so \
                     {pronoun} drawn in the upper panel and the others below it, each panel on its own scale."
                ));
            }
            Scale::Log => text.push_str(&format!(
                " The policies' levels differ more than {LOG_SPREAD:.0}-fold, so the axis is logarithmic (each \
                 labelled line ten times the one below); a window with none sits on the bottom line."
            )),
            Scale::Linear => {}
        }
        text
    }

    fn height(self, d: &RunData) -> u32 {
        match self {
            // One bar per policy, each tall enough for its label.
            Kind::LossByCause => (140 + 34 * d.policies.len() as u32).max(320),
            _ if matches!(self.scale(d), Scale::Panels(..)) => LINE_HEIGHT * 3 / 2,
            _ => LINE_HEIGHT,
        }
    }
}

/// "15 min", "1 h", "30 s": a window length as people say it.
pub(super) fn minutes(secs: f64) -> String {
    if secs >= 3600.0 && secs % 3600.0 == 0.0 {
        format!("{} h", secs / 3600.0)
    } else if secs >= 60.0 && secs % 60.0 == 0.0 {
        format!("{} min", secs / 60.0)
    } else {
        format!("{} s", crate::output::num(secs))
    }
}

/// Every chart the run's data supports, in report order; the pool changes'
/// moves only when there were changes, latency and utilisation only when the
/// run measured them (queueing on), the busiest window only for runs that wrote
/// server_windows.csv.
pub fn render_all(d: &RunData) -> Result<Vec<Chart>, String> {
    let mut kinds = vec![Kind::LossOverTime, Kind::LossByCause];
    if !d.events.is_empty() {
        kinds.push(Kind::EventMoves);
    }
    kinds.extend([Kind::ImbalanceOverTime, Kind::ServerLoad]);
    if d.busiest.is_some() {
        kinds.push(Kind::BusiestWindowLoad);
    }
    kinds.push(Kind::LoadDistribution);
    if d.has_latency() {
        kinds.extend([Kind::LatencyOverTime, Kind::Utilisation]);
    }
    if !d.autoscale.is_empty() {
        kinds.push(Kind::ServersOverTime);
    }
    kinds.into_iter().map(|k| render(k, d)).collect()
}

fn render(kind: Kind, d: &RunData) -> Result<Chart, String> {
    let (svg, png) = encode(
        (WIDTH, kind.height(d)),
        kind.name(),
        |root| draw(kind, root, d),
        |root| draw(kind, root, d),
    )?;
    Ok(Chart {
        name: kind.name().to_string(),
        title: kind.title(d),
        caption: kind.caption(d),
        section: kind.question().heading(),
        svg,
        png,
    })
}

fn draw<DB: DrawingBackend>(kind: Kind, root: &DrawingArea<DB, Shift>, d: &RunData) -> Drawn
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE)?;
    let area = root.titled(&kind.title(d), (FONT, 24))?;
    let policies = || -> Vec<(String, RGBColor)> {
        d.policies
            .iter()
            .enumerate()
            .map(|(i, p)| (p.clone(), palette::policy(i)))
            .collect()
    };
    let window = minutes(d.window_s);
    match kind {
        Kind::LossOverTime | Kind::LatencyOverTime => {
            let (plot, legend_area) = beside_legend(&area, &policies(), 0)?;
            let y = match kind {
                Kind::LossOverTime => format!("sessions lost per {window}"),
                _ => "p99 latency (ms)".to_string(),
            };
            let (values, floor) = kind.series(d).expect("a time chart");
            let panel = |shown, labels, log| Panel {
                shown,
                y_desc: &y,
                floor,
                labels,
                log,
            };
            let all: Vec<usize> = (0..values.len()).collect();
            match kind.scale(d) {
                Scale::Panels(high, low) => {
                    // The high group gets the upper part, with the pool changes' labels.
                    let (upper, lower) = plot.split_vertically(plot.dim_in_pixel().1 * 2 / 5);
                    time_chart(&upper, d, values, &panel(&high, true, false))?;
                    time_chart(&lower, d, values, &panel(&low, false, false))?;
                }
                Scale::Log => time_chart(&plot, d, values, &panel(&all, true, true))?,
                Scale::Linear => time_chart(&plot, d, values, &panel(&all, true, false))?,
            }
            legend(&legend_area, &policies())
        }
        Kind::ImbalanceOverTime => {
            let (plot, legend_area) = beside_legend(&area, &policies(), 0)?;
            let all: Vec<usize> = (0..d.policies.len()).collect();
            let panel = Panel {
                shown: &all,
                y_desc: "requests max / mean (1 = even)",
                floor: 1.0,
                labels: true,
                log: false,
            };
            time_chart(&plot, d, &d.requests_max_mean, &panel)?;
            legend(&legend_area, &policies())
        }
        Kind::EventMoves => {
            let (plot, legend_area) = beside_legend(&area, &policies(), 0)?;
            let changes: Vec<String> = d
                .events
                .iter()
                .map(|e| {
                    format!(
                        "{} {} {}",
                        e.clock.strip_suffix(":00").unwrap_or(&e.clock),
                        e.action,
                        e.server
                    )
                })
                .collect();
            grouped_bars(
                &plot,
                &changes,
                "pool change",
                &d.event_moved,
                "live sessions moved",
                None,
            )?;
            legend(&legend_area, &policies())
        }
        Kind::LoadDistribution => {
            let (plot, legend_area) = beside_legend(&area, &policies(), 0)?;
            let load = d.busiest.as_ref().map_or(&d.load_vs_fair[..], |b| &b.load_vs_fair[..]);
            cdf_chart(&plot, load, "requests / fair share (1 = fair)", 1.0)?;
            legend(&legend_area, &policies())
        }
        Kind::ServerLoad => {
            let (plot, legend_area) = beside_legend(&area, &policies(), 0)?;
            server_bars(&plot, d, &d.load_vs_fair, "requests / fair share (1 = fair)", Some(1.0))?;
            legend(&legend_area, &policies())
        }
        Kind::BusiestWindowLoad => {
            let (plot, legend_area) = beside_legend(&area, &policies(), 0)?;
            let load = d.busiest.as_ref().map_or(&[][..], |b| &b.load_vs_fair[..]);
            server_bars(&plot, d, load, "requests / fair share (1 = fair)", Some(1.0))?;
            legend(&legend_area, &policies())
        }
        Kind::Utilisation => {
            let (plot, legend_area) = beside_legend(&area, &policies(), 0)?;
            let percent: Vec<Vec<f64>> = d
                .utilisation
                .iter()
                .map(|p| p.iter().map(|u| u * 100.0).collect())
                .collect();
            server_bars(&plot, d, &percent, "utilisation (% of worker time)", None)?;
            legend(&legend_area, &policies())
        }
        Kind::ServersOverTime => super::servers::servers_chart(&area, d),
        Kind::LossByCause => {
            let shown: Vec<usize> = (0..d.causes.len())
                .filter(|&k| d.cause_per_1k.iter().any(|p| p[k] > 0.0))
                .collect();
            let items: Vec<(String, RGBColor)> = shown
                .iter()
                .map(|&k| {
                    let c = &d.causes[k];
                    let label = if c.detail.is_empty() {
                        c.name.clone()
                    } else {
                        format!("{} ({})", c.name, c.detail)
                    };
                    (label, palette::cause(&c.name, &c.detail))
                })
                .collect();
            let (plot, legend_area) = beside_legend(&area, &items, 0)?;
            cause_bars(&plot, d, &shown)?;
            legend(&legend_area, &items)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn baselines_far_above_the_rest_get_their_own_panel() {
        // Round robin and least connections lose about 2,000 a window, the hashes
        // a few, with one spike at a pool change: two panels, in run order.
        let mut spiky = vec![5.0; 24];
        spiky[12] = 700.0;
        let values = vec![vec![2000.0; 24], spiky, vec![1950.0; 24], vec![3.0; 24]];
        assert_eq!(by_scale(&values, 0.0), Some((vec![0, 2], vec![1, 3])));
    }

    #[test]
    fn policies_of_one_scale_share_a_panel() {
        // A policy that loses nothing shows on the floor of one scale.
        let values = vec![vec![10.0, 20.0], vec![4.0, 6.0], vec![0.0, 0.0]];
        assert_eq!(by_scale(&values, 0.0), None);
        let beside_nothing = vec![vec![2000.0], vec![0.0], vec![5.0]];
        assert_eq!(by_scale(&beside_nothing, 0.0), Some((vec![0], vec![1, 2])));
        let close = vec![vec![10.0, 20.0], vec![4.0, 6.0]];
        assert_eq!(by_scale(&close, 0.0), None);
        assert_eq!(scale_for(&close, 0.0), Scale::Linear);
        assert_eq!(by_scale(&[vec![1.0]], 0.0), None);
    }

    #[test]
    fn levels_over_decades_without_a_break_get_a_log_axis() {
        // Each level 5 times the next: no gap of 10, but 625 from top to bottom.
        let values: Vec<Vec<f64>> = [1250.0, 250.0, 50.0, 10.0, 2.0].iter().map(|&l| vec![l; 4]).collect();
        assert_eq!(scale_for(&values, 0.0), Scale::Log);
        // Ratios over a floor of 1 are not spread over decades.
        assert_eq!(scale_for(&values, 1.0), Scale::Linear);
    }

    #[test]
    fn names_read_as_a_list() {
        assert_eq!(listing(vec!["a"]), "a");
        assert_eq!(listing(vec!["a", "b", "c"]), "a, b and c");
    }
}
