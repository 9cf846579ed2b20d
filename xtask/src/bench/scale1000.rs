//! 1000 idle containers ([`super::idle`]) per runtime, started 50 at a time, none may fail;
//! while all run, the host memory of the runtime's own processes (PSS summed over monitors and
//! helpers, not the inits); then stopped 50 at a time, and nothing of theirs may be left.
//! lxc-rs's thousand first, then LXC's: never both at once.
//!
//! Before it starts, the machine is checked for room (memory, pids, threads, ptys, keys, open
//! files); when it cannot hold 1000 it runs as many as it can and the report says why.

use std::fs;

use super::idle::{self, mem_available_kib, Init, Owned, StopOnDrop};
use super::report::{IdleRun, IdleScale, Row, Table};
use super::scale::{Fleet, Rt};
use super::setup::Workdir;
use crate::run::{fail, Result};

pub const WANTED: usize = 1000;
/// Starts (and stops) run this many at once, the next batch when all of these have exited.
pub const BATCH: usize = 50;
/// Host memory one idle container is allowed to take when sizing the run (the kernel's share
/// included: namespaces, cgroups in every hierarchy, the console pty): MemAvailable fell by
/// ~1.2 MiB per container here, for either runtime.
const MIB_PER_CONTAINER: u64 = 8;
/// What the rest of the machine keeps.
const MIB_SPARE: u64 = 2048;
/// Processes per container at most (init, monitor, helper) and threads of ours on top.
const TASKS_PER_CONTAINER: u64 = 4;
/// Failures listed in the report per runtime (all are counted).
const LISTED: usize = 10;

pub fn measure(w: &Workdir) -> Result<IdleScale> {
    let init = idle::install_init(w)?;
    let (n, room) = room(WANTED);
    if n < BATCH {
        return Err(fail(format!(
            "this machine has room for {n} idle containers only: {}",
            room.join("; ")
        )));
    }
    let mut runs = Vec::new();
    for rt in [Rt::LxcRs, Rt::Lxc] {
        super::interrupted()?;
        let f = idle::fleet(rt, w, "k", n, &init)?;
        let run = run(&f, &init);
        eprintln!("bench: {n} idle containers: {}", run.summary());
        runs.push(run);
    }
    super::interrupted()?;
    let mut table = Table::default();
    for (what, unit, pick) in [
        (
            "starts",
            "s",
            (|r: &IdleRun| r.start_s) as fn(&IdleRun) -> f64,
        ),
        ("stops", "s", |r| r.stop_s),
        ("PSS per container", "MiB", |r| r.pss_per_container_mib),
        ("PSS total", "MiB", |r| r.pss_total_mib),
    ] {
        let name = |rt: &str| format!("{rt}: {n} idle, {what}");
        for r in &runs {
            let command = match what {
                "starts" | "stops" => format!("{n} x `{what}`, {BATCH} at a time"),
                _ => "PSS of the runtime's own processes while all run".to_string(),
            };
            if let Some(row) = Row::new(&name(&r.runtime), command, unit, vec![pick(r)]) {
                table.rows.push(row.vs(&name(Rt::LxcRs.label())));
            }
        }
    }
    table.set_ratios();
    Ok(IdleScale {
        wanted: WANTED,
        containers: n,
        batch: BATCH,
        room,
        runs,
        table,
    })
}

/// One runtime's thousand: start, count, measure, stop, check.
fn run(f: &Fleet<'_>, init: &Init) -> IdleRun {
    let guard = StopOnDrop::new(f);
    let before = mem_available_kib();
    let started = f.waves("start", BATCH, true, |n| f.start(n));
    let mut problems = Vec::new();
    let running = idle::running_or_all(f, &mut problems);
    let during = mem_available_kib();
    let owned = Owned::of(&f.lxcpath, init);
    let (kinds, pss_total_mib) = owned.pss_by_kind();
    let init_pss = owned.init_pss_mib();
    // What the "nothing left" check looks for must be there while they run.
    let cgroups = idle::cgroups_of(f).len();
    let processes = owned.runtime.len();
    let inits = owned.inits.len();
    drop(owned);
    let up = f.with_names(running.clone());
    let stopped = up.waves("stop", BATCH, false, |n| up.stop(n));
    let left = idle::wait_nothing_left(f, init, idle::SETTLE_S);
    guard.disarm();
    let per = |v: f64| v / running.len().max(1) as f64;
    let listed = |v: &[String]| v.iter().take(LISTED).cloned().collect();
    IdleRun {
        runtime: f.rt.label().to_string(),
        containers: f.names.len(),
        start_s: started.secs,
        start_failures: started.failed.len(),
        first_start_failures: listed(&started.failed),
        running: running.len(),
        inits,
        cgroups,
        processes,
        kinds,
        pss_total_mib,
        pss_per_container_mib: per(pss_total_mib),
        init_pss_per_container_mib: per(init_pss),
        mem_used_mib: before
            .zip(during)
            .map(|(b, d)| b.saturating_sub(d) as f64 / 1024.0),
        stop_s: stopped.secs,
        stop_failures: stopped.failed.len(),
        first_stop_failures: listed(&stopped.failed),
        left_count: left.len(),
        left: listed(&left),
        problems,
    }
}

