//! The container's /dev: LXC's autodev tmpfs and its minimal device nodes, a new devpts
//! instance with /dev/ptmx, and the /dev/fd, stdin, stdout, stderr symlinks. The console and
//! the ttys are lxc-console's (allocated from this devpts, bound between the two ChildPivot
//! steps).

use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

use nix::mount::MsFlags;

use crate::error::{MountError, Result, Site};
use crate::ops;
use crate::plan::MountPlan;
use crate::rootfs::Rootfs;
use crate::sys::{self, errno, oflag, Node, Resolve};

/// LXC's minimal device set: name, major, minor (mode 0666).
pub const DEVICES: &[(&str, u32, u32)] = &[
    ("full", 1, 7),
    ("null", 1, 3),
    ("random", 1, 8),
    ("tty", 5, 0),
    ("urandom", 1, 9),
    ("zero", 1, 5),
];

/// The symlinks every container /dev gets.
pub const DEV_SYMLINKS: &[(&str, &str)] = &[
    ("fd", "/proc/self/fd"),
    ("stdin", "/proc/self/fd/0"),
    ("stdout", "/proc/self/fd/1"),
    ("stderr", "/proc/self/fd/2"),
];

fn dev_err(root: &Rootfs, site: &Site, op: &str, rel: &str, e: std::io::Error) -> MountError {
    let p = root.display(Path::new(rel));
    MountError::sys(site, format!("{op} {}", p.display()), p, e)
}

/// The rootfs' /dev (O_PATH), or None when it has none.
fn open_dev(root: &Rootfs, site: &Site) -> Result<Option<OwnedFd>> {
    match root.open(Path::new("dev"), oflag::PATH | oflag::DIRECTORY) {
        Ok(fd) => Ok(Some(fd)),
        Err(e) if e.raw_os_error() == Some(errno::ENOENT) => Ok(None),
        Err(e) => Err(dev_err(root, site, "open", "dev", e)),
    }
}

/// Autodev, first half (before the mount entries, as LXC does it): a tmpfs on /dev of
/// `lxc.autodev.tmpfs.size` bytes, mode 0755, with an empty /dev/pts.
pub fn mount_autodev(plan: &MountPlan, root: &Rootfs) -> Result<()> {
    let site = &plan.autodev_site;
    ops::mkdir_one(root, Path::new("dev"), 0o755, site)?;
    ops::run_step(
        root,
        &ops::Step::fs(
            "none",
            "dev",
            "tmpfs",
            MsFlags::empty(),
            Some(format!("size={},mode=755", plan.autodev_size)),
        ),
        site,
    )?;
    ops::mkdir_one(root, Path::new("dev/pts"), 0o755, site)
}

/// How LXC makes device nodes, learnt on the first one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NodeMode {
    /// mknod works; not yet known whether the nodes can be opened.
    Mknod,
    /// mknod works and the nodes open.
    Open,
    /// mknod works but the nodes cannot be opened (nodev, or a user namespace): bind over them.
    Partial,
    /// mknod is refused: bind-mount the host's nodes onto empty files.
    Bind,
}

