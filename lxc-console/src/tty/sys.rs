//! The raw calls of the terminal code, one small wrapper each: pty allocation from a devpts
//! instance (LXC's `lxc_devpts_terminal`), and the few file calls around it. Descriptors are
//! `OwnedFd` and CLOEXEC from the moment they exist.

use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

fn cvt(r: libc::c_int) -> io::Result<libc::c_int> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

fn cpath(p: &Path) -> io::Result<CString> {
    CString::new(p.as_os_str().as_bytes()).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))
}

/// openat(2) with O_CLOEXEC added; `dir` None is the current directory (absolute paths).
pub fn openat(dir: Option<BorrowedFd<'_>>, path: &Path, flags: libc::c_int) -> io::Result<OwnedFd> {
    let c = cpath(path)?;
    let dirfd = dir.map_or(libc::AT_FDCWD, |d| d.as_raw_fd());
    // SAFETY: `c` is NUL-terminated and outlives the call; the result is a new fd or -1.
    let fd = cvt(unsafe { libc::openat(dirfd, c.as_ptr(), flags | libc::O_CLOEXEC) })?;
    // SAFETY: the kernel just returned this descriptor; nobody else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// A new pty from the multiplexer `ptmx`: unlocked, its peer opened through the master
/// (TIOCGPTPEER, no path lookup), and its number in its devpts instance.
pub fn new_pty(ptmx: OwnedFd) -> io::Result<(OwnedFd, OwnedFd, u32)> {
    let unlock: libc::c_int = 0;
    // SAFETY: TIOCSPTLCK reads an int through the pointer, which is valid for the call.
    cvt(unsafe { libc::ioctl(ptmx.as_raw_fd(), libc::TIOCSPTLCK, &unlock) })?;
    // SAFETY: TIOCGPTPEER takes open flags by value and returns a new fd or -1.
    let peer = cvt(unsafe {
        libc::ioctl(
            ptmx.as_raw_fd(),
            libc::TIOCGPTPEER,
            libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC,
        )
    })?;
    // SAFETY: the kernel just returned this descriptor; nobody else owns it.
    let peer = unsafe { OwnedFd::from_raw_fd(peer) };
    let n = pty_number(&ptmx)?;
    Ok((ptmx, peer, n))
}

/// The pty number of a master (TIOCGPTN).
pub fn pty_number(master: &OwnedFd) -> io::Result<u32> {
    let mut n: libc::c_uint = 0;
    // SAFETY: TIOCGPTN writes an unsigned int through the pointer, valid for the call.
    cvt(unsafe { libc::ioctl(master.as_raw_fd(), libc::TIOCGPTN, &mut n) })?;
    Ok(n)
}

/// fchmod(2).
pub fn fchmod(fd: &OwnedFd, mode: u32) -> io::Result<()> {
    // SAFETY: plain syscall on an fd we own.
    cvt(unsafe { libc::fchmod(fd.as_raw_fd(), mode as libc::mode_t) }).map(drop)
}

/// fchown(2); None leaves that id as it is.
pub fn fchown(fd: &OwnedFd, uid: Option<u32>, gid: Option<u32>) -> io::Result<()> {
    // SAFETY: plain syscall on an fd we own.
    cvt(unsafe {
        libc::fchown(
            fd.as_raw_fd(),
            uid.unwrap_or(u32::MAX),
            gid.unwrap_or(u32::MAX),
        )
    })
    .map(drop)
}

/// The device number of a character device the fd refers to (st_rdev), None for others.
pub fn char_rdev(fd: BorrowedFd<'_>) -> io::Result<Option<u64>> {
    // SAFETY: a zeroed stat is a valid out buffer for fstat.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: `st` is valid for writes for the call; fstat works on O_PATH fds too.
    cvt(unsafe { libc::fstat(fd.as_raw_fd(), &mut st) })?;
    Ok((st.st_mode & libc::S_IFMT == libc::S_IFCHR).then_some(st.st_rdev))
}

/// Whether the fd is on a devpts filesystem.
pub fn is_devpts(fd: BorrowedFd<'_>) -> io::Result<bool> {
    // SAFETY: a zeroed statfs is a valid out buffer.
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: `st` is valid for writes for the call.
    cvt(unsafe { libc::fstatfs(fd.as_raw_fd(), &mut st) })?;
    // DEVPTS_SUPER_MAGIC, which libc does not name.
    Ok(st.f_type as i64 == 0x1cd1)
}

/// isatty(3).
pub fn is_tty(fd: BorrowedFd<'_>) -> bool {
    // SAFETY: isatty only queries the fd.
    unsafe { libc::isatty(fd.as_raw_fd()) == 1 }
}

/// The soft RLIMIT_NOFILE.
pub fn fd_limit() -> io::Result<u64> {
    // SAFETY: a zeroed rlimit is a valid out buffer.
    let mut r: libc::rlimit = unsafe { std::mem::zeroed() };
    // SAFETY: `r` is valid for writes for the call.
    cvt(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut r) })?;
    Ok(r.rlim_cur)
}
