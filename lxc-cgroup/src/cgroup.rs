//! A container's cgroups: created below the caller's cgroup in every hierarchy in use, limits
//! written in config order, processes attached in one batch, frozen, and removed again.

use std::collections::BTreeSet;
use std::fmt;
use std::io;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Component, Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::config::{CgroupConfig, Setting};
use crate::error::{Error, Result};
use crate::layout::{Hierarchy, Layout, LayoutKind, Version};
use crate::sys::{self, FsKind};

/// How long `remove` keeps retrying cgroups whose last tasks are still exiting.
const REMOVE_PATIENCE: Duration = Duration::from_secs(1);
/// How long `freeze`/`thaw` wait for the kernel to report the new state.
const FREEZE_PATIENCE: Duration = Duration::from_secs(10);
/// LXC's limit on `-N` suffixes.
const MAX_SUFFIX: u32 = 1000;

/// The container's cgroup in one hierarchy: the serializable form of a [`ContainerCgroup`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HierarchyPaths {
    pub version: Version,
    /// v1: the hierarchy's controllers. cgroup2: the controllers the container cgroup has.
    pub controllers: Vec<String>,
    /// The hierarchy's mount point.
    pub mount: PathBuf,
    /// The container's outer cgroup: limits are written here, and it is removed with all its
    /// descendants.
    pub limit: PathBuf,
    /// Where the container's processes go: `limit`, or `limit/<lxc.cgroup.dir.container.inner>`.
    pub inner: PathBuf,
    /// Directories above `limit` that this container created (parents first), from
    /// `lxc.cgroup.dir` paths whose components did not exist yet.
    pub created_above: Vec<PathBuf>,
}

impl HierarchyPaths {
    fn has_controller(&self, c: &str) -> bool {
        self.controllers.iter().any(|x| x == c)
    }

    /// The container's cgroup as a path inside the hierarchy (`/process_api/x/lxc.payload.c1`),
    /// the form LXC's `get_cgroup_path` reports.
    pub fn cgroup_path(&self) -> String {
        match self.inner.strip_prefix(&self.mount) {
            Ok(rel) => format!("/{}", rel.display()),
            Err(_) => self.inner.display().to_string(),
        }
    }

    /// `cgroup2`, or the v1 controllers joined with commas.
    pub fn label(&self) -> String {
        match self.version {
            Version::V1 => self.controllers.join(","),
            Version::V2 => "cgroup2".into(),
        }
    }
}

/// The state a freezer reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FreezerState {
    Thawed,
    Freezing,
    Frozen,
}

impl fmt::Display for FreezerState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FreezerState::Thawed => "THAWED",
            FreezerState::Freezing => "FREEZING",
            FreezerState::Frozen => "FROZEN",
        })
    }
}

/// A container's cgroups. Plain paths, so it is `Send` and can be rebuilt in another process
/// ([`ContainerCgroup::from_paths`]) to remove or inspect them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerCgroup {
    dirs: Vec<HierarchyPaths>,
}

/// Why one attempt at a name did not work.
enum Attempt {
    /// The name is taken in some hierarchy.
    Exists(PathBuf),
    Fatal(Error),
}

impl ContainerCgroup {
    /// Create the container's cgroups in every hierarchy in use, below the caller's cgroup,
    /// and write the configured limits. On any error everything made so far is removed.
    pub fn create(layout: &Layout, cfg: &CgroupConfig) -> Result<Self> {
        cfg.check()?;
        let hierarchies: Vec<&Hierarchy> = layout
            .hierarchies
            .iter()
            .filter(|h| use_hierarchy(h, cfg))
            .collect();
        let (limit_rel, inner, suffixable) = cfg.target();
        // With an inner cgroup, legacy device rules go on the limit cgroup before the inner one
        // exists: an `a` rule is refused once a devices cgroup has children.
        let early_devices = inner.is_some() && layout.kind != LayoutKind::Unified;
        for idx in 0..MAX_SUFFIX {
            let rel = if idx == 0 {
                limit_rel.clone()
            } else {
                format!("{limit_rel}-{idx}")
            };
            match Self::attempt(&hierarchies, &rel, inner.as_deref(), cfg, early_devices) {
                Ok(cg) => {
                    tracing::info!(name = %cfg.name, cgroup = %rel, "created container cgroups");
                    if let Err(e) = cg.apply(cfg, layout.kind, early_devices) {
                        if let Err(re) = cg.remove() {
                            tracing::warn!(error = %re, "removing cgroups after a failed limit");
                        }
                        return Err(e);
                    }
                    return Ok(cg);
                }
                Err(Attempt::Exists(path)) if suffixable => {
                    tracing::debug!(path = %path.display(), "cgroup name taken, trying the next");
                }
                Err(Attempt::Exists(path)) => {
                    return Err(Error::Exists {
                        key: "lxc.cgroup.dir.container",
                        path,
                    })
                }
                Err(Attempt::Fatal(e)) => return Err(e),
            }
        }
        Err(Error::NameExhausted {
            name: cfg.name.clone(),
            base: limit_rel,
        })
    }

