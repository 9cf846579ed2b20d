//! LXC's flags, exit codes and output on lxc-rs's subcommands (issue 14, items 3 and 4), each
//! checked on a real busybox container and, where LXC defines the answer, side by side with
//! LXC 5.0.2's own tool on the same container.

mod common;

use std::fs;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use common::{lxc_rs, show, stderr, stdout, TestContainer, LXC_START_HERE};

const TOOLS: [&str; 7] = [
    "lxc-start",
    "lxc-execute",
    "lxc-info",
    "lxc-ls",
    "lxc-freeze",
    "lxc-unfreeze",
    "lxc-stop",
];

/// Whether LXC's tools are here to compare with; says why not when they are not.
fn lxc_here() -> bool {
    let here = common::lxc_tools_present(&TOOLS);
    if !here {
        eprintln!("SKIP: LXC's tools are not installed (apt-get install lxc): no comparison");
    }
    here
}

/// LXC's `tool` on `t`, given at most 60 s (a hang fails, never blocks), stdin closed.
fn lxc(tool: &str, t: &TestContainer, args: &[&str]) -> Output {
    let mut all = vec!["60", tool, "-n", &t.name, "-P", t.lxcpath_str()];
    all.extend_from_slice(args);
    Command::new("timeout")
        .args(&all)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("run {tool}: {e}"))
}

/// Both exit with `want`: lxc-rs's subcommand and LXC's tool, on the same container.
fn same_code(what: &str, rs: &Output, oracle: Option<&Output>, want: i32) {
    assert_eq!(rs.status.code(), Some(want), "lxc-rs {what}: {}", show(rs));
    if let Some(o) = oracle {
        assert_eq!(o.status.code(), Some(want), "LXC's {what}: {}", show(o));
    }
}

#[test]
fn exit_codes_are_lxc_s() {
    require_root!();
    let lxc_ok = lxc_here();
    let t = TestContainer::busybox("flagcodes");
    let run = |tool: &str, args: &[&str]| lxc_ok.then(|| lxc(tool, &t, args));

    // Start of a running container: 0, saying so.
    t.ok(&["start"]);
    let o = t.lxc(&["start"]);
    same_code("start (running)", &o, run("lxc-start", &[]).as_ref(), 0);
    assert!(stderr(&o).contains("already running"), "{}", show(&o));

    // info -c of a key that does not exist: `KEY invalid` on stderr, exit 0.
    let o = t.lxc(&["info", "-c", "lxc.foo"]);
    let oracle = run("lxc-info", &["-c", "lxc.foo"]);
    same_code("info -c lxc.foo", &o, oracle.as_ref(), 0);
    assert_eq!(stderr(&o), "lxc.foo invalid\n", "{}", show(&o));
    if let Some(oracle) = &oracle {
        assert_eq!(stderr(&o), stderr(oracle));
        assert_eq!(stdout(&o), stdout(oracle));
    }
    t.ok(&["stop", "-k"]);

    // Unfreeze of a stopped container: 0; freeze of one: 1.
    let o = t.lxc(&["unfreeze"]);
    same_code(
        "unfreeze (stopped)",
        &o,
        run("lxc-unfreeze", &[]).as_ref(),
        0,
    );
    let o = t.lxc(&["freeze"]);
    same_code("freeze (stopped)", &o, run("lxc-freeze", &[]).as_ref(), 1);

    // start -F whose init exits 5: 0, the container ran.
    let o = t.lxc(&["start", "-F", "--", "/bin/sh", "-c", "exit 5"]);
    let args = [
        &["-F"][..],
        &LXC_START_HERE,
        &["--", "/bin/sh", "-c", "exit 5"],
    ]
    .concat();
    same_code(
        "start -F (init exits 5)",
        &o,
        run("lxc-start", &args).as_ref(),
        0,
    );

    // execute: the command's status; 255 when it cannot be executed at all.
    let o = t.lxc(&["execute", "--", "/bin/sh", "-c", "exit 7"]);
    let args = [&LXC_START_HERE[..], &["--", "/bin/sh", "-c", "exit 7"]].concat();
    same_code(
        "execute (exit 7)",
        &o,
        run("lxc-execute", &args).as_ref(),
        7,
    );
    let o = t.lxc(&["execute", "--", "/lxcrs-t-no-such-command"]);
    let args = [&LXC_START_HERE[..], &["--", "/lxcrs-t-no-such-command"]].concat();
    same_code(
        "execute (missing command)",
        &o,
        run("lxc-execute", &args).as_ref(),
        255,
    );
    assert!(
        stderr(&o).contains("/lxcrs-t-no-such-command"),
        "{}",
        show(&o)
    );

    // Usage errors: 1, with the usage line, nothing done.
    let o = t.lxc(&["info", "--lxcrs-t-bogus"]);
    same_code(
        "info --bogus",
        &o,
        run("lxc-info", &["--lxcrs-t-bogus"]).as_ref(),
        1,
    );
    assert!(stderr(&o).contains("Usage:"), "{}", show(&o));
    let o = t.lxc(&["start", "-p"]);
    same_code(
        "start -p (no FILE)",
        &o,
        run("lxc-start", &["-p"]).as_ref(),
        1,
    );
    // An unknown option is refused, not run as init (it once was: `start -p FILE`).
    let o = t.lxc(&["start", "-Z", "/tmp"]);
    assert_eq!(o.status.code(), Some(1), "{}", show(&o));
    assert_eq!(t.state(), "STOPPED");
    let o = lxc_rs(&["--lxcrs-t-bogus"]);
    assert_eq!(o.status.code(), Some(1), "{}", show(&o));
    // Help is not an error.
    let o = t.lxc(&["start", "--help"]);
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    assert!(stdout(&o).contains("--pidfile"), "{}", show(&o));
    t.assert_nothing_left();
}

