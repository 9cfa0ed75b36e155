//! The charts of a report. Each is drawn twice from the same code, once per
//! backend: SVG (inlined in report.html, sharp at any zoom) and PNG (for slides
//! and chat). Policies keep their palette colour in every chart; the legend sits
//! beside the plot, never over the data.

use std::error::Error;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::data::RunData;
use super::palette;

/// One rendered chart.
pub struct Chart {
    /// File stem in charts/, and the anchor in report.html.
    pub name: &'static str,
    pub title: String,
    pub svg: String,
    pub png: Vec<u8>,
}

type Drawn = Result<(), Box<dyn Error>>;
/// A plot and the legend beside it.
type Split<DB> = (DrawingArea<DB, Shift>, DrawingArea<DB, Shift>);

const WIDTH: u32 = 1200;
const LINE_HEIGHT: u32 = 600;
const FONT: &str = "sans-serif";
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
    let size = (WIDTH, kind.height(d));
    let fail = |e: Box<dyn Error>| format!("drawing {}: {e}", kind.name());
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        draw(kind, &root, d).map_err(fail)?;
        root.present().map_err(|e| fail(e.into()))?;
    }
    let mut rgb = vec![0u8; (size.0 * size.1 * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, size).into_drawing_area();
        draw(kind, &root, d).map_err(fail)?;
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
    Ok(Chart {
        name: kind.name(),
        title: kind.title(d),
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
        Kind::LossOverTime => {
            let (plot, legend_area) = beside_legend(&area, &policies())?;
            let y = format!("sessions lost per {window}");
            time_chart(&plot, d, &d.sessions_lost, &y, 0.0)?;
            legend(&legend_area, &policies())
        }
        Kind::ImbalanceOverTime => {
            let (plot, legend_area) = beside_legend(&area, &policies())?;
            time_chart(&plot, d, &d.requests_max_mean, "requests max / mean (1 = even)", 1.0)?;
            legend(&legend_area, &policies())
        }
        Kind::LatencyOverTime => {
            let (plot, legend_area) = beside_legend(&area, &policies())?;
            time_chart(&plot, d, &d.p99_ms, "p99 latency (ms)", 0.0)?;
            legend(&legend_area, &policies())
        }
        Kind::ServerLoad => {
            let (plot, legend_area) = beside_legend(&area, &policies())?;
            server_bars(&plot, d, &d.load_vs_fair, "requests / fair share (1 = fair)", Some(1.0))?;
            legend(&legend_area, &policies())
        }
        Kind::BusiestWindowLoad => {
            let (plot, legend_area) = beside_legend(&area, &policies())?;
            let load = d.busiest.as_ref().map_or(&[][..], |b| &b.load_vs_fair[..]);
            server_bars(&plot, d, load, "requests / fair share (1 = fair)", Some(1.0))?;
            legend(&legend_area, &policies())
        }
        Kind::Utilisation => {
            let (plot, legend_area) = beside_legend(&area, &policies())?;
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
            let (plot, legend_area) = beside_legend(&area, &items)?;
            cause_bars(&plot, d, &shown)?;
            legend(&legend_area, &items)
        }
    }
}

/// An axis tick: at most two decimals, trailing zeros dropped ("700", "0.25").
fn tick(v: &f64) -> String {
    let s = format!("{v:.2}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" { "0".into() } else { s.into() }
}

fn short(label: &str) -> String {
    if label.chars().count() <= MAX_LABEL {
        label.to_string()
    } else {
        let cut: String = label.chars().take(MAX_LABEL - 1).collect();
        format!("{cut}…")
    }
}

/// Splits `area` into the plot and, on its right, room for the legend's widest entry.
fn beside_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    items: &[(String, RGBColor)],
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
    let legend = (widest + 50).min(width / 2);
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

/// The time unit for the x axis: hours for runs of three hours or more.
fn time_unit(d: &RunData) -> (f64, &'static str) {
    if d.duration_s >= 3.0 * 3600.0 {
        (3600.0, "h")
    } else {
        (60.0, "min")
    }
}

/// Upper bound for a y axis showing `values`, with headroom; at least `floor + 1`.
fn top(values: impl Iterator<Item = f64>, floor: f64) -> f64 {
    let max = values.filter(|x| x.is_finite()).fold(floor, f64::max);
    if max > floor {
        floor + (max - floor) * 1.15
    } else {
        floor + 1.0
    }
}

/// One line per policy over the run's windows, each point at its window's middle,
/// with the pool changes as labelled vertical lines.
fn time_chart<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    d: &RunData,
    values: &[Vec<f64>],
    y_desc: &str,
    floor: f64,
) -> Drawn
where
    DB::ErrorType: 'static,
{
    let (scale, unit) = time_unit(d);
    let end = if d.duration_s.is_finite() {
        d.duration_s
    } else {
        d.windows.last().map_or(1.0, |w| w + d.window_s)
    };
    let y_max = top(values.iter().flatten().copied(), floor);
    // Room above the data for the pool changes' labels.
    let y_hi = if d.events.is_empty() {
        y_max
    } else {
        floor + (y_max - floor) * 1.25
    };
    let mut chart = ChartBuilder::on(area)
        .margin(10)
        .x_label_area_size(50)
        .y_label_area_size(80)
        .build_cartesian_2d(0.0..end / scale, floor..y_hi)?;
    chart
        .configure_mesh()
        .x_desc(format!("time ({unit})"))
        .y_desc(y_desc)
        .x_label_formatter(&tick)
        .y_label_formatter(&tick)
        .label_style((FONT, 14))
        .axis_desc_style((FONT, 16))
        .light_line_style(WHITE.mix(0.0))
        .draw()?;
    let grey = RGBColor(110, 110, 110);
    for e in &d.events {
        let x = e.at_s / scale;
        chart.draw_series(LineSeries::new([(x, floor), (x, y_hi)], grey.stroke_width(1)))?;
    }
    let font = TextStyle::from((FONT, 13)).color(&grey);
    for (k, e) in d.events.iter().enumerate() {
        let x = e.at_s / scale;
        // Three label rows, so neighbouring changes do not print over each other.
        let y = y_hi - (y_hi - floor) * (0.02 + 0.06 * (k % 3) as f64);
        let clock = e.clock.strip_suffix(":00").unwrap_or(&e.clock);
        let label = format!("{clock} {} {}", e.action, e.server);
        let (w, h) = area.estimate_text_size(&label, &font)?;
        let (w, h) = (w as i32 + 8, h as i32 + 4);
        // Labels of late changes extend to the left, so the plot's edge does not cut
        // them; a white box keeps other changes' lines from crossing the text.
        let left = if e.at_s > end * 0.7 { -w } else { 0 };
        let tag = EmptyElement::at((x, y))
            + Rectangle::new([(left, 0), (left + w, h)], WHITE.filled())
            + Text::new(label, (left + 4, 2), font.clone());
        chart.draw_series([tag])?;
    }
    let half = d.window_s / 2.0;
    for (p, series) in values.iter().enumerate() {
        let colour = palette::policy(p);
        // A missing value (no requests in the window) breaks the line.
        let mut run: Vec<(f64, f64)> = Vec::new();
        for (w, v) in d.windows.iter().zip(series) {
            if v.is_finite() {
                run.push(((w + half) / scale, *v));
            } else if !run.is_empty() {
                chart.draw_series(LineSeries::new(std::mem::take(&mut run), colour.stroke_width(2)))?;
            }
        }
        chart.draw_series(LineSeries::new(run, colour.stroke_width(2)))?;
    }
    Ok(())
}

/// Grouped bars: one group per server, one bar per policy in its colour, and a
/// dashed reference line at `reference`.
fn server_bars<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    d: &RunData,
    values: &[Vec<f64>],
    y_desc: &str,
    reference: Option<f64>,
) -> Drawn
where
    DB::ErrorType: 'static,
{
    let m = d.servers.len();
    let y_hi = top(values.iter().flatten().copied().chain(reference), 0.0);
    let mut chart = ChartBuilder::on(area)
        .margin(10)
        .x_label_area_size(50)
        .y_label_area_size(80)
        .build_cartesian_2d(-0.5..m as f64 - 0.5, 0.0..y_hi)?;
    let servers = &d.servers;
    // Labels only at whole positions, where the groups are centred.
    let name = |x: &f64| {
        let i = x.round();
        if (x - i).abs() < 1e-9 && i >= 0.0 && (i as usize) < m {
            short(&servers[i as usize])
        } else {
            String::new()
        }
    };
    chart
        .configure_mesh()
        .x_desc("server")
        .y_desc(y_desc)
        .x_labels(m.max(1))
        .x_label_formatter(&name)
        .y_label_formatter(&tick)
        .disable_x_mesh()
        .label_style((FONT, 14))
        .axis_desc_style((FONT, 16))
        .light_line_style(WHITE.mix(0.0))
        .draw()?;
    let n = d.policies.len().max(1) as f64;
    let slot = 0.8 / n;
    for (p, per_server) in values.iter().enumerate() {
        let colour = palette::policy(p);
        chart.draw_series(
            per_server
                .iter()
                .enumerate()
                .filter(|(_, v)| v.is_finite())
                .map(|(s, v)| {
                    let x0 = s as f64 - 0.4 + slot * p as f64;
                    Rectangle::new([(x0, 0.0), (x0 + slot * 0.9, *v)], colour.filled())
                }),
        )?;
    }
    if let Some(r) = reference {
        chart.draw_series(DashedLineSeries::new(
            [(-0.5, r), (m as f64 - 0.5, r)],
            8,
            6,
            BLACK.stroke_width(1),
        ))?;
    }
    Ok(())
}

