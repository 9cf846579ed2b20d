//! Which cgroup hierarchies this host has, where they are mounted, what they control, and
//! where the current process sits in each, read from `/proc/self/mountinfo` and
//! `/proc/self/cgroup`.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::sys;

const MOUNTINFO: &str = "/proc/self/mountinfo";
const PROC_CGROUP: &str = "/proc/self/cgroup";
const INIT_CGROUP: &str = "/proc/1/cgroup";

/// The three ways a host can arrange its cgroups.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LayoutKind {
    /// cgroup v1 hierarchies only.
    Legacy,
    /// v1 controller hierarchies plus a cgroup2 hierarchy mounted beside them (systemd's
    /// "hybrid": `/sys/fs/cgroup/unified`).
    Hybrid,
    /// A single cgroup2 hierarchy (usually at `/sys/fs/cgroup`).
    Unified,
}

impl fmt::Display for LayoutKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LayoutKind::Legacy => "legacy",
            LayoutKind::Hybrid => "hybrid",
            LayoutKind::Unified => "unified",
        })
    }
}

/// cgroup v1 or cgroup2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Version {
    V1,
    V2,
}

/// One mounted hierarchy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hierarchy {
    pub version: Version,
    /// Where the hierarchy is mounted, e.g. `/sys/fs/cgroup/memory`.
    pub mount: PathBuf,
    /// The cgroup mounted there (mountinfo's root field): `/` unless only a subtree is mounted.
    pub mount_root: String,
    /// v1: the hierarchy's controllers as `/proc/self/cgroup` names them (`cpu`, `cpuacct`,
    /// `name=systemd`). cgroup2: the controllers available in our cgroup (`cgroup.controllers`).
    pub controllers: Vec<String>,
    /// cgroup2: the controllers our cgroup hands to its children (`cgroup.subtree_control`),
    /// i.e. what a container cgroup created below it gets. v1: the same as `controllers`.
    pub delegated: Vec<String>,
    /// The current process's cgroup in this hierarchy, e.g. `/process_api/e59c...`.
    pub cgroup: String,
    /// cgroup2: the cgroup of pid 1 (`/proc/1/cgroup`) without a trailing `/init.scope`,
    /// where LXC puts a root user's containers unless `lxc.cgroup.relative` is set. `None`
    /// when pid 1's cgroup cannot be read.
    pub init_cgroup: Option<String>,
}

impl Hierarchy {
    /// The directory of the current process's cgroup.
    pub fn own_dir(&self) -> PathBuf {
        self.dir_of(&self.cgroup)
    }

    /// The directory of `cgroup`, a path inside this hierarchy as /proc/PID/cgroup shows it.
    pub fn dir_of(&self, cgroup: &str) -> PathBuf {
        join_cgroup(&self.mount, &self.mount_root, cgroup)
    }

    /// The cgroup a container's cgroups go below (LXC's base cgroup).
    ///
    /// On a pure cgroup2 host this is LXC's: pid 1's cgroup for root unless
    /// `lxc.cgroup.relative` is set, else our own. Escaping to init's cgroup is what lets a
    /// container get controllers there at all: the caller's cgroup usually holds processes
    /// (a login shell), and cgroup2 lets only a cgroup without processes hand controllers
    /// down. On hosts with v1 controllers it is always our own cgroup (docs/decisions.md 12).
    pub fn base_dir(&self, kind: LayoutKind, relative: bool, root: bool) -> PathBuf {
        match &self.init_cgroup {
            Some(init)
                if kind == LayoutKind::Unified
                    && self.version == Version::V2
                    && !relative
                    && root
                    && shows(&self.mount_root, init) =>
            {
                self.dir_of(init)
            }
            _ => self.own_dir(),
        }
    }

    pub fn has_controller(&self, name: &str) -> bool {
        self.controllers.iter().any(|c| c == name)
    }

    /// A v1 hierarchy with only a name (`name=systemd`) and no resource controller.
    pub fn is_named_only(&self) -> bool {
        self.version == Version::V1 && self.controllers.iter().all(|c| c.starts_with("name="))
    }

