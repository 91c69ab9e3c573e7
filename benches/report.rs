//! `trainlog report` on the synthetic experiment of benches/queries.rs (default 10 runs × 100
//! epochs × 16,000 examples, 10 classes; the same log file in target/, built on first use with
//! the metrics computed as `record` does): the time to write the report and its size. The goal
//! is under 5 s and under 10 MB.
//!
//!   cargo bench --bench report
//!   TRAINLOG_BENCH_RUNS=3 TRAINLOG_BENCH_EPOCHS=20 TRAINLOG_BENCH_EXAMPLES=2000 cargo bench --bench report
//!
//! Prints the seconds for the queries (gather) and for drawing (render), their total, and the
//! bytes of the page, and where each section's bytes go; writes target/bench-report.html.

mod synthetic;

use std::time::Instant;
use synthetic::{env, CLASSES};
use trainlog::report::{html, Source};
use trainlog::store::Store;

fn main() {
    let runs = env("TRAINLOG_BENCH_RUNS", 10);
    let epochs = env("TRAINLOG_BENCH_EPOCHS", 100);
    let n = env("TRAINLOG_BENCH_EXAMPLES", 16_000);
    println!("trainlog report: synthetic log, {runs} runs × {epochs} epochs × {n} examples, {CLASSES} classes");
    let path = synthetic::log(runs, epochs, n);
    let mut best: Option<(f64, f64, String)> = None;
    for _ in 0..3 {
        let t = Instant::now();
        let store = Store::open_read_only(&path).expect("open");
        let source = Source::resolve(&store, Some("bench"), None).expect("source");
        let data = source.gather(&store).expect("gather");
        let gather = t.elapsed().as_secs_f64();
        let page = html::render(&data).expect("render");
        let total = t.elapsed().as_secs_f64();
        if best.as_ref().is_none_or(|b| total < b.1) {
            best = Some((gather, total, page));
        }
    }
    let (gather, total, page) = best.expect("three tries");
    let out = path.with_file_name("bench-report.html");
    std::fs::write(&out, &page).expect("write");
    println!(
        "report: {total:.2} s (queries {gather:.2} s, drawing {:.2} s), {} bytes ({:.2} MB), best of 3 → {}",
        total - gather,
        page.len(),
        page.len() as f64 / 1e6,
        out.display()
    );
    // Where the query time goes: each loader once.
    let store = Store::open_read_only(&path).expect("open");
    let source = Source::resolve(&store, Some("bench"), None).expect("source");
    macro_rules! time {
        ($name:expr, $e:expr) => {{
            let t = Instant::now();
            let _ = $e.expect($name);
            println!(
                "  query {:<18} {:>8.1} ms",
                $name,
                t.elapsed().as_secs_f64() * 1e3
            );
        }};
    }
    time!("summary", source.summary(&store));
    time!("runs", source.runs(&store));
    time!("class-curves", source.class_curves(&store));
    time!("class-order", source.class_order(&store));
    time!("order-vs-ease", source.order_vs_ease(&store));
    time!("examples", source.examples(&store));
    time!("heatmap", source.heatmap(&store));
    time!("agreement-heatmap", source.agreement_heatmap(&store));
    time!("forgetting", source.forgetting(&store));
    time!("seed-agreement", source.seed_agreement(&store));
    let mut rest = page.as_str();
    while let Some(s) = rest.find("<section id=\"") {
        let id_end = rest[s + 13..].find('"').unwrap() + s + 13;
        let id = &rest[s + 13..id_end];
        let e = rest[s..].find("</section>").unwrap() + s;
        println!("  section {id:<18} {:>9} bytes", e - s);
        rest = &rest[e..];
    }
}
