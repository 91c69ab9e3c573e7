//! The figures, each a standalone SVG document drawn with plotters' SVG backend (axes, grids,
//! lines, bands, cells, legends). Text is `<text>` with a font-family name only; nothing refers
//! to a font file or any URL (the only `http` in the output is the SVG namespace).
//!
//! Dots with hover titles: plotters writes no `<title>`, so the scatter plots take each dot's
//! pixel position from the chart's own coordinate mapping ([`ChartContext::backend_coord`],
//! the same mapping plotters uses for the axes drawn around them) and write the `<circle>`
//! elements with a `<title>` child themselves, in one `<g>` inserted just before the document's
//! closing `</svg>` (see [`splice`]). This keeps plotters in charge of every coordinate while
//! the markup per dot stays short: integer pixel coordinates and a colour class defined once in
//! a `<style>` element of the same SVG.

use super::data::{CurvePoint, ExampleRow, Examples, Forgetting, Heatmap};
use super::data::{OrderVsEase, SeedAgreement};
use super::{Figure, ReportError};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Figure size in pixels (the page scales them down to fit).
pub const W: u32 = 660;
pub const H: u32 = 420;

const FONT: &str = "sans-serif";
const GRID: RGBColor = RGBColor(236, 236, 236);
const GRID_BOLD: RGBColor = RGBColor(214, 214, 214);
const INK: RGBColor = RGBColor(40, 40, 40);
const MUTED: RGBColor = RGBColor(110, 110, 110);

/// Tableau 10: one colour per class (classes beyond ten cycle through it again).
const CLASS_COLOURS: [RGBColor; 10] = [
    RGBColor(78, 121, 167),
    RGBColor(242, 142, 43),
    RGBColor(225, 87, 89),
    RGBColor(118, 183, 178),
    RGBColor(89, 161, 79),
    RGBColor(237, 201, 72),
    RGBColor(176, 122, 161),
    RGBColor(255, 157, 167),
    RGBColor(156, 117, 95),
    RGBColor(186, 176, 172),
];

/// Correctness (share of epochs correct) in six bins, 0 … 1, as the data-map papers colour it.
const CORRECTNESS_COLOURS: [&str; 6] = [
    "#b2182b", "#e0734f", "#e6b449", "#93bf63", "#4f9dc9", "#23508f",
];

pub fn class_colour(i: usize) -> RGBColor {
    CLASS_COLOURS[i % CLASS_COLOURS.len()]
}

fn hex(c: RGBColor) -> String {
    format!("#{:02x}{:02x}{:02x}", c.0, c.1, c.2)
}

/// Escapes text for XML content and attribute values.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '&' => o.push_str("&amp;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&apos;"),
            c => o.push(c),
        }
    }
    o
}

/// Inserts `markup` just before the closing `</svg>` of a document plotters wrote (its last
/// line), so that it is drawn on top of the chart.
fn splice(mut svg: String, markup: &str) -> String {
    match svg.rfind("</svg>") {
        Some(at) => svg.insert_str(at, markup),
        None => svg.push_str(markup),
    }
    svg
}

fn err(figure: Figure) -> impl Fn(String) -> ReportError {
    move |message| ReportError::Draw {
        figure: figure.name().to_string(),
        message,
    }
}

/// Runs plotters' drawing calls on a fresh SVG document of the figure size.
fn draw<F>(figure: Figure, size: (u32, u32), f: F) -> Result<String, ReportError>
where
    F: FnOnce(&DrawingArea<SVGBackend<'_>, Shift>) -> Result<(), String>,
{
    let mut buf = String::new();
    {
        let root = SVGBackend::with_string(&mut buf, size).into_drawing_area();
        root.fill(&WHITE)
            .map_err(|e| e.to_string())
            .map_err(err(figure))?;
        f(&root).map_err(err(figure))?;
        root.present()
            .map_err(|e| e.to_string())
            .map_err(err(figure))?;
    }
    Ok(buf)
}

fn e2s<E: std::fmt::Display>(e: E) -> String {
    e.to_string()
}

fn caption_font() -> TextStyle<'static> {
    (FONT, 16).into_font().color(&INK)
}

