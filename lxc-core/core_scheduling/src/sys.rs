//! The one system call this crate makes, `prctl(PR_SCHED_CORE, ...)`, behind safe wrappers.
//!
//! libc 0.2 names PR_SCHED_CORE but not its sub-commands and scopes; these are the kernel's
//! values (include/uapi/linux/prctl.h, Linux 5.14).

#![allow(unsafe_code)]

use std::io;

const PR_SCHED_CORE: libc::c_int = 62;
const GET: libc::c_ulong = 0;
const CREATE: libc::c_ulong = 1;
const SHARE_FROM: libc::c_ulong = 3;
/// The cookie of one thread (what GET reads, and what SHARE_FROM sets on the caller).
const SCOPE_THREAD: libc::c_ulong = 0;
/// Every thread of the process (what LXC gives the container's init).
const SCOPE_THREAD_GROUP: libc::c_ulong = 1;

fn check(ret: libc::c_int) -> io::Result<()> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// A new core-scheduling cookie for every thread of `pid`.
pub fn create_for_process(pid: i32) -> io::Result<()> {
    // SAFETY: prctl with integer arguments only; the kernel reads nothing from our memory.
    check(unsafe {
        libc::prctl(
            PR_SCHED_CORE,
            CREATE,
            pid as libc::c_ulong,
            SCOPE_THREAD_GROUP,
            0 as libc::c_ulong,
        )
    })
}

/// The cookie of `pid` (0: none).
pub fn cookie(pid: i32) -> io::Result<u64> {
    let mut cookie: u64 = 0;
    // SAFETY: the kernel writes one u64 to the address given, which is `cookie`, alive and
    // writable for the whole call.
    check(unsafe {
        libc::prctl(
            PR_SCHED_CORE,
            GET,
            pid as libc::c_ulong,
            SCOPE_THREAD,
            &mut cookie as *mut u64 as libc::c_ulong,
        )
    })?;
    Ok(cookie)
}

/// Take `pid`'s cookie for the calling thread. Allocation-free: runs in an attached process.
pub fn share_from(pid: i32) -> io::Result<()> {
    // SAFETY: prctl with integer arguments only; the kernel reads nothing from our memory.
    check(unsafe {
        libc::prctl(
            PR_SCHED_CORE,
            SHARE_FROM,
            pid as libc::c_ulong,
            SCOPE_THREAD,
            0 as libc::c_ulong,
        )
    })
}
