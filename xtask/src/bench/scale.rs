//! 50 containers started at once, then stopped at once: the wall time of both waves, lxc-rs
//! against LXC.
//!
//! Each runtime's 50 containers are copies of its busybox container's config (what its
//! busybox template wrote, no network) that differ only in `lxc.uts.name`, all over that
//! container's rootfs; init is busybox's. A start wave is 50 `lxc-rs start` / `lxc-start -d`
//! processes at once, done when all have exited (both return once the container runs); a stop
//! wave is 50 `stop -k` at once (both return once the container has stopped).

use std::fs;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Instant;

use super::report::{Row, Table, SCALE_LXC, SCALE_RS};
use super::setup::{mkdir, write, Workdir};
use crate::run::{fail, Result};

pub const CONTAINERS: usize = 50;
pub const ROUNDS: usize = 3;

#[derive(Clone, Copy, PartialEq)]
enum Rt {
    LxcRs,
    Lxc,
}

struct Fleet<'a> {
    rt: Rt,
    w: &'a Workdir,
    lxcpath: PathBuf,
    names: Vec<String>,
    logs: PathBuf,
}

impl<'a> Fleet<'a> {
    fn new(rt: Rt, w: &'a Workdir) -> Result<Fleet<'a>> {
        let (lxcpath, base, short) = match rt {
            Rt::LxcRs => (w.rs_path.clone(), w.rs_name(), "rs"),
            Rt::Lxc => (w.lxc_path.clone(), w.lxc_name(), "lxc"),
        };
        let base_config = lxcpath.join(&base).join("config");
        let text = fs::read_to_string(&base_config)
            .map_err(|e| fail(format!("cannot read {}: {e}", base_config.display())))?;
        let logs = w.path(&format!("scale-{short}"));
        mkdir(&logs)?;
        let mut names = Vec::new();
        for i in 0..CONTAINERS {
            let name = format!("{}-{short}-{i:02}", w.tag);
            let dir = lxcpath.join(&name);
            mkdir(&dir)?;
            write(&dir.join("config"), &with_uts_name(&text, &name))?;
            names.push(name);
        }
        Ok(Fleet {
            rt,
            w,
            lxcpath,
            names,
            logs,
        })
    }

    fn start(&self, name: &str) -> Command {
        let mut c = match self.rt {
            Rt::LxcRs => {
                let mut c = Command::new(&self.w.lxc_rs);
                c.arg("start");
                c
            }
            Rt::Lxc => {
                let mut c = Command::new("lxc-start");
                c.arg("-d");
                c
            }
        };
        c.args(["-n", name, "-P"]).arg(&self.lxcpath);
        c
    }

    fn stop(&self, name: &str) -> Command {
        let mut c = match self.rt {
            Rt::LxcRs => {
                let mut c = Command::new(&self.w.lxc_rs);
                c.arg("stop");
                c
            }
            Rt::Lxc => Command::new("lxc-stop"),
        };
        c.args(["-k", "-n", name, "-P"]).arg(&self.lxcpath);
        c
    }

    fn running(&self) -> Result<Vec<String>> {
        let mut c = match self.rt {
            Rt::LxcRs => {
                let mut c = Command::new(&self.w.lxc_rs);
                c.arg("ls");
                c
            }
            Rt::Lxc => {
                let mut c = Command::new("lxc-ls");
                c.arg("-1");
                c
            }
        };
        c.arg("-P").arg(&self.lxcpath).arg("--running");
        let out = super::setup::quiet(&mut c)?;
        Ok(out
            .split_whitespace()
            .filter(|n| self.names.iter().any(|m| m == n))
            .map(str::to_string)
            .collect())
    }

    /// All commands at once; the wall time until the last has exited, in seconds.
    fn wave(&self, what: &str, make: impl Fn(&str) -> Command) -> Result<f64> {
        let t0 = Instant::now();
        let mut children: Vec<(String, PathBuf, Child)> = Vec::new();
        for name in &self.names {
            let log = self.logs.join(format!("{name}.{what}.log"));
            let out = fs::File::create(&log)
                .map_err(|e| fail(format!("cannot create {}: {e}", log.display())))?;
            let err = out
                .try_clone()
                .map_err(|e| fail(format!("cannot dup {}: {e}", log.display())))?;
            let child = make(name)
                .stdin(Stdio::null())
                .stdout(out)
                .stderr(err)
                .spawn()
                .map_err(|e| fail(format!("cannot run {what} for {name}: {e}")))?;
            children.push((name.clone(), log, child));
        }
        let mut failed = Vec::new();
        for (name, log, mut child) in children {
            match child.wait() {
                Ok(s) if s.success() => {}
                Ok(s) => failed.push(format!(
                    "{name}: {s}: {}",
                    fs::read_to_string(&log).unwrap_or_default().trim()
                )),
                Err(e) => failed.push(format!("{name}: {e}")),
            }
        }
        let secs = t0.elapsed().as_secs_f64();
        if failed.is_empty() {
            Ok(secs)
        } else {
            Err(fail(format!(
                "{} of {CONTAINERS} {what} commands failed: {}",
                failed.len(),
                failed.join("; ")
            )))
        }
    }

    /// One round: (start wave, stop wave) in seconds. Whatever still runs after a failure is
    /// stopped before the error is returned.
    fn round(&self) -> Result<(f64, f64)> {
        let started = self.wave("start", |n| self.start(n));
        let stopped = self.wave("stop", |n| self.stop(n));
        let left = self.running()?;
        if !left.is_empty() {
            for n in &left {
                let _ = self.stop(n).stdin(Stdio::null()).output();
            }
            return Err(fail(format!(
                "still running after the stop wave: {}",
                left.join(" ")
            )));
        }
        Ok((started?, stopped?))
    }
}

/// Replace the `lxc.uts.name` line (the template writes one).
pub(super) fn with_uts_name(config: &str, name: &str) -> String {
    let mut out: String = config
        .lines()
        .filter(|l| !l.trim_start().starts_with("lxc.uts.name"))
        .map(|l| format!("{l}\n"))
        .collect();
    out.push_str(&format!("lxc.uts.name = {name}\n"));
    out
}

pub fn measure(w: &Workdir) -> Result<Table> {
    let fleets = [Fleet::new(Rt::LxcRs, w)?, Fleet::new(Rt::Lxc, w)?];
    let mut starts = [Vec::new(), Vec::new()];
    let mut stops = [Vec::new(), Vec::new()];
    for round in 0..ROUNDS {
        // Alternate who goes first, so neither always runs on a machine the other just warmed.
        let order = if round % 2 == 0 { [0, 1] } else { [1, 0] };
        for i in order {
            let (a, b) = fleets[i].round()?;
            eprintln!(
                "bench: scale round {}: {}: starts {a:.2} s, stops {b:.2} s",
                round + 1,
                if i == 0 { "lxc-rs" } else { "LXC" }
            );
            starts[i].push(a);
            stops[i].push(b);
        }
    }
    let total = |i: usize| -> Vec<f64> {
        starts[i]
            .iter()
            .zip(&stops[i])
            .map(|(a, b)| a + b)
            .collect()
    };
    let describe = |i: usize| -> String {
        let f = &fleets[i];
        let show = |c: Command| crate::run::display(&c);
        format!(
            "{CONTAINERS} x `{}` at once, then {CONTAINERS} x `{}` at once",
            show(f.start(&f.names[0])),
            show(f.stop(&f.names[0]))
        )
    };
    let rows = [
        (SCALE_RS, describe(0), total(0), SCALE_RS),
        (SCALE_LXC, describe(1), total(1), SCALE_RS),
        (
            "lxc-rs: 50 starts",
            "the start wave".into(),
            starts[0].clone(),
            "lxc-rs: 50 starts",
        ),
        (
            "LXC: 50 starts",
            "the start wave".into(),
            starts[1].clone(),
            "lxc-rs: 50 starts",
        ),
        (
            "lxc-rs: 50 stops",
            "the stop wave".into(),
            stops[0].clone(),
            "lxc-rs: 50 stops",
        ),
        (
            "LXC: 50 stops",
            "the stop wave".into(),
            stops[1].clone(),
            "lxc-rs: 50 stops",
        ),
    ];
    let mut table = Table::default();
    for (name, command, samples, vs) in rows {
        let row = Row::new(name, command, "s", samples)
            .ok_or_else(|| fail(format!("no samples for {name}")))?
            .vs(vs);
        table.rows.push(row);
    }
    table.set_ratios();
    Ok(table)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uts_name_replaced() {
        let c = "a = 1\nlxc.uts.name = \"old\"\nb = 2\n";
        assert_eq!(
            with_uts_name(c, "new"),
            "a = 1\nb = 2\nlxc.uts.name = new\n"
        );
    }
}
