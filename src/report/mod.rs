//! The report: one self-contained HTML file (inline SVG and CSS, no scripts, no external URL)
//! that shows what an experiment learned first, and the same figures one at a time as SVG.
//!
//! Data flows one way: the store → the canned queries of `queries/*.sql` and the report's own
//! `queries/report/*.sql` (run by [`crate::query`]) → typed rows ([`data`]) → figures
//! ([`figures`], drawn with plotters' SVG backend) → the page ([`html`]). No number shown here is
//! computed in this module: every metric comes from a query over `example_metrics`,
//! `class_accuracy` or the `dynamics` view.

pub mod data;
pub mod figures;
pub mod html;

use crate::query::QueryError;
use crate::store::{Store, StoreError};
use std::fmt;
use std::str::FromStr;

pub use data::Source;

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Query(#[from] QueryError),
    #[error("no experiment '{0}' in {1}: `trainlog query runs` lists the latest one's runs")]
    NoExperiment(String, String),
    #[error("no run {0} in {1}")]
    NoRun(i64, String),
    #[error("run {0} is {1}, not completed: choose a completed run with --run")]
    RunNotCompleted(i64, String),
    #[error("run {0} belongs to experiment '{1}', not '{2}'")]
    RunElsewhere(i64, String, String),
    #[error("experiment '{0}' has no completed runs: finish one first (trainlog record --experiment {0})")]
    NoCompletedRuns(String),
    #[error("{0}")]
    Missing(String),
    #[error("query {query} returned no column {column}")]
    Column { query: String, column: String },
    #[error("drawing {figure}: {message}")]
    Draw { figure: String, message: String },
    #[error("no plot named '{0}': choose one of {1}")]
    UnknownFigure(String, String),
}

/// The figures, by the names `trainlog plot` takes; each is a section of the report with the
/// same id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Figure {
    ClassCurves,
    DataMap,
    Heatmap,
    AgreementHeatmap,
    Forgetting,
    SeedAgreement,
    OrderEffect,
}

impl Figure {
    pub const ALL: [Figure; 7] = [
        Figure::ClassCurves,
        Figure::DataMap,
        Figure::Heatmap,
        Figure::AgreementHeatmap,
        Figure::Forgetting,
        Figure::SeedAgreement,
        Figure::OrderEffect,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Figure::ClassCurves => "class-curves",
            Figure::DataMap => "data-map",
            Figure::Heatmap => "heatmap",
            Figure::AgreementHeatmap => "agreement-heatmap",
            Figure::Forgetting => "forgetting",
            Figure::SeedAgreement => "seed-agreement",
            Figure::OrderEffect => "order-effect",
        }
    }

    /// Whether the figure shows one run (`--run`, default the experiment's first completed run)
    /// rather than every completed run of the experiment.
    pub fn one_run(self) -> bool {
        matches!(
            self,
            Figure::DataMap | Figure::Heatmap | Figure::OrderEffect
        )
    }
}

impl fmt::Display for Figure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Figure {
    type Err = ReportError;
    fn from_str(s: &str) -> Result<Figure, ReportError> {
        Figure::ALL
            .into_iter()
            .find(|f| f.name() == s)
            .ok_or_else(|| {
                ReportError::UnknownFigure(s.to_string(), Figure::ALL.map(|f| f.name()).join(", "))
            })
    }
}

/// One figure as a standalone SVG document.
pub fn plot(store: &Store, source: &Source, figure: Figure) -> Result<String, ReportError> {
    let svg = match figure {
        Figure::ClassCurves => figures::class_curves(&source.class_curves(store)?)?,
        Figure::DataMap => figures::data_map(&source.examples(store)?)?,
        Figure::Heatmap => figures::heatmap(&source.heatmap(store)?)?,
        Figure::AgreementHeatmap => figures::heatmap(&source.agreement_heatmap(store)?)?,
        Figure::Forgetting => figures::forgetting(&source.forgetting(store)?)?,
        Figure::SeedAgreement => figures::seed_agreement(&source.seed_agreement(store)?)?,
        Figure::OrderEffect => {
            let ex = source.examples(store)?;
            let ove = source.order_vs_ease(store)?;
            figures::order_effect(&ex, &ove)?.ok_or_else(|| {
                ReportError::Missing(format!(
                    "run {} has no step phase to take positions from: record with --capture both",
                    source.run
                ))
            })?
        }
    };
    Ok(svg)
}

/// The whole report as one HTML page.
pub fn report(store: &Store, source: &Source) -> Result<String, ReportError> {
    let d = source.gather(store)?;
    html::render(&d)
}
