//! trainlog's integration tests: one binary, one module per concern.

mod bad_input;
mod common;
mod dataset_file;
mod explain;
mod export;
mod import;
mod mnist1d;
mod queries;
mod record;
mod reliability;
mod report;
mod scale;
mod stats;
mod store;
