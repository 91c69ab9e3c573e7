//! The report's rows: each loader runs one canned query (`queries/*.sql`) or one report query
//! (`queries/report/*.sql`) through [`crate::query::run`] and turns its record batch into typed
//! rows. Nothing here computes a metric; the few derived values (a threshold to draw, a sentence)
//! are read off the query results and say so.

use super::ReportError;
use crate::query::{self, Canned, Section};
use crate::store::Store;
use arrow::array::{Array, Float64Array, Int64Array, StringArray};
use arrow::datatypes::DataType;
use arrow::record_batch::RecordBatch;
use rusqlite::types::Value;
use std::collections::BTreeMap;

/// At most this many rows in a heatmap: every k-th example in learned order beyond it.
pub const HEATMAP_ROWS: i64 = 400;

/// What the report is about: an experiment, its completed runs, and the run that the one-run
/// figures (data map, heatmap, order effect) show.
#[derive(Debug, Clone)]
pub struct Source {
    pub db: String,
    pub experiment: String,
    pub runs: Vec<i64>,
    pub run: i64,
    /// The model whose runs the canned queries read (`query::default_model`: that of the
    /// experiment's first run, so baselines stay out of the seed statistics).
    pub model: Option<String>,
}

/// The dataset and settings of an experiment (`queries/report/summary.sql`).
#[derive(Debug, Clone)]
pub struct Summary {
    pub experiment: String,
    pub spec: String,
    pub n_examples: i64,
    pub n_classes: i64,
    pub seq_len: i64,
    pub input_kind: String,
    pub label_noise: f64,
    pub train_examples: i64,
    pub test_examples: i64,
    pub flipped: i64,
    pub runs: i64,
    pub completed_runs: i64,
    pub model: String,
    pub config: serde_json::Value,
    pub capture: String,
    pub epochs: i64,
    pub device: String,
}

/// One row of the canned `runs` query.
#[derive(Debug, Clone)]
pub struct RunRow {
    pub run_id: i64,
    pub init_seed: i64,
    pub order_seed: i64,
    pub status: String,
    pub epochs: Option<i64>,
    pub train_acc: Option<f64>,
    pub test_acc: Option<f64>,
}

/// One point of the canned `class-curves` query.
#[derive(Debug, Clone)]
pub struct CurvePoint {
    pub class: i64,
    pub name: String,
    pub epoch: i64,
    pub runs: i64,
    pub accuracy: f64,
    pub sd: Option<f64>,
}

/// One class of the canned `classes-learned-first` query (sorted by mean rank).
#[derive(Debug, Clone)]
pub struct ClassOrder {
    pub class: i64,
    pub name: String,
    pub epoch_to_50: Option<f64>,
    pub epoch_to_90: Option<f64>,
    pub learned_epoch: Option<f64>,
    pub mean_rank: Option<f64>,
    pub rank_sd: Option<f64>,
    pub kendall_w: Option<f64>,
}

/// The canned `order-vs-ease` query: per run, then the verdict.
#[derive(Debug, Clone)]
pub struct OrderVsEase {
    /// (run id, rho(position, first_correct_epoch), rho(position, learned_epoch)).
    pub per_run: Vec<(i64, Option<f64>, Option<f64>)>,
    pub mean_order_vs_learned: Option<f64>,
    pub seed_agreement: Option<f64>,
    pub verdict: String,
}

/// One train example of one run (`queries/report/examples.sql`).
#[derive(Debug, Clone)]
pub struct ExampleRow {
    pub example_id: i64,
    pub label: i64,
    pub class_name: String,
    pub orig_label: i64,
    pub flipped: bool,
    pub confidence: f64,
    pub variability: f64,
    pub correctness: f64,
    pub region: String,
    pub first_correct_epoch: Option<i64>,
    pub learned_epoch: Option<i64>,
    pub forgetting_events: i64,
    pub aum: f64,
    pub epochs: i64,
    pub position: Option<i64>,
}

