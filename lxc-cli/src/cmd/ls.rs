//! `lxc-rs ls`: the containers defined under an lxcpath, like `lxc-ls`.

use std::process::ExitCode;

use clap::Args;
use serde::Serialize;

use crate::error::CliError;
use crate::Global;

#[derive(Debug, Args)]
pub struct LsArgs {
    /// Print a JSON array of objects: [{"name": "web", "state": "RUNNING", "runtime":
    /// "lxc-rs", "pid": 1234}, ...] (runtime "lxc" when LXC's own tools run it; runtime and pid
    /// are null when it is not running)
    #[arg(long)]
    pub json: bool,

    /// A table: NAME STATE PID (STATE says `RUNNING (LXC)` when LXC's own tools run it)
    #[arg(short = 'f', long)]
    pub fancy: bool,

    /// Only the running containers
    #[arg(long, conflicts_with = "stopped")]
    pub running: bool,

    /// Only the stopped containers
    #[arg(long)]
    pub stopped: bool,
}

/// One row of `ls --json`.
#[derive(Debug, Serialize)]
struct Row {
    name: String,
    state: String,
    runtime: Option<&'static str>,
    pid: Option<i32>,
    /// STATE of the table.
    #[serde(skip)]
    state_text: String,
}

fn row(name: &str, lxcpath: &std::path::Path) -> Result<Row, CliError> {
    // No config is read: a broken config file must not hide the others, or its state.
    let c = super::bare_handle(name, lxcpath)?;
    let (state, runtime) = c.status().unwrap_or((lxc::State::Stopped, None));
    let pid = match &runtime {
        _ if state == lxc::State::Stopped => None,
        Some(lxc::Runtime::Lxc(m)) => m.init_pid().ok(),
        _ => c.init_pid().ok(),
    };
    Ok(Row {
        name: name.to_string(),
        state: state.to_string(),
        runtime: runtime.as_ref().map(lxc::Runtime::as_str),
        pid,
        state_text: super::info::state_text(state, runtime.as_ref()),
    })
}

pub fn run(args: &LsArgs, g: &Global) -> Result<ExitCode, CliError> {
    let lxcpath = super::lxcpath(g);
    let names = lxc::list_defined_containers(&lxcpath)?;
    let need_state = args.json || args.fancy || args.running || args.stopped;
    if !need_state {
        super::print(&names.iter().map(|n| format!("{n}\n")).collect::<String>())?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut rows = Vec::new();
    for n in &names {
        let r = row(n, &lxcpath)?;
        let stopped = r.state == lxc::State::Stopped.as_str();
        if (args.running && stopped) || (args.stopped && !stopped) {
            continue;
        }
        rows.push(r);
    }
    if args.json {
        super::print_json(&rows)?;
    } else if args.fancy {
        super::print(&table(&rows))?;
    } else {
        super::print(
            &rows
                .iter()
                .map(|r| format!("{}\n", r.name))
                .collect::<String>(),
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Columns padded to their widest cell, `-` for a missing pid, like lxc-ls --fancy.
fn table(rows: &[Row]) -> String {
    let cells: Vec<[String; 3]> = std::iter::once(["NAME".into(), "STATE".into(), "PID".into()])
        .chain(rows.iter().map(|r| {
            [
                r.name.clone(),
                r.state_text.clone(),
                r.pid.map_or_else(|| "-".to_string(), |p| p.to_string()),
            ]
        }))
        .collect();
    let w0 = cells.iter().map(|c| c[0].len()).max().unwrap_or(0);
    let w1 = cells.iter().map(|c| c[1].len()).max().unwrap_or(0);
    cells
        .iter()
        .map(|[a, b, c]| format!("{a:<w0$} {b:<w1$} {c}\n"))
        .collect()
}
