//! The container's terminals, as LXC 5.0 makes them: the `lxc.tty.max` ttys come from the
//! container's own devpts instance and are bind-mounted onto /dev/ttyN, the console is a pty
//! the monitor holds, a daemonized init has /dev/null on 0-2, and `devpts_fd` hands the host
//! the container's devpts instance. Checked on real busybox containers, and side by side with
//! Debian's LXC 5.0.2 on the same rootfs.

mod common;

use std::fs;
use std::os::fd::AsRawFd;
#[cfg(feature = "devpts_fd")]
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::process::Output;
use std::time::{Duration, Instant};

use common::{show, stdout, TestContainer};

/// `lxc-rs attach -- sh -c SCRIPT`, which must succeed; its stdout.
fn sh(t: &TestContainer, script: &str) -> String {
    t.ok(&["attach", "--", "/bin/sh", "-c", script])
}

/// The lines of /proc/self/mountinfo inside the container for the devpts mounts.
fn devpts_mounts(t: &TestContainer) -> Vec<Vec<String>> {
    sh(t, "cat /proc/self/mountinfo")
        .lines()
        .filter(|l| l.contains(" - devpts "))
        .map(|l| l.split(' ').map(str::to_string).collect())
        .collect()
}

/// The mountinfo fields of the mount at `target`: (root, major:minor, per-mount options,
/// super options).
fn mount_at(mounts: &[Vec<String>], target: &str) -> Option<(String, String, String, String)> {
    mounts.iter().find(|f| f[4] == target).map(|f| {
        let sep = f.iter().position(|x| x == "-").unwrap_or(f.len() - 1);
        (
            f[3].clone(),
            f[2].clone(),
            f[5].clone(),
            f.get(sep + 3).cloned().unwrap_or_default(),
        )
    })
}

/// `stat -c` of paths inside the container: "name mode(octal) uid gid major minor" each.
fn stats(t: &TestContainer, paths: &[String]) -> Vec<(String, u32, u32, u32, u32, u32)> {
    let out = sh(
        t,
        &format!("stat -c '%n %a %u %g %t %T %F' {}", paths.join(" ")),
    );
    out.lines()
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let hex = |s: &str| u32::from_str_radix(s, 16).unwrap();
            assert!(l.contains("character special"), "{l}");
            (
                f[0].to_string(),
                u32::from_str_radix(f[1], 8).unwrap(),
                f[2].parse().unwrap(),
                f[3].parse().unwrap(),
                hex(f[4]),
                hex(f[5]),
            )
        })
        .collect()
}

