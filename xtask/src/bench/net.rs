//! The bench's own network, standing in for the host's: a network namespace
//! `lxcrs-bench-<pid>` holding a bridge, made before the veth steps and removed at the end
//! whatever happens. The machine's own interfaces are never touched: every command that makes
//! or attaches a veth runs inside this namespace (`nsenter --net`), so the veth's host end, the
//! bridge and the runtimes' command sockets (abstract sockets belong to a network namespace)
//! are all in there.
//!
//! LXC checks that a bridge exists under /sys/class/net, which shows the network namespace of
//! whoever mounted sysfs, not the caller's; `ip netns exec` remounts /sys for that but hides the
//! cgroup hierarchies mounted under it. So the bench mounts one sysfs of its namespace under its
//! work directory (`<work dir>/netns-sysfs`, unmounted at the end), and the commands run in
//! [`BenchNet::wrap`]: a private mount namespace (`unshare -m`) where that sysfs's `class/net`
//! and `devices/virtual/net` are bound over the host's; the rest of /sys, cgroups included,
//! stays. (A fresh sysfs on /sys per command, with /sys/fs/cgroup moved aside and back, works
//! too, but under it lxc-rs's veth starts spent 6-9 ms more in HostSetup (LXC_RS_PHASE_TIMES:
//! 9.6-12.6 ms against 3.5 under `nsenter --net` alone), and so would LXC's; under the bind
//! mounts HostSetup is what it is under `nsenter --net` alone, and the wrapper adds only its
//! own cost.)

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::setup::{mkdir, quiet, Workdir};
use crate::run::{fail, Result};

/// The bridge inside the bench's namespace (a name is at most 15 bytes).
pub const BRIDGE: &str = "lxcrs-bench-br";

/// The config items of the one veth every veth container gets: `/etc/lxc/default.conf`'s kind
/// (on a bridge, up, LXC's random `xx` MAC octets), with the bench's bridge as `link`.
pub fn veth_config() -> Vec<(&'static str, &'static str)> {
    vec![
        ("lxc.net.0.type", "veth"),
        ("lxc.net.0.link", BRIDGE),
        ("lxc.net.0.flags", "up"),
        ("lxc.net.0.hwaddr", "00:16:3e:xx:xx:xx"),
    ]
}

/// The bench's network namespace; dropping it stops what still runs in it and deletes it.
pub struct BenchNet {
    /// `lxcrs-bench-<pid>`, under /run/netns.
    pub name: String,
    /// A sysfs mounted from inside the namespace: its `class/net` lists the namespace's links.
    sysfs: PathBuf,
    /// Whether `sysfs` is mounted (and must be unmounted).
    mounted: bool,
    lxc_rs: PathBuf,
    rs_path: PathBuf,
    lxc_path: PathBuf,
}

impl BenchNet {
    pub fn create(w: &Workdir) -> Result<BenchNet> {
        let name = w.tag.clone();
        let path = Path::new("/run/netns").join(&name);
        if path.exists() {
            return Err(fail(format!(
                "{} already exists (a bench with this pid was interrupted?): remove it first \
                 (`ip netns del {name}`)",
                path.display()
            )));
        }
        let sysfs = w.path("netns-sysfs");
        mkdir(&sysfs)?;
        quiet(Command::new("ip").args(["netns", "add", &name]))?;
        // From here on the guard owns the namespace.
        let mut net = BenchNet {
            name,
            sysfs,
            mounted: false,
            lxc_rs: w.lxc_rs.clone(),
            rs_path: w.rs_path.clone(),
            lxc_path: w.lxc_path.clone(),
        };
        net.ip(&["link", "set", "lo", "up"])?;
        net.ip(&["link", "add", BRIDGE, "type", "bridge"])?;
        net.ip(&["link", "set", BRIDGE, "up"])?;
        quiet(
            Command::new("nsenter")
                .arg(format!("--net={}", net.path()))
                .args(["mount", "-t", "sysfs", "sysfs"])
                .arg(&net.sysfs),
        )?;
        net.mounted = true;
        if !net.sysfs.join("class/net").join(BRIDGE).exists() {
            return Err(fail(format!(
                "{}/class/net shows no {BRIDGE}: not a sysfs of {}",
                net.sysfs.display(),
                net.name
            )));
        }
        Ok(net)
    }

    pub fn path(&self) -> String {
        format!("/run/netns/{}", self.name)
    }

    /// `ip -n NAME ARGS`, its output.
    fn ip(&self, args: &[&str]) -> Result<String> {
        quiet(Command::new("ip").args(["-n", &self.name]).args(args))
    }

    /// `argv` run in the bench's network namespace.
    pub fn enter(&self, argv: &[String]) -> Vec<String> {
        let mut out = vec!["nsenter".to_string(), format!("--net={}", self.path())];
        out.extend_from_slice(argv);
        out
    }

    /// `argv` run in the bench's network namespace, with /sys/class/net (and the devices it
    /// links to) showing that namespace's links (see the module's comment).
    pub fn wrap(&self, argv: &[String]) -> Vec<String> {
        let sysfs = self.sysfs.display();
        let script = format!(
            "mount --bind {sysfs}/class/net /sys/class/net && mount --bind \
             {sysfs}/devices/virtual/net /sys/devices/virtual/net && exec \"$@\""
        );
        let mut out = self.enter(&[
            "unshare".into(),
            "-m".into(),
            "sh".into(),
            "-c".into(),
            script,
            "sh".into(),
        ]);
        out.extend_from_slice(argv);
        out
    }

