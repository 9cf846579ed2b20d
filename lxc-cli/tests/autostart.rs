//! `lxc-rs autostart` on five busybox containers with orders, delays and groups: the
//! containers it would act on (`-L`) are the ones, in the order, that LXC's `lxc-autostart -L`
//! lists for the same lxcpath over the flags; a real start brings them up in that order,
//! honouring a delay; `-s` and `-k` stop them group by group, in the reverse order.

mod common;
mod fleet;

use std::process::{Command, Output, Stdio};

use common::{show, stdout};
use fleet::Fleet;

/// a..e: `lxc.start.auto`, `.order`, `.delay`, `lxc.group`. `d` is not auto-started.
const FLEET: [(&str, &str); 5] = [
    ("a", "lxc.start.auto = 1\nlxc.start.order = 30\n"),
    (
        "b",
        "lxc.start.auto = 1\nlxc.start.order = 10\nlxc.start.delay = 2\nlxc.group = onboot\n",
    ),
    ("c", "lxc.start.auto = 1\nlxc.start.order = 20\n"),
    ("d", "lxc.start.auto = 0\nlxc.start.order = 0\n"),
    (
        "e",
        "lxc.start.auto = 1\nlxc.start.order = 5\nlxc.group = web onboot\n",
    ),
];

fn fleet(test: &str) -> Fleet {
    let f = Fleet::busybox(test, &FLEET.map(|(m, _)| m));
    for (m, cfg) in FLEET {
        f.append_config(m, cfg);
    }
    f
}

/// LXC's `lxc-autostart -P LXCPATH ARGS`, given at most 60 s.
fn lxc_autostart(f: &Fleet, args: &[&str]) -> Output {
    Command::new("timeout")
        .args(["60", "lxc-autostart", "-P", f.lxcpath_str()])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run lxc-autostart")
}

/// The members' suffixes in a listing (`NAME DELAY` or `NAME` lines).
fn members(f: &Fleet, listing: &str) -> Vec<String> {
    listing
        .lines()
        .map(|l| {
            let name = l.split(' ').next().unwrap_or_default();
            let prefix = f.names[0].rsplit_once('-').unwrap().0;
            name.strip_prefix(&format!("{prefix}-"))
                .unwrap_or(name)
                .to_string()
        })
        .collect()
}

/// When the kernel started `pid`, in clock ticks since boot (field 22 of /proc/PID/stat).
fn start_ticks(pid: i32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let after_comm = &stat[stat.rfind(')').unwrap() + 2..];
    after_comm.split(' ').nth(19).unwrap().parse().unwrap()
}

fn clock_ticks() -> u64 {
    nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
        .ok()
        .flatten()
        .unwrap_or(100) as u64
}

#[test]
fn lists_what_lxc_autostart_lists() {
    require_root!();
    let f = fleet("aslist");
    let cases: &[&[&str]] = &[
        &[],
        &["-a"],
        &["-a", "-A"],
        &["-A"],
        &["-g", "onboot"],
        &["-g", "onboot,"],
        &["-g", ",onboot"],
        &["-g", "web", "-g", "onboot"],
        &["-g", "webserver"],
        &["-r"],
    ];
    let lxc_here = common::lxc_tools_present(&["lxc-autostart"]);
    if !lxc_here {
        eprintln!("SKIP (differential part): LXC's lxc-autostart is not installed");
    }
    for args in cases {
        let mut all = vec!["autostart", "-L"];
        all.extend_from_slice(args);
        let ours = f.lxc(&all);
        if lxc_here {
            let mut theirs_args = vec!["-L"];
            theirs_args.extend_from_slice(args);
            let theirs = lxc_autostart(&f, &theirs_args);
            assert_eq!(
                stdout(&ours),
                stdout(&theirs),
                "-L {args:?}: {}\nLXC: {}",
                show(&ours),
                show(&theirs)
            );
            assert_eq!(ours.status.code(), theirs.status.code(), "-L {args:?}");
        }
    }
    // What LXC's rules give, spelled out.
    let listed = |args: &[&str]| {
        let mut all = vec!["autostart", "-L"];
        all.extend_from_slice(args);
        members(&f, &f.ok(&all))
    };
    assert_eq!(listed(&[]), ["c", "a"]);
    assert_eq!(listed(&["-g", "onboot,"]), ["e", "b", "c", "a"]);
    assert_eq!(listed(&["-g", ",onboot"]), ["c", "a"]);
    assert_eq!(listed(&["-a", "-A"]), ["d", "e", "b", "c", "a"]);
    // Container group "web" is a prefix of the requested "webserver": LXC counts it in.
    assert_eq!(listed(&["-g", "webserver"]), ["e"]);
    let delays = f.ok(&["autostart", "-L", "-g", "onboot"]);
    assert_eq!(delays, format!("{} 0\n{} 2\n", f.name("e"), f.name("b")));
    // Nothing runs: a stop lists nobody.
    assert_eq!(f.ok(&["autostart", "-L", "-k", "-a"]), "");
}

