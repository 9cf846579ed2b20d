//! `lxc.mount.auto = shmounts:HOST[:CONTAINER]`, the host's half: a place on the host whose
//! mounts reach the running container.
//!
//! LXC 5.0.2 binds HOST at CONTAINER (default /dev/.lxc-mounts) in the container as a slave
//! (conf.c `add_shmount_to_list`, `make_shmount_dependent_mount`), and leaves making HOST a
//! shared mount to whoever configured it (LXD mounts a tmpfs there and makes it shared). A
//! slave of a private mount receives nothing, so lxc-rs does that part itself before the
//! container's mount namespace is cloned: unless HOST already is a shared mount point (then
//! it is used as it is), the monitor makes the missing directories, mounts a small tmpfs on
//! HOST and makes it shared. Stop (and a failed start, and the watchdog of a killed monitor)
//! unmounts it and removes the directories it made: nothing is left on the host. The
//! container's half (the bind, a slave since the child makes its whole tree one) is
//! lxc-mount's mount plan.

use std::io;
use std::path::{Path, PathBuf};

use lxc_core::config::bytes::to_path;
use lxc_core::phase::HookCtx;
use lxc_mount::Site;
use nix::mount::{MntFlags, MsFlags};

use crate::error::{InjectError, Result};

/// The key this answers to.
const KEY: &str = "lxc.mount.auto";

/// The tmpfs: it only ever holds the directories (or files) other mounts are made on.
const TMPFS_OPTIONS: &str = "size=1m,mode=0711";

/// PreClone: share HOST, if the config asks for shared mounts.
pub fn preclone(ctx: &mut HookCtx<'_>) -> Result<(), lxc_core::Error> {
    // A value the grammar refuses is the mount code's to report, with its own words.
    let Ok(auto) = lxc_mount::parse_mount_auto(ctx.config.all(KEY)) else {
        return Ok(());
    };
    let Some(sh) = auto.active_shmounts() else {
        return Ok(());
    };
    let site = Site::new(KEY, ctx.config.origin_of(KEY).cloned());
    let host = to_path(&sh.host);
    share(ctx, &host).map_err(|e| lxc_core::Error::Hook {
        phase: ctx.phase,
        owner: crate::NAME,
        key: Some(KEY.to_string()),
        message: format!("{site}: shmounts:{}: {e}", sh.host),
    })
}

/// The last mount at `path` in a mountinfo text, and whether it is shared.
fn mount_at(mountinfo: &str, path: &Path) -> Option<bool> {
    let mut found = None;
    for line in mountinfo.lines() {
        let Some((pre, _)) = line.split_once(" - ") else {
            continue;
        };
        let fields: Vec<&str> = pre.split(' ').collect();
        if fields.len() < 6 {
            continue;
        }
        if Path::new(&lxc_mount::ops::unescape_mountinfo(fields[4])) == path {
            found = Some(fields[6..].iter().any(|f| f.starts_with("shared:")));
        }
    }
    found
}

fn share(ctx: &mut HookCtx<'_>, host: &Path) -> Result<()> {
    if !host.is_absolute() {
        return Err(InjectError::invalid(
            "the host path",
            "must be absolute",
            libc::EINVAL,
        ));
    }
    let shown = host.display().to_string();
    // The directories made here, outermost first: removed again, innermost first.
    let mut made: Vec<PathBuf> = Vec::new();
    let missing: Vec<PathBuf> = host
        .ancestors()
        .take_while(|p| !p.exists())
        .map(Path::to_path_buf)
        .collect();
    for dir in missing.into_iter().rev() {
        if let Err(e) = std::fs::create_dir(&dir) {
            remove_dirs(&made);
            return Err(InjectError::sys(dir.display().to_string(), "mkdir", e));
        }
        made.push(dir);
    }
    let result = mount_shared(ctx, host, &shown, made.is_empty());
    match result {
        Ok(true) => {
            let name = ctx.name.to_string();
            let at = host.to_path_buf();
            ctx.undo.push(
                format!("unmount the shared mounts tmpfs at {shown}"),
                move || {
                    let r = nix::mount::umount2(&at, MntFlags::MNT_DETACH)
                        .map_err(|e| format!("umount {}: {e}", at.display()));
                    remove_dirs(&made);
                    tracing::debug!(container = name, path = %at.display(), "shmounts removed");
                    r
                },
            );
            Ok(())
        }
        Ok(false) => Ok(()),
        Err(e) => {
            remove_dirs(&made);
            Err(e)
        }
    }
}

