//! `cargo xtask bench`: lxc-rs side by side with LXC, runc, crun and a bare `unshare` floor, in
//! one run on one machine, so the ratios are fair even where absolute times drift.
//!
//! It installs what it compares against, builds lxc-rs in release, prepares one busybox rootfs
//! with an lxc-rs container, an LXC container and an OCI bundle over it (all under
//! `/tmp/lxcrs-bench-<pid>/`, removed at the end whatever happens) and, for the veth steps, a
//! network namespace `lxcrs-bench-<pid>` with a bridge (deleted at the end, whatever happens),
//! measures, and writes
//! `<target>/bench/report.{md,json,svg}`. Targets are reported as met or not; nothing asserts.
//! `--only STEP,...` runs some of the measuring steps (and what they need) instead of all.

mod chart;
mod console;
mod fleet;
mod hyperfine;
mod idle;
mod lifecycle;
mod machine;
mod memory;
mod micro;
mod net;
mod phases;
mod report;
mod runtimes;
mod scale;
mod scale1000;
mod seccomp;
mod setup;

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use chart::Panel;
use report::{Outcome, Report, Table, NOT_SELECTED};
use runtimes::{LXC_EXECUTE, RS_EXECUTE};

use crate::run::{fail, secs, target_dir, workspace_root, Error, Result, Runner};

/// The measuring steps, in the order they run; `--only` picks among them.
pub const STEPS: &[&str] = &[
    "lifecycle-hot",
    "lifecycle-cold",
    "phases",
    "veth",
    "memory",
    "scale",
    "scale-veth",
    "micro",
    "console",
    "seccomp-notify",
    "seccomp-policy",
    "fleet",
    "scale1000",
];

/// Steps that run each lifecycle command once first (and leave out those that fail).
const NEED_PROBE: &[&str] = &[
    "lifecycle-hot",
    "lifecycle-cold",
    "veth",
    "memory",
    "seccomp-policy",
    "phases",
];

/// Steps that need the bench's network namespace.
const NEED_NETWORK: &[&str] = &["veth", "scale-veth"];

/// Which measuring steps run: all of them, or those named with `--only`.
pub struct Selection(Option<Vec<String>>);

impl Selection {
    fn has(&self, step: &str) -> bool {
        self.0.as_ref().is_none_or(|s| s.iter().any(|x| x == step))
    }

    fn any(&self, steps: &[&str]) -> bool {
        steps.iter().any(|s| self.has(s))
    }
}

/// `bench [--only STEP[,STEP...]]...` (also `--only=...`).
pub fn args(rest: &[String]) -> Result<Selection> {
    let mut only: Option<Vec<String>> = None;
    let mut it = rest.iter();
    while let Some(arg) = it.next() {
        let list = match arg.strip_prefix("--only") {
            Some("") => it
                .next()
                .ok_or_else(|| Error::Usage("`--only` needs a list of steps".into()))?,
            Some(v) if v.starts_with('=') => &v[1..],
            _ => {
                return Err(Error::Usage(format!(
                    "`bench` takes only `--only STEP,...` (got `{arg}`)"
                )))
            }
        };
        for step in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            if !STEPS.contains(&step) {
                return Err(Error::Usage(format!(
                    "no bench step `{step}`; the steps: {}",
                    STEPS.join(", ")
                )));
            }
            only.get_or_insert_with(Vec::new).push(step.to_string());
        }
    }
    Ok(Selection(only))
}

/// `r.step(...)` when `name` is selected; `Skipped(NOT_SELECTED)` when not.
fn step<T>(
    r: &mut Runner,
    sel: &Selection,
    name: &str,
    what: &str,
    f: impl FnOnce() -> Result<T>,
) -> Outcome<T> {
    if sel.has(name) {
        r.step(name, what, f).into()
    } else {
        Outcome::Skipped(NOT_SELECTED.into())
    }
}

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_interrupt(_: libc::c_int) {
    INTERRUPTED.store(true, Ordering::SeqCst);
}

/// Ctrl-C (or SIGTERM) kills what the bench is running (it shares our process group), but not
/// the bench itself: it stops at the next step and its guard removes what it made. Commands it
/// starts get the default action back at exec.
fn catch_interrupts() {
    for sig in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
        unsafe {
            libc::signal(sig, on_interrupt as *const () as libc::sighandler_t);
        }
    }
}

fn interrupted() -> Result<()> {
    if INTERRUPTED.load(Ordering::SeqCst) {
        Err(fail("interrupted: cleaning up"))
    } else {
        Ok(())
    }
}

