//! report.svg: the runtimes side by side, one panel per table (lifecycle hot and cold, idle
//! fleets, idle containers by the thousand). Per row: every sample as a dot, the box from the
//! first to the third quartile, the median as a bar (its value printed beside the row), the
//! whisker from min to max.

use std::error::Error as StdError;
use std::path::Path;

use plotters::coord::ranged1d::SegmentValue;
use plotters::coord::Shift;
use plotters::prelude::*;

use super::report::{num, Row, Table};
use crate::run::{fail, Result};

const WIDTH: u32 = 1100;
const ROW_HEIGHT: u32 = 42;
const PANEL_EXTRA: u32 = 90;

/// One panel: its title, what its x axis measures, its rows.
pub struct Panel<'a> {
    pub title: &'a str,
    pub x_desc: &'a str,
    pub table: &'a Table,
}

pub fn write_svg(path: &Path, panels: &[Panel<'_>]) -> Result<()> {
    draw(path, panels).map_err(|e| fail(format!("cannot draw {}: {e}", path.display())))
}

fn draw(path: &Path, panels: &[Panel<'_>]) -> std::result::Result<(), Box<dyn StdError>> {
    let heights: Vec<u32> = panels
        .iter()
        .map(|p| PANEL_EXTRA + ROW_HEIGHT * p.table.rows.len().max(1) as u32)
        .collect();
    let total: u32 = heights.iter().sum::<u32>().max(1);
    let root = SVGBackend::new(path, (WIDTH, total)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut rest = root.clone();
    for (p, h) in panels.iter().zip(&heights) {
        let (panel, below) = rest.split_vertically(*h);
        draw_panel(&panel, p)?;
        rest = below;
    }
    root.present()?;
    Ok(())
}

/// Color by family, so lxc-rs, LXC, the OCI runtimes and the references read at a glance.
fn color(name: &str) -> RGBColor {
    if name.starts_with("lxc-rs") {
        RGBColor(0x1f, 0x77, 0xb4)
    } else if name.starts_with("lxc-") || name.starts_with("LXC") {
        RGBColor(0xe6, 0x6a, 0x00)
    } else if name.starts_with("runc") || name.starts_with("crun run") {
        RGBColor(0x2c, 0xa0, 0x2c)
    } else {
        RGBColor(0x70, 0x70, 0x70)
    }
}

fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let pos = q * (sorted.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    let frac = pos - lo as f64;
    sorted[lo] + (sorted[hi] - sorted[lo]) * frac
}

fn draw_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    p: &Panel<'_>,
) -> std::result::Result<(), Box<dyn StdError>>
where
    DB::ErrorType: 'static,
{
    let rows: Vec<&Row> = p
        .table
        .rows
        .iter()
        .filter(|r| !r.samples.is_empty())
        .collect();
    let n = rows.len().max(1) as i32;
    let x_max = rows
        .iter()
        .flat_map(|r| r.samples.iter().copied())
        .fold(0.0_f64, f64::max)
        * 1.12;
    let x_max = if x_max > 0.0 { x_max } else { 1.0 };
    // Row i is drawn at segment n-1-i, so the first row is at the top.
    let names: Vec<String> = rows.iter().rev().map(|r| r.name.clone()).collect();
    let mut chart = ChartBuilder::on(area)
        .caption(p.title, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(250)
        // A segmented 0..k has k+1 segments: one per row is 0..n-1.
        .build_cartesian_2d(0f64..x_max, (0..n - 1).into_segmented())?;
    let y_label = |v: &SegmentValue<i32>| match v {
        SegmentValue::CenterOf(i) => usize::try_from(*i)
            .ok()
            .and_then(|i| names.get(i))
            .cloned()
            .unwrap_or_default(),
        _ => String::new(),
    };
    chart
        .configure_mesh()
        .disable_y_mesh()
        .light_line_style(WHITE)
        .y_labels(n as usize)
        .y_label_formatter(&y_label)
        .x_desc(p.x_desc)
        .label_style(("sans-serif", 13))
        .draw()?;

    for (i, row) in rows.iter().enumerate() {
        let y = SegmentValue::CenterOf(n - 1 - i as i32);
        let c = color(&row.name);
        let mut sorted = row.samples.clone();
        sorted.sort_by(f64::total_cmp);
        let (q1, q3) = (quantile(&sorted, 0.25), quantile(&sorted, 0.75));
        let s = row.stats;
        let plot = chart.plotting_area();
        plot.draw(&PathElement::new(
            vec![(s.min, y.clone()), (s.max, y.clone())],
            c.stroke_width(1),
        ))?;
        plot.draw(&PathElement::new(
            vec![(q1, y.clone()), (q3, y.clone())],
            c.mix(0.3).stroke_width(16),
        ))?;
        for (k, t) in row.samples.iter().enumerate() {
            // A fixed spread across the row's height, so equal times do not hide each other.
            let dy = ((k * 7) % 15) as i32 - 7;
            plot.draw(
                &(EmptyElement::at((*t, y.clone()))
                    + Circle::new((0, dy), 2, c.mix(0.55).filled())),
            )?;
        }
        plot.draw(
            &(EmptyElement::at((s.median, y.clone()))
                + Rectangle::new([(-1, -11), (1, 11)], c.filled())),
        )?;
        plot.draw(
            &(EmptyElement::at((s.max, y.clone()))
                + Text::new(
                    format!("{} {}", num(s.median), row.unit),
                    (8, -7),
                    ("sans-serif", 13).into_font().color(&c),
                )),
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quartiles_interpolate() {
        let s = [1.0, 2.0, 3.0, 4.0, 5.0];
        assert_eq!(quantile(&s, 0.25), 2.0);
        assert_eq!(quantile(&s, 0.5), 3.0);
        assert_eq!(quantile(&[1.0, 2.0], 0.5), 1.5);
    }

    #[test]
    fn svg_has_every_row() {
        let dir = std::env::temp_dir().join(format!("lxcrs-t-bench-chart-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("c.svg");
        let t = Table {
            rows: vec![
                Row::new("lxc-rs execute", "x".into(), "ms", vec![5.0, 6.0, 7.0]).unwrap(),
                Row::new("lxc-execute", "y".into(), "ms", vec![15.0, 16.0]).unwrap(),
            ],
            notes: vec![],
        };
        let panel = |title| Panel {
            title,
            x_desc: "ms",
            table: &t,
        };
        write_svg(&path, &[panel("hot"), panel("cold")]).unwrap();
        let svg = std::fs::read_to_string(&path).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(svg.contains("lxc-rs execute") && svg.contains("lxc-execute"));
        assert!(svg.contains("6.00 ms"));
    }
}
