//! Running containers, through the `lxc-rs` binary and the `lxc` API: freeze and unfreeze,
//! reboots (asked for from the host, or from inside), many waiters at once, an unprivileged
//! container and attach. Needs root. Run with
//! `cargo test -p lxc-cli --test running -- --test-threads=2`.

mod common;

use std::collections::BTreeSet;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::{show, stderr, stdout, TestContainer};

/// The pids in a cgroup directory's `cgroup.procs`.
fn procs(dir: &Path) -> BTreeSet<i32> {
    let text = fs::read_to_string(dir.join("cgroup.procs"))
        .unwrap_or_else(|e| panic!("{}/cgroup.procs: {e}", dir.display()));
    text.lines().map(|l| l.trim().parse().unwrap()).collect()
}

/// The state letter of /proc/PID/stat (`R`, `S`, `D`, ...): the field after the `(comm)`;
/// `None` once the process is gone.
fn proc_state(pid: i32) -> Option<char> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = &stat[stat.rfind(')').expect("(comm) in stat") + 1..];
    after.trim_start().chars().next()
}

/// Poll `done` every 20 ms until it is true or `within` passed; the last answer.
fn eventually(within: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + within;
    loop {
        if done() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The container's directory in the v1 freezer hierarchy, from `info --json`.
fn freezer_dir(t: &TestContainer) -> Option<PathBuf> {
    let info = t.info();
    info["cgroups"]
        .as_array()
        .expect("cgroups is an array")
        .iter()
        .filter_map(|p| p.as_str())
        .find(|p| p.starts_with("/sys/fs/cgroup/freezer/"))
        .map(PathBuf::from)
}

fn status_field(pid: i32, field: &str) -> String {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .unwrap_or_else(|| panic!("no {field} in /proc/{pid}/status"))
        .trim()
        .to_string()
}

/// The container's monitor: init's parent, checked by its command line.
fn monitor_pid(t: &TestContainer) -> i32 {
    let pid = t.init_pid();
    let monitor: i32 = status_field(pid, "PPid:").parse().unwrap();
    let cmdline = fs::read(format!("/proc/{monitor}/cmdline")).unwrap();
    assert!(
        String::from_utf8_lossy(&cmdline).contains(&t.name),
        "pid {monitor} (init's parent) is not the monitor of {}",
        t.name
    );
    monitor
}

fn open_fds(pid: i32) -> usize {
    fs::read_dir(format!("/proc/{pid}/fd")).unwrap().count()
}

/// A handle on the test's container through the API.
fn api(t: &TestContainer) -> lxc::Container {
    lxc::Container::new(&t.name, Some(&t.lxcpath)).unwrap()
}

#[test]
fn freeze_stops_every_process_and_unfreeze_resumes_them() {
    require_root!();
    let t = TestContainer::busybox("freeze");
    t.ok(&["start"]);
    let Some(freezer) = freezer_dir(&t) else {
        eprintln!("skipped: no v1 freezer hierarchy on this host");
        return;
    };
    let init = t.init_pid();

    t.ok(&["freeze"]);
    assert_eq!(t.state(), "FROZEN");
    assert_eq!(t.info()["state"], "FROZEN");
    assert_eq!(
        fs::read_to_string(freezer.join("freezer.state"))
            .unwrap()
            .trim(),
        "FROZEN"
    );
    assert_eq!(t.ok(&["cgroup", "freezer.state"]).trim(), "FROZEN");
    let pids = procs(&freezer);
    assert!(pids.contains(&init), "init {init} not in {pids:?}");
    // `lxc-rs cgroup` reads the same file through the monitor.
    let via_cli: BTreeSet<i32> = t
        .ok(&["cgroup", "cgroup.procs"])
        .lines()
        .map(|l| l.trim().parse().unwrap())
        .collect();
    assert_eq!(via_cli, pids);
    // Frozen tasks sleep uninterruptibly in the freezer: /proc shows them as D.
    for &p in &pids {
        assert_eq!(proc_state(p), Some('D'), "pid {p} of a frozen container");
    }
    // Freezing twice is not an error.
    t.ok(&["freeze"]);
    assert_eq!(t.state(), "FROZEN");

    t.ok(&["unfreeze"]);
    assert_eq!(t.state(), "RUNNING");
    assert_eq!(
        fs::read_to_string(freezer.join("freezer.state"))
            .unwrap()
            .trim(),
        "THAWED"
    );
    for &p in &pids {
        assert!(
            // (A getty that exits once thawed is not in D either.)
            eventually(Duration::from_secs(5), || proc_state(p) != Some('D')),
            "pid {p} still in D after unfreeze"
        );
    }

    // A frozen container still stops: the stop thaws it for the signal.
    t.ok(&["freeze"]);
    t.ok(&["stop", "-k"]);
    assert_eq!(t.state(), "STOPPED");
    t.assert_nothing_left();

    // Not running: freeze fails with exit status 1 and says so; unfreeze has nothing to
    // thaw and exits 0, as lxc-freeze and lxc-unfreeze.
    let o = t.lxc(&["freeze"]);
    assert_eq!(o.status.code(), Some(1), "{}", show(&o));
    assert!(stderr(&o).contains("is not running"), "{}", show(&o));
    let o = t.lxc(&["unfreeze"]);
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
}

#[test]
fn cgroup_gets_and_sets_items() {
    require_root!();
    let t = TestContainer::busybox("cgroup");
    let o = t.lxc(&["cgroup", "memory.limit_in_bytes"]);
    assert_eq!(o.status.code(), Some(1), "{}", show(&o));
    assert!(stderr(&o).contains("is not running"), "{}", show(&o));

    t.ok(&["start"]);
    t.ok(&["cgroup", "memory.limit_in_bytes", "256M"]);
    assert_eq!(
        t.ok(&["cgroup", "memory.limit_in_bytes"]),
        format!("{}\n", 256 * 1024 * 1024)
    );
    // The file in the container's memory cgroup says the same.
    let info = t.info();
    let memory = info["cgroups"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p.as_str())
        .find(|p| p.starts_with("/sys/fs/cgroup/memory/"))
        .map(PathBuf::from);
    if let Some(dir) = memory {
        let v = fs::read_to_string(dir.join("memory.limit_in_bytes")).unwrap();
        assert_eq!(v.trim(), (256 * 1024 * 1024).to_string());
    }
    let o = t.lxc(&["cgroup", "nonexistent.lxcrs-t-key"]);
    assert_eq!(o.status.code(), Some(1), "{}", show(&o));
    assert!(stderr(&o).contains("nonexistent"), "{}", show(&o));
    // The key is required: a usage error (exit status 1, as LXC's tools).
    let o = t.lxc(&["cgroup"]);
    assert_eq!(o.status.code(), Some(1), "{}", show(&o));
    assert!(stderr(&o).contains("Usage:"), "{}", show(&o));
    t.ok(&["stop", "-k"]);
    t.assert_nothing_left();
}

#[cfg(feature = "reboot2")]
#[test]
fn reboot2_ten_times_in_a_row() {
    require_root!();
    let t = TestContainer::busybox("reboot10");
    t.ok(&["start"]);
    let c = api(&t);
    let mut pids = vec![c.init_pid().unwrap()];
    for i in 0..10 {
        assert!(
            lxc::reboot2(&c, 300).unwrap(),
            "reboot {i} did not complete"
        );
        assert_eq!(c.state(), lxc::State::Running, "after reboot {i}");
        let pid = c.init_pid().unwrap();
        assert!(
            !pids.contains(&pid),
            "reboot {i}: init pid {pid} seen before"
        );
        pids.push(pid);
        assert_eq!(t.init_pid(), pid);
    }
    t.ok(&["stop", "-t", "10"]);
    assert_eq!(t.state(), "STOPPED");
    t.assert_nothing_left();
}

#[cfg(feature = "reboot2")]
#[test]
fn reboot2_without_a_timeout_returns_at_once() {
    require_root!();
    let t = TestContainer::busybox("reboot0");
    t.ok(&["start"]);
    let c = api(&t);
    let old = c.init_pid().unwrap();
    assert!(lxc::reboot2(&c, 0).unwrap());
    // It comes back on its own, with a new init.
    assert!(
        eventually(Duration::from_secs(60), || {
            c.state() == lxc::State::Running && c.init_pid().is_ok_and(|p| p != old)
        }),
        "not running again with a new init after reboot2(0)"
    );
    t.ok(&["stop", "-k"]);
    t.assert_nothing_left();
}

#[test]
fn reboot_from_the_cli_and_from_inside() {
    require_root!();
    let t = TestContainer::busybox("reboot");
    let o = t.lxc(&["reboot"]);
    assert_eq!(
        o.status.code(),
        Some(2),
        "reboot of a stopped container: {}",
        show(&o)
    );
    assert!(stderr(&o).contains("is not running"), "{}", show(&o));

    t.ok(&["start"]);
    let first = t.init_pid();
    t.ok(&["reboot", "-t", "60"]);
    assert_eq!(t.state(), "RUNNING");
    let second = t.init_pid();
    assert_ne!(second, first);

    // lxc-stop's spelling of it.
    t.ok(&["stop", "-r"]);
    assert_eq!(t.state(), "RUNNING");
    let third = t.init_pid();
    assert!(third != second && third != first);

    // From inside: busybox's reboot in the container's pid namespace; it ends with init
    // killed by SIGHUP (reboot(2) there), which the monitor takes as a reboot. Plain `reboot`
    // goes through busybox's init, `-f` calls reboot(2) at once.
    let mut last = third;
    let mut seen = vec![first, second, third];
    for args in [&["reboot"][..], &["reboot", "-f"][..]] {
        let spid = last.to_string();
        // nsenter's child is one of the container's processes: the reboot may kill it (and
        // nsenter passes that on), so its status says nothing.
        let o = Command::new("nsenter")
            .args(["--target", &spid])
            .args(["--mount", "--pid", "--uts", "--ipc", "--net", "--"])
            .arg("/bin/busybox")
            .args(args)
            .output()
            .unwrap();
        let mut now = last;
        assert!(
            eventually(Duration::from_secs(60), || {
                let o = t.lxc(&["info", "--json"]);
                let info: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap_or_default();
                now = info["pid"].as_i64().unwrap_or(0) as i32;
                info["state"] == "RUNNING" && now != 0 && now != last
            }),
            "busybox {args:?} from inside: not running again with a new init ({})",
            show(&o)
        );
        assert_eq!(t.state(), "RUNNING");
        assert!(!seen.contains(&now), "init pid {now} seen before: {seen:?}");
        seen.push(now);
        last = now;
    }
    let fourth = last;

    // -W only asks; the container still comes back.
    t.ok(&["reboot", "-W"]);
    assert!(eventually(Duration::from_secs(60), || {
        t.lxc(&["info", "-p", "-H"]).status.success() && t.init_pid() != fourth
    }));
    t.ok(&["stop", "-k"]);
    t.assert_nothing_left();
}

#[test]
fn fifty_waiters_see_the_stop() {
    require_root!();
    const N: usize = 50;
    let t = TestContainer::busybox("wait50");
    t.ok(&["start"]);
    let monitor = monitor_pid(&t);
    // The monitor's fds once the connections of the commands above are closed: the same
    // count twice, 100 ms apart.
    let before = (0..50)
        .find_map(|_| {
            let a = open_fds(monitor);
            std::thread::sleep(Duration::from_millis(100));
            (open_fds(monitor) == a).then_some(a)
        })
        .expect("the monitor's fd count never settled");
    let c = api(&t);
    let results: Vec<bool> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..N)
            .map(|_| {
                let c = &c;
                s.spawn(move || {
                    c.wait(lxc::State::Stopped, Some(Duration::from_secs(60)))
                        .unwrap()
                })
            })
            .collect();
        // Each registered waiter is one more connection the monitor holds open.
        assert!(
            eventually(Duration::from_secs(30), || open_fds(monitor) >= before + N),
            "the monitor holds {} fds, {before} before the {N} waiters",
            open_fds(monitor)
        );
        let o = t.lxc(&["stop", "-k"]);
        assert!(o.status.success(), "stop: {}", show(&o));
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(results, vec![true; N]);
    assert_eq!(t.state(), "STOPPED");
    t.assert_nothing_left();
}

#[test]
fn ten_waiters_see_the_start() {
    require_root!();
    const N: usize = 10;
    let t = TestContainer::busybox("wait10");
    // Stopped after having run once.
    t.ok(&["start"]);
    t.ok(&["stop", "-k"]);
    assert_eq!(t.state(), "STOPPED");
    let mut waiters: Vec<_> = (0..N)
        .map(|_| {
            Command::new(common::BIN)
                .args(["wait", "-n", &t.name, "-P", t.lxcpath_str()])
                .args(["-s", "RUNNING", "-t", "60"])
                .spawn()
                .unwrap()
        })
        .collect();
    // A waiter that has not yet looked finds it running and is done at once: also right.
    t.ok(&["start"]);
    for (i, w) in waiters.iter_mut().enumerate() {
        let status = w.wait().unwrap();
        assert!(status.success(), "waiter {i}: {status}");
    }
    // Waiting for one of several states, with a timeout that passes.
    let o = t.lxc(&["wait", "-s", "FROZEN|STOPPED", "-t", "1"]);
    assert_eq!(o.status.code(), Some(1), "{}", show(&o));
    assert!(stderr(&o).contains("timed out"), "{}", show(&o));
    t.ok(&["wait", "-s", "FROZEN|RUNNING", "-t", "1"]);
    t.ok(&["stop", "-k"]);
    t.assert_nothing_left();
}

/// LXC's `wait` on a container that is not running yet keeps looking (once a second) until
/// the timeout, as `lxc-rs wait` does.
#[test]
fn api_waiters_for_running_wait_for_the_start() {
    require_root!();
    const N: usize = 10;
    let t = TestContainer::busybox("apiwait");
    let c = api(&t);
    let results: Vec<bool> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..N)
            .map(|_| {
                let c = &c;
                s.spawn(move || {
                    c.wait(lxc::State::Running, Some(Duration::from_secs(60)))
                        .unwrap()
                })
            })
            .collect();
        std::thread::sleep(Duration::from_millis(500));
        t.ok(&["start"]);
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(results, vec![true; N]);
    t.ok(&["stop", "-k"]);
    t.assert_nothing_left();
}