pub fn run(sel: Selection) -> Result<()> {
    catch_interrupts();
    let t0 = Instant::now();
    let out_dir = target_dir()?.join("bench");
    let probe = sel.any(NEED_PROBE);
    let network = sel.any(NEED_NETWORK);
    let measuring = STEPS.iter().filter(|s| sel.has(s)).count();
    let mut r = Runner::new(
        "bench",
        4 + usize::from(probe) + usize::from(network) + measuring,
    );

    r.step(
        "install",
        "LXC, runc, crun, busybox, hyperfine and GNU time when missing",
        setup::ensure_bench_packages,
    )?;
    let built = r.step(
        "build",
        "lxc-rs and the config-load timer, release profile",
        setup::build_release,
    )?;
    eprintln!("lxc-rs: {}", built.lxc_rs.display());

    interrupted()?;
    // From here on everything made on the host is under `w`, and dropping it removes it.
    let w = setup::Workdir::create(&built.lxc_rs)?;
    r.step(
        "prepare",
        &format!(
            "busybox containers for lxc-rs and LXC, an OCI bundle, under {}",
            w.root.display()
        ),
        || w.prepare(),
    )?;
    interrupted()?;
    let load_at_start = machine::load_average();
    let (rts, left_out) = if probe {
        r.step("probe", "run each runtime once", || {
            Ok(lifecycle::probe_all(runtimes::lifecycle(&w)))
        })?
    } else {
        (Vec::new(), Vec::new())
    };
    interrupted()?;
    let rs_exec = rts.iter().find(|x| x.name == RS_EXECUTE);
    let lxc_exec = rts.iter().find(|x| x.name == LXC_EXECUTE);
    let both = match (rs_exec, lxc_exec) {
        (Some(rs), Some(lxc)) => Ok((rs, lxc)),
        _ => Err(format!("needs both {RS_EXECUTE} and {LXC_EXECUTE} to run")),
    };

    let hot: Outcome<Table> = step(
        &mut r,
        &sel,
        "lifecycle-hot",
        &format!("{} runs each, back to back", lifecycle::HOT_RUNS),
        || {
            lifecycle::measure(
                &rts,
                &left_out,
                3,
                lifecycle::HOT_RUNS,
                None,
                &w.path("hot.json"),
            )
        },
    );
    interrupted()?;
    let cold: Outcome<Table> = step(
        &mut r,
        &sel,
        "lifecycle-cold",
        &format!(
            "{} runs each, `{}` before every run",
            lifecycle::COLD_RUNS,
            lifecycle::COLD_GAP
        ),
        || {
            lifecycle::measure(
                &rts,
                &left_out,
                1,
                lifecycle::COLD_RUNS,
                Some(lifecycle::COLD_GAP),
                &w.path("cold.json"),
            )
        },
    );
    interrupted()?;
    // Right after the lifecycle steps, before the many-container steps: the kernel's cleanup
    // of those (cgroups, namespaces) would run beside these runs and stretch their gaps.
    let phases = match rs_exec {
        _ if !sel.has("phases") => Outcome::Skipped(NOT_SELECTED.into()),
        Some(rs) => step(
            &mut r,
            &sel,
            "phases",
            &format!(
                "{} lxc-rs executes with {}",
                phases::RUNS,
                "LXC_RS_PHASE_TIMES"
            ),
            || phases::measure(rs, &w.path("phases")),
        ),
        None => Outcome::Skipped(format!("{RS_EXECUTE} did not run")),
    };
    interrupted()?;
    // The bench's own network namespace and bridge, for the veth steps; dropped (stopping
    // what runs in it, then deleting it) before `w`.
    let net: Outcome<net::BenchNet> = if network {
        r.step(
            "network",
            &format!(
                "network namespace {} with bridge {} for the veth steps",
                w.tag,
                net::BRIDGE
            ),
            || net::BenchNet::create(&w),
        )
        .into()
    } else {
        Outcome::Skipped(NOT_SELECTED.into())
    };
    let no_net = match &net {
        Outcome::Failed(why) => format!("no network namespace: {why}"),
        _ => "no network namespace".to_string(),
    };
    interrupted()?;
    let veth = match (&both, net.measured()) {
        _ if !sel.has("veth") => Outcome::Skipped(NOT_SELECTED.into()),
        (Ok((rs, lxc)), Some(n)) => step(
            &mut r,
            &sel,
            "veth",
            &format!(
                "lxc-rs execute and lxc-execute with one veth on {}, in {}",
                net::BRIDGE,
                n.name
            ),
            || lifecycle::veth(rs, lxc, n, &w.path("veth.json")),
        ),
        (_, None) => Outcome::Failed(no_net.clone()),
        (Err(why), _) => Outcome::Skipped(why.clone()),
    };
    interrupted()?;
    let memory = step(
        &mut r,
        &sel,
        "memory",
        &format!("peak RSS, {} lifecycles each", memory::RUNS),
        || memory::measure(&rts, &left_out, &w.path("memory")),
    );
    interrupted()?;
    let scale = step(
        &mut r,
        &sel,
        "scale",
        &format!(
            "{} busybox containers started at once then stopped at once, {} rounds, lxc-rs \
             and LXC",
            scale::CONTAINERS,
            scale::ROUNDS
        ),
        || scale::measure(&w),
    );
    interrupted()?;
    let scale_veth = step(
        &mut r,
        &sel,
        "scale-veth",
        &format!(
            "{} containers with one veth each started at once, links checked, stopped at \
             once, {} rounds, then destroyed at once; lxc-rs and LXC",
            scale::CONTAINERS,
            scale::ROUNDS
        ),
        || scale::measure_veth(&w, net.measured().ok_or_else(|| fail(no_net.clone()))?),
    );
    interrupted()?;
    let config_load = step(
        &mut r,
        &sel,
        "micro",
        &format!("load a {}-line config, lxc-rs and liblxc", micro::LINES),
        || micro::config_load(&w.path("micro"), &built.config_load),
    );
    interrupted()?;
    let ext = micro::extensions(&built.lxc_rs);
    let console_log = match &ext {
        _ if !sel.has("console") => Outcome::Skipped(NOT_SELECTED.into()),
        Ok(ext) if ext.iter().any(|e| e == "console_log") => step(
            &mut r,
            &sel,
            "console",
            &format!(
                "ring buffer throughput; {} MiB to the console, lxc-rs and LXC",
                console::MIB
            ),
            || console::measure(&w, &built.console_ring),
        ),
        Ok(_) => Outcome::Skipped("console_log not in this build".into()),
        Err(e) => Outcome::Failed(e.to_string()),
    };
    interrupted()?;
    let rs_skip = match &ext {
        Ok(ext) if ext.iter().any(|e| e == "seccomp_notify") => None,
        Ok(_) => Some("seccomp_notify not in this build".to_string()),
        Err(e) => Some(e.to_string()),
    };
    let seccomp_notify = step(
        &mut r,
        &sel,
        "seccomp-notify",
        &format!(
            "{} x {} mknodat sent to a proxy, lxc-rs and LXC",
            seccomp::ROUNDS,
            seccomp::CALLS
        ),
        || seccomp::notify(&w, rs_skip),
    );
    interrupted()?;
    let seccomp_policy = match &both {
        _ if !sel.has("seccomp-policy") => Outcome::Skipped(NOT_SELECTED.into()),
        Ok((rs, lxc)) => step(
            &mut r,
            &sel,
            "seccomp-policy",
            &format!(
                "lxc-rs execute and lxc-execute with {}",
                seccomp::COMMON_SECCOMP
            ),
            || seccomp::policy(rs, lxc, &w.path("seccomp-policy.json")),
        ),
        Err(why) => Outcome::Skipped(why.clone()),
    };
    interrupted()?;
    let sizes: Vec<String> = fleet::SIZES
        .iter()
        .map(|(n, rounds)| format!("{n} ({rounds} rounds)"))
        .collect();
    let fleet = step(
        &mut r,
        &sel,
        "fleet",
        &format!(
            "idle containers (minimal init) started at once, checked, stopped at once: {}; \
             lxc-rs and LXC",
            sizes.join(", ")
        ),
        || fleet::measure(&w),
    );
    interrupted()?;
    let scale1000 = step(
        &mut r,
        &sel,
        "scale1000",
        &format!(
            "{} idle containers per runtime started {} at a time, PSS of the runtime's own \
             processes, stopped; lxc-rs then LXC",
            scale1000::WANTED,
            scale1000::BATCH
        ),
        || scale1000::measure(&w),
    );

    interrupted()?;
    let mut report = Report {
        command: match &sel.0 {
            None => "cargo xtask bench".into(),
            Some(only) => format!("cargo xtask bench --only {}", only.join(",")),
        },
        date: machine::now(),
        machine: machine::machine(load_at_start),
        versions: machine::versions(&built.lxc_rs, &workspace_root()),
        lifecycle_hot: hot,
        lifecycle_cold: cold,
        veth,
        memory,
        scale,
        scale_veth,
        config_load,
        console_log,
        seccomp_notify,
        seccomp_policy,
        phases,
        fleet,
        scale1000,
        verdicts: Vec::new(),
        method: method(),
    };
    report.compute_verdicts();
    r.step(
        "report",
        &format!(
            "report.md, report.json, report.svg in {}",
            out_dir.display()
        ),
        || write_report(&report, &out_dir),
    )?;
    drop(net);
    drop(w);

    println!("{}", report::summary_md(&report));
    println!(
        "Full report: {} (and report.json, report.svg); the bench took {}.",
        out_dir.join("report.md").display(),
        secs(t0.elapsed())
    );
    if report.any_failed() {
        return Err(fail(
            "some measurements or checks failed (see FAILED in the report); the rest were \
             reported",
        ));
    }
    Ok(())
}

