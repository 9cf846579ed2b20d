//! What the criu command line needs from the host and the container's config: criu itself and
//! its version, the cgroup hierarchies, the bind entries, the networks, the console's tty.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use lxc_core::Container;

use crate::argv::{BindEntry, CgroupRoot, NetDev};
use crate::error::{Error, Result};

/// criu on PATH (LXC's `on_path("criu")`).
pub fn find_criu(name: &str) -> Result<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/sbin:/usr/bin:/sbin:/bin".into());
    for dir in std::env::split_paths(&path) {
        let p = dir.join("criu");
        if let Ok(m) = std::fs::metadata(&p) {
            if m.is_file() && m.mode() & 0o111 != 0 {
                return Ok(p);
            }
        }
    }
    Err(Error::CriuMissing {
        name: name.to_string(),
        criu: "criu".into(),
        source: std::io::Error::new(std::io::ErrorKind::NotFound, "not found on PATH"),
    })
}

/// `criu --version`'s `Version:` line, checked to be 2.0 or newer (LXC's `criu_version_ok`,
/// which compares the strings).
pub fn criu_version(name: &str, criu: &Path) -> Result<String> {
    let out = Command::new(criu)
        .arg("--version")
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .map_err(|source| Error::CriuMissing {
            name: name.to_string(),
            criu: criu.display().to_string(),
            source,
        })?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let version = text
        .lines()
        .next()
        .and_then(|l| l.strip_prefix("Version: "))
        .map(str::trim)
        .filter(|v| !v.is_empty());
    match version {
        Some(v) if out.status.success() && v >= "2.0" => Ok(v.to_string()),
        _ => Err(Error::CriuVersion {
            name: name.to_string(),
            said: text.trim().to_string(),
        }),
    }
}

/// One mounted cgroup hierarchy.
#[derive(Debug, Clone)]
struct Hierarchy {
    mountpoint: PathBuf,
    controllers: Vec<String>,
    unified: bool,
}

/// The cgroup and cgroup2 mounts of this mount namespace, with their controllers (a v1
/// mount's from its super options, cgroup2's from its root's cgroup.controllers).
fn hierarchies() -> Vec<Hierarchy> {
    let text = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let mut out = Vec::new();
    for line in text.lines() {
        let Some((left, right)) = line.split_once(" - ") else {
            continue;
        };
        let Some(mountpoint) = left.split_whitespace().nth(4) else {
            continue;
        };
        let mut r = right.split_whitespace();
        let (Some(fstype), Some(_source), Some(sopts)) = (r.next(), r.next(), r.next()) else {
            continue;
        };
        let mountpoint = PathBuf::from(lxc_mount::ops::unescape_mountinfo(mountpoint));
        match fstype {
            "cgroup2" => {
                let controllers = std::fs::read_to_string(mountpoint.join("cgroup.controllers"))
                    .unwrap_or_default()
                    .split_whitespace()
                    .map(str::to_string)
                    .collect();
                out.push(Hierarchy {
                    mountpoint,
                    controllers,
                    unified: true,
                });
            }
            "cgroup" => {
                let controllers = sopts
                    .split(',')
                    .filter(|o| {
                        !matches!(
                            *o,
                            "rw" | "ro"
                                | "nosuid"
                                | "nodev"
                                | "noexec"
                                | "relatime"
                                | "clone_children"
                        ) && !o.starts_with("release_agent=")
                            && *o != "xattr"
                            && *o != "noprefix"
                            && *o != "cpuset_v2_mode"
                    })
                    .map(str::to_string)
                    .collect();
                out.push(Hierarchy {
                    mountpoint,
                    controllers,
                    unified: false,
                });
            }
            _ => {}
        }
    }
    out
}

/// The container's cgroups as criu's `--cgroup-root`s: for each of its cgroup directories,
/// the hierarchy's controllers and the directory relative to the hierarchy's mount.
pub fn cgroup_roots(paths: &[PathBuf]) -> Vec<CgroupRoot> {
    let hs = hierarchies();
    paths
        .iter()
        .filter_map(|p| {
            let h = hs
                .iter()
                .filter(|h| p.starts_with(&h.mountpoint))
                .max_by_key(|h| h.mountpoint.as_os_str().len())?;
            let rel = p.strip_prefix(&h.mountpoint).ok()?;
            Some(CgroupRoot {
                controllers: h.controllers.clone(),
                path: format!("/{}", rel.display()),
            })
        })
        .collect()
}

