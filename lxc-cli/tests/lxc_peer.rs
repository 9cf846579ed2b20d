//! Containers that LXC itself runs: a busybox container defined under an lxcpath (by
//! `lxc-rs create -t busybox`) and started with LXC's own `lxc-start` (Debian's LXC 5.0.2).
//! lxc-rs must see it on LXC's command socket, refuse what would break it (a second start over
//! the same rootfs, destroy, rewriting its config), drive it as LXC's own tools do (stop,
//! freeze, attach, cgroup, wait, console, reboot, through LXC's command protocol), and for
//! what LXC's protocol cannot do, name LXC's tool rather than say "not running".

mod common;

use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr, UnixListener};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};

use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{show, stderr, stdout, TestContainer};

/// LXC's tools are needed to start a container under LXC; without them a test says so.
macro_rules! require_lxc {
    () => {
        require_root!();
        if !common::lxc_tools_present(&["lxc-start", "lxc-stop", "lxc-info"]) {
            eprintln!("skipped: LXC's lxc-start is not installed (apt-get install lxc)");
            return;
        }
    };
}

/// A container started by LXC's `lxc-start`. Dropping it stops it with `lxc-stop -k` first,
/// then lets the [`TestContainer`] destroy it and prove nothing with its name is left.
struct LxcRun {
    t: Option<TestContainer>,
    /// A directory to remove after the container's lxcpath (for lxcpaths made below one).
    outer: Option<PathBuf>,
}

impl LxcRun {
    /// `lxc-rs create -t busybox` in `t`'s lxcpath, then `lxc-start -d` on it, with no network
    /// of the host's (the template's rcS runs udhcpc) and its cgroups below ours.
    fn start(t: TestContainer, outer: Option<PathBuf>) -> LxcRun {
        let o = t.lxc(&["create", "-t", "busybox"]);
        assert!(o.status.success(), "create {}: {}", t.name, show(&o));
        let run = LxcRun { t: Some(t), outer };
        let t = run.t();
        let log = t.lxcpath.join("lxc-start.log");
        let o = common::lxc_tool(
            "lxc-start",
            t,
            &[
                &["-d"][..],
                &common::LXC_START_HERE,
                &["-l", "DEBUG", "-o", log.to_str().unwrap()],
            ]
            .concat(),
        );
        let log_text = || fs::read_to_string(&log).unwrap_or_default();
        assert!(
            o.status.success(),
            "lxc-start {}: {}\nlog:\n{}",
            t.name,
            show(&o),
            log_text()
        );
        let o = common::lxc_tool("lxc-wait", t, &["-s", "RUNNING", "-t", "30"]);
        assert!(
            o.status.success(),
            "lxc-wait RUNNING: {}\nlog:\n{}",
            show(&o),
            log_text()
        );
        run
    }

    fn busybox(test: &str) -> LxcRun {
        LxcRun::start(TestContainer::new(test), None)
    }

    fn t(&self) -> &TestContainer {
        self.t.as_ref().expect("the container")
    }

    /// The init's pid as LXC reports it.
    fn lxc_init_pid(&self) -> i32 {
        let o = common::lxc_tool("lxc-info", self.t(), &["-p", "-H"]);
        let s = stdout(&o);
        s.trim()
            .parse()
            .unwrap_or_else(|_| panic!("lxc-info -p -H: {}", show(&o)))
    }

    /// LXC's state (`lxc-info -s -H`).
    fn lxc_state(&self) -> String {
        stdout(&common::lxc_tool("lxc-info", self.t(), &["-s", "-H"]))
            .trim()
            .to_string()
    }

    /// `lxc-stop -n NAME -P LXCPATH` as the messages spell it, with `tool` instead.
    fn hint(&self, tool: &str) -> String {
        let t = self.t();
        format!("`{tool} -n {} -P {}`", t.name, t.lxcpath.display())
    }
}

impl Drop for LxcRun {
    fn drop(&mut self) {
        if let Some(t) = self.t.take() {
            let _ = common::lxc_tool("lxc-stop", &t, &["-k"]);
            // Its monitor is gone once LXC's socket is.
            let deadline = Instant::now() + Duration::from_secs(10);
            while lxc_socket_listed(&t) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            drop(t);
        }
        if let Some(d) = self.outer.take() {
            let _ = fs::remove_dir_all(&d);
            // LXC's lock directory for the lxcpath, below the outer directory's name.
            if let Ok(rel) = d.strip_prefix("/") {
                let _ = fs::remove_dir_all(Path::new("/run/lxc/lock").join(rel));
            }
        }
    }
}

