//! `postpolicy`: check, sign, decode and explain upload policies, and run the
//! local dev stack (`postpolicy serve`).

mod check;
mod cors;
mod cors_check;
mod decode;
mod explain;
mod input;
mod serve;
mod sign;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

/// Signed browser form uploads (Alibaba Cloud OSS PostObject): policies,
/// signatures, verification and a local dev stack.
#[derive(Debug, Parser)]
#[command(name = "postpolicy", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Parse and lint a policy (DSL or JSON); exit 0 clean, 1 warnings with
    /// --deny-warnings, 2 errors.
    Check(check::Args),
    /// Sign a policy with the credentials in the environment
    /// (OSS_ACCESS_KEY_ID / OSS_ACCESS_KEY_SECRET / OSS_SESSION_TOKEN, or the
    /// ALIBABA_CLOUD_* names; AWS_* with --dialect s3;
    /// GOOGLE_APPLICATION_CREDENTIALS or GCS_HMAC_* with --dialect gcs).
    Sign(sign::Args),
    /// Show a base64 policy (a `policy` form field) as DSL and JSON, with its
    /// expiry.
    Decode(decode::Args),
    /// Say why a captured form would be rejected: every failing condition,
    /// the value sent and what was expected.
    Explain(explain::Args),
    /// Run the whole flow locally: an OSS-compatible upload endpoint, a demo
    /// application with an upload page, and signed callbacks.
    Serve(serve::Args),
    /// Print the bucket CORS rule browser uploads from --origin need (OSS
    /// XML, S3 JSON), with the same call from Python and Node;
    /// `cors check URL --origin ORIGIN` tries a real preflight and POST.
    Cors(cors::Args),
}

/// Output for people or for machines.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub(crate) enum Format {
    #[default]
    Human,
    Json,
}

/// The process exit status: 0 clean, 1 warnings (or a rejected form), 2 errors.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Exit {
    Ok = 0,
    Warnings = 1,
    Errors = 2,
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> Self {
        ExitCode::from(exit as u8)
    }
}

/// A failure that ends the command with status 2.
#[derive(Debug)]
pub(crate) struct Failure(pub String);

impl<E: std::fmt::Display> From<E> for Failure {
    fn from(e: E) -> Self {
        Failure(e.to_string())
    }
}

pub(crate) type Outcome = Result<Exit, Failure>;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Check(args) => check::run(&args),
        Command::Sign(args) => sign::run(&args),
        Command::Decode(args) => decode::run(&args),
        Command::Explain(args) => explain::run(&args),
        Command::Serve(args) => serve::run(args),
        Command::Cors(args) => cors::run(&args),
    };
    match result {
        Ok(exit) => exit.into(),
        Err(Failure(message)) => {
            eprintln!("error: {message}");
            Exit::Errors.into()
        }
    }
}

/// A file argument, `-` meaning standard input.
pub(crate) fn read_arg(path: &PathBuf) -> Result<String, Failure> {
    if path.as_os_str() == "-" {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)?;
        Ok(text)
    } else {
        std::fs::read_to_string(path)
            .map_err(|e| Failure(format!("cannot read {}: {e}", path.display())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_is_well_formed() {
        use clap::CommandFactory as _;
        Cli::command().debug_assert();
    }
}