#[test]
fn quiet_silences_errors_not_usage() {
    require_root!();
    let t = TestContainer::busybox("flagquiet");
    let o = t.lxc(&["freeze"]);
    assert_eq!(o.status.code(), Some(1), "{}", show(&o));
    assert!(stderr(&o).contains("is not running"), "{}", show(&o));
    // -q: the same failure, the same status, nothing on stderr (LXC's errors are log lines,
    // which -q silences).
    let o = t.lxc(&["freeze", "-q"]);
    assert_eq!(o.status.code(), Some(1), "{}", show(&o));
    assert_eq!(stderr(&o), "", "{}", show(&o));
    let o = t.lxc(&["-q", "stop"]);
    assert_eq!(o.status.code(), Some(2), "{}", show(&o));
    assert_eq!(stderr(&o), "", "{}", show(&o));
    // A usage error still says what is wrong, as LXC's tools do with -q.
    let o = t.lxc(&["info", "-q", "--lxcrs-t-bogus"]);
    assert_eq!(o.status.code(), Some(1), "{}", show(&o));
    assert!(stderr(&o).contains("--lxcrs-t-bogus"), "{}", show(&o));
}

#[test]
fn start_pidfile_and_shared_namespaces() {
    require_root!();
    let t = TestContainer::busybox("flagstart");
    let pidfile = t.lxcpath.join("lxcrs-t-monitor.pid");
    let pf = pidfile.to_str().unwrap();

    // -p: the monitor's pid, the parent of init; removed when the container stops.
    t.ok(&["start", "-p", pf]);
    let text = fs::read_to_string(&pidfile).expect("the pidfile is written");
    let monitor: i32 = text
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("pidfile: {text:?}"));
    let init = t.init_pid();
    let stat = fs::read_to_string(format!("/proc/{init}/stat")).unwrap();
    let ppid: i32 = stat
        .rsplit(')')
        .next()
        .and_then(|r| r.split_whitespace().nth(1))
        .and_then(|p| p.parse().ok())
        .unwrap();
    assert_eq!(ppid, monitor, "init's parent is the monitor of the pidfile");
    t.ok(&["stop", "-k"]);
    assert!(!pidfile.exists(), "the pidfile outlived the container");

    // --share-net/--share-uts PID: init joins that process's namespaces; the others are
    // the container's own.
    let mut holder = Command::new("unshare")
        .args(["--net", "--uts", "sleep", "600"])
        .spawn()
        .expect("unshare");
    let hp = holder.id();
    // unshare execs sleep once the namespaces exist.
    let mut tries = 0;
    while fs::read_link(format!("/proc/{hp}/exe"))
        .map(|p| !p.ends_with("sleep"))
        .unwrap_or(true)
        && tries < 100
    {
        std::thread::sleep(Duration::from_millis(20));
        tries += 1;
    }
    let ns = |pid: u32, n: &str| fs::read_link(format!("/proc/{pid}/ns/{n}")).unwrap();
    let hps = hp.to_string();
    let o = t.lxc(&["start", "--share-net", &hps, "--share-uts", &hps]);
    let started = o.status.success();
    let result = std::panic::catch_unwind(|| {
        assert!(started, "{}", show(&o));
        let init = t.init_pid() as u32;
        assert_eq!(ns(init, "net"), ns(hp, "net"));
        assert_eq!(ns(init, "uts"), ns(hp, "uts"));
        assert_ne!(ns(init, "ipc"), ns(hp, "ipc"));
        assert_ne!(ns(init, "mnt"), ns(hp, "mnt"));
    });
    let _ = t.lxc(&["stop", "-k"]);
    let _ = holder.kill();
    let _ = holder.wait();
    if let Err(e) = result {
        std::panic::resume_unwind(e);
    }
    t.assert_nothing_left();
}

