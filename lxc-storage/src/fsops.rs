//! Removing a tree without following symlinks out of it or entering other filesystems.

use std::ffi::CStr;
use std::os::fd::{AsFd, BorrowedFd};
use std::path::{Path, PathBuf};

use nix::dir::Dir;
use nix::fcntl::{openat, OFlag};
use nix::sys::stat::{fstatat, Mode, SFlag};
use nix::unistd::{unlinkat, UnlinkatFlags};

use crate::error::{Result, StorageError};

pub(crate) fn errno(e: nix::errno::Errno) -> std::io::Error {
    std::io::Error::from_raw_os_error(e as i32)
}

pub(crate) fn entries(dir: BorrowedFd<'_>) -> nix::Result<Vec<std::ffi::CString>> {
    let fd = openat(
        dir,
        ".",
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )?;
    let mut d = Dir::from_fd(fd)?;
    let mut out = Vec::new();
    for e in d.iter() {
        let e = e?;
        let n = e.file_name();
        if n.to_bytes() != b"." && n.to_bytes() != b".." {
            out.push(n.to_owned());
        }
    }
    Ok(out)
}

/// Remove `path` and everything below it, like LXC's `lxc_rmdir_onedev`: symlinks are removed,
/// never followed; a directory on another filesystem (a mount, or a btrfs subvolume) is left
/// alone unless it is a btrfs subvolume, which is deleted. A missing path is not an error.
pub fn remove_tree(path: &Path) -> Result<()> {
    let st = match nix::sys::stat::lstat(path) {
        Ok(st) => st,
        Err(nix::errno::Errno::ENOENT) => return Ok(()),
        Err(e) => return Err(StorageError::io("look at", path, errno(e))),
    };
    if SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT != SFlag::S_IFDIR {
        return std::fs::remove_file(path).map_err(|e| StorageError::io("remove", path, e));
    }
    let dir = openat(
        nix::fcntl::AT_FDCWD,
        path,
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| StorageError::io("open", path, errno(e)))?;
    empty_dir(dir.as_fd(), st.st_dev, path)?;
    drop(dir);
    match std::fs::remove_dir(path) {
        Ok(()) => Ok(()),
        Err(e) if crate::is_btrfs_subvol(path) => {
            crate::btrfs_subvol_destroy(path).map_err(|_| StorageError::io("remove", path, e))
        }
        Err(e) => Err(StorageError::io("remove", path, e)),
    }
}

fn empty_dir(dir: BorrowedFd<'_>, dev: u64, shown: &Path) -> Result<()> {
    let names = entries(dir).map_err(|e| StorageError::io("read directory", shown, errno(e)))?;
    for name in names {
        let here: PathBuf = shown
            .join(<std::ffi::OsStr as std::os::unix::ffi::OsStrExt>::from_bytes(name.to_bytes()));
        remove_entry(dir, &name, dev, &here)?;
    }
    Ok(())
}

fn remove_entry(dir: BorrowedFd<'_>, name: &CStr, dev: u64, shown: &Path) -> Result<()> {
    let st = fstatat(dir, name, nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW)
        .map_err(|e| StorageError::io("look at", shown, errno(e)))?;
    let is_dir = SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT == SFlag::S_IFDIR;
    if is_dir {
        if st.st_dev != dev {
            // Another filesystem: a nested btrfs subvolume goes, a mount stays.
            if crate::is_btrfs_subvol(shown) {
                return crate::btrfs_subvol_destroy(shown);
            }
            tracing::info!(path = %shown.display(), "not removing another filesystem");
            return Ok(());
        }
        let sub = openat(
            dir,
            name,
            OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| StorageError::io("open", shown, errno(e)))?;
        empty_dir(sub.as_fd(), dev, shown)?;
        unlinkat(dir, name, UnlinkatFlags::RemoveDir)
    } else {
        unlinkat(dir, name, UnlinkatFlags::NoRemoveDir)
    }
    .map_err(|e| StorageError::io("remove", shown, errno(e)))
}
