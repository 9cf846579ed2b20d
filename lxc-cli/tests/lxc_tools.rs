//! LXC's own tools (Debian's LXC 5.0.2) on a container lxc-rs runs: lxc-rs's monitor serves
//! LXC's command socket too (lxc-core `commands::lxc_server`), so `lxc-info`, `lxc-ls`,
//! `lxc-wait`, `lxc-stop`, `lxc-freeze`, `lxc-unfreeze`, `lxc-attach`, `lxc-cgroup`,
//! `lxc-console` and `lxc-start`'s is-it-running check work on it. Where LXC defines the
//! answer, the same container run by LXC's `lxc-start` is the oracle.

mod common;

use std::io::{Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr, UnixStream};
use std::os::unix::process::CommandExt;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{show, stderr, stdout, TestContainer};

const TOOLS: [&str; 10] = [
    "lxc-info",
    "lxc-ls",
    "lxc-wait",
    "lxc-stop",
    "lxc-freeze",
    "lxc-unfreeze",
    "lxc-attach",
    "lxc-cgroup",
    "lxc-console",
    "lxc-start",
];

macro_rules! require_lxc {
    () => {
        require_root!();
        if !common::lxc_tools_present(&TOOLS) {
            eprintln!("SKIP: LXC's tools are not installed (apt-get install lxc)");
            return;
        }
    };
}

/// `TOOL -n NAME -P LXCPATH ARGS...`, given at most 30 s (a hang fails the test, never
/// blocks it).
fn tool(t: &TestContainer, name: &str, args: &[&str]) -> Output {
    let mut all = vec!["30", name, "-n", &t.name, "-P", t.lxcpath_str()];
    all.extend_from_slice(args);
    Command::new("timeout")
        .args(&all)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("run {name}: {e}"))
}

fn tool_ok(t: &TestContainer, name: &str, args: &[&str]) -> String {
    let o = tool(t, name, args);
    assert!(o.status.success(), "{name} {args:?}: {}", show(&o));
    stdout(&o)
}

/// A busybox container started by lxc-rs.
fn started(test: &str) -> TestContainer {
    let t = TestContainer::busybox(test);
    t.ok(&["start"]);
    assert_eq!(t.state(), "RUNNING");
    t
}

/// Stop lxc-rs's run of `t` and start it under LXC's `lxc-start` instead.
fn restart_under_lxc(t: &TestContainer) {
    t.ok(&["stop", "-k"]);
    let o = common::lxc_tool(
        "lxc-start",
        t,
        &[&["-d"][..], &common::LXC_START_HERE].concat(),
    );
    assert!(o.status.success(), "lxc-start: {}", show(&o));
    tool_ok(t, "lxc-wait", &["-s", "RUNNING", "-t", "20"]);
}

/// Stop LXC's run of `t`; its socket goes with its monitor.
fn stop_under_lxc(t: &TestContainer) {
    tool_ok(t, "lxc-stop", &["-k"]);
}

/// `Key: value` lines of `lxc-info`, in order.
fn info_fields(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}

