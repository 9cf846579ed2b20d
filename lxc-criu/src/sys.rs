//! The raw calls criu's child makes before exec, one safe wrapper each. They run between fork
//! and exec: no allocation, only syscalls on what was prepared before the fork.

use std::ffi::CStr;
use std::io;

fn check(ret: libc::c_int) -> io::Result<()> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// write(2) of the whole of `data` (short: one cgroup.procs write).
pub fn write_fd(fd: i32, data: &[u8]) -> io::Result<()> {
    // SAFETY: `data` is a live slice for the length passed; a bad fd is an error return.
    let n = unsafe { libc::write(fd, data.as_ptr().cast(), data.len()) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// A mount namespace of this process's own, every mount a slave of the host's, and `src`
/// bound onto `dst` (created if missing): criu's `--root` (LXC's `do_restore`).
pub fn private_root_bind(src: &CStr, dst: &CStr) -> io::Result<()> {
    // SAFETY: unshare takes flags only.
    check(unsafe { libc::unshare(libc::CLONE_NEWNS) })?;
    // SAFETY: the string arguments are NUL-terminated C strings or null, as mount(2) takes.
    check(unsafe {
        libc::mount(
            std::ptr::null(),
            c"/".as_ptr(),
            std::ptr::null(),
            libc::MS_SLAVE | libc::MS_REC,
            std::ptr::null(),
        )
    })?;
    // SAFETY: `dst` is a NUL-terminated path.
    let r = unsafe { libc::mkdir(dst.as_ptr(), 0o755) };
    if r < 0 {
        let e = io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::EEXIST) {
            return Err(e);
        }
    }
    // SAFETY: as above; MS_BIND takes no type or data.
    check(unsafe {
        libc::mount(
            src.as_ptr(),
            dst.as_ptr(),
            std::ptr::null(),
            libc::MS_BIND,
            std::ptr::null(),
        )
    })
}

/// Keep `fd` open across exec.
pub fn clear_cloexec(fd: i32) -> io::Result<()> {
    // SAFETY: fcntl on an int fd; a bad fd is an error return.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFD) };
    if flags < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: as above.
    check(unsafe { libc::fcntl(fd, libc::F_SETFD, flags & !libc::FD_CLOEXEC) })
}

/// This thread's id (the restored tree's root is a child of it: /proc/self/task/TID/children).
pub fn gettid() -> i32 {
    // SAFETY: gettid takes nothing and cannot fail.
    unsafe { libc::gettid() }
}

/// Whether this process runs as root.
pub fn is_root() -> bool {
    // SAFETY: geteuid takes nothing and cannot fail.
    unsafe { libc::geteuid() == 0 }
}
