//! Real containers for the lifecycle tests, driven through the `lxc-rs` binary, and the proof
//! that each one leaves nothing behind.
//!
//! `TestContainer::busybox("life")` is `lxcrs-t-life-<pid>` in its own lxcpath
//! `/tmp/lxcrs-t-life-<pid>/`, made with `lxc-rs create -t busybox`. Dropping it kills and
//! destroys the container, then asserts that no cgroup, process, command socket or mount with
//! its name is left, and removes the lxcpath.
//!
//! [`net`]: the network tests' host stand-in namespaces and the containers run in them.

#![allow(dead_code)] // Each test file uses a different part of the fixture.

pub mod net;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_lxc-rs");

/// The variable that names lxc.conf, and the tests' own (tests/data/lxc.conf), so that a
/// `create` without `-f` does not take the host's /etc/lxc/default.conf.
pub const GLOBAL_CONF_ENV: &str = "LXC_GLOBAL_CONF";
pub const TEST_GLOBAL_CONF: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/lxc.conf");

/// The lifecycle needs root (namespaces, cgroups, mounts); without it a test says so and passes.
#[macro_export]
macro_rules! require_root {
    () => {
        if !nix::unistd::Uid::effective().is_root() {
            eprintln!("skipped: starting containers needs root");
            return;
        }
    };
}

pub fn lxc_rs(args: &[&str]) -> Output {
    Command::new(BIN)
        .env(GLOBAL_CONF_ENV, TEST_GLOBAL_CONF)
        .args(args)
        .output()
        .expect("run lxc-rs")
}

/// `lxc-rs <command> -n NAME -P LXCPATH <rest...>` on any container (a clone, a snapshot's
/// restored copy) of any lxcpath.
pub fn lxc_in(lxcpath: &Path, name: &str, args: &[&str]) -> Output {
    let (command, rest) = args.split_first().expect("a command");
    Command::new(BIN)
        .env(GLOBAL_CONF_ENV, TEST_GLOBAL_CONF)
        .arg(command)
        .arg("-n")
        .arg(name)
        .arg("-P")
        .arg(lxcpath)
        .args(rest)
        .output()
        .expect("run lxc-rs")
}

