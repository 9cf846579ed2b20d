//! The machine and the versions measured, for the report's header.

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};

use super::report::Machine;
use super::setup::package_version;

/// The 1-minute load average (how busy the shared machine is; it moves the absolute times).
pub fn load_average() -> Option<f64> {
    fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// `load_at_start`: the load average read before the first measurement.
pub fn machine(load_at_start: Option<f64>) -> Machine {
    let read = |p: &str| fs::read_to_string(p).unwrap_or_default();
    let cpuinfo = read("/proc/cpuinfo");
    let cpu = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, m)| m.trim().to_string())
        .unwrap_or_else(|| "unknown cpu".into());
    let memory = read("/proc/meminfo")
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
        .map(|kib| format!("{:.1} GiB", kib as f64 / (1024.0 * 1024.0)))
        .unwrap_or_else(|| "unknown".into());
    let os = read("/etc/os-release")
        .lines()
        .find_map(|l| l.strip_prefix("PRETTY_NAME="))
        .map(|v| v.trim_matches('"').to_string())
        .unwrap_or_else(|| "unknown OS".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let show = |l: Option<f64>| l.map_or("?".to_string(), |l| format!("{l:.2}"));
    let end = load_average();
    let busy = load_at_start
        .into_iter()
        .chain(end)
        .any(|l| l > cores as f64 * 0.5);
    let load = format!(
        "1-minute load average {} at the start, {} at the end{}",
        show(load_at_start),
        show(end),
        if busy {
            " (busy: other work shared the cores, so absolute times are noisy)"
        } else {
            ""
        }
    );
    Machine {
        load,
        kernel: read("/proc/sys/kernel/osrelease").trim().to_string(),
        os,
        cpu,
        cores,
        memory,
        cgroups: cgroup_layout(&read("/proc/self/mountinfo")),
    }
}

/// unified, legacy (v1 only) or hybrid, from the cgroup mounts this process sees.
fn cgroup_layout(mountinfo: &str) -> String {
    let mut v1 = Vec::new();
    let mut v2 = Vec::new();
    for line in mountinfo.lines() {
        let fields: Vec<&str> = line.split(' ').collect();
        let Some(sep) = fields.iter().position(|f| *f == "-") else {
            continue;
        };
        let (Some(mnt), Some(fstype)) = (fields.get(4), fields.get(sep + 1)) else {
            continue;
        };
        match *fstype {
            "cgroup" => {
                if let Some(name) = Path::new(mnt).file_name() {
                    v1.push(name.to_string_lossy().into_owned());
                }
            }
            "cgroup2" => v2.push(mnt.to_string()),
            _ => {}
        }
    }
    let controllers = |mnt: &str| {
        let c = fs::read_to_string(Path::new(mnt).join("cgroup.controllers")).unwrap_or_default();
        let c = c.trim();
        if c.is_empty() {
            "no controllers".to_string()
        } else {
            format!("controllers: {c}")
        }
    };
    match (v1.is_empty(), v2.first()) {
        (true, Some(m)) => format!("unified (cgroup2 at {m}, {})", controllers(m)),
        (false, Some(m)) => format!(
            "hybrid (v1: {}; cgroup2 at {m}, {})",
            v1.join(" "),
            controllers(m)
        ),
        (false, None) => format!("legacy v1 ({})", v1.join(" ")),
        (true, None) => "no cgroup mounts".into(),
    }
}

/// What was measured: lxc-rs (its version and the commit it was built from) and the Debian
/// packages of everything else.
pub fn versions(lxc_rs: &Path, workspace: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let rs = first_line(Command::new(lxc_rs).arg("--version")).unwrap_or_default();
    let rs = rs.strip_prefix("lxc-rs ").unwrap_or(&rs).to_string();
    let commit = first_line(Command::new("git").arg("-C").arg(workspace).args([
        "rev-parse",
        "--short",
        "HEAD",
    ]));
    let dirty = Command::new("git")
        .arg("-C")
        .arg(workspace)
        .args(["status", "--porcelain"])
        .stderr(Stdio::null())
        .output()
        .is_ok_and(|o| !o.stdout.is_empty());
    let rs = match commit {
        Some(c) => format!(
            "{rs} ({c}{})",
            if dirty { ", uncommitted changes" } else { "" }
        ),
        None => rs,
    };
    out.push(("lxc-rs".to_string(), rs));
    for (name, pkg) in [
        ("LXC", "lxc"),
        ("runc", "runc"),
        ("crun", "crun"),
        ("busybox", "busybox-static"),
        ("util-linux (unshare)", "util-linux"),
        ("hyperfine", "hyperfine"),
        ("GNU time", "time"),
    ] {
        let v = package_version(pkg).unwrap_or_else(|| "not installed".into());
        out.push((name.to_string(), v));
    }
    out
}

fn first_line(cmd: &mut Command) -> Option<String> {
    let out = cmd
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .next()
        .map(|l| l.trim().to_string())
}

/// UTC date and time, from `date` (std has no calendar).
pub fn now() -> String {
    first_line(Command::new("date").args(["-u", "+%Y-%m-%d %H:%M UTC"]))
        .unwrap_or_else(|| "unknown date".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hybrid_layout() {
        let mi = "\
35 26 0:30 / /sys/fs/cgroup ro,nosuid - tmpfs tmpfs ro,mode=755
36 35 0:31 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw
37 35 0:32 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory
";
        let l = cgroup_layout(mi);
        assert!(
            l.starts_with("hybrid (v1: memory; cgroup2 at /sys/fs/cgroup/unified"),
            "{l}"
        );
        assert!(
            cgroup_layout("1 2 0:3 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n")
                .starts_with("unified")
        );
    }
}
