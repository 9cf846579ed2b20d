//! The crate's raw kernel calls, one safe wrapper each.

use std::io;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};

/// `SECCOMP_FILTER_FLAG_NEW_LISTENER`: the load returns a listener fd for `notify` rules.
pub const FLAG_NEW_LISTENER: libc::c_ulong = 1 << 3;

/// Load `program` as a filter on the calling thread with `seccomp(SECCOMP_SET_MODE_FILTER)`.
/// With [`FLAG_NEW_LISTENER`] the kernel's listener fd (close-on-exec) comes back.
///
/// Allocation-free: an attached process calls it after a fork of a threaded caller.
pub fn load_filter(
    program: &[libc::sock_filter],
    flags: libc::c_ulong,
) -> Result<Option<OwnedFd>, i32> {
    let Ok(len) = u16::try_from(program.len()) else {
        return Err(libc::E2BIG);
    };
    let prog = libc::sock_fprog {
        len,
        filter: program.as_ptr().cast_mut(),
    };
    // SAFETY: `prog` points at `program`, which outlives the call; the kernel copies the
    // program and reads nothing else of ours.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_SET_MODE_FILTER,
            flags,
            &prog as *const libc::sock_fprog,
        )
    };
    if ret < 0 {
        return Err(io::Error::last_os_error()
            .raw_os_error()
            .unwrap_or(libc::EINVAL));
    }
    if flags & FLAG_NEW_LISTENER == 0 {
        return Ok(None);
    }
    let Ok(fd) = RawFd::try_from(ret) else {
        return Err(libc::EBADF);
    };
    // SAFETY: with NEW_LISTENER the kernel returns a new fd that nothing else owns.
    Ok(Some(unsafe { OwnedFd::from_raw_fd(fd) }))
}

/// The `Seccomp:` mode of the calling process from /proc/self/status: 0 none, 1 strict,
/// 2 filter. `None` when the kernel has no seccomp (the line is missing), as LXC reads it.
pub fn seccomp_mode() -> io::Result<Option<u32>> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    Ok(status
        .lines()
        .find_map(|l| l.strip_prefix("Seccomp:"))
        .and_then(|v| v.trim().parse().ok()))
}
