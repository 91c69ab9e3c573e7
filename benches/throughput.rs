//! Training throughput with and without capture, in one run, on the built-in MNIST-1D.
//!
//!   cargo bench --bench throughput            (TRAINLOG_BENCH_EPOCHS=5 by default)
//!
//! Prints examples/s (train examples × epochs / wall time, eval passes and writing included)
//! for --capture none, step, eval and both, and each one's time ratio to none. The modes are
//! interleaved TRAINLOG_BENCH_REPEATS times (default 4), each repeat in a rotated order, and the best time of each is kept,
//! so a busy machine disturbs the ratios less. A last mode, `passes`, runs the same forward
//! passes as `both` (logits copied to the host) into a sink that drops them: `both` against
//! `passes` is the cost of recording itself, `passes` against `none` the cost of the eval
//! phase's extra forward passes over every example.

use std::sync::{Arc, Mutex};
use std::time::Instant;
use tch::Device;
use trainlog::capture::LogitsFormat;
use trainlog::dataset;
use trainlog::model::ModelKind;
use trainlog::run::{record_run, RunSpec, Start};
use trainlog::store::Store;
use trainlog::trainer::{
    model_config, train, Capture, Control, Event, OptimizerKind, Schedule, Seeds, Sink,
    TrainConfig, TrainError,
};

/// Drops every event: the forward passes without the recording.
struct Discard;
impl Sink for Discard {
    fn emit(&mut self, event: Event) -> Result<(), TrainError> {
        drop(event);
        Ok(())
    }
}

fn main() {
    let epochs: usize = std::env::var("TRAINLOG_BENCH_EPOCHS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    tch::set_num_threads(threads as i32);
    let data = dataset::load("mnist1d").expect("mnist1d");
    let n_train = data.indices(dataset::Split::Train).len();
    let model = model_config(&data, ModelKind::Lstm, 128, 1, 0.0, false, 32);
    let dir = tempfile::tempdir().expect("tempdir");
    println!(
        "trainlog throughput: MNIST-1D ({} examples, {n_train} train), LSTM hidden 128, batch 100, {epochs} epochs, {threads} threads, CPU",
        data.len()
    );
    let repeats = std::env::var("TRAINLOG_BENCH_REPEATS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(4usize);
    let modes = [Capture::None, Capture::Both, Capture::Step, Capture::Eval];
    let mut best = [f64::INFINITY; 5];
    let mut rows = [0u64; 5];
    for rep in 0..repeats {
        // Each repeat starts at another mode, so no mode always runs first.
        for m in (0..modes.len()).map(|i| (i + rep) % modes.len()) {
            let capture = modes[m];
            let cfg = TrainConfig {
                epochs,
                batch_size: 100,
                eval_batch_size: 250,
                optimizer: OptimizerKind::Adam,
                lr: 3e-3,
                schedule: Schedule::Cosine,
                momentum: 0.9,
                weight_decay: 0.0,
                clip_grad: Some(1.0),
                capture,
            };
            let path = dir.path().join(format!("bench{rep}-{m}.db"));
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
                logits: LogitsFormat::F32,
                config_json: "{}".into(),
                // As `record` does by default: a checkpoint after every epoch.
                checkpoint_db: Some(&path),
                checkpoint_every: 1,
                parquet: None,
                shard: None,
                stop: &|| false,
            };
            let t = Instant::now();
            let store = Arc::new(Mutex::new(store));
            let (_, r) = record_run(
                &store,
                &spec,
                Start::New { plan: None },
                &mut |_| {},
                &mut |_| {},
            );
            let secs = t.elapsed().as_secs_f64();
            rows[m] = r.expect("run").recorded.rows;
            best[m] = best[m].min(secs);
            drop(std::fs::remove_file(&path));
            drop(std::fs::remove_dir_all(
                path.with_extension("db.checkpoints"),
            ));
            if capture == Capture::Both {
                let t = Instant::now();
                train(
                    &data,
                    &model,
                    &cfg,
                    spec.seeds,
                    Device::Cpu,
                    &mut Discard,
                    Control::none(),
                )
                .expect("train");
                best[4] = best[4].min(t.elapsed().as_secs_f64());
            }
        }
    }
    for (m, capture) in modes.iter().enumerate() {
        println!(
            "capture {:<5} {:>8.0} examples/s  best {:>6.2} s of {repeats}  {:>8} rows  time ratio to none {:.3}",
            format!("{capture:?}").to_lowercase(),
            (n_train * epochs) as f64 / best[m],
            best[m],
            rows[m],
            best[m] / best[0]
        );
    }
    println!(
        "passes (both, not recorded) {:>8.0} examples/s  best {:>6.2} s  time ratio to none {:.3}",
        (n_train * epochs) as f64 / best[4],
        best[4],
        best[4] / best[0]
    );
    println!(
        "recording overhead (both / passes): {:.3}; eval-phase passes (passes / none): {:.3}",
        best[1] / best[4],
        best[4] / best[0]
    );
}