#[test]
fn execute_uid_gid_and_daemon() {
    require_root!();
    let t = TestContainer::busybox("flagexec");
    let o = t.lxc(&[
        "execute",
        "-u",
        "1000",
        "-g",
        "1001",
        "--",
        "/bin/sh",
        "-c",
        "id -u; id -g",
    ]);
    assert!(o.status.success(), "{}", show(&o));
    assert_eq!(stdout(&o), "1000\n1001\n", "{}", show(&o));

    // -d: in the background, 0 once the command runs.
    let o = t.lxc(&["execute", "-d", "--", "/bin/sleep", "600"]);
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    assert_eq!(t.state(), "RUNNING");
    t.ok(&["stop", "-k"]);
    t.assert_nothing_left();
}

/// lxc-info's labels, in order, of each line of `out` (values of usage stats differ from one
/// moment to the next).
fn labels(out: &str) -> Vec<String> {
    out.lines()
        .map(|l| l.get(..15).unwrap_or(l).trim_end().to_string())
        .collect()
}

#[test]
fn info_prints_lxc_info_s_lines() {
    require_root!();
    let lxc_ok = lxc_here();
    let t = TestContainer::busybox("flaginfo");
    t.ok(&["start"]);
    let pid = t.init_pid();

    let out = t.ok(&["info"]);
    let want_start = format!(
        "Name:           {}\nState:          RUNNING\nPID:            {pid}\n",
        t.name
    );
    assert!(out.starts_with(&want_start), "{out}");
    // lxc-rs's extras only when asked for.
    assert!(
        !out.contains("Cgroup:") && !out.contains("Config:"),
        "{out}"
    );
    let verbose = t.ok(&["info", "-v"]);
    assert!(
        verbose.contains("Cgroup:") && verbose.contains("Config:"),
        "{verbose}"
    );
    let stats = t.ok(&["info", "-S"]);
    assert!(stats.starts_with("CPU use:        "), "{stats}");
    assert!(stats.contains(" seconds\n"), "{stats}");
    let raw = t.ok(&["info", "-S", "-H"]);
    let mem = raw
        .lines()
        .find(|l| l.starts_with("Memory use:"))
        .expect("memory line");
    assert!(mem[15..].trim().parse::<u64>().is_ok(), "raw: {raw}");
    assert_eq!(t.ok(&["info", "-p", "-H"]), format!("{pid}\n"));
    assert_eq!(
        t.ok(&["info", "-c", "lxc.uts.name", "-c", "lxc.hook.mount"]),
        format!("lxc.uts.name = {}\nlxc.hook.mount =\n", t.name)
    );

    if lxc_ok {
        for args in [
            &[][..],
            &["-S"],
            &["-S", "-H"],
            &["-s", "-p"],
            &["-p", "-H"],
        ] {
            let o = lxc("lxc-info", &t, args);
            assert!(o.status.success(), "lxc-info {args:?}: {}", show(&o));
            let mine = t.ok(&[&["info"][..], args].concat());
            assert_eq!(labels(&mine), labels(&stdout(&o)), "info {args:?}:\n{mine}");
            let fixed = |s: &str| {
                s.lines()
                    .filter(|l| ["Name:", "State:", "PID:"].iter().any(|p| l.starts_with(p)))
                    .map(str::to_string)
                    .collect::<Vec<_>>()
            };
            assert_eq!(fixed(&mine), fixed(&stdout(&o)), "info {args:?}");
        }
    }
    t.ok(&["stop", "-k"]);
    // Stopped: no PID and no stats, as lxc-info.
    assert_eq!(
        t.ok(&["info"]),
        format!("Name:           {}\nState:          STOPPED\n", t.name)
    );
    t.assert_nothing_left();
}