/// Autodev, second half (after the `autodev` hooks): the standard nodes. `host_dev` is the
/// host's /dev, opened before anything was mounted, for the bind fallback.
pub fn fill_autodev(plan: &MountPlan, root: &Rootfs, host_dev: &OwnedFd) -> Result<()> {
    let site = &plan.autodev_site;
    let Some(dev) = open_dev(root, site)? else {
        tracing::info!("no /dev in the rootfs, not populating it");
        return Ok(());
    };
    let mut mode = NodeMode::Mknod;
    for &(name, major, minor) in DEVICES {
        let rel = format!("dev/{name}");
        let path = Path::new(name);
        // As LXC (`use_mknod >= LXC_DEVNODE_MKNOD`): partially usable nodes are still made, to
        // bind over; only a refused mknod stops making them.
        if matches!(mode, NodeMode::Mknod | NodeMode::Partial | NodeMode::Open) {
            match sys::mknodat(dev.as_fd(), path, Node::Char { major, minor }, 0o666) {
                Ok(()) => {}
                Err(e) if e.raw_os_error() == Some(errno::EEXIST) => {}
                Err(e) if e.raw_os_error() == Some(errno::EPERM) => mode = NodeMode::Bind,
                Err(e) => return Err(dev_err(root, site, "mknod", &rel, e)),
            }
            if mode == NodeMode::Open {
                continue;
            }
            if mode == NodeMode::Mknod {
                match sys::openat2(
                    Some(dev.as_fd()),
                    path,
                    oflag::RDONLY | oflag::NOCTTY | oflag::NOFOLLOW,
                    0,
                    Resolve::InRoot,
                ) {
                    Ok(_) => {
                        mode = NodeMode::Open;
                        continue;
                    }
                    Err(_) => mode = NodeMode::Partial,
                }
            }
        }
        if mode != NodeMode::Partial {
            match sys::mknodat(dev.as_fd(), path, Node::File, 0) {
                Ok(()) => {}
                Err(e) if e.raw_os_error() == Some(errno::EEXIST) => {}
                Err(e) => return Err(dev_err(root, site, "create", &rel, e)),
            }
        }
        let op = format!(
            "bind /dev/{name} on {}",
            root.display(Path::new(&rel)).display()
        );
        let src = sys::openat2(
            Some(host_dev.as_fd()),
            path,
            oflag::PATH,
            0,
            Resolve::Normal,
        )
        .map_err(|e| MountError::sys(site, op.clone(), format!("/dev/{name}"), e))?;
        let dst = sys::openat2(Some(dev.as_fd()), path, oflag::PATH, 0, Resolve::InRoot)
            .map_err(|e| MountError::sys(site, op.clone(), root.display(Path::new(&rel)), e))?;
        sys::mount_fd_on_fd(src.as_fd(), dst.as_fd(), MsFlags::MS_BIND)
            .map_err(|e| MountError::sys(site, op, root.display(Path::new(&rel)), e))?;
    }
    tracing::debug!(?mode, "populated /dev");
    Ok(())
}

