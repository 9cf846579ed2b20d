//! Mount operations on paths inside the rootfs: each target (and each source inside the
//! rootfs) is resolved with `openat2(RESOLVE_IN_ROOT)` and handed to mount(2) as
//! `/proc/self/fd/N`, so nothing the container controls can redirect a mount to the host.

use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::mount::MsFlags;

use crate::entry::MountEntry;
use crate::error::{MountError, Result, Site};
use crate::plan::{MountPlan, PlannedEntry};
use crate::rootfs::{strip_root, Rootfs};
use crate::sys::{self, oflag, Resolve};
use lxc_core::config::bytes::to_path;

/// One automount step, with paths relative to the rootfs.
#[derive(Debug, Clone)]
pub enum Step {
    /// Mount a filesystem (`source` is the filesystem's name, e.g. `proc`).
    Fs {
        source: String,
        target: PathBuf,
        fstype: String,
        flags: MsFlags,
        data: Option<String>,
    },
    /// Bind a path of the rootfs onto another (non-recursive).
    Bind { source: PathBuf, target: PathBuf },
    /// Make a bind mount read-only, keeping its other flags.
    RemountRo(PathBuf),
    /// Move a mount.
    Move { source: PathBuf, target: PathBuf },
    /// Detach the mount at a path.
    Unmount(&'static str),
}

impl Step {
    pub fn fs(
        source: &str,
        target: &str,
        fstype: &str,
        flags: MsFlags,
        data: Option<String>,
    ) -> Step {
        Step::fs_owned(source, Path::new(target), fstype, flags, data)
    }
    pub fn fs_owned(
        source: &str,
        target: &Path,
        fstype: &str,
        flags: MsFlags,
        data: Option<String>,
    ) -> Step {
        Step::Fs {
            source: source.into(),
            target: target.into(),
            fstype: fstype.into(),
            flags,
            data,
        }
    }
    pub fn bind(source: &str, target: &str) -> Step {
        Step::Bind {
            source: source.into(),
            target: target.into(),
        }
    }
    pub fn remount_ro(target: &str) -> Step {
        Step::RemountRo(target.into())
    }
    pub fn mv(source: &str, target: &str) -> Step {
        Step::Move {
            source: source.into(),
            target: target.into(),
        }
    }
}

fn open_in(root: &Rootfs, rel: &Path, site: &Site, op: &str) -> Result<OwnedFd> {
    root.path_fd(rel).map_err(|e| {
        let p = root.display(rel);
        MountError::sys(site, format!("{op} {}", p.display()), p, e)
    })
}

/// Flags a read-only remount must repeat so as not to try to clear them (in a user namespace
/// the kernel refuses to drop nosuid/nodev/noexec/atime flags it locked).
const KEEP_ON_REMOUNT: MsFlags = MsFlags::MS_NOSUID
    .union(MsFlags::MS_NODEV)
    .union(MsFlags::MS_NOEXEC)
    .union(MsFlags::MS_NOATIME)
    .union(MsFlags::MS_NODIRATIME)
    .union(MsFlags::MS_RELATIME);

/// Run one step.
/// Mount one path of the rootfs on another (a bind or a move), both opened inside the rootfs;
/// `verb` and `prep` word the error ("bind X on Y", "move X to Y").
fn mount_path_on_path(
    root: &Rootfs,
    site: &Site,
    source: &Path,
    target: &Path,
    flags: MsFlags,
    verb: &str,
    prep: &str,
) -> Result<()> {
    let (sd, td) = (root.display(source), root.display(target));
    let op = format!("{verb} {} {prep} {}", sd.display(), td.display());
    let s = open_in(root, source, site, &op)?;
    let t = open_in(root, target, site, &op)?;
    sys::mount_fd_on_fd(s.as_fd(), t.as_fd(), flags).map_err(|e| MountError::sys(site, op, td, e))
}

pub fn run_step(root: &Rootfs, step: &Step, site: &Site) -> Result<()> {
    match step {
        Step::Fs {
            source,
            target,
            fstype,
            flags,
            data,
        } => {
            let disp = root.display(target);
            let op = format!("mount {source} on {}", disp.display());
            let t = open_in(root, target, site, &op)?;
            sys::mount(
                Some(Path::new(source)),
                &sys::fd_path(t.as_fd()),
                Some(fstype),
                *flags,
                data.as_deref(),
            )
            .map_err(|e| MountError::sys(site, op, disp, e))
        }
        Step::Bind { source, target } => {
            mount_path_on_path(root, site, source, target, MsFlags::MS_BIND, "bind", "on")
        }
        Step::RemountRo(target) => {
            let td = root.display(target);
            let op = format!("remount {} read-only", td.display());
            let t = open_in(root, target, site, &op)?;
            remount_ro_fd(&t).map_err(|e| MountError::sys(site, op, td, e))
        }
        Step::Move { source, target } => {
            mount_path_on_path(root, site, source, target, MsFlags::MS_MOVE, "move", "to")
        }
        Step::Unmount(target) => {
            let target = Path::new(target);
            let td = root.display(target);
            let op = format!("unmount {}", td.display());
            let t = open_in(root, target, site, &op)?;
            sys::umount2(&sys::fd_path(t.as_fd()), sys::MNT_DETACH)
                .map_err(|e| MountError::sys(site, op, td, e))
        }
    }
}

/// Remount the bind mount `fd` is the root of read-only.
pub fn remount_ro_fd(fd: &OwnedFd) -> std::io::Result<()> {
    let keep = sys::fstatvfs_flags(fd.as_fd()).unwrap_or(MsFlags::empty()) & KEEP_ON_REMOUNT;
    sys::mount(
        None,
        &sys::fd_path(fd.as_fd()),
        None,
        MsFlags::MS_REMOUNT | MsFlags::MS_BIND | MsFlags::MS_RDONLY | keep,
        None,
    )
}

/// Detach every mount stacked on `rel` (inside the rootfs). Returns how many went.
pub fn detach_all(root: &Rootfs, rel: &Path) -> usize {
    let rel = strip_root(rel);
    if rel.as_os_str().is_empty() {
        return 0;
    }
    let mut n = 0;
    // Bounded: a path cannot have more mounts stacked than this in any sane setup.
    while n < 64 {
        let Ok(fd) = root.path_fd(rel) else { break };
        if sys::umount2(&sys::fd_path(fd.as_fd()), sys::MNT_DETACH).is_err() {
            break;
        }
        n += 1;
    }
    n
}

/// mkdir of one directory path (with parents) inside the rootfs; an existing one is fine.
pub fn mkdir_one(root: &Rootfs, rel: &Path, mode: u32, site: &Site) -> Result<()> {
    root.mkdir_p(rel, mode).map(drop).map_err(|e| {
        let p = root.display(rel);
        MountError::sys(site, format!("create directory {}", p.display()), p, e)
    })
}

/// Decode the octal escapes of a mountinfo field.
pub fn unescape_mountinfo(s: &str) -> String {
    crate::entry::decode_field(s)
}

/// Where an entry's target is, relative to the rootfs, the way LXC places it: relative
/// targets below the rootfs mount; absolute ones must name the rootfs (`<lxcpath>/<name>/rootfs`
/// or `lxc.rootfs.path`), and the rest of the path is taken below the rootfs mount. Without a
/// rootfs every target is a path of the host's `/`. None: LXC ignores the entry (warning).
pub fn entry_target(plan: &MountPlan, root: &Rootfs, target: &str) -> Option<PathBuf> {
    if root.is_host() || !target.starts_with('/') {
        return Some(PathBuf::from(strip_root(&to_path(target))));
    }
    let by_name = plan.lxcpath.join(&plan.name).join("rootfs");
    let mut prefixes = vec![by_name.to_string_lossy().into_owned()];
    if let Some(dir) = &root.source {
        prefixes.push(dir.to_string_lossy().trim_end_matches('/').to_string());
    }
    for p in prefixes.iter().filter(|p| !p.is_empty()) {
        if let Some(i) = target.find(p.as_str()) {
            return Some(PathBuf::from(strip_root(&to_path(&target[i + p.len()..]))));
        }
    }
    None
}

/// Apply one mount line (from `lxc.mount.entry`, `lxc.mount.fstab` or `shmounts:`).
pub fn apply_entry(plan: &MountPlan, root: &Rootfs, pe: &PlannedEntry) -> Result<()> {
    let e = &pe.entry;
    let site = &pe.site;
    let Some(rel) = entry_target(plan, root, &e.target) else {
        tracing::warn!(%site, target = %e.target, "ignoring mount point outside the rootfs");
        return Ok(());
    };
    let skip = |err: MountError| -> Result<()> {
        if e.opts.optional {
            tracing::info!(error = %err, "optional mount entry failed, skipped");
            Ok(())
        } else {
            Err(err)
        }
    };
    if e.opts.create_dir {
        if let Err(err) = mkdir_one(root, &rel, 0o755, site) {
            return skip(err);
        }
    }
    if e.opts.create_file {
        if let Err(err) = root.create_file(&rel) {
            let p = root.display(&rel);
            return skip(MountError::sys(
                site,
                format!("create file {}", p.display()),
                p,
                err,
            ));
        }
    }
    if e.opts.idmap.is_some() {
        // Made in a second pass, after every other entry (`idmap::mount_entries`), as LXC's
        // child does; its target is made above, in order, as in LXC.
        return Ok(());
    }
    match mount_entry(root, e, &rel, site) {
        Ok(()) => Ok(()),
        Err(err) => skip(err),
    }
}

fn mount_entry(root: &Rootfs, e: &MountEntry, rel: &Path, site: &Site) -> Result<()> {
    let target = root.display(rel);
    let src_disp = if e.opts.relative {
        root.display(&to_path(&e.source))
    } else {
        to_path(&e.source)
    };
    let op = format!("mount {} on {}", src_disp.display(), target.display());
    let err = |io: std::io::Error| MountError::sys(site, op.clone(), target.clone(), io);

    let src_fd = if e.is_bind() {
        let fd = if e.opts.relative {
            root.path_fd(&to_path(&e.source))
        } else {
            sys::openat2(None, &to_path(&e.source), oflag::PATH, 0, Resolve::Normal)
        };
        Some(fd.map_err(|io| MountError::sys(site, op.clone(), to_path(&e.source), io))?)
    } else {
        None
    };
    let source: PathBuf = match &src_fd {
        Some(fd) => sys::fd_path(fd.as_fd()),
        None => src_disp.clone(),
    };
    let fstype = (!e.fstype.is_empty()).then_some(e.fstype.as_str());
    let data = e.opts.data.as_deref();
    let t = root.path_fd(rel).map_err(err)?;
    let mut flags = e.opts.flags;
    sys::mount(
        Some(&source),
        &sys::fd_path(t.as_fd()),
        fstype,
        flags - MsFlags::MS_REMOUNT,
        data,
    )
    .map_err(err)?;

    if flags.intersects(MsFlags::MS_REMOUNT | MsFlags::MS_BIND) {
        // A bind gets the source's nosuid/nodev/noexec/ro first: the kernel does not carry
        // them over, and inside a user namespace they are locked anyway (LXC does the same).
        let mut required = MsFlags::empty();
        if let Some(fd) = &src_fd {
            if let Ok(have) = sys::fstatvfs_flags(fd.as_fd()) {
                let mut want = MsFlags::MS_NOSUID | MsFlags::MS_RDONLY | MsFlags::MS_NOEXEC;
                if !e.opts.dev {
                    want |= MsFlags::MS_NODEV;
                }
                required = have & want;
            }
        }
        let skip = !flags.contains(MsFlags::MS_REMOUNT)
            && (required - flags).is_empty()
            && !flags.contains(MsFlags::MS_RDONLY);
        if !skip {
            flags |= required;
            let top = root.path_fd(rel).map_err(err)?;
            sys::mount(
                Some(&source),
                &sys::fd_path(top.as_fd()),
                fstype,
                flags | MsFlags::MS_REMOUNT,
                data,
            )
            .map_err(|io| {
                MountError::sys(
                    site,
                    format!("remount {} with {:?}", target.display(), e.options),
                    target.clone(),
                    io,
                )
            })?;
        }
    }
    if !e.opts.propagation.is_empty() {
        let top = root.path_fd(rel).map_err(err)?;
        sys::mount(
            None,
            &sys::fd_path(top.as_fd()),
            None,
            e.opts.propagation,
            None,
        )
        .map_err(|io| {
            MountError::sys(
                site,
                format!("change propagation of {}", target.display()),
                target.clone(),
                io,
            )
        })?;
    }
    tracing::debug!(%site, source = %e.source, target = %target.display(), fstype = %e.fstype, "mounted entry");
    Ok(())
}