#[test]
fn ls_filters_and_formats_like_lxc_ls() {
    require_root!();
    let lxc_ok = lxc_here();
    let t = TestContainer::busybox("flagls");
    t.append_config("lxc.group = web\nlxc.group = onboot\n");
    let p = t.lxcpath_str();
    let ls = |args: &[&str]| {
        let o = lxc_rs(&[&["ls", "-P", p][..], args].concat());
        assert!(o.status.success(), "ls {args:?}: {}", show(&o));
        stdout(&o)
    };
    let me = format!("{}\n", t.name);
    let cases: [(&[&str], bool, bool); 12] = [
        // (args, listed when stopped, listed when running)
        (&[], true, true),
        (&["-1"], true, true),
        (&["--stopped"], true, false),
        (&["--running"], false, true),
        (&["--active"], false, true),
        (&["--frozen"], false, false),
        (&["--defined"], true, true),
        (&["-g", "web"], true, true),
        (&["-g", "web,onboot"], true, true),
        (&["-g", "web,db"], false, false),
        (&["lxcrs-t-flagls"], true, true),
        (&["--filter", "^nomatch"], false, false),
    ];
    for running in [false, true] {
        if running {
            t.ok(&["start"]);
        }
        for (args, stopped_in, running_in) in &cases {
            let listed = if running { *running_in } else { *stopped_in };
            let out = ls(args);
            // Not a terminal: the name padded to at least NAME's width, one per line.
            let want = if listed { me.clone() } else { String::new() };
            assert_eq!(
                out.trim_end_matches(' '),
                want,
                "ls {args:?} (running {running})"
            );
            if lxc_ok {
                let mut all = vec!["30", "lxc-ls", "-P", p];
                all.extend_from_slice(args);
                let o = Command::new("timeout").args(&all).output().unwrap();
                assert_eq!(out, stdout(&o), "ls {args:?} vs lxc-ls (running {running})");
            }
        }
    }
    // Frozen: --frozen and --active list it, --running too (lxc-ls counts it as running).
    t.ok(&["freeze"]);
    for args in [
        &["--frozen"][..],
        &["--active"],
        &["--running"],
        &["--frozen", "--active"],
    ] {
        assert_eq!(ls(args), me, "ls {args:?} (frozen)");
    }
    assert_eq!(ls(&["--stopped"]), "");
    let fancy = ls(&["--fancy"]);
    assert!(
        fancy.starts_with("NAME ")
            && fancy.contains("AUTOSTART GROUPS")
            && fancy.contains("UNPRIVILEGED"),
        "{fancy}"
    );
    assert!(
        fancy.contains("onboot, web") || fancy.contains("web, onboot"),
        "{fancy}"
    );
    t.ok(&["unfreeze"]);
    t.ok(&["stop", "-k"]);
    t.assert_nothing_left();
}