#[test]
fn unprivileged_container_runs_in_its_id_range() {
    require_root!();
    let t = TestContainer::new("unpriv");
    t.ok(&[
        "create",
        "-t",
        "busybox",
        "--idmap",
        "u 0 100000 65536",
        "--idmap",
        "g 0 100000 65536",
    ]);
    // The rootfs belongs to the range on the host.
    let rootfs = t.lxcpath.join(&t.name).join("rootfs");
    let meta = fs::metadata(rootfs.join("bin/busybox")).unwrap();
    assert_eq!((meta.uid(), meta.gid()), (100000, 100000));
    let meta = fs::metadata(&rootfs).unwrap();
    assert_eq!((meta.uid(), meta.gid()), (100000, 100000));

    t.ok(&["start"]);
    assert_eq!(t.state(), "RUNNING");
    let pid = t.init_pid();
    let map = |file: &str| -> Vec<String> {
        fs::read_to_string(format!("/proc/{pid}/{file}"))
            .unwrap()
            .lines()
            .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
            .collect()
    };
    assert_eq!(map("uid_map"), vec!["0 100000 65536"]);
    assert_eq!(map("gid_map"), vec!["0 100000 65536"]);
    // The host sees init as uid 100000 (real, effective, saved, fs).
    let uids: Vec<String> = status_field(pid, "Uid:")
        .split_whitespace()
        .map(str::to_string)
        .collect();
    assert_eq!(uids, vec!["100000"; 4]);
    let gids: Vec<String> = status_field(pid, "Gid:")
        .split_whitespace()
        .map(str::to_string)
        .collect();
    assert_eq!(gids, vec!["100000"; 4]);
    // Its own user namespace.
    assert_ne!(
        fs::read_link(format!("/proc/{pid}/ns/user")).unwrap(),
        fs::read_link("/proc/self/ns/user").unwrap()
    );
    // And it keeps running (its shell and getty start as the mapped root).
    let o = Command::new("nsenter")
        .args([
            "--target",
            &pid.to_string(),
            "--all",
            "--",
            "/bin/busybox",
            "id",
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "nsenter id: {}", show(&o));
    assert!(stdout(&o).starts_with("uid=0"), "{}", show(&o));
    assert_eq!(t.state(), "RUNNING");

    t.ok(&["stop", "-t", "10"]);
    assert_eq!(t.state(), "STOPPED");
    t.assert_nothing_left();
    t.ok(&["destroy"]);
    assert!(!t.lxcpath.join(&t.name).exists());
    t.assert_nothing_left();
}

fn ns_link(pid: &str, ns: &str) -> String {
    fs::read_link(format!("/proc/{pid}/ns/{ns}"))
        .unwrap_or_else(|e| panic!("/proc/{pid}/ns/{ns}: {e}"))
        .display()
        .to_string()
}

#[test]
fn attach_runs_commands_inside() {
    require_root!();
    let t = TestContainer::busybox("attach");
    let o = t.lxc(&["attach", "--", "true"]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "attach to a stopped container: {}",
        show(&o)
    );
    assert!(stderr(&o).contains("is not running"), "{}", show(&o));

    t.ok(&["start"]);
    let init = t.init_pid().to_string();
    assert_eq!(t.ok(&["attach", "--", "id", "-u"]), "0\n");
    assert_eq!(t.ok(&["attach", "--", "hostname"]).trim(), t.name);

    // The exit status is the command's; a signal is 128 + N.
    let o = t.lxc(&["attach", "--", "sh", "-c", "exit 42"]);
    assert_eq!(o.status.code(), Some(42), "{}", show(&o));
    let o = t.lxc(&["attach", "--", "sh", "-c", "kill -9 $$"]);
    assert_eq!(o.status.code(), Some(128 + 9), "{}", show(&o));
    let o = t.lxc(&["attach", "--", "/nonexistent-lxcrs-t-cmd"]);
    assert_eq!(o.status.code(), Some(127), "{}", show(&o));

    // Every namespace is init's.
    let nss = ["mnt", "pid", "uts", "ipc", "net", "cgroup", "user"];
    let script: String = nss
        .iter()
        .map(|n| format!("readlink /proc/self/ns/{n}; "))
        .collect();
    let out = t.ok(&["attach", "--", "sh", "-c", &script]);
    let inside: Vec<&str> = out.lines().collect();
    let init_links: Vec<String> = nss.iter().map(|n| ns_link(&init, n)).collect();
    assert_eq!(inside, init_links);

    // Ids, directory and environment.
    let out = t.ok(&[
        "attach",
        "-u",
        "1000",
        "-g",
        "1001",
        "--cwd",
        "/tmp",
        "--clear-env",
        "-v",
        "LXCRS_T_VAR=yes",
        "--",
        "sh",
        "-c",
        "id -u; id -g; pwd; env | sort",
    ]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(&lines[..3], ["1000", "1001", "/tmp"], "{out}");
    let env = &lines[3..];
    assert!(env.contains(&"LXCRS_T_VAR=yes"), "{out}");
    assert!(env.contains(&"container=lxc"), "{out}");
    assert!(env.iter().any(|l| l.starts_with("PATH=")), "{out}");
    // Nothing of the test's own environment (cargo sets CARGO_* for it).
    assert!(!env.iter().any(|l| l.starts_with("CARGO")), "{out}");

    // The environment is kept by default, and --keep-var keeps one of a cleared one.
    let o = Command::new(common::BIN)
        .args(["attach", "-n", &t.name, "-P", t.lxcpath_str()])
        .args(["--", "sh", "-c", "echo $LXCRS_T_KEPT"])
        .env("LXCRS_T_KEPT", "kept")
        .output()
        .unwrap();
    assert_eq!(stdout(&o), "kept\n", "{}", show(&o));
    let o = Command::new(common::BIN)
        .args(["attach", "-n", &t.name, "-P", t.lxcpath_str()])
        .args(["--clear-env", "--keep-var", "LXCRS_T_KEPT"])
        .args([
            "--",
            "sh",
            "-c",
            "echo $LXCRS_T_KEPT; echo ${HOSTNAME_LXCRS_T:-unset}",
        ])
        .env("LXCRS_T_KEPT", "kept")
        .env("HOSTNAME_LXCRS_T", "host")
        .output()
        .unwrap();
    assert_eq!(stdout(&o), "kept\nunset\n", "{}", show(&o));

    // Only some namespaces: the uts one is the container's, the mount one the host's.
    let out = t.ok(&[
        "attach",
        "-s",
        "UTSNAME",
        "--",
        "sh",
        "-c",
        "hostname; readlink /proc/self/ns/mnt",
    ]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines, [t.name.clone(), ns_link("self", "mnt")]);

    // No command: the container's shell, reading its script from stdin here.
    let mut child = Command::new(common::BIN)
        .args(["attach", "-n", &t.name, "-P", t.lxcpath_str()])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(b"hostname; exit 3\n").unwrap();
    }
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(3), "{}", show(&o));
    assert_eq!(stdout(&o).trim(), t.name);

    // -e's parts (see lxc_attach_flags.rs), spelled as lxc-attach takes them.
    t.ok(&["attach", "-eCAP", "--", "true"]);
    t.ok(&["attach", "-e", "--", "true"]);

    t.ok(&["stop", "-k"]);
    t.assert_nothing_left();
}

