//! The kernel calls of mount injection, one small function each. Most of them run in a child
//! forked from a caller that may have other threads, so none of them allocates: paths are
//! `CStr`s made before the fork, results are raw errnos or `OwnedFd`s.

use std::ffi::CStr;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

/// `linux/mount.h`, not in every libc this builds with.
pub mod consts {
    pub const OPEN_TREE_CLONE: u32 = 1;
    pub const OPEN_TREE_CLOEXEC: u32 = libc::O_CLOEXEC as u32;
    pub const AT_RECURSIVE: u32 = 0x8000;
    pub const AT_EMPTY_PATH: u32 = libc::AT_EMPTY_PATH as u32;

    pub const MOVE_MOUNT_F_EMPTY_PATH: u32 = 0x04;
    pub const MOVE_MOUNT_T_EMPTY_PATH: u32 = 0x40;

    pub const FSOPEN_CLOEXEC: u32 = 1;
    pub const FSMOUNT_CLOEXEC: u32 = 1;
    pub const FSCONFIG_SET_FLAG: u32 = 0;
    pub const FSCONFIG_SET_STRING: u32 = 1;
    pub const FSCONFIG_CMD_CREATE: u32 = 6;

    pub const MOUNT_ATTR_RDONLY: u64 = 0x01;
    pub const MOUNT_ATTR_NOSUID: u64 = 0x02;
    pub const MOUNT_ATTR_NODEV: u64 = 0x04;
    pub const MOUNT_ATTR_NOEXEC: u64 = 0x08;
    pub const MOUNT_ATTR__ATIME: u64 = 0x70;
    pub const MOUNT_ATTR_RELATIME: u64 = 0x00;
    pub const MOUNT_ATTR_NOATIME: u64 = 0x10;
    pub const MOUNT_ATTR_STRICTATIME: u64 = 0x20;
    pub const MOUNT_ATTR_NODIRATIME: u64 = 0x80;
    pub const MOUNT_ATTR_NOSYMFOLLOW: u64 = 0x0020_0000;

    pub const RESOLVE_NO_MAGICLINKS: u64 = 0x02;
    pub const RESOLVE_BENEATH: u64 = 0x08;
}

use consts::*;

/// `struct mount_attr` (linux/mount.h, MOUNT_ATTR_SIZE_VER0).
#[repr(C)]
struct MountAttr {
    attr_set: u64,
    attr_clr: u64,
    propagation: u64,
    userns_fd: u64,
}

/// `struct open_how` (linux/openat2.h).
#[repr(C)]
struct OpenHow {
    flags: u64,
    mode: u64,
    resolve: u64,
}

fn cvt(ret: libc::c_long) -> io::Result<libc::c_long> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

fn cvt_int(ret: libc::c_int) -> io::Result<libc::c_int> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