#[test]
fn ttys_come_from_the_containers_own_devpts() {
    require_root!();
    // The template's config: lxc.tty.max = 5, lxc.pty.max = 1.
    let t = TestContainer::busybox("tty-devpts");
    t.ok(&["start", "-s", "lxc.net.0.type=empty"]);

    let pts = sh(&t, "ls /dev/pts");
    let names: Vec<&str> = pts.split_whitespace().collect();
    assert_eq!(names, ["0", "1", "2", "3", "4", "ptmx"], "{pts}");

    let mounts = devpts_mounts(&t);
    let (root, own_dev, opts, sopts) = mount_at(&mounts, "/dev/pts").expect("/dev/pts mounted");
    assert_eq!(root, "/");
    assert_eq!(opts, "rw,nosuid,noexec,relatime");
    assert_eq!(sopts, "rw,gid=5,mode=620,ptmxmode=666,max=6");
    let mut paths = Vec::new();
    for i in 1..=5 {
        let (root, dev, opts, _) =
            mount_at(&mounts, &format!("/dev/tty{i}")).unwrap_or_else(|| panic!("{mounts:?}"));
        assert_eq!(
            root,
            format!("/{}", i - 1),
            "/dev/tty{i} binds pts {}",
            i - 1
        );
        assert_eq!(dev, own_dev, "/dev/tty{i} is of the container's devpts");
        assert_eq!(opts, "rw,nosuid,noexec,relatime", "/dev/tty{i}");
        paths.push(format!("/dev/tty{i}"));
        paths.push(format!("/dev/pts/{}", i - 1));
    }
    let st = stats(&t, &paths);
    for pair in st.chunks(2) {
        let (tty, pts) = (&pair[0], &pair[1]);
        assert_eq!((tty.4, tty.5), (pts.4, pts.5), "{tty:?} is {pts:?}");
        assert_eq!(tty.4, 136, "{tty:?} is a pty");
        // crw--w----, root, group tty (5) from the instance's gid=5; tty1's getty makes it
        // root:root once it runs (so does LXC's), so its group is not checked.
        assert_eq!(tty.1, 0o620, "{tty:?}");
        assert_eq!(tty.2, 0, "{tty:?}");
        if tty.0 != "/dev/tty1" {
            assert_eq!(tty.3, 5, "{tty:?}");
        }
    }

    // The console: the host's pty the monitor holds (lxc.pty.max is 1), mode 0620.
    let (root, dev, _, _) = mount_at(&mounts, "/dev/console").expect("/dev/console bound");
    assert_ne!(dev, own_dev, "the console comes from the host's devpts");
    let n: u32 = root.trim_start_matches('/').parse().unwrap();
    let host = fs::metadata(format!("/dev/pts/{n}")).unwrap();
    assert!(host.file_type().is_char_device());
    assert_eq!(host.mode() & 0o7777, 0o620, "/dev/pts/{n} on the host");

    // A daemonized init has /dev/null on 0-2, as LXC 5.0.2 gives it.
    let pid = t.init_pid();
    for fd in 0..3 {
        let m = fs::metadata(format!("/proc/{pid}/fd/{fd}")).unwrap();
        assert_eq!(m.rdev(), libc::makedev(1, 3), "init's fd {fd}");
        assert_eq!(
            fs::read_link(format!("/proc/{pid}/fd/{fd}")).unwrap(),
            std::path::Path::new("/dev/null")
        );
    }
    t.ok(&["stop", "-k"]);
    t.assert_nothing_left();
}

#[test]
fn with_pty_max_the_console_is_the_first_pty_and_ttys_live_in_tty_dir() {
    require_root!();
    let t = TestContainer::busybox("tty-dir");
    t.ok(&[
        "start",
        "-s",
        "lxc.net.0.type=empty",
        "-s",
        "lxc.pty.max=16",
        "-s",
        "lxc.tty.dir=lxc",
    ]);
    let mounts = devpts_mounts(&t);
    let (_, own_dev, _, sopts) = mount_at(&mounts, "/dev/pts").expect("/dev/pts");
    assert_eq!(sopts, "rw,gid=5,mode=620,ptmxmode=666,max=21");
    for (target, root) in [("/dev/lxc/console", "/0"), ("/dev/console", "/0")] {
        let (r, dev, _, _) = mount_at(&mounts, target).unwrap_or_else(|| panic!("{mounts:?}"));
        assert_eq!((r.as_str(), &dev), (root, &own_dev), "{target}");
    }
    for i in 1..=5 {
        let (r, dev, _, _) = mount_at(&mounts, &format!("/dev/lxc/tty{i}")).unwrap();
        assert_eq!(
            (r, dev),
            (format!("/{i}"), own_dev.clone()),
            "/dev/lxc/tty{i}"
        );
        let link = sh(&t, &format!("readlink /dev/tty{i}"));
        assert_eq!(link.trim(), format!("lxc/tty{i}"));
    }
    // A daemonized init whose console is the container's own pty has it on 0-2, made init's
    // own with mode 0700 (LXC 5.0's fix_stdio_permissions).
    let mode = sh(&t, "stat -L -c %a /dev/console");
    assert_eq!(mode.trim(), "700");
    let pid = t.init_pid();
    let m = fs::metadata(format!("/proc/{pid}/fd/0")).unwrap();
    let console = sh(&t, "stat -c '%t %T' /dev/console");
    let want: Vec<u32> = console
        .split_whitespace()
        .map(|h| u32::from_str_radix(h, 16).unwrap())
        .collect();
    assert_eq!(
        (libc::major(m.rdev()), libc::minor(m.rdev())),
        (want[0], want[1]),
        "init's stdin is /dev/console"
    );
    t.ok(&["stop", "-k"]);
    t.assert_nothing_left();
}

