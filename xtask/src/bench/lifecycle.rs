//! Lifecycle rows (hot and cold) and the one-veth comparison (in the bench's network
//! namespace), each one hyperfine invocation.

use std::path::Path;

use super::hyperfine::{self, quote, Options};
use super::net::{veth_config, BenchNet};
use super::report::{Row, Table, Veth};
use super::runtimes::{
    probe, with_command, with_defines, Runtime, CRUN, CRUN_NET, CRUN_WRAPPER, LXC_EXECUTE,
    RS_EXECUTE,
};
use crate::run::{fail, Result};

pub const HOT_RUNS: u32 = 40;
pub const COLD_RUNS: u32 = 12;
/// The idle gap before each cold run.
pub const COLD_GAP: &str = "sleep 0.5";
pub const VETH_RUNS: u32 = 40;
/// The veth rows' runs come in this many hyperfine invocations, the rows' order rotated.
pub const VETH_ROUNDS: u32 = 4;

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

/// The veth table's wrapper alone, running `true`.
pub const NET_WRAPPER: &str = "netns wrapper alone";

/// lxc-rs's rows again under `nsenter --net` alone, without [`BenchNet::wrap`]'s mounts.
pub const RS_BARE: &str = "lxc-rs execute, nsenter only";

/// lxc-rs execute and lxc-execute, each with and without one veth on the bench's bridge, every
/// row in the same wrapper (the bench's network namespace, /sys/class/net showing it: LXC needs
/// that to find the bridge) and with the same config; lxc-rs's two rows also under `nsenter
/// --net` alone, to show the wrapper costs both the same. lxc-rs's rows are left out, with its
/// error, when it cannot start such a container.
pub fn veth(rs: &Runtime, lxc: &Runtime, net: &BenchNet, export: &Path) -> Result<Veth> {
    const RS_VETH: &str = "lxc-rs execute + veth";
    const LXC_VETH: &str = "lxc-execute + veth";
    const RS_BARE_VETH: &str = "lxc-rs execute + veth, nsenter only";
    let veth = veth_config();
    // Fails unless the container has its eth0, up (the host end is on the bridge: both
    // runtimes refuse to start when they cannot attach it).
    let eth0_up = |argv: &[String]| {
        probe(&net.wrap(&with_command(
            &with_defines(argv, &veth),
            &["/bin/sh", "-c", "ip link show eth0 | grep -q ,UP"],
        )))
    };
    let lxc_plain = net.wrap(&lxc.argv);
    let lxc_veth = net.wrap(&with_defines(&lxc.argv, &veth));
    probe(&lxc_plain)
        .and_then(|()| eth0_up(&lxc.argv))
        .map_err(|why| {
            fail(format!(
                "LXC with one veth in the bench's network namespace failed (`{}`): {why}",
                command_line(&lxc_veth)
            ))
        })?;
    let rs_plain = net.wrap(&rs.argv);
    let rs_veth = net.wrap(&with_defines(&rs.argv, &veth));
    let lxc_rs_skipped = probe(&rs_plain)
        .and_then(|()| eth0_up(&rs.argv))
        .err()
        .map(|why| {
            format!(
                "lxc-rs cannot start a container with one veth on a bridge: `{}` fails: {why}",
                command_line(&rs_veth)
            )
        });
    let rs_ok = lxc_rs_skipped.is_none();
    let vs = |name: &'static str| if rs_ok { name } else { "" };

    let mut rows: Vec<(&str, Vec<String>, &str)> = Vec::new();
    if rs_ok {
        rows.push((RS_EXECUTE, rs_plain, RS_EXECUTE));
        rows.push((RS_VETH, rs_veth, RS_VETH));
        rows.push((RS_BARE, net.enter(&rs.argv), RS_BARE));
        rows.push((
            RS_BARE_VETH,
            net.enter(&with_defines(&rs.argv, &veth)),
            RS_BARE_VETH,
        ));
    }
    rows.push((LXC_EXECUTE, lxc_plain, vs(RS_EXECUTE)));
    rows.push((LXC_VETH, lxc_veth, vs(RS_VETH)));
    rows.push((NET_WRAPPER, net.wrap(&["true".to_string()]), vs(RS_EXECUTE)));

    let mut table = timed_table_rounds(&rows, VETH_RUNS, VETH_ROUNDS, 1, export)?;
    let defines: Vec<String> = veth.iter().map(|(k, v)| format!("{k} = {v}")).collect();
    table.notes.push(format!(
        "the veth rows add `-s` {}; every row runs as `{}` except the two `nsenter only` \
         rows (`{}`)",
        defines.join(", "),
        command_line(&net.wrap(&["COMMAND...".to_string()])),
        command_line(&net.enter(&["COMMAND...".to_string()]))
    ));
    table.notes.push(format!(
        "{NET_WRAPPER}: that wrapper running `true`: what every row here pays on top of the \
         lifecycle table's figures"
    ));
    let left = net.wait_no_veth(5);
    if !left.is_empty() {
        table.notes.push(format!(
            "**veth host ends still in {} 5 s after the last run**: {}",
            net.name,
            left.join(" ")
        ));
    }
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
    if let Some(d) = added(RS_BARE_VETH, RS_BARE) {
        added_ms.push((RS_BARE.to_string(), d));
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
    timed_table_rounds(rows, runs, 1, 3, export)
}

/// Like [`timed_table`], in `rounds` hyperfine invocations of `runs / rounds` runs each (after
/// `warmup` runs), the rows' order rotated each round and each row's samples put together: a
/// load that changes while the bench runs (other work on a shared machine) falls on every row
/// alike, so the differences between rows hold. Round `i` exports to `<export>.<i>.json`
/// when there are several.
pub fn timed_table_rounds(
    rows: &[(&str, Vec<String>, &str)],
    runs: u32,
    rounds: u32,
    warmup: u32,
    export: &Path,
) -> Result<Table> {
    let n = rows.len();
    let mut samples: Vec<Vec<f64>> = vec![Vec::new(); n];
    let mut failed = vec![0; n];
    for round in 0..rounds.max(1) {
        let order: Vec<usize> = (0..n).map(|i| (i + round as usize) % n.max(1)).collect();
        let cmds: Vec<(&str, &[String])> = order
            .iter()
            .map(|&i| (rows[i].0, rows[i].1.as_slice()))
            .collect();
        let file = if rounds > 1 {
            export.with_extension(format!("{round}.json"))
        } else {
            export.to_path_buf()
        };
        let timed = hyperfine::run(
            &cmds,
            &Options {
                warmup,
                runs: (runs / rounds.max(1)).max(1),
                prepare: None,
                export: &file,
            },
        )?;
        for (&i, t) in order.iter().zip(timed) {
            samples[i].extend(t.samples_ms);
            failed[i] += t.failed;
        }
    }
    let mut table = Table::default();
    for (((name, argv, vs), samples), failed) in rows.iter().zip(samples).zip(failed) {
        let row = Row::new(name, command_line(argv), "ms", samples)
            .ok_or_else(|| fail(format!("every run of {name} failed")))?
            .vs(vs)
            .failed(failed);
        table.rows.push(row);
    }
    table.set_ratios();
    Ok(table)
}