    fn attempt(
        hierarchies: &[&Hierarchy],
        rel: &str,
        inner: Option<&str>,
        cfg: &CgroupConfig,
        early_devices: bool,
    ) -> Result<Self, Attempt> {
        let mut cg = ContainerCgroup { dirs: Vec::new() };
        for h in hierarchies {
            match create_in(h, rel, inner, cfg, early_devices) {
                Ok(d) => cg.dirs.push(d),
                Err(Attempt::Fatal(e)) if h.is_named_only() => {
                    // A named hierarchy (name=systemd) only groups processes for the init
                    // system; a container runs fine without a cgroup there.
                    tracing::warn!(hierarchy = %h.label(), error = %e, "skipping hierarchy");
                }
                Err(e) => {
                    if let Err(re) = cg.remove() {
                        tracing::warn!(error = %re, "removing a partly created cgroup");
                    }
                    return Err(e);
                }
            }
        }
        Ok(cg)
    }

    /// Rebuild a handle from [`ContainerCgroup::to_paths`] (in another process, say). The paths
    /// are checked to have the shape `create` gives them; nothing is touched.
    pub fn from_paths(paths: Vec<HierarchyPaths>) -> Result<Self> {
        for d in &paths {
            for p in [&d.mount, &d.limit, &d.inner]
                .into_iter()
                .chain(d.created_above.iter())
            {
                if !p.is_absolute() || p.components().any(|c| c == Component::ParentDir) {
                    return Err(Error::BadPath {
                        path: p.clone(),
                        why: "not an absolute path without \"..\"",
                    });
                }
            }
            if d.limit == d.mount || !d.limit.starts_with(&d.mount) {
                return Err(Error::BadPath {
                    path: d.limit.clone(),
                    why: "the container cgroup is not below the hierarchy's mount point",
                });
            }
            if !d.inner.starts_with(&d.limit) {
                return Err(Error::BadPath {
                    path: d.inner.clone(),
                    why: "the inner cgroup is not below the container cgroup",
                });
            }
            if let Some(p) = d
                .created_above
                .iter()
                .find(|p| *p == &d.mount || !p.starts_with(&d.mount) || !d.limit.starts_with(p))
            {
                return Err(Error::BadPath {
                    path: p.clone(),
                    why: "not between the mount point and the container cgroup",
                });
            }
        }
        Ok(ContainerCgroup { dirs: paths })
    }

    /// The serializable form: what `from_paths` takes back.
    pub fn to_paths(&self) -> Vec<HierarchyPaths> {
        self.dirs.clone()
    }

    /// The container's cgroup in each hierarchy.
    pub fn paths(&self) -> &[HierarchyPaths] {
        &self.dirs
    }

    /// The container's cgroup directory in the hierarchy that has `controller` (v1 first), or in
    /// the cgroup2 hierarchy for `None`.
    pub fn path_for(&self, controller: Option<&str>) -> Option<&Path> {
        match controller {
            None => self
                .dirs
                .iter()
                .find(|d| d.version == Version::V2)
                .map(|d| d.inner.as_path()),
            Some(c) => self.dir_for_controller(c).map(|d| d.inner.as_path()),
        }
    }

    fn dir_for_controller(&self, c: &str) -> Option<&HierarchyPaths> {
        self.dirs
            .iter()
            .find(|d| d.version == Version::V1 && d.has_controller(c))
            .or_else(|| {
                self.dirs
                    .iter()
                    .find(|d| d.version == Version::V2 && d.has_controller(c))
            })
    }