    /// How the hierarchy is called in listings: its controllers for v1, `cgroup2` for v2.
    pub fn label(&self) -> String {
        match self.version {
            Version::V1 => self.controllers.join(","),
            Version::V2 => "cgroup2".to_string(),
        }
    }
}

/// Whether a mount of the subtree `root` shows `cgroup`.
fn shows(root: &str, cgroup: &str) -> bool {
    root == "/"
        || cgroup == root
        || cgroup
            .strip_prefix(root)
            .is_some_and(|r| r.starts_with('/'))
}

/// LXC's `prune_init_scope`: a cgroup path without a last `/init.scope` component (systemd's
/// place for pid 1), so that `/init.scope` becomes `/`.
pub(crate) fn prune_init_scope(path: &str) -> String {
    match path.strip_suffix("/init.scope") {
        Some("") => "/".to_string(),
        Some(rest) => rest.to_string(),
        None => path.to_string(),
    }
}

/// The path of `cgroup` (a path inside the hierarchy) under a mount of the subtree `root`.
fn join_cgroup(mount: &Path, root: &str, cgroup: &str) -> PathBuf {
    let rel = if root == "/" {
        cgroup
    } else {
        cgroup.strip_prefix(root).unwrap_or(cgroup)
    };
    let rel = rel.trim_start_matches('/');
    if rel.is_empty() {
        mount.to_path_buf()
    } else {
        mount.join(rel)
    }
}

/// The host's cgroup layout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    pub kind: LayoutKind,
    /// v1 hierarchies by hierarchy id, then the cgroup2 one.
    pub hierarchies: Vec<Hierarchy>,
}

impl Layout {
    /// The cgroup2 hierarchy, if one is mounted.
    pub fn unified(&self) -> Option<&Hierarchy> {
        self.hierarchies.iter().find(|h| h.version == Version::V2)
    }

    /// The v1 hierarchy that has `controller`.
    pub fn v1_controller(&self, controller: &str) -> Option<&Hierarchy> {
        self.hierarchies
            .iter()
            .find(|h| h.version == Version::V1 && h.has_controller(controller))
    }

    /// The cgroup2 mount point, if any (the place for BPF device programs and CLONE_INTO_CGROUP).
    pub fn unified_mount(&self) -> Option<&Path> {
        self.unified().map(|h| h.mount.as_path())
    }
}

impl fmt::Display for Layout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "cgroup layout: {}", self.kind)?;
        let width = self
            .hierarchies
            .iter()
            .map(|h| h.label().len())
            .max()
            .unwrap_or(0);
        let mwidth = self
            .hierarchies
            .iter()
            .map(|h| h.mount.as_os_str().len())
            .max()
            .unwrap_or(0);
        for h in &self.hierarchies {
            let v = match h.version {
                Version::V1 => "v1",
                Version::V2 => "v2",
            };
            write!(
                f,
                "  {v}  {:<width$}  {:<mwidth$}  cgroup {}",
                h.label(),
                h.mount.display(),
                h.cgroup
            )?;
            if h.version == Version::V2 {
                let list = |v: &[String]| {
                    if v.is_empty() {
                        "none".to_string()
                    } else {
                        v.join(" ")
                    }
                };
                write!(
                    f,
                    "  controllers: {} (enabled for children: {})",
                    list(&h.controllers),
                    list(&h.delegated)
                )?;
            }
            writeln!(f)?;
        }
        Ok(())
    }
}

/// The layout this process found before it first moved itself into a monitor cgroup.
static HOME: std::sync::OnceLock<Layout> = std::sync::OnceLock::new();

/// The layout to place a container by: [`detect`]'s, or, in a monitor that has moved itself
/// (a reboot's start), the one from before its first move, so that the new cgroups go where
/// the first start's went and not below a monitor or pivot cgroup.
pub(crate) fn home() -> Result<Layout> {
    match HOME.get() {
        Some(l) => Ok(l.clone()),
        None => detect(),
    }
}

/// Keep `layout` as this process's [`home`] (the first call wins).
pub(crate) fn remember_home(layout: &Layout) {
    let _ = HOME.set(layout.clone());
}

