//! Lifecycle rows (hot and cold) and the one-veth comparison, each one hyperfine invocation.

use std::path::Path;

use super::hyperfine::{self, quote, Options};
use super::report::{Row, Table, Veth};
use super::runtimes::{
    probe, with_define, Runtime, CRUN, CRUN_NET, CRUN_WRAPPER, LXC_EXECUTE, RS_EXECUTE, VETH,
};
use crate::run::{fail, Result};

pub const HOT_RUNS: u32 = 40;
pub const COLD_RUNS: u32 = 12;
/// The idle gap before each cold run.
pub const COLD_GAP: &str = "sleep 0.5";
pub const VETH_RUNS: u32 = 30;

pub fn command_line(argv: &[String]) -> String {
    argv.iter().map(|a| quote(a)).collect::<Vec<_>>().join(" ")
}

/// Run every runtime once; the ones that fail are left out of every table, with the reason.
pub fn probe_all(all: Vec<Runtime>) -> (Vec<Runtime>, Vec<String>) {
    let mut ok = Vec::new();
    let mut left_out = Vec::new();
    for r in all {
        match probe(&r.argv) {
            Ok(()) => ok.push(r),
            Err(why) => {
                eprintln!(
                    "bench: leaving out {}: `{}` failed: {why}",
                    r.name,
                    command_line(&r.argv)
                );
                left_out.push(format!(
                    "{}: not measured: `{}` failed: {why}",
                    r.name,
                    command_line(&r.argv)
                ));
            }
        }
    }
    (ok, left_out)
}

/// All runtimes in one hyperfine invocation; `prepare` idles before each run for the cold rows.
pub fn measure(
    runtimes: &[Runtime],
    left_out: &[String],
    warmup: u32,
    runs: u32,
    prepare: Option<&str>,
    export: &Path,
) -> Result<Table> {
    let cmds: Vec<(&str, &[String])> = runtimes
        .iter()
        .map(|r| (r.name, r.argv.as_slice()))
        .collect();
    let timed = hyperfine::run(
        &cmds,
        &Options {
            warmup,
            runs,
            prepare,
            export,
        },
    )?;
    let mut table = Table {
        rows: Vec::new(),
        notes: left_out.to_vec(),
    };
    for (r, t) in runtimes.iter().zip(timed) {
        let row = Row::new(r.name, command_line(&r.argv), "ms", t.samples_ms)
            .ok_or_else(|| fail(format!("every run of {} failed", r.name)))?
            .vs(r.vs)
            .note(r.note)
            .failed(t.failed);
        table.rows.push(row);
    }
    if let Some(derived) = crun_minus_wrapper(&table) {
        let at = table
            .rows
            .iter()
            .position(|r| r.name == CRUN)
            .map_or(table.rows.len(), |i| i + 1);
        table.rows.insert(at, derived);
    }
    table.set_ratios();
    Ok(table)
}

/// crun's samples less the median of its wrapper alone: what crun itself costs here.
fn crun_minus_wrapper(t: &Table) -> Option<Row> {
    let crun = t.get(CRUN)?;
    let wrapper = t.get(CRUN_WRAPPER)?.stats.median;
    let samples = crun.samples.iter().map(|s| s - wrapper).collect();
    Some(
        Row::new(
            CRUN_NET,
            format!("derived: `{CRUN}` samples minus the median of `{CRUN_WRAPPER}`"),
            "ms",
            samples,
        )?
        .vs(RS_EXECUTE)
        .note(Some(format!(
            "derived: {CRUN} minus the wrapper's median ({} ms); the fair crun figure",
            super::report::num(wrapper)
        ))),
    )
}

/// lxc-rs execute and lxc-execute, each with and without one veth. lxc-rs's veth rows turn on
/// by themselves once `lxc-rs execute -s lxc.net.0.type=veth` works (its veth plugin).
pub fn veth(rs: &Runtime, lxc: &Runtime, export: &Path) -> Result<Veth> {
    const RS_VETH: &str = "lxc-rs execute + veth";
    const LXC_VETH: &str = "lxc-execute + veth";
    let rs_veth = with_define(&rs.argv, VETH);
    let lxc_veth = with_define(&lxc.argv, VETH);
    probe(&lxc_veth).map_err(|why| {
        fail(format!(
            "LXC with one veth failed (`{}`): {why}",
            command_line(&lxc_veth)
        ))
    })?;
    let lxc_rs_skipped = probe(&rs_veth).err().map(|why| {
        format!(
            "lxc-rs cannot start a container with a veth yet: `lxc-rs execute -s {VETH}` fails: {why}"
        )
    });

    let mut rows: Vec<(&str, Vec<String>, &str)> = Vec::new();
    if lxc_rs_skipped.is_none() {
        rows.push((RS_EXECUTE, rs.argv.clone(), RS_EXECUTE));
        rows.push((RS_VETH, rs_veth, RS_VETH));
    }
    let rs_pair = if lxc_rs_skipped.is_none() {
        RS_VETH
    } else {
        ""
    };
    rows.push((
        LXC_EXECUTE,
        lxc.argv.clone(),
        if lxc_rs_skipped.is_none() {
            RS_EXECUTE
        } else {
            ""
        },
    ));
    rows.push((LXC_VETH, lxc_veth, rs_pair));

    let table = timed_table(&rows, VETH_RUNS, export)?;
    let added = |with: &str, without: &str| -> Option<f64> {
        Some(table.get(with)?.stats.median - table.get(without)?.stats.median)
    };
    let mut added_ms = Vec::new();
    if let Some(d) = added(RS_VETH, RS_EXECUTE) {
        added_ms.push((RS_EXECUTE.to_string(), d));
    }
    if let Some(d) = added(LXC_VETH, LXC_EXECUTE) {
        added_ms.push((LXC_EXECUTE.to_string(), d));
    }
    Ok(Veth {
        table,
        added_ms,
        lxc_rs_skipped,
    })
}

/// One hyperfine invocation of `rows` (name, command, the row its ratio is against), as a
/// table with its ratios set: every runtime measured side by side in one run.
pub fn timed_table(rows: &[(&str, Vec<String>, &str)], runs: u32, export: &Path) -> Result<Table> {
    let cmds: Vec<(&str, &[String])> = rows.iter().map(|(n, a, _)| (*n, a.as_slice())).collect();
    let timed = hyperfine::run(
        &cmds,
        &Options {
            warmup: 3,
            runs,
            prepare: None,
            export,
        },
    )?;
    let mut table = Table::default();
    for ((name, argv, vs), t) in rows.iter().zip(timed) {
        let row = Row::new(name, command_line(argv), "ms", t.samples_ms)
            .ok_or_else(|| fail(format!("every run of {name} failed")))?
            .vs(vs)
            .failed(t.failed);
        table.rows.push(row);
    }
    table.set_ratios();
    Ok(table)
}