    /// Write the config's `lxc.cgroup.*` (v1) and `lxc.cgroup2.*` (cgroup2) settings, like
    /// LXC: v1 settings on hosts with v1 controllers, cgroup2 settings on pure cgroup2 hosts
    /// only; `memory.memsw.limit_in_bytes` after the other memory limits; device rules last.
    fn apply(&self, cfg: &CgroupConfig, kind: LayoutKind, devices_done: bool) -> Result<()> {
        let (v2, v1): (Vec<&Setting>, Vec<&Setting>) = cfg.settings.iter().partition(|s| s.is_v2());
        if kind == LayoutKind::Unified {
            if let Some(s) = v1.first() {
                tracing::warn!(key = %s.key, "ignoring lxc.cgroup.* settings on a pure cgroup2 host");
            }
        } else {
            let (devices, other): (Vec<&Setting>, Vec<&Setting>) =
                v1.into_iter().partition(|s| is_devices(s.file()));
            let (memsw, other): (Vec<&Setting>, Vec<&Setting>) = other
                .into_iter()
                .partition(|s| s.file() == "memory.memsw.limit_in_bytes");
            for s in other.into_iter().chain(memsw) {
                self.write_v1(s)?;
            }
            if !devices_done {
                self.write_v1_devices(&devices)?;
            }
        }
        if kind != LayoutKind::Unified {
            if let Some(s) = v2.first() {
                tracing::warn!(key = %s.key, "ignoring lxc.cgroup2.* settings on a host with cgroup v1 controllers");
            }
            return Ok(());
        }
        let Some(dir) = self.dirs.iter().find(|d| d.version == Version::V2) else {
            return Ok(());
        };
        for s in v2 {
            let file = checked_file(&s.key, s.file())?;
            if is_devices(file) {
                tracing::debug!(key = %s.key, "cgroup2 device rules are applied as a BPF program");
                continue;
            }
            write_key(&s.key, &dir.limit.join(file), &s.value)?;
            tracing::debug!(key = %s.key, value = %s.value, "set");
        }
        Ok(())
    }

    fn v1_dir(&self, key: &str, file: &str) -> Result<&HierarchyPaths> {
        let controller = controller_of(file);
        self.dirs
            .iter()
            .find(|d| d.version == Version::V1 && d.has_controller(controller))
            .ok_or_else(|| Error::UnknownController {
                key: key.to_string(),
                controller: controller.to_string(),
            })
    }

    fn write_v1(&self, s: &Setting) -> Result<()> {
        let file = checked_file(&s.key, s.file())?;
        let dir = self.v1_dir(&s.key, file)?;
        // LXC writes cpuset values to the inner cgroup too, so the container sees them there.
        if controller_of(file) == "cpuset" && dir.inner != dir.limit {
            write_key(&s.key, &dir.inner.join(file), &s.value)?;
        }
        write_key(&s.key, &dir.limit.join(file), &s.value)?;
        tracing::debug!(key = %s.key, value = %s.value, "set");
        Ok(())
    }

    fn write_v1_devices(&self, devices: &[&Setting]) -> Result<()> {
        for s in devices {
            let file = checked_file(&s.key, s.file())?;
            let dir = self.v1_dir(&s.key, file)?;
            write_device_rule(s, &dir.limit.join(file))?;
        }
        Ok(())
    }

    /// Move `pid` into the container's cgroup in every hierarchy, one write each, back to back
    /// (the first move after an idle gap is the slow one; the rest are cheap).
    pub fn attach(&self, pid: i32) -> Result<()> {
        let s = pid.to_string();
        for d in &self.dirs {
            let path = d.inner.join("cgroup.procs");
            sys::write(&path, &s).map_err(|source| Error::Attach { pid, path, source })?;
        }
        tracing::debug!(pid, "attached to container cgroups");
        Ok(())
    }

    /// The cgroups of `layout` that hold the calling process now (where a process that moved
    /// itself into a cgroup of ours goes back to), for the hierarchies this handle uses.
    pub fn origins(&self, layout: &Layout) -> Vec<PathBuf> {
        self.dirs
            .iter()
            .filter_map(|d| layout.hierarchies.iter().find(|h| h.mount == d.mount))
            .map(|h| h.own_dir())
            .collect()
    }

