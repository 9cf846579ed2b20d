//! The container's root filesystem in the child's mount namespace: the recursive bind of
//! `lxc.rootfs.path` onto `lxc.rootfs.mount`, and the safe path operations every later step uses
//! to reach into it (every lookup below the rootfs goes through `openat2(RESOLVE_IN_ROOT)`, so a
//! symlink in the rootfs cannot send a mount or a mkdir to the host).

use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Component, Path, PathBuf};

use lxc_core::phase::RootfsInfo;
use nix::mount::MsFlags;

use crate::entry::parse_mount_options;
use crate::error::{MountError, Result, Site};
use crate::idmap::ChildIdmap;
use crate::plan::{MountPlan, RootfsSpec};
use crate::sys::{self, errno, oflag, Resolve};

/// Where LXC (as Debian builds it) binds the rootfs before pivot_root when `lxc.rootfs.mount`
/// is not set. Used when it exists on this host; otherwise the rootfs is bound onto itself.
pub const LXC_ROOTFS_MOUNT_DEFAULTS: &[&str] = &[
    "/usr/lib/x86_64-linux-gnu/lxc/rootfs",
    "/usr/lib/aarch64-linux-gnu/lxc/rootfs",
    "/usr/lib/lxc/rootfs",
    "/usr/local/lib/lxc/rootfs",
];

/// The container's root as the child sees it before pivot_root.
#[derive(Debug)]
pub struct Rootfs {
    /// `lxc.rootfs.path` as configured; None when the container uses the host's `/`.
    pub path: Option<PathBuf>,
    /// The directory that was bound (the path without a `dir:` prefix).
    pub source: Option<PathBuf>,
    /// Where the rootfs is mounted (`/` when it is the host's).
    pub mount: PathBuf,
    /// The root of that mount (O_PATH): the anchor for every lookup inside the rootfs.
    fd: OwnedFd,
}

impl Rootfs {
    /// The host's `/` as the container's root (`execute` without `lxc.rootfs.path`).
    pub fn host() -> io::Result<Rootfs> {
        let fd = sys::openat2(
            None,
            Path::new("/"),
            oflag::PATH | oflag::DIRECTORY,
            0,
            Resolve::Normal,
        )?;
        Ok(Rootfs {
            path: None,
            source: None,
            mount: PathBuf::from("/"),
            fd,
        })
    }

    /// Whether this is the host's `/` rather than a separate rootfs.
    pub fn is_host(&self) -> bool {
        self.path.is_none()
    }

    pub fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// What hooks see as `LXC_ROOTFS_PATH` / `LXC_ROOTFS_MOUNT`.
    pub fn info(&self) -> RootfsInfo {
        RootfsInfo {
            path: self.path.clone(),
            mount: self.mount.clone(),
        }
    }

    /// A path below the rootfs as the host would print it (for messages only).
    pub fn display(&self, rel: &Path) -> PathBuf {
        self.mount.join(strip_root(rel))
    }

    /// Open `rel` inside the rootfs: symlinks and `..` cannot leave it.
    pub fn open(&self, rel: &Path, flags: i32) -> io::Result<OwnedFd> {
        sys::openat2(Some(self.fd()), strip_root(rel), flags, 0, Resolve::InRoot)
    }

    /// `open` with `O_PATH`: the handle mount(2) gets through `/proc/self/fd/N`.
    pub fn path_fd(&self, rel: &Path) -> io::Result<OwnedFd> {
        self.open(rel, oflag::PATH)
    }