/// The train examples of one run, with what the data map needs beside them.
#[derive(Debug, Clone)]
pub struct Examples {
    pub run: i64,
    pub rows: Vec<ExampleRow>,
    /// Class names by class index (for flipped examples' original labels).
    pub class_names: BTreeMap<i64, String>,
    /// Whether the experiment used label noise (flipped examples are marked).
    pub label_noise: bool,
}

/// An examples × epochs heatmap (`queries/report/heatmap.sql`, `agreement-heatmap.sql`).
#[derive(Debug, Clone)]
pub struct Heatmap {
    /// One run (correct 0/1) or, when `None`, the agreement across `runs` runs (share correct).
    pub run: Option<i64>,
    pub runs: usize,
    /// The last epoch E: columns are epochs 1..=E.
    pub epochs: i64,
    /// The number of train examples, of which every `stride`-th in learned order is a row.
    pub examples: i64,
    pub stride: i64,
    /// Rows in learned order: (example id, learned epoch, value at epochs 1..=E; NaN if absent).
    pub rows: Vec<(i64, f64, Vec<f64>)>,
}

/// The canned `forgetting` query.
#[derive(Debug, Clone)]
pub struct Forgetting {
    /// (forgetting events, examples per run, share).
    pub bars: Vec<(i64, f64, f64)>,
    pub runs: i64,
    pub examples: i64,
    pub unforgettable_in_every_run: i64,
}

/// The canned `seed-agreement` query's first section.
#[derive(Debug, Clone)]
pub struct SeedAgreement {
    pub runs: Vec<i64>,
    /// (run a, run b, Spearman's rho), a < b.
    pub pairs: Vec<(i64, i64, Option<f64>)>,
    pub mean_rho: Option<f64>,
}

/// AUROC of low AUM, low confidence and forgetting events for telling flipped labels (the
/// canned `noisy-labels` query's mean row).
pub type NoisyLabels = (Option<f64>, Option<f64>, Option<f64>);

/// Everything the report shows.
#[derive(Debug, Clone)]
pub struct ReportData {
    pub source: Source,
    pub summary: Summary,
    pub runs: Vec<RunRow>,
    pub class_curves: Vec<CurvePoint>,
    pub class_order: Vec<ClassOrder>,
    pub order_vs_ease: OrderVsEase,
    pub examples: Examples,
    pub heatmap: Heatmap,
    pub agreement_heatmap: Heatmap,
    pub forgetting: Forgetting,
    pub seed_agreement: SeedAgreement,
    /// The canned `noisy-labels` query's mean row, when labels were flipped: AUROC of low AUM,
    /// low confidence and forgetting events.
    pub noisy_labels: Option<NoisyLabels>,
}

/// Typed access to the columns of one query result.
struct Rows<'a> {
    query: &'a str,
    batch: &'a RecordBatch,
}

impl<'a> Rows<'a> {
    fn new(query: &'a str, section: &'a Section) -> Rows<'a> {
        Rows {
            query,
            batch: &section.batch,
        }
    }

    fn len(&self) -> usize {
        self.batch.num_rows()
    }

    fn column(&self, name: &str) -> Result<&'a dyn Array, ReportError> {
        self.batch
            .column_by_name(name)
            .map(|c| c.as_ref())
            .ok_or_else(|| ReportError::Column {
                query: self.query.to_string(),
                column: name.to_string(),
            })
    }

    fn f64(&self, name: &str) -> Result<Vec<Option<f64>>, ReportError> {
        let c = self.column(name)?;
        Ok(match c.data_type() {
            DataType::Float64 => {
                let a = c.as_any().downcast_ref::<Float64Array>().expect("f64");
                a.iter().collect()
            }
            DataType::Int64 => {
                let a = c.as_any().downcast_ref::<Int64Array>().expect("i64");
                a.iter().map(|v| v.map(|v| v as f64)).collect()
            }
            DataType::Utf8 => {
                let a = c.as_any().downcast_ref::<StringArray>().expect("utf8");
                a.iter().map(|v| v.and_then(|s| s.parse().ok())).collect()
            }
            _ => vec![None; c.len()],
        })
    }

    fn i64(&self, name: &str) -> Result<Vec<Option<i64>>, ReportError> {
        Ok(self
            .f64(name)?
            .into_iter()
            .map(|v| v.map(|v| v as i64))
            .collect())
    }

    fn str(&self, name: &str) -> Result<Vec<Option<String>>, ReportError> {
        let c = self.column(name)?;
        Ok(match c.data_type() {
            DataType::Utf8 => {
                let a = c.as_any().downcast_ref::<StringArray>().expect("utf8");
                a.iter().map(|v| v.map(str::to_string)).collect()
            }
            _ => self
                .f64(name)?
                .into_iter()
                .map(|v| v.map(|v| v.to_string()))
                .collect(),
        })
    }
}