    /// Move the calling process into `dirs` (its own cgroups, by [`origins`](Self::origins)):
    /// only the caller's own membership changes, nothing of those cgroups' settings.
    pub fn move_self_to(dirs: &[PathBuf]) -> Result<()> {
        let pid = std::process::id() as i32;
        for dir in dirs {
            let path = dir.join("cgroup.procs");
            sys::write(&path, "0").map_err(|source| Error::Attach { pid, path, source })?;
        }
        Ok(())
    }

    /// Read a cgroup file of the running container (`lxc-cgroup NAME memory.limit_in_bytes`),
    /// raw, as the kernel returns it.
    pub fn get_item(&self, key: &str) -> Result<String> {
        let path = self.item_path(key)?;
        sys::read(&path).map_err(|source| Error::Key {
            key: key.to_string(),
            op: "read",
            path,
            source,
        })
    }

    /// Write a cgroup file of the running container.
    pub fn set_item(&self, key: &str, value: &str) -> Result<()> {
        let path = self.item_path(key)?;
        write_key(key, &path, value)
    }

    /// Where an item key lives: the hierarchy of its controller prefix (v1 first, then
    /// cgroup2); `cgroup.*` core files in the cgroup2 hierarchy when there is one.
    fn item_path(&self, key: &str) -> Result<PathBuf> {
        let file = checked_file(key, key)?;
        let controller = controller_of(file);
        let dir = self.dir_for_controller(controller).or_else(|| {
            (controller == "cgroup").then(|| {
                self.dirs
                    .iter()
                    .find(|d| d.version == Version::V2)
                    .or(self.dirs.first())
            })?
        });
        match dir {
            Some(d) => Ok(d.limit.join(file)),
            None => Err(Error::UnknownController {
                key: key.to_string(),
                controller: controller.to_string(),
            }),
        }
    }

    /// Every pid in the container's cgroups (all hierarchies, nested cgroups included), sorted.
    pub fn procs(&self) -> Result<Vec<i32>> {
        let mut pids = BTreeSet::new();
        for d in &self.dirs {
            collect_procs(&d.limit, &mut pids)?;
        }
        Ok(pids.into_iter().collect())
    }

    /// Remove every cgroup this container created, deepest first, retrying for up to a second
    /// while the last tasks exit. Safe to call again; cgroups already gone are fine. Failures
    /// are logged; the first is returned.
    pub fn remove(&self) -> Result<()> {
        let deadline = Instant::now() + REMOVE_PATIENCE;
        let mut pending: Vec<&Path> = Vec::new();
        let mut failed: Vec<(PathBuf, io::Error)> = Vec::new();
        for d in &self.dirs {
            match sys::fs_kind(&d.limit) {
                Ok(FsKind::V1 | FsKind::V2) => pending.push(&d.limit),
                Ok(FsKind::Other) => failed.push((
                    d.limit.clone(),
                    io::Error::other("not on a cgroup filesystem; left alone"),
                )),
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => failed.push((d.limit.clone(), e)),
            }
        }
        let mut pause = Duration::from_millis(2);
        loop {
            let mut busy = Vec::new();
            for root in pending {
                match prune(root) {
                    Ok(()) => {}
                    Err((_, e)) if is_busy(&e) && Instant::now() < deadline => busy.push(root),
                    Err(f) => failed.push(f),
                }
            }
            if busy.is_empty() {
                break;
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(50));
            pending = busy;
        }
        for d in &self.dirs {
            for p in d.created_above.iter().rev() {
                match sys::rmdir(p) {
                    Ok(()) => {}
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    // Another container may have made its cgroup beside ours in the meantime.
                    Err(e) if is_busy(&e) => {
                        tracing::debug!(path = %p.display(), "shared parent cgroup still in use")
                    }
                    Err(e) => failed.push((p.clone(), e)),
                }
            }
        }
        for (p, e) in &failed {
            tracing::warn!(path = %p.display(), error = %crate::error::Errno(e), "cgroup not removed");
        }
        let more = failed.len().saturating_sub(1);
        match failed.into_iter().next() {
            None => Ok(()),
            Some((first, source)) => Err(Error::Remove {
                first,
                source,
                more,
            }),
        }
    }