    /// `mkdir -p` inside the rootfs. Returns the directory's O_PATH handle.
    pub fn mkdir_p(&self, rel: &Path, mode: u32) -> io::Result<OwnedFd> {
        let mut dir = self.path_fd(Path::new("."))?;
        let mut sofar = PathBuf::new();
        for c in strip_root(rel).components() {
            match c {
                Component::Normal(name) => {
                    match sys::mkdirat(dir.as_fd(), Path::new(name), mode) {
                        Ok(()) => {}
                        Err(e) if e.raw_os_error() == Some(errno::EEXIST) => {}
                        Err(e) => return Err(e),
                    }
                    sofar.push(name);
                }
                Component::ParentDir => sofar.push(".."),
                Component::CurDir | Component::RootDir | Component::Prefix(_) => continue,
            }
            // Re-resolve from the root, so that a symlink we just met is followed inside it.
            dir = self.open(&sofar, oflag::PATH | oflag::DIRECTORY)?;
        }
        Ok(dir)
    }

    /// Make `rel` an empty file (mode 0000, a bind-mount target) unless something is there;
    /// parents are created as needed.
    pub fn create_file(&self, rel: &Path) -> io::Result<()> {
        if self.path_fd(rel).is_ok() {
            return Ok(());
        }
        let rel = strip_root(rel);
        let (parent, name) = split_parent(rel)?;
        let dir = self.mkdir_p(parent, 0o755)?;
        match sys::mknodat(dir.as_fd(), name, sys::Node::File, 0) {
            Ok(()) => Ok(()),
            Err(e) if e.raw_os_error() == Some(errno::EEXIST) => Ok(()),
            Err(e) => Err(e),
        }
    }
}

/// A path made relative (leading `/` dropped): every path below the rootfs is taken from its
/// root, like LXC does with absolute targets.
pub fn strip_root(p: &Path) -> &Path {
    let mut p = p;
    while let Ok(rest) = p.strip_prefix("/") {
        p = rest;
    }
    p
}

fn split_parent(rel: &Path) -> io::Result<(&Path, &Path)> {
    let name = rel
        .file_name()
        .ok_or_else(|| io::Error::from_raw_os_error(errno::EINVAL))?;
    Ok((rel.parent().unwrap_or(Path::new("")), Path::new(name)))
}

/// `lxc.rootfs.path`: a directory, as a plain path or in LXC's `dir:/path` form. Other storage
/// backends are named in the error.
pub fn rootfs_dir(spec: &RootfsSpec) -> Result<PathBuf> {
    let site = &spec.site;
    match spec.storage.as_deref() {
        None | Some("dir") => {}
        Some(kind) => {
            return Err(MountError::Unsupported {
                site: site.clone(),
                what: format!("the {kind:?} storage backend"),
                why: "lxc-rs mounts directory rootfs only (dir:/path or a plain path)".into(),
            })
        }
    }
    if !spec.path.is_absolute() {
        return Err(MountError::Invalid {
            site: site.clone(),
            value: spec.path.display().to_string(),
            why: "the rootfs path must be absolute".into(),
        });
    }
    Ok(spec.path.clone())
}

/// A rootfs in a storage backend other than a directory (`overlay:`, `btrfs:`, `loop:`, or a
/// plain path naming an image file), mounted detached by lxc-storage with the data options of
/// `lxc.rootfs.options`, with the directory that stands for it (overlay's lower layer, the
/// subvolume, `<dir>/rootfs` beside a loop image). None for a directory rootfs.
fn mount_backend(spec: &RootfsSpec) -> Result<Option<(lxc_storage::Mounted, PathBuf)>> {
    let site = &spec.site;
    let value = match spec.storage.as_deref() {
        None if spec.path.is_file() => spec.path.display().to_string(),
        None | Some("dir") => return Ok(None),
        Some(kind) => format!("{kind}:{}", spec.path.display()),
    };
    let storage_err = |e: lxc_storage::StorageError| match e {
        lxc_storage::StorageError::Io { op, path, source } => MountError::Sys {
            site: site.clone(),
            op,
            path,
            source,
        },
        other => MountError::Unsupported {
            site: site.clone(),
            what: format!("the rootfs {value:?}"),
            why: other.to_string(),
        },
    };
    let storage = lxc_storage::Storage::parse(&value).map_err(storage_err)?;
    let data = match &spec.options {
        Some((o, osite)) => {
            parse_mount_options(o)
                .map_err(|e| e.at(osite.clone()))?
                .data
        }
        None => None,
    };
    let dir = match storage.kind() {
        lxc_storage::Kind::Loop => Path::new(storage.path())
            .parent()
            .map(|p| p.join("rootfs"))
            .unwrap_or_default(),
        _ => PathBuf::from(storage.rootfs_dir().map_err(storage_err)?),
    };
    let mounted = storage.mount(data.as_deref()).map_err(storage_err)?;
    Ok(Some((mounted, dir)))
}

