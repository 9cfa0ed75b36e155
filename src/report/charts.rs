//! The charts of a report. Each is drawn twice from the same code, once per
//! backend: SVG (inlined in report.html, sharp at any zoom) and PNG (for slides
//! and chat). Policies keep their palette colour in every chart; the legend sits
//! beside the plot, never over the data.

use std::error::Error;

use plotters::coord::Shift;
use plotters::prelude::*;

use super::bars::{cause_bars, server_bars};
use super::data::RunData;
use super::lines::time_chart;
use super::palette;

/// One rendered chart.
pub struct Chart {
    /// File stem in charts/, and the anchor in report.html.
    pub name: String,
    pub title: String,
    pub svg: String,
    pub png: Vec<u8>,
}

pub(super) type Drawn = Result<(), Box<dyn Error>>;
/// A plot and the legend beside it.
type Split<DB> = (DrawingArea<DB, Shift>, DrawingArea<DB, Shift>);

pub(super) const WIDTH: u32 = 1200;
pub(super) const LINE_HEIGHT: u32 = 600;
pub(super) const FONT: &str = "sans-serif";
/// Longest label shown in a legend or on an axis; longer ones end in "…".
const MAX_LABEL: usize = 64;

#[derive(Clone, Copy)]
enum Kind {
    LossOverTime,
    LossByCause,
    ImbalanceOverTime,
    ServerLoad,
    BusiestWindowLoad,
    LatencyOverTime,
    Utilisation,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::LossOverTime => "sessions_lost_over_time",
            Kind::LossByCause => "losses_by_cause",
            Kind::ImbalanceOverTime => "imbalance_over_time",
            Kind::ServerLoad => "server_load",
            Kind::BusiestWindowLoad => "server_load_busiest_window",
            Kind::LatencyOverTime => "latency_p99_over_time",
            Kind::Utilisation => "server_utilisation",
        }
    }

    fn title(self, d: &RunData) -> String {
        let window = minutes(d.window_s);
        match self {
            Kind::LossOverTime => format!("Sessions lost per {window} window, with pool changes"),
            Kind::LossByCause => "Losses by cause: share of each policy's losses, and losses per 1,000 requests".into(),
            Kind::ImbalanceOverTime => format!("Request imbalance per {window} window (busiest server / mean)"),
            Kind::ServerLoad => "Each server's requests over its fair share, whole run".into(),
            Kind::BusiestWindowLoad => format!(
                "Each server's requests over its fair share in the busiest window ({window} from {})",
                d.busiest
                    .as_ref()
                    .map_or("", |b| b.clock.strip_suffix(":00").unwrap_or(&b.clock))
            ),
            Kind::LatencyOverTime => format!("p99 latency per {window} window"),
            Kind::Utilisation => "Utilisation per server (busy worker time / available)".into(),
        }
    }

    fn height(self, d: &RunData) -> u32 {
        match self {
            // One bar per policy, each tall enough for its label.
            Kind::LossByCause => (140 + 34 * d.policies.len() as u32).max(320),
            _ => LINE_HEIGHT,
        }
    }
}

/// "15 min", "1 h", "30 s": a window length as people say it.
fn minutes(secs: f64) -> String {
    if secs >= 3600.0 && secs % 3600.0 == 0.0 {
        format!("{} h", secs / 3600.0)
    } else if secs >= 60.0 && secs % 60.0 == 0.0 {
        format!("{} min", secs / 60.0)
    } else {
        format!("{} s", crate::output::num(secs))
    }
}

/// Every chart the run's data supports, in report order; latency and
/// utilisation only when the run measured them (queueing on), the busiest
/// window only for runs that wrote server_windows.csv.
pub fn render_all(d: &RunData) -> Result<Vec<Chart>, String> {
    let mut kinds = vec![
        Kind::LossOverTime,
        Kind::LossByCause,
        Kind::ImbalanceOverTime,
        Kind::ServerLoad,
    ];
    if d.busiest.is_some() {
        kinds.push(Kind::BusiestWindowLoad);
    }
    if d.has_latency() {
        kinds.extend([Kind::LatencyOverTime, Kind::Utilisation]);
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
        svg,
        png,
    })
}

