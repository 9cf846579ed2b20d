//! `lxc-rs attach`'s remaining lxc-attach flags on real busybox containers: `-e` and its
//! CAP|CGROUP|LSM parts, `-R`, `-a`, `-L`, `-f`, and the log file's line prefix. Where LXC's
//! tools are installed, `lxc-attach` on the same container is the oracle (lxc-rs's monitor
//! serves LXC's command socket too).

mod common;

use std::fs;
use std::process::{Command, Output, Stdio};

use common::{show, stdout, TestContainer};

fn lxc_present() -> bool {
    common::lxc_tools_present(&["lxc-attach"])
}

/// A running busybox container.
fn started(test: &str) -> TestContainer {
    let t = TestContainer::busybox(test);
    t.ok(&["start"]);
    assert_eq!(t.state(), "RUNNING");
    t
}

/// `lxc-rs attach -n NAME -P LXCPATH FLAGS... -- ARGV...`, stdin closed (no pty).
fn rs_attach(t: &TestContainer, flags: &[&str], argv: &[&str]) -> Output {
    Command::new(common::BIN)
        .args(["attach", "-n", &t.name, "-P", t.lxcpath_str()])
        .args(flags)
        .arg("--")
        .args(argv)
        .stdin(Stdio::null())
        .output()
        .expect("run lxc-rs attach")
}

/// The same with LXC's `lxc-attach`.
fn lxc_attach(t: &TestContainer, flags: &[&str], argv: &[&str]) -> Output {
    let mut all: Vec<&str> = flags.to_vec();
    all.push("--");
    all.extend_from_slice(argv);
    common::lxc_tool("lxc-attach", t, &all)
}

fn ok(o: Output, what: &str) -> String {
    assert!(o.status.success(), "{what}: {}", show(&o));
    stdout(&o)
}

/// The value of `key:` in a /proc/PID/status text.
fn status_field(text: &str, key: &str) -> String {
    text.lines()
        .find_map(|l| l.strip_prefix(key))
        .map(|v| v.trim().to_string())
        .unwrap_or_else(|| panic!("no {key} in {text}"))
}

/// What the attached process says about itself: its bounding set, its seccomp mode and its
/// cgroup in the first v1 hierarchy listed.
const SELF_REPORT: &str =
    "grep -E '^(CapBnd|Seccomp):' /proc/self/status; head -1 /proc/self/cgroup";

