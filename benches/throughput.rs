//! Training throughput with and without capture, in one run, on the built-in MNIST-1D.
//!
//!   cargo bench --bench throughput            (TRAINLOG_BENCH_EPOCHS=5 by default)
//!
//! Prints examples/s (train examples × epochs / wall time, eval passes and writing included)
//! for --capture none, step, eval and both, and each one's ratio to none.

use std::time::Instant;
use tch::Device;
use trainlog::dataset;
use trainlog::run::{record_run, RunSpec};
use trainlog::store::Store;
use trainlog::trainer::{model_config, Capture, OptimizerKind, Schedule, Seeds, TrainConfig};

fn main() {
    let epochs: usize = std::env::var("TRAINLOG_BENCH_EPOCHS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    tch::set_num_threads(threads as i32);
    let data = dataset::load("mnist1d").expect("mnist1d");
    let n_train = data.indices(dataset::Split::Train).len();
    let model = model_config(&data, 128, 1, 0.0, false, 32);
    let dir = tempfile::tempdir().expect("tempdir");
    println!(
        "trainlog throughput: MNIST-1D ({} examples, {n_train} train), LSTM hidden 128, batch 100, {epochs} epochs, {threads} threads, CPU",
        data.len()
    );
    let mut base = None;
    // none first and last, so drift in machine speed shows.
    for (k, capture) in [Capture::None, Capture::Step, Capture::Eval, Capture::Both, Capture::None]
        .into_iter()
        .enumerate()
    {
        let cfg = TrainConfig {
            epochs,
            batch_size: 100,
            eval_batch_size: 1000,
            optimizer: OptimizerKind::Adam,
            lr: 3e-3,
            schedule: Schedule::Cosine,
            momentum: 0.9,
            weight_decay: 0.0,
            clip_grad: Some(1.0),
            capture,
        };
        let path = dir.path().join(format!("bench{k}.db"));
        let mut store = Store::open(&path).expect("store");
        let id = store.ensure_dataset(&data).expect("dataset");
        store.ensure_experiment("bench", id).expect("experiment");
        let spec = RunSpec {
            experiment: "bench",
            data: &data,
            model: &model,
            train: &cfg,
            seeds: Seeds { init: 0, order: 0 },
            device: Device::Cpu,
            store_logits: true,
            config_json: "{}".into(),
        };
        let t = Instant::now();
        let (_store, _, r) = record_run(store, &spec, &mut |_| {}, &mut |_| {});
        let secs = t.elapsed().as_secs_f64();
        let report = r.expect("run");
        let rate = (n_train * epochs) as f64 / secs;
        let b = *base.get_or_insert(rate);
        println!(
            "capture {:<5} {:>8.0} examples/s  {:>6.2} s  {:>9} rows  time ratio to none {:.3}",
            format!("{capture:?}").to_lowercase(),
            rate,
            secs,
            report.recorded.rows,
            b / rate
        );
    }
}