fn req<T>(v: Option<T>, what: &str) -> Result<T, ReportError> {
    v.ok_or_else(|| ReportError::Missing(format!("{what} is missing from the log")))
}

impl Source {
    /// The experiment (given, that of `run`, or the latest) and its completed runs; `run` (or
    /// the first completed run) for the one-run figures.
    pub fn resolve(
        store: &Store,
        experiment: Option<&str>,
        run: Option<i64>,
    ) -> Result<Source, ReportError> {
        let db = store.path().display().to_string();
        let mut src = Source {
            db: db.clone(),
            experiment: String::new(),
            runs: Vec::new(),
            run: 0,
            model: None,
        };
        let of_run = match run {
            Some(r) => {
                let s = src.report_query(store, "run", &[("run", Value::Integer(r))])?;
                let rows = Rows::new("run", &s[0]);
                if rows.len() == 0 {
                    return Err(ReportError::NoRun(r, db));
                }
                let exp = req(rows.str("experiment")?.remove(0), "the run's experiment")?;
                let status = req(rows.str("status")?.remove(0), "the run's status")?;
                if status != "completed" {
                    return Err(ReportError::RunNotCompleted(r, status));
                }
                Some(exp)
            }
            None => None,
        };
        src.experiment = match (experiment, &of_run) {
            (Some(e), Some(o)) if e != o => {
                return Err(ReportError::RunElsewhere(
                    run.unwrap_or_default(),
                    o.clone(),
                    e.to_string(),
                ))
            }
            (Some(e), _) => e.to_string(),
            (None, Some(o)) => o.clone(),
            (None, None) => store.latest_experiment()?,
        };
        src.model = crate::query::default_model(store, &src.experiment, None)?;
        let s = src.report_query(store, "summary", &[])?;
        if s[0].batch.num_rows() == 0 {
            return Err(ReportError::NoExperiment(src.experiment.clone(), db));
        }
        src.runs = src
            .runs(store)?
            .into_iter()
            .filter(|r| r.status == "completed")
            .map(|r| r.run_id)
            .collect();
        src.run = match (run, src.runs.first()) {
            (Some(r), _) => r,
            (None, Some(&r)) => r,
            (None, None) => return Err(ReportError::NoCompletedRuns(src.experiment.clone())),
        };
        Ok(src)
    }

    /// The parameters every query may use: the whole experiment, eval phase, train split.
    fn params(&self) -> BTreeMap<String, Value> {
        let mut p = BTreeMap::new();
        p.insert("experiment".into(), Value::Text(self.experiment.clone()));
        p.insert("run".into(), Value::Null);
        p.insert("phase".into(), Value::Text("eval".into()));
        p.insert("split".into(), Value::Text("train".into()));
        p.insert(
            "model".into(),
            self.model.clone().map_or(Value::Null, Value::Text),
        );
        p
    }