/// The default for `lxc.rootfs.mount`: LXC's compiled-in directory if this host has it,
/// else the rootfs itself.
pub fn default_rootfs_mount(source: &Path) -> PathBuf {
    LXC_ROOTFS_MOUNT_DEFAULTS
        .iter()
        .map(Path::new)
        .find(|p| p.is_dir())
        .map(Path::to_path_buf)
        .unwrap_or_else(|| source.to_path_buf())
}

/// Mount the rootfs: bind `lxc.rootfs.path` recursively onto `lxc.rootfs.mount` (default: see
/// [`default_rootfs_mount`]) and apply `lxc.rootfs.options` to the whole tree. With no
/// `lxc.rootfs.path` the host's `/` is the container's root, untouched.
pub fn setup_rootfs(plan: &MountPlan) -> Result<Rootfs> {
    setup_rootfs_with(plan, None)
}

/// [`setup_rootfs`] in a start, where `idmap=` in `lxc.rootfs.options` gets the rootfs
/// idmapped from the monitor (see [`crate::idmap`]).
pub fn setup_rootfs_with(plan: &MountPlan, idmap: Option<&ChildIdmap<'_>>) -> Result<Rootfs> {
    let Some(spec) = &plan.rootfs else {
        return Rootfs::host()
            .map_err(|e| MountError::sys(&Site::key("lxc.rootfs.path"), "open /", "/", e));
    };
    let site = &spec.site;
    // overlay, btrfs and loop rootfs come mounted (detached) from lxc-storage.
    let backend = mount_backend(spec)?;
    if let (Some(_), Some((_, osite))) = (&backend, crate::idmap::rootfs_userns(spec)?) {
        return Err(MountError::Unsupported {
            site: osite,
            what: "an idmapped rootfs on a storage backend".into(),
            why: "lxc-rs idmaps directory rootfs only (dir:/path or a plain path)".into(),
        });
    }
    let source = match &backend {
        Some((_, dir)) => dir.clone(),
        None => rootfs_dir(spec)?,
    };
    let mount = match &spec.mount {
        Some((m, _)) => m.clone(),
        None => default_rootfs_mount(&source),
    };
    let mount_site = spec
        .mount
        .as_ref()
        .map(|(_, s)| s.clone())
        .unwrap_or_else(|| site.clone());

    let dst = sys::openat2(
        None,
        &mount,
        oflag::PATH | oflag::DIRECTORY,
        0,
        Resolve::Normal,
    )
    .map_err(|e| {
        MountError::sys(
            &mount_site,
            format!("open rootfs mount point {}", mount.display()),
            &mount,
            e,
        )
    })?;
    // An idmapped rootfs comes with its options applied (in the call that idmaps it).
    let idmapped = match &backend {
        Some((m, _)) => {
            sys::move_mount(m.root(), dst.as_fd()).map_err(|e| {
                MountError::sys(
                    site,
                    format!("mount rootfs on {}", mount.display()),
                    &mount,
                    e,
                )
            })?;
            false
        }
        None => crate::idmap::mount_rootfs(idmap, spec, dst.as_fd(), &mount)?,
    };
    if !idmapped && backend.is_none() {
        // Opened only here: the monitor opens an idmapped rootfs, which the container's root
        // may have no right to reach (an unprivileged container's rootfs left owned by the
        // host's root, in a directory only the host's root may enter).
        let src = open_rootfs_dir(&source, site)?;
        sys::mount_fd_on_fd(src.as_fd(), dst.as_fd(), MsFlags::MS_BIND | MsFlags::MS_REC).map_err(
            |e| {
                MountError::sys(
                    site,
                    format!("bind {} on {}", source.display(), mount.display()),
                    &mount,
                    e,
                )
            },
        )?;
    }
    // The handle to the mount we just made, not to the directory under it.
    let fd = sys::openat2(
        None,
        &mount,
        oflag::PATH | oflag::DIRECTORY,
        0,
        Resolve::Normal,
    )
    .map_err(|e| MountError::sys(site, format!("open {}", mount.display()), &mount, e))?;

    if let Some((options, osite)) = spec.options.as_ref().filter(|_| !idmapped) {
        apply_rootfs_options(fd.as_fd(), options, osite, &mount)?;
    }
    tracing::debug!(rootfs = %source.display(), mount = %mount.display(), idmapped, "mounted rootfs");
    Ok(Rootfs {
        path: Some(spec.path.clone()),
        source: Some(source),
        mount,
        fd,
    })
}

