//! Peak memory of one lifecycle per runtime, with GNU time's %M.
//!
//! %M is the ru_maxrss that wait4 returns for time's child: the largest max RSS among that
//! child and the descendants reaped inside its tree. A process that leaves the tree (a
//! daemonized monitor reaped by init) would be missed, but every row here keeps its processes
//! in the tree: `lxc-rs execute`/`start -F`, `lxc-execute` and `lxc-start -F` are themselves
//! the monitor and reap the container's init; `runc run` and `crun run` are subreapers.

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};

use super::lifecycle::command_line;
use super::report::{Row, Table};
use super::runtimes::{Runtime, CRUN, CRUN_WRAPPER};
use crate::run::{fail, Result};

pub const RUNS: usize = 10;

pub fn measure(runtimes: &[Runtime], left_out: &[String], dir: &Path) -> Result<Table> {
    super::setup::mkdir(dir)?;
    let out = dir.join("maxrss.txt");
    let mut samples: Vec<Vec<f64>> = vec![Vec::new(); runtimes.len()];
    let mut errors: Vec<Vec<String>> = vec![Vec::new(); runtimes.len()];
    // Round-robin, so a drift of the machine touches every row alike.
    for _ in 0..RUNS {
        for (i, r) in runtimes.iter().enumerate() {
            match max_rss_mib(&r.argv, &out)? {
                Ok(mib) => samples[i].push(mib),
                Err(why) => errors[i].push(why),
            }
        }
    }
    let mut table = Table {
        rows: Vec::new(),
        notes: left_out.to_vec(),
    };
    for ((r, s), errs) in runtimes.iter().zip(samples).zip(errors) {
        let note = match r.name {
            CRUN => Some("the largest of unshare, sh, mount and crun: crun".to_string()),
            CRUN_WRAPPER => Some("unshare, sh and mount alone".to_string()),
            _ => r.note.map(str::to_string),
        };
        let first_error = errs.first().cloned().unwrap_or_default();
        let Some(row) = Row::new(r.name, command_line(&r.argv), "MiB", s) else {
            table.notes.push(format!(
                "{}: not measured: every run failed: {first_error}",
                r.name
            ));
            continue;
        };
        let note = match (note, errs.is_empty()) {
            (note, true) => note,
            (Some(n), false) => Some(format!("{n}; a failed run: {first_error}")),
            (None, false) => Some(format!("a failed run: {first_error}")),
        };
        table.rows.push(row.vs(r.vs).note(note).failed(errs.len()));
    }
    table.set_ratios();
    Ok(table)
}

/// `Ok(Err(why))` when the lifecycle itself failed (counted, not fatal); `Err` when the
/// measurement could not be made at all.
fn max_rss_mib(argv: &[String], out: &Path) -> Result<std::result::Result<f64, String>> {
    let mut cmd = Command::new("/usr/bin/time");
    cmd.args(["-f", "%M", "-o"])
        .arg(out)
        .args(argv)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let run = cmd
        .output()
        .map_err(|e| fail(format!("cannot run /usr/bin/time: {e}")))?;
    if !run.status.success() {
        let stderr = String::from_utf8_lossy(&run.stderr);
        let last = stderr.lines().rev().map(str::trim).find(|l| !l.is_empty());
        return Ok(Err(last.unwrap_or("no message").to_string()));
    }
    let text =
        fs::read_to_string(out).map_err(|e| fail(format!("cannot read {}: {e}", out.display())))?;
    // time writes "Command exited with non-zero status" first on failure; %M is the last line.
    let kib: f64 = text
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .and_then(|l| l.trim().parse().ok())
        .ok_or_else(|| fail(format!("/usr/bin/time wrote no %M figure: {text:?}")))?;
    Ok(Ok(kib / 1024.0))
}