/// [`lxc_in`] that must succeed; returns its stdout.
pub fn ok_in(lxcpath: &Path, name: &str, args: &[&str]) -> String {
    let o = lxc_in(lxcpath, name, args);
    assert!(
        o.status.success(),
        "lxc-rs {args:?} on {name}: {}",
        show(&o)
    );
    stdout(&o)
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The whole of an output, for assertion messages.
pub fn show(o: &Output) -> String {
    format!(
        "status {:?}\nstdout: {}\nstderr: {}",
        o.status.code(),
        stdout(o),
        stderr(o)
    )
}

pub struct TestContainer {
    pub name: String,
    pub lxcpath: PathBuf,
}

impl TestContainer {
    /// The name and an empty lxcpath; no container yet.
    pub fn new(test: &str) -> TestContainer {
        let name = format!("lxcrs-t-{test}-{}", std::process::id());
        let lxcpath = PathBuf::from("/tmp").join(&name);
        let _ = fs::remove_dir_all(&lxcpath);
        fs::create_dir_all(&lxcpath).unwrap();
        TestContainer { name, lxcpath }
    }

    /// A busybox container made by `lxc-rs create -t busybox`.
    pub fn busybox(test: &str) -> TestContainer {
        let t = TestContainer::new(test);
        let o = t.lxc(&["create", "-t", "busybox"]);
        assert!(o.status.success(), "create {}: {}", t.name, show(&o));
        t
    }

    pub fn lxcpath_str(&self) -> &str {
        self.lxcpath.to_str().unwrap()
    }

    pub fn config_file(&self) -> PathBuf {
        self.lxcpath.join(&self.name).join("config")
    }

    /// Add lines at the end of the container's config file.
    pub fn append_config(&self, text: &str) {
        let mut cfg = fs::read_to_string(self.config_file()).unwrap();
        cfg.push_str(text);
        fs::write(self.config_file(), cfg).unwrap();
    }

    /// `lxc-rs <command> -n NAME -P LXCPATH <rest...>`.
    pub fn lxc(&self, args: &[&str]) -> Output {
        let (command, rest) = args.split_first().expect("a command");
        Command::new(BIN)
            .env(GLOBAL_CONF_ENV, TEST_GLOBAL_CONF)
            .arg(command)
            .args(["-n", &self.name, "-P", self.lxcpath_str()])
            .args(rest)
            .output()
            .expect("run lxc-rs")
    }

    /// `lxc-rs <command> ...` that must succeed; returns its stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let o = self.lxc(args);
        assert!(
            o.status.success(),
            "lxc-rs {args:?} on {}: {}",
            self.name,
            show(&o)
        );
        stdout(&o)
    }

    pub fn state(&self) -> String {
        self.ok(&["state"]).trim().to_string()
    }

    /// `info --json`.
    pub fn info(&self) -> serde_json::Value {
        serde_json::from_str(&self.ok(&["info", "--json"])).expect("info --json is JSON")
    }

    /// The init's pid from `info --json`.
    pub fn init_pid(&self) -> i32 {
        let info = self.info();
        info["pid"]
            .as_i64()
            .unwrap_or_else(|| panic!("no pid in {info}")) as i32
    }

    /// The command socket's abstract name as /proc/net/unix shows it (`@` for the NUL), and
    /// its hashed form for names too long for sun_path (FNV-1a of `<lxcpath>/<name>`).
    fn socket_names(&self) -> [String; 2] {
        let key = format!("{}/{}", self.lxcpath.display(), self.name);
        let hash = key.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
        });
        [
            format!("@lxc-rs/{key}/command"),
            format!("@lxc-rs/{hash:016x}/command"),
        ]
    }

    /// Everything on the host that still carries this container's name: cgroup directories,
    /// processes (by command line or cgroup), command sockets and mounts. The lxcpath itself
    /// is not counted: a defined container has its directory there.
    pub fn leftovers(&self) -> Vec<String> {
        let mut found = Vec::new();
        let mut cgroups = Vec::new();
        find_named(Path::new("/sys/fs/cgroup"), &self.name, 6, &mut cgroups);
        found.extend(cgroups.iter().map(|p| format!("cgroup {}", p.display())));

        let me = std::process::id().to_string();
        if let Ok(rd) = fs::read_dir("/proc") {
            for e in rd.flatten() {
                let pid = e.file_name().to_string_lossy().into_owned();
                if !pid.bytes().all(|b| b.is_ascii_digit()) || pid == me {
                    continue;
                }
                let cmdline = fs::read(e.path().join("cmdline"))
                    .map(|b| String::from_utf8_lossy(&b).replace('\0', " "))
                    .unwrap_or_default();
                let cgroup = fs::read_to_string(e.path().join("cgroup")).unwrap_or_default();
                if cmdline.contains(&self.name) || cgroup.contains(&self.name) {
                    found.push(format!("process {pid}: {}", cmdline.trim()));
                }
            }
        }

        let unix = fs::read_to_string("/proc/net/unix").unwrap_or_default();
        let socks = self.socket_names();
        for l in unix.lines() {
            if l.contains(&self.name) || socks.iter().any(|s| l.contains(s.as_str())) {
                found.push(format!("socket {l}"));
            }
        }

        let mounts = fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
        for l in mounts.lines().filter(|l| l.contains(&self.name)) {
            found.push(format!("mount {l}"));
        }
        found
    }

    /// Wait (up to 5 s: a killed monitor's watchdog cleans up on its own time) until nothing
    /// with the name is left, then assert it.
    pub fn assert_nothing_left(&self) {
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut left = self.leftovers();
        while !left.is_empty() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
            left = self.leftovers();
        }
        assert!(
            left.is_empty(),
            "{} left behind:\n{}",
            self.name,
            left.join("\n")
        );
    }

    /// `lxc-rs wait -s want -t within`: true once the container is in that state.
    pub fn wait_state(&self, want: &str, within: Duration) -> bool {
        let o = self.lxc(&[
            "wait",
            "-s",
            want,
            "-t",
            &within.as_secs().max(1).to_string(),
        ]);
        o.status.success()
    }
}

