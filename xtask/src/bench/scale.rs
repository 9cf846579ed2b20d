//! 50 containers started at once, then stopped at once: the wall time of both waves, lxc-rs
//! against LXC; and the same with one veth each on the bench's bridge, checking that every
//! container got its links.
//!
//! Each runtime's 50 containers are copies of its busybox container's config (what its
//! busybox template wrote, no network) that differ only in `lxc.uts.name`, all over that
//! container's rootfs; init is busybox's. A start wave is 50 `lxc-rs start` / `lxc-start -d`
//! processes at once, done when all have exited (both return once the container runs); a stop
//! wave is 50 `stop -k` at once (both return once the container has stopped). The veth
//! containers each have a copy of the rootfs (they are destroyed at the end), the same config
//! plus one veth, and run every command in the bench's network namespace ([`BenchNet`]).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Instant;

use super::net::{links_of, veth_config, BenchNet, BRIDGE};
use super::report::{LinkCheck, Row, ScaleVeth, Table, SCALE_LXC, SCALE_RS, SCALE_VETH_RS};
use super::setup::{mkdir, quiet, write, Workdir};
use crate::run::{fail, Result};

pub const CONTAINERS: usize = 50;
pub const ROUNDS: usize = 3;

#[derive(Clone, Copy, PartialEq)]
pub(super) enum Rt {
    LxcRs,
    Lxc,
}

impl Rt {
    pub(super) fn label(self) -> &'static str {
        match self {
            Rt::LxcRs => "lxc-rs",
            Rt::Lxc => "LXC",
        }
    }
}

/// Containers of one runtime, all under one lxcpath, started and stopped in waves.
pub(super) struct Fleet<'a> {
    pub(super) rt: Rt,
    w: &'a Workdir,
    pub(super) lxcpath: PathBuf,
    pub(super) names: Vec<String>,
    logs: PathBuf,
    /// The veth fleet's network: every command runs in it, starts in its wrapper.
    net: Option<&'a BenchNet>,
}

/// What one wave did: its wall time, and the commands that failed (`name: why`).
pub(super) struct Wave {
    pub(super) secs: f64,
    pub(super) failed: Vec<String>,
}

impl Wave {
    /// The wall time, or an error naming every failed command.
    fn ok(self, what: &str, of: usize) -> Result<f64> {
        if self.failed.is_empty() {
            Ok(self.secs)
        } else {
            Err(fail(format!(
                "{} of {of} {what} commands failed: {}",
                self.failed.len(),
                self.failed.join("; ")
            )))
        }
    }
}

impl<'a> Fleet<'a> {
    /// Copies of the runtime's busybox container's config over its one rootfs, no network.
    fn new(rt: Rt, w: &'a Workdir) -> Result<Fleet<'a>> {
        let (fleet, base) = Fleet::empty(rt, w, "", CONTAINERS, None, None)?;
        for name in &fleet.names {
            let dir = fleet.lxcpath.join(name);
            mkdir(&dir)?;
            write(&dir.join("config"), &with_uts_name(&base, name))?;
        }
        Ok(fleet)
    }

    /// Containers of their own (the base container's rootfs copied, `cp -a`), each with the
    /// base config plus one veth on the bench's bridge.
    fn with_veth(rt: Rt, w: &'a Workdir, net: &'a BenchNet) -> Result<Fleet<'a>> {
        let (fleet, base) = Fleet::empty(rt, w, "v", CONTAINERS, None, Some(net))?;
        let base_rootfs = fleet.base_dir().join("rootfs");
        let veth: String = veth_config()
            .iter()
            .map(|(k, v)| format!("{k} = {v}\n"))
            .collect();
        for name in &fleet.names {
            let dir = fleet.lxcpath.join(name);
            mkdir(&dir)?;
            let rootfs = dir.join("rootfs");
            quiet(Command::new("cp").arg("-a").arg(&base_rootfs).arg(&rootfs))?;
            let config = with_rootfs(&with_uts_name(&base, name), &rootfs);
            write(&dir.join("config"), &format!("{config}{veth}"))?;
        }
        Ok(fleet)
    }

    /// The fleet's `count` names (`<tag>-<prefix><rs|lxc>-<i>`) and log directory, under
    /// `lxcpath` (by default the runtime's busybox container's); the base config's text.
    pub(super) fn empty(
        rt: Rt,
        w: &'a Workdir,
        prefix: &str,
        count: usize,
        lxcpath: Option<PathBuf>,
        net: Option<&'a BenchNet>,
    ) -> Result<(Fleet<'a>, String)> {
        let (default_path, short) = match rt {
            Rt::LxcRs => (w.rs_path.clone(), "rs"),
            Rt::Lxc => (w.lxc_path.clone(), "lxc"),
        };
        let lxcpath = lxcpath.unwrap_or(default_path);
        let short = format!("{prefix}{short}");
        let logs = w.path(&format!("scale-{short}"));
        mkdir(&logs)?;
        let width = count.saturating_sub(1).to_string().len().max(2);
        let names = (0..count)
            .map(|i| format!("{}-{short}-{i:0width$}", w.tag))
            .collect();
        let fleet = Fleet {
            rt,
            w,
            lxcpath,
            names,
            logs,
            net,
        };
        let base_config = fleet.base_dir().join("config");
        let text = fs::read_to_string(&base_config)
            .map_err(|e| fail(format!("cannot read {}: {e}", base_config.display())))?;
        Ok((fleet, text))
    }