/// FNV-1a 64, as LXC hashes a socket name that does not fit.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// LXC's command socket name for `t` (without the leading NUL), computed here from LXC's rule.
fn lxc_socket(t: &TestContainer) -> String {
    let key = format!("{}/{}", t.lxcpath.display(), t.name);
    if key.len() + "/command".len() <= 105 {
        format!("{key}/command")
    } else {
        format!("lxc/{:016x}/command", fnv1a(key.as_bytes()))
    }
}

fn lxc_socket_listed(t: &TestContainer) -> bool {
    let want = format!("@{}", lxc_socket(t));
    fs::read_to_string("/proc/net/unix")
        .unwrap_or_default()
        .lines()
        .any(|l| l.split_whitespace().last() == Some(want.as_str()))
}

/// Whether an lxc-rs monitor's socket for `t` exists.
fn lxc_rs_socket_listed(t: &TestContainer) -> bool {
    let want = format!("@lxc-rs/{}/{}/command", t.lxcpath.display(), t.name);
    fs::read_to_string("/proc/net/unix")
        .unwrap_or_default()
        .lines()
        .any(|l| l.contains(&want))
}

fn cmdline(pid: i32) -> String {
    fs::read(format!("/proc/{pid}/cmdline"))
        .map(|b| String::from_utf8_lossy(&b).replace('\0', " "))
        .unwrap_or_default()
}

/// An lxc-rs run that was refused with this message about LXC: exit status 1, but 0 for
/// `start`, which exits 0 for a running container as lxc-start does (nothing is started).
fn assert_lxc_refusal(o: &Output, what: &str, run: &LxcRun, tool: &str, stop_first: bool) {
    let t = run.t();
    let code = if what == "start" { 0 } else { 1 };
    assert_eq!(o.status.code(), Some(code), "{what}: {}", show(o));
    let err = stderr(o);
    let prefix = format!(
        "lxc-rs: {what} {}: container {} is running under LXC (monitor pid ",
        t.name, t.name
    );
    assert!(err.starts_with(&prefix), "{what}: {}", show(o));
    let advice = if stop_first {
        format!(": stop it with {}\n", run.hint(tool))
    } else {
        format!(", not lxc-rs: use {}\n", run.hint(tool))
    };
    assert!(
        err.ends_with(&advice),
        "{what}: want {advice:?}: {}",
        show(o)
    );
    assert!(!err.contains("not running"), "{what}: {}", show(o));
    // The pid named is LXC's monitor: the parent of the init LXC reports.
    let pid: i32 = err[prefix.len()..]
        .split(')')
        .next()
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("{what}: no monitor pid in {err:?}"));
    assert!(
        cmdline(pid).starts_with("[lxc monitor]"),
        "{what}: pid {pid} is {:?}, not LXC's monitor",
        cmdline(pid)
    );
}

#[test]
fn start_destroy_and_config_save_refuse_a_container_lxc_runs() {
    require_lxc!();
    let run = LxcRun::busybox("peer-refuse");
    let t = run.t();
    let init = run.lxc_init_pid();
    let config = fs::read_to_string(t.config_file()).unwrap();

    // A second start over the same rootfs (daemonized, foreground, or as execute).
    for args in [
        &["start"][..],
        &["start", "-F"][..],
        &["execute", "--", "/bin/true"][..],
    ] {
        let o = t.lxc(args);
        assert_lxc_refusal(&o, args[0], &run, "lxc-stop", true);
        assert!(!lxc_rs_socket_listed(t), "{args:?} left an lxc-rs monitor");
    }

    // Destroy, also forced: the rootfs stays.
    for args in [&["destroy"][..], &["destroy", "-f"][..]] {
        let o = t.lxc(args);
        assert_lxc_refusal(&o, "destroy", &run, "lxc-stop", true);
        assert!(t.lxcpath.join(&t.name).join("rootfs/bin/busybox").exists());
    }

    // Saving the container's config file.
    let o = t.lxc(&["config", "set", "lxc.tty.max", "3"]);
    assert_lxc_refusal(&o, "config set", &run, "lxc-stop", true);
    let o = t.lxc(&["config", "clear", "lxc.tty.max"]);
    assert_lxc_refusal(&o, "config clear", &run, "lxc-stop", true);
    assert_eq!(fs::read_to_string(t.config_file()).unwrap(), config);

    // LXC's container ran on untouched, with the same init.
    assert_eq!(run.lxc_state(), "RUNNING");
    assert_eq!(run.lxc_init_pid(), init);

    // Once LXC has stopped it, lxc-rs may destroy it.
    let o = common::lxc_tool("lxc-stop", t, &["-k"]);
    assert!(o.status.success(), "lxc-stop -k: {}", show(&o));
    assert_eq!(t.state(), "STOPPED");
    t.ok(&["destroy"]);
    assert!(!t.config_file().exists());
}