#[test]
fn config_set_takes_a_negative_value_without_dashes() {
    require_root!();
    let t = TestContainer::busybox("flagset");
    t.ok(&["config", "set", "lxc.start.order", "-1"]);
    assert_eq!(t.ok(&["config", "get", "lxc.start.order"]), "-1\n");
    let saved = fs::read_to_string(t.config_file()).unwrap();
    assert!(saved.contains("lxc.start.order = -1"), "{saved}");
    // An option-looking value that is not a number is still an unknown option.
    let o = t.lxc(&["config", "set", "lxc.start.order", "-x"]);
    assert_eq!(o.status.code(), Some(1), "{}", show(&o));
    assert!(stderr(&o).contains("Usage:"), "{}", show(&o));
}

/// `stop --nolock` (only with -k, as lxc-stop) and the common `--rcfile` of the tools that take
/// no `-f`: stop, wait, freeze, unfreeze and info load the file instead of the container's
/// config (a file that does not load fails, status 1), cgroup, console and ls accept it.
#[test]
fn stop_nolock_and_the_common_rcfile() {
    require_root!();
    let lxc_ok = lxc_here();
    let t = TestContainer::busybox("flagrc");
    let run = |tool: &str, args: &[&str]| lxc_ok.then(|| lxc(tool, &t, args));
    t.ok(&["start"]);

    // --nolock without -k: refused before anything is done, as lxc-stop refuses it.
    let o = t.lxc(&["stop", "--nolock"]);
    same_code(
        "stop --nolock",
        &o,
        run("lxc-stop", &["--nolock"]).as_ref(),
        1,
    );
    assert!(
        stderr(&o).contains("--nolock may only be used with -k"),
        "{}",
        show(&o)
    );
    assert_eq!(t.state(), "RUNNING");

    // A config of our own: info -c reads it, as lxc-info --rcfile does.
    let rc = t.lxcpath.join("other.conf");
    fs::write(&rc, "lxc.uts.name = from-rcfile\nlxc.tty.max = 3\n").unwrap();
    let rc = rc.to_str().unwrap();
    let args = ["--rcfile", rc, "-c", "lxc.uts.name"];
    let o = t.lxc(&[&["info"][..], &args].concat());
    assert_eq!(stdout(&o), "lxc.uts.name = from-rcfile\n", "{}", show(&o));
    if let Some(theirs) = run("lxc-info", &args) {
        assert_eq!(stdout(&o), stdout(&theirs), "info --rcfile vs lxc-info");
    }
    // Accepted by every tool that controls a running container.
    for args in [
        &["wait", "--rcfile", rc, "-s", "RUNNING", "-t", "5"][..],
        &["freeze", "--rcfile", rc],
        &["unfreeze", "--rcfile", rc],
        &["cgroup", "--rcfile", rc, "pids.max"],
    ] {
        t.ok(args);
    }
    // A file that does not load: status 1, nothing done.
    let missing = t.lxcpath.join("no-such.conf");
    let missing = missing.to_str().unwrap();
    for tool in ["stop", "freeze", "wait"] {
        let mut args = vec![tool, "--rcfile", missing];
        if tool == "wait" {
            args.extend(["-s", "RUNNING"]);
        }
        let o = t.lxc(&args);
        let theirs = run(&format!("lxc-{tool}"), &args[1..]);
        same_code(&format!("{tool} --rcfile missing"), &o, theirs.as_ref(), 1);
        assert!(stderr(&o).contains("Failed to load rcfile"), "{}", show(&o));
    }
    assert_eq!(t.state(), "RUNNING");

    t.ok(&["stop", "-k", "--nolock", "--rcfile", rc]);
    assert_eq!(t.state(), "STOPPED");
    t.assert_nothing_left();
}

/// `attach -c CONTEXT` on a host with no LSM: taken and set nowhere, the command runs, as
/// lxc-attach's LSM driver `nop` does.
#[test]
fn attach_context_on_a_host_without_an_lsm() {
    require_root!();
    let lsm = fs::read_to_string("/sys/kernel/security/lsm").unwrap_or_default();
    if lsm
        .split(',')
        .any(|m| m.trim() == "apparmor" || m.trim() == "selinux")
    {
        eprintln!("SKIP: this host has AppArmor or SELinux ({lsm}): the no-LSM case is elsewhere");
        return;
    }
    let lxc_ok = lxc_here() && common::lxc_tools_present(&["lxc-attach"]);
    let t = TestContainer::busybox("flagctx");
    t.ok(&["start"]);
    let args = ["-c", "unconfined_t", "--", "/bin/sh", "-c", "exit 4"];
    let o = t.lxc(&[&["attach"][..], &args].concat());
    let theirs = lxc_ok.then(|| lxc("lxc-attach", &t, &args));
    same_code("attach -c", &o, theirs.as_ref(), 4);
    t.ok(&["stop", "-k"]);
}

