//! Small PNG figures for the examples: curves and points with error bars on
//! one pair of axes, with a legend.
//!
//! Include it from an example with
//! `#[path = "common/plot.rs"] mod plot;`.
//!
//! Text uses the DejaVu Sans font shipped in `assets/`, registered with
//! plotters under the family name `sans-serif`, so figures need no system
//! fonts.

// Each example includes this file and uses a part of it.
#![allow(dead_code)]

use plotters::prelude::*;
use plotters::style::{FontStyle, register_font};
use std::error::Error;
use std::path::Path;
use std::sync::Once;

/// The font every figure's text uses.
static FONT: &[u8] = include_bytes!("../../assets/DejaVuSans.ttf");

/// Registers the shipped font as `sans-serif`, the family plotters uses by
/// default for axis labels and legends. Idempotent.
pub fn register_fonts() {
    static REGISTER: Once = Once::new();
    REGISTER.call_once(|| {
        // The font is checked when the crate is built (it is a fixed file),
        // so a failure here is a broken checkout, not a user error.
        if register_font("sans-serif", FontStyle::Normal, FONT).is_err() {
            panic!("assets/DejaVuSans.ttf is not a valid font file");
        }
    });
}

/// One curve or one set of points.
enum Layer {
    Line {
        xs: Vec<f64>,
        ys: Vec<f64>,
        style: ShapeStyle,
        label: Option<String>,
    },
    Points {
        xs: Vec<f64>,
        ys: Vec<f64>,
        /// Half-lengths of vertical error bars, one per point.
        errors: Option<Vec<f64>>,
        style: ShapeStyle,
        label: Option<String>,
    },
    /// The area between two curves over the same `xs`.
    Band {
        xs: Vec<f64>,
        low: Vec<f64>,
        high: Vec<f64>,
        colour: RGBAColor,
        label: Option<String>,
    },
}

/// A figure with one pair of axes; layers are drawn in the order added,
/// and axis ranges fit all of them.
pub struct Figure {
    title: String,
    x_label: String,
    y_label: String,
    layers: Vec<Layer>,
    legend: SeriesLabelPosition,
}

impl Figure {
    /// An empty figure with a title and axis labels.
    pub fn new(title: &str, x_label: &str, y_label: &str) -> Figure {
        Figure {
            title: title.into(),
            x_label: x_label.into(),
            y_label: y_label.into(),
            layers: Vec::new(),
            legend: SeriesLabelPosition::UpperRight,
        }
    }

    /// Where the legend goes (upper right unless set), to keep it off the
    /// data.
    pub fn legend_at(mut self, position: SeriesLabelPosition) -> Figure {
        self.legend = position;
        self
    }

    /// A curve through `(xs[i], ys[i])`, in the legend when `label` is given.
    pub fn line(mut self, xs: &[f64], ys: &[f64], style: ShapeStyle, label: Option<&str>) -> Figure {
        assert_eq!(xs.len(), ys.len(), "Figure::line: xs and ys differ in length");
        self.layers.push(Layer::Line {
            xs: xs.to_vec(),
            ys: ys.to_vec(),
            style,
            label: label.map(String::from),
        });
        self
    }

    /// Points with optional vertical error bars of half-length `errors[i]`.
    pub fn points(
        mut self,
        xs: &[f64],
        ys: &[f64],
        errors: Option<&[f64]>,
        style: ShapeStyle,
        label: Option<&str>,
    ) -> Figure {
        assert_eq!(xs.len(), ys.len(), "Figure::points: xs and ys differ in length");
        if let Some(e) = errors {
            assert_eq!(e.len(), xs.len(), "Figure::points: one error per point");
        }
        self.layers.push(Layer::Points {
            xs: xs.to_vec(),
            ys: ys.to_vec(),
            errors: errors.map(<[f64]>::to_vec),
            style,
            label: label.map(String::from),
        });
        self
    }

    /// The area between `low` and `high` over `xs`, filled with `colour`
    /// (give it some transparency to see the layers below).
    pub fn band(
        mut self,
        xs: &[f64],
        low: &[f64],
        high: &[f64],
        colour: RGBAColor,
        label: Option<&str>,
    ) -> Figure {
        assert!(
            xs.len() == low.len() && xs.len() == high.len(),
            "Figure::band: xs, low and high differ in length"
        );
        self.layers.push(Layer::Band {
            xs: xs.to_vec(),
            low: low.to_vec(),
            high: high.to_vec(),
            colour,
            label: label.map(String::from),
        });
        self
    }