/// How many idle containers (at most `wanted`) this machine has room for, and what each
/// resource allows. Raises this process's soft open-files limit to its hard limit.
fn room(wanted: usize) -> (usize, Vec<String>) {
    let mut limits: Vec<(String, u64)> = Vec::new();
    let read = |p: &str| -> Option<u64> { fs::read_to_string(p).ok()?.trim().parse().ok() };
    if let Some(avail) = mem_available_kib() {
        let mib = avail / 1024;
        limits.push((
            format!("{mib} MiB available, {MIB_SPARE} MiB kept, {MIB_PER_CONTAINER} MiB each"),
            mib.saturating_sub(MIB_SPARE) / MIB_PER_CONTAINER,
        ));
    }
    // /proc/loadavg's fourth field: runnable/total scheduling entities (threads).
    let tasks: Option<u64> = fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().nth(3)?.split_once('/')?.1.parse().ok());
    for (file, what) in [
        ("/proc/sys/kernel/pid_max", "pid_max"),
        ("/proc/sys/kernel/threads-max", "threads-max"),
    ] {
        if let (Some(max), Some(tasks)) = (read(file), tasks) {
            limits.push((
                format!("{what} {max}, {tasks} tasks now, {TASKS_PER_CONTAINER} each"),
                max.saturating_sub(tasks) / TASKS_PER_CONTAINER,
            ));
        }
    }
    // Containers' devpts instances share pty/max less what is reserved for the host's; each
    // idle container has one pty (its console).
    if let (Some(max), Some(reserve), Some(nr)) = (
        read("/proc/sys/kernel/pty/max"),
        read("/proc/sys/kernel/pty/reserve"),
        read("/proc/sys/kernel/pty/nr"),
    ) {
        limits.push((
            format!("pty max {max}, {reserve} reserved, {nr} in use, 1 each"),
            max.saturating_sub(reserve).saturating_sub(nr),
        ));
    }
    // LXC gives every container a session keyring of its own.
    if let Some(keys) = read("/proc/sys/kernel/keys/root_maxkeys") {
        limits.push((format!("root_maxkeys {keys}, 1 each"), keys / 2));
    }
    limits.push(open_files());
    let n = limits.iter().map(|(_, n)| *n).fold(wanted as u64, u64::min) as usize;
    let room = limits
        .into_iter()
        .map(|(what, n)| match n {
            u64::MAX => format!("{what}: enough"),
            n => format!("{what}: room for {n}"),
        })
        .collect();
    (n, room)
}

/// The bench holds a few fds per command of a batch; a soft limit too low for that is raised
/// as far as the hard one allows (only then: the runtimes inherit it).
fn open_files() -> (String, u64) {
    let per_batch = 4 * BATCH as u64 + 64;
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit only read and write the struct we pass.
    let ok = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } == 0;
    if ok && lim.rlim_cur < per_batch && lim.rlim_cur < lim.rlim_max {
        let raised = libc::rlimit {
            rlim_cur: lim.rlim_max.min(per_batch),
            rlim_max: lim.rlim_max,
        };
        // SAFETY: as above.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
            lim = raised;
        }
    }
    let room = if lim.rlim_cur >= per_batch {
        u64::MAX
    } else {
        0
    };
    (
        format!(
            "open files {} (needs {per_batch} for a batch of {BATCH})",
            lim.rlim_cur
        ),
        room,
    )
}