/// Where each fd of `pid` points.
fn fd_targets(pid: i32) -> Vec<String> {
    fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .flatten()
        .filter_map(|e| fs::read_link(e.path()).ok())
        .map(|p| p.display().to_string())
        .collect()
}

/// `sh -c script` under `timeout 60`, so that a monitor holding the pipe fails the test
/// instead of hanging it; the output.
fn sh_with_timeout(script: &str) -> std::process::Output {
    Command::new("timeout")
        .args(["60", "sh", "-c", script])
        .output()
        .expect("run sh")
}

#[test]
fn the_daemonised_monitor_keeps_none_of_the_callers_fds() {
    require_root!();
    let t = TestContainer::busybox("fds");
    let lock = t.lxcpath.join("lock");
    let marker = t.lxcpath.join("marker-fd");
    fs::write(&marker, "").unwrap();
    let start = format!("{} start -n {} -P {}", common::BIN, t.name, t.lxcpath_str());

    // `flock LOCK lxc-rs start`: the lock is free again once start returns. An fd of the
    // caller's (7, on a file of its own) is in neither the monitor nor the container's init.
    let o = sh_with_timeout(&format!(
        "flock {} {start} 7<{}",
        lock.display(),
        marker.display()
    ));
    assert!(o.status.success(), "flock ... start: {}", show(&o));
    let o = Command::new("flock")
        .args(["-n", lock.to_str().unwrap(), "true"])
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "the lock is still held after start returned: {}",
        show(&o)
    );
    let monitor = monitor_pid(&t);
    let init = t.init_pid();
    for pid in [monitor, init] {
        let fds = fd_targets(pid);
        let lock_s = lock.display().to_string();
        let marker_s = marker.display().to_string();
        assert!(
            !fds.iter().any(|f| *f == lock_s || *f == marker_s),
            "pid {pid} holds a caller's fd: {fds:?}"
        );
    }
    t.ok(&["stop", "-k"]);
    t.assert_nothing_left();

    // `(lxc-rs start 3>&1) | cat` returns: nothing keeps the pipe open for the container's
    // life. (On failure `timeout` ends it with 124.)
    let o = sh_with_timeout(&format!("({start} 3>&1) | cat"));
    assert_eq!(
        o.status.code(),
        Some(0),
        "start with the pipe on fd 3: {}",
        show(&o)
    );
    assert_eq!(t.state(), "RUNNING");
    t.ok(&["stop", "-k"]);
    t.assert_nothing_left();
}