    /// Draws the figure into a PNG of `width` x `height` pixels at `path`,
    /// creating the parent directory if needed.
    pub fn save(&self, path: &Path, width: u32, height: u32) -> Result<(), Box<dyn Error>> {
        register_fonts();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let root = BitMapBackend::new(path, (width, height)).into_drawing_area();
        root.fill(&WHITE)?;
        let (x_range, y_range) = self.ranges();
        let mut chart = ChartBuilder::on(&root)
            .caption(&self.title, ("sans-serif", 24))
            .margin(12)
            .x_label_area_size(44)
            .y_label_area_size(56)
            .build_cartesian_2d(x_range, y_range)?;
        chart
            .configure_mesh()
            .x_desc(&self.x_label)
            .y_desc(&self.y_label)
            .axis_desc_style(("sans-serif", 18))
            .label_style(("sans-serif", 14))
            .light_line_style(WHITE.mix(0.0))
            .draw()?;
        for layer in &self.layers {
            draw_layer(&mut chart, layer)?;
        }
        chart
            .configure_series_labels()
            .position(self.legend.clone())
            .label_font(("sans-serif", 14))
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()?;
        root.present()?;
        Ok(())
    }

    /// Axis ranges covering every layer (error bars included), padded by 5%.
    fn ranges(&self) -> (std::ops::Range<f64>, std::ops::Range<f64>) {
        let (mut x_lo, mut x_hi) = (f64::INFINITY, f64::NEG_INFINITY);
        let (mut y_lo, mut y_hi) = (f64::INFINITY, f64::NEG_INFINITY);
        for layer in &self.layers {
            let (xs, lows, highs) = match layer {
                Layer::Line { xs, ys, .. } => (xs, ys.clone(), ys.clone()),
                Layer::Points { xs, ys, errors, .. } => {
                    let e = |i: usize| errors.as_ref().map_or(0.0, |e| e[i]);
                    let lows = ys.iter().enumerate().map(|(i, y)| y - e(i)).collect();
                    let highs = ys.iter().enumerate().map(|(i, y)| y + e(i)).collect();
                    (xs, lows, highs)
                }
                Layer::Band { xs, low, high, .. } => (xs, low.clone(), high.clone()),
            };
            for ((&x, &lo), &hi) in xs.iter().zip(&lows).zip(&highs) {
                (x_lo, x_hi) = (x_lo.min(x), x_hi.max(x));
                (y_lo, y_hi) = (y_lo.min(lo), y_hi.max(hi));
            }
        }
        (padded(x_lo, x_hi), padded(y_lo, y_hi))
    }
}

/// `[lo, hi]` widened by 5% each side; an empty or single-valued range
/// becomes one of width 2 so the axes still draw.
fn padded(lo: f64, hi: f64) -> std::ops::Range<f64> {
    if lo.partial_cmp(&hi) != Some(std::cmp::Ordering::Less) {
        let centre = if lo.is_finite() { lo } else { 0.0 };
        return centre - 1.0..centre + 1.0;
    }
    let pad = 0.05 * (hi - lo);
    lo - pad..hi + pad
}

type Chart<'a> = ChartContext<
    'a,
    BitMapBackend<'a>,
    Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>,
>;

fn draw_layer(chart: &mut Chart<'_>, layer: &Layer) -> Result<(), Box<dyn Error>> {
    match layer {
        Layer::Line { xs, ys, style, label } => {
            let points = xs.iter().copied().zip(ys.iter().copied());
            let series = chart.draw_series(LineSeries::new(points, *style))?;
            if let Some(label) = label {
                let style = *style;
                series
                    .label(label)
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], style));
            }
        }
        Layer::Points {
            xs,
            ys,
            errors,
            style,
            label,
        } => {
            if let Some(errors) = errors {
                let bars = xs.iter().zip(ys).zip(errors).map(|((&x, &y), &e)| {
                    PathElement::new(vec![(x, y - e), (x, y + e)], style.stroke_width(1))
                });
                chart.draw_series(bars)?;
            }
            let dots = xs
                .iter()
                .zip(ys)
                .map(|(&x, &y)| Circle::new((x, y), 3, style.filled()));
            let series = chart.draw_series(dots)?;
            if let Some(label) = label {
                let style = *style;
                series
                    .label(label)
                    .legend(move |(x, y)| Circle::new((x + 10, y), 3, style.filled()));
            }
        }
        Layer::Band {
            xs,
            low,
            high,
            colour,
            label,
        } => {
            let outline: Vec<(f64, f64)> = xs
                .iter()
                .zip(low)
                .map(|(&x, &y)| (x, y))
                .chain(xs.iter().zip(high).rev().map(|(&x, &y)| (x, y)))
                .collect();
            let series = chart.draw_series(std::iter::once(Polygon::new(outline, colour.filled())))?;
            if let Some(label) = label {
                let colour = *colour;
                series
                    .label(label)
                    .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 20, y + 5)], colour.filled()));
            }
        }
    }
    Ok(())
}
