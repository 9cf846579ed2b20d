//! `lxc-rs ls`: the containers defined under an lxcpath.

use std::process::ExitCode;

use clap::Args;
use serde::Serialize;

use crate::error::CliError;
use crate::Global;

#[derive(Debug, Args)]
pub struct LsArgs {
    /// Print a JSON array of objects: [{"name": "web"}, ...]
    #[arg(long)]
    pub json: bool,
}

/// One row of `ls --json`; state columns join when containers can run.
#[derive(Debug, Serialize)]
struct Row<'a> {
    name: &'a str,
}

pub fn run(args: &LsArgs, g: &Global) -> Result<ExitCode, CliError> {
    let lxcpath = g.lxcpath.clone().unwrap_or_else(lxc::default_lxcpath);
    let names = lxc::list_defined_containers(&lxcpath)?;
    if args.json {
        let rows: Vec<Row> = names.iter().map(|n| Row { name: n }).collect();
        super::print_json(&rows)?;
    } else {
        super::print(&names.iter().map(|n| format!("{n}\n")).collect::<String>())?;
    }
    Ok(ExitCode::SUCCESS)
}
