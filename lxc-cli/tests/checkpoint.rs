//! Checkpoint / restore through CRIU (`lxc-rs checkpoint`, like lxc-checkpoint).
//!
//! CRIU 3.17 cannot run on this project's host kernel (`criu check`: "vdso: Failed to fill
//! self vdso symtable"): the dump / restore tests run in the qemu guest of `cargo xtask
//! test-matrix --kernel lxc-cli/checkpoint` (LXC_RS_GUEST=1), where criu must work. On the host
//! they check that a checkpoint fails with criu's own words and leaves the container running.
//! Everything else (refusals, the command line criu gets, compared with the one Debian's LXC
//! gives it, a missing or failing criu) runs anywhere, with a stand-in criu on PATH.

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{show, stderr, TestContainer, BIN, GLOBAL_CONF_ENV, TEST_GLOBAL_CONF};

fn in_guest() -> bool {
    std::env::var_os("LXC_RS_GUEST").is_some_and(|v| v == "1")
}

/// Whether the real criu works on this kernel; in the guest it must.
fn criu_works() -> Result<(), String> {
    let o = Command::new("criu").arg("check").output();
    let r = match o {
        Ok(o) if o.status.success() => Ok(()),
        Ok(o) => Err(format!("`criu check` fails here: {}", stderr(&o).trim())),
        Err(e) => Err(format!("cannot run criu: {e}")),
    };
    if in_guest() {
        if let Err(e) = &r {
            panic!("LXC_RS_GUEST=1 but {e}");
        }
    }
    r
}

/// Return from a test that needs a working criu where there is none (on the host: its
/// kernel), saying why; in the guest there must be one.
macro_rules! require_criu {
    () => {
        if let Err(why) = criu_works() {
            eprintln!("SKIP: {why}; runs in `cargo xtask test-matrix --kernel lxc-cli/checkpoint`");
            return;
        }
    };
}

/// A busybox container as LXC's CRIU notes ask for one: no ttys, whose masters the monitor
/// holds outside the dumped tree.
fn busybox(test: &str, extra: &str) -> TestContainer {
    let t = TestContainer::busybox(test);
    t.append_config(&format!("lxc.tty.max = 0\n{extra}"));
    t
}

/// `lxc-rs checkpoint -n NAME -P LXCPATH ARGS` with `path` first on PATH (a stand-in criu).
fn checkpoint_with_path(t: &TestContainer, path: Option<&Path>, args: &[&str]) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.env(GLOBAL_CONF_ENV, TEST_GLOBAL_CONF)
        .arg("checkpoint")
        .args(["-n", &t.name, "-P", t.lxcpath_str()])
        .args(args);
    if let Some(p) = path {
        let old = std::env::var("PATH").unwrap_or_default();
        cmd.env("PATH", format!("{}:{old}", p.display()));
    }
    cmd.output().expect("run lxc-rs checkpoint")
}

fn attach_out(t: &TestContainer, script: &str) -> String {
    t.ok(&["attach", "--", "/bin/sh", "-c", script])
}

#[test]
fn dump_and_restore_a_busybox_container() {
    require_root!();
    require_criu!();
    let t = busybox("ckpt-dr", "lxc.console.path = none\n");
    t.ok(&["start"]);
    // A tmpfs's content is part of the dump: it comes back only if the restore is real.
    attach_out(&t, "echo before-dump > /dev/shm/marker");
    let before = t.init_pid();
    let dir = t.lxcpath.join("ckpt");
    checkpoint_ok(&t, &dir, &["-s", "-v"]);
    assert!(dir.join("inventory.img").is_file());
    assert_eq!(
        t.state(),
        "STOPPED",
        "-s stops the container after the dump"
    );
    checkpoint_ok(&t, &dir, &["-r", "-v"]);
    assert_eq!(t.state(), "RUNNING");
    let after = t.init_pid();
    eprintln!("init pid before {before}, after {after}");
    let cgroup = fs::read_to_string(format!("/proc/{after}/cgroup")).unwrap();
    assert!(
        cgroup.contains(&t.name),
        "restored init's cgroups: {cgroup}"
    );
    let stat = fs::read_to_string(format!("/proc/{after}/stat")).unwrap();
    let ppid = stat
        .rsplit_once(')')
        .unwrap()
        .1
        .split_whitespace()
        .nth(1)
        .unwrap();
    let parent = fs::read(format!("/proc/{ppid}/cmdline")).unwrap();
    assert!(
        String::from_utf8_lossy(&parent).starts_with("[lxc monitor]"),
        "the restored init's parent is {:?}",
        String::from_utf8_lossy(&parent)
    );
    // The restored init is the monitor's child, in the container's cgroup, and the tmpfs
    // came back; attach, info and stop work on it as on a started one.
    assert_eq!(attach_out(&t, "cat /dev/shm/marker").trim(), "before-dump");
    assert_eq!(
        attach_out(&t, "echo $$ >/dev/null; cat /proc/1/comm").trim(),
        "init"
    );
    let info = t.info();
    assert_eq!(info["state"], "RUNNING", "{info}");
    t.ok(&["stop", "-k"]);
    assert_eq!(t.state(), "STOPPED");
    t.assert_nothing_left();
}