impl Drop for TestContainer {
    fn drop(&mut self) {
        if self.config_file().exists() || self.lxc(&["state"]).status.success() {
            let _ = self.lxc(&["stop", "-k"]);
            if self.config_file().exists() {
                let o = self.lxc(&["destroy", "-f"]);
                if !std::thread::panicking() {
                    assert!(o.status.success(), "destroy {}: {}", self.name, show(&o));
                }
            }
        }
        let result =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.assert_nothing_left()));
        let _ = fs::remove_dir_all(&self.lxcpath);
        // LXC's own tools (used by the LXC-made container test) leave their lock directory for
        // the lxcpath under /run/lxc/lock; it carries our unique name, so it is ours to remove.
        if let Ok(rel) = self.lxcpath.strip_prefix("/") {
            let _ = fs::remove_dir_all(Path::new("/run/lxc/lock").join(rel));
        }
        if !std::thread::panicking() {
            if let Err(e) = result {
                std::panic::resume_unwind(e);
            }
            assert!(
                !self.lxcpath.exists(),
                "{} left behind",
                self.lxcpath.display()
            );
        }
    }
}

/// Directories under `dir` (at most `depth` levels down, symlinks not followed) whose name
/// contains `needle`.
pub fn find_named(dir: &Path, needle: &str, depth: usize, out: &mut Vec<PathBuf>) {
    if depth == 0 {
        return;
    }
    let Ok(rd) = fs::read_dir(dir) else { return };
    for e in rd.flatten() {
        let Ok(ft) = e.file_type() else { continue };
        if !ft.is_dir() {
            continue;
        }
        let p = e.path();
        if e.file_name().to_string_lossy().contains(needle) {
            out.push(p.clone());
        }
        find_named(&p, needle, depth - 1, out);
    }
}

/// Whether Debian's LXC tools (`lxc-start` and the others named) are installed to compare with.
pub fn lxc_tools_present(tools: &[&str]) -> bool {
    tools.iter().all(|t| {
        Command::new(t)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    })
}

/// One of LXC's tools on `t`: `TOOL -n NAME -P LXCPATH ARGS...`.
pub fn lxc_tool(tool: &str, t: &TestContainer, args: &[&str]) -> Output {
    Command::new(tool)
        .args(["-n", &t.name, "-P", t.lxcpath_str()])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("run {tool}: {e}"))
}

/// What LXC's `lxc-start` is given here to start a busybox container on this host: no network
/// of the host's, cgroups below ours, no AppArmor.
pub const LXC_START_HERE: [&str; 6] = [
    "-s",
    "lxc.net.0.type=empty",
    "-s",
    "lxc.cgroup.relative=1",
    "-s",
    "lxc.apparmor.profile=unconfined",
];

/// Whether this is a pure cgroup2 host: one cgroup2 hierarchy at /sys/fs/cgroup and no v1
/// hierarchy this process is in. On this project's hybrid machines a test that needs one says
/// why it does not run and returns; in the qemu guest of `cargo xtask test-matrix --kernel`
/// (`LXC_RS_GUEST=1`) not being on one fails the test instead, so it never passes unrun.
pub fn pure_cgroup2() -> bool {
    let at_root = nix::sys::statfs::statfs("/sys/fs/cgroup")
        .is_ok_and(|s| s.filesystem_type() == nix::sys::statfs::CGROUP2_SUPER_MAGIC);
    let only_v2 = fs::read_to_string("/proc/self/cgroup")
        .is_ok_and(|s| s.lines().all(|l| l.starts_with("0::")));
    if at_root && only_v2 {
        return true;
    }
    assert!(
        std::env::var_os("LXC_RS_GUEST").is_none_or(|v| v != "1"),
        "LXC_RS_GUEST=1, but this is not a pure cgroup2 host (/sys/fs/cgroup cgroup2: \
         {at_root}, only a cgroup2 line in /proc/self/cgroup: {only_v2})"
    );
    eprintln!("skipped: needs a pure cgroup2 host; runs in `cargo xtask test-matrix --kernel`");
    false
}

/// Return from a test that needs a pure cgroup2 host when this is not one (see
/// [`pure_cgroup2`]).
#[macro_export]
macro_rules! require_pure_cgroup2 {
    () => {
        if !$crate::common::pure_cgroup2() {
            return;
        }
    };
}