    /// The runtime's busybox container, the one the bench prepared.
    pub(super) fn base_dir(&self) -> PathBuf {
        match self.rt {
            Rt::LxcRs => self.w.rs_path.join(self.w.rs_name()),
            Rt::Lxc => self.w.lxc_path.join(self.w.lxc_name()),
        }
    }

    /// The first `n` containers, as a fleet of their own.
    pub(super) fn first(&self, n: usize) -> Fleet<'a> {
        self.with_names(self.names.iter().take(n).cloned().collect())
    }

    /// The same fleet, these containers only.
    pub(super) fn with_names(&self, names: Vec<String>) -> Fleet<'a> {
        Fleet {
            rt: self.rt,
            w: self.w,
            lxcpath: self.lxcpath.clone(),
            names,
            logs: self.logs.clone(),
            net: self.net,
        }
    }

    /// What every name of the fleet starts with (`<tag>-<prefix><rs|lxc>-`).
    pub(super) fn name_prefix(&self) -> String {
        let first = self.names.first().map_or("", String::as_str);
        match first.rsplit_once('-') {
            Some((head, _)) => format!("{head}-"),
            None => first.to_string(),
        }
    }

    /// `lxc-rs COMMAND` or `lxc-TOOL`, with `args` then `-P LXCPATH`.
    fn argv(&self, rs_command: &str, lxc_tool: &str, args: &[&str]) -> Vec<String> {
        let mut argv = match self.rt {
            Rt::LxcRs => vec![self.w.lxc_rs.display().to_string(), rs_command.to_string()],
            Rt::Lxc => vec![lxc_tool.to_string()],
        };
        argv.extend(args.iter().map(|a| a.to_string()));
        argv.push("-P".into());
        argv.push(self.lxcpath.display().to_string());
        argv
    }

    /// `argv` as a command, in the fleet's network if it has one (with that network's sysfs
    /// when `sysfs`: what LXC needs to find the bridge).
    fn command(&self, argv: Vec<String>, sysfs: bool) -> Command {
        let argv = match self.net {
            Some(net) if sysfs => net.wrap(&argv),
            Some(net) => net.enter(&argv),
            None => argv,
        };
        let mut c = Command::new(&argv[0]);
        c.args(&argv[1..]);
        c
    }

    pub(super) fn start(&self, name: &str) -> Command {
        let argv = match self.rt {
            Rt::LxcRs => self.argv("start", "", &["-n", name]),
            Rt::Lxc => self.argv("", "lxc-start", &["-d", "-n", name]),
        };
        self.command(argv, true)
    }

    pub(super) fn stop(&self, name: &str) -> Command {
        self.command(self.argv("stop", "lxc-stop", &["-k", "-n", name]), false)
    }

    fn destroy(&self, name: &str) -> Command {
        self.command(self.argv("destroy", "lxc-destroy", &["-n", name]), false)
    }

    /// The init's pid of a running container.
    fn init_pid(&self, name: &str) -> Result<i32> {
        let argv = self.argv("info", "lxc-info", &["-p", "-H", "-n", name]);
        let out = quiet(&mut self.command(argv, false))?;
        out.trim()
            .parse()
            .map_err(|_| fail(format!("{name}: `info -p -H` printed {:?}", out.trim())))
    }

    /// The fleet's containers that `ls --running` / `lxc-ls --running` lists.
    pub(super) fn running(&self) -> Result<Vec<String>> {
        let argv = match self.rt {
            Rt::LxcRs => self.argv("ls", "", &["--running"]),
            Rt::Lxc => self.argv("", "lxc-ls", &["-1", "--running"]),
        };
        let out = quiet(&mut self.command(argv, false))?;
        Ok(out
            .split_whitespace()
            .filter(|n| self.names.iter().any(|m| m == n))
            .map(str::to_string)
            .collect())
    }

    /// All commands at once; the wall time until the last has exited, in seconds.
    fn wave(&self, what: &str, make: impl Fn(&str) -> Command) -> Result<f64> {
        self.waves(what, self.names.len(), false, make)
            .ok(what, self.names.len())
    }

    /// The commands `batch` at a time (a batch all at once, the next when all of it has
    /// exited), every one run whatever the others did; after a Ctrl-C no further batch when
    /// `stoppable` (starts), every batch still when not (stops, which clean up).
    pub(super) fn waves(
        &self,
        what: &str,
        batch: usize,
        stoppable: bool,
        make: impl Fn(&str) -> Command,
    ) -> Wave {
        let t0 = Instant::now();
        let mut failed = Vec::new();
        for names in self.names.chunks(batch.max(1)) {
            // Ctrl-C: no new batch (the current one was killed with the bench's group).
            if stoppable && super::interrupted().is_err() {
                failed.push(format!("interrupted: {what} not run for the rest"));
                break;
            }
            let mut children: Vec<(&String, PathBuf, Child)> = Vec::new();
            for name in names {
                let log = self.logs.join(format!("{name}.{what}.log"));
                let spawned = fs::File::create(&log)
                    .and_then(|out| Ok((out.try_clone()?, out)))
                    .and_then(|(err, out)| {
                        make(name)
                            .stdin(Stdio::null())
                            .stdout(out)
                            .stderr(err)
                            .spawn()
                    });
                match spawned {
                    Ok(child) => children.push((name, log, child)),
                    Err(e) => failed.push(format!("{name}: cannot run {what}: {e}")),
                }
            }
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
        }
        Wave {
            secs: t0.elapsed().as_secs_f64(),
            failed,
        }
    }

    /// One round: (start wave, what `between` found while all ran, stop wave), the waves in
    /// seconds. Whatever still runs after a failure is stopped before the error is returned.
    fn round<T>(&self, between: impl FnOnce() -> T) -> Result<(f64, T, f64)> {
        let started = self.wave("start", |n| self.start(n));
        let found = between();
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
        Ok((started?, found, stopped?))
    }

    /// Every container has its links: its host end on the bridge (up), and an eth0 (up) in
    /// its init's network namespace whose peer is one of those host ends, no two alike.
    fn check_links(&self, net: &BenchNet, round: usize) -> LinkCheck {
        let mut check = LinkCheck {
            runtime: self.rt.label().to_string(),
            round: round + 1,
            containers: self.names.len(),
            host_on_bridge: 0,
            eth0_up: 0,
            paired: 0,
            veths_left_after_stop: Vec::new(),
            problems: Vec::new(),
        };
        let bridged: Vec<u64> = match net.veths() {
            Ok(v) => {
                for (_, name, on) in &v {
                    if !on {
                        check
                            .problems
                            .push(format!("host end {name} not on {BRIDGE} or not up"));
                    }
                }
                v.into_iter().filter(|v| v.2).map(|v| v.0).collect()
            }
            Err(e) => {
                check.problems.push(format!("host side: {e}"));
                Vec::new()
            }
        };
        check.host_on_bridge = bridged.len();
        let mut peers = Vec::new();
        for name in &self.names {
            let links = self.init_pid(name).and_then(links_of);
            let links = match links {
                Ok(l) => l,
                Err(e) => {
                    check.problems.push(format!("{name}: {e}"));
                    continue;
                }
            };
            let Some(eth0) = links.iter().find(|l| l["ifname"] == "eth0") else {
                check.problems.push(format!("{name}: no eth0 inside"));
                continue;
            };
            if eth0["flags"]
                .as_array()
                .is_some_and(|f| f.iter().any(|f| f == "UP"))
            {
                check.eth0_up += 1;
            } else {
                check.problems.push(format!("{name}: eth0 is not up"));
            }
            match eth0["link_index"].as_u64() {
                Some(peer) if bridged.contains(&peer) && !peers.contains(&peer) => peers.push(peer),
                peer => check.problems.push(format!(
                    "{name}: eth0's peer (ifindex {peer:?}) is not a host end of its own on the \
                     bridge"
                )),
            }
        }
        check.paired = peers.len();
        check
    }
}