/// `--freeze-cgroup`: the container's cgroup in the freezer hierarchy, formed as LXC forms it
/// (`/sys/fs/cgroup/` or `/sys/fs/cgroup/freezer/` and the relative path).
pub fn freezer_path(name: &str, paths: &[PathBuf]) -> Result<String> {
    let hs = hierarchies();
    let pure_unified = hs.iter().all(|h| h.unified);
    let want = |h: &Hierarchy| {
        if pure_unified {
            h.unified
        } else {
            h.controllers.iter().any(|c| c == "freezer")
        }
    };
    for p in paths {
        let Some(h) = hs
            .iter()
            .filter(|h| p.starts_with(&h.mountpoint))
            .max_by_key(|h| h.mountpoint.as_os_str().len())
        else {
            continue;
        };
        if want(h) {
            let rel = p.strip_prefix(&h.mountpoint).unwrap_or(p);
            return Ok(if pure_unified {
                format!("/sys/fs/cgroup//{}", rel.display())
            } else {
                format!("/sys/fs/cgroup/freezer//{}", rel.display())
            });
        }
    }
    Err(Error::Unsupported {
        name: name.to_string(),
        what: "the container's freezer cgroup".into(),
        why: format!("none of its cgroups {paths:?} is in a freezer hierarchy"),
    })
}

/// `lxc.cgroup.relative = 1`: criu then stays in the caller's cgroup, as in LXC.
pub fn cgroup_relative(container: &Container) -> bool {
    lxc_core::keys::typed::string(container.config(), "lxc.cgroup.relative")
        .is_some_and(|v| v.trim() == "1")
}

/// The `cgroup.procs` files criu moves itself into before it runs (LXC's `criu_escape`): of
/// the parent of each container cgroup, so that criu sees the container's cgroups whole.
/// Opened here, before the fork; none when `relative`.
pub fn open_escape(
    name: &str,
    paths: &[PathBuf],
    relative: bool,
) -> Result<Vec<(PathBuf, std::os::fd::OwnedFd)>> {
    if relative {
        return Ok(Vec::new());
    }
    paths
        .iter()
        .filter_map(|p| p.parent())
        .map(|d| {
            let p = d.join("cgroup.procs");
            std::fs::OpenOptions::new()
                .write(true)
                .open(&p)
                .map(|f| (p.clone(), std::os::fd::OwnedFd::from(f)))
                .map_err(|source| Error::Io {
                    name: name.to_string(),
                    path: p,
                    source,
                })
        })
        .collect()
}

/// The `lxc.mount.entry` lines that are binds (LXC maps only those).
pub fn bind_entries(container: &Container) -> Result<Vec<BindEntry>> {
    let plan = mount_plan(container)?;
    Ok(plan
        .entries
        .iter()
        .filter(|e| {
            e.entry
                .options
                .split(',')
                .any(|o| o.trim() == "bind" || o.trim() == "rbind")
        })
        .map(|e| BindEntry {
            source: e.entry.source.clone(),
            target: e.entry.target.clone(),
        })
        .collect())
}

fn mount_plan(container: &Container) -> Result<lxc_mount::plan::MountPlan> {
    lxc_mount::plan::MountPlan::from_config(
        container.config(),
        container.name(),
        container.config_path(),
        lxc_core::StartMode::Start,
    )
    .map_err(|e| Error::Unsupported {
        name: container.name().to_string(),
        what: "the container's mount config".into(),
        why: e.to_string(),
    })
}

/// The rootfs directory and where it is bound for criu's `--root` (`lxc.rootfs.mount`).
pub fn rootfs(container: &Container) -> Result<(PathBuf, PathBuf)> {
    let plan = mount_plan(container)?;
    let name = container.name().to_string();
    let spec = plan.rootfs.as_ref().ok_or_else(|| Error::Unsupported {
        name: name.clone(),
        what: "restore without lxc.rootfs.path".into(),
        why: "criu restores the tree into the container's root; the host's / is not one".into(),
    })?;
    let dir = lxc_mount::rootfs::rootfs_dir(spec).map_err(|e| Error::Unsupported {
        name: name.clone(),
        what: "the container's rootfs".into(),
        why: e.to_string(),
    })?;
    let mount = match &spec.mount {
        Some((m, _)) => m.clone(),
        None => lxc_mount::rootfs::default_rootfs_mount(&dir),
    };
    Ok((dir, mount))
}