#[test]
fn state_info_and_ls_show_a_container_lxc_runs() {
    require_lxc!();
    let run = LxcRun::busybox("peer-show");
    let t = run.t();
    let init = run.lxc_init_pid();

    assert_eq!(t.state(), "RUNNING (LXC)");

    let info = t.info();
    assert_eq!(info["state"], "RUNNING", "{info}");
    assert_eq!(info["runtime"], "lxc", "{info}");
    assert_eq!(info["pid"], init, "{info}");

    // lxc-info's State line; who runs it only with -v.
    assert!(!t.ok(&["info"]).contains("Runtime:"));
    let text = t.ok(&["info", "-v"]);
    assert!(text.contains("State:          RUNNING\n"), "{text}");
    assert!(
        text.contains(&format!("PID:            {init}\n")),
        "{text}"
    );
    let monitor = text
        .lines()
        .find_map(|l| l.strip_prefix("Runtime:        LXC (monitor pid "))
        .and_then(|r| r.strip_suffix(')'))
        .and_then(|p| p.parse::<i32>().ok())
        .unwrap_or_else(|| panic!("no LXC monitor line in {text}"));
    assert!(
        cmdline(monitor).starts_with("[lxc monitor]"),
        "{}",
        cmdline(monitor)
    );
    // A bare state stays the bare word, for scripts.
    assert_eq!(t.ok(&["info", "-s", "-H"]), "RUNNING\n");

    let p = t.lxcpath_str();
    let o = common::lxc_rs(&["ls", "-P", p, "--json"]);
    let rows: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("ls --json");
    assert_eq!(
        rows,
        serde_json::json!([{"name": t.name, "state": "RUNNING", "runtime": "lxc", "pid": init}])
    );
    let fancy = stdout(&common::lxc_rs(&["ls", "-P", p, "-F", "NAME,STATE,PID"]));
    let row = fancy.lines().nth(1).unwrap_or_default();
    assert_eq!(
        row.split_whitespace().collect::<Vec<_>>(),
        [t.name.as_str(), "RUNNING", "(LXC)", &init.to_string()],
        "{fancy}"
    );
    assert_eq!(
        stdout(&common::lxc_rs(&["ls", "-P", p, "--running"])),
        format!("{}\n", t.name)
    );

    // Frozen by LXC: lxc-rs reports LXC's state.
    let o = common::lxc_tool("lxc-freeze", t, &[]);
    assert!(o.status.success(), "lxc-freeze: {}", show(&o));
    assert_eq!(t.state(), "FROZEN (LXC)");
    let o = common::lxc_tool("lxc-unfreeze", t, &[]);
    assert!(o.status.success(), "lxc-unfreeze: {}", show(&o));
    assert_eq!(t.state(), "RUNNING (LXC)");
}