    /// The freezer to use: v1's `freezer` controller when the host has it (as LXC does), else
    /// cgroup2's `cgroup.freeze`.
    fn freezer(&self) -> Result<(Version, &Path)> {
        if let Some(d) = self
            .dirs
            .iter()
            .find(|d| d.version == Version::V1 && d.has_controller("freezer"))
        {
            return Ok((Version::V1, &d.limit));
        }
        self.dirs
            .iter()
            .find(|d| d.version == Version::V2 && d.limit.join("cgroup.freeze").exists())
            .map(|d| (Version::V2, d.limit.as_path()))
            .ok_or(Error::Unsupported { what: "freezer" })
    }

    /// Freeze every process of the container and wait until the kernel reports it frozen.
    pub fn freeze(&self) -> Result<()> {
        self.set_frozen(true)
    }

    /// Thaw the container and wait until the kernel reports it thawed.
    pub fn thaw(&self) -> Result<()> {
        self.set_frozen(false)
    }

    fn set_frozen(&self, frozen: bool) -> Result<()> {
        let (version, dir) = self.freezer()?;
        let (file, value) = match (version, frozen) {
            (Version::V1, true) => ("freezer.state", "FROZEN"),
            (Version::V1, false) => ("freezer.state", "THAWED"),
            (Version::V2, true) => ("cgroup.freeze", "1"),
            (Version::V2, false) => ("cgroup.freeze", "0"),
        };
        let want = if frozen {
            FreezerState::Frozen
        } else {
            FreezerState::Thawed
        };
        let path = dir.join(file);
        let start = Instant::now();
        let mut pause = Duration::from_millis(1);
        loop {
            // v1 can stay FREEZING when a task is busy in the kernel; writing again retries.
            sys::write(&path, value).map_err(|source| Error::Io {
                op: "write",
                path: path.clone(),
                source,
            })?;
            let state = state_of(version, dir)?;
            if state == want {
                tracing::debug!(path = %path.display(), %state, "freezer");
                return Ok(());
            }
            if start.elapsed() >= FREEZE_PATIENCE {
                return Err(Error::FreezeTimeout {
                    path,
                    state: state.to_string(),
                    waited_ms: start.elapsed().as_millis() as u64,
                });
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(50));
        }
    }

    /// What the freezer says now.
    pub fn freezer_state(&self) -> Result<FreezerState> {
        let (version, dir) = self.freezer()?;
        state_of(version, dir)
    }
}

/// Does the config let us use this hierarchy (`lxc.cgroup.use`)?
fn use_hierarchy(h: &Hierarchy, cfg: &CgroupConfig) -> bool {
    match (&cfg.use_controllers, h.version) {
        (Some(list), Version::V1) => h.controllers.iter().all(|c| {
            let bare = c.strip_prefix("name=").unwrap_or(c);
            list.iter().any(|u| u == c || u == bare)
        }),
        _ => true,
    }
}