#[test]
fn a_container_without_console_keeps_its_dev_console_untouched() {
    require_root!();
    let t = TestContainer::busybox("tty-noconsole");
    t.ok(&[
        "start",
        "-s",
        "lxc.net.0.type=empty",
        "-s",
        "lxc.console.path=none",
    ]);
    let mounts = devpts_mounts(&t);
    assert!(mount_at(&mounts, "/dev/console").is_none(), "{mounts:?}");
    assert!(mount_at(&mounts, "/dev/tty1").is_some(), "{mounts:?}");
    t.ok(&["stop", "-k"]);
    t.assert_nothing_left();
}

/// `lxc.console.path` names the host terminal LXC proxies the console to: a file that is not
/// a terminal, or one that is not there, fails the start naming the key and its line, as
/// LXC's `lxc_terminal_peer_default` refuses it.
#[test]
fn a_console_path_that_is_not_a_terminal_fails_the_start() {
    require_root!();
    let t = TestContainer::busybox("tty-badpath");
    for (path, why) in [
        ("/etc/hostname", "is not a terminal"),
        ("/nonexistent-lxcrs-t-tty", "No such file or directory"),
    ] {
        let base = fs::read_to_string(t.config_file()).unwrap();
        t.append_config(&format!("lxc.console.path = {path}\n"));
        let line = base.lines().count() + 1;
        let o = t.lxc(&["start"]);
        assert_eq!(o.status.code(), Some(1), "{}", show(&o));
        let err = common::stderr(&o);
        let want = format!("lxc.console.path ({}:{line})", t.config_file().display());
        assert!(err.contains(&want), "want {want:?}: {err}");
        assert!(err.contains(why) && err.contains(path), "{err}");
        assert_eq!(t.state(), "STOPPED");
        t.assert_nothing_left();
        fs::write(t.config_file(), base).unwrap();
    }
}

/// `lxc.console.path` naming a host terminal: what the container writes to its console comes
/// out there (busybox init asks to press Enter on its console), as LXC proxies it.
#[test]
fn a_console_path_terminal_gets_the_consoles_output() {
    require_root!();
    let t = TestContainer::busybox("tty-proxy");
    let pty = nix::pty::openpty(None, None).expect("openpty");
    let path = fs::read_link(format!("/proc/self/fd/{}", pty.slave.as_raw_fd())).unwrap();
    t.append_config(&format!("lxc.console.path = {}\n", path.display()));
    t.ok(&["start"]);
    nix::fcntl::fcntl(
        &pty.master,
        nix::fcntl::FcntlArg::F_SETFL(nix::fcntl::OFlag::O_NONBLOCK),
    )
    .unwrap();
    let mut m = fs::File::from(pty.master);
    let mut seen = String::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut buf = [0u8; 4096];
    while !seen.contains("Please press Enter") {
        assert!(
            Instant::now() < deadline,
            "no console output on {}: {seen:?}",
            path.display()
        );
        match std::io::Read::read(&mut m, &mut buf) {
            Ok(n) if n > 0 => seen.push_str(&String::from_utf8_lossy(&buf[..n])),
            _ => std::thread::sleep(Duration::from_millis(20)),
        }
    }
    t.ok(&["stop", "-k"]);
    drop(pty.slave);
    t.assert_nothing_left();
}

// ------------------------------------------------------------------------------------------
// devpts_fd