#[test]
fn info_ls_and_start_see_an_lxc_rs_container() {
    require_lxc!();
    let t = started("lxct-info");
    let pid = t.init_pid();

    let ours = tool_ok(&t, "lxc-info", &[]);
    let f = info_fields(&ours);
    let get = |k: &str| f.iter().find(|(x, _)| x == k).map(|(_, v)| v.clone());
    assert_eq!(get("Name").as_deref(), Some(t.name.as_str()), "{ours}");
    assert_eq!(get("State").as_deref(), Some("RUNNING"), "{ours}");
    assert_eq!(get("PID"), Some(pid.to_string()), "{ours}");
    assert_eq!(
        tool_ok(&t, "lxc-info", &["-s", "-H"]).trim(),
        "RUNNING",
        "lxc-info -s -H"
    );
    let running = tool_ok(&t, "lxc-ls", &["--running"]);
    assert!(running.split_whitespace().any(|n| n == t.name), "{running}");
    let fancy_ours = tool_ok(&t, "lxc-ls", &["--fancy"]);

    // lxc-start sees it running and refuses a second start, as for a container LXC runs.
    let o = tool(&t, "lxc-start", &["-d"]);
    assert!(
        stderr(&o).contains("Container is already running"),
        "lxc-start: {}",
        show(&o)
    );
    assert_eq!(t.init_pid(), pid, "no second instance");
    // lxc-rs itself still calls it its own, and refuses a second start with lxc-start's
    // status for it (0: it runs).
    assert_eq!(t.info()["runtime"], "lxc-rs");
    let o = t.lxc(&["start"]);
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    assert!(stderr(&o).contains("already running"), "{}", show(&o));
    assert!(!stderr(&o).contains("LXC"), "{}", show(&o));

    // The same container under LXC: the same fields in the same order, the same values where
    // they can agree (usage counters and the pid cannot).
    restart_under_lxc(&t);
    let theirs = tool_ok(&t, "lxc-info", &[]);
    let g = info_fields(&theirs);
    let keys = |v: &[(String, String)]| v.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>();
    assert_eq!(keys(&f), keys(&g), "lxc-rs:\n{ours}\nLXC:\n{theirs}");
    for ((k, a), (_, b)) in f.iter().zip(&g) {
        match k.as_str() {
            "PID" => assert!(b.parse::<i32>().is_ok(), "{theirs}"),
            "CPU use" | "BlkIO use" | "Memory use" | "KMem use" => {
                let unit = |s: &str| s.split_whitespace().last().map(str::to_string);
                assert!(unit(a).is_some() && unit(b).is_some(), "{k}: {a} / {b}");
            }
            _ => assert_eq!(a, b, "{k}: lxc-rs:\n{ours}\nLXC:\n{theirs}"),
        }
    }
    let fancy_theirs = tool_ok(&t, "lxc-ls", &["--fancy"]);
    assert_eq!(fancy_ours, fancy_theirs, "lxc-ls --fancy");
    // And lxc-rs still knows a container LXC runs for LXC's.
    assert_eq!(t.info()["runtime"], "lxc");
    stop_under_lxc(&t);
}

#[test]
fn wait_freeze_attach_and_cgroup() {
    require_lxc!();
    let t = started("lxct-ops");
    tool_ok(&t, "lxc-wait", &["-s", "RUNNING", "-t", "5"]);

    tool_ok(&t, "lxc-freeze", &[]);
    assert_eq!(t.state(), "FROZEN", "lxc-rs sees LXC's freeze");
    assert_eq!(tool_ok(&t, "lxc-info", &["-s", "-H"]).trim(), "FROZEN");
    tool_ok(&t, "lxc-unfreeze", &[]);
    assert_eq!(t.state(), "RUNNING");
    // lxc-rs's own freeze and LXC's unfreeze agree on the same freezer.
    t.ok(&["freeze"]);
    assert_eq!(tool_ok(&t, "lxc-info", &["-s", "-H"]).trim(), "FROZEN");
    tool_ok(&t, "lxc-unfreeze", &[]);
    assert_eq!(t.state(), "RUNNING");

    let o = tool(&t, "lxc-attach", &["--", "true"]);
    assert!(o.status.success(), "lxc-attach -- true: {}", show(&o));
    let o = tool(
        &t,
        "lxc-attach",
        &[
            "--",
            "sh",
            "-c",
            "echo out-$((6*7)); cat /proc/1/comm; exit 3",
        ],
    );
    assert_eq!(o.status.code(), Some(3), "{}", show(&o));
    assert_eq!(stdout(&o), "out-42\ninit\n", "{}", show(&o));

    let before = tool_ok(&t, "lxc-cgroup", &["pids.max"]);
    assert_eq!(before.trim(), "max", "lxc-cgroup pids.max");
    tool_ok(&t, "lxc-cgroup", &["pids.max", "77"]);
    assert_eq!(tool_ok(&t, "lxc-cgroup", &["pids.max"]).trim(), "77");
    let o = t.lxc(&["cgroup", "pids.max"]);
    assert_eq!(
        stdout(&o).trim(),
        "77",
        "lxc-rs sees the limit: {}",
        show(&o)
    );

    // lxc-device first checks whether the name is a network interface in pid 1's network
    // namespace; where that is closed to root (this machine), it fails before any request.
    let o = tool(&t, "lxc-device", &["add", "/dev/zero", "/dev/lxcrs-t-zero"]);
    if stderr(&o).contains("/proc/1/ns/net") {
        eprintln!(
            "SKIP lxc-device add: this host refuses /proc/1/ns/net to root: {}",
            stderr(&o)
        );
    } else {
        assert!(o.status.success(), "lxc-device add: {}", show(&o));
        let o = tool(
            &t,
            "lxc-attach",
            &["--", "head", "-c", "1", "/dev/lxcrs-t-zero"],
        );
        assert_eq!(o.stdout, vec![0u8], "{}", show(&o));
    }
}

