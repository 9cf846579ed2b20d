//! Real containers through the `lxc-rs` binary: create, start, look at them from the host,
//! stop, destroy, and prove that nothing is left. Needs root. Run with
//! `cargo test -p lxc-cli --test lifecycle -- --test-threads=2`.

mod common;

use std::fs;
use std::os::fd::AsRawFd;
use std::process::Command;
use std::time::{Duration, Instant};

use common::{show, stderr, stdout, TestContainer};

fn ns_link(pid: &str, ns: &str) -> String {
    fs::read_link(format!("/proc/{pid}/ns/{ns}"))
        .unwrap_or_else(|e| panic!("/proc/{pid}/ns/{ns}: {e}"))
        .display()
        .to_string()
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

#[test]
fn busybox_starts_isolated_and_stops_clean() {
    require_root!();
    let t = TestContainer::busybox("life");
    assert_eq!(t.state(), "STOPPED");
    t.ok(&["start"]);
    assert_eq!(t.state(), "RUNNING");

    let info = t.info();
    assert_eq!(info["name"], t.name.as_str());
    assert_eq!(info["state"], "RUNNING");
    assert_eq!(
        info["config_file"].as_str().unwrap(),
        t.config_file().to_str().unwrap()
    );
    let cgroups = info["cgroups"].as_array().expect("cgroups is an array");
    assert!(!cgroups.is_empty(), "no cgroup paths in {info}");
    let pid = t.init_pid();
    let spid = pid.to_string();

    // Its own namespaces: none shared with the host (this process).
    for ns in ["mnt", "pid", "uts", "ipc", "net", "cgroup"] {
        assert_ne!(
            ns_link(&spid, ns),
            ns_link("self", ns),
            "init shares the host's {ns} namespace"
        );
    }

    // The hostname is the container's name (lxc.uts.name from the template).
    let o = Command::new("nsenter")
        .args(["--target", &spid, "--uts", "--mount", "hostname"])
        .output()
        .unwrap();
    assert!(o.status.success(), "nsenter hostname: {}", show(&o));
    assert_eq!(stdout(&o).trim(), t.name);

    // lxc.cap.drop = sys_module ... sys_time: gone from the bounding set.
    // Capability numbers from linux/capability.h.
    const CAP_CHOWN: u32 = 0;
    const CAP_SYS_MODULE: u32 = 16;
    const CAP_SYS_TIME: u32 = 25;
    let capbnd = u64::from_str_radix(&status_field(pid, "CapBnd:"), 16).unwrap();
    assert_eq!(capbnd & (1 << CAP_SYS_MODULE), 0, "CapBnd {capbnd:x}");
    assert_eq!(capbnd & (1 << CAP_SYS_TIME), 0, "CapBnd {capbnd:x}");
    assert_ne!(capbnd & (1 << CAP_CHOWN), 0, "CapBnd {capbnd:x}");

    // Its mount table: proc, sysfs and a devpts at /dev/pts.
    let mountinfo = fs::read_to_string(format!("/proc/{pid}/mountinfo")).unwrap();
    let mounts: Vec<(String, String)> = mountinfo
        .lines()
        .filter_map(|l| {
            let (pre, post) = l.split_once(" - ")?;
            let target = pre.split(' ').nth(4)?.to_string();
            let fstype = post.split(' ').next()?.to_string();
            Some((target, fstype))
        })
        .collect();
    for (target, fstype) in [("/proc", "proc"), ("/sys", "sysfs"), ("/dev/pts", "devpts")] {
        assert!(
            mounts.iter().any(|(t, f)| t == target && f == fstype),
            "no {fstype} on {target} in init's mounts:\n{mountinfo}"
        );
    }

    // Inside, it is pid 1, and it is busybox's init.
    let nspid = status_field(pid, "NSpid:");
    assert_eq!(nspid.split_whitespace().last(), Some("1"), "NSpid {nspid}");
    let exe = fs::read_link(format!("/proc/{pid}/exe")).unwrap();
    assert!(
        exe.to_string_lossy().contains("init") || exe.to_string_lossy().contains("busybox"),
        "init runs {}",
        exe.display()
    );

    // A second start starts nothing, says so, and exits 0, as lxc-start.
    let o = t.lxc(&["start"]);
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    assert!(stderr(&o).contains("already running"), "{}", show(&o));

    t.ok(&["stop", "-t", "10"]);
    assert_eq!(t.state(), "STOPPED");
    assert!(
        !std::path::Path::new(&format!("/proc/{pid}")).exists()
            || fs::read_to_string(format!("/proc/{pid}/cmdline")).unwrap_or_default() == "",
        "init {pid} still exists"
    );
    t.assert_nothing_left();

    // Stopping it again: not running is exit status 2, as lxc-stop.
    let o = t.lxc(&["stop"]);
    assert_eq!(o.status.code(), Some(2), "{}", show(&o));
    assert_eq!(
        stderr(&o),
        format!("lxc-rs: stop {0}: {0} is not running\n", t.name)
    );

    t.ok(&["destroy"]);
    assert!(!t.lxcpath.join(&t.name).exists());
    t.assert_nothing_left();
}

#[test]
fn execute_returns_the_command_status() {
    require_root!();
    let t = TestContainer::busybox("exec");
    let o = t.lxc(&["execute", "--", "/bin/true"]);
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    let o = t.lxc(&["execute", "--", "sh", "-c", "exit 7"]);
    assert_eq!(o.status.code(), Some(7), "{}", show(&o));
    // The command's output reaches our stdout: execute gives it this process's stdio.
    let o = t.lxc(&["execute", "--", "hostname"]);
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    assert_eq!(stdout(&o).trim(), t.name);
    assert_eq!(t.state(), "STOPPED");
    t.assert_nothing_left();
}

#[test]
fn execute_without_any_config_is_refused() {
    require_root!();
    // Nothing defined and no -f: lxc-execute refuses ("may crash the host"); so must we,
    // rather than run the command as root on the host's own filesystem.
    let t = TestContainer::new("execnc");
    let marker = t.lxcpath.join("ran");
    let script = format!("touch {}", marker.display());
    let o = t.lxc(&["execute", "--", "sh", "-c", &script]);
    assert_eq!(o.status.code(), Some(1), "{}", show(&o));
    assert!(
        stderr(&o).contains("no configuration file may crash the host"),
        "{}",
        show(&o)
    );
    // `-s` alone is no config either (lxc-execute applies it after the same check).
    let o = t.lxc(&["execute", "-s", "lxc.uts.name=x", "--", "sh", "-c", &script]);
    assert_eq!(o.status.code(), Some(1), "{}", show(&o));
    // Nor does `-s` make an undefined container startable (lxc-start: "No container config
    // specified").
    let o = t.lxc(&[
        "start",
        "-F",
        "-s",
        "lxc.uts.name=x",
        "--",
        "sh",
        "-c",
        &script,
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", show(&o));
    assert!(stderr(&o).contains("is not defined"), "{}", show(&o));
    assert!(!marker.exists(), "the command ran");
    assert!(
        !t.lxcpath.join(&t.name).exists(),
        "execute created {}",
        t.lxcpath.join(&t.name).display()
    );
    t.assert_nothing_left();
}

#[test]
fn init_pidfd_from_another_process_kills_init() {
    require_root!();
    let t = TestContainer::busybox("pidfd");
    t.ok(&["start"]);
    let pid = t.init_pid();

    // This test process did not start the container: it asks the monitor for the pidfd.
    let c = lxc::Container::new(&t.name, Some(&t.lxcpath)).unwrap();
    let pidfd = c.init_pidfd().unwrap();
    let fdinfo = fs::read_to_string(format!("/proc/self/fdinfo/{}", pidfd.as_raw_fd())).unwrap();
    let fd_pid = fdinfo
        .lines()
        .find_map(|l| l.strip_prefix("Pid:"))
        .map(|p| p.trim().to_string());
    assert_eq!(fd_pid, Some(pid.to_string()), "{fdinfo}");

    // SAFETY: pidfd_send_signal on a pidfd we own, no siginfo.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            pidfd.as_raw_fd(),
            libc::SIGKILL,
            std::ptr::null::<libc::siginfo_t>(),
            0,
        )
    };
    assert_eq!(
        rc,
        0,
        "pidfd_send_signal: {}",
        std::io::Error::last_os_error()
    );
    assert!(t.wait_state("STOPPED", Duration::from_secs(10)));
    assert_eq!(t.state(), "STOPPED");
    t.assert_nothing_left();
}

/// `lxc-rs start ARGS` fails, says `cause` in its one error line, and leaves nothing.
fn start_fails(test: &str, args: &[&str], causes: &[&str]) {
    let t = TestContainer::busybox(test);
    let mut full = vec!["start"];
    full.extend_from_slice(args);
    let o = t.lxc(&full);
    assert_eq!(o.status.code(), Some(1), "{}", show(&o));
    let err = stderr(&o);
    let prefix = format!("lxc-rs: start {}: ", t.name);
    assert!(err.starts_with(&prefix), "{}", show(&o));
    for cause in causes {
        assert!(
            err.contains(cause),
            "the error does not say {cause:?}:\n{err}"
        );
    }
    assert_eq!(t.state(), "STOPPED");
    t.assert_nothing_left();
    // The container is still usable afterwards.
    t.ok(&["start"]);
    assert_eq!(t.state(), "RUNNING");
    t.ok(&["stop", "-k"]);
}

#[test]
fn start_fails_on_a_missing_rootfs() {
    require_root!();
    start_fails(
        "norootfs",
        &["-s", "lxc.rootfs.path=/nonexistent-lxcrs-t-rootfs"],
        &["/nonexistent-lxcrs-t-rootfs"],
    );
}

#[test]
fn start_fails_on_a_bad_mount_entry() {
    require_root!();
    start_fails(
        "badmount",
        &["-s", "lxc.mount.entry=/nonexistent/src mnt none bind 0 0"],
        &["lxc.mount.entry", "/nonexistent/src"],
    );
}

#[test]
fn start_fails_on_a_missing_init() {
    require_root!();
    start_fails(
        "noinit",
        &["--", "/nonexistent-init"],
        &["/nonexistent-init"],
    );
}

#[test]
fn start_fails_on_a_bad_cgroup_value() {
    require_root!();
    start_fails(
        "badcg",
        &["-s", "lxc.cgroup.memory.limit_in_bytes=nonsense"],
        &["memory.limit_in_bytes"],
    );
}

#[test]
fn start_fails_when_the_pre_start_hook_fails() {
    require_root!();
    start_fails(
        "prestart",
        &["-s", "lxc.hook.pre-start=/bin/false"],
        &["pre-start", "/bin/false"],
    );
}

#[test]
fn a_failure_from_the_config_file_names_its_line() {
    require_root!();
    let t = TestContainer::busybox("cfgline");
    t.append_config("lxc.mount.entry = /nonexistent/src2 mnt none bind 0 0\n");
    let o = t.lxc(&["start"]);
    assert_eq!(o.status.code(), Some(1), "{}", show(&o));
    let err = stderr(&o);
    let file = t.config_file().display().to_string();
    assert!(err.contains("/nonexistent/src2"), "{err}");
    assert!(
        err.contains(&format!("{file}:")),
        "the error names no {file}:LINE: {err}"
    );
    t.assert_nothing_left();
}

#[test]
fn killing_the_monitor_kills_the_container() {
    require_root!();
    let t = TestContainer::busybox("monkill");
    t.ok(&["start"]);
    let pid = t.init_pid();
    let monitor: i32 = status_field(pid, "PPid:").parse().unwrap();
    let cmdline = fs::read(format!("/proc/{monitor}/cmdline")).unwrap();
    assert!(
        String::from_utf8_lossy(&cmdline).contains(&t.name),
        "pid {monitor} (init's parent) is not this container's monitor"
    );
    // SAFETY: kill(2) on the monitor this test started (checked above by its command line).
    assert_eq!(unsafe { libc::kill(monitor, libc::SIGKILL) }, 0);

    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline
        && (std::path::Path::new(&format!("/proc/{pid}/exe")).exists() || !t.leftovers().is_empty())
    {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(t.state(), "STOPPED");
    t.assert_nothing_left();
}

/// A foreground monitor (`start -F`, `execute`) forks its watchdog once init has run a
/// moment; killed after that, it leaves nothing either.
#[test]
fn killing_a_foreground_monitor_leaves_nothing() {
    require_root!();
    let t = TestContainer::busybox("fgkill");
    let mut fg = Command::new(common::BIN)
        .args([
            "execute",
            "-n",
            &t.name,
            "-P",
            t.lxcpath_str(),
            "--",
            "/bin/sleep",
            "600",
        ])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let title = format!("[lxc-rs cleanup] {} {}", t.lxcpath_str(), t.name);
    let deadline = Instant::now() + Duration::from_secs(10);
    let watchdog = loop {
        let found = fs::read_dir("/proc").unwrap().flatten().find(|e| {
            fs::read(e.path().join("cmdline"))
                .is_ok_and(|c| String::from_utf8_lossy(&c).starts_with(&title))
        });
        if let Some(e) = found {
            break e.file_name();
        }
        if Instant::now() > deadline {
            let _ = fg.kill();
            let _ = fg.wait();
            panic!("no watchdog {title:?} within 10 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(
        t.state() == "RUNNING",
        "watchdog {watchdog:?} with a running container"
    );
    // The foreground `lxc-rs` is the monitor, a child of this test.
    fg.kill().unwrap();
    let _ = fg.wait();
    t.assert_nothing_left();
    assert_eq!(t.state(), "STOPPED");
}

#[test]
fn killing_the_monitor_kills_an_init_that_changed_its_uid() {
    require_root!();
    // A uid change clears the parent-death signal: the watchdog must kill init itself.
    let t = TestContainer::busybox("monkilluid");
    t.append_config("lxc.init.uid = 1000\nlxc.init.gid = 1000\n");
    t.ok(&["start", "--", "/bin/sleep", "1000"]);
    let pid = t.init_pid();
    assert_eq!(
        status_field(pid, "Uid:").split_whitespace().next(),
        Some("1000")
    );
    let monitor: i32 = status_field(pid, "PPid:").parse().unwrap();
    let cmdline = fs::read(format!("/proc/{monitor}/cmdline")).unwrap();
    assert!(
        String::from_utf8_lossy(&cmdline).contains(&t.name),
        "pid {monitor} (init's parent) is not this container's monitor"
    );
    // SAFETY: kill(2) on the monitor this test started (checked above by its command line).
    assert_eq!(unsafe { libc::kill(monitor, libc::SIGKILL) }, 0);
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline && std::path::Path::new(&format!("/proc/{pid}/exe")).exists() {
        std::thread::sleep(Duration::from_millis(50));
    }
    let alive = fs::read_to_string(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    if !alive.is_empty() {
        // Leave nothing behind even when failing: this test started it.
        // SAFETY: kill(2) on the container's init this test started.
        unsafe { libc::kill(pid, libc::SIGKILL) };
        panic!("init {pid} ({alive:?}) outlived its killed monitor");
    }
    assert_eq!(t.state(), "STOPPED");
    t.assert_nothing_left();
}

#[test]
fn twenty_containers_start_in_parallel() {
    require_root!();
    const N: usize = 20;
    let ts: Vec<TestContainer> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..N)
            .map(|i| s.spawn(move || TestContainer::busybox(&format!("par{i}"))))
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let outs: Vec<_> = std::thread::scope(|s| {
        let hs: Vec<_> = ts
            .iter()
            .map(|t| s.spawn(move || t.lxc(&["start"])))
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for (t, o) in ts.iter().zip(&outs) {
        assert!(o.status.success(), "start {}: {}", t.name, show(o));
    }
    for t in &ts {
        assert_eq!(t.state(), "RUNNING", "{}", t.name);
    }
    let pids: Vec<i32> = ts.iter().map(|t| t.init_pid()).collect();
    let mut distinct = pids.clone();
    distinct.sort_unstable();
    distinct.dedup();
    assert_eq!(distinct.len(), N, "init pids {pids:?}");

    // `ls` sees them all running.
    let first = &ts[0];
    let o = common::lxc_rs(&["ls", "-P", first.lxcpath_str(), "--running", "--json"]);
    let rows: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(rows[0]["name"], first.name.as_str(), "{rows}");
    assert_eq!(rows[0]["state"], "RUNNING", "{rows}");

    let outs: Vec<_> = std::thread::scope(|s| {
        let hs: Vec<_> = ts
            .iter()
            .map(|t| s.spawn(move || t.lxc(&["stop", "-t", "10"])))
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for (t, o) in ts.iter().zip(&outs) {
        assert!(o.status.success(), "stop {}: {}", t.name, show(o));
        assert_eq!(t.state(), "STOPPED", "{}", t.name);
    }
    for t in &ts {
        t.assert_nothing_left();
    }
}

#[test]
fn an_lxc_created_busybox_container_runs() {
    require_root!();
    if Command::new("lxc-create")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("skipped: LXC's lxc-create is not installed (apt-get install lxc)");
        return;
    }
    let t = TestContainer::new("lxcmade");
    // An empty config: /etc/lxc/default.conf names a bridge and a profile this host lacks.
    let empty = t.lxcpath.join("empty.conf");
    fs::write(&empty, "").unwrap();
    let o = Command::new("lxc-create")
        .args(["-P", t.lxcpath_str(), "-n", &t.name, "-t", "busybox", "-f"])
        .arg(&empty)
        .output()
        .unwrap();
    assert!(o.status.success(), "lxc-create: {}", show(&o));

    t.ok(&["start"]);
    assert_eq!(t.state(), "RUNNING");
    let o = common::lxc_rs(&["ls", "-P", t.lxcpath_str(), "--fancy"]);
    assert!(stdout(&o).contains("RUNNING"), "{}", show(&o));
    t.ok(&["stop"]);
    assert_eq!(t.state(), "STOPPED");
    t.assert_nothing_left();

    let o = Command::new("lxc-destroy")
        .args(["-P", t.lxcpath_str(), "-n", &t.name])
        .output()
        .unwrap();
    assert!(o.status.success(), "lxc-destroy: {}", show(&o));
}

#[test]
fn execute_with_only_a_config_file() {
    require_root!();
    // The config (and rootfs) of one container, run under another name that is not defined.
    let base = TestContainer::busybox("execfb");
    let t = TestContainer::new("execf");
    let cfg = base.config_file();
    let o = t.lxc(&["execute", "-f", cfg.to_str().unwrap(), "--", "hostname"]);
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    // lxc.uts.name comes from the file.
    assert_eq!(stdout(&o).trim(), base.name);
    let o = t.lxc(&[
        "execute",
        "-f",
        cfg.to_str().unwrap(),
        "-s",
        "lxc.uts.name=other",
        "--",
        "hostname",
    ]);
    assert_eq!(stdout(&o).trim(), "other", "{}", show(&o));
    assert!(!t.lxcpath.join(&t.name).exists());
    t.assert_nothing_left();
}

#[test]
fn foreground_wait_and_forced_destroy() {
    require_root!();
    let t = TestContainer::busybox("fgwait");
    // -F: lxc-rs is the monitor; as lxc-start -F, 0 once the container ran, whatever init's
    // own status (execute is the command that returns it).
    let o = t.lxc(&["start", "-F", "--", "/bin/sh", "-c", "exit 5"]);
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    t.assert_nothing_left();

    // lxc-wait waits for a container that is not running yet.
    let mut waiter = Command::new(common::BIN)
        .args(["wait", "-n", &t.name, "-P", t.lxcpath_str()])
        .args(["-s", "RUNNING", "-t", "30"])
        .spawn()
        .unwrap();
    t.ok(&["start"]);
    assert!(waiter.wait().unwrap().success(), "wait -s RUNNING failed");

    // While it runs the leftover check sees it, so "nothing left" means something.
    let left = t.leftovers();
    for what in ["cgroup ", "process ", "socket "] {
        assert!(
            left.iter().any(|l| l.starts_with(what)),
            "no {what}found for a running container: {left:#?}"
        );
    }

    // A running container is not destroyed without --force.
    let o = t.lxc(&["destroy"]);
    assert_eq!(o.status.code(), Some(1), "{}", show(&o));
    assert!(stderr(&o).contains("is running"), "{}", show(&o));
    assert_eq!(t.state(), "RUNNING");

    // Waiting for STOPPED while another process stops it.
    let mut waiter = Command::new(common::BIN)
        .args(["wait", "-n", &t.name, "-P", t.lxcpath_str()])
        .args(["-s", "STOPPED", "-t", "30"])
        .spawn()
        .unwrap();
    t.ok(&["destroy", "--force"]);
    assert!(waiter.wait().unwrap().success(), "wait -s STOPPED failed");
    assert!(!t.lxcpath.join(&t.name).exists());
    t.assert_nothing_left();
}

/// `lxc.namespace.keep`, `lxc.namespace.clone` (with a time namespace) and
/// `lxc.namespace.share.*`: what init's /proc/PID/ns links show.
#[test]
fn namespace_keep_clone_and_share() {
    require_root!();
    let host = |ns: &str| ns_link("self", ns);

    // Keep the host's network namespace. Init is `sleep`, not busybox's init: its rcS would run
    // udhcpc, which must never talk to the host's network.
    let a = TestContainer::busybox("nsa");
    a.append_config("lxc.namespace.keep = net\n");
    a.ok(&["start", "--", "/bin/sleep", "600"]);
    let apid = a.init_pid().to_string();
    assert_eq!(ns_link(&apid, "net"), host("net"), "keep net");
    assert_ne!(ns_link(&apid, "uts"), host("uts"), "uts still new");

    let t = TestContainer::busybox("nst");
    t.append_config("lxc.namespace.clone = mnt pid uts ipc cgroup time\n");
    t.ok(&["start", "--", "/bin/sleep", "600"]);
    let tpid = t.init_pid().to_string();
    assert_ne!(ns_link(&tpid, "time"), host("time"), "new time namespace");
    assert_eq!(
        ns_link(&tpid, "net"),
        host("net"),
        "net not in lxc.namespace.clone"
    );

    // Share the first container's uts namespace by its init's pid, and its ipc namespace by
    // path. (By name needs both in one lxcpath; these fixtures each have their own.)
    let b = TestContainer::busybox("nsb");
    let uts = format!("lxc.namespace.share.uts={apid}");
    let ipc = format!("lxc.namespace.share.ipc=/proc/{tpid}/ns/ipc");
    b.ok(&["start", "-s", &uts, "-s", &ipc]);
    let bpid = b.init_pid().to_string();
    assert_eq!(ns_link(&bpid, "uts"), ns_link(&apid, "uts"), "shared uts");
    assert_eq!(ns_link(&bpid, "ipc"), ns_link(&tpid, "ipc"), "shared ipc");
    assert_ne!(ns_link(&bpid, "mnt"), ns_link(&apid, "mnt"), "own mnt");

    for c in [&b, &t, &a] {
        c.ok(&["stop", "-k"]);
        c.assert_nothing_left();
    }
}

/// Every lxc.hook.* type runs, in LXC's order, with LXC's environment; hooks before pivot_root
/// see the host's filesystem, the `start` hook runs inside the container.
#[test]
fn hooks_run_in_order_with_lxc_environment() {
    require_root!();
    let t = TestContainer::busybox("hooks");
    let log = t.lxcpath.join("hooks.log");
    let host_hook = t.lxcpath.join("hook.sh");
    // Version 0 hooks get "NAME lxc TYPE" as arguments.
    fs::write(
        &host_hook,
        format!(
            "#!/bin/sh\necho \"$3 $1 $2 name=$LXC_NAME cfg=$LXC_CONFIG_FILE \
             mount=$LXC_ROOTFS_MOUNT target=$LXC_TARGET\" >> {}\n",
            log.display()
        ),
    )
    .unwrap();
    let rootfs = t.lxcpath.join(&t.name).join("rootfs");
    // The start hook's path is inside the container; it logs into the container's /tmp.
    fs::write(
        rootfs.join("start-hook.sh"),
        "#!/bin/sh\necho \"$3 $1 pid1=$(cat /proc/1/comm)\" >> /tmp/start-hook.log\n",
    )
    .unwrap();
    for p in [host_hook.clone(), rootfs.join("start-hook.sh")] {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&p, fs::Permissions::from_mode(0o755)).unwrap();
    }
    let h = host_hook.display().to_string();
    t.append_config(&format!(
        "lxc.hook.pre-start = {h}\nlxc.hook.pre-mount = {h}\nlxc.hook.mount = {h}\n\
         lxc.hook.autodev = {h}\nlxc.hook.start-host = {h}\nlxc.hook.start = /start-hook.sh\n\
         lxc.hook.stop = {h}\nlxc.hook.post-stop = {h}\n"
    ));
    t.ok(&["start"]);
    t.ok(&["stop", "-k"]);
    let text = fs::read_to_string(&log).unwrap();
    let order: Vec<&str> = text
        .lines()
        .map(|l| l.split_whitespace().next().unwrap_or(""))
        .collect();
    assert_eq!(
        order,
        [
            "pre-start",
            "pre-mount",
            "mount",
            "autodev",
            "start-host",
            "stop",
            "post-stop"
        ],
        "{text}"
    );
    for line in text.lines() {
        assert!(line.contains(&format!(" {} lxc ", t.name)), "{line}");
        assert!(line.contains(&format!("name={}", t.name)), "{line}");
        assert!(
            line.contains(&format!("cfg={}", t.config_file().display())),
            "{line}"
        );
    }
    let stop = text.lines().find(|l| l.starts_with("stop ")).unwrap();
    assert!(stop.contains("target=stop"), "{stop}");
    let start_log = fs::read_to_string(rootfs.join("tmp/start-hook.log")).unwrap();
    assert!(
        start_log.starts_with(&format!("start {}", t.name)),
        "{start_log}"
    );
    t.assert_nothing_left();
}

/// The child's settings as the command sees them: environment, cwd, ids, a sysctl of its
/// own network namespace, a resource limit, no_new_privs, the hostname.
#[test]
fn execute_applies_the_childs_settings() {
    require_root!();
    let t = TestContainer::busybox("settings");
    t.append_config(
        "lxc.environment = FOO=bar\nlxc.init.cwd = /tmp\nlxc.init.uid = 1000\n\
         lxc.init.gid = 1000\nlxc.sysctl.net.ipv4.ip_forward = 1\n\
         lxc.prlimit.nofile = 1000:2000\nlxc.no_new_privs = 1\n",
    );
    let o = t.lxc(&[
        "execute",
        "--",
        "sh",
        "-c",
        "echo $FOO $(pwd) $(id -u) $(id -g) $(cat /proc/sys/net/ipv4/ip_forward) \
         $(ulimit -n) $(grep NoNewPrivs /proc/self/status | cut -f2) $container",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    assert_eq!(
        stdout(&o).trim(),
        "bar /tmp 1000 1000 1 1000 1 lxc",
        "{}",
        show(&o)
    );
    t.assert_nothing_left();
}

/// `lxc.cgroup.dir.container`, `.container.inner` and `.monitor`: init lives in the inner
/// cgroup, the monitor in its own, and stop removes all of them.
#[test]
fn cgroup_dir_container_inner_and_monitor() {
    require_root!();
    if !lxc::has_api_extension("cgroup_advanced_isolation") {
        eprintln!("skipped: this build lacks cgroup_advanced_isolation, which owns these keys");
        return;
    }
    let t = TestContainer::busybox("cgdirs");
    let outer = format!("{}-payload", t.name);
    let mon = format!("{}-monitor", t.name);
    t.append_config(&format!(
        "lxc.cgroup.dir.container = {outer}\nlxc.cgroup.dir.container.inner = inner\n\
         lxc.cgroup.dir.monitor = {mon}\nlxc.cgroup.pids.max = 100\n"
    ));
    t.ok(&["start"]);
    let pid = t.init_pid();
    let init_cg = fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    let pids_line = init_cg.lines().find(|l| l.contains(":pids:")).unwrap();
    assert!(
        pids_line.ends_with(&format!("/{outer}/inner")),
        "init in the inner cgroup: {init_cg}"
    );
    let monitor = status_field(pid, "PPid:");
    let mon_cg = fs::read_to_string(format!("/proc/{monitor}/cgroup")).unwrap();
    assert!(
        mon_cg
            .lines()
            .any(|l| l.contains(":pids:") && l.ends_with(&format!("/{mon}"))),
        "monitor in its own cgroup: {mon_cg}"
    );
    // The limit is on the outer cgroup.
    let max = fs::read_to_string(format!("/sys/fs/cgroup/pids/{outer}/pids.max")).unwrap();
    assert_eq!(max.trim(), "100");
    t.ok(&["stop", "-k"]);
    for dir in [&outer, &mon] {
        assert!(
            !std::path::Path::new(&format!("/sys/fs/cgroup/pids/{dir}")).exists(),
            "{dir} removed"
        );
    }
    t.assert_nothing_left();
}

/// Init enters its cgroups without the monitor moving it (the move that waits for an RCU
/// grace period after an idle gap): clone3 places it in the cgroup2 one and it writes itself
/// into every cgroup1 one. Checked from the host in every hierarchy, and in the debug log.
#[test]
fn init_enters_its_cgroups_itself() {
    require_root!();
    let t = TestContainer::busybox("cgentry");
    let log = t.lxcpath.join("debug.log");
    t.append_config(&format!(
        "lxc.log.file = {}\nlxc.log.level = DEBUG\n",
        log.display()
    ));
    t.ok(&["start", "--", "/bin/sleep", "600"]);
    let pid = t.init_pid();
    let init_cg = fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    let ours = fs::read_to_string("/proc/self/cgroup").unwrap();
    assert_eq!(init_cg.lines().count(), ours.lines().count(), "{init_cg}");
    let leaf = format!("/lxc.payload.{}", t.name);
    for line in init_cg.lines() {
        assert!(line.ends_with(&leaf), "{line} in {init_cg}");
    }
    let v1 = ours.lines().any(|l| !l.starts_with("0::"));
    let v2 = ours.lines().any(|l| l.starts_with("0::"));
    let text = fs::read_to_string(&log).unwrap();
    let line = text
        .lines()
        .find(|l| l.contains("attached to container cgroups"))
        .unwrap_or_else(|| panic!("no attach line in the log:\n{text}"));
    let want = format!("CgroupEntered {{ into: {v2}, self_moved: {v1} }}");
    assert!(line.contains(&want), "{want} in {line}");
    t.ok(&["stop", "-k"]);
    t.assert_nothing_left();
}

/// Nothing the caller has open reaches the container: init's only fds are its stdio, even
/// when `lxc-rs start` itself inherited extra ones without close-on-exec.
#[test]
fn no_fd_of_the_caller_leaks_into_the_container() {
    require_root!();
    let t = TestContainer::busybox("fdleak");
    // `sh` opens fds 7 and 8 (no O_CLOEXEC) and then execs lxc-rs with them. Init is `sleep`,
    // which opens nothing of its own (busybox init opens files while it boots).
    let cmd = format!(
        "exec 7</etc/hostname 8>>{}/leak; exec {} start -n {} -P {} -- /bin/sleep 600",
        t.lxcpath_str(),
        common::BIN,
        t.name,
        t.lxcpath_str()
    );
    let o = Command::new("/bin/sh").args(["-c", &cmd]).output().unwrap();
    assert!(o.status.success(), "{}", show(&o));
    let pid = t.init_pid();
    let fds: Vec<String> = fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let mut fds: Vec<u32> = fds.iter().map(|f| f.parse().unwrap()).collect();
    fds.sort_unstable();
    assert_eq!(fds, [0, 1, 2], "init's fds: {fds:?}");
    // Its stdio is what LXC 5.0 gives a daemonized init whose console is the host's pty:
    // the container's /dev/null (1:3) on 0-2 (see tests/tty.rs).
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    for fd in 0..3 {
        let m = fs::metadata(format!("/proc/{pid}/fd/{fd}")).unwrap();
        assert!(
            m.file_type().is_char_device() && m.rdev() == libc::makedev(1, 3),
            "init's fd {fd} is not /dev/null: rdev {:#x}",
            m.rdev()
        );
    }
    t.ok(&["stop", "-k"]);
    t.assert_nothing_left();
}

/// The command socket answers root and the container's owner only.
#[test]
fn the_command_socket_refuses_other_users() {
    require_root!();
    let t = TestContainer::busybox("peercred");
    t.ok(&["start"]);
    let o = Command::new("setpriv")
        .args(["--reuid", "65534", "--regid", "65534", "--clear-groups"])
        .arg(common::BIN)
        .args(["info", "-n", &t.name, "-P", t.lxcpath_str(), "--json"])
        .output()
        .unwrap();
    assert!(!o.status.success(), "nobody must be refused: {}", show(&o));
    assert!(
        stderr(&o).contains("permission denied"),
        "the refusal says why: {}",
        show(&o)
    );
    // Root still gets its answer, and the container is unharmed.
    assert_eq!(t.state(), "RUNNING");
    t.ok(&["stop", "-k"]);
    t.assert_nothing_left();
}

#[test]
fn a_signal_the_kernel_does_not_have_never_reaches_a_running_container() {
    require_root!();
    // lxc-stop falls back to a kill when the halt signal cannot be sent; lxc-rs refuses such
    // a config at start (the monitor still kills for a stop signal it cannot send, and answers
    // a shutdown it cannot send with an error naming the key, for the CLI to kill).
    let t = TestContainer::busybox("badhalt");
    let base = fs::read_to_string(t.config_file()).unwrap();
    for key in ["lxc.signal.halt", "lxc.signal.stop", "lxc.signal.reboot"] {
        fs::write(t.config_file(), &base).unwrap();
        let at = append_line(&t, &format!("{key} = 99999"));
        let o = t.lxc(&["start"]);
        assert_eq!(o.status.code(), Some(1), "{}", show(&o));
        assert!(stderr(&o).contains(&at), "want {at} in {}", show(&o));
        assert!(stderr(&o).contains(key), "{}", show(&o));
        assert_eq!(t.state(), "STOPPED");
        t.assert_nothing_left();
    }
}

/// Append `line` to the container's config; its `file:line` as start errors name it.
fn append_line(t: &TestContainer, line: &str) -> String {
    t.append_config(&format!("{line}\n"));
    let n = fs::read_to_string(t.config_file()).unwrap().lines().count();
    format!("{}:{n}", t.config_file().display())
}

#[test]
fn start_errors_name_the_key_and_its_line() {
    require_root!();
    let t = TestContainer::busybox("errline");
    let base = fs::read_to_string(t.config_file()).unwrap();

    // A resource limit the kernel refuses at start (above fs.nr_open: a host limit, which
    // `config check` reports and start leaves to the kernel).
    let nr_open: u64 = fs::read_to_string("/proc/sys/fs/nr_open")
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let at = append_line(&t, &format!("lxc.prlimit.nofile = {}", nr_open + 1));
    let o = t.lxc(&["start"]);
    assert_eq!(o.status.code(), Some(1), "{}", show(&o));
    let want = format!("lxc.prlimit.nofile ({at})");
    assert!(stderr(&o).contains(&want), "want {want:?} in {}", show(&o));
    t.assert_nothing_left();

    // More ttys than the monitor may open fds for.
    fs::write(t.config_file(), &base).unwrap();
    let at = append_line(&t, "lxc.tty.max = 200");
    let o = Command::new("sh")
        .args([
            "-c",
            &format!(
                "ulimit -n 64 && exec {} start -n {} -P {}",
                common::BIN,
                t.name,
                t.lxcpath_str()
            ),
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", show(&o));
    let want = format!("lxc.tty.max ({at})");
    assert!(stderr(&o).contains(&want), "want {want:?} in {}", show(&o));
    t.assert_nothing_left();

    // A hook that fails: its own line, not just the key.
    fs::write(t.config_file(), &base).unwrap();
    append_line(&t, "lxc.hook.pre-start = /bin/true");
    let at = append_line(&t, "lxc.hook.pre-start = /bin/false");
    let o = t.lxc(&["start"]);
    assert_eq!(o.status.code(), Some(1), "{}", show(&o));
    let want = format!("lxc.hook.pre-start ({at})");
    assert!(stderr(&o).contains(&want), "want {want:?} in {}", show(&o));
    assert_eq!(t.state(), "STOPPED");
    t.assert_nothing_left();
}