/// Replace the `lxc.rootfs.path` line (the template writes one).
fn with_rootfs(config: &str, rootfs: &Path) -> String {
    config
        .lines()
        .map(|l| {
            if l.trim_start().starts_with("lxc.rootfs.path") {
                format!("lxc.rootfs.path = dir:{}\n", rootfs.display())
            } else {
                format!("{l}\n")
            }
        })
        .collect()
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
            super::interrupted()?;
            let (a, (), b) = fleets[i].round(|| ())?;
            eprintln!(
                "bench: scale round {}: {}: starts {a:.2} s, stops {b:.2} s",
                round + 1,
                fleets[i].rt.label()
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

/// 50 containers with one veth each on the bench's bridge, per runtime: started at once, their
/// links checked while all run, stopped at once, [`ROUNDS`] rounds alternating which runtime
/// goes first; after the last round, destroyed at once. LXC's fleet is left out (with why)
/// when it fails; lxc-rs's failing fails the step.
pub fn measure_veth(w: &Workdir, net: &BenchNet) -> Result<ScaleVeth> {
    let rs = Fleet::with_veth(Rt::LxcRs, w, net)?;
    let mut notes = Vec::new();
    let lxc = Fleet::with_veth(Rt::Lxc, w, net)
        .map_err(|e| notes.push(format!("LXC: not measured: {e}")))
        .ok();
    let mut fleets = [Some(&rs), lxc.as_ref()];
    let mut starts = [Vec::new(), Vec::new()];
    let mut stops = [Vec::new(), Vec::new()];
    let mut destroys = [Vec::new(), Vec::new()];
    let mut checks = Vec::new();
    for round in 0..ROUNDS {
        let order = if round % 2 == 0 { [0, 1] } else { [1, 0] };
        for i in order {
            // Ctrl-C kills the wave's commands: stop here rather than go on with the rest.
            super::interrupted()?;
            let Some(f) = fleets[i] else { continue };
            match f.round(|| f.check_links(net, round)) {
                Ok((a, mut check, b)) => {
                    check.veths_left_after_stop = net.wait_no_veth(10);
                    eprintln!(
                        "bench: veth scale round {}: {}: starts {a:.2} s, stops {b:.2} s; \
                         links: {}",
                        round + 1,
                        f.rt.label(),
                        check.summary()
                    );
                    starts[i].push(a);
                    stops[i].push(b);
                    checks.push(check);
                }
                Err(e) if f.rt == Rt::LxcRs => return Err(e),
                Err(e) => {
                    eprintln!("bench: veth scale: leaving LXC out: {e}");
                    notes.push(format!("LXC: left out in round {}: {e}", round + 1));
                    fleets[i] = None;
                }
            }
        }
    }
    for (i, f) in fleets.iter().enumerate() {
        super::interrupted()?;
        let Some(f) = f else { continue };
        match f.wave("destroy", |n| f.destroy(n)) {
            Ok(t) => destroys[i].push(t),
            Err(e) if f.rt == Rt::LxcRs => return Err(e),
            Err(e) => notes.push(format!("LXC: destroy: {e}")),
        }
        let left: Vec<&String> = f
            .names
            .iter()
            .filter(|n| f.lxcpath.join(n).exists())
            .collect();
        if !left.is_empty() {
            notes.push(format!(
                "**{}: {} container directories left after the destroy wave** (the first: {})",
                f.rt.label(),
                left.len(),
                left[0]
            ));
        }
    }

    let describe = |i: usize, what: &str| -> String {
        let f = if i == 0 { Some(&rs) } else { lxc.as_ref() };
        let Some(f) = f else { return String::new() };
        let c = match what {
            "start" => f.start(&f.names[0]),
            "stop" => f.stop(&f.names[0]),
            _ => f.destroy(&f.names[0]),
        };
        format!("{CONTAINERS} x `{}` at once", crate::run::display(&c))
    };
    let total = |i: usize| -> Vec<f64> {
        starts[i]
            .iter()
            .zip(&stops[i])
            .map(|(a, b)| a + b)
            .collect()
    };
    let rows = [
        (
            SCALE_VETH_RS,
            "the start wave plus the stop wave".to_string(),
            total(0),
            SCALE_VETH_RS,
        ),
        (
            "LXC: 50 veth starts + 50 stops",
            "the start wave plus the stop wave".to_string(),
            total(1),
            SCALE_VETH_RS,
        ),
        (
            "lxc-rs: 50 veth starts",
            describe(0, "start"),
            starts[0].clone(),
            "lxc-rs: 50 veth starts",
        ),
        (
            "LXC: 50 veth starts",
            describe(1, "start"),
            starts[1].clone(),
            "lxc-rs: 50 veth starts",
        ),
        (
            "lxc-rs: 50 stops",
            describe(0, "stop"),
            stops[0].clone(),
            "lxc-rs: 50 stops",
        ),
        (
            "LXC: 50 stops",
            describe(1, "stop"),
            stops[1].clone(),
            "lxc-rs: 50 stops",
        ),
        (
            "lxc-rs: 50 destroys",
            describe(0, "destroy"),
            destroys[0].clone(),
            "lxc-rs: 50 destroys",
        ),
        (
            "LXC: 50 destroys",
            describe(1, "destroy"),
            destroys[1].clone(),
            "lxc-rs: 50 destroys",
        ),
    ];
    let mut table = Table {
        rows: Vec::new(),
        notes,
    };
    // A runtime left out has no samples, so no rows.
    for (name, command, samples, vs) in rows {
        if let Some(row) = Row::new(name, command, "s", samples) {
            table.rows.push(row.vs(vs));
        }
    }
    table.set_ratios();
    Ok(ScaleVeth { table, checks })
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
