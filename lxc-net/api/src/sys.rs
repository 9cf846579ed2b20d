//! The raw system calls this crate makes, each behind a safe function.

use std::io;
use std::os::fd::RawFd;

/// Enter the network namespace `fd` refers to, on the calling thread only.
pub fn setns_net(fd: RawFd) -> io::Result<()> {
    // SAFETY: setns takes a descriptor number and a flag; a bad one is EBADF/EINVAL. With
    // CLONE_NEWNET it changes only the calling thread's network namespace.
    let r = unsafe { libc::setns(fd, libc::CLONE_NEWNET) };
    if r == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Give the calling thread a new, empty network namespace.
#[cfg(feature = "netlink")]
pub fn unshare_net() -> io::Result<()> {
    // SAFETY: unshare(CLONE_NEWNET) takes no pointers and affects only the calling thread.
    let r = unsafe { libc::unshare(libc::CLONE_NEWNET) };
    if r == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Fill `buf` from the kernel's random source.
#[cfg(feature = "netlink")]
pub fn random(buf: &mut [u8]) -> io::Result<()> {
    let mut done = 0;
    while done < buf.len() {
        let rest = &mut buf[done..];
        // SAFETY: the pointer and length describe `rest`, a live, writable slice.
        let n = unsafe { libc::getrandom(rest.as_mut_ptr().cast(), rest.len(), 0) };
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(e);
            }
        } else {
            done += n as usize;
        }
    }
    Ok(())
}

/// The effective user id.
#[cfg(feature = "testing")]
pub fn geteuid() -> u32 {
    // SAFETY: geteuid takes nothing and cannot fail.
    unsafe { libc::geteuid() }
}