/// Create `rel` (and `rel/inner`) below the caller's cgroup in one hierarchy.
fn create_in(
    h: &Hierarchy,
    rel: &str,
    inner: Option<&str>,
    cfg: &CgroupConfig,
    early_devices: bool,
) -> Result<HierarchyPaths, Attempt> {
    let base = h.own_dir();
    let comps: Vec<&str> = rel
        .split('/')
        .filter(|c| !c.is_empty() && *c != ".")
        .collect();
    let mut d = HierarchyPaths {
        version: h.version,
        controllers: h.controllers.clone(),
        mount: h.mount.clone(),
        limit: base.clone(),
        inner: base.clone(),
        created_above: Vec::new(),
    };
    let undo = |d: &HierarchyPaths| {
        for p in d.created_above.iter().rev() {
            let _ = sys::rmdir(p);
        }
    };
    let mut parent = base;
    for (i, c) in comps.iter().enumerate() {
        let last = i + 1 == comps.len();
        let dir = parent.join(c);
        match sys::mkdir(&dir) {
            Ok(()) => {
                if let Err(e) = init_dir(h, &parent, &dir, !last || inner.is_some()) {
                    let _ = sys::rmdir(&dir);
                    undo(&d);
                    return Err(Attempt::Fatal(e));
                }
                if !last {
                    d.created_above.push(dir.clone());
                }
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                if last {
                    undo(&d);
                    return Err(Attempt::Exists(dir));
                }
            }
            Err(source) => {
                undo(&d);
                return Err(Attempt::Fatal(Error::Io {
                    op: "create cgroup",
                    path: dir,
                    source,
                }));
            }
        }
        parent = dir;
    }
    d.limit = parent.clone();
    d.inner = parent.clone();
    let cleanup = |d: &HierarchyPaths, e: Error| {
        let _ = prune(&d.limit);
        undo(d);
        Attempt::Fatal(e)
    };
    if let Some(inner) = inner {
        if early_devices && h.version == Version::V1 && h.has_controller("devices") {
            let rules: Vec<&Setting> = cfg
                .settings
                .iter()
                .filter(|s| !s.is_v2() && is_devices(s.file()))
                .collect();
            for s in rules {
                let r = checked_file(&s.key, s.file())
                    .and_then(|f| write_device_rule(s, &d.limit.join(f)));
                if let Err(e) = r {
                    return Err(cleanup(&d, e));
                }
            }
        }
        let dir = parent.join(inner);
        if let Err(source) = sys::mkdir(&dir) {
            let e = Error::Io {
                op: "create cgroup",
                path: dir,
                source,
            };
            return Err(cleanup(&d, e));
        }
        if let Err(e) = init_dir(h, &parent, &dir, false) {
            return Err(cleanup(&d, e));
        }
        d.inner = dir;
    }
    if h.version == Version::V2 {
        d.controllers = sys::read(&d.limit.join("cgroup.controllers"))
            .map(|s| s.split_whitespace().map(str::to_string).collect())
            .unwrap_or_default();
    }
    Ok(d)
}

/// Prepare a cgroup we just made: v1 cpuset needs cpus and mems before it takes a task;
/// a cgroup2 cgroup with children of ours hands its controllers down to them.
fn init_dir(h: &Hierarchy, parent: &Path, dir: &Path, has_children: bool) -> Result<()> {
    match h.version {
        Version::V1 if h.has_controller("cpuset") => init_cpuset(parent, dir),
        Version::V2 if has_children => {
            delegate_controllers(dir);
            Ok(())
        }
        _ => Ok(()),
    }
}

fn io_err(op: &'static str, path: PathBuf) -> impl FnOnce(io::Error) -> Error {
    move |source| Error::Io { op, path, source }
}

/// Copy cpuset.cpus (without isolated and offline cpus, like LXC) and cpuset.mems from the
/// parent into our new cgroup, and turn on clone_children so cgroups the container makes
/// below it are initialised by the kernel.
fn init_cpuset(parent: &Path, dir: &Path) -> Result<()> {
    for file in ["cpuset.cpus", "cpuset.mems"] {
        let mine = dir.join(file);
        let cur = sys::read(&mine).map_err(io_err("read", mine.clone()))?;
        if !cur.trim().is_empty() {
            continue;
        }
        let from = parent.join(file);
        let mut value = sys::read(&from).map_err(io_err("read", from))?;
        if file == "cpuset.cpus" {
            value = usable_cpus(value.trim());
        }
        let value = value.trim();
        if value.is_empty() {
            continue;
        }
        sys::write(&mine, value).map_err(io_err("write", mine.clone()))?;
    }
    let cc = dir.join("cgroup.clone_children");
    sys::write(&cc, "1").map_err(io_err("write", cc))
}

fn usable_cpus(list: &str) -> String {
    let mut cpus = parse_cpulist(list);
    for f in [
        "/sys/devices/system/cpu/isolated",
        "/sys/devices/system/cpu/offline",
    ] {
        if let Ok(s) = sys::read(Path::new(f)) {
            for c in parse_cpulist(s.trim()) {
                cpus.remove(&c);
            }
        }
    }
    if cpus.is_empty() {
        // Nothing left: better the parent's list than an empty cpuset no task can enter.
        return list.to_string();
    }
    format_cpulist(&cpus)
}

fn parse_cpulist(s: &str) -> BTreeSet<u32> {
    let mut out = BTreeSet::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (a, b) = part.split_once('-').unwrap_or((part, part));
        if let (Ok(a), Ok(b)) = (a.trim().parse::<u32>(), b.trim().parse::<u32>()) {
            out.extend(a..=b);
        }
    }
    out
}

