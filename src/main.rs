//! The `trainlog` binary: thin glue over the library. Each subcommand lives in its own file
//! under `src/cli/`; errors are printed as one line.

mod cli;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    match cli::run(args) {
        Ok(code) => code,
        // A closed pipe (`trainlog query … | head`) is not an error.
        Err(err)
            if err.chain().any(|e| {
                e.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
                    || e.to_string().contains("Broken pipe")
            }) =>
        {
            ExitCode::SUCCESS
        }
        Err(err) => {
            let msg = err
                .chain()
                .map(|e| e.to_string())
                .collect::<Vec<_>>()
                .join(": ");
            eprintln!("trainlog: {msg}");
            ExitCode::FAILURE
        }
    }
}