#[test]
fn start_f_with_close_all_fds_closes_what_it_inherited() {
    require_root!();
    let t = TestContainer::busybox("fdsf");
    let marker = t.lxcpath.join("marker-fd");
    fs::write(&marker, "").unwrap();
    let marker_s = marker.display().to_string();
    // In the foreground the monitor is lxc-rs itself: with -C it closes fd 7 (inherited from
    // the shell) before the start; without it, it keeps it (as lxc-start -F does), while the
    // container's init gets it in neither case.
    for (close, want_in_monitor) in [(true, false), (false, true)] {
        let mut child = Command::new("sh")
            .args([
                "-c",
                &format!(
                    "exec {} start -F {} -n {} -P {} 7<{}",
                    common::BIN,
                    if close { "-C" } else { "" },
                    t.name,
                    t.lxcpath_str(),
                    marker.display()
                ),
            ])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        assert!(
            t.lxc(&["wait", "-s", "RUNNING", "-t", "30"])
                .status
                .success(),
            "not RUNNING"
        );
        let monitor = monitor_pid(&t);
        assert_eq!(
            monitor as u32,
            child.id(),
            "the foreground monitor is lxc-rs"
        );
        let in_monitor = fd_targets(monitor).contains(&marker_s);
        let in_init = fd_targets(t.init_pid()).contains(&marker_s);
        t.ok(&["stop", "-k"]);
        let _ = child.wait();
        assert_eq!(
            in_monitor, want_in_monitor,
            "-C {close}: fd 7 in the monitor"
        );
        assert!(!in_init, "-C {close}: fd 7 reached init");
        t.assert_nothing_left();
    }
}