/// Detect the current process's cgroup layout.
pub fn detect() -> Result<Layout> {
    let mountinfo = sys::read(Path::new(MOUNTINFO)).map_err(|e| Error::Detect {
        path: MOUNTINFO.into(),
        why: e.to_string(),
    })?;
    let cgroups = sys::read(Path::new(PROC_CGROUP)).map_err(|e| Error::Detect {
        path: PROC_CGROUP.into(),
        why: e.to_string(),
    })?;
    // Unreadable (a /proc of another pid namespace, hidepid): then there is no escaping to it.
    let init = sys::read(Path::new(INIT_CGROUP)).ok();
    build(&mountinfo, &cgroups, init.as_deref(), |p| sys::read(p).ok())
}

/// One cgroup mount from mountinfo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CgroupMount {
    pub version: Version,
    pub root: String,
    pub mount: PathBuf,
    pub super_opts: Vec<String>,
}

/// Undo mountinfo's octal escapes (`\040` for a space, ...).
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 3 < b.len() {
            let oct = &b[i + 1..i + 4];
            if oct.iter().all(|c| (b'0'..=b'7').contains(c)) {
                let v = oct
                    .iter()
                    .fold(0u32, |acc, c| acc * 8 + u32::from(c - b'0'));
                if let Ok(v) = u8::try_from(v) {
                    out.push(v);
                    i += 4;
                    continue;
                }
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

pub(crate) fn parse_mountinfo(text: &str) -> Result<Vec<CgroupMount>> {
    let mut out = Vec::new();
    for line in text.lines() {
        let Some((pre, post)) = line.split_once(" - ") else {
            continue;
        };
        let pre: Vec<&str> = pre.split(' ').collect();
        let post: Vec<&str> = post.split(' ').collect();
        if pre.len() < 6 || post.len() < 3 {
            return Err(Error::Detect {
                path: MOUNTINFO.into(),
                why: format!("malformed line {line:?}"),
            });
        }
        let version = match post[0] {
            "cgroup" => Version::V1,
            "cgroup2" => Version::V2,
            _ => continue,
        };
        out.push(CgroupMount {
            version,
            root: unescape(pre[3]),
            mount: PathBuf::from(unescape(pre[4])),
            super_opts: post[2].split(',').map(str::to_string).collect(),
        });
    }
    Ok(out)
}

/// One line of `/proc/self/cgroup`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CgroupLine {
    pub id: u32,
    pub controllers: Vec<String>,
    pub path: String,
}

pub(crate) fn parse_proc_cgroup(text: &str) -> Result<Vec<CgroupLine>> {
    let mut out = Vec::new();
    for line in text.lines().filter(|l| !l.is_empty()) {
        let mut it = line.splitn(3, ':');
        let (Some(id), Some(ctrl), Some(path)) = (it.next(), it.next(), it.next()) else {
            return Err(Error::Detect {
                path: PROC_CGROUP.into(),
                why: format!("malformed line {line:?}"),
            });
        };
        let id = id.parse().map_err(|_| Error::Detect {
            path: PROC_CGROUP.into(),
            why: format!("malformed hierarchy id in {line:?}"),
        })?;
        out.push(CgroupLine {
            id,
            controllers: ctrl
                .split(',')
                .filter(|c| !c.is_empty())
                .map(str::to_string)
                .collect(),
            path: path.trim_end_matches(" (deleted)").to_string(),
        });
    }
    Ok(out)
}

/// Of the mounts of one hierarchy, the one that shows our cgroup, preferring the widest view
/// (a mount of the hierarchy's root over a bind mount of a subtree).
fn best_mount<'a>(
    mounts: impl Iterator<Item = &'a CgroupMount>,
    path: &str,
) -> Option<&'a CgroupMount> {
    mounts
        .filter(|m| shows(&m.root, path))
        .min_by_key(|m| m.root.len())
}

fn words(s: Option<String>) -> Vec<String> {
    s.map(|s| s.split_whitespace().map(str::to_string).collect())
        .unwrap_or_default()
}

