//! The kernel calls of mount injection, one small function each. Most of them run in a child
//! forked from a caller that may have other threads, so none of them allocates: paths are
//! `CStr`s made before the fork, results are raw errnos or `OwnedFd`s.

use std::ffi::CStr;
use std::io;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};

/// `linux/openat2.h`, not in every libc this builds with.
mod consts {
    pub const RESOLVE_NO_MAGICLINKS: u64 = 0x02;
    pub const RESOLVE_BENEATH: u64 = 0x08;
}

use consts::*;

// The new mount API's calls allocate nothing, so the child uses lxc-mount's.
pub use lxc_mount::sys::{
    fs_log, fsconfig_create, fsconfig_set, fsmount, fsopen, move_mount_at as move_mount,
    open_tree_clone_at as open_tree_clone,
};

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