    /// The links of the bench's namespace, as `ip -j -d link show` reports them.
    pub fn links(&self) -> Result<Vec<Value>> {
        let out = self.ip(&["-j", "-d", "link", "show"])?;
        serde_json::from_str(&out).map_err(|e| fail(format!("`ip -j link`: not JSON: {e}")))
    }

    /// The veth host ends in the bench's namespace: (ifindex, name, on the bridge and up).
    pub fn veths(&self) -> Result<Vec<(u64, String, bool)>> {
        Ok(self
            .links()?
            .iter()
            .filter(|l| l["linkinfo"]["info_kind"] == "veth")
            .map(|l| {
                let bridged = l["master"] == BRIDGE
                    && l["flags"]
                        .as_array()
                        .is_some_and(|f| f.iter().any(|f| f == "UP"));
                (
                    l["ifindex"].as_u64().unwrap_or_default(),
                    l["ifname"].as_str().unwrap_or_default().to_string(),
                    bridged,
                )
            })
            .collect())
    }

    /// Wait (up to `secs`: a container's namespace, and the veth in it, goes asynchronously
    /// after its last process) until no veth is left in the bench's namespace; the names left.
    pub fn wait_no_veth(&self, secs: u64) -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let left: Vec<String> = match self.veths() {
                Ok(v) => v.into_iter().map(|(_, n, _)| n).collect(),
                Err(e) => vec![e.to_string()],
            };
            if left.is_empty() || Instant::now() >= deadline {
                return left;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stop every container of ours still running in the namespace (their command sockets are
    /// only reachable from inside it).
    fn stop_everything(&self) {
        let listed = |argv: Vec<String>| -> Vec<String> {
            let argv = self.enter(&argv);
            let out = Command::new(&argv[0])
                .args(&argv[1..])
                .stdin(Stdio::null())
                .stderr(Stdio::null())
                .output();
            out.map(|o| {
                String::from_utf8_lossy(&o.stdout)
                    .split_whitespace()
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
        };
        let s = |p: &Path| p.display().to_string();
        let rs = self.lxc_rs.display().to_string();
        for name in listed(vec![
            rs.clone(),
            "ls".into(),
            "-P".into(),
            s(&self.rs_path),
            "--running".into(),
        ]) {
            let argv = self.enter(&[
                rs.clone(),
                "stop".into(),
                "-k".into(),
                "-n".into(),
                name,
                "-P".into(),
                s(&self.rs_path),
            ]);
            let _ = quiet(Command::new(&argv[0]).args(&argv[1..]));
        }
        for name in listed(vec![
            "lxc-ls".into(),
            "-1".into(),
            "-P".into(),
            s(&self.lxc_path),
            "--running".into(),
        ]) {
            let argv = self.enter(&[
                "lxc-stop".into(),
                "-k".into(),
                "-n".into(),
                name,
                "-P".into(),
                s(&self.lxc_path),
            ]);
            let _ = quiet(Command::new(&argv[0]).args(&argv[1..]));
        }
    }
}

impl Drop for BenchNet {
    fn drop(&mut self) {
        self.stop_everything();
        // Anyone still inside would keep the namespace (and its links) alive after its name
        // is gone: say so.
        // /run/netns/NAME is a mount of the namespace's nsfs inode, what /proc/PID/ns/net
        // names `net:[inode]`.
        let ns = fs::metadata(self.path()).ok().map(|m| {
            use std::os::unix::fs::MetadataExt;
            format!("net:[{}]", m.ino())
        });
        let holders = ns.map(|ns| holders(&ns)).unwrap_or_default();
        if !holders.is_empty() {
            eprintln!(
                "bench: processes still in network namespace {}: {}",
                self.name,
                holders.join(", ")
            );
        }
        // The sysfs holds the namespace too; the work directory's guard refuses to remove a
        // directory something is still mounted under.
        if self.mounted {
            if let Err(e) = quiet(Command::new("umount").arg(&self.sysfs)) {
                eprintln!("bench: {e}; detaching it");
                let _ = quiet(Command::new("umount").arg("-l").arg(&self.sysfs));
            }
        }
        match quiet(Command::new("ip").args(["netns", "del", &self.name])) {
            Ok(_) => eprintln!("bench: removed network namespace {}", self.name),
            Err(e) => eprintln!("bench: cannot remove network namespace {}: {e}", self.name),
        }
    }
}

/// The processes whose network namespace is `ns` (`net:[inode]`).
fn holders(ns: &str) -> Vec<String> {
    let Ok(rd) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    rd.flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .bytes()
                .all(|b| b.is_ascii_digit())
        })
        .filter(|e| {
            fs::read_link(e.path().join("ns/net")).is_ok_and(|l| l.display().to_string() == ns)
        })
        .map(|e| {
            let pid = e.file_name().to_string_lossy().into_owned();
            let comm = fs::read_to_string(e.path().join("comm")).unwrap_or_default();
            format!("{pid} ({})", comm.trim())
        })
        .collect()
}

/// The network interfaces a process sees (`ip -j link show` in its network namespace).
pub fn links_of(pid: i32) -> Result<Vec<Value>> {
    let out = quiet(
        Command::new("nsenter")
            .arg(format!("--net=/proc/{pid}/ns/net"))
            .args(["ip", "-j", "link", "show"]),
    )?;
    serde_json::from_str(&out).map_err(|e| fail(format!("`ip -j link` of {pid}: not JSON: {e}")))
}