/// Build the layout from the text of mountinfo, /proc/self/cgroup and /proc/1/cgroup (if
/// readable); `read` reads cgroup2 control files (for the controllers).
pub(crate) fn build(
    mountinfo: &str,
    proc_cgroup: &str,
    init_cgroup: Option<&str>,
    read: impl Fn(&Path) -> Option<String>,
) -> Result<Layout> {
    let mounts = parse_mountinfo(mountinfo)?;
    let lines = parse_proc_cgroup(proc_cgroup)?;
    // pid 1's unified cgroup; a malformed file only loses the escape, not the layout.
    let init_v2 = init_cgroup
        .and_then(|t| parse_proc_cgroup(t).ok())
        .and_then(|ls| {
            ls.into_iter()
                .find(|l| l.id == 0 && l.controllers.is_empty())
        })
        .filter(|l| l.path.starts_with('/'))
        .map(|l| prune_init_scope(&l.path));
    let mut v1 = Vec::new();
    let mut v2 = None;
    let mut lines = lines;
    // The kernel lists hierarchies newest first; by id reads better and stays stable.
    lines.sort_by_key(|l| l.id);
    for line in &lines {
        if line.id == 0 && line.controllers.is_empty() {
            let Some(m) = best_mount(
                mounts.iter().filter(|m| m.version == Version::V2),
                &line.path,
            ) else {
                tracing::trace!("cgroup2 is not mounted");
                continue;
            };
            let mut h = Hierarchy {
                version: Version::V2,
                mount: m.mount.clone(),
                mount_root: m.root.clone(),
                controllers: Vec::new(),
                delegated: Vec::new(),
                cgroup: line.path.clone(),
                init_cgroup: init_v2.clone(),
            };
            let own = h.own_dir();
            h.controllers = words(read(&own.join("cgroup.controllers")));
            h.delegated = words(read(&own.join("cgroup.subtree_control")));
            v2 = Some(h);
            continue;
        }
        let candidates = mounts.iter().filter(|m| {
            m.version == Version::V1
                && line
                    .controllers
                    .iter()
                    .all(|c| m.super_opts.iter().any(|o| o == c))
        });
        let Some(m) = best_mount(candidates, &line.path) else {
            tracing::trace!(controllers = %line.controllers.join(","), "hierarchy not mounted");
            continue;
        };
        v1.push(Hierarchy {
            version: Version::V1,
            mount: m.mount.clone(),
            mount_root: m.root.clone(),
            controllers: line.controllers.clone(),
            delegated: line.controllers.clone(),
            cgroup: line.path.clone(),
            init_cgroup: None,
        });
    }
    let has_v1_controllers = v1.iter().any(|h| !h.is_named_only());
    let kind = match (has_v1_controllers, v2.is_some()) {
        (true, true) => LayoutKind::Hybrid,
        (true, false) => LayoutKind::Legacy,
        (false, true) => LayoutKind::Unified,
        (false, false) if !v1.is_empty() => LayoutKind::Legacy,
        (false, false) => {
            return Err(Error::Detect {
                path: MOUNTINFO.into(),
                why: "no cgroup hierarchy is mounted".into(),
            })
        }
    };
    let mut hierarchies = v1;
    hierarchies.extend(v2);
    Ok(Layout { kind, hierarchies })
}

#[cfg(test)]
mod tests {
    use super::*;

    const HYBRID_MI: &str = "\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
";
    const HYBRID_CG: &str = "\
9:name=systemd:/
4:memory:/process_api/abc
1:cpu,cpuacct:/
0::/
";

    #[test]
    fn hybrid() {
        let l = build(HYBRID_MI, HYBRID_CG, None, |p| {
            (p == Path::new("/sys/fs/cgroup/unified/cgroup.controllers"))
                .then(|| "hugetlb\n".to_string())
        })
        .unwrap();
        assert_eq!(l.kind, LayoutKind::Hybrid);
        assert_eq!(l.hierarchies.len(), 4);
        let mem = l.v1_controller("memory").unwrap();
        assert_eq!(
            mem.own_dir(),
            Path::new("/sys/fs/cgroup/memory/process_api/abc")
        );
        assert!(l.v1_controller("cpuacct").is_some());
        assert!(l.hierarchies[2].is_named_only());
        let u = l.unified().unwrap();
        assert_eq!(u.mount, Path::new("/sys/fs/cgroup/unified"));
        assert_eq!(u.controllers, vec!["hugetlb"]);
        assert!(u.delegated.is_empty());
        let shown = l.to_string();
        assert!(shown.starts_with("cgroup layout: hybrid\n"), "{shown}");
        assert!(shown.contains("cpu,cpuacct"), "{shown}");
    }