fn note(root: &DrawingArea<SVGBackend<'_>, Shift>, text: &str) -> Result<(), String> {
    let (w, h) = root.dim_in_pixel();
    root.draw(&Text::new(
        text.to_string(),
        (w as i32 / 2, h as i32 / 2),
        (FONT, 14)
            .into_font()
            .color(&MUTED)
            .pos(Pos::new(HPos::Center, VPos::Center)),
    ))
    .map_err(e2s)
}

/// Axis labels for integer quantities (epochs, positions): whole numbers only, so a short
/// range does not show 0.5 steps as repeated integers.
fn whole(v: &f64) -> String {
    if (v - v.round()).abs() < 1e-9 {
        format!("{v:.0}")
    } else {
        String::new()
    }
}

fn f2(v: Option<f64>) -> String {
    v.map_or("n/a".into(), |v| format!("{v:.2}"))
}

// ---------------------------------------------------------------------------------------------

/// Per-class accuracy over epochs: the mean over runs as a line, mean ± sd as a band.
pub fn class_curves(points: &[CurvePoint]) -> Result<String, ReportError> {
    let mut by_class: BTreeMap<i64, (String, Vec<&CurvePoint>)> = BTreeMap::new();
    for p in points {
        by_class
            .entry(p.class)
            .or_insert_with(|| (p.name.clone(), Vec::new()))
            .1
            .push(p);
    }
    let emax = points.iter().map(|p| p.epoch).max().unwrap_or(1).max(1) as f64;
    let runs = points.iter().map(|p| p.runs).max().unwrap_or(0);
    draw(Figure::ClassCurves, (W, H), |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(
                format!("Train accuracy per class (mean of {runs} runs, band ± sd)"),
                caption_font(),
            )
            .margin(12)
            .x_label_area_size(42)
            .y_label_area_size(52)
            .build_cartesian_2d(0f64..emax, 0f64..1.0)
            .map_err(e2s)?;
        chart
            .configure_mesh()
            .light_line_style(GRID)
            .bold_line_style(GRID_BOLD)
            .x_desc("epoch (0 = untrained)")
            .x_label_formatter(&whole)
            .y_desc("accuracy")
            .y_label_formatter(&|v| format!("{:.0}%", v * 100.0))
            .label_style((FONT, 12))
            .axis_desc_style((FONT, 13))
            .draw()
            .map_err(e2s)?;
        for (i, (name, pts)) in by_class.values().enumerate() {
            let c = class_colour(i);
            if pts.iter().any(|p| p.sd.is_some()) {
                let mut band: Vec<(f64, f64)> = pts
                    .iter()
                    .map(|p| {
                        let sd = p.sd.unwrap_or(0.0);
                        (p.epoch as f64, (p.accuracy + sd).min(1.0))
                    })
                    .collect();
                band.extend(pts.iter().rev().map(|p| {
                    let sd = p.sd.unwrap_or(0.0);
                    (p.epoch as f64, (p.accuracy - sd).max(0.0))
                }));
                chart
                    .draw_series(std::iter::once(Polygon::new(band, c.mix(0.16).filled())))
                    .map_err(e2s)?;
            }
            chart
                .draw_series(LineSeries::new(
                    pts.iter().map(|p| (p.epoch as f64, p.accuracy)),
                    c.stroke_width(2),
                ))
                .map_err(e2s)?
                .label(name.clone())
                .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 16, y + 5)], c.filled()));
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .background_style(WHITE.mix(0.9))
            .border_style(GRID_BOLD)
            .label_font((FONT, 12))
            .draw()
            .map_err(e2s)?;
        Ok(())
    })
}