#[test]
fn wait_across_stop_and_kill() {
    require_lxc!();
    let t = started("lxct-stop");
    let waiter = Command::new("timeout")
        .args(["30", "lxc-wait", "-n", &t.name, "-P", t.lxcpath_str()])
        .args(["-s", "STOPPED"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("lxc-wait");
    // lxc-wait has registered once lxc-rs's monitor counts it (or it returned already).
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline && !lxc_state_client_connected(&t) {
        std::thread::sleep(Duration::from_millis(20));
    }
    tool_ok(&t, "lxc-stop", &["-t", "20"]);
    let o = waiter.wait_with_output().expect("lxc-wait");
    assert!(o.status.success(), "lxc-wait -s STOPPED: {}", show(&o));
    assert_eq!(t.state(), "STOPPED");

    t.ok(&["start"]);
    tool_ok(&t, "lxc-wait", &["-s", "RUNNING", "-t", "5"]);
    tool_ok(&t, "lxc-stop", &["-k"]);
    // lxc-stop -k returns once the monitor is gone, as with LXC.
    assert_eq!(t.state(), "STOPPED");
    let o = tool(&t, "lxc-info", &["-s", "-H"]);
    assert_eq!(stdout(&o).trim(), "STOPPED", "{}", show(&o));
}

/// Whether a client is connected to LXC's socket of `t` (its lxc-wait, here).
fn lxc_state_client_connected(t: &TestContainer) -> bool {
    let want = format!("@{}/{}/command", t.lxcpath.display(), t.name);
    std::fs::read_to_string("/proc/net/unix")
        .unwrap_or_default()
        .lines()
        .filter(|l| l.ends_with(&want))
        .count()
        > 1
}

#[test]
fn console_on_a_tty() {
    require_lxc!();
    let t = started("lxct-con");
    let pty = nix::pty::openpty(None, None).expect("openpty");
    let (master, slave): (OwnedFd, OwnedFd) = (pty.master, pty.slave);
    let slave_raw = slave.as_raw_fd();
    let mut cmd = Command::new("timeout");
    cmd.args([
        "30",
        "lxc-console",
        "-n",
        &t.name,
        "-P",
        t.lxcpath_str(),
        "-t",
        "1",
    ])
    .stdin(Stdio::from(slave.try_clone().unwrap()))
    .stdout(Stdio::from(slave.try_clone().unwrap()))
    .stderr(Stdio::from(slave));
    // SAFETY: between fork and exec only async-signal-safe calls: setsid and an ioctl on an
    // fd the child has.
    unsafe {
        cmd.pre_exec(move || {
            if libc::setsid() < 0 || libc::ioctl(slave_raw, libc::TIOCSCTTY, 0) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = cmd.spawn().expect("lxc-console");
    let mut m = std::fs::File::from(master);
    let read_until = |m: &mut std::fs::File, want: &str, out: &mut String| {
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut buf = [0u8; 4096];
        while Instant::now() < deadline && !out.contains(want) {
            let mut p = [libc::pollfd {
                fd: m.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            }];
            // SAFETY: one valid pollfd for the length given.
            if unsafe { libc::poll(p.as_mut_ptr(), 1, 200) } > 0 {
                match m.read(&mut buf) {
                    Ok(n) if n > 0 => out.push_str(&String::from_utf8_lossy(&buf[..n])),
                    _ => break,
                }
            }
        }
    };
    let mut out = String::new();
    read_until(&mut m, "Connected to tty 1", &mut out);
    m.write_all(b"\r").unwrap();
    read_until(&mut m, "login:", &mut out);
    // Ctrl-a q leaves the console.
    m.write_all(b"\x01q").unwrap();
    let status = child.wait().expect("lxc-console");
    assert!(out.contains("Connected to tty 1"), "{out:?}");
    assert!(
        out.contains(&format!("{} login:", t.name)),
        "getty of tty 1: {out:?}"
    );
    assert!(status.success(), "lxc-console: {status:?} {out:?}");
}

/// One raw request on LXC's socket of `t`: `(ret, datalen)` of the answer, or None when the
/// monitor closed without one. A read timeout fails the test rather than hanging it.
fn raw_request(t: &TestContainer, cmd: i32) -> Option<(i32, i32)> {
    let name = format!("{}/{}/command", t.lxcpath.display(), t.name);
    let addr = SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
    let mut s = UnixStream::connect_addr(&addr).expect("connect to LXC's socket");
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut req = [0u8; 16];
    req[..4].copy_from_slice(&cmd.to_ne_bytes());
    s.write_all(&req).unwrap();
    let mut rsp = [0u8; 16];
    match s.read_exact(&mut rsp) {
        Ok(()) => Some((
            i32::from_ne_bytes(rsp[..4].try_into().unwrap()),
            i32::from_ne_bytes(rsp[4..8].try_into().unwrap()),
        )),
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => None,
        Err(e) => panic!("no answer to command {cmd}: {e}"),
    }
}

/// [`raw_request`] from a thread that runs as uid and gid 65534 (a raw setresuid changes
/// only the calling thread's credentials, which the kernel hands the monitor).
fn raw_request_as_nobody(t: &TestContainer, cmd: i32) -> Option<(i32, i32)> {
    std::thread::scope(|s| {
        s.spawn(|| {
            // SAFETY: plain syscalls with integer arguments, on this thread only.
            unsafe {
                assert_eq!(libc::syscall(libc::SYS_setresgid, 65534, 65534, 65534), 0);
                assert_eq!(libc::syscall(libc::SYS_setresuid, 65534, 65534, 65534), 0);
            }
            raw_request(t, cmd)
        })
        .join()
        .expect("the nobody thread")
    })
}

#[test]
fn unknown_commands_and_strangers_get_lxcs_answers() {
    require_lxc!();
    let t = started("lxct-raw");
    let ours = [
        raw_request(&t, 99),
        raw_request(&t, -1),
        raw_request(&t, 11),
        raw_request_as_nobody(&t, 3),
        raw_request(&t, 3),
    ];
    restart_under_lxc(&t);
    // Not CONSOLE_LOG without data: LXC's monitor reads through the missing data when the
    // container has a console ring buffer.
    let theirs = [
        raw_request(&t, 99),
        raw_request(&t, -1),
        None,
        raw_request_as_nobody(&t, 3),
        raw_request(&t, 3),
    ];
    stop_under_lxc(&t);
    assert_eq!(ours[0], Some((-libc::ENOSYS, 0)), "unknown command");
    assert_eq!(ours[1], Some((-libc::ENOSYS, 0)), "negative command");
    assert_eq!(ours[3], Some((-libc::EPERM, 0)), "a stranger");
    assert_eq!(ours[4], Some((0, 0)), "GET_STATE from root");
    // LXC answers CONSOLE_LOG without data with -EFAULT when the ring buffer is off; lxc-rs
    // does not serve it on LXC's socket and answers as for an unknown command.
    assert_eq!(ours[2], Some((-libc::ENOSYS, 0)));
    for i in [0, 1, 3, 4] {
        assert_eq!(
            ours[i], theirs[i],
            "request {i}: lxc-rs {ours:?} LXC {theirs:?}"
        );
    }
}