    #[test]
    fn unified_and_legacy() {
        let mi = "25 21 0:22 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate\n";
        let l = build(mi, "0::/user.slice/x.scope\n", None, |_| None).unwrap();
        assert_eq!(l.kind, LayoutKind::Unified);
        assert_eq!(
            l.unified().unwrap().own_dir(),
            Path::new("/sys/fs/cgroup/user.slice/x.scope")
        );
        let l = build(HYBRID_MI, "4:memory:/\n0::/\n", None, |_| None).unwrap();
        assert_eq!(l.kind, LayoutKind::Hybrid);
        let mi = "35 31 0:32 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n";
        let l = build(mi, "4:memory:/a\n0::/\n", None, |_| None).unwrap();
        assert_eq!(l.kind, LayoutKind::Legacy);
        assert!(build("", "0::/\n", None, |_| None).is_err());
    }

    #[test]
    fn base_is_inits_cgroup_for_root_on_pure_cgroup2() {
        let mi = "25 21 0:22 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate\n";
        let own = "0::/user.slice/session-1.scope\n";
        let l = build(mi, own, Some("0::/init.scope\n"), |_| None).unwrap();
        let h = l.unified().unwrap();
        assert_eq!(h.init_cgroup.as_deref(), Some("/"));
        let root = Path::new("/sys/fs/cgroup");
        let mine = Path::new("/sys/fs/cgroup/user.slice/session-1.scope");
        assert_eq!(h.base_dir(LayoutKind::Unified, false, true), root);
        // lxc.cgroup.relative, or not root: our own cgroup.
        assert_eq!(h.base_dir(LayoutKind::Unified, true, true), mine);
        assert_eq!(h.base_dir(LayoutKind::Unified, false, false), mine);
        // Hosts with v1 controllers: always our own (decision 12).
        assert_eq!(h.base_dir(LayoutKind::Hybrid, false, true), mine);
        // init elsewhere than init.scope; unreadable; not under a subtree mount.
        let l = build(mi, own, Some("0::/system.slice/x\n"), |_| None).unwrap();
        assert_eq!(
            l.unified()
                .unwrap()
                .base_dir(LayoutKind::Unified, false, true),
            Path::new("/sys/fs/cgroup/system.slice/x")
        );
        let l = build(mi, own, None, |_| None).unwrap();
        assert_eq!(
            l.unified()
                .unwrap()
                .base_dir(LayoutKind::Unified, false, true),
            mine
        );
        let sub = "25 21 0:22 /user.slice /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n";
        let l = build(sub, own, Some("0::/init.scope\n"), |_| None).unwrap();
        assert_eq!(
            l.unified()
                .unwrap()
                .base_dir(LayoutKind::Unified, false, true),
            Path::new("/sys/fs/cgroup/session-1.scope")
        );
        assert_eq!(prune_init_scope("/a/init.scope"), "/a");
        assert_eq!(prune_init_scope("/a/xinit.scope"), "/a/xinit.scope");
        assert_eq!(prune_init_scope("/"), "/");
    }

    #[test]
    fn subtree_mounts_and_escapes() {
        let mi = "\
35 31 0:32 /lxc/c1 /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory
36 31 0:32 / /mnt/my\\040mem rw - cgroup cgroup rw,memory
";
        let l = build(mi, "4:memory:/lxc/c1/sub\n", None, |_| None).unwrap();
        let h = &l.hierarchies[0];
        assert_eq!(h.mount, Path::new("/mnt/my mem"));
        assert_eq!(h.own_dir(), Path::new("/mnt/my mem/lxc/c1/sub"));
        let l = build(
            mi.lines().next().unwrap(),
            "4:memory:/lxc/c1/sub\n",
            None,
            |_| None,
        )
        .unwrap();
        assert_eq!(
            l.hierarchies[0].own_dir(),
            Path::new("/sys/fs/cgroup/memory/sub")
        );
    }
}