#[test]
fn elevated_privileges_parts_elevate_only_what_they_name() {
    require_root!();
    let t = TestContainer::busybox("att-elev");
    let policy = t.lxcpath.join("deny-mknod.seccomp");
    fs::write(&policy, "2\ndenylist\nmknod errno 1\n").unwrap();
    t.append_config(&format!(
        "lxc.seccomp.profile = {}\nlxc.cap.drop = sys_module mknod\n",
        policy.display()
    ));
    t.ok(&["start"]);
    let init = t.init_pid();
    let init_status = fs::read_to_string(format!("/proc/{init}/status")).unwrap();
    let init_bnd = status_field(&init_status, "CapBnd:");
    let host_bnd = status_field(&fs::read_to_string("/proc/self/status").unwrap(), "CapBnd:");
    assert_ne!(
        init_bnd, host_bnd,
        "lxc.cap.drop must cut init's bounding set"
    );
    // The container's cgroup as its own members see it (their cgroup namespace's root).
    let joined = ok(
        rs_attach(&t, &[], &["head", "-1", "/proc/1/cgroup"]),
        "init cgroup",
    );

    // (flags, capabilities kept, cgroup not joined, no seccomp)
    let cases: [(&[&str], bool, bool, bool); 7] = [
        (&[], false, false, false),
        (&["-e"], true, true, true),
        (&["-eCAP"], true, false, false),
        (&["-eCGROUP"], false, true, false),
        (&["-eLSM"], false, false, true),
        (&["--elevated-privileges=CAP|CGROUP"], true, true, false),
        (&["-eCAP|CGROUP|LSM"], true, true, true),
    ];
    for (flags, cap, cgroup, lsm) in cases {
        let out = ok(
            rs_attach(&t, flags, &["sh", "-c", SELF_REPORT]),
            &format!("{flags:?}"),
        );
        let bnd = status_field(&out, "CapBnd:");
        assert_eq!(
            &bnd,
            if cap { &host_bnd } else { &init_bnd },
            "{flags:?}: {out}"
        );
        let seccomp = status_field(&out, "Seccomp:");
        assert_eq!(seccomp, if lsm { "0" } else { "2" }, "{flags:?}: {out}");
        let cg = out.lines().last().unwrap_or_default();
        assert_eq!(
            cg == joined.trim(),
            !cgroup,
            "{flags:?}: {out} (init: {joined})"
        );
        if lxc_present() {
            let theirs = ok(
                lxc_attach(&t, flags, &["sh", "-c", SELF_REPORT]),
                "lxc-attach",
            );
            assert_eq!(out, theirs, "{flags:?}: lxc-rs left, lxc-attach right");
        }
    }

    // A part LXC does not know (spelled exactly: `cap` is not CAP) is a usage error: 1.
    for bad in ["-eFOO", "-ecap", "-eCAP|NOPE"] {
        let o = rs_attach(&t, &[bad], &["true"]);
        assert_eq!(o.status.code(), Some(1), "{bad}: {}", show(&o));
        if lxc_present() {
            let theirs = lxc_attach(&t, &[bad], &["true"]);
            assert_eq!(
                theirs.status.code(),
                Some(1),
                "lxc-attach {bad}: {}",
                show(&theirs)
            );
        }
    }
    // As getopt's optional argument: `-e CAP` elevates everything and runs CAP.
    let o = Command::new(common::BIN)
        .args(["attach", "-n", &t.name, "-P", t.lxcpath_str(), "-e", "CAP"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(127), "-e CAP: {}", show(&o));
}

/// `cat`-like reads through a shell in the attached process: init's pid namespace as /proc/1
/// shows it, /proc/self's target, and the network devices /sys lists.
const PROC_SYS_REPORT: &str =
    "readlink /proc/1/ns/pid; readlink /proc/self; ls /sys/class/net | tr '\\n' ' '";

/// The lines of a mountinfo file for /proc, /sys and below (other tests on this machine
/// mount elsewhere meanwhile).
fn proc_sys_mounts(path: &str) -> Vec<String> {
    fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| {
            let at = l.split(' ').nth(4).unwrap_or_default();
            ["/proc", "/sys"]
                .iter()
                .any(|p| at == *p || at.starts_with(&format!("{p}/")))
        })
        .map(str::to_string)
        .collect()
}

#[test]
fn remount_sys_proc_shows_the_joined_namespaces() {
    require_root!();
    let t = started("att-remount");
    let init = t.init_pid();
    let init_pidns = fs::read_link(format!("/proc/{init}/ns/pid")).unwrap();
    let host_mounts = proc_sys_mounts("/proc/self/mountinfo");
    let init_mounts = fs::read_to_string(format!("/proc/{init}/mountinfo")).unwrap();

    // Without the mount namespace, /proc is the host's: its pid 1 is not the container's init
    let ns = ["-s", "PID|NETWORK"];
    let plain = ok(rs_attach(&t, &ns, &["sh", "-c", PROC_SYS_REPORT]), "-s");
    assert!(!plain.contains(init_pidns.to_str().unwrap()), "{plain}");
    // ... and /sys the host's, with its network devices.
    assert_ne!(plain.lines().last().map(str::trim), Some("lo"), "{plain}");

    let mut flags = vec!["-R"];
    flags.extend_from_slice(&ns);
    let out = ok(rs_attach(&t, &flags, &["sh", "-c", PROC_SYS_REPORT]), "-R");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.first().copied(), init_pidns.to_str(), "{out}");
    // /proc/self names the process by its pid in the container's namespace: a small one, and
    // one the host's /proc does not show as this shell (its own pid there is another).
    let self_pid: u32 = lines[1].parse().unwrap_or_else(|_| panic!("{out}"));
    assert!(self_pid < 1000, "/proc/self is {self_pid}: {out}");
    // The container has no network but its loopback (lxc.net.0.type = empty).
    assert_eq!(lines.get(2).map(|l| l.trim()), Some("lo"), "{out}");

    // Neither the caller's mount table nor the container's changed.
    assert_eq!(proc_sys_mounts("/proc/self/mountinfo"), host_mounts);
    assert_eq!(
        fs::read_to_string(format!("/proc/{init}/mountinfo")).unwrap(),
        init_mounts
    );

    // Joining the mount namespace, -R does nothing (as in LXC): the container's own /proc.
    let joined = ok(
        rs_attach(&t, &["-R"], &["readlink", "/proc/1/ns/pid"]),
        "-R all",
    );
    assert_eq!(joined.trim(), init_pidns.to_str().unwrap());

    if lxc_present() {
        let theirs = ok(
            lxc_attach(&t, &flags, &["sh", "-c", PROC_SYS_REPORT]),
            "lxc -R",
        );
        let theirs: Vec<&str> = theirs.lines().collect();
        assert_eq!(
            theirs[0], lines[0],
            "pid namespace of /proc/1: lxc-attach vs lxc-rs"
        );
        assert_eq!(theirs[2], lines[2], "/sys/class/net: lxc-attach vs lxc-rs");
        assert_eq!(proc_sys_mounts("/proc/self/mountinfo"), host_mounts);
    }
}

