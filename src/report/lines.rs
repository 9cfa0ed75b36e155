//! Charts over time: one line per policy across the run's windows, with the
//! pool changes marked where they happened.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::canvas::{Drawn, FONT, tick, top};
use super::data::RunData;
use super::palette;

/// The time unit for the x axis: hours for runs of three hours or more.
pub(super) fn time_unit(d: &RunData) -> (f64, &'static str) {
    if d.duration_s >= 3.0 * 3600.0 {
        (3600.0, "h")
    } else {
        (60.0, "min")
    }
}

/// What one panel of a time chart shows: which policies (positions in the run,
/// which fix the colours), the y axis and its floor, whether the pool changes
/// are labelled, and whether the y axis is logarithmic.
pub(super) struct Panel<'a> {
    pub shown: &'a [usize],
    pub y_desc: &'a str,
    pub floor: f64,
    pub labels: bool,
    pub log: bool,
}

/// The values on a log10 axis: zero (no loss in the window) sits on the axis's
/// floor, a whole power of ten at or below the smallest positive value.
fn logarithmic(values: &[Vec<f64>]) -> (Vec<Vec<f64>>, f64) {
    let least = values
        .iter()
        .flatten()
        .copied()
        .filter(|v| *v > 0.0)
        .fold(f64::INFINITY, f64::min);
    let floor = if least.is_finite() { least.log10().floor() } else { 0.0 };
    let scaled = values
        .iter()
        .map(|series| {
            series
                .iter()
                .map(|&v| {
                    if v > 0.0 {
                        v.log10()
                    } else if v.is_finite() {
                        floor
                    } else {
                        f64::NAN
                    }
                })
                .collect()
        })
        .collect();
    (scaled, floor)
}

/// A log axis's tick: the value at whole powers of ten, nothing between.
fn power_of_ten(v: &f64) -> String {
    if (v - v.round()).abs() < 1e-9 {
        tick(&10f64.powf(v.round()))
    } else {
        String::new()
    }
}

/// One line per policy of the panel over the run's windows, each point at its
/// window's middle, with the pool changes as vertical lines.
pub(super) fn time_chart<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    d: &RunData,
    values: &[Vec<f64>],
    panel: &Panel,
) -> Drawn
where
    DB::ErrorType: 'static,
{
    let (scaled, floor) = if panel.log {
        logarithmic(values)
    } else {
        (values.to_vec(), panel.floor)
    };
    let values: Vec<(usize, &Vec<f64>)> = panel.shown.iter().map(|&p| (p, &scaled[p])).collect();
    let (labels, y_desc) = (panel.labels, panel.y_desc);
    let (scale, unit) = time_unit(d);
    let end = if d.duration_s.is_finite() {
        d.duration_s
    } else {
        d.windows.last().map_or(1.0, |w| w + d.window_s)
    };
    let y_max = top(values.iter().flat_map(|(_, v)| v.iter()).copied(), floor);
    // Room above the data for the pool changes' labels.
    let y_hi = if d.events.is_empty() || !labels {
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
        .y_label_formatter(if panel.log {
            &power_of_ten as &dyn Fn(&f64) -> String
        } else {
            &tick
        })
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
    for (k, e) in d.events.iter().enumerate().filter(|_| labels) {
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
    for (p, series) in values {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_log_axis_puts_zero_on_its_floor() {
        let (scaled, floor) = logarithmic(&[vec![2000.0, 0.0], vec![3.0, f64::NAN]]);
        assert_eq!(floor, 0.0);
        assert!((scaled[0][0] - 2000f64.log10()).abs() < 1e-12);
        assert_eq!(scaled[0][1], 0.0);
        assert!(scaled[1][1].is_nan(), "a window without a value stays a gap");
        assert_eq!(power_of_ten(&2.0), "100");
        assert_eq!(power_of_ten(&2.5), "");
    }
}
