//! The console: lxc-console's ring buffer write throughput (in-process, release build), and
//! what a container writing its console continuously costs, lxc-rs against LXC with the same
//! `lxc.console.buffer.size`.
//!
//! Each runtime gets two copies of its busybox container's config whose init is a shell
//! script: one writes [`MIB`] MiB to /dev/console with dd and exits, the other exits at once.
//! A run is `start` (lxc-rs) / `lxc-start -d` (LXC) followed by `wait -s STOPPED`; the wall
//! time of both. The difference of the two medians is the console's cost for that runtime.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use super::report::{Row, Table};
use super::setup::{mkdir, quiet, remove_cgroups, write, Workdir};
use crate::run::{fail, Result};

pub const RING_SIZE: usize = 131072;
pub const RING_MIB: usize = 256;
pub const RING_BATCHES: usize = 9;
pub const MIB: usize = 16;
pub const ROUNDS: usize = 5;

pub const RS_RING: &str = "lxc-rs console ring write";
pub const RS_WRITE: &str = "lxc-rs console writer";
pub const LXC_WRITE: &str = "LXC console writer";
pub const RS_QUIET: &str = "lxc-rs quiet init";
pub const LXC_QUIET: &str = "LXC quiet init";

const SCRIPT_WRITE: &str = "lxcrs-bench-console.sh";
const SCRIPT_QUIET: &str = "lxcrs-bench-quiet.sh";

#[derive(Clone, Copy, PartialEq)]
enum Rt {
    LxcRs,
    Lxc,
}

struct Target<'a> {
    rt: Rt,
    w: &'a Workdir,
    lxcpath: PathBuf,
    name: String,
}

impl Target<'_> {
    fn cmd(&self, rs: &[&str], lxc: &str, lxc_args: &[&str]) -> Command {
        let mut c = match self.rt {
            Rt::LxcRs => {
                let mut c = Command::new(&self.w.lxc_rs);
                c.args(rs);
                c
            }
            Rt::Lxc => {
                let mut c = Command::new(lxc);
                c.args(lxc_args);
                c
            }
        };
        c.args(["-n", &self.name, "-P"]).arg(&self.lxcpath);
        c
    }

    /// One start until STOPPED, in seconds.
    fn run_once(&self) -> Result<f64> {
        let t0 = Instant::now();
        quiet(&mut self.cmd(&["start"], "lxc-start", &["-d"]))?;
        let mut wait = self.cmd(&["wait"], "lxc-wait", &[]);
        wait.args(["-s", "STOPPED", "-t", "300"]);
        quiet(&mut wait)?;
        Ok(t0.elapsed().as_secs_f64())
    }
}

fn make<'a>(rt: Rt, w: &'a Workdir, script: &str, what: &str) -> Result<Target<'a>> {
    let (lxcpath, base, short) = match rt {
        Rt::LxcRs => (w.rs_path.clone(), w.rs_name(), "rs"),
        Rt::Lxc => (w.lxc_path.clone(), w.lxc_name(), "lxc"),
    };
    let base_config = lxcpath.join(&base).join("config");
    let text = fs::read_to_string(&base_config)
        .map_err(|e| fail(format!("cannot read {}: {e}", base_config.display())))?;
    let name = format!("{}-{short}-console-{what}", w.tag);
    let dir = lxcpath.join(&name);
    mkdir(&dir)?;
    let mut config = super::scale::with_uts_name(&text, &name);
    config.push_str(&format!(
        "lxc.init.cmd = /bin/sh /{script}\nlxc.console.buffer.size = {RING_SIZE}\n"
    ));
    write(&dir.join("config"), &config)?;
    Ok(Target {
        rt,
        w,
        lxcpath,
        name,
    })
}

/// LXC's monitor of a container whose init exits at once can report STOPPED before it has
/// left its `lxc.monitor.<name>` cgroups, and leave them behind (the next start then takes
/// `lxc.monitor.<name>-1`, and so on): they carry this bench's unique name, so remove them
/// (rmdir: only empty ones) once that monitor has gone.
fn remove_lxc_monitor_cgroups(name: &str) {
    let want = format!("lxc.monitor.{name}");
    remove_cgroups(
        |n| {
            n == want
                || n.strip_prefix(want.as_str())
                    .and_then(|rest| rest.strip_prefix('-'))
                    .is_some_and(|k| !k.is_empty() && k.bytes().all(|b| b.is_ascii_digit()))
        },
        100,
    );
}