fn write_report(report: &Report, dir: &Path) -> Result<()> {
    setup::mkdir(dir)?;
    let json = serde_json::to_string_pretty(report)
        .map_err(|e| fail(format!("cannot serialize the report: {e}")))?;
    setup::write(&dir.join("report.json"), &json)?;
    setup::write(&dir.join("report.md"), &report::full_md(report))?;
    const LIFECYCLE: &str = "ms per lifecycle: start, run /bin/true, clean up";
    let mut panels: Vec<Panel<'_>> = Vec::new();
    if let Some(t) = report.lifecycle_hot.measured() {
        panels.push(Panel {
            title: "Lifecycle, hot: back to back",
            x_desc: LIFECYCLE,
            table: t,
        });
    }
    if let Some(t) = report.lifecycle_cold.measured() {
        panels.push(Panel {
            title: "Lifecycle, cold: 0.5 s idle before each run",
            x_desc: LIFECYCLE,
            table: t,
        });
    }
    // Sub-tables of the idle steps, one unit per panel.
    let pick = |t: &Table, part: &str| Table {
        rows: t
            .rows
            .iter()
            .filter(|r| r.name.ends_with(part))
            .cloned()
            .collect(),
        notes: Vec::new(),
    };
    let fleet = report
        .fleet
        .measured()
        .map(|f| pick(&f.table, ", starts + stops"));
    if let Some(t) = &fleet {
        panels.push(Panel {
            title: "Idle fleets (minimal init): all started at once, then all stopped at once",
            x_desc: "s for the start wave plus the stop wave",
            table: t,
        });
    }
    let thousand = report.scale1000.measured().map(|s| {
        let mut waves = pick(&s.table, ", starts");
        waves.rows.extend(pick(&s.table, ", stops").rows);
        (pick(&s.table, ", PSS per container"), waves)
    });
    if let Some((pss, waves)) = &thousand {
        panels.push(Panel {
            title: "Idle containers by the thousand: host memory of the runtime's own processes",
            x_desc: "MiB of PSS per container (monitors and helpers, not the inits)",
            table: pss,
        });
        panels.push(Panel {
            title: "Idle containers by the thousand: all starts and all stops, 50 at a time",
            x_desc: "s for all the starts / all the stops",
            table: waves,
        });
    }
    if panels.is_empty() {
        return Ok(());
    }
    chart::write_svg(&dir.join("report.svg"), &panels)
}