/// `ls --nesting[=NUM]`: containers below a stopped container's rootfs, and inside a running
/// one, `PARENT/NAME` in the list and `\NAME` in the table, to lxc-ls's depth.
#[test]
fn ls_nesting_lists_the_containers_inside() {
    require_root!();
    let lxc_ok = lxc_here();
    let t = TestContainer::busybox("flagnest");
    let p = t.lxcpath_str();
    // Two containers defined inside the outer one's rootfs, under the same lxcpath, and a
    // third inside the first one's rootfs.
    let rootfs = t.lxcpath.join(&t.name).join("rootfs");
    // Reading a config takes a lock under /run, which a real rootfs has; busybox's lacks it.
    fs::create_dir_all(rootfs.join("run")).unwrap();
    let inner = |base: &std::path::Path, name: &str, rootfs: Option<&std::path::Path>| {
        let dir = base.join(p.trim_start_matches('/')).join(name);
        fs::create_dir_all(&dir).unwrap();
        let mut conf = format!("lxc.uts.name = {name}\n");
        if let Some(r) = rootfs {
            conf.push_str(&format!("lxc.rootfs.path = {}\n", r.display()));
        }
        fs::write(dir.join("config"), conf).unwrap();
        dir
    };
    let inner_rootfs = std::path::Path::new(p).join("n1").join("rootfs");
    let n1 = inner(&rootfs, "n1", Some(&inner_rootfs));
    inner(&rootfs, "n2", None);
    inner(&n1.join("rootfs"), "deep", None);
    let n = &t.name;

    let ls = |args: &[&str]| {
        let o = lxc_rs(&[&["ls", "-P", p][..], args].concat());
        assert!(o.status.success(), "ls {args:?}: {}", show(&o));
        stdout(&o)
    };
    let list = format!("{n}\n{n}/n1\n{n}/n1/deep\n{n}/n2\n");
    let cases: [&[&str]; 6] = [
        &["--nesting"],
        &["--nesting", "-1"],
        &["--nesting=1", "-1"],
        &["--nesting", "-f"],
        &["--nesting=1", "-f"],
        &["--nesting", "--fancy", "-1"],
    ];
    // Stopped: found below its rootfs, exactly as lxc-ls lists them.
    assert_eq!(ls(&["--nesting", "-1"]), list);
    assert_eq!(ls(&["--nesting=1", "-1"]), format!("{n}\n{n}/n1\n{n}/n2\n"));
    assert_eq!(
        ls(&["-1"]),
        format!("{n}\n"),
        "no nesting without --nesting"
    );
    let table = ls(&["--nesting", "-f"]);
    let names: Vec<&str> = table
        .lines()
        .skip(1)
        .map(|l| &l[..l.find(" STOPPED").unwrap()])
        .collect();
    assert_eq!(
        names.iter().map(|s| s.trim_end()).collect::<Vec<_>>(),
        [n.as_str(), "\\n1", " \\deep", "\\n2"],
        "{table}"
    );
    if lxc_ok {
        for args in cases {
            let mut all = vec!["30", "lxc-ls", "-P", p];
            all.extend_from_slice(args);
            let o = Command::new("timeout").args(&all).output().unwrap();
            assert_eq!(ls(args), stdout(&o), "ls {args:?} vs lxc-ls");
        }
    }

    // Running: listed from inside it (LXC 5.0.2's lxc-ls crashes on this case here, so it
    // is not compared).
    t.ok(&["start"]);
    assert_eq!(ls(&["--nesting", "-1"]), list);
    assert_eq!(ls(&["--nesting", "--running", "-1"]), format!("{n}\n"));
    t.ok(&["stop", "-k"]);
    t.assert_nothing_left();
}
