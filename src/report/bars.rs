//! Bar charts: servers side by side with one bar per policy, and each policy's
//! losses split by cause.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::canvas::{Drawn, FONT, short, tick, top};
use super::data::RunData;
use super::palette;

/// Grouped bars: one group per server, one bar per policy in its colour, and a
/// dashed reference line at `reference`.
pub(super) fn server_bars<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    d: &RunData,
    values: &[Vec<f64>],
    y_desc: &str,
    reference: Option<f64>,
) -> Drawn
where
    DB::ErrorType: 'static,
{
    grouped_bars(area, &d.servers, "server", values, y_desc, reference)
}

/// Grouped bars: one group per entry of `groups`, one bar per policy in its
/// colour (`values[policy][group]`; a missing value leaves a gap), and a dashed
/// reference line at `reference`.
pub(super) fn grouped_bars<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    groups: &[String],
    x_desc: &str,
    values: &[Vec<f64>],
    y_desc: &str,
    reference: Option<f64>,
) -> Drawn
where
    DB::ErrorType: 'static,
{
    let m = groups.len();
    let y_hi = top(values.iter().flatten().copied().chain(reference), 0.0);
    let mut chart = ChartBuilder::on(area)
        .margin(10)
        .x_label_area_size(50)
        .y_label_area_size(80)
        .build_cartesian_2d(-0.5..m as f64 - 0.5, 0.0..y_hi)?;
    // Labels only at whole positions, where the groups are centred.
    let name = |x: &f64| {
        let i = x.round();
        if (x - i).abs() < 1e-9 && i >= 0.0 && (i as usize) < m {
            short(&groups[i as usize])
        } else {
            String::new()
        }
    };
    chart
        .configure_mesh()
        .x_desc(x_desc)
        .y_desc(y_desc)
        .x_labels(m.max(1))
        .x_label_formatter(&name)
        .y_label_formatter(&tick)
        .disable_x_mesh()
        .label_style((FONT, 14))
        .axis_desc_style((FONT, 16))
        .light_line_style(WHITE.mix(0.0))
        .draw()?;
    let n = values.len().max(1) as f64;
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
pub(super) fn cause_bars<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, d: &RunData, shown: &[usize]) -> Drawn
where
    DB::ErrorType: 'static,
{
    let n = d.policies.len();
    let style = TextStyle::from((FONT, 14));
    let mut label_width = 0;
    for p in &d.policies {
        label_width = label_width.max(area.estimate_text_size(&short(p), &style)?.0);
    }
    // Bars end at 100%; the room beyond holds each bar's total, so the scale
    // (labels and light lines every 10%) stops at 100 and has no tick marks past it.
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
        .set_tick_mark_size(LabelAreaPosition::Bottom, 0)
        .y_labels(n.max(1))
        .y_label_formatter(&name)
        .disable_mesh()
        .label_style((FONT, 14))
        .axis_desc_style((FONT, 16))
        .light_line_style(WHITE.mix(0.0))
        .draw()?;
    let grid = RGBColor(225, 225, 225);
    for i in 1..=10 {
        let x = i as f64 * 10.0;
        chart.draw_series(LineSeries::new([(x, -0.5), (x, n as f64 - 0.5)], grid.stroke_width(1)))?;
    }
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

/// Horizontal bars, one per policy in its colour (first at the top), of length
/// `values[p]` (none where missing), each followed by its `texts[p]`.
pub(super) fn policy_bars<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    policies: &[String],
    values: &[Option<f64>],
    texts: &[String],
    x_desc: &str,
) -> Drawn
where
    DB::ErrorType: 'static,
{
    let n = policies.len();
    let style = TextStyle::from((FONT, 14));
    let mut label_width = 0;
    for p in policies {
        label_width = label_width.max(area.estimate_text_size(&short(p), &style)?.0);
    }
    // Room to the right of the longest bar for its text.
    let x_hi = top(values.iter().flatten().copied(), 0.0) * 1.3;
    let mut chart = ChartBuilder::on(area)
        .margin(10)
        .x_label_area_size(50)
        .y_label_area_size(label_width + 20)
        .build_cartesian_2d(0.0..x_hi, -0.5..n as f64 - 0.5)?;
    let name = |y: &f64| {
        let i = y.round();
        if (y - i).abs() < 1e-9 && i >= 0.0 && (i as usize) < n {
            short(&policies[n - 1 - i as usize])
        } else {
            String::new()
        }
    };
    chart
        .configure_mesh()
        .x_desc(x_desc)
        .x_label_formatter(&tick)
        .y_labels(n.max(1))
        .y_label_formatter(&name)
        .disable_y_mesh()
        .label_style((FONT, 14))
        .axis_desc_style((FONT, 16))
        .light_line_style(WHITE.mix(0.0))
        .draw()?;
    let at_left = TextStyle::from((FONT, 14)).pos(Pos::new(HPos::Left, VPos::Center));
    for (p, (value, text)) in values.iter().zip(texts).enumerate() {
        let y = (n - 1 - p) as f64;
        let end = value.unwrap_or(0.0);
        if let Some(v) = value {
            let colour = palette::policy(p);
            chart.draw_series([Rectangle::new([(0.0, y - 0.35), (*v, y + 0.35)], colour.filled())])?;
        }
        chart.draw_series([Text::new(text.clone(), (end + x_hi * 0.01, y), at_left.clone())])?;
    }
    Ok(())
}