/// Draws a chart of `size` once as SVG text and once as PNG bytes, with the
/// same drawing code given for each backend; `name` says which chart failed.
pub(super) fn encode(
    size: (u32, u32),
    name: &str,
    svg_draw: impl FnOnce(&DrawingArea<SVGBackend, Shift>) -> Drawn,
    png_draw: impl FnOnce(&DrawingArea<BitMapBackend, Shift>) -> Drawn,
) -> Result<(String, Vec<u8>), String> {
    let fail = |e: Box<dyn Error>| format!("drawing {name}: {e}");
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        svg_draw(&root).map_err(fail)?;
        root.present().map_err(|e| fail(e.into()))?;
    }
    let mut rgb = vec![0u8; (size.0 * size.1 * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, size).into_drawing_area();
        png_draw(&root).map_err(fail)?;
        root.present().map_err(|e| fail(e.into()))?;
    }
    let mut png = Vec::new();
    image::ImageEncoder::write_image(
        image::codecs::png::PngEncoder::new(&mut png),
        &rgb,
        size.0,
        size.1,
        image::ColorType::Rgb8,
    )
    .map_err(|e| fail(e.into()))?;
    Ok((svg, png))
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
        Kind::LossOverTime => {
            let (plot, legend_area) = beside_legend(&area, &policies(), 0)?;
            let y = format!("sessions lost per {window}");
            time_chart(&plot, d, &d.sessions_lost, &y, 0.0)?;
            legend(&legend_area, &policies())
        }
        Kind::ImbalanceOverTime => {
            let (plot, legend_area) = beside_legend(&area, &policies(), 0)?;
            time_chart(&plot, d, &d.requests_max_mean, "requests max / mean (1 = even)", 1.0)?;
            legend(&legend_area, &policies())
        }
        Kind::LatencyOverTime => {
            let (plot, legend_area) = beside_legend(&area, &policies(), 0)?;
            time_chart(&plot, d, &d.p99_ms, "p99 latency (ms)", 0.0)?;
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

/// An axis tick: at most two decimals, trailing zeros dropped ("700", "0.25").
pub(super) fn tick(v: &f64) -> String {
    let s = format!("{v:.2}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" { "0".into() } else { s.into() }
}

pub(super) fn short(label: &str) -> String {
    if label.chars().count() <= MAX_LABEL {
        label.to_string()
    } else {
        let cut: String = label.chars().take(MAX_LABEL - 1).collect();
        format!("{cut}…")
    }
}

/// Splits `area` into the plot and, on its right, room for the legend's widest entry.
pub(super) fn beside_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    items: &[(String, RGBColor)],
    extra: u32,
) -> Result<Split<DB>, Box<dyn Error>>
where
    DB::ErrorType: 'static,
{
    let style = TextStyle::from((FONT, 14));
    let mut widest = 0;
    for (label, _) in items {
        widest = widest.max(area.estimate_text_size(&short(label), &style)?.0);
    }
    let width = area.dim_in_pixel().0;
    let legend = (widest + 50 + extra).min(width / 2);
    Ok(area.split_horizontally(width - legend))
}

/// A colour swatch and label per item, top to bottom.
fn legend<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, items: &[(String, RGBColor)]) -> Drawn
where
    DB::ErrorType: 'static,
{
    let height = area.dim_in_pixel().1 as i32;
    // Rows shrink so that even a long list of policies fits.
    let row = ((height - 40) / items.len().max(1) as i32).clamp(12, 24);
    for (i, (label, colour)) in items.iter().enumerate() {
        let y = 20 + row * i as i32;
        area.draw(&Rectangle::new([(10, y), (26, y + 12)], colour.filled()))?;
        area.draw(&Text::new(short(label), (32, y - 1), (FONT, 14)))?;
    }
    Ok(())
}

/// Upper bound for a y axis showing `values`, with headroom; at least `floor + 1`.
pub(super) fn top(values: impl Iterator<Item = f64>, floor: f64) -> f64 {
    let max = values.filter(|x| x.is_finite()).fold(floor, f64::max);
    if max > floor {
        floor + (max - floor) * 1.15
    } else {
        floor + 1.0
    }
}