/// lxc-rs's tools drive a container LXC's monitor runs, through LXC's command protocol, and
/// LXC's tools see what they did: info, ls, wait, attach, freeze and unfreeze (LXC's state
/// clients told), cgroup get and set, and stop -k.
#[test]
fn lxc_rs_tools_drive_a_container_lxc_runs() {
    require_lxc!();
    let run = LxcRun::busybox("peer-drive");
    let t = run.t();
    let init = run.lxc_init_pid();

    // info: the same state and pid as lxc-info's.
    assert_eq!(t.ok(&["info", "-p", "-H"]), format!("{init}\n"));
    // liblxc's may_control: LXC's monitor answers root, so root may control it.
    let c = lxc::Container::new(&t.name, Some(&t.lxcpath)).expect("handle");
    assert!(c.may_control(), "may_control of a container LXC runs");
    let o = common::lxc_tool("lxc-info", t, &["-s", "-p"]);
    assert_eq!(
        t.ok(&["info", "-s", "-p"]),
        stdout(&o),
        "lxc-rs info against lxc-info"
    );

    // ls --fancy --running lists it as running.
    let fancy = stdout(&common::lxc_rs(&[
        "ls",
        "-P",
        t.lxcpath_str(),
        "--fancy",
        "--running",
    ]));
    let row: Vec<&str> = fancy
        .lines()
        .nth(1)
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    assert_eq!(
        row.get(..2),
        Some(&[t.name.as_str(), "RUNNING"][..]),
        "{fancy}"
    );

    // wait: a state it is in returns at once; one it does not reach times out (status 1).
    t.ok(&["wait", "-s", "RUNNING", "-t", "5"]);
    let o = t.lxc(&["wait", "-s", "FROZEN", "-t", "1"]);
    assert_eq!(o.status.code(), Some(1), "{}", show(&o));

    // attach: a command in the container's namespaces, with its exit status.
    assert_eq!(t.ok(&["attach", "--", "hostname"]), format!("{}\n", t.name));
    let o = t.lxc(&["attach", "--", "/bin/sh", "-c", "exit 7"]);
    assert_eq!(o.status.code(), Some(7), "{}", show(&o));
    // The same cgroups as lxc-attach's process.
    let cat = ["--", "/bin/cat", "/proc/self/cgroup"];
    let theirs = common::lxc_tool("lxc-attach", t, &cat);
    assert!(theirs.status.success(), "lxc-attach: {}", show(&theirs));
    assert_eq!(t.ok(&[&["attach"][..], &cat].concat()), stdout(&theirs));

    // freeze / unfreeze: LXC's state, and LXC's own lxc-wait hears the change.
    let lxc_wait = Command::new("lxc-wait")
        .args([
            "-n",
            &t.name,
            "-P",
            t.lxcpath_str(),
            "-s",
            "FROZEN",
            "-t",
            "30",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // lxc-wait registers before the freeze, or finds FROZEN when it asks: both end at 0.
    t.ok(&["freeze"]);
    assert_eq!(run.lxc_state(), "FROZEN");
    assert_eq!(t.state(), "FROZEN (LXC)");
    let o = lxc_wait.wait_with_output().unwrap();
    assert!(o.status.success(), "lxc-wait -s FROZEN: {}", show(&o));
    t.ok(&["wait", "-s", "FROZEN", "-t", "5"]);
    t.ok(&["unfreeze"]);
    assert_eq!(run.lxc_state(), "RUNNING");
    // Thawing a thawed container is no error, as lxc-unfreeze's.
    t.ok(&["unfreeze"]);

    // cgroup: the value lxc-cgroup reads; a value set shows in lxc-cgroup.
    let key = "memory.limit_in_bytes";
    let ours = t.ok(&["cgroup", key]);
    let theirs = stdout(&common::lxc_tool("lxc-cgroup", t, &[key]));
    assert_eq!(
        ours.trim(),
        theirs.trim(),
        "lxc-rs cgroup against lxc-cgroup"
    );
    t.ok(&["cgroup", key, "268435456"]);
    let theirs = stdout(&common::lxc_tool("lxc-cgroup", t, &[key]));
    assert_eq!(theirs.trim(), "268435456");
    let o = t.lxc(&["cgroup", "nosuchcontroller.file"]);
    assert_eq!(o.status.code(), Some(1), "{}", show(&o));

    // start and destroy still refuse; the container ran on with the same init.
    let o = t.lxc(&["start"]);
    assert_lxc_refusal(&o, "start", &run, "lxc-stop", true);
    assert_eq!(run.lxc_init_pid(), init);

    // stop -k: LXC_CMD_STOP; LXC's monitor is gone when it returns.
    t.ok(&["stop", "-k"]);
    assert_eq!(run.lxc_state(), "STOPPED");
    assert!(!lxc_socket_listed(t), "LXC's monitor outlived stop -k");
    let o = t.lxc(&["stop", "-k"]);
    assert_eq!(o.status.code(), Some(2), "not running: {}", show(&o));
}

/// A clean stop (lxc.signal.halt through init's pidfd) and a reboot (lxc.signal.reboot,
/// waited for as liblxc's reboot2) of a container LXC runs; `wait -s STOPPED` sees the stop.
#[test]
fn lxc_rs_reboots_and_stops_a_container_lxc_runs() {
    require_lxc!();
    let run = LxcRun::busybox("peer-reboot");
    let t = run.t();
    let init = run.lxc_init_pid();

    t.ok(&["reboot", "-t", "60"]);
    assert_eq!(run.lxc_state(), "RUNNING");
    let new = run.lxc_init_pid();
    assert_ne!(new, init, "reboot: init is the same");

    let waiter = Command::new(common::BIN)
        .args([
            "wait",
            "-n",
            &t.name,
            "-P",
            t.lxcpath_str(),
            "-s",
            "STOPPED",
        ])
        .args(["-t", "60"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // A shutdown that does not end in time is killed: -t 60 gives busybox's init the time.
    t.ok(&["stop", "-t", "60"]);
    assert_eq!(run.lxc_state(), "STOPPED");
    let o = waiter.wait_with_output().unwrap();
    assert!(o.status.success(), "wait -s STOPPED: {}", show(&o));
}

/// `lxc-rs console` on a container LXC runs: its console through a pty of the test's, a
/// command typed into busybox's shell there, and `Ctrl+a q` to detach.
#[test]
fn lxc_rs_console_reaches_a_container_lxc_runs() {
    require_lxc!();
    let run = LxcRun::busybox("peer-console");
    let t = run.t();
    let pty = nix::pty::openpty(None, None).expect("openpty");
    let mut client = Command::new(common::BIN)
        .args(["console", "-n", &t.name, "-P", t.lxcpath_str(), "-t", "0"])
        .stdin(Stdio::from(pty.slave.try_clone().unwrap()))
        .stdout(Stdio::from(pty.slave.try_clone().unwrap()))
        .stderr(Stdio::from(pty.slave))
        .spawn()
        .expect("run lxc-rs console");
    nix::fcntl::fcntl(
        &pty.master,
        nix::fcntl::FcntlArg::F_SETFL(nix::fcntl::OFlag::O_NONBLOCK),
    )
    .unwrap();
    let mut term = fs::File::from(pty.master);
    let mut screen = Vec::new();
    let mut until = |term: &mut fs::File, want: &str| {
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut buf = [0u8; 1024];
        while !String::from_utf8_lossy(&screen).contains(want) {
            assert!(
                Instant::now() < deadline,
                "no {want:?} in {:?}",
                String::from_utf8_lossy(&screen)
            );
            match term.read(&mut buf) {
                Ok(n) if n > 0 => screen.extend_from_slice(&buf[..n]),
                _ => std::thread::sleep(Duration::from_millis(20)),
            }
        }
    };
    until(&mut term, "Connected to tty 0");
    term.write_all(b"\recho lxcrs-$((6*7))-ok\r").unwrap();
    until(&mut term, "lxcrs-42-ok");
    term.write_all(b"\x01q").unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(s) = client.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > deadline {
            let _ = client.kill();
            panic!("the console did not detach");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "{status:?}");
    assert_eq!(run.lxc_state(), "RUNNING");
}

/// What LXC's command protocol has no request for (the console ring buffer of lxc-rs's
/// console_log here) still names LXC's tool, clearly, rather than "not running".
#[test]
fn what_lxcs_monitor_cannot_do_names_lxcs_tool() {
    require_lxc!();
    let run = LxcRun::busybox("peer-cannot");
    let o = run.t().lxc(&["console-log"]);
    assert_lxc_refusal(&o, "console-log", &run, "lxc-console", false);
}

/// An lxcpath long enough that LXC hashes its socket name: lxc-rs must find the same name.
#[test]
fn a_long_lxcpath_is_found_under_lxcs_hashed_socket_name() {
    require_lxc!();
    let name = format!("lxcrs-t-peer-long-{}", std::process::id());
    let outer = PathBuf::from("/tmp").join(&name);
    let _ = fs::remove_dir_all(&outer);
    let lxcpath = outer.join("d".repeat(90));
    fs::create_dir_all(&lxcpath).unwrap();
    // The run removes the outer directory after the container and its lxcpath.
    let t = TestContainer { name, lxcpath };
    let run = LxcRun::start(t, Some(outer));
    let t = run.t();
    let sock = lxc_socket(t);
    assert!(sock.starts_with("lxc/"), "not hashed: {sock}");
    assert!(lxc_socket_listed(t), "LXC does not listen on @{sock}");
    assert_eq!(t.state(), "RUNNING (LXC)");
    let o = t.lxc(&["start"]);
    assert_lxc_refusal(&o, "start", &run, "lxc-stop", true);
}

/// A listener on LXC's socket name that accepts and never answers must not hang lxc-rs: every
/// question has a deadline. It is still someone running the container, so start refuses.
#[test]
fn a_stuck_listener_on_lxcs_socket_does_not_hang_lxc_rs() {
    require_root!();
    let t = TestContainer::busybox("peer-stuck");
    let addr = SocketAddr::from_abstract_name(lxc_socket(&t).as_bytes()).unwrap();
    let listener = UnixListener::bind_addr(&addr).expect("bind LXC's socket name");

    let run = |args: &[&str]| -> Output {
        let (command, rest) = args.split_first().unwrap();
        let mut child = Command::new(common::BIN)
            .arg(command)
            .args(["-n", &t.name, "-P", t.lxcpath_str()])
            .args(rest)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Far beyond any deadline of ours: only a hang gets here.
        let limit = Instant::now() + Duration::from_secs(60);
        while child.try_wait().unwrap().is_none() {
            if Instant::now() > limit {
                let _ = child.kill();
                panic!("lxc-rs {args:?} hung on a listener that never answers");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        child.wait_with_output().unwrap()
    };

    let o = run(&["state"]);
    assert_eq!(o.status.code(), Some(1), "{}", show(&o));
    assert!(stderr(&o).contains("no response within"), "{}", show(&o));

    // Refused, with status 0 as lxc-start's for a running container.
    let o = run(&["start"]);
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    assert!(
        stderr(&o).contains("is running under LXC (its monitor's pid is unknown): stop it with"),
        "{}",
        show(&o)
    );
    assert!(!lxc_rs_socket_listed(&t));
    drop(listener);

    // With the listener gone, the container is lxc-rs's to start again.
    t.ok(&["start"]);
    assert_eq!(t.state(), "RUNNING");
    assert_eq!(t.info()["runtime"], "lxc-rs");
    t.ok(&["stop", "-k"]);
}

/// Not a test of its own: `a_listener_of_another_user_is_not_taken_for_lxc` runs this test
/// binary as another user with `LXCRS_T_LISTEN` set, and this listens on that abstract name
/// until its stdin closes.
#[test]
fn listener_of_another_user() {
    let Ok(name) = std::env::var("LXCRS_T_LISTEN") else {
        return;
    };
    let addr = SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
    let listener = UnixListener::bind_addr(&addr).expect("bind");
    println!("listening");
    let _ = std::io::stdin().read(&mut [0u8; 1]);
    drop(listener);
}

/// Anyone can bind an abstract name: a process of an unprivileged user who does not own the
/// container, squatting on LXC's socket name, is not taken for LXC's monitor.
#[test]
fn a_listener_of_another_user_is_not_taken_for_lxc() {
    require_root!();
    let t = TestContainer::busybox("peer-squat");
    let mut helper = Command::new(std::env::current_exe().unwrap())
        .args(["listener_of_another_user", "--exact", "--nocapture"])
        .env("LXCRS_T_LISTEN", lxc_socket(&t))
        .uid(65534)
        .gid(65534)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("run the listener as nobody");
    let mut out = BufReader::new(helper.stdout.take().unwrap());
    let listening = out
        .by_ref()
        .lines()
        .map_while(Result::ok)
        .any(|l| l == "listening");
    assert!(listening, "the listener did not start");
    assert!(lxc_socket_listed(&t));

    assert_eq!(t.state(), "STOPPED");
    t.ok(&["start"]);
    assert_eq!(t.state(), "RUNNING");
    assert_eq!(t.info()["runtime"], "lxc-rs");
    t.ok(&["stop", "-k"]);

    drop(helper.stdin.take());
    // Read the helper's last words, so that it is not cut off by a closed pipe.
    let mut rest = String::new();
    let _ = out.read_to_string(&mut rest);
    assert!(helper.wait().unwrap().success(), "{rest}");
}
