//! `trainlog report` and `trainlog plot` through the real binary on a small recorded experiment:
//! the page's structure (a section per figure, with ids), every SVG well-formed XML on its own,
//! one data-map dot per train example of the run shown, flipped labels marked, no external URL;
//! single figures; bad input.
//!
//! External URLs: the only `http` allowed anywhere is the SVG namespace
//! `http://www.w3.org/2000/svg` (an identifier, never fetched); no `src=`, `href=`, `url(` or
//! `@import` at all.

use crate::common::*;
use std::path::{Path, PathBuf};
use tempfile::tempdir;

const SECTIONS: [&str; 8] = [
    "summary",
    "class-curves",
    "data-map",
    "heatmap",
    "agreement-heatmap",
    "forgetting",
    "seed-agreement",
    "order-effect",
];
const FIGURES: [&str; 7] = [
    "class-curves",
    "data-map",
    "heatmap",
    "agreement-heatmap",
    "forgetting",
    "seed-agreement",
    "order-effect",
];
const SVG_NS: &str = "http://www.w3.org/2000/svg";

/// Records the tests' small experiment: 120 examples (96 train), 3 classes, 3 epochs, 2 runs,
/// 10% label noise, experiment 'rep'.
fn recorded(dir: &Path) -> PathBuf {
    let db = dir.join("t.db");
    record(
        &db,
        &[
            "--dataset",
            "planted:n=120,classes=3,len=8",
            "--epochs",
            "3",
            "--seeds",
            "0..2",
            "--label-noise",
            "0.1",
            "--experiment",
            "rep",
        ],
    );
    db
}

fn run_ok(args: &[&str]) -> String {
    let out = trainlog().args(args).output().unwrap();
    assert!(
        out.status.success(),
        "trainlog {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The one line of a failing command.
fn one_line_error(args: &[&str]) -> String {
    let err = fails(args);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 1, "expected one line, got: {err}");
    assert!(lines[0].starts_with("trainlog: "), "{err}");
    lines[0].to_string()
}

/// The text of `<section id="ID"` … `</section>`.
fn section<'a>(html: &'a str, id: &str) -> &'a str {
    let start = html
        .find(&format!("<section id=\"{id}\""))
        .unwrap_or_else(|| panic!("no section {id}"));
    let end = html[start..].find("</section>").expect("section closed") + start;
    &html[start..end]
}

/// Every `<svg …>…</svg>` in `text` (they do not nest).
fn svgs(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(s) = rest.find("<svg") {
        let e = rest[s..].find("</svg>").expect("svg closed") + s + "</svg>".len();
        out.push(&rest[s..e]);
        rest = &rest[e..];
    }
    out
}

/// Parses one SVG document, checking that it is well-formed XML with an `svg` root in the SVG
/// namespace.
fn parse(svg: &str) -> roxmltree::Document<'_> {
    let doc = roxmltree::Document::parse(svg)
        .unwrap_or_else(|e| panic!("not well-formed XML: {e}\n{}", &svg[..svg.len().min(400)]));
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "svg");
    assert_eq!(root.tag_name().namespace(), Some(SVG_NS));
    doc
}

fn no_external_url(text: &str) {
    let lower = text.to_lowercase();
    let mut at = 0;
    while let Some(i) = lower[at..].find("http") {
        let i = at + i;
        assert!(
            lower[i..].starts_with(SVG_NS),
            "external URL at byte {i}: {}",
            &text[i..(i + 60).min(text.len())]
        );
        at = i + 4;
    }
    for bad in ["src=", "href=", "url(", "@import", "<script", "<link"] {
        assert!(!lower.contains(bad), "the output contains {bad}");
    }
}

/// The circles of the `<g class="dots">` group of an SVG: (class, title) each.
fn dots(doc: &roxmltree::Document<'_>) -> Vec<(String, String)> {
    let g = doc
        .descendants()
        .find(|n| n.has_tag_name("g") && n.attribute("class") == Some("dots"))
        .expect("a dots group");
    g.children()
        .filter(|n| n.is_element())
        .map(|c| {
            assert!(c.has_tag_name("circle"), "only circles in the dots group");
            let title = c
                .children()
                .find(|t| t.has_tag_name("title"))
                .and_then(|t| t.text())
                .expect("every dot has a title")
                .to_string();
            (c.attribute("class").unwrap_or("").to_string(), title)
        })
        .collect()
}

