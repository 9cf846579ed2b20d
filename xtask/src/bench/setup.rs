//! What the bench needs before it measures anything: the tools it compares against, release
//! builds of lxc-rs and the config-load timer, and one work directory holding every container,
//! bundle and file it makes, removed again by a guard whatever happens.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::run::{capture_stdout, cargo, display, fail, json_string_field, Result};

/// Debian packages the bench runs, beyond what `deps::ensure_apt_packages` installs for every
/// task (lxc, lxc-dev, busybox-static, pkg-config are there).
const BENCH_PACKAGES: &[(&str, &str)] = &[
    ("runc", "`runc run`, one of the runtimes compared"),
    ("crun", "`crun run`, one of the runtimes compared"),
    ("hyperfine", "times every lifecycle row in one invocation"),
    ("time", "/usr/bin/time -f %M: the peak RSS of each runtime"),
];

/// Install the missing [`BENCH_PACKAGES`] (the bench runs as root: it starts containers).
pub fn ensure_bench_packages() -> Result<()> {
    if !crate::deps::is_root()? {
        return Err(fail(
            "the bench starts containers with LXC, runc, crun and lxc-rs: run it as root",
        ));
    }
    crate::deps::ensure_apt_packages()?;
    crate::deps::ensure(BENCH_PACKAGES)
}

/// The installed version of a Debian package, `None` when it is not (fully) installed.
pub fn package_version(pkg: &str) -> Option<String> {
    let out = Command::new("dpkg-query")
        .args(["-W", "-f=${Status}\t${Version}", pkg])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let (status, version) = text.split_once('\t')?;
    (out.status.success() && status == "install ok installed").then(|| version.to_string())
}

/// The two release binaries the bench runs.
pub struct Built {
    pub lxc_rs: PathBuf,
    pub config_load: PathBuf,
    pub console_ring: PathBuf,
}

/// Build `lxc-rs` and the config-load timer in release, in one cargo invocation so the library
/// is compiled once, with the same features for both.
pub fn build_release() -> Result<Built> {
    let mut cmd = cargo([
        "build",
        "--release",
        "--message-format=json-render-diagnostics",
        "-p",
        "lxc-cli",
        "--bin",
        "lxc-rs",
        "-p",
        "xtask",
        "--bin",
        "lxcrs-bench-config-load",
        "--bin",
        "lxcrs-bench-console-ring",
        "--features",
        "xtask/bench-config-load",
    ]);
    eprintln!("$ {}", display(&cmd));
    let out = capture_stdout(&mut cmd)?;
    let executable = |name: &str| {
        out.lines()
            .filter(|l| l.contains("\"reason\":\"compiler-artifact\""))
            .filter_map(|l| json_string_field(l, "executable"))
            .map(PathBuf::from)
            .find(|p| p.file_name().is_some_and(|n| n == name))
            .ok_or_else(|| fail(format!("cargo built no `{name}` executable")))
    };
    let lxc_rs = executable("lxc-rs")?;
    // `lxc-rs execute -s lxc.net.0.type=veth` (the one-veth rows) needs its plugin beside it.
    crate::run::build_net_plugins(lxc_rs.parent().unwrap_or(Path::new(".")), true)?;
    Ok(Built {
        lxc_rs,
        config_load: executable("lxcrs-bench-config-load")?,
        console_ring: executable("lxcrs-bench-console-ring")?,
    })
}

/// Everything one bench run makes on the host lives under `/tmp/lxcrs-bench-<pid>/` and is
/// named `lxcrs-bench-<pid>-*`; dropping this guard stops what still runs and removes it all.
pub struct Workdir {
    pub root: PathBuf,
    /// `lxcrs-bench-<pid>`: the prefix of every container name and OCI id.
    pub tag: String,
    pub lxc_rs: PathBuf,
    /// lxcpath of the lxc-rs containers.
    pub rs_path: PathBuf,
    /// lxcpath of the LXC containers.
    pub lxc_path: PathBuf,
    /// The OCI bundle shared by runc and crun.
    pub bundle: PathBuf,
    /// lxcpaths of the idle fleets (minimal init, [`super::idle`]): their own, so that every
    /// runtime process of such an lxcpath is one of theirs.
    pub idle_rs_path: PathBuf,
    pub idle_lxc_path: PathBuf,
}

impl Workdir {
    pub fn create(lxc_rs: &Path) -> Result<Workdir> {
        let tag = format!("lxcrs-bench-{}", std::process::id());
        let root = std::env::temp_dir().join(&tag);
        if root.exists() {
            return Err(fail(format!(
                "{} already exists (a bench with this pid was interrupted?): remove it first",
                root.display()
            )));
        }
        let w = Workdir {
            rs_path: root.join("rs"),
            lxc_path: root.join("lxc"),
            bundle: root.join("oci"),
            idle_rs_path: root.join("idle-rs"),
            idle_lxc_path: root.join("idle-lxc"),
            root,
            tag,
            lxc_rs: lxc_rs.to_path_buf(),
        };
        for dir in [
            &w.root,
            &w.rs_path,
            &w.lxc_path,
            &w.bundle,
            &w.idle_rs_path,
            &w.idle_lxc_path,
        ] {
            mkdir(dir)?;
        }
        Ok(w)
    }