#[test]
fn arch_sets_the_personality() {
    require_root!();
    let t = started("att-arch");
    for (arch, machine) in [("linux32", "i686"), ("i686", "i686"), ("x86_64", "x86_64")] {
        let out = ok(rs_attach(&t, &["-a", arch], &["uname", "-m"]), arch);
        assert_eq!(out.trim(), machine, "-a {arch}");
        if lxc_present() {
            let theirs = ok(lxc_attach(&t, &["-a", arch], &["uname", "-m"]), arch);
            assert_eq!(out, theirs, "-a {arch}: lxc-rs left, lxc-attach right");
        }
    }
    let o = rs_attach(&t, &["-a", "vax"], &["true"]);
    assert_eq!(o.status.code(), Some(1), "{}", show(&o));
    if lxc_present() {
        assert_eq!(
            lxc_attach(&t, &["-a", "vax"], &["true"]).status.code(),
            Some(1)
        );
    }
}

/// `script` gives the command a terminal, so that attach uses a pty.
fn on_a_terminal(cmdline: &str) -> Option<Output> {
    Command::new("script")
        .args(["-qec", cmdline, "/dev/null"])
        .stdin(Stdio::null())
        .output()
        .ok()
}

#[test]
fn pty_log_gets_the_output() {
    require_root!();
    let t = started("att-ptylog");
    let log = t.lxcpath.join("pty.log");
    let cmdline = format!(
        "{} attach -n {} -P {} -L {} -- echo hello-pty-log",
        common::BIN,
        t.name,
        t.lxcpath_str(),
        log.display()
    );
    let Some(o) = on_a_terminal(&cmdline) else {
        eprintln!("SKIP: no script(1) to give attach a terminal");
        return;
    };
    assert!(o.status.success(), "{}", show(&o));
    assert_eq!(fs::read(&log).unwrap(), b"hello-pty-log\r\n");
    let mode = std::os::unix::fs::PermissionsExt::mode(&fs::metadata(&log).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o600);

    // Appended to, as lxc-attach opens it.
    let o = on_a_terminal(&cmdline).unwrap();
    assert!(o.status.success(), "{}", show(&o));
    assert_eq!(
        fs::read(&log).unwrap(),
        b"hello-pty-log\r\nhello-pty-log\r\n"
    );

    // Without a terminal there is no pty: the file is made and stays empty, as with LXC.
    let plain = t.lxcpath.join("plain.log");
    let out = ok(
        rs_attach(&t, &["-L", plain.to_str().unwrap()], &["echo", "x"]),
        "-L",
    );
    assert_eq!(out, "x\n");
    assert_eq!(fs::read(&plain).unwrap(), b"");

    if lxc_present() {
        let theirs = t.lxcpath.join("lxc.log");
        let cmdline = format!(
            "lxc-attach -n {} -P {} -L {} -- echo hello-pty-log",
            t.name,
            t.lxcpath_str(),
            theirs.display()
        );
        let o = on_a_terminal(&cmdline).unwrap();
        assert!(o.status.success(), "{}", show(&o));
        assert_eq!(fs::read(&theirs).unwrap(), b"hello-pty-log\r\n");
    }
}