fn csv_column(csv: &str, name: &str) -> Vec<String> {
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let i = header.iter().position(|h| *h == name).unwrap();
    lines
        .map(|l| l.split(',').nth(i).unwrap_or("").to_string())
        .collect()
}

#[test]
fn report_has_every_section_and_well_formed_svg_without_urls() {
    let dir = tempdir().unwrap();
    let db = recorded(dir.path());
    let out = dir.path().join("report.html");
    let (dbs, outs) = (db.to_str().unwrap(), out.to_str().unwrap());
    let printed = run_ok(&["report", "--db", dbs, "--out", outs]);
    assert!(
        printed.contains("wrote") && printed.contains("rep"),
        "{printed}"
    );
    let html = std::fs::read_to_string(&out).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    for id in SECTIONS {
        section(&html, id);
    }
    // One SVG per figure section, each well-formed on its own; none in the summary.
    assert!(svgs(section(&html, "summary")).is_empty());
    for id in FIGURES {
        let s = svgs(section(&html, id));
        assert_eq!(s.len(), 1, "section {id} has {} svgs", s.len());
        parse(s[0]);
    }
    assert_eq!(svgs(&html).len(), FIGURES.len());
    no_external_url(&html);

    // The summary's numbers are the canned queries' answers.
    let summary = section(&html, "summary");
    let verdict = run_ok(&["query", "order-vs-ease", "--db", dbs, "--format", "csv"]);
    let verdict = csv_column(&verdict, "verdict").remove(0);
    assert!(
        summary.contains(&verdict[1..]),
        "verdict '{verdict}' missing from the summary"
    );
    assert!(summary.contains("Kendall&apos;s W") || summary.contains("Kendall's W"));
    let runs = run_ok(&["query", "runs", "--db", dbs, "--format", "csv"]);
    for col in ["train_acc", "test_acc"] {
        for v in csv_column(&runs, col) {
            let shown = format!("{:.1}%", v.parse::<f64>().unwrap() * 100.0);
            assert!(summary.contains(&shown), "{col} {shown} missing");
        }
    }
    assert!(summary.contains("planted:n=120,classes=3,len=8"));
    assert!(summary.contains("hidden 8"), "model settings shown");
}

/// One dot per train example of the run the one-run figures show (the first completed run by
/// default, or --run): the data map does not average over runs, so its dots are that run's
/// examples, and the flipped ones are marked.
#[test]
fn report_data_map_has_one_dot_per_train_example_of_the_run() {
    let dir = tempdir().unwrap();
    let db = recorded(dir.path());
    let c = open(&db);
    let train = count(&c, "SELECT count(*) FROM examples WHERE split = 'train'");
    let flipped = count(
        &c,
        "SELECT count(*) FROM examples WHERE split = 'train' AND flipped",
    );
    assert!(flipped > 0);
    let second = count(&c, "SELECT max(run_id) FROM runs");
    for run in [None, Some(second)] {
        let out = dir.path().join("report.html");
        let mut args = vec![
            "report".to_string(),
            "--db".into(),
            db.to_str().unwrap().into(),
            "--out".into(),
            out.to_str().unwrap().into(),
        ];
        if let Some(r) = run {
            args.extend(["--run".into(), r.to_string()]);
        }
        let args: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
        run_ok(&args);
        let html = std::fs::read_to_string(&out).unwrap();
        let s = section(&html, "data-map");
        let svg = svgs(s)[0];
        let doc = parse(svg);
        let d = dots(&doc);
        assert_eq!(d.len() as i64, train, "one dot per train example");
        let ringed = d.iter().filter(|(c, _)| c.contains("dmf")).count() as i64;
        assert_eq!(ringed, flipped, "each flipped label is marked");
        assert!(d
            .iter()
            .all(|(_, t)| t.starts_with("example ") && t.contains("confidence")));
        let flipped_titles = d.iter().filter(|(_, t)| t.contains("flipped from")).count() as i64;
        assert_eq!(flipped_titles, flipped);
        let run_shown = run.unwrap_or(1);
        assert!(
            s.contains(&format!("run {run_shown}")),
            "the caption names run {run_shown}"
        );
        // The order-effect scatter: the same examples, positions from the step phase.
        let oe = svgs(section(&html, "order-effect"))[0];
        assert_eq!(dots(&parse(oe)).len() as i64, train);
        // Heatmaps: no downsampling at this size, and the caption says so.
        assert!(section(&html, "heatmap").contains(&format!("All {train} train examples")));
    }
}