    pub fn rs_name(&self) -> String {
        format!("{}-rs", self.tag)
    }

    pub fn lxc_name(&self) -> String {
        format!("{}-lxc", self.tag)
    }

    pub fn runc_id(&self) -> String {
        format!("{}-runc", self.tag)
    }

    pub fn crun_id(&self) -> String {
        format!("{}-crun", self.tag)
    }

    /// The busybox rootfs every runtime runs: lxc-rs's container's (LXC's container has an
    /// identical one of its own, made by LXC's busybox template).
    pub fn rootfs(&self) -> PathBuf {
        self.rs_path.join(self.rs_name()).join("rootfs")
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    /// The lxc-rs container (`lxc-rs create -t busybox`) and the LXC one (`lxc-create -t
    /// busybox`), both with an empty config so /etc/lxc/default.conf's network is not added
    /// (both templates write the same config), and the OCI bundle over lxc-rs's rootfs.
    pub fn prepare(&self) -> Result<()> {
        let rs = self.rs_name();
        let empty = self.path("empty.conf");
        write(&empty, "")?;
        let mut create = Command::new(&self.lxc_rs);
        create.args(["create", "-t", "busybox", "-n", &rs, "-f"]);
        create.arg(&empty).arg("-P").arg(&self.rs_path);
        quiet(&mut create)?;

        let mut create = Command::new("lxc-create");
        create
            .arg("-P")
            .arg(&self.lxc_path)
            .args(["-n", &self.lxc_name(), "-t", "busybox", "-f"])
            .arg(&empty);
        quiet(&mut create)?;

        self.write_bundle()
    }

    /// `runc spec`, then the same container as the others: /bin/true on the busybox rootfs,
    /// no terminal, writable root, and the spec's namespaces (mount pid uts ipc net).
    fn write_bundle(&self) -> Result<()> {
        let mut spec = Command::new("runc");
        spec.arg("spec").current_dir(&self.bundle);
        quiet(&mut spec)?;
        let path = self.bundle.join("config.json");
        let text = fs::read_to_string(&path)
            .map_err(|e| fail(format!("cannot read {}: {e}", path.display())))?;
        let mut config: Value = serde_json::from_str(&text)
            .map_err(|e| fail(format!("{}: not JSON: {e}", path.display())))?;
        config["process"]["args"] = serde_json::json!(["/bin/true"]);
        config["process"]["terminal"] = Value::Bool(false);
        config["root"] = serde_json::json!({
            "path": self.rootfs().display().to_string(),
            "readonly": false,
        });
        let namespaces: Vec<&str> = config["linux"]["namespaces"]
            .as_array()
            .map(|a| a.iter().filter_map(|n| n["type"].as_str()).collect())
            .unwrap_or_default();
        for ns in ["mount", "pid", "uts", "ipc", "network"] {
            if !namespaces.contains(&ns) {
                return Err(fail(format!(
                    "`runc spec` made no {ns} namespace (has {namespaces:?}): the rows would \
                     not compare the same containers"
                )));
            }
        }
        let text = serde_json::to_string_pretty(&config)
            .map_err(|e| fail(format!("cannot write the OCI config: {e}")))?;
        write(&path, &text)
    }

    /// Stop whatever of ours still runs, and delete what runc and crun may have kept.
    fn stop_everything(&self) {
        let lxcpaths = [
            (true, &self.rs_path),
            (true, &self.idle_rs_path),
            (false, &self.lxc_path),
            (false, &self.idle_lxc_path),
        ];
        for (rs, lxcpath) in lxcpaths {
            let mut ls = if rs {
                let mut c = Command::new(&self.lxc_rs);
                c.arg("ls");
                c
            } else {
                let mut c = Command::new("lxc-ls");
                c.arg("-1");
                c
            };
            let names: Vec<String> = running(ls.arg("-P").arg(lxcpath))
                .into_iter()
                .filter(|n| n.starts_with(&self.tag))
                .collect();
            // An interrupted idle fleet can leave a thousand: stop them 50 at a time.
            for batch in names.chunks(50) {
                let stops: Vec<_> = batch
                    .iter()
                    .filter_map(|name| {
                        let mut stop = if rs {
                            let mut c = Command::new(&self.lxc_rs);
                            c.arg("stop");
                            c
                        } else {
                            Command::new("lxc-stop")
                        };
                        stop.args(["-k", "-n", name, "-P"])
                            .arg(lxcpath)
                            .stdin(Stdio::null())
                            .stdout(Stdio::null())
                            .stderr(Stdio::null())
                            .spawn()
                            .ok()
                    })
                    .collect();
                for mut s in stops {
                    let _ = s.wait();
                }
            }
        }
        // `run` deletes its container when it exits; these only matter after an interruption.
        let _ = Command::new("runc")
            .args(["delete", "--force", &self.runc_id()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let script = format!(
            "{CRUN_HIDE_UNIFIED} && exec crun delete --force {}",
            self.crun_id()
        );
        let _ = Command::new("unshare")
            .args(["-m", "sh", "-c", &script])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// crun refuses this host's hybrid cgroup layout; in a private mount namespace (unshare -m makes
/// its mounts private), a tmpfs over the cgroup2 mount makes it see plain cgroup v1. The host's
/// mounts are never changed.
pub const CRUN_HIDE_UNIFIED: &str = "mount -t tmpfs none /sys/fs/cgroup/unified";

impl Drop for Workdir {
    fn drop(&mut self) {
        self.stop_everything();
        // Every cgroup a runtime made for us carries the tag; what a runtime left (LXC's
        // monitor can leave its own under load) goes here. rmdir removes only empty ones.
        let tag = self.tag.clone();
        let left = remove_cgroups(|n| n.contains(&tag), 5);
        if !left.is_empty() {
            eprintln!(
                "bench: cannot remove {} cgroups of this run (still in use?), the first: {}",
                left.len(),
                left[0].display()
            );
        }
        // A mount left under the work dir (nothing we run should leave one on the host) would
        // make remove_dir_all reach into what it covers: keep the directory then.
        let mounts = fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
        let root = self.root.display().to_string();
        let ours: Vec<&str> = mounts
            .lines()
            .filter_map(|l| l.split(' ').nth(4))
            .filter(|m| m.starts_with(&root))
            .collect();
        if !ours.is_empty() {
            eprintln!(
                "bench: NOT removing {root}: still mounted under it: {}",
                ours.join(" ")
            );
            return;
        }
        match fs::remove_dir_all(&self.root) {
            Ok(()) => eprintln!("bench: removed {root}"),
            Err(e) => eprintln!("bench: cannot remove {root}: {e}"),
        }
        // liblxc keeps lock directories per lxcpath under /run/lxc/lock; ours carry the work
        // dir's unique name.
        if let Ok(rel) = self.root.strip_prefix("/") {
            let _ = fs::remove_dir_all(Path::new("/run/lxc/lock").join(rel));
        }
    }
}

/// Every cgroup directory up to three levels under each hierarchy of /sys/fs/cgroup whose
/// name `matches`, with what is under it, children before their parents.
pub fn find_cgroups(matches: impl Fn(&str) -> bool) -> Vec<PathBuf> {
    fn walk(
        dir: &Path,
        depth: usize,
        inside: bool,
        m: &dyn Fn(&str) -> bool,
        out: &mut Vec<PathBuf>,
    ) {
        let Ok(rd) = fs::read_dir(dir) else { return };
        for e in rd.flatten() {
            if !e.file_type().is_ok_and(|t| t.is_dir()) {
                continue;
            }
            let p = e.path();
            let hit = inside || m(&e.file_name().to_string_lossy());
            if hit {
                out.push(p.clone());
            }
            if hit || depth > 0 {
                walk(&p, depth.saturating_sub(1), hit, m, out);
            }
        }
    }
    let mut found = Vec::new();
    walk(Path::new("/sys/fs/cgroup"), 3, false, &matches, &mut found);
    found.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
    found
}

/// Remove (rmdir, deepest first) every cgroup [`find_cgroups`] finds; a directory that will not
/// go is tried `tries` times, 20 ms apart. Returns those still there.
pub fn remove_cgroups(matches: impl Fn(&str) -> bool, tries: usize) -> Vec<PathBuf> {
    let mut left = Vec::new();
    for dir in find_cgroups(matches) {
        for i in 0..tries.max(1) {
            if fs::remove_dir(&dir).is_ok() || !dir.exists() {
                break;
            }
            if i + 1 == tries.max(1) {
                left.push(dir.clone());
            } else {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
        }
    }
    left
}

/// The names an `ls`-like command prints, one per line (nothing when it fails).
fn running(cmd: &mut Command) -> Vec<String> {
    let Ok(out) = cmd
        .arg("--running")
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
    else {
        return Vec::new();
    };
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

/// Run a set-up command; its output is shown only when it fails.
pub fn quiet(cmd: &mut Command) -> Result<String> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| fail(format!("cannot run `{}`: {e}", display(cmd))))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(fail(format!(
            "`{}` failed ({}): {}{}",
            display(cmd),
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr).trim_end()
        )))
    }
}

/// `source` (C) written to `dir/<file>` and compiled with `cc -O2 -static` into `dir/<exe>`:
/// the bench's small programs, which run inside containers with no libc of their own.
pub fn cc_static(dir: &Path, file: &str, source: &str, exe: &str) -> Result<PathBuf> {
    let src = dir.join(file);
    write(&src, source)?;
    let out = dir.join(exe);
    quiet(
        Command::new("cc")
            .args(["-O2", "-static", "-o"])
            .arg(&out)
            .arg(&src),
    )?;
    Ok(out)
}

pub fn mkdir(dir: &Path) -> Result<()> {
    fs::create_dir_all(dir).map_err(|e| fail(format!("cannot create {}: {e}", dir.display())))
}

pub fn write(path: &Path, text: &str) -> Result<()> {
    fs::write(path, text).map_err(|e| fail(format!("cannot write {}: {e}", path.display())))
}