/// A new devpts instance on /dev/pts and /dev/ptmx bound to its ptmx (a symlink if the bind
/// fails), when `lxc.pty.max` asks for pts devices, as in LXC; its limit counts the ttys too,
/// which lxc-console allocates from it. (LXC 5.0 also mounts one for `lxc.tty.max` alone and
/// unmounts it again before allocating, so its ttys then come from the host's devpts: without
/// `lxc.pty.max` there is no instance here and lxc-console does the same.)
pub fn setup_devpts(plan: &MountPlan, root: &Rootfs) -> Result<()> {
    let site = Site::key("lxc.pty.max");
    if plan.pty_max == 0 {
        tracing::debug!("lxc.pty.max is 0: no new devpts instance");
        return Ok(());
    }
    // LXC counts the ttys in the instance's limit too.
    let max = plan.pty_max + plan.tty_max;
    let Some(dev) = open_dev(root, &site)? else {
        return Err(MountError::Sys {
            site: site.clone(),
            op: format!(
                "mount devpts on {}",
                root.display(Path::new("dev/pts")).display()
            ),
            path: root.display(Path::new("dev")),
            source: std::io::Error::from_raw_os_error(errno::ENOENT),
        });
    };
    if !root.is_host() {
        ops::detach_all(root, Path::new("dev/pts"));
    }
    match sys::mkdirat(dev.as_fd(), Path::new("pts"), 0o755) {
        Ok(()) => {}
        Err(e) if e.raw_os_error() == Some(errno::EEXIST) => {}
        Err(e) => return Err(dev_err(root, &site, "mkdir", "dev/pts", e)),
    }
    let pts = root
        .path_fd(Path::new("dev/pts"))
        .map_err(|e| dev_err(root, &site, "open", "dev/pts", e))?;
    let base = "newinstance,ptmxmode=0666,mode=0620";
    // LXC's fallbacks: without gid=5 (no group 5 mapped), without max= (old kernels).
    let attempts = [
        format!("gid=5,{base},max={max}"),
        format!("{base},max={max}"),
        format!("gid=5,{base}"),
        base.to_string(),
    ];
    let mut last = None;
    for data in &attempts {
        match sys::mount(
            Some(Path::new("devpts")),
            &sys::fd_path(pts.as_fd()),
            Some("devpts"),
            MsFlags::MS_NOSUID | MsFlags::MS_NOEXEC,
            Some(data),
        ) {
            Ok(()) => {
                last = None;
                break;
            }
            Err(e) => last = Some(e),
        }
    }
    if let Some(e) = last {
        return Err(dev_err(root, &site, "mount devpts on", "dev/pts", e));
    }

    // /dev/ptmx: a bind of pts/ptmx. In the container's own /dev an old node is replaced;
    // the host's /dev (no rootfs) is only covered, never changed.
    if !root.is_host() {
        match sys::unlinkat(dev.as_fd(), Path::new("ptmx")) {
            Ok(()) => {}
            Err(e) if e.raw_os_error() == Some(errno::ENOENT) => {}
            Err(e) => return Err(dev_err(root, &site, "remove", "dev/ptmx", e)),
        }
        match sys::mknodat(dev.as_fd(), Path::new("ptmx"), Node::File, 0) {
            Ok(()) => {}
            Err(e) if e.raw_os_error() == Some(errno::EEXIST) => {}
            Err(e) => return Err(dev_err(root, &site, "create", "dev/ptmx", e)),
        }
    }
    let bound = (|| -> std::io::Result<()> {
        let src = root.path_fd(Path::new("dev/pts/ptmx"))?;
        let dst = root.path_fd(Path::new("dev/ptmx"))?;
        sys::mount_fd_on_fd(src.as_fd(), dst.as_fd(), MsFlags::MS_BIND)
    })();
    match bound {
        Ok(()) => Ok(()),
        Err(e) if root.is_host() => Err(dev_err(root, &site, "bind pts/ptmx on", "dev/ptmx", e)),
        Err(e) => {
            tracing::warn!(error = %e, "bind of /dev/pts/ptmx failed, making /dev/ptmx a symlink");
            let _ = sys::unlinkat(dev.as_fd(), Path::new("ptmx"));
            sys::symlinkat(Path::new("pts/ptmx"), dev.as_fd(), Path::new("ptmx"))
                .map_err(|e| dev_err(root, &site, "symlink", "dev/ptmx", e))
        }
    }
}

/// /dev/fd, stdin, stdout, stderr, unless something is there already. Not on the host's /dev.
pub fn setup_dev_symlinks(root: &Rootfs) -> Result<()> {
    if root.is_host() {
        return Ok(());
    }
    let site = Site::key("lxc.autodev");
    let Some(dev) = open_dev(root, &site)? else {
        return Ok(());
    };
    for &(name, target) in DEV_SYMLINKS {
        let rel = format!("dev/{name}");
        // Anything there, even a dangling link, is kept as the rootfs has it.
        if root
            .open(Path::new(&rel), oflag::PATH | oflag::NOFOLLOW)
            .is_ok()
        {
            continue;
        }
        match sys::symlinkat(Path::new(target), dev.as_fd(), Path::new(name)) {
            Ok(()) => {}
            Err(e) if e.raw_os_error() == Some(errno::EEXIST) => {}
            Err(e) if e.raw_os_error() == Some(errno::EROFS) => {
                tracing::warn!(name, "cannot create /dev symlink on a read-only /dev");
            }
            Err(e) => return Err(dev_err(root, &site, "symlink", &rel, e)),
        }
    }
    Ok(())
}