// ---------------------------------------------------------------------------------------------

fn correctness_bin(c: f64) -> usize {
    ((c.clamp(0.0, 1.0) * 5.0).round() as usize).min(5)
}

/// The data map of one run: confidence against variability, one dot per train example,
/// coloured by correctness; the regions' borders as the example_metrics regions draw them;
/// flipped labels ringed.
pub fn data_map(ex: &Examples) -> Result<String, ReportError> {
    let rows = &ex.rows;
    let vmax = rows
        .iter()
        .map(|r| r.variability)
        .filter(|v| v.is_finite())
        .fold(0.0f64, f64::max);
    let xmax = (vmax * 1.08).max(0.05);
    // The region rule's variability threshold (the run's 2/3 quantile) is read off the stored
    // regions: the smallest variability of an example marked ambiguous.
    let threshold = rows
        .iter()
        .filter(|r| r.region == "ambiguous")
        .map(|r| r.variability)
        .fold(f64::INFINITY, f64::min);
    let threshold = threshold.is_finite().then_some(threshold);
    let counts = |region: &str| rows.iter().filter(|r| r.region == region).count();
    let (easy, ambiguous, hard) = (counts("easy"), counts("ambiguous"), counts("hard"));
    let flipped = rows.iter().filter(|r| r.flipped).count();
    let mut dots: Vec<(i32, i32, &ExampleRow)> = Vec::with_capacity(rows.len());
    let mut labels: Vec<(i32, i32, String, &str)> = Vec::new();
    let legend_x = W as i32 - 128;
    let svg = draw(Figure::DataMap, (W, H), |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(
                format!("Data map of run {} ({} train examples)", ex.run, rows.len()),
                caption_font(),
            )
            .margin(12)
            .margin_right(140)
            .x_label_area_size(42)
            .y_label_area_size(52)
            .build_cartesian_2d(0f64..xmax, 0f64..1.0)
            .map_err(e2s)?;
        chart
            .configure_mesh()
            .light_line_style(GRID)
            .bold_line_style(GRID_BOLD)
            .x_desc("variability (sd of p_true over epochs)")
            .y_desc("confidence (mean p_true)")
            .label_style((FONT, 12))
            .axis_desc_style((FONT, 13))
            .draw()
            .map_err(e2s)?;
        let line = ShapeStyle::from(&MUTED).stroke_width(1);
        if let Some(t) = threshold {
            chart
                .draw_series(DashedLineSeries::new(vec![(t, 0.0), (t, 1.0)], 6, 4, line))
                .map_err(e2s)?;
            chart
                .draw_series(DashedLineSeries::new(
                    vec![(0.0, 0.5), (t, 0.5)],
                    6,
                    4,
                    line,
                ))
                .map_err(e2s)?;
            for (text, at, anchor) in [
                (format!("easy ({easy})"), (t * 0.03, 0.97), "start"),
                (format!("hard ({hard})"), (t * 0.03, 0.035), "start"),
                (
                    format!("ambiguous ({ambiguous})"),
                    (t + (xmax - t) * 0.5, 0.97),
                    "middle",
                ),
            ] {
                let (x, y) = chart.backend_coord(&at);
                labels.push((x, y, text, anchor));
            }
        }
        for r in rows {
            if r.variability.is_finite() && r.confidence.is_finite() {
                let (x, y) = chart.backend_coord(&(r.variability, r.confidence));
                dots.push((x, y, r));
            }
        }
        // Legend: correctness bins, then the ring for flipped labels.
        let font = (FONT, 12).into_font().color(&INK);
        root.draw(&Text::new("correctness", (legend_x, 52), font.clone()))
            .map_err(e2s)?;
        for (i, c) in CORRECTNESS_COLOURS.iter().enumerate() {
            let y = 74 + 20 * i as i32;
            let rgb = parse_hex(c);
            root.draw(&Circle::new((legend_x + 6, y), 5, rgb.filled()))
                .map_err(e2s)?;
            root.draw(&Text::new(
                format!("{:.1}", i as f64 / 5.0),
                (legend_x + 18, y - 7),
                font.clone(),
            ))
            .map_err(e2s)?;
        }
        if ex.label_noise {
            let y = 74 + 20 * 6 + 8;
            root.draw(&Circle::new((legend_x + 6, y), 5, BLACK.stroke_width(1)))
                .map_err(e2s)?;
            root.draw(&Text::new(
                format!("flipped label ({flipped})"),
                (legend_x + 18, y - 7),
                font.clone(),
            ))
            .map_err(e2s)?;
        }
        Ok(())
    })?;
    let r = if rows.len() > 2000 { 2 } else { 3 };
    let mut g = String::with_capacity(dots.len() * 150 + 512);
    g.push_str("<style>");
    for (i, c) in CORRECTNESS_COLOURS.iter().enumerate() {
        let _ = write!(g, ".dm{i}{{fill:{c}}}");
    }
    g.push_str(
        ".dmf{stroke:#000;stroke-width:1.2}</style>\n<g class=\"dots\" fill-opacity=\"0.8\">\n",
    );
    for (x, y, e) in dots {
        let bin = correctness_bin(e.correctness);
        let class = if e.flipped {
            format!("dm{bin} dmf")
        } else {
            format!("dm{bin}")
        };
        let flipped = if e.flipped {
            format!(
                " (flipped from {})",
                ex.class_names
                    .get(&e.orig_label)
                    .cloned()
                    .unwrap_or_else(|| e.orig_label.to_string())
            )
        } else {
            String::new()
        };
        let learned = e
            .learned_epoch
            .map_or("never".to_string(), |v| v.to_string());
        let _ = writeln!(
            g,
            "<circle cx=\"{x}\" cy=\"{y}\" r=\"{r}\" class=\"{class}\"><title>example {} · label {}{}\nconfidence {:.3} · variability {:.3} · correctness {:.2} · {}\nlearned epoch {} · forgetting events {} · AUM {:.2}</title></circle>",
            e.example_id,
            esc(&e.class_name),
            esc(&flipped),
            e.confidence,
            e.variability,
            e.correctness,
            e.region,
            learned,
            e.forgetting_events,
            e.aum,
        );
    }
    g.push_str("</g>\n");
    // Region names above the dots, with a white halo so they stay legible.
    for (x, y, text, anchor) in labels {
        let _ = writeln!(
            g,
            "<text x=\"{x}\" y=\"{y}\" dy=\"0.5ex\" text-anchor=\"{anchor}\" font-family=\"{FONT}\" font-size=\"13\" fill=\"#333\" stroke=\"#fff\" stroke-width=\"3\" paint-order=\"stroke\">{}</text>",
            esc(&text)
        );
    }
    Ok(splice(svg, &g))
}

