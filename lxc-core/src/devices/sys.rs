//! The kernel calls of device-node changes, one small function each over nix's safe wrappers,
//! returning `io::Result` so that callers add the path. Every path given here is one name in a
//! directory fd, or a path resolved with `RESOLVE_BENEATH`: nothing here follows a symlink the
//! container could have planted, from the host's root.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use nix::fcntl::{OFlag, OpenHow, RenameFlags, ResolveFlag};
use nix::sys::stat::{FileStat, Mode, SFlag};
use nix::unistd::UnlinkatFlags;

/// A directory on the host, opened `O_PATH` (it is only ever a base for `*at` calls).
pub fn open_dir(path: &Path) -> io::Result<OwnedFd> {
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC)
        .open(path)
        .map(OwnedFd::from)
}

/// The directory `path` below `root`, refused with EXDEV when the resolution would leave
/// `root` (a `..` above it, an absolute symlink, a relative one that climbs out) and with ELOOP
/// on a /proc magic link.
pub fn open_dir_beneath(root: BorrowedFd<'_>, path: &Path) -> io::Result<OwnedFd> {
    let path = if path.as_os_str().is_empty() {
        Path::new(".")
    } else {
        path
    };
    let how = OpenHow::new()
        .flags(OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC)
        .resolve(ResolveFlag::RESOLVE_BENEATH | ResolveFlag::RESOLVE_NO_MAGICLINKS);
    // The kernel answers EAGAIN when a rename raced with a `..` lookup: ask again.
    let mut last = nix::errno::Errno::EAGAIN;
    for _ in 0..16 {
        match nix::fcntl::openat2(root, path, how) {
            Ok(fd) => return Ok(fd),
            Err(nix::errno::Errno::EAGAIN) => continue,
            Err(e) => {
                last = e;
                break;
            }
        }
    }
    Err(last.into())
}

/// lstat of `name` in `dir`.
pub fn lstat_at(dir: BorrowedFd<'_>, name: &Path) -> io::Result<FileStat> {
    nix::sys::stat::fstatat(dir, name, nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW)
        .map_err(io::Error::from)
}

/// stat of a host path (symlinks followed, as LXC's `stat`).
pub fn stat(path: &Path) -> io::Result<FileStat> {
    nix::sys::stat::stat(path).map_err(io::Error::from)
}

/// The file type bits of a mode.
pub fn file_type(mode: u32) -> u32 {
    mode & libc::S_IFMT
}

pub fn is_device(st: &FileStat) -> bool {
    matches!(file_type(st.st_mode), libc::S_IFCHR | libc::S_IFBLK)
}

/// A new device node `name` in `dir`: type and permission bits of `mode`, number `rdev`.
pub fn mknod_at(dir: BorrowedFd<'_>, name: &Path, mode: u32, rdev: u64) -> io::Result<()> {
    let kind = SFlag::from_bits_truncate(file_type(mode));
    let perm = Mode::from_bits_truncate(mode & 0o7777);
    nix::sys::stat::mknodat(dir, name, kind, perm, rdev).map_err(io::Error::from)
}

/// Give the node `name` in `dir` exactly the permission bits of `mode` (mknod's were cut by
/// the umask), after checking it is still the node of type `mode` and number `rdev` we made:
/// the node is opened without following a symlink and changed through its fd, so a name
/// swapped meanwhile is never followed. Returns the node's (device, inode), to know it again.
pub fn set_node_mode(
    dir: BorrowedFd<'_>,
    name: &Path,
    mode: u32,
    rdev: u64,
) -> io::Result<(u64, u64)> {
    let fd = nix::fcntl::openat(
        dir,
        name,
        OFlag::O_PATH | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(io::Error::from)?;
    let st = nix::sys::stat::fstat(&fd).map_err(io::Error::from)?;
    if file_type(st.st_mode) != file_type(mode) || st.st_rdev != rdev {
        return Err(io::Error::from_raw_os_error(libc::ESTALE));
    }
    // An O_PATH fd takes no fchmod; its /proc/self/fd link is the inode itself.
    let link = format!("/proc/self/fd/{}", fd.as_fd().as_raw_fd());
    std::fs::set_permissions(&link, std::fs::Permissions::from_mode(mode & 0o7777))?;
    Ok((st.st_dev, st.st_ino))
}

pub fn mkdir_at(dir: BorrowedFd<'_>, name: &Path, perm: u32) -> io::Result<()> {
    nix::sys::stat::mkdirat(dir, name, Mode::from_bits_truncate(perm)).map_err(io::Error::from)
}

pub fn rmdir_at(dir: BorrowedFd<'_>, name: &Path) -> io::Result<()> {
    nix::unistd::unlinkat(dir, name, UnlinkatFlags::RemoveDir).map_err(io::Error::from)
}

pub fn unlink_at(dir: BorrowedFd<'_>, name: &Path) -> io::Result<()> {
    nix::unistd::unlinkat(dir, name, UnlinkatFlags::NoRemoveDir).map_err(io::Error::from)
}

/// How [`rename_at`] treats an entry already at the new name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rename {
    /// Swap the two entries (both must exist).
    Exchange,
    /// Fail with EEXIST.
    NoReplace,
    /// Replace it (plain rename).
    Replace,
}

/// Rename `from` to `to`, both in `dir`.
pub fn rename_at(dir: BorrowedFd<'_>, from: &Path, to: &Path, how: Rename) -> io::Result<()> {
    let flags = match how {
        Rename::Exchange => RenameFlags::RENAME_EXCHANGE,
        Rename::NoReplace => RenameFlags::RENAME_NOREPLACE,
        Rename::Replace => RenameFlags::empty(),
    };
    nix::fcntl::renameat2(dir, from, dir, to, flags).map_err(io::Error::from)
}

/// Whether a rename failed only because this filesystem lacks the flag asked for.
pub fn flag_unsupported(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::EINVAL | libc::ENOSYS))
}