/// A new fd a syscall returned.
fn owned(ret: libc::c_long) -> io::Result<OwnedFd> {
    let fd = cvt(ret)? as RawFd;
    // SAFETY: the kernel just returned this fd to us; nobody else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// The errno of a failed call (EIO if the error carries none).
pub fn errno_of(e: &io::Error) -> i32 {
    e.raw_os_error().unwrap_or(libc::EIO)
}

/// fork(2). The child may only make the calls of this module (no allocation, no locks): the
/// caller can have other threads, whose locks a child would inherit held.
pub fn fork() -> io::Result<Option<libc::pid_t>> {
    // SAFETY: the child runs only async-signal-safe system calls until it `_exit`s (see
    // `child.rs`), so locks other threads held at the fork are never taken in it.
    let pid = cvt_int(unsafe { libc::fork() })?;
    Ok((pid != 0).then_some(pid))
}

/// waitpid(2) for one child, retried on EINTR: its wait status.
pub fn wait_child(pid: libc::pid_t) -> io::Result<libc::c_int> {
    loop {
        let mut status = 0;
        // SAFETY: a pid of our own child and a valid pointer to an int.
        match cvt_int(unsafe { libc::waitpid(pid, &mut status, 0) }) {
            Ok(_) => return Ok(status),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
}

/// open_tree(2) with `OPEN_TREE_CLONE`: a detached copy of the mount at `path` (below
/// `dirfd`, or the file `dirfd` itself with an empty path and `AT_EMPTY_PATH`), attached
/// nowhere until [`move_mount`] puts it somewhere.
pub fn open_tree_clone(dirfd: RawFd, path: &CStr, extra: u32) -> io::Result<OwnedFd> {
    let flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | extra;
    // SAFETY: a NUL-terminated path and plain flags; the result is a new fd.
    owned(unsafe { libc::syscall(libc::SYS_open_tree, dirfd, path.as_ptr(), flags) })
}

/// move_mount(2) of the detached (or attached) mount `from` onto what `to` refers to (with
/// `to_path` below it, or `to` itself when `to_path` is empty).
pub fn move_mount(from: BorrowedFd<'_>, to: RawFd, to_path: &CStr) -> io::Result<()> {
    let mut flags = MOVE_MOUNT_F_EMPTY_PATH;
    if to_path.is_empty() {
        flags |= MOVE_MOUNT_T_EMPTY_PATH;
    }
    // SAFETY: valid fds and NUL-terminated paths.
    cvt(unsafe {
        libc::syscall(
            libc::SYS_move_mount,
            from.as_raw_fd(),
            c"".as_ptr(),
            to,
            to_path.as_ptr(),
            flags,
        )
    })
    .map(drop)
}

/// mount_setattr(2) on the mount `fd` is the root of (and below it when `recursive`).
pub fn mount_setattr(fd: BorrowedFd<'_>, recursive: bool, set: u64, clr: u64) -> io::Result<()> {
    let attr = MountAttr {
        attr_set: set,
        attr_clr: clr,
        propagation: 0,
        userns_fd: 0,
    };
    let mut flags = AT_EMPTY_PATH;
    if recursive {
        flags |= AT_RECURSIVE;
    }
    // SAFETY: a valid fd, an empty path with AT_EMPTY_PATH, and a mount_attr of the size given.
    cvt(unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            fd.as_raw_fd(),
            c"".as_ptr(),
            flags,
            &attr as *const MountAttr,
            std::mem::size_of::<MountAttr>(),
        )
    })
    .map(drop)
}

/// fsopen(2): a filesystem context for a new instance of `fstype`.
pub fn fsopen(fstype: &CStr) -> io::Result<OwnedFd> {
    // SAFETY: a NUL-terminated name and plain flags; the result is a new fd.
    owned(unsafe { libc::syscall(libc::SYS_fsopen, fstype.as_ptr(), FSOPEN_CLOEXEC) })
}

/// fsconfig(2) `FSCONFIG_SET_STRING` (`value` given) or `FSCONFIG_SET_FLAG`.
pub fn fsconfig_set(fs: BorrowedFd<'_>, key: &CStr, value: Option<&CStr>) -> io::Result<()> {
    let (cmd, v) = match value {
        Some(v) => (FSCONFIG_SET_STRING, v.as_ptr()),
        None => (FSCONFIG_SET_FLAG, std::ptr::null()),
    };
    // SAFETY: a filesystem context fd, a NUL-terminated key and a NUL-terminated value or
    // NULL for a flag, as fsconfig(2) takes them.
    cvt(unsafe { libc::syscall(libc::SYS_fsconfig, fs.as_raw_fd(), cmd, key.as_ptr(), v, 0) })
        .map(drop)
}

/// fsconfig(2) `FSCONFIG_CMD_CREATE`: make the superblock.
pub fn fsconfig_create(fs: BorrowedFd<'_>) -> io::Result<()> {
    // SAFETY: a filesystem context fd; the command takes no key or value.
    cvt(unsafe {
        libc::syscall(
            libc::SYS_fsconfig,
            fs.as_raw_fd(),
            FSCONFIG_CMD_CREATE,
            std::ptr::null::<libc::c_char>(),
            std::ptr::null::<libc::c_void>(),
            0,
        )
    })
    .map(drop)
}

/// fsmount(2): a detached mount of the superblock, with `MOUNT_ATTR_*` `attrs`.
pub fn fsmount(fs: BorrowedFd<'_>, attrs: u64) -> io::Result<OwnedFd> {
    // SAFETY: a filesystem context fd and plain flags; the result is a new fd.
    owned(unsafe { libc::syscall(libc::SYS_fsmount, fs.as_raw_fd(), FSMOUNT_CLOEXEC, attrs) })
}

/// What the kernel logged about a failed filesystem context (`e tmpfs: Bad value for
/// 'size'`), read into `buf`: its length.
pub fn fs_log(fs: BorrowedFd<'_>, buf: &mut [u8]) -> usize {
    // SAFETY: reading into a buffer of the length given.
    let n = unsafe { libc::read(fs.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
    usize::try_from(n).unwrap_or(0)
}

/// openat2(2) of `path` below `dir`, never leaving it (`RESOLVE_BENEATH`: a `..` above it, an
/// absolute symlink or one that climbs out fail with EXDEV) and following no /proc magic link
/// (ELOOP). Retried when a concurrent rename made the kernel answer EAGAIN.
pub fn open_beneath(dir: RawFd, path: &CStr, flags: i32) -> io::Result<OwnedFd> {
    let how = OpenHow {
        flags: (flags | libc::O_CLOEXEC) as u64,
        mode: 0,
        resolve: RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
    };
    let mut last = io::Error::from_raw_os_error(libc::EAGAIN);
    for _ in 0..16 {
        // SAFETY: a directory fd, a NUL-terminated path and an open_how of the size given.
        let r = unsafe {
            libc::syscall(
                libc::SYS_openat2,
                dir,
                path.as_ptr(),
                &how as *const OpenHow,
                std::mem::size_of::<OpenHow>(),
            )
        };
        match owned(r) {
            Err(e) if e.raw_os_error() == Some(libc::EAGAIN) => last = e,
            other => return other,
        }
    }
    Err(last)
}

/// openat(2) of one name in `dir`, as an `O_PATH` fd, not following a symlink there.
pub fn open_path_nofollow(dir: RawFd, name: &CStr) -> io::Result<OwnedFd> {
    // SAFETY: a directory fd and a NUL-terminated name.
    let fd = unsafe {
        libc::openat(
            dir,
            name.as_ptr(),
            libc::O_PATH | libc::O_NOFOLLOW | libc::O_CLOEXEC,
        )
    };
    owned(fd as libc::c_long)
}

pub fn mkdirat(dir: RawFd, name: &CStr, mode: u32) -> io::Result<()> {
    // SAFETY: a directory fd and a NUL-terminated name.
    cvt_int(unsafe { libc::mkdirat(dir, name.as_ptr(), mode) }).map(drop)
}

/// An empty regular file `name` in `dir` (mknod(2) `S_IFREG`, as LXC makes mount targets).
pub fn mkfileat(dir: RawFd, name: &CStr, mode: u32) -> io::Result<()> {
    // SAFETY: a directory fd and a NUL-terminated name; S_IFREG needs no device number.
    cvt_int(unsafe { libc::mknodat(dir, name.as_ptr(), libc::S_IFREG | mode, 0) }).map(drop)
}

/// unlinkat(2): the directory (`dir_entry`) or file `name` in `dir`.
pub fn unlinkat(dir: RawFd, name: &CStr, dir_entry: bool) -> io::Result<()> {
    let flags = if dir_entry { libc::AT_REMOVEDIR } else { 0 };
    // SAFETY: a directory fd and a NUL-terminated name.
    cvt_int(unsafe { libc::unlinkat(dir, name.as_ptr(), flags) }).map(drop)
}

/// The file type bits (`S_IFMT`) of what `fd` refers to.
pub fn file_type(fd: RawFd) -> io::Result<u32> {
    // SAFETY: an all-zero stat is a valid value to be overwritten.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: a valid fd (O_PATH is fine for fstat) and a stat buffer of the right size.
    cvt_int(unsafe { libc::fstat(fd, &mut st) })?;
    Ok(st.st_mode & libc::S_IFMT)
}

pub fn fchdir(fd: RawFd) -> io::Result<()> {
    // SAFETY: a directory fd (O_PATH is fine for fchdir).
    cvt_int(unsafe { libc::fchdir(fd) }).map(drop)
}

pub fn umount2(path: &CStr, flags: i32) -> io::Result<()> {
    // SAFETY: a NUL-terminated path and plain flags.
    cvt_int(unsafe { libc::umount2(path.as_ptr(), flags) }).map(drop)
}

/// Make every mount of this process's mount namespace from `/` down private, so that nothing
/// mounted here propagates anywhere.
pub fn make_rprivate() -> io::Result<()> {
    // SAFETY: NUL-terminated strings and NULL for the unused source, type and data.
    cvt_int(unsafe {
        libc::mount(
            std::ptr::null(),
            c"/".as_ptr(),
            std::ptr::null(),
            libc::MS_REC | libc::MS_PRIVATE,
            std::ptr::null(),
        )
    })
    .map(drop)
}

/// setns(2) through a pidfd: join the namespaces `nstype` of that process.
pub fn setns(pidfd: RawFd, nstype: i32) -> io::Result<()> {
    // SAFETY: a pidfd and CLONE_NEW* flags.
    cvt_int(unsafe { libc::setns(pidfd, nstype) }).map(drop)
}

pub fn unshare(flags: i32) -> io::Result<()> {
    // SAFETY: unshare takes flags only.
    cvt_int(unsafe { libc::unshare(flags) }).map(drop)
}

/// Drop every supplementary group (raw syscall: glibc's wrapper would signal other threads,
/// which a forked child does not have).
pub fn clear_groups() -> io::Result<()> {
    // SAFETY: an empty list needs no pointer.
    cvt(unsafe { libc::syscall(libc::SYS_setgroups, 0, std::ptr::null::<libc::gid_t>()) }).map(drop)
}

/// Become uid and gid 0 of the user namespace this process is in (raw syscalls, see
/// [`clear_groups`]).
pub fn become_root() -> io::Result<()> {
    // SAFETY: plain integers.
    cvt(unsafe { libc::syscall(libc::SYS_setresgid, 0, 0, 0) })?;
    // SAFETY: plain integers.
    cvt(unsafe { libc::syscall(libc::SYS_setresuid, 0, 0, 0) }).map(drop)
}

/// Ask for SIGKILL when the parent goes, so that a child never outlives the call.
pub fn die_with_parent() -> io::Result<()> {
    // SAFETY: PR_SET_PDEATHSIG takes a signal number.
    cvt_int(unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong) })
        .map(drop)
}

/// write(2) of the whole buffer, retried on EINTR and short writes.
pub fn write_all(fd: RawFd, mut buf: &[u8]) -> io::Result<()> {
    while !buf.is_empty() {
        // SAFETY: writing from a buffer of the length given.
        let n = unsafe { libc::write(fd, buf.as_ptr().cast(), buf.len()) };
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        buf = &buf[n as usize..];
    }
    Ok(())
}

/// `_exit(2)`: leave the child without running anything of the parent's.
pub fn exit_now(code: i32) -> ! {
    // SAFETY: _exit never returns and touches no user-space state.
    unsafe { libc::_exit(code) }
}
