//! Idle fleets: containers whose init is a minimal program that only waits (`idle_init.c`), so
//! that starting, running and stopping many of them measures the runtimes, not a boot. Shared by
//! the `fleet` step (50 and 200 at once) and the `scale1000` step (1000 idle containers).
//!
//! Each runtime's idle containers live under an lxcpath of their own ([`Workdir::idle_rs_path`],
//! [`Workdir::idle_lxc_path`]), so every runtime process that names that lxcpath is one of
//! theirs. Their config is the runtime's busybox container's (over its rootfs) with
//! `lxc.init.cmd` = the idle init and `lxc.tty.max = 0` (the init uses no tty; five each would
//! take 5000 of the kernel's 3072 ptys for containers at 1000).

use std::collections::{BTreeMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::report::{FleetRound, ProcessKind};
use super::scale::{with_uts_name, Fleet, Rt};
use super::setup::{cc_static, find_cgroups, mkdir, write, Workdir};
use crate::run::{fail, Result};

const INIT_C: &str = include_str!("idle_init.c");

/// How long the checks after a stop wave wait for monitors to exit and cgroups to go.
pub const SETTLE_S: u64 = 10;

/// The idle init, installed at the root of both runtimes' busybox rootfs.
pub struct Init {
    /// Its path inside the rootfs (`/<tag>-idle`): also its command line, which tells our inits
    /// apart from every other process on the host.
    pub path: String,
}

/// Build the idle init (`cc -O2 -static`) and copy it into both busybox rootfs; again only
/// when it is not there yet.
pub fn install_init(w: &Workdir) -> Result<Init> {
    let name = format!("{}-idle", w.tag);
    let rootfs = [w.rootfs(), w.lxc_path.join(w.lxc_name()).join("rootfs")];
    let init = Init {
        path: format!("/{name}"),
    };
    if rootfs.iter().all(|r| r.join(&name).exists()) {
        return Ok(init);
    }
    let dir = w.path("idle");
    mkdir(&dir)?;
    let exe = cc_static(&dir, "idle_init.c", INIT_C, &name)?;
    for root in rootfs {
        let to = root.join(&name);
        fs::copy(&exe, &to).map_err(|e| {
            fail(format!(
                "cannot copy the idle init to {}: {e}",
                to.display()
            ))
        })?;
    }
    Ok(init)
}

/// `count` idle containers of `rt`, named `<tag>-<prefix><rs|lxc>-<i>`, in its idle lxcpath.
pub fn fleet<'a>(
    rt: Rt,
    w: &'a Workdir,
    prefix: &str,
    count: usize,
    init: &Init,
) -> Result<Fleet<'a>> {
    let lxcpath = match rt {
        Rt::LxcRs => w.idle_rs_path.clone(),
        Rt::Lxc => w.idle_lxc_path.clone(),
    };
    let (fleet, base) = Fleet::empty(rt, w, prefix, count, Some(lxcpath), None)?;
    let base = idle_config(&base, &init.path);
    for name in &fleet.names {
        let dir = fleet.lxcpath.join(name);
        mkdir(&dir)?;
        write(&dir.join("config"), &with_uts_name(&base, name))?;
    }
    Ok(fleet)
}

/// The busybox config with no ttys and the idle init.
fn idle_config(base: &str, init: &str) -> String {
    let mut out: String = base
        .lines()
        .filter(|l| {
            let l = l.trim_start();
            !l.starts_with("lxc.tty.max") && !l.starts_with("lxc.init.cmd")
        })
        .map(|l| format!("{l}\n"))
        .collect();
    out.push_str(&format!("lxc.tty.max = 0\nlxc.init.cmd = {init}\n"));
    out
}

/// Stops, 50 at a time, whatever of its fleet still runs when dropped (an error or Ctrl-C
/// in the middle of a step), unless disarmed.
pub struct StopOnDrop<'f, 'a> {
    fleet: &'f Fleet<'a>,
    armed: bool,
}

impl<'f, 'a> StopOnDrop<'f, 'a> {
    pub fn new(fleet: &'f Fleet<'a>) -> Self {
        StopOnDrop { fleet, armed: true }
    }

    pub fn disarm(mut self) {
        self.armed = false;
    }
}

impl Drop for StopOnDrop<'_, '_> {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let running = self
            .fleet
            .running()
            .unwrap_or_else(|_| self.fleet.names.clone());
        if !running.is_empty() {
            let f = self.fleet.with_names(running);
            let _ = f.waves("stop", 50, false, |n| f.stop(n));
        }
    }
}