/// The networks, as criu's restore maps them, after the check LXC's `criu_ok` makes (veth,
/// macvlan, phys, empty, none; anything else cannot be dumped). A veth without a host name
/// gets a random `vethXXXXXX` (LXC's `restore_net_info`).
pub fn netdevs(container: &Container) -> Result<Vec<NetDev>> {
    let name = container.name().to_string();
    let devs = lxc_net::netdevs(container.config()).map_err(|e| Error::Unsupported {
        name: name.clone(),
        what: "the container's networks".into(),
        why: e.to_string(),
    })?;
    let mut out = Vec::new();
    for d in devs {
        let kind = d.type_.name().unwrap_or("empty");
        out.push(match kind {
            "veth" => NetDev::Veth {
                name: d.name.clone(),
                host: if d.veth.pair.is_empty() {
                    random_veth_name()
                } else {
                    d.veth.pair.clone()
                },
                link: d.link.clone(),
            },
            "macvlan" => NetDev::Macvlan {
                name: d.name.clone(),
                link: d.link.clone(),
            },
            "phys" => NetDev::Phys {
                name: d.name.clone(),
                link: d.link.clone(),
            },
            "empty" | "none" => NetDev::Nothing,
            other => {
                return Err(Error::UndumpableNetwork {
                    name,
                    index: d.index,
                    kind: other.to_string(),
                })
            }
        });
    }
    Ok(out)
}

/// `vethXXXXXX` with six random alphanumerics (LXC's `lxc_ifname_alnum_case_sensitive`).
fn random_veth_name() -> String {
    const CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let mut seed = [0u8; 6];
    if std::fs::File::open("/dev/urandom")
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut seed))
        .is_err()
    {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0)
            ^ std::process::id();
        seed = [
            t as u8,
            (t >> 8) as u8,
            (t >> 16) as u8,
            (t >> 24) as u8,
            7,
            13,
        ];
    }
    let tail: String = seed
        .iter()
        .map(|b| CHARS[*b as usize % CHARS.len()] as char)
        .collect();
    format!("veth{tail}")
}

/// `tty[RDEV:DEV]` of the running container's /dev/console (LXC's `save_tty_major_minor`),
/// written to DIR/tty.info; empty with `lxc.console.path = none`.
pub fn save_tty(container: &Container, dir: &Path, init_pid: i32) -> Result<String> {
    let name = container.name().to_string();
    if console_is_none(container) {
        return Ok(String::new());
    }
    let console = PathBuf::from(format!("/proc/{init_pid}/root/dev/console"));
    let m = std::fs::metadata(&console).map_err(|source| Error::Io {
        name: name.clone(),
        path: console.clone(),
        source,
    })?;
    let id = format!("tty[{:x}:{:x}]", m.rdev(), m.dev());
    let info = dir.join("tty.info");
    std::fs::write(&info, &id).map_err(|source| Error::Io {
        name,
        path: info,
        source,
    })?;
    Ok(id)
}

/// `lxc.console.path = none`.
pub fn console_is_none(container: &Container) -> bool {
    lxc_core::keys::typed::string(container.config(), "lxc.console.path")
        .is_some_and(|v| v == "none")
}

/// The dump's tty.info (absent: the dump had no console, or came from an older liblxc).
pub fn load_tty(name: &str, dir: &Path) -> Result<Option<String>> {
    let info = dir.join("tty.info");
    match std::fs::read_to_string(&info) {
        Ok(s) => Ok(Some(s.trim_end_matches('\0').to_string()).filter(|s| !s.is_empty())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(Error::Io {
            name: name.to_string(),
            path: info,
            source,
        }),
    }
}

/// `--lsm-profile`: `apparmor:PROFILE`, else `selinux:CONTEXT`, from the config.
pub fn lsm_profile(container: &Container) -> Option<String> {
    let get =
        |k: &str| lxc_core::keys::typed::string(container.config(), k).filter(|v| !v.is_empty());
    get("lxc.apparmor.profile")
        .map(|p| format!("apparmor:{p}"))
        .or_else(|| get("lxc.selinux.context").map(|c| format!("selinux:{c}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn veth_names_are_ifnamsiz_safe() {
        let n = random_veth_name();
        assert_eq!(n.len(), 10, "{n}");
        assert!(n.starts_with("veth") && n[4..].chars().all(|c| c.is_ascii_alphanumeric()));
    }
}
