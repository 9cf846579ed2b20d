//! `lxc-rs extensions`: the API extensions linked into this binary, as `has_api_extension`
//! answers for them.

use std::process::ExitCode;

use clap::Args;

use crate::error::CliError;

#[derive(Debug, Args)]
pub struct ExtensionsArgs {
    /// Print a JSON array of extension names
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: &ExtensionsArgs) -> Result<ExitCode, CliError> {
    let exts = lxc::api_extensions();
    if args.json {
        super::print_json(&exts)?;
    } else {
        super::print(&exts.iter().map(|e| format!("{e}\n")).collect::<String>())?;
    }
    Ok(ExitCode::SUCCESS)
}
