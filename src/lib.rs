//! trainlog: record every training example's dynamics (logits, loss, correctness and place in
//! the data order) at every epoch, for several seeds, and ask SQL what a network learns first.
//!
//! Data flows one way: [`dataset`] → [`trainer`] (with [`model`]) → [`recorder`] (with
//! [`capture`]) → [`store`] → queries, export and report.

pub mod capture;
pub mod checkpoint;
pub mod dataset;
pub mod explain;
pub mod export;
pub mod import;
pub mod merge;
pub mod metrics;
pub mod model;
pub mod optim;
pub mod query;
pub mod recorder;
pub mod report;
pub mod run;
pub mod seeds;
pub mod stats;
pub mod store;
pub mod trainer;

/// trainlog's version, recorded with every run.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
/// The libtorch version this build of tch expects.
pub const LIBTORCH_VERSION: &str = "2.13.0";