/// `lxc.rootfs.options` on the bound tree, recursively, with mount_setattr (as LXC does when
/// the kernel has the new mount API).
fn apply_rootfs_options(
    fd: BorrowedFd<'_>,
    options: &str,
    site: &Site,
    mount: &Path,
) -> Result<()> {
    // An `idmap=` here is one LXC ignores (no lxc.idmap): see `idmap::mount_rootfs`.
    let o = parse_mount_options(options).map_err(|e| e.at(site.clone()))?;
    let (set, clear) = attrs_of(o.flags, o.cleared);
    let prop = o.propagation - MsFlags::MS_REC;
    if set == 0 && clear == 0 && prop.is_empty() {
        return Ok(());
    }
    sys::mount_setattr(fd, true, set, clear, prop).map_err(|e| {
        MountError::sys(
            site,
            format!("apply options {options:?} to {}", mount.display()),
            mount,
            e,
        )
    })
}

/// An O_PATH handle on the rootfs directory `source` (what a bind or a clone of it starts
/// from).
pub fn open_rootfs_dir(source: &Path, site: &Site) -> Result<std::os::fd::OwnedFd> {
    sys::openat2(
        None,
        source,
        oflag::PATH | oflag::DIRECTORY,
        0,
        Resolve::Normal,
    )
    .map_err(|e| MountError::sys(site, format!("open rootfs {}", source.display()), source, e))
}

/// `MS_*` flags set/cleared, as the `MOUNT_ATTR_*` sets mount_setattr takes.
pub fn attrs_of(flags: MsFlags, cleared: MsFlags) -> (u64, u64) {
    use sys::attr;
    let mut set = 0;
    let mut clear = 0;
    for (ms, a) in [
        (MsFlags::MS_RDONLY, attr::RDONLY),
        (MsFlags::MS_NOSUID, attr::NOSUID),
        (MsFlags::MS_NODEV, attr::NODEV),
        (MsFlags::MS_NOEXEC, attr::NOEXEC),
        (MsFlags::MS_NODIRATIME, attr::NODIRATIME),
    ] {
        if flags.contains(ms) {
            set |= a;
        } else if cleared.contains(ms) {
            clear |= a;
        }
    }
    // The kernel takes the access-time mode as one field: clear all of it, set the one wanted.
    let atime = [
        MsFlags::MS_NOATIME,
        MsFlags::MS_STRICTATIME,
        MsFlags::MS_RELATIME,
    ];
    if atime
        .iter()
        .any(|f| flags.contains(*f) || cleared.contains(*f))
    {
        clear |= attr::ATIME_MASK;
        set |= if flags.contains(MsFlags::MS_NOATIME) {
            attr::NOATIME
        } else if flags.contains(MsFlags::MS_STRICTATIME) {
            attr::STRICTATIME
        } else {
            attr::RELATIME
        };
    }
    (set, clear)
}