fn format_cpulist(cpus: &BTreeSet<u32>) -> String {
    let mut parts = Vec::new();
    let mut it = cpus.iter().copied().peekable();
    while let Some(start) = it.next() {
        let mut end = start;
        while it.peek() == Some(&(end + 1)) {
            end += 1;
            it.next();
        }
        parts.push(if start == end {
            start.to_string()
        } else {
            format!("{start}-{end}")
        });
    }
    parts.join(",")
}

/// Enable in our cgroup2 cgroup every controller it has, so its children get them.
/// One at a time: a controller that cannot be enabled must not block the others.
fn delegate_controllers(dir: &Path) {
    let Ok(list) = sys::read(&dir.join("cgroup.controllers")) else {
        return;
    };
    let path = dir.join("cgroup.subtree_control");
    for c in list.split_whitespace() {
        if let Err(e) = sys::write(&path, &format!("+{c}")) {
            tracing::warn!(path = %path.display(), controller = c, error = %crate::error::Errno(&e), "cannot enable controller");
        }
    }
}

fn is_devices(file: &str) -> bool {
    file == "devices.allow" || file == "devices.deny"
}

/// The controller a cgroup file belongs to: `memory` for `memory.limit_in_bytes`.
fn controller_of(file: &str) -> &str {
    file.split_once('.').map_or(file, |(c, _)| c)
}

/// A key must name one file directly in the cgroup directory.
pub(crate) fn checked_file<'a>(key: &str, file: &'a str) -> Result<&'a str> {
    if file.is_empty() || file == "." || file == ".." || file.contains('/') || file.contains('\0') {
        return Err(Error::InvalidKey {
            key: key.to_string(),
            why: "does not name a file in the container's cgroup",
        });
    }
    Ok(file)
}

fn write_key(key: &str, path: &Path, value: &str) -> Result<()> {
    sys::write(path, value).map_err(|source| Error::Key {
        key: key.to_string(),
        op: "write",
        path: path.to_path_buf(),
        source,
    })
}

/// Write one v1 device rule. `devices.allow = /dev/foo rwm` is turned into `c 1:2 rwm` the way
/// LXC does. Like LXC, a rule the kernel refuses for lack of permission is logged and skipped.
fn write_device_rule(s: &Setting, path: &Path) -> Result<()> {
    let value = if s.file() == "devices.allow" && s.value.starts_with('/') {
        devpath_rule(s)?
    } else {
        s.value.clone()
    };
    match sys::write(path, &value) {
        Err(e) if matches!(e.raw_os_error(), Some(n) if n == nix::libc::EPERM || n == nix::libc::EACCES) =>
        {
            tracing::warn!(key = %s.key, value = %value, error = %crate::error::Errno(&e), "device rule not applied");
            Ok(())
        }
        r => r.map_err(|source| Error::Key {
            key: s.key.clone(),
            op: "write",
            path: path.to_path_buf(),
            source,
        }),
    }
}

fn devpath_rule(s: &Setting) -> Result<String> {
    let bad = |why: String| Error::InvalidValue {
        key: s.key.clone(),
        value: s.value.clone(),
        why,
    };
    let mut it = s.value.split_whitespace();
    let (Some(dev), Some(access)) = (it.next(), it.next()) else {
        return Err(bad("expected `/dev/PATH ACCESS`".into()));
    };
    if access.is_empty() || !access.chars().all(|c| matches!(c, 'r' | 'w' | 'm')) {
        return Err(bad(format!("access {access:?} is not made of r, w and m")));
    }
    let md =
        std::fs::metadata(dev).map_err(|e| bad(format!("{dev}: {}", crate::error::Errno(&e))))?;
    let kind = if md.file_type().is_char_device() {
        'c'
    } else if md.file_type().is_block_device() {
        'b'
    } else {
        return Err(bad(format!("{dev} is not a device")));
    };
    let rdev = md.rdev();
    Ok(format!(
        "{kind} {}:{} {access}",
        nix::sys::stat::major(rdev),
        nix::sys::stat::minor(rdev)
    ))
}

fn is_busy(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(n) if n == nix::libc::EBUSY || n == nix::libc::ENOTEMPTY
    )
}