    fn exec(
        &self,
        store: &Store,
        c: &Canned,
        extra: &[(&str, Value)],
    ) -> Result<Vec<Section>, ReportError> {
        let mut p = self.params();
        for spec in &c.params {
            if let Some(d) = &spec.default {
                p.insert(spec.name.clone(), query::param_value(d));
            }
        }
        for (k, v) in extra {
            p.insert(k.to_string(), v.clone());
        }
        Ok(query::run(store, c.sql, &p)?)
    }

    fn canned(
        &self,
        store: &Store,
        name: &str,
        extra: &[(&str, Value)],
    ) -> Result<Vec<Section>, ReportError> {
        self.exec(store, &query::find(name)?, extra)
    }

    fn report_query(
        &self,
        store: &Store,
        name: &str,
        extra: &[(&str, Value)],
    ) -> Result<Vec<Section>, ReportError> {
        self.exec(store, &query::report_query(name)?, extra)
    }

    pub fn summary(&self, store: &Store) -> Result<Summary, ReportError> {
        let s = self.report_query(store, "summary", &[])?;
        let r = Rows::new("report/summary", &s[0]);
        if r.len() == 0 {
            return Err(ReportError::NoExperiment(
                self.experiment.clone(),
                self.db.clone(),
            ));
        }
        let s1 = |c: &str| -> Result<String, ReportError> {
            Ok(r.str(c)?.remove(0).unwrap_or_default())
        };
        let i1 = |c: &str| -> Result<i64, ReportError> { Ok(r.i64(c)?.remove(0).unwrap_or(0)) };
        let config = serde_json::from_str(&s1("config")?).unwrap_or(serde_json::Value::Null);
        Ok(Summary {
            experiment: s1("experiment")?,
            spec: s1("spec")?,
            n_examples: i1("n_examples")?,
            n_classes: i1("n_classes")?,
            seq_len: i1("seq_len")?,
            input_kind: s1("input_kind")?,
            label_noise: r.f64("label_noise")?.remove(0).unwrap_or(0.0),
            train_examples: i1("train_examples")?,
            test_examples: i1("test_examples")?,
            flipped: i1("flipped")?,
            runs: i1("runs")?,
            completed_runs: i1("completed_runs")?,
            model: s1("model")?,
            config,
            capture: s1("capture")?,
            epochs: i1("epochs")?,
            device: s1("device")?,
        })
    }

    pub fn runs(&self, store: &Store) -> Result<Vec<RunRow>, ReportError> {
        let s = self.canned(store, "runs", &[])?;
        let r = Rows::new("runs", &s[0]);
        let (id, init, order) = (r.i64("run_id")?, r.i64("init_seed")?, r.i64("order_seed")?);
        let (status, epochs) = (r.str("status")?, r.i64("epochs")?);
        let (train, test) = (r.f64("train_acc")?, r.f64("test_acc")?);
        Ok((0..r.len())
            .map(|i| RunRow {
                run_id: id[i].unwrap_or_default(),
                init_seed: init[i].unwrap_or_default(),
                order_seed: order[i].unwrap_or_default(),
                status: status[i].clone().unwrap_or_default(),
                epochs: epochs[i],
                train_acc: train[i],
                test_acc: test[i],
            })
            .collect())
    }

    pub fn class_curves(&self, store: &Store) -> Result<Vec<CurvePoint>, ReportError> {
        let s = self.canned(store, "class-curves", &[])?;
        let r = Rows::new("class-curves", &s[0]);
        let (class, name, epoch) = (r.i64("class")?, r.str("name")?, r.i64("epoch")?);
        let (runs, acc, sd) = (r.i64("runs")?, r.f64("accuracy")?, r.f64("accuracy_sd")?);
        Ok((0..r.len())
            .map(|i| CurvePoint {
                class: class[i].unwrap_or_default(),
                name: name[i].clone().unwrap_or_default(),
                epoch: epoch[i].unwrap_or_default(),
                runs: runs[i].unwrap_or_default(),
                accuracy: acc[i].unwrap_or(f64::NAN),
                sd: sd[i],
            })
            .collect())
    }