/// How each figure was made, for the report's last section.
fn method() -> Vec<String> {
    [
        "Containers: lxc-rs's from `lxc-rs create -t busybox`, LXC's from `lxc-create -t busybox -f <empty file>` (so /etc/lxc/default.conf adds no network); both templates write the same config (mount.auto cgroup:mixed proc:mixed sys:ro, autodev, 7 mount entries, 5 ttys, no network). The OCI bundle is `runc spec` with process.args [\"/bin/true\"], terminal false, root = lxc-rs's busybox rootfs read-write, and the spec's own namespaces (mount pid uts ipc network), mounts, masked paths and capabilities.",
        "Lifecycle: `hyperfine -N` (no shell for any row), all rows in one invocation; hot = 3 warm-up runs then 40 runs back to back; cold = 1 warm-up then 12 runs with `--prepare 'sleep 0.5'` (an idle gap before each run). lxc-rs / LXC run `execute -- /bin/true` or `start -F -- /bin/true`; `runc run` and `crun run` delete their container on exit, so one fixed id each serves every run and no wrapper is needed to make ids unique.",
        "crun 1.8 refuses this host's hybrid cgroup layout, so it runs as `unshare -m sh -c 'mount -t tmpfs none /sys/fs/cgroup/unified && exec crun run ...'` (the mount is private to that namespace). `crun wrapper alone` times that wrapper running `true`; `crun run (minus wrapper)` subtracts its median from each crun sample, and is the crun figure the targets use.",
        "Floor: `unshare --mount --pid --uts --ipc --net --fork chroot ROOTFS /bin/true`: the same namespaces and rootfs, no cgroups, mounts, devices or security set-up.",
        "The bench's network: a network namespace `lxcrs-bench-<pid>` (ip netns add) with a bridge `lxcrs-bench-br`, standing in for the host; every veth is made in there and the machine's own interfaces are never touched. A sysfs mounted from inside it at `<work dir>/netns-sysfs` lists its links. Commands that start a veth container run as `nsenter --net=/run/netns/NS unshare -m sh -c 'mount --bind SYSFS/class/net /sys/class/net && mount --bind SYSFS/devices/virtual/net /sys/devices/virtual/net && exec \"$@\"' sh COMMAND...`: LXC looks for the bridge under /sys/class/net, which shows the namespace of whoever mounted sysfs; `ip netns exec` remounts all of /sys and so hides the cgroup hierarchies, and a fresh sysfs on /sys per command (cgroups moved aside and back) made lxc-rs's veth starts spend 6-9 ms more in HostSetup than under `nsenter --net` alone, which the bind mounts do not. The mounts are private to that command. lxc-rs does not need them, but runs in the same wrapper so both runtimes are timed alike. Stops, `info`, `ls` and destroys run under `nsenter --net` alone (the command sockets are abstract, so per network namespace). At the end, also on failure or Ctrl-C, whatever of ours still runs in the namespace is stopped, the sysfs unmounted and the namespace deleted.",
        "One veth: `lxc-rs execute` and `lxc-execute` of /bin/true with and without `-s lxc.net.0.type=veth -s lxc.net.0.link=lxcrs-bench-br -s lxc.net.0.flags=up -s lxc.net.0.hwaddr=00:16:3e:xx:xx:xx` (/etc/lxc/default.conf's kind of veth, on the bench's bridge), all four rows in the wrapper above, plus lxc-rs's two rows under `nsenter --net` alone, 40 runs each, in 4 hyperfine invocations of 10 runs (after 1 warm-up) with the rows' order rotated each time, so a load that changes during the step (other work on a shared machine) falls on every row alike; added time = median with veth minus median without, per runtime (the target uses the wrapped rows, the same environment as LXC's). Before timing, each runtime runs once with `ip link show eth0 | grep -q ,UP` as the command (both refuse to start when they cannot attach the host end to the bridge). `netns wrapper alone` times the wrapper running `true`. lxc-rs's rows are left out, with its error, when that first run fails.",
        "Peak memory: `/usr/bin/time -f %M` around one lifecycle, 10 times per row, rows interleaved. %M is wait4's ru_maxrss for time's child: the largest max RSS among that process and the descendants reaped inside its tree (not a sum). Every row keeps its processes in that tree (the lxc-rs and LXC commands are the monitor and reap init; runc and crun run as subreapers), so each row's largest process is counted; a daemon reaped outside the tree would not be.",
        "50 busybox containers: per runtime, 50 copies of its busybox container's config (only lxc.uts.name differs; no network; busybox init) over its one rootfs. Start wave: 50 `lxc-rs start` / `lxc-start -d` at once, until all have exited (both return once the container runs). Stop wave: 50 `stop -k` at once (both return once it has stopped). Total = both waves; 3 rounds, alternating which runtime goes first. No target: busybox's boot weighs on both runtimes alike; the concurrency target is on the idle fleets.",
        "Idle fleets: per runtime, containers under an lxcpath of their own, each the runtime's busybox config over its one rootfs with `lxc.init.cmd = /<tag>-idle` (a static C program, cc -O2 -static, that waits in pause(2) and exits on SIGTERM, SIGINT, SIGPWR, SIGUSR1) and `lxc.tty.max = 0` (nothing uses a tty; 1000 containers with 5 would need more ptys than the kernel gives containers). A round: N `lxc-rs start` / `lxc-start -d` at once (the start wave, until all have exited); `lxc-rs ls --running` / `lxc-ls -1 --running` must list all N; the running ones get `stop -k` at once (the stop wave); then, waiting up to 10 s, nothing may be left: no container listed running, no process whose command line names the lxcpath or descends from one of its monitors, no idle init, no cgroup named like the containers. N = 50 (3 rounds) and 200 (2 rounds), alternating which runtime goes first. A round passes when every command succeeded, all N ran and nothing was left.",
        "Idle containers by the thousand: the same idle containers, 1000 per runtime (fewer, said in the report, when the machine's free memory, pid_max, threads-max, ptys for containers, root_maxkeys or open files have no room), lxc-rs's first, then LXC's, never both at once. Starts run 50 at a time (a batch at once, the next when all of it has exited); every failure is counted, none stops the run. Once all have returned: the running ones are counted, and PSS (Pss of /proc/PID/smaps_rollup) is summed over the runtime's own processes: every process whose command line names the lxcpath (the monitors' `[lxc monitor] LXCPATH NAME`, lxc-rs's `[lxc-rs cleanup] LXCPATH NAME` helpers) and every other descendant of a monitor, but not the inits (the same program for both); per container = total / containers running. MemAvailable before the starts minus while all run is shown too (everything, kernel and inits included). Then the running ones are stopped 50 at a time and checked as above.",
        "50 veth containers: per runtime, 50 containers each with a `cp -a` copy of its busybox container's rootfs and that container's config plus the same veth as above (type veth, link lxcrs-bench-br, flags up, hwaddr 00:16:3e:xx:xx:xx). Start wave: 50 `start` / `lxc-start -d` at once in the wrapper above; then, untimed, the links: `ip -j -d link show` in the bench's namespace counts the veth host ends on the bridge and up, and for each container `info -p -H` / `lxc-info -p -H` gives its init and `nsenter --net=/proc/PID/ns/net ip -j link show` must show an eth0 that is up whose peer (link_index) is one of those host ends, no two the same. Stop wave: 50 `stop -k` at once; then no veth may be left in the namespace (waiting up to 10 s: a container's namespace and its end of the pair go asynchronously). 3 rounds alternating which runtime goes first, then one destroy wave (50 `destroy` / `lxc-destroy` at once). A round passes when every count is 50 and nothing is left; the links are a pass/fail row, the times are reported only.",
        "Config parsing: a 2000-line config (mount entries, device rules, environment, caps, prlimits, sysctls, hooks, comments). lxc-rs: `Config::load` timed in-process by a release-built helper linking the same extensions as lxc-rs. liblxc: a C program (cc -O2, `pkg-config --cflags --libs lxc`) doing clear_config + load_config on one lxc_container. 9 batches of 50 loads each; a sample is one batch's mean per load.",
        "seccomp notify: the policy `2 / denylist / mknodat notify` and `lxc.seccomp.notify.proxy = unix:<socket>` given with `-s` to `lxc-rs execute` / `lxc-execute` of a static probe (cc -O2 -static) in the busybox container. The proxy is a thread of the bench on a SOCK_SEQPACKET socket, answering each message at once in LXC's layout (seccomp_notify_proxy_msg + seccomp_notif + seccomp_notif_resp, resp = success). The probe makes 100 untimed then 1000 timed mknodat calls on /dev/null/<name>, which the kernel refuses (ENOTDIR: only the proxy's answer returns 0) and times each call alone; 3 runs per runtime after one untimed run, alternating which goes first. The same probe on the host without a filter gives the bare syscall.",
        "seccomp policy: `lxc-rs execute` and `lxc-execute` of /bin/true with and without `-s lxc.seccomp.profile=/usr/share/lxc/config/common.seccomp` (common.conf's policy), in one hyperfine invocation of 30 runs each after 3 warm-ups; added time = median with minus median without.",
        "Phases: 30 `lxc-rs execute` runs (after 2 warm-ups), each with LXC_RS_PHASE_TIMES set to its own file; per phase the median start (ms after the start's timer began) and duration. `outside any phase`: per run, the wall time minus the time covered by at least one phase of either process (the union of the intervals, so nested phases and the monitor's and the child's at the same time count once), then the median; split into the gaps between the first phase's start and the last one's end, and the rest (before the first and after the last: exec, dynamic loading, config load, exit).",
        "Ratios: `lxc-rs / this` divides the lxc-rs row's median (named in brackets) by the row's median: below 1, lxc-rs is faster or smaller.",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}