/// One round of an idle fleet: all started `batch` at a time, checked RUNNING, the running ones
/// stopped `batch` at a time, then checked that nothing of theirs is left.
pub fn round(f: &Fleet<'_>, init: &Init, batch: usize, round: usize) -> FleetRound {
    let guard = StopOnDrop::new(f);
    let started = f.waves("start", batch, true, |n| f.start(n));
    let mut problems = Vec::new();
    let running = running_or_all(f, &mut problems);
    let up = f.with_names(running.clone());
    let stopped = up.waves("stop", batch, false, |n| up.stop(n));
    let left = wait_nothing_left(f, init, SETTLE_S);
    guard.disarm();
    FleetRound {
        runtime: f.rt.label().to_string(),
        containers: f.names.len(),
        round: round + 1,
        start_s: started.secs,
        stop_s: stopped.secs,
        start_failures: started.failed,
        running: running.len(),
        stop_failures: stopped.failed,
        left,
        problems,
    }
}

/// The fleet's running containers; all its names (and a problem noted) when they cannot be
/// listed, so that the stop wave still reaches every one.
pub fn running_or_all(f: &Fleet<'_>, problems: &mut Vec<String>) -> Vec<String> {
    f.running().unwrap_or_else(|e| {
        problems.push(format!("cannot list the running containers: {e}"));
        f.names.clone()
    })
}