    pub fn class_order(&self, store: &Store) -> Result<Vec<ClassOrder>, ReportError> {
        let s = self.canned(store, "classes-learned-first", &[])?;
        let r = Rows::new("classes-learned-first", &s[0]);
        let (class, name) = (r.i64("class")?, r.str("name")?);
        let (e50, e90, le) = (
            r.f64("epoch_to_50")?,
            r.f64("epoch_to_90")?,
            r.f64("learned_epoch")?,
        );
        let (rank, rank_sd, w) = (r.f64("mean_rank")?, r.f64("rank_sd")?, r.f64("kendall_w")?);
        Ok((0..r.len())
            .map(|i| ClassOrder {
                class: class[i].unwrap_or_default(),
                name: name[i].clone().unwrap_or_default(),
                epoch_to_50: e50[i],
                epoch_to_90: e90[i],
                learned_epoch: le[i],
                mean_rank: rank[i],
                rank_sd: rank_sd[i],
                kendall_w: w[i],
            })
            .collect())
    }

    pub fn order_vs_ease(&self, store: &Store) -> Result<OrderVsEase, ReportError> {
        let s = self.canned(store, "order-vs-ease", &[])?;
        let r = Rows::new("order-vs-ease", &s[0]);
        let run = r.str("run")?;
        let (first, learned) = (r.f64("order_vs_first_correct")?, r.f64("order_vs_learned")?);
        let (agree, verdict) = (r.f64("seed_agreement")?, r.str("verdict")?);
        let mut out = OrderVsEase {
            per_run: Vec::new(),
            mean_order_vs_learned: None,
            seed_agreement: agree.iter().flatten().next().copied(),
            verdict: verdict.iter().flatten().next().cloned().unwrap_or_default(),
        };
        for i in 0..r.len() {
            match run[i].as_deref() {
                Some("mean") => out.mean_order_vs_learned = learned[i],
                Some(id) => {
                    if let Ok(id) = id.parse() {
                        out.per_run.push((id, first[i], learned[i]));
                    }
                }
                None => {}
            }
        }
        Ok(out)
    }

    /// The train examples of the one-run figures' run.
    pub fn examples(&self, store: &Store) -> Result<Examples, ReportError> {
        let s = self.report_query(store, "examples", &[("run", Value::Integer(self.run))])?;
        let r = Rows::new("report/examples", &s[0]);
        let id = r.i64("example_id")?;
        let (label, name, orig, flipped) = (
            r.i64("label")?,
            r.str("class_name")?,
            r.i64("orig_label")?,
            r.i64("flipped")?,
        );
        let (conf, var, corr, region) = (
            r.f64("confidence")?,
            r.f64("variability")?,
            r.f64("correctness")?,
            r.str("region")?,
        );
        let (fce, le, fe, aum, ep, pos) = (
            r.i64("first_correct_epoch")?,
            r.i64("learned_epoch")?,
            r.i64("forgetting_events")?,
            r.f64("aum")?,
            r.i64("epochs")?,
            r.i64("position")?,
        );
        let rows: Vec<ExampleRow> = (0..r.len())
            .map(|i| ExampleRow {
                example_id: id[i].unwrap_or_default(),
                label: label[i].unwrap_or_default(),
                class_name: name[i].clone().unwrap_or_default(),
                orig_label: orig[i].unwrap_or_default(),
                flipped: flipped[i].unwrap_or(0) != 0,
                confidence: conf[i].unwrap_or(f64::NAN),
                variability: var[i].unwrap_or(f64::NAN),
                correctness: corr[i].unwrap_or(f64::NAN),
                region: region[i].clone().unwrap_or_default(),
                first_correct_epoch: fce[i],
                learned_epoch: le[i],
                forgetting_events: fe[i].unwrap_or_default(),
                aum: aum[i].unwrap_or(f64::NAN),
                epochs: ep[i].unwrap_or_default(),
                position: pos[i],
            })
            .collect();
        let class_names = self
            .class_curves(store)?
            .into_iter()
            .map(|p| (p.class, p.name))
            .collect();
        let summary = self.summary(store)?;
        Ok(Examples {
            run: self.run,
            rows,
            class_names,
            label_noise: summary.label_noise > 0.0 || summary.flipped > 0,
        })
    }