#[cfg(feature = "devpts_fd")]
#[test]
fn devpts_fd_allocates_a_pty_inside_the_container() {
    require_root!();
    let t = TestContainer::busybox("tty-devptsfd");
    t.ok(&["start", "-s", "lxc.net.0.type=empty"]);
    let c = lxc::Container::new(&t.name, Some(&t.lxcpath)).unwrap();
    let devpts = lxc::devpts_fd(&c).expect("devpts_fd");
    let ptmx = c"ptmx";
    // SAFETY: a valid directory fd and a NUL-terminated name; the result is checked.
    let fd = unsafe {
        libc::openat(
            devpts.as_raw_fd(),
            ptmx.as_ptr(),
            libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC,
        )
    };
    assert!(
        fd >= 0,
        "open ptmx below the devpts fd: {}",
        std::io::Error::last_os_error()
    );
    // SAFETY: fd was just returned by openat and is ours.
    let master = unsafe { OwnedFd::from_raw_fd(fd) };
    let unlock: libc::c_int = 0;
    let mut n: libc::c_uint = 0;
    // SAFETY: TIOCSPTLCK reads an int, TIOCGPTN writes one; both pointers are valid.
    unsafe {
        assert_eq!(
            libc::ioctl(master.as_raw_fd(), libc::TIOCSPTLCK, &unlock),
            0
        );
        assert_eq!(libc::ioctl(master.as_raw_fd(), libc::TIOCGPTN, &mut n), 0);
    }
    // The template's 5 ttys are 0-4: the new one is the next of the container's instance.
    assert_eq!(n, 5);
    let ls = sh(&t, "ls /dev/pts");
    assert!(
        ls.split_whitespace().any(|x| x == n.to_string()),
        "/dev/pts/{n} inside: {ls}"
    );
    drop(master);
    t.ok(&["stop", "-k"]);
    t.assert_nothing_left();
}

#[cfg(feature = "devpts_fd")]
#[test]
fn devpts_fd_is_refused_without_an_instance_and_listed_as_an_extension() {
    require_root!();
    let o = common::lxc_rs(&["extensions"]);
    assert!(
        stdout(&o).lines().any(|l| l.trim() == "devpts_fd"),
        "{}",
        show(&o)
    );
    let t = TestContainer::busybox("tty-nodevpts");
    t.ok(&["start", "-s", "lxc.net.0.type=empty", "-s", "lxc.pty.max=0"]);
    let c = lxc::Container::new(&t.name, Some(&t.lxcpath)).unwrap();
    let e = lxc::devpts_fd(&c).unwrap_err();
    assert_eq!(e.errno(), libc::ENOENT, "{e}");
    t.ok(&["stop", "-k"]);
    t.assert_nothing_left();
}

// ------------------------------------------------------------------------------------------
// Side by side with LXC 5.0.2

/// What is compared: `ls -la /dev /dev/pts` and the devpts, tty and console lines of
/// mountinfo, run by `attach` (`lxc-attach` or `lxc-rs attach`) inside the container.
const PROBE: &str =
    "ls -la /dev /dev/pts; grep -E ' - devpts |/dev/tty|/dev/console' /proc/self/mountinfo";

/// Wait until the container's syslogd made /dev/log and tty1's getty took tty1 (both are
/// the container's own doing, at its own pace), then run the probe.
fn probe(run: &dyn Fn(&str) -> Output) -> String {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let o = run("test -S /dev/log && test \"$(stat -c %g /dev/tty1)\" = 0");
        if o.status.success() || Instant::now() > deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let o = run(PROBE);
    assert!(o.status.success(), "probe: {}", show(&o));
    normalise(&stdout(&o))
}