/// Mount the shared tmpfs on `host`; false: it already was a shared mount point, used as it
/// is. `existed`: the directory was there before (an empty one is taken).
fn mount_shared(ctx: &HookCtx<'_>, host: &Path, shown: &str, existed: bool) -> Result<bool> {
    let meta = std::fs::metadata(host).map_err(|e| InjectError::sys(shown, "stat", e))?;
    if !meta.is_dir() {
        return Err(InjectError::invalid(
            shown,
            "is not a directory",
            libc::ENOTDIR,
        ));
    }
    let real = std::fs::canonicalize(host).map_err(|e| InjectError::sys(shown, "resolve", e))?;
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo")
        .map_err(|e| InjectError::sys("/proc/self/mountinfo", "read", e))?;
    if mount_at(&mountinfo, &real) == Some(true) {
        tracing::info!(path = %real.display(), "shmounts: already a shared mount point, used as it is");
        return Ok(false);
    }
    if existed {
        let mut entries =
            std::fs::read_dir(&real).map_err(|e| InjectError::sys(shown, "read", e))?;
        if entries.next().is_some() {
            return Err(InjectError::invalid(
                shown,
                "is neither a shared mount point nor empty: lxc-rs will not hide what is in it \
                 under the tmpfs it shares (give an empty or missing directory, or make it a \
                 shared mount point: mount --bind DIR DIR; mount --make-shared DIR)",
                libc::ENOTEMPTY,
            ));
        }
    }
    let source = format!("shmounts-{}", ctx.name);
    nix::mount::mount(
        Some(source.as_str()),
        &real,
        Some("tmpfs"),
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
        Some(TMPFS_OPTIONS),
    )
    .map_err(|e| InjectError::sys(shown, "mount a tmpfs", io::Error::from(e)))?;
    if let Err(e) = nix::mount::mount(
        None::<&str>,
        &real,
        None::<&str>,
        MsFlags::MS_SHARED,
        None::<&str>,
    ) {
        let _ = nix::mount::umount2(&real, MntFlags::MNT_DETACH);
        return Err(InjectError::sys(
            shown,
            "make it shared",
            io::Error::from(e),
        ));
    }
    tracing::info!(path = %real.display(), "shmounts: shared tmpfs mounted");
    Ok(true)
}

fn remove_dirs(made: &[PathBuf]) {
    for dir in made.iter().rev() {
        if let Err(e) = std::fs::remove_dir(dir) {
            tracing::warn!(path = %dir.display(), error = %e, "shmounts: cannot remove a directory it made");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_mount_points_are_read_from_mountinfo() {
        let mi = "\
27 1 254:0 / / rw,relatime - ext4 /dev/vda rw
40 27 0:50 / /run/lxc\\040x rw shared:7 - tmpfs t rw
41 40 0:51 / /run/lxc\\040x rw master:3 - tmpfs t rw
42 27 0:52 / /srv/sh rw,nosuid shared:9 master:2 - tmpfs t rw
";
        assert_eq!(mount_at(mi, Path::new("/")), Some(false));
        // The last mount at a path is the one seen there.
        assert_eq!(mount_at(mi, Path::new("/run/lxc x")), Some(false));
        assert_eq!(mount_at(mi, Path::new("/srv/sh")), Some(true));
        assert_eq!(mount_at(mi, Path::new("/srv")), None);
    }
}
