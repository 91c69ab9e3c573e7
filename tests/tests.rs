//! trainlog's integration tests: one binary, one module per concern.

mod common;
mod dataset_file;
mod mnist1d;