    fn heatmap_from(
        &self,
        sections: &[Section],
        query: &str,
        run: Option<i64>,
    ) -> Result<Heatmap, ReportError> {
        let r = Rows::new(query, &sections[0]);
        let (row, id, le) = (r.i64("row")?, r.i64("example_id")?, r.f64("learned_epoch")?);
        let (epoch, correct) = (r.i64("epoch")?, r.f64("correct")?);
        let (examples, stride) = (r.i64("examples")?, r.i64("stride")?);
        let epochs = epoch.iter().flatten().copied().max().unwrap_or(0);
        let mut rows: Vec<(i64, f64, Vec<f64>)> = Vec::new();
        for i in 0..r.len() {
            let k = row[i].unwrap_or_default() as usize;
            while rows.len() <= k {
                rows.push((-1, f64::NAN, vec![f64::NAN; epochs as usize]));
            }
            rows[k].0 = id[i].unwrap_or_default();
            rows[k].1 = le[i].unwrap_or(f64::NAN);
            if let Some(e) = epoch[i].filter(|e| *e >= 1) {
                rows[k].2[e as usize - 1] = correct[i].unwrap_or(f64::NAN);
            }
        }
        Ok(Heatmap {
            run,
            runs: if run.is_some() { 1 } else { self.runs.len() },
            epochs,
            examples: examples.first().copied().flatten().unwrap_or(0),
            stride: stride.first().copied().flatten().unwrap_or(1),
            rows,
        })
    }

    pub fn heatmap(&self, store: &Store) -> Result<Heatmap, ReportError> {
        let s = self.report_query(
            store,
            "heatmap",
            &[
                ("run", Value::Integer(self.run)),
                ("rows", Value::Integer(HEATMAP_ROWS)),
            ],
        )?;
        self.heatmap_from(&s, "report/heatmap", Some(self.run))
    }

    pub fn agreement_heatmap(&self, store: &Store) -> Result<Heatmap, ReportError> {
        let s = self.report_query(
            store,
            "agreement-heatmap",
            &[("rows", Value::Integer(HEATMAP_ROWS))],
        )?;
        self.heatmap_from(&s, "report/agreement-heatmap", None)
    }

    pub fn forgetting(&self, store: &Store) -> Result<Forgetting, ReportError> {
        let s = self.canned(store, "forgetting", &[])?;
        let r = Rows::new("forgetting", &s[0]);
        let (k, per_run, share) = (
            r.i64("forgetting_events")?,
            r.f64("per_run")?,
            r.f64("share")?,
        );
        let bars = (0..r.len())
            .map(|i| {
                (
                    k[i].unwrap_or_default(),
                    per_run[i].unwrap_or(0.0),
                    share[i].unwrap_or(0.0),
                )
            })
            .collect();
        let (runs, examples, every) = match s.get(2) {
            Some(sec) => {
                let t = Rows::new("forgetting", sec);
                (
                    t.i64("runs")?.first().copied().flatten().unwrap_or(0),
                    t.i64("examples")?.first().copied().flatten().unwrap_or(0),
                    t.i64("unforgettable_in_every_run")?
                        .first()
                        .copied()
                        .flatten()
                        .unwrap_or(0),
                )
            }
            None => (0, 0, 0),
        };
        Ok(Forgetting {
            bars,
            runs,
            examples,
            unforgettable_in_every_run: every,
        })
    }

