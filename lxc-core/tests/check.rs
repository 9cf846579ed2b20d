//! `check_config`: values the parsers accept (as LXC's setters do) that cannot work at start,
//! found with the key, the file:line and what was expected, from the registered key checks (the
//! core's and the cgroup driver's).
//!
//! Files live under /tmp/lxcrs-t-check-<test>-<pid>, removed after each test.

// The cgroup and mount keys are the always-on components' (their registrations).
use lxc_console as _;
use lxc_mount as _;
use std::fs;
use std::path::PathBuf;

use lxc_core::check::{check_config, check_startable};
use lxc_core::registry::CheckScope;
use lxc_core::{Config, Error};
// The cgroup driver registers the checks of lxc.cgroup.* / lxc.cgroup2.* keys.
use lxc_cgroup as _;
use lxc_ext_cgroup2 as _;

const ALL: &[CheckScope] = &[CheckScope::Static, CheckScope::Host];

struct Dir(PathBuf);

impl Dir {
    fn new(test: &str) -> Dir {
        let p = PathBuf::from(format!("/tmp/lxcrs-t-check-{test}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&p);
        fs::create_dir_all(&p).expect("make test dir");
        Dir(p)
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// (line, key, expected) of each problem.
fn problems(errors: &[Error]) -> Vec<(usize, String, String)> {
    errors
        .iter()
        .map(|e| match e {
            Error::Unusable {
                key,
                origin,
                expected,
                ..
            } => (origin.line, key.clone(), expected.clone()),
            other => panic!("not an Unusable problem: {other}"),
        })
        .collect()
}

#[test]
fn finds_values_that_cannot_start() {
    let text = "lxc.uts.name = fine\n\
                lxc.signal.halt = 99999\n\
                lxc.signal.reboot = 65\n\
                lxc.signal.stop = SIGRTMAX-0\n\
                lxc.monitor.signal.pdeath = 2147483647\n\
                lxc.prlimit.bogus = 10\n\
                lxc.prlimit.nofile = 10:5\n\
                lxc.prlimit.nproc = 5:10\n\
                lxc.prlimit.99 = 1\n\
                lxc.proc.oom_score_adj = 10\n\
                lxc.proc.../x = 1\n\
                lxc.proc.a/b = 1\n\
                lxc.cgroup.memory.limit_in_bytes = 1G\n\
                lxc.cgroup.memory.../../x = 1\n\
                lxc.cgroup2.../x = 1\n\
                lxc.cgroup.dir = lxcrs-t\n\
                lxc.pty.max = 2000000\n";
    let c = Config::parse_str(text, Some("c.conf".as_ref())).expect("every value parses");
    let got = problems(&check_config(&c, &[CheckScope::Static]));
    let want: &[(usize, &str, &str)] = &[
        (2, "lxc.signal.halt", "a signal the kernel has: 1 to 64"),
        (3, "lxc.signal.reboot", "a signal the kernel has"),
        (5, "lxc.monitor.signal.pdeath", "a signal the kernel has"),
        (6, "lxc.prlimit.bogus", "nofile"),
        (7, "lxc.prlimit.nofile", "soft 10 > hard 5"),
        (9, "lxc.prlimit.99", "its number 0 to 15"),
        (11, "lxc.proc.../x", "a file directly in /proc/<pid>/"),
        (12, "lxc.proc.a/b", "a file directly in /proc/<pid>/"),
        (
            14,
            "lxc.cgroup.memory.../../x",
            "one file in the container's cgroup",
        ),
        (15, "lxc.cgroup2.../x", "one file in the container's cgroup"),
        (17, "lxc.pty.max", "at most 1048576"),
    ];
    assert_eq!(got.len(), want.len(), "{got:#?}");
    for ((line, key, expected), (wline, wkey, wexp)) in got.iter().zip(want) {
        assert_eq!((line, key.as_str()), (wline, *wkey), "{got:#?}");
        assert!(
            expected.contains(wexp),
            "{key}: {expected:?} lacks {wexp:?}"
        );
    }
    // The error says key, file:line and the value as written.
    let e = check_config(&c, &[CheckScope::Static])
        .remove(0)
        .to_string();
    assert!(
        e.starts_with("c.conf:2: lxc.signal.halt: \"99999\" cannot work at start: expected"),
        "{e}"
    );
}

#[test]
fn only_the_values_in_use_are_checked() {
    // A single key is checked at its last value; a cleared (empty) value is not checked.
    let text = "lxc.signal.halt = 99999\n\
                lxc.signal.halt = SIGPWR\n\
                lxc.signal.stop = 100\n\
                lxc.signal.stop =\n\
                lxc.prlimit.nofile = 10:5\n\
                lxc.prlimit.nofile = 5:10\n\
                lxc.signal.reboot = 0\n";
    let c = Config::parse_str(text, None).expect("parses");
    let got = check_config(&c, ALL);
    assert!(got.is_empty(), "{got:#?}");

    // List keys are checked at every value.
    let c = Config::parse_str("lxc.proc.a/b = 1\nlxc.proc.a/b = 2\n", None).expect("parses");
    assert_eq!(check_config(&c, ALL).len(), 2);
}

#[test]
fn values_set_through_the_api_and_included_files_are_checked_too() {
    let d = Dir::new("inc");
    let inc = d.0.join("inc.conf");
    fs::write(&inc, "# included\nlxc.signal.stop = 1000\n").expect("write include");
    let main = d.0.join("config");
    fs::write(&main, format!("lxc.include = {}\n", inc.display())).expect("write config");
    let mut c = Config::load(&main).expect("loads: LXC takes signal 1000 when set");
    c.set("lxc.prlimit.nofile", "unlimited:1").expect("set");
    let got = check_config(&c, &[CheckScope::Static]);
    assert_eq!(got.len(), 2, "{got:#?}");
    assert!(
        got[0]
            .to_string()
            .starts_with(&format!("{}:2: lxc.signal.stop", inc.display())),
        "{}",
        got[0]
    );
    assert!(
        got[1].to_string().starts_with("<api>: lxc.prlimit.nofile"),
        "{}",
        got[1]
    );

    // What start refuses: the same, as one error naming the config.
    let e = check_startable(&c, &main).expect_err("cannot start");
    assert_eq!(e.problems().len(), 2);
    assert!(e
        .to_string()
        .starts_with(&format!("{}: 2 problem(s)", main.display())));
}

#[test]
fn host_limits_are_checked_only_when_asked() {
    let (Some(nr_open), Some(pty_max)) = (
        read("/proc/sys/fs/nr_open"),
        read("/proc/sys/kernel/pty/max"),
    ) else {
        eprintln!("SKIP host_limits_are_checked_only_when_asked: no /proc/sys/fs/nr_open or kernel/pty/max");
        return;
    };
    let text = format!(
        "lxc.prlimit.nofile = {}\nlxc.prlimit.7 = unlimited\nlxc.tty.max = {}\n",
        nr_open + 1,
        pty_max + 1
    );
    let c = Config::parse_str(&text, None).expect("parses");
    assert!(check_config(&c, &[CheckScope::Static]).is_empty());
    let got = problems(&check_config(&c, ALL));
    let keys: Vec<&str> = got.iter().map(|(_, k, _)| k.as_str()).collect();
    assert_eq!(keys, ["lxc.prlimit.nofile", "lxc.prlimit.7", "lxc.tty.max"]);
    assert!(
        got[0].2.contains(&format!("fs.nr_open ({nr_open})")),
        "{got:?}"
    );
    assert!(
        got[2].2.contains(&format!("kernel.pty.max ({pty_max})")),
        "{got:?}"
    );
}

fn read(path: &str) -> Option<u64> {
    fs::read_to_string(path).ok()?.trim().parse().ok()
}