/// Remove a cgroup and every cgroup below it, deepest first.
fn prune(dir: &Path) -> Result<(), (PathBuf, io::Error)> {
    match sys::subdirs(dir) {
        Ok(children) => {
            for c in children {
                prune(&c)?;
            }
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err((dir.to_path_buf(), e)),
    }
    match sys::rmdir(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err((dir.to_path_buf(), e)),
    }
}

fn collect_procs(dir: &Path, out: &mut BTreeSet<i32>) -> Result<()> {
    let path = dir.join("cgroup.procs");
    match sys::read(&path) {
        Ok(s) => out.extend(s.lines().filter_map(|l| l.trim().parse::<i32>().ok())),
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(source) => {
            return Err(Error::Io {
                op: "read",
                path,
                source,
            })
        }
    }
    let children = match sys::subdirs(dir) {
        Ok(c) => c,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(source) => {
            return Err(Error::Io {
                op: "list",
                path: dir.to_path_buf(),
                source,
            })
        }
    };
    for c in children {
        collect_procs(&c, out)?;
    }
    Ok(())
}

fn state_of(version: Version, dir: &Path) -> Result<FreezerState> {
    let read = |f: &str| {
        let p = dir.join(f);
        sys::read(&p).map_err(io_err("read", p))
    };
    match version {
        Version::V1 => {
            let s = read("freezer.state")?;
            Ok(match s.trim() {
                "FROZEN" => FreezerState::Frozen,
                "FREEZING" => FreezerState::Freezing,
                _ => FreezerState::Thawed,
            })
        }
        Version::V2 => {
            let want = read("cgroup.freeze")?.trim() == "1";
            let frozen = read("cgroup.events")?
                .lines()
                .any(|l| l.trim() == "frozen 1");
            Ok(match (want, frozen) {
                (true, true) => FreezerState::Frozen,
                (true, false) => FreezerState::Freezing,
                // Thawing is immediate from userspace's point of view once requested.
                (false, _) => FreezerState::Thawed,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpulists() {
        let s = parse_cpulist("0-3,5,7-8");
        assert_eq!(format_cpulist(&s), "0-3,5,7-8");
        let mut s = parse_cpulist("0-3");
        s.remove(&1);
        assert_eq!(format_cpulist(&s), "0,2-3");
        assert!(parse_cpulist("").is_empty());
    }

    #[test]
    fn keys() {
        assert_eq!(controller_of("memory.limit_in_bytes"), "memory");
        assert_eq!(controller_of("tasks"), "tasks");
        assert!(checked_file("k", "../x").is_err());
        assert!(checked_file("k", "a/b").is_err());
        assert!(checked_file("k", "memory.max").is_ok());
    }

    #[test]
    fn devpath() {
        let s = Setting::new("lxc.cgroup.devices.allow", "/dev/null rwm");
        assert_eq!(devpath_rule(&s).unwrap(), "c 1:3 rwm");
        let s = Setting::new("lxc.cgroup.devices.allow", "/etc/passwd rwm");
        assert!(devpath_rule(&s)
            .unwrap_err()
            .to_string()
            .starts_with("lxc.cgroup.devices.allow: invalid value"));
    }

    #[test]
    fn from_paths_checks_shape() {
        let good = HierarchyPaths {
            version: Version::V1,
            controllers: vec!["memory".into()],
            mount: "/sys/fs/cgroup/memory".into(),
            limit: "/sys/fs/cgroup/memory/a/b".into(),
            inner: "/sys/fs/cgroup/memory/a/b".into(),
            created_above: vec!["/sys/fs/cgroup/memory/a".into()],
        };
        assert!(ContainerCgroup::from_paths(vec![good.clone()]).is_ok());
        let mut bad = good.clone();
        bad.limit = "/etc".into();
        assert!(ContainerCgroup::from_paths(vec![bad]).is_err());
        let mut bad = good.clone();
        bad.created_above = vec!["/sys/fs/cgroup/memory/x".into()];
        assert!(ContainerCgroup::from_paths(vec![bad]).is_err());
        let mut bad = good;
        bad.inner = "/sys/fs/cgroup/memory/a/../../..".into();
        assert!(ContainerCgroup::from_paths(vec![bad]).is_err());
    }
}