#[test]
fn report_plot_writes_each_figure_as_a_standalone_svg() {
    let dir = tempdir().unwrap();
    let db = recorded(dir.path());
    let dbs = db.to_str().unwrap();
    for name in FIGURES {
        let out = dir.path().join(format!("{name}.svg"));
        let printed = run_ok(&["plot", name, "--db", dbs, "--out", out.to_str().unwrap()]);
        assert!(printed.contains(name), "{printed}");
        let svg = std::fs::read_to_string(&out).unwrap();
        assert_eq!(svgs(&svg).len(), 1);
        parse(svg.trim());
        no_external_url(&svg);
    }
    let out = dir.path().join("dm.svg");
    run_ok(&[
        "plot",
        "data-map",
        "--db",
        dbs,
        "--run",
        "2",
        "--experiment",
        "rep",
        "--out",
        out.to_str().unwrap(),
    ]);
    let svg = std::fs::read_to_string(&out).unwrap();
    let c = open(&db);
    let train = count(&c, "SELECT count(*) FROM examples WHERE split = 'train'");
    assert_eq!(dots(&parse(&svg)).len() as i64, train);
    assert!(svg.contains("run 2"));
}

#[test]
fn report_and_plot_bad_input() {
    let dir = tempdir().unwrap();
    let missing = dir.path().join("missing.db");
    let out = dir.path().join("r.html");
    let outs = out.to_str().unwrap();
    let msg = one_line_error(&["report", "--db", missing.to_str().unwrap(), "--out", outs]);
    assert!(msg.contains("does not exist"), "{msg}");
    assert!(!out.exists());

    let db = recorded(dir.path());
    let dbs = db.to_str().unwrap();
    let msg = one_line_error(&["plot", "nosuch", "--db", dbs, "--out", outs]);
    assert!(
        msg.contains("no plot named 'nosuch'") && msg.contains("data-map"),
        "{msg}"
    );
    let msg = one_line_error(&[
        "report",
        "--db",
        dbs,
        "--experiment",
        "nosuch",
        "--out",
        outs,
    ]);
    assert!(msg.contains("no experiment 'nosuch'"), "{msg}");
    let msg = one_line_error(&["plot", "heatmap", "--db", dbs, "--run", "99", "--out", outs]);
    assert!(msg.contains("no run 99"), "{msg}");
    let bad_dir = dir.path().join("no/such/dir/r.html");
    let msg = one_line_error(&["report", "--db", dbs, "--out", bad_dir.to_str().unwrap()]);
    assert!(msg.contains("cannot write"), "{msg}");

    // An experiment whose runs all failed.
    open(&db)
        .execute("UPDATE runs SET status = 'failed'", [])
        .unwrap();
    let msg = one_line_error(&["report", "--db", dbs, "--out", outs]);
    assert!(msg.contains("has no completed runs"), "{msg}");
    let msg = one_line_error(&["plot", "class-curves", "--db", dbs, "--out", outs]);
    assert!(msg.contains("has no completed runs"), "{msg}");
    let msg = one_line_error(&["plot", "data-map", "--db", dbs, "--run", "1", "--out", outs]);
    assert!(msg.contains("run 1 is failed"), "{msg}");
    assert!(!out.exists());
}