/// "every 3rd": an English ordinal.
pub fn ordinal(k: i64) -> String {
    let suffix = match (k % 10, k % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{k}{suffix}")
}

fn parse_hex(s: &str) -> RGBColor {
    let v = u32::from_str_radix(s.trim_start_matches('#'), 16).unwrap_or(0);
    RGBColor((v >> 16) as u8, (v >> 8) as u8, v as u8)
}

// ---------------------------------------------------------------------------------------------

const WRONG: RGBColor = RGBColor(243, 231, 216);
const RIGHT: RGBColor = RGBColor(35, 80, 143);

fn blend(a: RGBColor, b: RGBColor, t: f64) -> RGBColor {
    let m = |x: u8, y: u8| (x as f64 + (y as f64 - x as f64) * t).round() as u8;
    RGBColor(m(a.0, b.0), m(a.1, b.1), m(a.2, b.2))
}

/// Examples × epochs: one run's correctness, or the share of runs correct. Rows are examples
/// in learned order (first learned at the top); runs of equal cells in a row are drawn as one
/// rectangle.
pub fn heatmap(h: &Heatmap) -> Result<String, ReportError> {
    let figure = if h.run.is_some() {
        Figure::Heatmap
    } else {
        Figure::AgreementHeatmap
    };
    let n = h.rows.len();
    // The share of runs correct takes the values k / runs; more than ten runs: tenths.
    let levels = h.runs.clamp(1, 10) as f64;
    let title = match h.run {
        Some(r) => format!("Run {r}: correct at each epoch"),
        None => format!("Agreement: share of {} runs correct", h.runs),
    };
    let sampled = if h.stride > 1 {
        format!(" (every {} of {})", ordinal(h.stride), h.examples)
    } else {
        String::new()
    };
    let (emax, stride) = (h.epochs.max(1) as f64, h.stride.max(1));
    let legend_x = W as i32 - 100;
    let svg = draw(figure, (W, H), |root| {
        if n == 0 {
            return note(root, "no train examples with metrics");
        }
        let mut chart = ChartBuilder::on(root)
            .caption(title, caption_font())
            .margin(12)
            .margin_right(112)
            .x_label_area_size(42)
            .y_label_area_size(60)
            .build_cartesian_2d(0.5f64..emax + 0.5, 0f64..n as f64)
            .map_err(e2s)?;
        chart
            .configure_mesh()
            .disable_mesh()
            .x_desc("epoch")
            .x_label_formatter(&whole)
            .y_desc(format!("examples by learned epoch{sampled}"))
            .y_label_formatter(&|v| format!("{}", ((n as f64 - v) as i64) * stride))
            .label_style((FONT, 12))
            .axis_desc_style((FONT, 13))
            .draw()
            .map_err(e2s)?;
        let colour = |v: f64| -> Option<RGBColor> {
            if !v.is_finite() {
                return None;
            }
            let q = (v * levels).round() / levels;
            Some(blend(WRONG, RIGHT, q))
        };
        let mut cells = Vec::new();
        for (i, (_, _, vals)) in h.rows.iter().enumerate() {
            let (y0, y1) = ((n - i - 1) as f64, (n - i) as f64);
            let mut start = 0;
            while start < vals.len() {
                let c = colour(vals[start]);
                let mut end = start + 1;
                while end < vals.len() && colour(vals[end]) == c {
                    end += 1;
                }
                if let Some(c) = c {
                    cells.push(Rectangle::new(
                        [(start as f64 + 0.5, y0), (end as f64 + 0.5, y1)],
                        c.filled(),
                    ));
                }
                start = end;
            }
        }
        chart.draw_series(cells).map_err(e2s)?;
        // Legend.
        let font = (FONT, 12).into_font().color(&INK);
        match h.run {
            Some(_) => {
                for (i, (c, l)) in [(RIGHT, "correct"), (WRONG, "wrong")].iter().enumerate() {
                    let y = 60 + 22 * i as i32;
                    root.draw(&Rectangle::new(
                        [(legend_x, y - 7), (legend_x + 14, y + 7)],
                        c.filled(),
                    ))
                    .map_err(e2s)?;
                    root.draw(&Text::new(
                        l.to_string(),
                        (legend_x + 20, y - 7),
                        font.clone(),
                    ))
                    .map_err(e2s)?;
                }
            }
            None => {
                root.draw(&Text::new(
                    "runs correct".to_string(),
                    (legend_x, 48),
                    font.clone(),
                ))
                .map_err(e2s)?;
                let steps = 10;
                for s in 0..=steps {
                    let t = 1.0 - s as f64 / steps as f64;
                    let y = 66 + 14 * s;
                    root.draw(&Rectangle::new(
                        [(legend_x, y), (legend_x + 14, y + 14)],
                        blend(WRONG, RIGHT, (t * levels).round() / levels).filled(),
                    ))
                    .map_err(e2s)?;
                    if s % 5 == 0 {
                        root.draw(&Text::new(
                            format!("{:.0}%", t * 100.0),
                            (legend_x + 20, y),
                            font.clone(),
                        ))
                        .map_err(e2s)?;
                    }
                }
            }
        }
        Ok(())
    })?;
    // Adjacent cells share pixel edges; without crisp edges a page that scales the figure
    // shows anti-aliased seams between rows.
    Ok(svg.replacen("<svg ", "<svg shape-rendering=\"crispEdges\" ", 1))
}

// ---------------------------------------------------------------------------------------------

/// How many examples have k forgetting events, per run.
pub fn forgetting(f: &Forgetting) -> Result<String, ReportError> {
    let kmax = f.bars.iter().map(|b| b.0).max().unwrap_or(0);
    let ymax = f.bars.iter().map(|b| b.1).fold(0.0, f64::max).max(1.0) * 1.12;
    draw(Figure::Forgetting, (W, H), |root| {
        if f.bars.is_empty() {
            return note(root, "no example metrics");
        }
        let mut chart = ChartBuilder::on(root)
            .caption(
                format!("Forgetting events ({} runs)", f.runs),
                caption_font(),
            )
            .margin(12)
            .x_label_area_size(42)
            .y_label_area_size(60)
            .build_cartesian_2d((0..kmax as i32).into_segmented(), 0f64..ymax)
            .map_err(e2s)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .light_line_style(GRID)
            .bold_line_style(GRID_BOLD)
            .x_desc("forgetting events (correct, then wrong at the next epoch)")
            .y_desc("examples per run")
            .y_label_formatter(&|v| {
                if ymax > 10.0 {
                    format!("{v:.0}")
                } else {
                    format!("{v:.1}")
                }
            })
            .x_label_formatter(&|v| match v {
                SegmentValue::CenterOf(k) => k.to_string(),
                _ => String::new(),
            })
            .label_style((FONT, 12))
            .axis_desc_style((FONT, 13))
            .draw()
            .map_err(e2s)?;
        chart
            .draw_series(
                Histogram::vertical(&chart)
                    .style(class_colour(0).filled())
                    .margin(6)
                    .data(f.bars.iter().map(|b| (b.0 as i32, b.1))),
            )
            .map_err(e2s)?;
        if f.bars.len() <= 24 {
            chart
                .draw_series(f.bars.iter().map(|b| {
                    Text::new(
                        format!("{:.0}%", b.2 * 100.0),
                        (SegmentValue::CenterOf(b.0 as i32), b.1),
                        (FONT, 11)
                            .into_font()
                            .color(&MUTED)
                            .pos(Pos::new(HPos::Center, VPos::Bottom)),
                    )
                }))
                .map_err(e2s)?;
        }
        Ok(())
    })
}

// ---------------------------------------------------------------------------------------------

const NEG: RGBColor = RGBColor(178, 24, 43);
const POS: RGBColor = RGBColor(33, 102, 172);

fn rho_colour(v: f64) -> RGBColor {
    if v >= 0.0 {
        blend(WHITE, POS, v.min(1.0))
    } else {
        blend(WHITE, NEG, (-v).min(1.0))
    }
}

/// Runs × runs: Spearman's rho of learned_epoch for every pair of runs (1 on the diagonal).
pub fn seed_agreement(s: &SeedAgreement) -> Result<String, ReportError> {
    let n = s.runs.len();
    let mut rho: BTreeMap<(i64, i64), f64> = BTreeMap::new();
    for &(a, b, r) in &s.pairs {
        if let Some(r) = r {
            rho.insert((a, b), r);
            rho.insert((b, a), r);
        }
    }
    let side = (H as i32 - 110).max(100);
    let left = (W as i32 - side) / 2 - 30;
    draw(Figure::SeedAgreement, (W, H), |root| {
        if n == 0 {
            return note(root, "no completed runs");
        }
        let mut chart = ChartBuilder::on(root)
            .caption(
                format!(
                    "Seed agreement: Spearman's rho of learned epoch (mean {})",
                    f2(s.mean_rho)
                ),
                caption_font(),
            )
            .margin(12)
            .margin_left(left.max(12))
            .margin_right((W as i32 - side - left - 60).max(12))
            .x_label_area_size(42)
            .y_label_area_size(48)
            .build_cartesian_2d(
                (0..n as i32 - 1).into_segmented(),
                (0..n as i32 - 1).into_segmented(),
            )
            .map_err(e2s)?;
        let run_at = |v: &SegmentValue<i32>, flip: bool| match v {
            SegmentValue::CenterOf(i) => {
                let i = if flip { n as i32 - 1 - *i } else { *i };
                s.runs
                    .get(i as usize)
                    .map_or(String::new(), |r| r.to_string())
            }
            _ => String::new(),
        };
        chart
            .configure_mesh()
            .disable_mesh()
            .x_desc("run")
            .y_desc("run")
            .x_labels(n.min(20))
            .y_labels(n.min(20))
            .x_label_formatter(&|v| run_at(v, false))
            .y_label_formatter(&|v| run_at(v, true))
            .label_style((FONT, 12))
            .axis_desc_style((FONT, 13))
            .draw()
            .map_err(e2s)?;
        let mut cells = Vec::new();
        let mut labels = Vec::new();
        for (i, a) in s.runs.iter().enumerate() {
            for (j, b) in s.runs.iter().enumerate() {
                let v = if a == b {
                    Some(1.0)
                } else {
                    rho.get(&(*a, *b)).copied()
                };
                let (x, y) = (i as i32, (n - 1 - j) as i32);
                let c = v.map_or(RGBColor(230, 230, 230), rho_colour);
                cells.push(Rectangle::new(
                    [
                        (SegmentValue::Exact(x), SegmentValue::Exact(y)),
                        (SegmentValue::Exact(x + 1), SegmentValue::Exact(y + 1)),
                    ],
                    c.filled(),
                ));
                if n <= 12 {
                    let ink = if v.is_some_and(|v| v.abs() > 0.6) {
                        WHITE
                    } else {
                        INK
                    };
                    labels.push(Text::new(
                        f2(v),
                        (SegmentValue::CenterOf(x), SegmentValue::CenterOf(y)),
                        (FONT, if n <= 6 { 14 } else { 11 })
                            .into_font()
                            .color(&ink)
                            .pos(Pos::new(HPos::Center, VPos::Center)),
                    ));
                }
            }
        }
        chart.draw_series(cells).map_err(e2s)?;
        chart.draw_series(labels).map_err(e2s)?;
        // Colour scale −1 … 1.
        let (x0, font) = (W as i32 - 70, (FONT, 12).into_font().color(&INK));
        for s in 0..=20 {
            let v = 1.0 - s as f64 / 10.0;
            let y = 60 + 12 * s;
            root.draw(&Rectangle::new(
                [(x0, y), (x0 + 14, y + 12)],
                rho_colour(v).filled(),
            ))
            .map_err(e2s)?;
            if s % 5 == 0 {
                root.draw(&Text::new(format!("{v:.1}"), (x0 + 20, y), font.clone()))
                    .map_err(e2s)?;
            }
        }
        Ok(())
    })
}

// ---------------------------------------------------------------------------------------------

/// A small deterministic vertical offset in [−0.3, 0.3) so that examples with the same
/// (integer) learned epoch do not hide each other; the title gives the exact value.
fn jitter(id: i64) -> f64 {
    let h = (id as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 40;
    (h as f64 / (1u64 << 24) as f64 - 0.5) * 0.6
}

/// One run's train examples: position in epoch 1's order against learned epoch. `None` when the
/// run has no step phase (no positions).
pub fn order_effect(ex: &Examples, ove: &OrderVsEase) -> Result<Option<String>, ReportError> {
    let rows: Vec<&ExampleRow> = ex.rows.iter().filter(|r| r.position.is_some()).collect();
    if rows.is_empty() {
        return Ok(None);
    }
    let e = rows.iter().map(|r| r.epochs).max().unwrap_or(1).max(1);
    let pmax = rows
        .iter()
        .filter_map(|r| r.position)
        .max()
        .unwrap_or(1)
        .max(1) as f64;
    let rho = ove.per_run.iter().find(|p| p.0 == ex.run).and_then(|p| p.2);
    let mut dots: Vec<(i32, i32, &ExampleRow)> = Vec::with_capacity(rows.len());
    let svg = draw(Figure::OrderEffect, (W, H), |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(
                format!(
                    "Order effect, run {}: rho(position, learned epoch) = {}",
                    ex.run,
                    f2(rho)
                ),
                caption_font(),
            )
            .margin(12)
            .x_label_area_size(42)
            .y_label_area_size(60)
            .build_cartesian_2d(-0.5f64..pmax + 0.5, 0.5f64..e as f64 + 2.0)
            .map_err(e2s)?;
        chart
            .configure_mesh()
            .light_line_style(GRID)
            .bold_line_style(GRID_BOLD)
            .x_desc("position in epoch 1's training order")
            .x_label_formatter(&whole)
            .y_desc("learned epoch")
            .y_label_formatter(&|v| {
                if (*v - (e + 1) as f64).abs() < 1e-9 {
                    "never".to_string()
                } else if v.fract() == 0.0 {
                    format!("{v:.0}")
                } else {
                    format!("{v:.1}")
                }
            })
            .label_style((FONT, 12))
            .axis_desc_style((FONT, 13))
            .draw()
            .map_err(e2s)?;
        let never = (e + 1) as f64;
        chart
            .draw_series(DashedLineSeries::new(
                vec![(-0.5, never - 0.5), (pmax + 0.5, never - 0.5)],
                6,
                4,
                ShapeStyle::from(&MUTED).stroke_width(1),
            ))
            .map_err(e2s)?;
        chart
            .draw_series(std::iter::once(Text::new(
                "never learned: above the dashed line".to_string(),
                (pmax, never + 0.7),
                (FONT, 12)
                    .into_font()
                    .color(&MUTED)
                    .pos(Pos::new(HPos::Right, VPos::Center)),
            )))
            .map_err(e2s)?;
        for r in &rows {
            let le = r.learned_epoch.unwrap_or(e + 1) as f64 + jitter(r.example_id);
            let (x, y) = chart.backend_coord(&(r.position.unwrap_or(0) as f64, le));
            dots.push((x, y, r));
        }
        Ok(())
    })?;
    let r = if rows.len() > 2000 { 2 } else { 3 };
    let mut g = String::with_capacity(dots.len() * 110 + 256);
    let _ = writeln!(
        g,
        "<style>.oe{{fill:{}}}</style>\n<g class=\"dots\" fill-opacity=\"0.45\">",
        hex(class_colour(0))
    );
    for (x, y, e) in dots {
        let learned = e
            .learned_epoch
            .map_or("never".to_string(), |v| v.to_string());
        let first = e
            .first_correct_epoch
            .map_or("never".to_string(), |v| v.to_string());
        let _ = writeln!(
            g,
            "<circle cx=\"{x}\" cy=\"{y}\" r=\"{r}\" class=\"oe\"><title>example {} · label {}\nposition in epoch 1: {}\nlearned epoch {} · first correct {}</title></circle>",
            e.example_id,
            esc(&e.class_name),
            e.position.unwrap_or(0),
            learned,
            first,
        );
    }
    g.push_str("</g>\n");
    Ok(Some(splice(svg, &g)))
}