#[test]
fn a_monitor_killed_while_frozen_leaves_nothing() {
    require_root!();
    let t = TestContainer::busybox("frozenkill");
    t.ok(&["start"]);
    let Some(freezer) = freezer_dir(&t) else {
        eprintln!("skipped: no v1 freezer hierarchy on this host");
        t.ok(&["stop", "-k"]);
        return;
    };
    let init = t.init_pid();
    let pids = procs(&freezer);
    let monitor = monitor_pid(&t);
    t.ok(&["freeze"]);
    assert_eq!(t.state(), "FROZEN");
    // The test started this container, so its monitor is ours to kill.
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(monitor),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    assert!(
        eventually(Duration::from_secs(10), || pids
            .iter()
            .all(|&p| proc_state(p).is_none_or(|s| s == 'Z'))),
        "the container's processes ({pids:?}, init {init}) outlived their killed monitor \
         frozen: {:?}",
        pids.iter().map(|&p| (p, proc_state(p))).collect::<Vec<_>>()
    );
    assert_eq!(t.state(), "STOPPED");
    t.assert_nothing_left();
}

#[test]
fn a_reboot_whose_new_start_fails_says_why() {
    require_root!();
    let t = TestContainer::busybox("rebootfail");
    // A pre-start hook that lets the first start through and fails every later one.
    let hook = t.lxcpath.join("once.sh");
    let mark = t.lxcpath.join("once");
    fs::write(
        &hook,
        format!(
            "#!/bin/sh\n[ -e {0} ] && exit 3\ntouch {0}\n",
            mark.display()
        ),
    )
    .unwrap();
    fs::set_permissions(&hook, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    t.append_config(&format!("lxc.hook.pre-start = {}\n", hook.display()));
    t.ok(&["start"]);
    let o = t.lxc(&["reboot", "-t", "30"]);
    assert_eq!(o.status.code(), Some(1), "{}", show(&o));
    let err = stderr(&o);
    assert!(
        err.contains("lxc.hook.pre-start") && err.contains("exit status: 3"),
        "the reboot's failure does not say why: {}",
        show(&o)
    );
    assert!(!err.contains("within 30 s"), "{}", show(&o));
    assert_eq!(t.state(), "STOPPED");
    t.assert_nothing_left();
}

#[test]
fn attach_to_a_missing_directory_warns_and_runs_in_root() {
    require_root!();
    let t = TestContainer::busybox("attachcwd");
    t.ok(&["start"]);
    let o = t.lxc(&["attach", "--cwd", "/lxcrs-t-nonexistent", "--", "pwd"]);
    assert!(o.status.success(), "{}", show(&o));
    assert_eq!(stdout(&o), "/\n");
    assert!(
        stderr(&o).contains("warning: cannot enter /lxcrs-t-nonexistent in the container"),
        "{}",
        show(&o)
    );
    // No warning when the directory is there.
    let o = t.lxc(&["attach", "--cwd", "/etc", "--", "pwd"]);
    assert_eq!(stdout(&o), "/etc\n", "{}", show(&o));
    assert_eq!(stderr(&o), "", "{}", show(&o));
    t.ok(&["stop", "-k"]);
    t.assert_nothing_left();
}
