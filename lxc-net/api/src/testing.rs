//! Test support (feature `testing`): network namespaces a test makes and removes, so that
//! network tests never touch the machine's own interfaces.
//!
//! Each [`TestNetns`] is a named namespace (`ip netns add lxcrs-t-<tag>-<pid>`): visible to
//! `ip netns exec` for checks with iproute2, and deleted (with every link in it) on drop.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The prefix of everything tests make.
pub const PREFIX: &str = "lxcrs-t-";

/// A named network namespace that lives as long as the value.
#[derive(Debug)]
pub struct TestNetns {
    name: String,
    fd: OwnedFd,
}

impl TestNetns {
    /// `ip netns add lxcrs-t-<tag>-<pid>` (an old one of that name is removed first), with
    /// its loopback up.
    pub fn new(tag: &str) -> Result<TestNetns, String> {
        let name = format!("{PREFIX}{tag}-{}", std::process::id());
        if netns_exists(&name) {
            let _ = ip(&["netns", "del", &name]);
        }
        ip(&["netns", "add", &name])?;
        let path = Path::new("/run/netns").join(&name);
        let fd = std::fs::File::open(&path)
            .map(OwnedFd::from)
            .map_err(|e| format!("opening {}: {e}", path.display()))?;
        let ns = TestNetns { name, fd };
        ns.exec(&["ip", "link", "set", "lo", "up"])?;
        Ok(ns)
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// Run a command inside (`ip netns exec NAME ...`); its stdout, or an error with stderr.
    pub fn exec(&self, argv: &[&str]) -> Result<String, String> {
        let mut args = vec!["netns", "exec", &self.name];
        args.extend_from_slice(argv);
        ip(&args)
    }

    /// Run `f` on a thread that has entered the namespace (as the monitor's thread is in the
    /// host's namespace when a plugin's `create` runs).
    pub fn run<T: Send>(&self, f: impl FnOnce() -> T + Send) -> T {
        let fd = self.fd();
        std::thread::scope(|s| {
            s.spawn(|| {
                enter(fd);
                f()
            })
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p))
        })
    }
}

impl Drop for TestNetns {
    fn drop(&mut self) {
        if let Err(e) = ip(&["netns", "del", &self.name]) {
            eprintln!("removing test netns {}: {e}", self.name);
        }
    }
}

/// Whether `ip netns` knows a namespace called `name`.
pub fn netns_exists(name: &str) -> bool {
    Path::new("/run/netns").join(name).exists()
}

/// The names in `/run/netns` that start with `prefix`.
pub fn netns_with_prefix(prefix: &str) -> Vec<String> {
    std::fs::read_dir("/run/netns")
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with(prefix))
                .collect()
        })
        .unwrap_or_default()
}

/// Whether this process may make network namespaces (tests skip with a message when not).
pub fn can_run() -> bool {
    crate::sys::geteuid() == 0 && Command::new("ip").arg("-V").output().is_ok()
}

/// Build a plugin crate's `.so` (the crate at `manifest_dir`, e.g. `env!("CARGO_MANIFEST_DIR")`)
/// with the running test's profile and target directory, and return its path there
/// (`target/debug/liblxc_net_plugin_<name>.so`). `cargo test` builds a `cdylib` crate only as
/// the rlib its tests link, so a test that loads the `.so` builds it first (cargo releases its
/// lock while tests run; `--offline`: the test's own build fetched everything).
pub fn build_plugin(manifest_dir: &str) -> Result<PathBuf, String> {
    let manifest = Path::new(manifest_dir).join("Cargo.toml");
    let text =
        std::fs::read_to_string(&manifest).map_err(|e| format!("{}: {e}", manifest.display()))?;
    let name = text
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once('=')?;
            (k.trim() == "name").then(|| v.trim().trim_matches('"').to_string())
        })
        .ok_or_else(|| format!("{}: no package name", manifest.display()))?;
    let exe = std::env::current_exe().map_err(|e| format!("the test binary: {e}"))?;
    // target/<profile>/deps/<test binary>
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .ok_or("the test binary is not in target/<profile>/deps")?;
    let mut cmd = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cmd.args(["build", "--offline", "--manifest-path"])
        .arg(&manifest);
    if profile_dir.file_name().is_some_and(|n| n == "release") {
        cmd.arg("--release");
    }
    let out = cmd
        .output()
        .map_err(|e| format!("cargo build {name}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "cargo build {name}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let so = profile_dir.join(format!("lib{}.so", name.replace('-', "_")));
    if so.exists() {
        Ok(so)
    } else {
        Err(format!("cargo build {name} made no {}", so.display()))
    }
}

fn enter(fd: BorrowedFd<'_>) {
    use std::os::fd::AsRawFd;
    if let Err(e) = crate::sys::setns_net(fd.as_raw_fd()) {
        panic!("entering the test network namespace: {e}");
    }
}

fn ip(args: &[&str]) -> Result<String, String> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| format!("ip {}: {e}", args.join(" ")))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}