/// `checkpoint` that must succeed, with criu's log in the message when it does not.
fn checkpoint_ok(t: &TestContainer, dir: &Path, args: &[&str]) {
    let o = t.lxc(&[&["checkpoint", "-D", dir.to_str().unwrap()][..], args].concat());
    if !o.status.success() {
        let action = if args.contains(&"-r") {
            "restore"
        } else if args.contains(&"-p") {
            "pre-dump"
        } else {
            "dump"
        };
        let log = fs::read_to_string(dir.join(format!("{action}.log"))).unwrap_or_default();
        let errors: Vec<&str> = log.lines().filter(|l| l.contains("Error")).collect();
        panic!(
            "checkpoint {args:?}: {}\n{action}.log errors:\n{}",
            show(&o),
            errors.join("\n")
        );
    }
}

#[test]
fn pre_dump_dump_and_restore_with_the_console() {
    require_root!();
    require_criu!();
    // The console stays: its tty is dumped as external and the restore gives it a new one.
    let t = busybox("ckpt-con", "lxc.console.buffer.size = 65536\n");
    t.ok(&["start"]);
    attach_out(&t, "echo kept > /dev/shm/marker");
    let pre = t.lxcpath.join("ckpt/pre");
    let fin = t.lxcpath.join("ckpt/final");
    checkpoint_ok(&t, &pre, &["-p"]);
    assert_eq!(
        t.state(),
        "RUNNING",
        "a pre-dump leaves the container running"
    );
    checkpoint_ok(&t, &fin, &["--predump-dir", "../pre"]);
    assert_eq!(t.state(), "RUNNING", "a dump without -s leaves it running");
    assert!(fin.join("inventory.img").is_file());
    assert!(
        fin.join("tty.info").is_file(),
        "the console's tty is recorded"
    );
    // A directory that holds a dump is refused, and the container is untouched.
    let o = t.lxc(&["checkpoint", "-D", fin.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", show(&o));
    assert!(
        stderr(&o).contains("please use a fresh directory"),
        "{}",
        show(&o)
    );
    assert_eq!(t.state(), "RUNNING");
    // Restoring a running container is refused.
    let o = t.lxc(&["checkpoint", "-D", fin.to_str().unwrap(), "-r"]);
    assert_eq!(o.status.code(), Some(1), "{}", show(&o));
    assert!(
        stderr(&o).contains("is running, not restoring"),
        "{}",
        show(&o)
    );

    t.ok(&["stop", "-k"]);
    checkpoint_ok(&t, &fin, &["-r"]);
    assert_eq!(t.state(), "RUNNING");
    assert_eq!(attach_out(&t, "cat /dev/shm/marker").trim(), "kept");
    assert_eq!(
        attach_out(&t, "echo to-console > /dev/console && echo written").trim(),
        "written"
    );
    // The monitor reads the restored console like a started one's: into its ring buffer.
    let mut seen = String::new();
    for _ in 0..50 {
        let o = t.lxc(&["console-log"]);
        assert!(o.status.success(), "{}", show(&o));
        seen = String::from_utf8_lossy(&o.stdout).into_owned();
        if seen.contains("to-console") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(seen.contains("to-console"), "console-log: {seen:?}");
    t.ok(&["stop", "-k"]);
    t.assert_nothing_left();
}

#[test]
fn a_foreground_restore_of_a_veth_container() {
    require_root!();
    require_criu!();
    let t = busybox(
        "ckpt-fg",
        "lxc.console.path = none\nlxc.net.0.type = veth\nlxc.net.0.name = eth0\n\
         lxc.net.0.flags = up\n",
    );
    t.ok(&["start"]);
    let mac = |text: &str| {
        text.lines()
            .find_map(|l| l.trim().strip_prefix("link/ether "))
            .map(|r| r.split_whitespace().next().unwrap_or("").to_string())
    };
    let before = attach_out(&t, "ip link show eth0");
    assert!(mac(&before).is_some(), "{before}");
    let dir = t.lxcpath.join("ckpt");
    checkpoint_ok(&t, &dir, &["-s", "-v"]);
    assert_eq!(t.state(), "STOPPED");
    // -F: this process is the monitor until the container stops.
    let mut fg = Command::new(BIN)
        .env(GLOBAL_CONF_ENV, TEST_GLOBAL_CONF)
        .args([
            "checkpoint",
            "-n",
            &t.name,
            "-P",
            t.lxcpath_str(),
            "-r",
            "-F",
            "-D",
        ])
        .arg(&dir)
        .spawn()
        .unwrap();
    assert!(
        t.wait_state("RUNNING", std::time::Duration::from_secs(60)),
        "the foreground restore never ran the container"
    );
    // criu made the veth pair again: the container's side keeps its name and MAC.
    let after = attach_out(&t, "ip link show eth0");
    let log = fs::read_to_string(dir.join("restore.log")).unwrap_or_default();
    let net: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("net") || l.contains("ip ") || l.contains("Error"))
        .collect();
    assert_eq!(
        mac(&after),
        mac(&before),
        "before:\n{before}\nafter:\n{after}\nrestore.log:\n{}",
        net.join("\n")
    );
    t.ok(&["stop", "-k"]);
    let status = fg.wait().unwrap();
    assert!(status.success(), "the foreground monitor exited {status}");
    t.assert_nothing_left();
}

#[test]
fn the_api_checkpoints_restores_and_migrates() {
    require_root!();
    require_criu!();
    use lxc::criu::{CriuExt, MigrateCmd, MigrateOpts};
    let t = busybox("ckpt-api", "lxc.console.path = none\n");
    let c = lxc::Container::new(&t.name, Some(&t.lxcpath)).unwrap();
    t.ok(&["start"]);
    attach_out(&t, "echo api > /dev/shm/marker");
    // checkpoint(directory, stop, verbose), then restore(directory, verbose).
    let one = t.lxcpath.join("one");
    c.checkpoint(&one, true, false).unwrap();
    assert_eq!(t.state(), "STOPPED");
    c.restore(&one, false).unwrap();
    assert_eq!(t.state(), "RUNNING");
    assert_eq!(attach_out(&t, "cat /dev/shm/marker").trim(), "api");
    // migrate: a pre-dump, then the dump on top of it, then the restore.
    let mut pre = MigrateOpts::new(t.lxcpath.join("two/pre"));
    c.migrate(MigrateCmd::PreDump, &mut pre).unwrap();
    let mut fin = MigrateOpts::new(t.lxcpath.join("two/final"));
    fin.predump_dir = Some("../pre".into());
    fin.stop = true;
    c.migrate(MigrateCmd::Dump, &mut fin).unwrap();
    assert_eq!(t.state(), "STOPPED");
    c.migrate(MigrateCmd::Restore, &mut fin).unwrap();
    assert_eq!(t.state(), "RUNNING");
    assert_eq!(attach_out(&t, "cat /dev/shm/marker").trim(), "api");
    // A restore of a running container is refused.
    let e = c.migrate(MigrateCmd::Restore, &mut fin).unwrap_err();
    assert!(e.to_string().contains("is running, not restoring"), "{e}");
    t.ok(&["stop", "-k"]);
    t.assert_nothing_left();
}

#[test]
fn a_failed_restore_leaves_nothing() {
    require_root!();
    require_criu!();
    let t = busybox("ckpt-badr", "lxc.console.path = none\n");
    t.ok(&["start"]);
    let dir = t.lxcpath.join("ckpt");
    checkpoint_ok(&t, &dir, &["-s"]);
    assert_eq!(t.state(), "STOPPED");
    fs::remove_file(dir.join("pstree.img")).unwrap();
    let o = t.lxc(&["checkpoint", "-D", dir.to_str().unwrap(), "-r", "-v"]);
    assert_eq!(o.status.code(), Some(1), "{}", show(&o));
    let err = stderr(&o);
    assert!(err.contains("criu restore failed"), "{err}");
    // criu's own words: its errors, or (criu 3.17 crashes on a dump without its process
    // tree) how it died and the end of its log.
    assert!(
        err.contains("Error (criu/") || err.contains("killed by signal"),
        "{err}"
    );
    assert!(!err.contains("criu said nothing"), "{err}");
    assert_eq!(t.state(), "STOPPED");
    t.assert_nothing_left();
}

#[test]
fn a_checkpoint_of_a_stopped_container_is_refused() {
    require_root!();
    let t = busybox("ckpt-stopped", "");
    let dir = t.lxcpath.join("ckpt");
    let o = t.lxc(&["checkpoint", "-D", dir.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", show(&o));
    assert!(
        stderr(&o).contains("not running, not checkpointing"),
        "{}",
        show(&o)
    );
    assert!(!dir.exists(), "a refused checkpoint makes no directory");
}

#[test]
fn lxc_checkpoints_refusals() {
    require_root!();
    let t = busybox("ckpt-flags", "");
    for (args, says) in [
        (&["-D", "/x", "-r", "-s"][..], "-s not compatible with -r"),
        (&["-D", "/x", "-d"][..], "-d/-F not compatible with -r"),
        (&["-D", "/x", "-F"][..], "-d/-F not compatible with -r"),
        (&["-s"][..], "-D is required"),
        (&["-D", "/x", "-r", "-p"][..], "-p not compatible with -r"),
    ] {
        let o = t.lxc(&[&["checkpoint"][..], args].concat());
        assert_eq!(o.status.code(), Some(1), "{args:?}: {}", show(&o));
        assert!(stderr(&o).contains(says), "{args:?}: {}", show(&o));
    }
}

/// A stand-in criu in a directory of its own: `--version` says 3.17.1, `check` fails, anything
/// else writes its arguments (one a line) to `argv` in that directory, says why on stderr and
/// exits 1, as a criu that cannot dump.
struct FakeCriu {
    dir: PathBuf,
}

impl FakeCriu {
    fn new(t: &TestContainer) -> FakeCriu {
        let dir = t.lxcpath.join("fake-criu");
        fs::create_dir_all(&dir).unwrap();
        let script = format!(
            "#!/bin/sh\n\
             case \"$1\" in --version) echo 'Version: 3.17.1'; exit 0;; check) exit 1;; esac\n\
             for a in \"$0\" \"$@\"; do printf '%s\\n' \"$a\"; done > {argv}\n\
             echo 'Error (criu/fake.c:1): fake criu cannot dump' >&2\n\
             exit 1\n",
            argv = dir.join("argv").display()
        );
        let path = dir.join("criu");
        fs::write(&path, script).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
        FakeCriu { dir }
    }

    /// The arguments of the last run, and forget them.
    fn take_argv(&self) -> Vec<String> {
        let p = self.dir.join("argv");
        let text = fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        fs::remove_file(&p).unwrap();
        text.lines().map(str::to_string).collect()
    }

    /// Whether criu ran since the last [`take_argv`](Self::take_argv).
    fn ran(&self) -> bool {
        self.dir.join("argv").exists()
    }
}

/// What a failed checkpoint must leave: the container running, thawed, and of the directory
/// at most criu's log.
fn assert_left_running(t: &TestContainer, dir: &Path) {
    assert_eq!(t.state(), "RUNNING");
    if dir.exists() {
        let left: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| !n.ends_with(".log"))
            .collect();
        assert!(
            left.is_empty(),
            "a failed checkpoint left {left:?} in {}",
            dir.display()
        );
    }
}

#[test]
fn a_failing_criu_is_named_and_the_container_runs_on() {
    require_root!();
    let t = busybox("ckpt-fail", "lxc.cgroup.relative = 1\n");
    t.ok(&["start"]);
    let fake = FakeCriu::new(&t);
    let dir = t.lxcpath.join("ckpt");
    let o = checkpoint_with_path(&t, Some(&fake.dir), &["-D", dir.to_str().unwrap(), "-s"]);
    assert_eq!(o.status.code(), Some(1), "{}", show(&o));
    let err = stderr(&o);
    assert!(err.contains("criu dump failed (exit status 1)"), "{err}");
    assert!(
        err.contains("fake criu cannot dump"),
        "criu's own words: {err}"
    );
    assert!(!fake.take_argv().is_empty());
    assert_left_running(&t, &dir);
    assert!(
        !dir.exists(),
        "the directory this checkpoint made is gone with it"
    );

    // No criu at all: named, nothing made.
    let empty = t.lxcpath.join("no-criu");
    fs::create_dir_all(&empty).unwrap();
    let o = Command::new(BIN)
        .env(GLOBAL_CONF_ENV, TEST_GLOBAL_CONF)
        .env("PATH", &empty)
        .args(["checkpoint", "-n", &t.name, "-P", t.lxcpath_str(), "-D"])
        .arg(&dir)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", show(&o));
    assert!(stderr(&o).contains("cannot run criu"), "{}", show(&o));
    assert_left_running(&t, &dir);
}

#[test]
fn on_this_kernel_a_checkpoint_fails_with_criu_s_words() {
    require_root!();
    let Err(why) = criu_works() else {
        eprintln!("SKIP: criu works on this kernel: the dump and restore test covers it");
        return;
    };
    eprintln!("{why}");
    let t = busybox("ckpt-host", "lxc.cgroup.relative = 1\n");
    t.ok(&["start"]);
    let dir = t.lxcpath.join("ckpt");
    let o = checkpoint_with_path(&t, None, &["-D", dir.to_str().unwrap(), "-s"]);
    assert_eq!(o.status.code(), Some(1), "{}", show(&o));
    let err = stderr(&o);
    assert!(err.contains("criu dump failed"), "{err}");
    // criu's own reason, e.g. "vdso: Failed to fill self vdso symtable".
    assert!(err.contains("Error (criu/"), "{err}");
    assert_left_running(&t, &dir);
    assert!(
        dir.join("dump.log").is_file(),
        "criu's log stays for its reasons"
    );
    // The container still works.
    assert_eq!(attach_out(&t, "echo alive").trim(), "alive");
}

/// LXC's and lxc-rs's lines side by side, with what differs by nature (pids, cgroup and dump
/// paths, tty numbers) made alike.
fn normalized(argv: &[String], dir: &Path, name: &str) -> Vec<String> {
    let d = dir.display().to_string();
    let mut out = Vec::new();
    let mut prev = String::new();
    for (i, a) in argv.iter().enumerate() {
        let v = if i == 0 {
            // Both found the same stand-in on PATH; its directory carries a test's name.
            Path::new(a)
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned()
        } else if prev == "-t" {
            "PID".to_string()
        } else if prev == "--cgroup-root" {
            // The controllers stay; the container's cgroup is named by each runtime.
            let ctl = a.split_once(':').map(|(c, _)| c).unwrap_or("");
            format!("{ctl}:CG")
        } else if prev == "--freeze-cgroup" {
            let hier = if a.starts_with("/sys/fs/cgroup/freezer/") {
                "freezer/"
            } else {
                ""
            };
            format!("/sys/fs/cgroup/{hier}CG")
        } else if prev == "--external" && a.starts_with("tty[") {
            "tty[RDEV:DEV]".to_string()
        } else if prev == "--inherit-fd" {
            // The console's fd number in each runtime's criu.
            let tty = a.split_once(':').map(|(_, t)| t).unwrap_or("");
            format!("fd[N]:{tty}")
        } else if prev == "--ext-mount-map" && a.starts_with("console:/dev/pts/") {
            "console:/dev/pts/N".to_string()
        } else if prev == "--external" && a.starts_with("veth[") {
            // LXC's random host-side name, vethXXXXXX (a configured veth.pair stays).
            match a.split_once(':') {
                Some((head, host))
                    if host.len() == 10
                        && host.starts_with("veth")
                        && host[4..].chars().all(|c| c.is_ascii_alphanumeric()) =>
                {
                    format!("{head}:vethXXXXXX")
                }
                _ => a.clone(),
            }
        } else {
            a.replace(&d, "DIR").replace(name, "NAME")
        };
        prev = a.clone();
        out.push(v);
    }
    out
}

/// The `--cgroup-root` values, sorted: the runtimes list hierarchies in their own order.
fn split_cgroup_roots(argv: Vec<String>) -> (Vec<String>, Vec<String>) {
    let mut rest = Vec::new();
    let mut roots = Vec::new();
    let mut it = argv.into_iter();
    while let Some(a) = it.next() {
        if a == "--cgroup-root" {
            roots.push(it.next().unwrap_or_default());
        } else {
            rest.push(a);
        }
    }
    roots.sort();
    (rest, roots)
}

#[test]
fn criu_gets_lxc_s_dump_command_line() {
    require_root!();
    if !common::lxc_tools_present(&["lxc-start", "lxc-checkpoint", "lxc-stop"]) {
        eprintln!("SKIP: Debian's LXC tools are not installed");
        return;
    }
    // Every bind entry, the console and the options that change the line.
    let extra = "lxc.cgroup.relative = 1\nlxc.mount.entry = /usr/share usr/share none ro,bind,create=dir 0 0\n";
    let ours = busybox("ckpt-argv", extra);
    let theirs = busybox("ckpt-argv-lxc", extra);
    let fake = FakeCriu::new(&ours);
    ours.ok(&["start"]);
    let o = common::lxc_tool(
        "lxc-start",
        &theirs,
        &[&["-d"][..], &common::LXC_START_HERE].concat(),
    );
    assert!(o.status.success(), "lxc-start: {}", show(&o));
    let stop_lxc = || {
        let _ = common::lxc_tool("lxc-stop", &theirs, &["-k"]);
    };
    let path = format!(
        "{}:{}",
        fake.dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    for (args, what) in [
        (&["-s", "-v"][..], "dump -s -v"),
        (&["-A", "/bin/true"][..], "dump with an action script"),
        (&["-p", "--predump-dir", "../pre"][..], "pre-dump"),
        (&["--predump-dir", "../pre"][..], "dump after a pre-dump"),
    ] {
        let dir_o = ours.lxcpath.join("d");
        let dir_t = theirs.lxcpath.join("d");
        let o = checkpoint_with_path(
            &ours,
            Some(&fake.dir),
            &[&["-D", dir_o.to_str().unwrap()][..], args].concat(),
        );
        assert_eq!(o.status.code(), Some(1), "{what}: {}", show(&o));
        let mine = fake.take_argv();
        let o = Command::new("lxc-checkpoint")
            .env("PATH", &path)
            .args(["-n", &theirs.name, "-P", theirs.lxcpath_str(), "-D"])
            .arg(&dir_t)
            .args(args)
            .output()
            .unwrap();
        if o.status.success() {
            stop_lxc();
            panic!(
                "{what}: LXC's checkpoint succeeded with a criu that fails: {}",
                show(&o)
            );
        }
        let lxc = fake.take_argv();
        let (mine, my_roots) = split_cgroup_roots(normalized(&mine, &dir_o, &ours.name));
        let (lxc, lxc_roots) = split_cgroup_roots(normalized(&lxc, &dir_t, &theirs.name));
        eprintln!("{what}:\n  lxc-rs: {mine:?} {my_roots:?}\n  LXC:    {lxc:?} {lxc_roots:?}");
        if mine != lxc || my_roots != lxc_roots {
            stop_lxc();
        }
        assert_eq!(mine, lxc, "{what}: criu's line differs from LXC's");
        assert_eq!(
            my_roots, lxc_roots,
            "{what}: the --cgroup-root hierarchies differ"
        );
        assert_left_running(&ours, &dir_o);
        let _ = fs::remove_dir_all(&dir_o);
        let _ = fs::remove_dir_all(&dir_t);
    }
    stop_lxc();
}

#[test]
fn criu_gets_lxc_s_restore_command_line() {
    require_root!();
    if !common::lxc_tools_present(&["lxc-checkpoint"]) {
        eprintln!("SKIP: Debian's LXC tools are not installed");
        return;
    }
    let extra = "lxc.cgroup.relative = 1\n\
                 lxc.mount.entry = /usr/share usr/share none ro,bind,create=dir 0 0\n\
                 lxc.net.0.type = veth\nlxc.net.0.name = eth0\n\
                 lxc.net.1.type = veth\nlxc.net.1.veth.pair = lxcrst0\n";
    let ours = busybox("ckpt-rargv", extra);
    let theirs = busybox("ckpt-rargv-lxc", extra);
    let fake = FakeCriu::new(&ours);
    let path = format!(
        "{}:{}",
        fake.dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    // A dump as a criu would leave it, with the console's tty.
    let dump = |t: &TestContainer| {
        let d = t.lxcpath.join("d");
        fs::create_dir_all(&d).unwrap();
        fs::write(d.join("inventory.img"), b"").unwrap();
        fs::write(d.join("tty.info"), b"tty[8800:1b]").unwrap();
        d
    };
    let (dir_o, dir_t) = (dump(&ours), dump(&theirs));
    let o = checkpoint_with_path(
        &ours,
        Some(&fake.dir),
        &["-r", "-D", dir_o.to_str().unwrap(), "-v"],
    );
    assert_eq!(o.status.code(), Some(1), "{}", show(&o));
    assert!(stderr(&o).contains("criu restore failed"), "{}", show(&o));
    assert!(stderr(&o).contains("fake criu cannot dump"), "{}", show(&o));
    assert_eq!(ours.state(), "STOPPED");
    ours.assert_nothing_left();
    let mine = fake.take_argv();
    let o = Command::new("lxc-checkpoint")
        .env("PATH", &path)
        .args([
            "-n",
            &theirs.name,
            "-P",
            theirs.lxcpath_str(),
            "-r",
            "-v",
            "-D",
        ])
        .arg(&dir_t)
        .output()
        .unwrap();
    assert!(
        !o.status.success(),
        "LXC's restore succeeded with a criu that fails"
    );
    if !fake.ran() && in_guest() {
        // On the guest's pure cgroup2 host LXC 5.0.2's restore fails before it runs criu.
        eprintln!("SKIP: LXC's restore did not reach criu here: {}", show(&o));
        return;
    }
    let lxc = fake.take_argv();
    let mine = normalized(&mine, &dir_o, &ours.name);
    let mut lxc = normalized(&lxc, &dir_t, &theirs.name);
    // The one deliberate difference: a bind's source with its symlinks resolved (criu cannot
    // bind /lib where it is a link to usr/lib; LXC passes it as written).
    for i in 1..lxc.len() {
        if lxc[i - 1] == "--ext-mount-map" {
            if let Some((dst, src)) = lxc[i].split_once(':').filter(|(_, s)| s.starts_with('/')) {
                if let Ok(real) = fs::canonicalize(src) {
                    lxc[i] = format!("{dst}:{}", real.display());
                }
            }
        }
    }
    // The rootfs mount point is LXC's compiled-in one in both; the cgroups, as above.
    let (mine, my_roots) = split_cgroup_roots(mine);
    let (lxc, lxc_roots) = split_cgroup_roots(lxc);
    eprintln!("restore:\n  lxc-rs: {mine:?} {my_roots:?}\n  LXC:    {lxc:?} {lxc_roots:?}");
    assert_eq!(mine, lxc, "criu's restore line differs from LXC's");
    assert_eq!(my_roots, lxc_roots, "the --cgroup-root hierarchies differ");
}

#[test]
fn feature_check_answers_for_each_bit() {
    require_root!();
    use lxc::criu::{CriuExt, MigrateCmd, MigrateOpts, FEATURE_LAZY_PAGES, FEATURE_MEM_TRACK};
    let t = busybox("ckpt-feat", "");
    let c = lxc::Container::new(&t.name, Some(&t.lxcpath)).unwrap();
    // Unknown bits: no answer at all, as LXC.
    let mut opts = MigrateOpts::new(t.lxcpath.join("d"));
    opts.features_to_check = 1 << 5 | FEATURE_MEM_TRACK;
    let e = c.migrate(MigrateCmd::FeatureCheck, &mut opts).unwrap_err();
    assert!(e.to_string().contains("unknown feature bits 0x20"), "{e}");
    assert_eq!(opts.features_to_check, 0);
    // Known bits: each one criu says it lacks is cleared (a criu that cannot run lacks all).
    let mut opts = MigrateOpts::new(t.lxcpath.join("d"));
    opts.features_to_check = FEATURE_MEM_TRACK | FEATURE_LAZY_PAGES;
    let r = c.migrate(MigrateCmd::FeatureCheck, &mut opts);
    let has = |f: &str| {
        Command::new("criu")
            .args(["check", "--feature", f])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    let want = if has("mem_dirty_track") {
        FEATURE_MEM_TRACK
    } else {
        0
    } | if has("uffd-noncoop") {
        FEATURE_LAZY_PAGES
    } else {
        0
    };
    if want == FEATURE_MEM_TRACK | FEATURE_LAZY_PAGES {
        assert!(r.is_ok(), "{r:?}");
    } else {
        assert!(r.is_err());
        assert_eq!(opts.features_to_check, want);
    }
    if in_guest() {
        // The guest's kernel tracks dirty memory: pre-dump works there.
        assert_ne!(
            want & FEATURE_MEM_TRACK,
            0,
            "criu lacks mem_dirty_track in the guest"
        );
    }
}