#[test]
fn rcfile_replaces_the_config_for_the_attach() {
    require_root!();
    let t = TestContainer::busybox("att-rcfile");
    t.append_config("lxc.environment = FROM=config\n");
    t.ok(&["start"]);
    let rc = t.lxcpath.join("other.conf");
    fs::write(&rc, "lxc.environment = FROM=rcfile\n").unwrap();
    let rc = rc.to_str().unwrap();
    let echo = ["sh", "-c", "echo $FROM"];
    assert_eq!(ok(rs_attach(&t, &[], &echo), "config"), "config\n");
    assert_eq!(ok(rs_attach(&t, &["-f", rc], &echo), "-f"), "rcfile\n");
    let missing = t.lxcpath.join("missing.conf");
    let o = rs_attach(&t, &["-f", missing.to_str().unwrap()], &["true"]);
    assert_eq!(o.status.code(), Some(1), "{}", show(&o));
    if lxc_present() {
        assert_eq!(ok(lxc_attach(&t, &["-f", rc], &echo), "lxc -f"), "rcfile\n");
        let theirs = lxc_attach(&t, &["-f", missing.to_str().unwrap()], &["true"]);
        assert_eq!(theirs.status.code(), Some(1), "{}", show(&theirs));
    }
}

/// `PREFIX NAME YYYYMMDDhhmmss.mmm PRIORITY CATEGORY - LOCATION - MESSAGE`, the priority
/// padded to 8 columns: the fields up to the location.
fn log_fields(line: &str) -> (String, String, usize, String, usize) {
    let mut it = line.splitn(4, ' ');
    let prefix = it.next().unwrap_or_default().to_string();
    let name = it.next().unwrap_or_default().to_string();
    let time = it.next().unwrap_or_default();
    let rest = it.next().unwrap_or_default();
    let digits = time.bytes().filter(u8::is_ascii_digit).count();
    assert_eq!(time.as_bytes().get(14), Some(&b'.'), "timestamp in {line}");
    let priority = rest.split(' ').next().unwrap_or_default().to_string();
    let category_col = rest[priority.len()..]
        .find(|c: char| c != ' ')
        .map_or(0, |i| i + priority.len());
    (prefix, name, digits, priority, category_col)
}

#[test]
fn log_lines_carry_lxc_attachs_prefix() {
    require_root!();
    let t = started("att-log");
    let ours = t.lxcpath.join("rs.log");
    let o = rs_attach(
        &t,
        &["-o", ours.to_str().unwrap(), "-l", "DEBUG"],
        &["true"],
    );
    assert!(o.status.success(), "{}", show(&o));
    let text = fs::read_to_string(&ours).unwrap();
    let line = text.lines().next().unwrap_or_else(|| panic!("empty log"));
    let (prefix, name, digits, priority, col) = log_fields(line);
    assert_eq!(prefix, "lxc-attach", "{line}");
    assert_eq!(name, t.name, "{line}");
    assert_eq!((digits, priority.as_str(), col), (17, "DEBUG", 9), "{line}");
    assert!(
        line.contains(" - lxc-") && line.matches(" - ").count() >= 2,
        "{line}"
    );
    // Errors on stderr stay lxc-rs's one line.
    let o = Command::new(common::BIN)
        .args([
            "attach",
            "-n",
            "lxcrs-t-att-log-none",
            "-P",
            t.lxcpath_str(),
            "--",
            "true",
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(
        common::stderr(&o).starts_with("lxc-rs: attach lxcrs-t-att-log-none: "),
        "{}",
        show(&o)
    );

    if lxc_present() {
        let theirs = t.lxcpath.join("lxc.log");
        let o = lxc_attach(
            &t,
            &["-o", theirs.to_str().unwrap(), "-l", "DEBUG"],
            &["true"],
        );
        assert!(o.status.success(), "{}", show(&o));
        let text = fs::read_to_string(&theirs).unwrap();
        let line = text
            .lines()
            .find(|l| l.contains(" DEBUG "))
            .unwrap_or_else(|| panic!("no DEBUG line in {text}"));
        let (p, n, d, pr, c) = log_fields(line);
        assert_eq!(
            (p.as_str(), n.as_str(), d, pr.as_str(), c),
            ("lxc-attach", t.name.as_str(), 17, "DEBUG", 9),
            "{line}"
        );
    }
}