/// What legitimately differs between two starts, taken out:
fn normalise(text: &str) -> String {
    let mut out = Vec::new();
    for line in text.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() > 9 && f.contains(&"-") && f[0].parse::<u64>().is_ok() {
            // mountinfo: the mount ids and parent ids are the kernel's counters, and the
            // device number of a devpts instance is whatever anonymous device it got: both
            // differ per start. The optional fields (propagation, `shared:N`) differ too: LXC
            // makes the new root a shared peer group after pivot_root, lxc-rs's pivot does
            // not yet (lxc-mount, not terminals). The root of /dev/console is the host pty's
            // number, whichever was free.
            let sep = f.iter().position(|x| *x == "-").unwrap();
            let root = if f[4] == "/dev/console" { "/N" } else { f[3] };
            out.push(format!(
                "MNT {root} {} {} - {}",
                f[4],
                f[5],
                f[sep + 1..].join(" ")
            ));
            continue;
        }
        if f.len() >= 9 && f[0].len() == 10 {
            // ls -la: the date and time columns are when the start made the node. A
            // directory's size is its entry count on a tmpfs (equal once /dev/log is there;
            // devpts shows 0). The console's minor is the host pty's number.
            let (head, rest) = if f[0].starts_with('c') {
                // crw--w---- 1 root 5 136, 0 Dec 3 14:53 name
                (f[..6].to_vec(), &f[9..])
            } else {
                (f[..5].to_vec(), &f[8..])
            };
            let mut head: Vec<String> = head.iter().map(|s| s.to_string()).collect();
            if rest.first() == Some(&"console") {
                head[5] = "N".into();
            }
            out.push(format!("{} {}", head.join(" "), rest.join(" ")));
            continue;
        }
        out.push(line.trim().to_string());
    }
    out.join("\n")
}

/// Start `t` under LXC with `extra` settings, probe, stop; then under lxc-rs; the probes.
fn side_by_side(t: &TestContainer, extra: &[&str]) -> (String, String) {
    // LXC first, with what lxc_peer.rs gives it: no network of the host's, cgroups below ours.
    let mut args = vec!["-d"];
    args.extend(common::LXC_START_HERE);
    for e in extra {
        args.extend(["-s", e]);
    }
    let o = common::lxc_tool("lxc-start", t, &args);
    assert!(o.status.success(), "lxc-start: {}", show(&o));
    let o = common::lxc_tool("lxc-wait", t, &["-s", "RUNNING", "-t", "30"]);
    assert!(o.status.success(), "lxc-wait: {}", show(&o));
    let lxc = probe(&|s| common::lxc_tool("lxc-attach", t, &["--", "/bin/sh", "-c", s]));
    let o = common::lxc_tool("lxc-stop", t, &["-k"]);
    assert!(o.status.success(), "lxc-stop: {}", show(&o));
    let deadline = Instant::now() + Duration::from_secs(10);
    while common::lxc_tool("lxc-info", t, &["-s", "-H"]).stdout != b"STOPPED\n"
        && Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(50));
    }

    let mut args = vec!["start", "-s", "lxc.net.0.type=empty"];
    for e in extra {
        args.extend(["-s", e]);
    }
    t.ok(&args);
    let ours = probe(&|s| t.lxc(&["attach", "--", "/bin/sh", "-c", s]));
    t.ok(&["stop", "-k"]);
    t.assert_nothing_left();
    (ours, lxc)
}

#[test]
fn dev_and_devpts_agree_with_lxc() {
    require_root!();
    if !common::lxc_tools_present(&["lxc-start", "lxc-stop", "lxc-attach", "lxc-info"]) {
        eprintln!("skipped: LXC's lxc-start is not installed (apt-get install lxc)");
        return;
    }
    let t = TestContainer::busybox("tty-peer");
    // The template's config (lxc.pty.max = 1: the console is the host's), then a devpts big
    // enough for the console to be the container's own, with the ttys in lxc.tty.dir.
    for extra in [&[][..], &["lxc.pty.max=16", "lxc.tty.dir=lxc"][..]] {
        let (ours, lxc) = side_by_side(&t, extra);
        assert_eq!(
            ours.lines().collect::<Vec<_>>(),
            lxc.lines().collect::<Vec<_>>(),
            "with {extra:?}: lxc-rs (left) and LXC (right) differ"
        );
    }
}
