//! The page: a summary in words and tables, then one section per figure (its id is the figure's
//! `trainlog plot` name), with the SVG inline. One file: CSS in a `<style>` element, no script,
//! no font file, no URL.

use super::data::{ClassOrder, ReportData};
use super::figures::{self, esc};
use super::{Figure, ReportError};
use std::fmt::Write as _;

const CSS: &str = r#"
:root { --ink: #222; --muted: #666; --line: #e2e2e2; --accent: #23508f; }
* { box-sizing: border-box; }
body { margin: 0; padding: 28px 36px 48px; color: var(--ink); background: #fafafa;
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
header h1 { margin: 0 0 4px; font-size: 26px; }
header p { margin: 0; color: var(--muted); }
h2 { font-size: 18px; margin: 0 0 10px; }
section { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 18px 20px; }
#summary { margin: 20px 0; }
.answer { font-size: 16px; border-left: 4px solid var(--accent); background: #f2f6fb;
  padding: 10px 14px; margin: 0 0 16px; }
.answer p { margin: 4px 0; }
.tables { display: grid; grid-template-columns: repeat(auto-fit, minmax(420px, 1fr)); gap: 18px; }
.tables > div { overflow-x: auto; }
.tables > .wide { grid-column: 1 / -1; }
table { border-collapse: collapse; width: 100%; font-size: 13.5px; }
caption { text-align: left; font-weight: 600; padding-bottom: 6px; }
th, td { text-align: left; padding: 3px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { color: var(--muted); font-weight: 600; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
.figures { display: grid; grid-template-columns: repeat(auto-fit, minmax(560px, 1fr)); gap: 20px; }
.figures svg { display: block; width: 100%; height: auto; max-width: 660px; margin: 0 auto; }
.caption { color: var(--muted); font-size: 13.5px; margin: 8px 0 0; }
footer { color: var(--muted); font-size: 12.5px; margin-top: 24px; }
"#;

/// Agreement in words for Kendall's W.
fn w_words(w: f64) -> &'static str {
    if w >= 0.7 {
        "strongly"
    } else if w >= 0.4 {
        "moderately"
    } else if w >= 0.1 {
        "weakly"
    } else {
        "hardly"
    }
}

fn pct(v: Option<f64>) -> String {
    v.map_or("n/a".into(), |v| format!("{:.1}%", v * 100.0))
}

fn num(v: Option<f64>, decimals: usize) -> String {
    v.map_or("n/a".into(), |v| format!("{v:.decimals$}"))
}

/// A JSON configuration as `key = value` lines, nested keys joined with dots.
fn flatten(prefix: &str, v: &serde_json::Value, out: &mut Vec<(String, String)>) {
    match v {
        serde_json::Value::Object(m) => {
            for (k, v) in m {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&key, v, out);
            }
        }
        serde_json::Value::String(s) => out.push((prefix.to_string(), s.clone())),
        other => out.push((prefix.to_string(), other.to_string())),
    }
}

fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

fn class_sentence(order: &[ClassOrder]) -> String {
    let names: Vec<String> = order
        .iter()
        .map(|c| format!("<b>{}</b>", esc(&c.name)))
        .collect();
    let mut s = match names.len() {
        0 => return "No class order: the runs have no per-example metrics.".into(),
        1 => format!("One class: {}.", names[0]),
        _ => format!(
            "Classes in the order the network learns them (mean rank over runs, by the mean learned epoch of their examples): {}.",
            names.join(" → ")
        ),
    };
    match order.first().and_then(|c| c.kendall_w) {
        Some(w) if order.len() > 1 => {
            let _ = write!(
                s,
                " The runs agree {} on this order (Kendall's W = {w:.2}; 1 = the same order in every run).",
                w_words(w)
            );
        }
        _ if order.len() > 1 => {
            s.push_str(" With a single run there is no agreement across runs to measure.")
        }
        _ => {}
    }
    s
}

fn section(out: &mut String, figure: Figure, title: &str, svg: &str, caption: &str) {
    let _ = write!(
        out,
        "<section id=\"{}\" class=\"figure\">\n<h2>{}</h2>\n{}\n<p class=\"caption\">{}</p>\n</section>\n",
        figure.name(),
        esc(title),
        svg.trim_end(),
        caption
    );
}

pub fn render(d: &ReportData) -> Result<String, ReportError> {
    let s = &d.summary;
    let src = &d.source;
    let mut o = String::with_capacity(4 << 20);
    let _ = write!(
        o,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>trainlog report: {}</title>\n<style>{CSS}</style>\n</head>\n<body>\n",
        esc(&s.experiment)
    );
    let _ = write!(
        o,
        "<header>\n<h1>What does the network learn first? <span style=\"color:var(--muted);font-weight:400\">{}</span></h1>\n<p>{} · {} of {} runs completed · trainlog {}</p>\n</header>\n",
        esc(&s.experiment),
        esc(&src.db),
        s.completed_runs,
        s.runs,
        crate::VERSION
    );

    // Summary.
    o.push_str("<section id=\"summary\">\n<h2>Summary</h2>\n<div class=\"answer\">\n");
    let ove = &d.order_vs_ease;
    let _ = write!(
        o,
        "<p><b>What is learned first:</b> {}.</p>\n<p>{}</p>\n",
        esc(&capitalised(&ove.verdict)),
        class_sentence(&d.class_order)
    );
    if let Some((aum, conf, forg)) = d.noisy_labels {
        let _ = writeln!(
            o,
            "<p>{} of {} train labels were flipped (label noise {:.0}%). How well the dynamics find them (AUROC, 0.5 = chance, 1 = perfect): low AUM {}, low confidence {}, forgetting events {}.</p>",
            s.flipped,
            s.train_examples,
            s.label_noise * 100.0,
            num(aum, 2),
            num(conf, 2),
            num(forg, 2)
        );
    }
    o.push_str("</div>\n<div class=\"tables\">\n");

    // Dataset and model.
    o.push_str("<div><table>\n<caption>Dataset and model</caption>\n");
    let mut rows: Vec<(String, String)> = vec![
        ("dataset".into(), s.spec.clone()),
        (
            "examples".into(),
            format!(
                "{} ({} train, {} test)",
                s.n_examples, s.train_examples, s.test_examples
            ),
        ),
        ("classes".into(), s.n_classes.to_string()),
        (
            "inputs".into(),
            format!("{}, sequence length {}", s.input_kind, s.seq_len),
        ),
        (
            "label noise".into(),
            if s.flipped > 0 {
                format!("{:.0}% ({} flipped)", s.label_noise * 100.0, s.flipped)
            } else {
                "none".into()
            },
        ),
        ("model".into(), s.model.clone()),
    ];
    let mut cfg = Vec::new();
    flatten("", &s.config, &mut cfg);
    let pick = |prefix: &str| -> String {
        cfg.iter()
            .filter_map(|(k, v)| k.strip_prefix(prefix).map(|k| format!("{k} {v}")))
            .collect::<Vec<_>>()
            .join(", ")
    };
    rows.push(("model settings".into(), pick("model.")));
    rows.push(("training".into(), pick("train.")));
    rows.push((
        "recorded".into(),
        format!(
            "capture {}, {} epochs planned, on {}",
            s.capture, s.epochs, s.device
        ),
    ));
    for (k, v) in rows {
        let v = if v.is_empty() { "n/a".to_string() } else { v };
        let _ = writeln!(o, "<tr><th>{}</th><td>{}</td></tr>", esc(&k), esc(&v));
    }
    o.push_str("</table></div>\n");

    // Classes.
    o.push_str("<div><table>\n<caption>Classes in learned order (classes-learned-first)</caption>\n<tr><th>class</th><th>mean rank</th><th>rank sd</th><th>epoch to 50%</th><th>epoch to 90%</th><th>mean learned epoch</th></tr>\n");
    for c in &d.class_order {
        let _ = writeln!(
            o,
            "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            esc(&c.name),
            num(c.mean_rank, 2),
            num(c.rank_sd, 2),
            num(c.epoch_to_50, 1),
            num(c.epoch_to_90, 1),
            num(c.learned_epoch, 2)
        );
    }
    o.push_str("</table></div>\n");
    // Runs.
    o.push_str("<div class=\"wide\"><table>\n<caption>Runs and seeds (final eval-mode accuracy)</caption>\n<tr><th>run</th><th>init seed</th><th>order seed</th><th>status</th><th>epochs</th><th>train acc</th><th>test acc</th><th>order effect ρ</th></tr>\n");
    for r in &d.runs {
        let rho = ove
            .per_run
            .iter()
            .find(|p| p.0 == r.run_id)
            .and_then(|p| p.2);
        let _ = writeln!(
            o,
            "<tr><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            r.run_id,
            r.init_seed,
            r.order_seed,
            esc(&r.status),
            r.epochs.map_or("n/a".into(), |e| e.to_string()),
            pct(r.train_acc),
            pct(r.test_acc),
            num(rho, 2)
        );
    }
    let _ = writeln!(
        o,
        "<tr><th colspan=\"7\">seed agreement (mean Spearman's ρ of learned epoch over pairs of runs)</th><td class=\"n\">{}</td></tr>",
        num(ove.seed_agreement, 2)
    );
    o.push_str("</table></div>\n");
    o.push_str("</div>\n</section>\n");

    // Figures.
    o.push_str("<div class=\"figures\">\n");
    section(
        &mut o,
        Figure::ClassCurves,
        "Per-class accuracy over epochs",
        &figures::class_curves(&d.class_curves)?,
        "Train accuracy of each class in eval mode (query <code>class-curves</code>): the line is the mean over the completed runs, the band one standard deviation either side.",
    );
    let ex = &d.examples;
    let flipped_note = if ex.label_noise {
        " Examples whose label was flipped by label noise have a black ring."
    } else {
        ""
    };
    section(
        &mut o,
        Figure::DataMap,
        "Data map",
        &figures::data_map(ex)?,
        &format!(
            "One dot per train example of run {} ({} dots): confidence and variability of p_true over epochs 1..E, coloured by correctness (share of epochs correct). Dashed lines: the regions of query <code>data-map</code> (ambiguous = top third of variability; otherwise easy if confidence ≥ 0.5, else hard).{flipped_note} Hover a dot for its values.",
            ex.run,
            ex.rows.len()
        ),
    );
    let sampled = |h: &super::data::Heatmap| -> String {
        if h.stride > 1 {
            format!(
                " Downsampled: {} of {} train examples are shown (every {} in learned order), one row each.",
                h.rows.len(),
                h.examples,
                figures::ordinal(h.stride)
            )
        } else {
            format!(" All {} train examples, one row each.", h.examples)
        }
    };
    section(
        &mut o,
        Figure::Heatmap,
        "Correctness, examples × epochs (one run)",
        &figures::heatmap(&d.heatmap)?,
        &format!(
            "Run {}: blue where the example is classified correctly after the epoch. Rows sorted by learned epoch (first learned at the top; never learned at the bottom).{}",
            src.run,
            sampled(&d.heatmap)
        ),
    );
    section(
        &mut o,
        Figure::AgreementHeatmap,
        "Agreement across runs, examples × epochs",
        &figures::heatmap(&d.agreement_heatmap)?,
        &format!(
            "Share of the {} completed runs that classify the example correctly after the epoch; rows sorted by mean learned epoch over runs. A sharp boundary means the runs learn the examples in the same order.{}",
            d.agreement_heatmap.runs,
            sampled(&d.agreement_heatmap)
        ),
    );
    let f = &d.forgetting;
    section(
        &mut o,
        Figure::Forgetting,
        "Forgetting events",
        &figures::forgetting(f)?,
        &format!(
            "Train examples per run by number of forgetting events (correct at one epoch, wrong at the next; query <code>forgetting</code>); labels are shares. {} of {} examples are unforgettable in every run.",
            f.unforgettable_in_every_run, f.examples
        ),
    );
    section(
        &mut o,
        Figure::SeedAgreement,
        "Seed agreement",
        &figures::seed_agreement(&d.seed_agreement)?,
        "Spearman's ρ between two runs' learned epochs over the train examples (query <code>seed-agreement</code>; never learned counts as E+1). High values: different seeds learn the examples in the same order.",
    );
    let (svg, caption) = match figures::order_effect(ex, ove)? {
        Some(svg) => (
            svg,
            format!(
                "Run {}: each train example's position in the first epoch's data order against the epoch it is learned (never learned at the top; small vertical jitter). A rising or falling cloud would mean the examples seen first are learned first; mean ρ over runs {} (query <code>order-vs-ease</code>).",
                ex.run,
                num(ove.mean_order_vs_learned, 2)
            ),
        ),
        None => (
            String::new(),
            "This run did not capture the step phase, so there are no positions: record with <code>--capture both</code>.".to_string(),
        ),
    };
    section(&mut o, Figure::OrderEffect, "Order effect", &svg, &caption);
    o.push_str("</div>\n");
    let _ = write!(
        o,
        "<footer>Written by <code>trainlog report</code>. Every number comes from trainlog's queries (see <code>trainlog query --list</code>); eval phase, train split. Single figures: <code>trainlog plot NAME --db {} --experiment {}</code>.</footer>\n</body>\n</html>\n",
        esc(&src.db),
        esc(&s.experiment)
    );
    Ok(o)
}
