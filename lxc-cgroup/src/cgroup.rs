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
use lxc_core::phase::{CgroupEntered, CgroupEntry};

/// How long `remove` waits for the container's last processes to exit (cgroup2: for
/// `populated 0` in cgroup.events; v1: for rmdir to stop failing with EBUSY). Killing init
/// empties a pid namespace within milliseconds; this bounds a task stuck in the kernel.
pub const REMOVE_PATIENCE: Duration = Duration::from_secs(5);
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
    /// Create the container's cgroups in every hierarchy in use, below the base cgroup (see
    /// [`Hierarchy::base_dir`]), hand them the controllers (cgroup2), write the configured
    /// limits and, for a container with a user namespace, hand them to its root. On any error
    /// everything made so far is removed.
    pub fn create(layout: &Layout, cfg: &CgroupConfig) -> Result<Self> {
        cfg.check()?;
        let (rel, inner, suffixable) = cfg.target();
        // With an inner cgroup, legacy device rules go on the limit cgroup before the inner one
        // exists: an `a` rule is refused once a devices cgroup has children.
        let early_devices = inner.is_some() && layout.kind != LayoutKind::Unified;
        let plan = Plan {
            rel,
            inner,
            suffixable,
            exists_key: "lxc.cgroup.dir.container",
            payload: true,
            early_devices,
            ..Plan::new(layout, cfg)
        };
        let cg = Self::make(layout, &plan)?;
        if let Err(e) = cg.apply(cfg, layout.kind, early_devices) {
            if let Err(re) = cg.remove() {
                tracing::warn!(error = %re, "removing cgroups after a failed limit");
            }
            return Err(e);
        }
        if let Some(gid) = cfg.container_gid {
            cg.hand_over(gid);
        }
        Ok(cg)
    }

    /// Create the monitor's cgroup with LXC's names (`lxc.monitor.NAME`, `-N` on collisions,
    /// `lxc.cgroup.dir.monitor`) beside the container's, below the same base.
    pub fn create_monitor(layout: &Layout, cfg: &CgroupConfig) -> Result<Self> {
        cfg.check()?;
        let (rel, suffixable) = cfg.monitor_target();
        let plan = Plan {
            rel,
            inner: None,
            suffixable,
            exists_key: "lxc.cgroup.dir.monitor",
            payload: false,
            early_devices: false,
            ..Plan::new(layout, cfg)
        };
        Self::make(layout, &plan)
    }

    /// The same cgroup in every hierarchy in use: the first of `rel`, `rel-1`, .. `rel-999`
    /// free in all of them.
    fn make(layout: &Layout, plan: &Plan<'_>) -> Result<Self> {
        let hierarchies: Vec<&Hierarchy> = layout
            .hierarchies
            .iter()
            .filter(|h| use_hierarchy(h, plan.cfg))
            .collect();
        for idx in 0..MAX_SUFFIX {
            let rel = if idx == 0 {
                plan.rel.clone()
            } else {
                format!("{}-{idx}", plan.rel)
            };
            match Self::attempt(&hierarchies, &rel, plan) {
                Ok(cg) => {
                    tracing::info!(name = %plan.cfg.name, cgroup = %rel, payload = plan.payload, "created cgroups");
                    return Ok(cg);
                }
                Err(Attempt::Exists(path)) if plan.suffixable => {
                    tracing::debug!(path = %path.display(), "cgroup name taken, trying the next");
                }
                Err(Attempt::Exists(path)) => {
                    return Err(Error::Exists {
                        key: plan.exists_key,
                        path,
                    })
                }
                Err(Attempt::Fatal(e)) => return Err(e),
            }
        }
        Err(Error::NameExhausted {
            name: plan.cfg.name.clone(),
            base: plan.rel.clone(),
        })
    }

    fn attempt(hierarchies: &[&Hierarchy], rel: &str, plan: &Plan<'_>) -> Result<Self, Attempt> {
        let mut cg = ContainerCgroup { dirs: Vec::new() };
        for h in hierarchies {
            match create_in(h, rel, plan) {
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
            // Device rules among them may be enforced still (devices::unified_rules).
            if let Some(s) = v1.iter().find(|s| !is_devices(s.file())) {
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
            // Every devices* file is a rule for LXC (devices.rs), put in force before exec.
            if crate::devices::is_config_rule(file) {
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
        self.attach_rest(pid, CgroupEntered::default())
    }

    /// [`attach`](Self::attach) for the hierarchies init did not enter by itself
    /// ([`entry`](Self::entry)).
    pub fn attach_rest(&self, pid: i32, entered: CgroupEntered) -> Result<()> {
        let s = pid.to_string();
        for d in &self.dirs {
            let done = match d.version {
                Version::V1 => entered.self_moved,
                Version::V2 => entered.into,
            };
            if done {
                continue;
            }
            let path = d.inner.join("cgroup.procs");
            sys::write(&path, &s).map_err(|source| Error::Attach { pid, path, source })?;
        }
        tracing::debug!(pid, ?entered, "attached to container cgroups");
        Ok(())
    }

    /// The ways into these cgroups that take no global lock (`lxc_core::phase::CgroupEntry`):
    /// the cgroup2 directory for CLONE_INTO_CGROUP and every cgroup1 `tasks` file, opened now
    /// on the host. All or nothing per version: [`attach_rest`](Self::attach_rest) tells
    /// them apart by version only.
    pub fn entry(&self) -> Result<CgroupEntry> {
        let mut e = CgroupEntry::default();
        for d in &self.dirs {
            match d.version {
                Version::V1 => {
                    let path = d.inner.join("tasks");
                    let fd = sys::open_write(&path).map_err(|source| Error::Io {
                        op: "open",
                        path: path.clone(),
                        source,
                    })?;
                    e.self_move.push((path, fd));
                }
                Version::V2 => {
                    let fd = sys::open_dir(&d.inner).map_err(|source| Error::Io {
                        op: "open",
                        path: d.inner.clone(),
                        source,
                    })?;
                    e.into = Some(fd);
                }
            }
        }
        Ok(e)
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

    /// LXC's pivot cgroups ([`CgroupConfig`]'s `lxc.cgroup.dir.monitor.pivot`, `lxc.cgroup.dir`
    /// or the base, then `lxc.pivot`), for the hierarchies this handle uses, in the order of
    /// [`origins`](Self::origins).
    pub fn pivots(&self, layout: &Layout, cfg: &CgroupConfig) -> Vec<PathBuf> {
        let base = Plan::new(layout, cfg);
        let rel = cfg.pivot();
        self.dirs
            .iter()
            .filter_map(|d| layout.hierarchies.iter().find(|h| h.mount == d.mount))
            .map(|h| h.base_dir(base.kind, base.relative, base.root).join(&rel))
            .collect()
    }

    /// Move the calling process (a monitor leaving its cgroup at stop) back to `origins`, or,
    /// in a hierarchy whose origin refuses it, into the pivot cgroup of the same position
    /// (made if missing and left in place, as LXC does). A cgroup2 origin refuses once it
    /// hands controllers to its children, which the container's start may have made it do.
    pub fn move_self_home(origins: &[PathBuf], pivots: &[PathBuf]) -> Result<()> {
        let pid = std::process::id() as i32;
        for (i, dir) in origins.iter().enumerate() {
            let path = dir.join("cgroup.procs");
            let source = match sys::write(&path, "0") {
                Ok(()) => continue,
                Err(e) => e,
            };
            let Some(pivot) = pivots.get(i) else {
                return Err(Error::Attach { pid, path, source });
            };
            tracing::debug!(from = %path.display(), to = %pivot.display(), error = %crate::error::Errno(&source), "monitor leaves through the pivot cgroup");
            match sys::mkdir_all(pivot) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                Err(source) => {
                    return Err(Error::Io {
                        op: "create cgroup",
                        path: pivot.clone(),
                        source,
                    })
                }
            }
            let path = pivot.join("cgroup.procs");
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

    /// Remove every cgroup this container created, deepest first, once its last processes are
    /// gone (waiting up to [`REMOVE_PATIENCE`]). Safe to call again; cgroups already gone are
    /// fine. Failures are logged; the first is returned.
    pub fn remove(&self) -> Result<()> {
        self.remove_within(REMOVE_PATIENCE)
    }

    /// [`remove`](Self::remove), waiting at most `patience` for the last processes to exit. A
    /// cgroup2 cgroup is removed once its `cgroup.events` says `populated 0` (the kernel
    /// refuses the rmdir before); a v1 cgroup by retrying the rmdir while it fails with EBUSY.
    pub fn remove_within(&self, patience: Duration) -> Result<()> {
        let start = Instant::now();
        let deadline = start + patience;
        let mut pending: Vec<&HierarchyPaths> = Vec::new();
        let mut failed: Vec<Error> = Vec::new();
        let io_failure = |path: &Path, source: io::Error| Error::Remove {
            first: path.to_path_buf(),
            source,
            more: 0,
        };
        for d in &self.dirs {
            match sys::fs_kind(&d.limit) {
                Ok(FsKind::V1 | FsKind::V2) => pending.push(d),
                Ok(FsKind::Other) => failed.push(io_failure(
                    &d.limit,
                    io::Error::other("not on a cgroup filesystem; left alone"),
                )),
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => failed.push(io_failure(&d.limit, e)),
            }
        }
        // cgroup2 says when the last process of a subtree is gone; wait for that first.
        pending.retain(|d| {
            if d.version != Version::V2 {
                return true;
            }
            match sys::wait_event(&d.limit, "populated", "0", deadline) {
                Ok(true) => true,
                Ok(false) => {
                    let mut pids = BTreeSet::new();
                    let _ = collect_procs(&d.limit, &mut pids);
                    failed.push(Error::Populated {
                        path: d.limit.clone(),
                        waited_ms: start.elapsed().as_millis() as u64,
                        pids: pids
                            .iter()
                            .map(i32::to_string)
                            .collect::<Vec<_>>()
                            .join(" "),
                    });
                    false
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => false,
                Err(e) => {
                    failed.push(io_failure(&d.limit.join("cgroup.events"), e));
                    false
                }
            }
        });
        let mut pending: Vec<&Path> = pending.iter().map(|d| d.limit.as_path()).collect();
        let mut pause = Duration::from_millis(2);
        loop {
            let mut busy = Vec::new();
            for root in pending {
                match prune(root) {
                    Ok(()) => {}
                    Err((_, e)) if is_busy(&e) && Instant::now() < deadline => busy.push(root),
                    Err((p, e)) => failed.push(io_failure(&p, e)),
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
                    Err(e) => failed.push(io_failure(p, e)),
                }
            }
        }
        for e in &failed {
            tracing::warn!(error = %e, "cgroup not removed");
        }
        let more = failed.len().saturating_sub(1);
        match failed.into_iter().next() {
            None => Ok(()),
            Some(Error::Remove { first, source, .. }) => Err(Error::Remove {
                first,
                source,
                more,
            }),
            Some(e) => Err(e),
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
        if version == Version::V2 {
            // cgroup2 reports the settled state in cgroup.events (LXC waits for it the same
            // way); no rewrite is needed.
            sys::write(&path, value).map_err(|source| Error::Io {
                op: "write",
                path: path.clone(),
                source,
            })?;
            let settled = sys::wait_event(
                dir,
                "frozen",
                if frozen { "1" } else { "0" },
                start + FREEZE_PATIENCE,
            )
            .map_err(io_err("read", dir.join("cgroup.events")))?;
            let state = state_of(version, dir)?;
            if settled && state == want {
                tracing::debug!(path = %path.display(), %state, "freezer");
                return Ok(());
            }
            return Err(Error::FreezeTimeout {
                path: dir.join("cgroup.events"),
                state: state.to_string(),
                waited_ms: start.elapsed().as_millis() as u64,
            });
        }
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

/// What a creation makes (the container's cgroups, or the monitor's) and how.
struct Plan<'a> {
    /// The cgroup below the base (`lxc.payload.c1`, `a/b`), without a `-N` suffix.
    rel: String,
    /// `lxc.cgroup.dir.container.inner`: where the processes go, below `rel`.
    inner: Option<String>,
    suffixable: bool,
    /// The key an existing cgroup that may not be renamed is blamed on.
    exists_key: &'static str,
    /// The container's cgroups: on a pure cgroup2 host they are handed controllers.
    payload: bool,
    early_devices: bool,
    kind: LayoutKind,
    relative: bool,
    /// Whether we run as root (LXC escapes to init's cgroup only then).
    root: bool,
    cfg: &'a CgroupConfig,
}

impl<'a> Plan<'a> {
    fn new(layout: &Layout, cfg: &'a CgroupConfig) -> Plan<'a> {
        Plan {
            rel: String::new(),
            inner: None,
            suffixable: true,
            exists_key: "lxc.cgroup.dir.container",
            payload: true,
            early_devices: false,
            kind: layout.kind,
            relative: cfg.relative,
            root: nix::unistd::geteuid().is_root(),
            cfg,
        }
    }
}

/// Create `rel` (and `rel/inner`) below the base cgroup in one hierarchy, and on a pure
/// cgroup2 host hand the container's cgroup the base's controllers.
fn create_in(h: &Hierarchy, rel: &str, plan: &Plan<'_>) -> Result<HierarchyPaths, Attempt> {
    let inner = plan.inner.as_deref();
    let base = h.base_dir(plan.kind, plan.relative, plan.root);
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
    let mut parent = base.clone();
    for (i, c) in comps.iter().enumerate() {
        let last = i + 1 == comps.len();
        let dir = parent.join(c);
        match sys::mkdir(&dir) {
            Ok(()) => {
                if let Err(e) = init_dir(h, &parent, &dir) {
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
        if plan.early_devices && h.version == Version::V1 && h.has_controller("devices") {
            let rules: Vec<&Setting> = plan
                .cfg
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
        if let Err(e) = init_dir(h, &parent, &dir) {
            return Err(cleanup(&d, e));
        }
        d.inner = dir;
    }
    if plan.payload && plan.kind == LayoutKind::Unified && h.version == Version::V2 {
        // LXC's path: the base and every cgroup below it down to the parent of the one the
        // processes go in (with an inner cgroup, the limit cgroup too), never that one: cgroup2
        // takes no processes into a cgroup that hands controllers down.
        let mut path = vec![base.clone()];
        let mut at = base.clone();
        for c in &comps[..comps.len().saturating_sub(1)] {
            at = at.join(c);
            path.push(at.clone());
        }
        if inner.is_some() {
            path.push(d.limit.clone());
        }
        if let Err(e) = delegate(&base, &path) {
            return Err(cleanup(&d, e));
        }
    }
    if h.version == Version::V2 {
        d.controllers = sys::read(&d.limit.join("cgroup.controllers"))
            .map(|s| s.split_whitespace().map(str::to_string).collect())
            .unwrap_or_default();
    }
    Ok(d)
}

/// Prepare a cgroup we just made: v1 cpuset needs cpus and mems before it takes a task.
fn init_dir(h: &Hierarchy, parent: &Path, dir: &Path) -> Result<()> {
    match h.version {
        Version::V1 if h.has_controller("cpuset") => init_cpuset(parent, dir),
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

/// LXC's controller delegation on a pure cgroup2 host: every controller the base cgroup has
/// (its `cgroup.controllers`) is enabled in the `cgroup.subtree_control` of each cgroup of
/// `path` (the base first), so that the container's cgroup gets them all. Only controllers a
/// cgroup does not hand down yet are written, in one write as LXC does: a cgroup that
/// delegates them already (the host's root, a delegated cgroup set up by its owner) is not
/// written to at all.
fn delegate(base: &Path, path: &[PathBuf]) -> Result<()> {
    let read_words = |p: PathBuf| -> Result<Vec<String>> {
        sys::read(&p)
            .map(|s| s.split_whitespace().map(str::to_string).collect())
            .map_err(io_err("read", p))
    };
    let wanted = read_words(base.join("cgroup.controllers"))?;
    if wanted.is_empty() {
        tracing::debug!(base = %base.display(), "no cgroup2 controllers to hand down");
        return Ok(());
    }
    for dir in path {
        let have = read_words(dir.join("cgroup.subtree_control"))?;
        let missing: Vec<String> = wanted
            .iter()
            .filter(|c| !have.contains(c))
            .map(|c| format!("+{c}"))
            .collect();
        if missing.is_empty() {
            continue;
        }
        let file = dir.join("cgroup.subtree_control");
        let text = missing.join(" ");
        sys::write(&file, &text).map_err(|source| Error::Delegate {
            path: file.clone(),
            controllers: text.clone(),
            source,
        })?;
        tracing::debug!(path = %file.display(), controllers = %text, "controllers handed down");
    }
    Ok(())
}

/// The files LXC hands to the root of an unprivileged container besides `cgroup.procs` (the
/// kernel lists them in /sys/kernel/cgroup/delegate; these are LXC's fallback).
const DELEGATE_FALLBACK: &[&str] = &[
    "cgroup.threads",
    "cgroup.subtree_control",
    "memory.oom.group",
];

impl ContainerCgroup {
    /// LXC's `chown` of an unprivileged container's cgroups: the cgroup its processes are in
    /// goes to the container's root group (group-writable directory; `cgroup.procs`, v1
    /// `tasks` and the cgroup2 delegation files group-writable too), the owner stays who
    /// started it. The container's root can then make cgroups below its own and move its
    /// processes into them; the limits above stay out of its reach. Failures only warn, as
    /// with LXC: the container runs without managing its cgroup.
    fn hand_over(&self, gid: u32) {
        let delegate: Vec<String> = match sys::read(Path::new("/sys/kernel/cgroup/delegate")) {
            Ok(s) => s
                .split_whitespace()
                .filter(|f| *f != "cgroup.procs")
                .map(str::to_string)
                .collect(),
            Err(_) => DELEGATE_FALLBACK.iter().map(|s| s.to_string()).collect(),
        };
        for d in &self.dirs {
            let mut files: Vec<(PathBuf, u32)> = vec![
                (d.inner.clone(), 0o775),
                (d.inner.join("cgroup.procs"), 0o664),
            ];
            match d.version {
                Version::V1 => files.push((d.inner.join("tasks"), 0o664)),
                Version::V2 => files.extend(delegate.iter().map(|f| (d.inner.join(f), 0o664))),
            }
            for (path, mode) in files {
                match sys::chgrp_chmod(&path, gid, mode) {
                    Ok(()) => {}
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    Err(e) => {
                        tracing::warn!(path = %path.display(), gid, error = %crate::error::Errno(&e), "cannot hand the cgroup to the container's root")
                    }
                }
            }
        }
        tracing::debug!(gid, "container cgroups handed to its root group");
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

/// Remove a cgroup and every cgroup below it, deepest first. Most have none: the rmdir comes
/// first, and the directory is only listed (every cgroup file in it) when that is refused.
fn prune(dir: &Path) -> Result<(), (PathBuf, io::Error)> {
    match sys::rmdir(dir) {
        Ok(()) => return Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) if !is_busy(&e) => return Err((dir.to_path_buf(), e)),
        Err(_) => {}
    }
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