/// Horizontal bars, one per policy (first at the top), each split into its
/// causes' shares of its losses; the policy's losses per 1,000 requests are
/// written after its bar. Shares rather than counts, so a sticky policy's few
/// losses show their causes as clearly as a non-sticky policy's many.
fn cause_bars<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, d: &RunData, shown: &[usize]) -> Drawn
where
    DB::ErrorType: 'static,
{
    let n = d.policies.len();
    let style = TextStyle::from((FONT, 14));
    let mut label_width = 0;
    for p in &d.policies {
        label_width = label_width.max(area.estimate_text_size(&short(p), &style)?.0);
    }
    // Bars end at 100%; the room beyond holds each bar's total.
    let mut chart = ChartBuilder::on(area)
        .margin(10)
        .x_label_area_size(50)
        .y_label_area_size(label_width + 20)
        .build_cartesian_2d(0.0..130.0, -0.5..n as f64 - 0.5)?;
    // Position n-1 is the top row: the run's first policy.
    let row = |p: usize| (n - 1 - p) as f64;
    let policies = &d.policies;
    let name = |y: &f64| {
        let i = y.round();
        if (y - i).abs() < 1e-9 && i >= 0.0 && (i as usize) < n {
            short(&policies[n - 1 - i as usize])
        } else {
            String::new()
        }
    };
    let percent = |x: &f64| if *x <= 100.0 { tick(x) } else { String::new() };
    chart
        .configure_mesh()
        .x_desc("share of the policy's losses (%)")
        .x_labels(14)
        .x_label_formatter(&percent)
        .y_labels(n.max(1))
        .y_label_formatter(&name)
        .disable_mesh()
        .label_style((FONT, 14))
        .axis_desc_style((FONT, 16))
        .light_line_style(WHITE.mix(0.0))
        .draw()?;
    for (p, per_cause) in d.cause_per_1k.iter().enumerate() {
        let y = row(p);
        let total: f64 = shown.iter().map(|&k| per_cause[k]).filter(|v| v.is_finite()).sum();
        let text = if total > 0.0 {
            format!("{} / 1k req", tick(&total))
        } else {
            "no losses".to_string()
        };
        let at_left = TextStyle::from((FONT, 14)).pos(Pos::new(HPos::Left, VPos::Center));
        chart.draw_series([Text::new(text, (101.5, y), at_left)])?;
        if total <= 0.0 {
            continue;
        }
        let mut x = 0.0;
        for &k in shown {
            let v = per_cause[k];
            if v.is_finite() && v > 0.0 {
                let w = 100.0 * v / total;
                let colour = palette::cause(&d.causes[k].name, &d.causes[k].detail);
                chart.draw_series([Rectangle::new([(x, y - 0.35), (x + w, y + 0.35)], colour.filled())])?;
                x += w;
            }
        }
    }
    Ok(())
}