#[test]
fn starts_in_order_and_stops_in_reverse() {
    require_root!();
    let f = fleet("asrun");
    f.ok(&["autostart", "-g", "onboot,"]);
    for m in ["a", "b", "c", "e"] {
        assert_eq!(f.state(m), "RUNNING", "{m}");
    }
    assert_eq!(f.state("d"), "STOPPED");

    // Each init was started after the one before; after b, autostart waited its 2 s delay.
    let ticks: Vec<u64> = ["e", "b", "c", "a"]
        .iter()
        .map(|m| start_ticks(f.init_pid(m)))
        .collect();
    assert!(
        ticks.windows(2).all(|w| w[0] <= w[1]),
        "start order e b c a: {ticks:?}"
    );
    assert!(
        ticks[2] - ticks[1] >= 2 * clock_ticks(),
        "c started less than b's 2 s delay after b: {ticks:?}"
    );

    let b_pid = f.init_pid("b");

    // Running now: the stop listing is the start order reversed, group by group, as LXC's.
    let kill_list = f.ok(&["autostart", "-L", "-k", "-g", "onboot,"]);
    assert_eq!(members(&f, &kill_list), ["b", "e", "a", "c"]);
    if common::lxc_tools_present(&["lxc-autostart"]) {
        let theirs = lxc_autostart(&f, &["-L", "-k", "-g", "onboot,"]);
        assert_eq!(kill_list, stdout(&theirs), "LXC: {}", show(&theirs));
    } else {
        eprintln!("SKIP (differential part): LXC's lxc-autostart is not installed");
    }
    // Already running: a start lists nobody.
    assert_eq!(f.ok(&["autostart", "-L", "-g", "onboot,"]), "");

    // -r: the web group (e alone) reboots: a new init, running again.
    let before = f.init_pid("e");
    f.ok(&["autostart", "-r", "-g", "web"]);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while f.try_init_pid("e").is_none_or(|p| p == before) || f.state("e") != "RUNNING" {
        assert!(std::time::Instant::now() < deadline, "e did not reboot");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(f.init_pid("b"), b_pid, "b is not in group web");

    // -s: the onboot group shuts down (busybox init halts on lxc.signal.halt); the rest stays.
    f.ok(&["autostart", "-s", "-t", "20", "-g", "onboot"]);
    assert_eq!(f.state("b"), "STOPPED");
    assert_eq!(f.state("e"), "STOPPED");
    assert_eq!(f.state("a"), "RUNNING");
    assert_eq!(f.state("c"), "RUNNING");
    // -k: the NULL group is killed.
    f.ok(&["autostart", "-k"]);
    for m in ["a", "b", "c", "d", "e"] {
        assert_eq!(f.state(m), "STOPPED", "{m}");
    }
}

#[test]
fn exit_status_is_lxc_autostart_s() {
    require_root!();
    // No container at all: lxc-autostart calls that a total failure.
    let f = Fleet::busybox("asnone", &[]);
    let o = f.lxc(&["autostart"]);
    assert_eq!(o.status.code(), Some(1), "{}", show(&o));
    if common::lxc_tools_present(&["lxc-autostart"]) {
        assert_eq!(lxc_autostart(&f, &[]).status.code(), Some(1));
    }
}