/// Wait up to `secs` for nothing of the fleet to be left; what is still there then.
pub fn wait_nothing_left(f: &Fleet<'_>, init: &Init, secs: u64) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let left = left_of(f, init);
        if left.is_empty() || Instant::now() >= deadline {
            return left;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// What of a stopped fleet is still there: containers listed as running, the runtime's
/// processes of its lxcpath (monitors, helpers), idle inits, cgroups named like its containers.
pub fn left_of(f: &Fleet<'_>, init: &Init) -> Vec<String> {
    let mut left = Vec::new();
    match f.running() {
        Ok(r) => left.extend(r.into_iter().map(|n| format!("{n} still RUNNING"))),
        Err(e) => left.push(format!("cannot list the running containers: {e}")),
    }
    let ours = Owned::of(&f.lxcpath, init);
    left.extend(
        ours.runtime
            .iter()
            .map(|p| format!("process {} `{}`", p.pid, p.cmdline)),
    );
    left.extend(
        ours.inits
            .iter()
            .map(|p| format!("idle init {} (parent {})", p.pid, p.ppid)),
    );
    left.extend(
        cgroups_of(f)
            .iter()
            .map(|c| format!("cgroup {}", c.display())),
    );
    left
}

/// The cgroup directories named like one of the fleet's containers (not what is under them).
pub fn cgroups_of(f: &Fleet<'_>) -> Vec<PathBuf> {
    let prefix = f.name_prefix();
    find_cgroups(|n| n.contains(&prefix))
        .into_iter()
        .filter(|c| {
            c.file_name()
                .is_some_and(|n| n.to_string_lossy().contains(&prefix))
        })
        .collect()
}

/// One process of the host.
#[derive(Clone, Debug)]
pub struct Proc {
    pub pid: i32,
    pub ppid: i32,
    /// What `ps -o comm` shows.
    pub comm: String,
    /// Its arguments joined by spaces (a retitled process shows its title).
    pub cmdline: String,
}

/// Every process of the host (those that exit while being read are left out).
pub fn processes() -> Vec<Proc> {
    let Ok(rd) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    rd.flatten()
        .filter_map(|e| {
            let pid: i32 = e.file_name().to_str()?.parse().ok()?;
            let stat = fs::read_to_string(e.path().join("stat")).ok()?;
            // `pid (comm) state ppid ...`; comm may hold spaces and parentheses.
            let (head, tail) = stat.rsplit_once(')')?;
            let comm = head.split_once('(')?.1.to_string();
            let ppid = tail.split_whitespace().nth(1)?.parse().ok()?;
            let raw = fs::read(e.path().join("cmdline")).ok()?;
            let cmdline = raw
                .split(|b| *b == 0)
                .map(|a| String::from_utf8_lossy(a).trim().to_string())
                .filter(|a| !a.is_empty())
                .collect::<Vec<_>>()
                .join(" ");
            Some(Proc {
                pid,
                ppid,
                comm,
                cmdline,
            })
        })
        .collect()
}

/// The processes of one idle lxcpath.
pub struct Owned {
    /// The runtime's own: every process whose command line names the lxcpath (LXC's and
    /// lxc-rs's monitors are titled `[lxc monitor] LXCPATH NAME`, lxc-rs's cleanup helpers
    /// `[lxc-rs cleanup] LXCPATH NAME`), and every descendant of a monitor but the containers'
    /// inits (a helper with no title is still counted).
    pub runtime: Vec<Proc>,
    /// The containers' inits (the same program for both runtimes: not counted).
    pub inits: Vec<Proc>,
}

impl Owned {
    pub fn of(lxcpath: &Path, init: &Init) -> Owned {
        let all = processes();
        let me = std::process::id() as i32;
        let path = lxcpath.display().to_string();
        let is_init = |p: &Proc| p.cmdline == init.path;
        let mut ours: HashSet<i32> = all
            .iter()
            .filter(|p| p.pid != me && !is_init(p))
            .filter(|p| p.cmdline.split_whitespace().any(|a| a == path))
            .map(|p| p.pid)
            .collect();
        let monitor = format!("[lxc monitor] {path} ");
        let mut parents: HashSet<i32> = all
            .iter()
            .filter(|p| p.cmdline.starts_with(&monitor))
            .map(|p| p.pid)
            .collect();
        // Descendants of the monitors, down to a fixed point, stopping at the inits.
        while !parents.is_empty() {
            parents = all
                .iter()
                .filter(|p| parents.contains(&p.ppid) && !is_init(p) && !ours.contains(&p.pid))
                .map(|p| p.pid)
                .collect();
            ours.extend(&parents);
        }
        Owned {
            runtime: all
                .iter()
                .filter(|p| ours.contains(&p.pid))
                .cloned()
                .collect(),
            inits: all.iter().filter(|p| is_init(p)).cloned().collect(),
        }
    }

    /// The runtime's processes by kind (`comm`), with their summed PSS, and the total PSS, MiB.
    pub fn pss_by_kind(&self) -> (Vec<ProcessKind>, f64) {
        let mut kinds: BTreeMap<String, (usize, u64)> = BTreeMap::new();
        for p in &self.runtime {
            let k = kinds.entry(p.comm.clone()).or_default();
            k.0 += 1;
            k.1 += pss_kib(p.pid).unwrap_or(0);
        }
        let kinds: Vec<ProcessKind> = kinds
            .into_iter()
            .map(|(comm, (count, kib))| ProcessKind {
                comm,
                count,
                pss_mib: kib as f64 / 1024.0,
            })
            .collect();
        let total = kinds.iter().map(|k| k.pss_mib).sum();
        (kinds, total)
    }

    /// The inits' summed PSS, MiB.
    pub fn init_pss_mib(&self) -> f64 {
        self.inits
            .iter()
            .map(|p| pss_kib(p.pid).unwrap_or(0))
            .sum::<u64>() as f64
            / 1024.0
    }
}

/// A process's proportional set size (its own pages, plus its share of those it shares), KiB.
pub fn pss_kib(pid: i32) -> Option<u64> {
    fs::read_to_string(format!("/proc/{pid}/smaps_rollup"))
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("Pss:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// `/proc/meminfo`'s MemAvailable, KiB.
pub fn mem_available_kib() -> Option<u64> {
    meminfo("MemAvailable:")
}

pub fn meminfo(key: &str) -> Option<u64> {
    fs::read_to_string("/proc/meminfo")
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix(key))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idle_config_replaces_ttys_and_init() {
        let c = "a = 1\nlxc.tty.max = 5\nlxc.init.cmd = /sbin/init\nb = 2\n";
        assert_eq!(
            idle_config(c, "/x-idle"),
            "a = 1\nb = 2\nlxc.tty.max = 0\nlxc.init.cmd = /x-idle\n"
        );
    }

    #[test]
    fn this_process_is_listed_with_its_parent() {
        let me = std::process::id() as i32;
        let all = processes();
        let p = all.iter().find(|p| p.pid == me).expect("own pid in /proc");
        assert_eq!(p.ppid, std::os::unix::process::parent_id() as i32);
        assert!(!p.comm.is_empty());
        assert!(pss_kib(me).is_some_and(|k| k > 0));
    }
}