fn rootfs(w: &Workdir, rt: Rt) -> PathBuf {
    match rt {
        Rt::LxcRs => w.rootfs(),
        Rt::Lxc => w.lxc_path.join(w.lxc_name()).join("rootfs"),
    }
}

fn ms(v: &[f64]) -> Vec<f64> {
    v.iter().map(|s| s * 1000.0).collect()
}

fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.total_cmp(b));
    s.get(s.len() / 2).copied().unwrap_or(0.0)
}

pub fn measure(w: &Workdir, ring_bin: &Path) -> Result<Table> {
    let mut table = Table::default();
    let out = quiet(Command::new(ring_bin).args([
        RING_SIZE.to_string(),
        RING_MIB.to_string(),
        RING_BATCHES.to_string(),
    ]))?;
    let mbs: Vec<f64> = out
        .lines()
        .filter_map(|l| l.trim().parse::<f64>().ok())
        .collect();
    table.rows.push(
        Row::new(
            RS_RING,
            format!(
                "lxcrs-bench-console-ring (release): {RING_BATCHES} batches of {RING_MIB} MiB \
                 in 16 KiB writes into a {RING_SIZE}-byte ring"
            ),
            "MB/s",
            mbs,
        )
        .ok_or_else(|| fail("the ring timer printed nothing"))?
        .vs(RS_RING)
        .note(Some(
            "one copy per write into a ring that stays in the CPU's cache; liblxc's ring buffer \
             is not in its public API: no LXC row",
        )),
    );

    let dd = format!(
        "dd if=/dev/zero bs=16384 count={} of=/dev/console 2>/dev/null\n",
        MIB * 64
    );
    for rt in [Rt::LxcRs, Rt::Lxc] {
        let root = rootfs(w, rt);
        write(&root.join(SCRIPT_WRITE), &dd)?;
        write(&root.join(SCRIPT_QUIET), "exit 0\n")?;
    }
    let boxes = [
        (RS_WRITE, make(Rt::LxcRs, w, SCRIPT_WRITE, "write")?),
        (LXC_WRITE, make(Rt::Lxc, w, SCRIPT_WRITE, "write")?),
        (RS_QUIET, make(Rt::LxcRs, w, SCRIPT_QUIET, "quiet")?),
        (LXC_QUIET, make(Rt::Lxc, w, SCRIPT_QUIET, "quiet")?),
    ];
    let mut samples: Vec<Vec<f64>> = vec![Vec::new(); boxes.len()];
    for round in 0..ROUNDS {
        // Alternate which runtime goes first.
        let order: Vec<usize> = if round % 2 == 0 {
            vec![0, 1, 2, 3]
        } else {
            vec![1, 0, 3, 2]
        };
        for i in order {
            samples[i].push(boxes[i].1.run_once()?);
        }
    }
    for (_, b) in boxes.iter().filter(|(_, b)| b.rt == Rt::Lxc) {
        remove_lxc_monitor_cgroups(&b.name);
    }
    for (i, (name, b)) in boxes.iter().enumerate() {
        let vs = if name.contains("writer") {
            RS_WRITE
        } else {
            RS_QUIET
        };
        let what = if name.contains("writer") {
            format!("init writes {MIB} MiB to /dev/console (dd, 16 KiB blocks) and exits")
        } else {
            "init exits at once".to_string()
        };
        let start = match b.rt {
            Rt::LxcRs => "lxc-rs start; lxc-rs wait -s STOPPED",
            Rt::Lxc => "lxc-start -d; lxc-wait -s STOPPED",
        };
        table.rows.push(
            Row::new(
                name,
                format!("{start}: {what}; lxc.console.buffer.size = {RING_SIZE}"),
                "ms",
                ms(&samples[i]),
            )
            .ok_or_else(|| fail(format!("{name}: no samples")))?
            .vs(vs),
        );
    }
    let cost = |w: usize, q: usize| (median(&samples[w]) - median(&samples[q])) * 1000.0;
    table.notes.push(format!(
        "console cost ({MIB} MiB, median writer minus median quiet init): lxc-rs {:.0} ms, LXC \
         {:.0} ms; {ROUNDS} rounds, alternating which runtime goes first",
        cost(0, 2),
        cost(1, 3)
    ));
    table.set_ratios();
    Ok(table)
}