    pub fn seed_agreement(&self, store: &Store) -> Result<SeedAgreement, ReportError> {
        let s = self.canned(store, "seed-agreement", &[])?;
        let r = Rows::new("seed-agreement", &s[0]);
        let (a, b, rho, mean) = (
            r.i64("run_a")?,
            r.i64("run_b")?,
            r.f64("rho")?,
            r.f64("mean_rho")?,
        );
        Ok(SeedAgreement {
            runs: self.runs.clone(),
            pairs: (0..r.len())
                .map(|i| (a[i].unwrap_or_default(), b[i].unwrap_or_default(), rho[i]))
                .collect(),
            mean_rho: mean.iter().flatten().next().copied(),
        })
    }

    /// The mean row of the canned `noisy-labels` query.
    pub fn noisy_labels(&self, store: &Store) -> Result<NoisyLabels, ReportError> {
        let s = self.canned(store, "noisy-labels", &[])?;
        let r = Rows::new("noisy-labels", &s[0]);
        let run = r.str("run")?;
        let (aum, conf, forg) = (
            r.f64("auroc_low_aum")?,
            r.f64("auroc_low_confidence")?,
            r.f64("auroc_forgetting")?,
        );
        Ok((0..r.len())
            .find(|&i| run[i].as_deref() == Some("mean"))
            .map(|i| (aum[i], conf[i], forg[i]))
            .unwrap_or((None, None, None)))
    }

    /// Everything the report shows. The slow queries run at the same time on their own
    /// read-only connections (SQLite readers do not block each other) when the log is a file;
    /// an in-memory store is read on its one connection.
    pub fn gather(&self, store: &Store) -> Result<ReportData, ReportError> {
        let path = store.path();
        if !path.is_file() {
            let (a, b) = (self.gather_a(store)?, self.gather_b(store)?);
            return self.gather_rest(store, a, b);
        }
        std::thread::scope(|scope| {
            let a = scope.spawn(|| self.gather_a(&Store::open_read_only(path)?));
            let b = scope.spawn(|| self.gather_b(&Store::open_read_only(path)?));
            let rest = (
                self.summary(store),
                self.order_vs_ease(store),
                self.class_order(store),
            );
            let a = a.join().expect("the report's query thread panicked")?;
            let b = b.join().expect("the report's query thread panicked")?;
            let (summary, ove, order) = rest;
            self.assemble(store, summary?, ove?, order?, a, b)
        })
    }

    fn gather_a(&self, store: &Store) -> Result<(Heatmap, Heatmap, Examples), ReportError> {
        Ok((
            self.agreement_heatmap(store)?,
            self.heatmap(store)?,
            self.examples(store)?,
        ))
    }

    fn gather_b(&self, store: &Store) -> Result<(SeedAgreement, Forgetting), ReportError> {
        Ok((self.seed_agreement(store)?, self.forgetting(store)?))
    }

    fn gather_rest(
        &self,
        store: &Store,
        a: (Heatmap, Heatmap, Examples),
        b: (SeedAgreement, Forgetting),
    ) -> Result<ReportData, ReportError> {
        let (summary, ove, order) = (
            self.summary(store)?,
            self.order_vs_ease(store)?,
            self.class_order(store)?,
        );
        self.assemble(store, summary, ove, order, a, b)
    }

    fn assemble(
        &self,
        store: &Store,
        summary: Summary,
        order_vs_ease: OrderVsEase,
        class_order: Vec<ClassOrder>,
        (agreement_heatmap, heatmap, examples): (Heatmap, Heatmap, Examples),
        (seed_agreement, forgetting): (SeedAgreement, Forgetting),
    ) -> Result<ReportData, ReportError> {
        let noisy_labels = if summary.flipped > 0 {
            Some(self.noisy_labels(store)?)
        } else {
            None
        };
        Ok(ReportData {
            source: self.clone(),
            runs: self.runs(store)?,
            class_curves: self.class_curves(store)?,
            class_order,
            order_vs_ease,
            examples,
            heatmap,
            agreement_heatmap,
            forgetting,
            seed_agreement,
            noisy_labels,
            summary,
        })
    }
}
