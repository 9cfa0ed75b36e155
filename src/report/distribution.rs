//! Distributions across servers: for each policy, the share of servers whose
//! load is at or below each value (an empirical CDF, drawn as steps). A policy
//! that spreads evenly rises steeply at 1; one that piles clients onto a few
//! servers has a long tail to the right.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::canvas::{Drawn, FONT, tick};
use super::palette;

/// The steps of the empirical CDF of `values` (finite ones only) from `lo` to
/// `hi`: (x, percent of values ≤ x).
pub(super) fn steps(values: &[f64], lo: f64, hi: f64) -> Vec<(f64, f64)> {
    let mut xs: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    xs.sort_by(f64::total_cmp);
    let n = xs.len() as f64;
    let mut out = vec![(lo, 0.0)];
    for (i, &x) in xs.iter().enumerate() {
        out.push((x, 100.0 * i as f64 / n));
        out.push((x, 100.0 * (i + 1) as f64 / n));
    }
    if !xs.is_empty() {
        out.push((hi, 100.0));
    }
    out
}

/// One step line per policy (`values[policy][server]`), with a dashed line at
/// `reference` on the x axis.
pub(super) fn cdf_chart<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    values: &[Vec<f64>],
    x_desc: &str,
    reference: f64,
) -> Drawn
where
    DB::ErrorType: 'static,
{
    let finite = || values.iter().flatten().copied().filter(|v| v.is_finite());
    let (min, max) = finite().fold((reference, reference), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let pad = ((max - min) * 0.05).max(0.01);
    let (lo, hi) = ((min - pad).max(0.0), max + pad);
    let mut chart = ChartBuilder::on(area)
        .margin(10)
        .x_label_area_size(50)
        .y_label_area_size(80)
        .build_cartesian_2d(lo..hi, 0.0..100.0)?;
    chart
        .configure_mesh()
        .x_desc(x_desc)
        .y_desc("servers at or below (%)")
        .x_label_formatter(&tick)
        .y_label_formatter(&tick)
        .label_style((FONT, 14))
        .axis_desc_style((FONT, 16))
        .light_line_style(WHITE.mix(0.0))
        .draw()?;
    chart.draw_series(DashedLineSeries::new(
        [(reference, 0.0), (reference, 100.0)],
        8,
        6,
        BLACK.stroke_width(1),
    ))?;
    for (p, per_server) in values.iter().enumerate() {
        let colour = palette::policy(p);
        chart.draw_series(LineSeries::new(steps(per_server, lo, hi), colour.stroke_width(2)))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_climb_one_server_at_a_time() {
        let s = steps(&[1.2, f64::NAN, 0.8], 0.5, 1.5);
        assert_eq!(
            s,
            [
                (0.5, 0.0),
                (0.8, 0.0),
                (0.8, 50.0),
                (1.2, 50.0),
                (1.2, 100.0),
                (1.5, 100.0)
            ]
        );
        assert_eq!(steps(&[], 0.0, 1.0), [(0.0, 0.0)]);
    }
}
