//! The crate's raw kernel calls, one small wrapper each. Nothing else in the crate calls
//! `libc` directly; descriptors are `OwnedFd` from the moment they exist, made CLOEXEC.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::ptr::NonNull;

/// The kernel's page size (mappings are made of whole pages).
pub fn page_size() -> usize {
    // SAFETY: sysconf reads a constant of the running system and touches no memory of ours.
    let n = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    usize::try_from(n).unwrap_or(4096)
}

/// memfd_create(2), CLOEXEC, and sealed against exec where the kernel knows the flag (older
/// kernels reject MFD_NOEXEC_SEAL with EINVAL).
pub fn memfd(name: &std::ffi::CStr) -> io::Result<OwnedFd> {
    for flags in [libc::MFD_CLOEXEC | libc::MFD_NOEXEC_SEAL, libc::MFD_CLOEXEC] {
        // SAFETY: `name` is a valid NUL-terminated string; the call returns a new fd or -1.
        let fd = unsafe { libc::memfd_create(name.as_ptr(), flags) };
        if fd >= 0 {
            // SAFETY: `fd` was just returned by the kernel and is owned by nobody else.
            return Ok(unsafe { OwnedFd::from_raw_fd(fd) });
        }
        let e = io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::EINVAL) {
            return Err(e);
        }
    }
    Err(io::Error::from_raw_os_error(libc::EINVAL))
}

/// ftruncate(2).
pub fn ftruncate(fd: &OwnedFd, len: usize) -> io::Result<()> {
    let len = libc::off_t::try_from(len).map_err(|_| io::Error::from_raw_os_error(libc::EFBIG))?;
    // SAFETY: plain syscall on an fd we own.
    if unsafe { libc::ftruncate(fd.as_raw_fd(), len) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// `len` bytes of address space, reserved and inaccessible, for fixed mappings to go into.
pub fn reserve(len: usize) -> io::Result<NonNull<u8>> {
    // SAFETY: an anonymous PROT_NONE mapping at an address the kernel picks aliases nothing.
    let p = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_NONE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    if p == libc::MAP_FAILED {
        return Err(io::Error::last_os_error());
    }
    NonNull::new(p.cast()).ok_or_else(|| io::Error::from_raw_os_error(libc::ENOMEM))
}

/// Map `len` bytes of `fd` read-write and shared exactly at `at`, replacing what is there.
///
/// # Safety
/// `at..at+len` must lie inside a reservation of ours (from [`reserve`]) that nothing else
/// refers to, so replacing it invalidates no live reference.
pub unsafe fn map_fixed(at: NonNull<u8>, len: usize, fd: &OwnedFd) -> io::Result<()> {
    // SAFETY: the caller guarantees the range is our own reservation; MAP_FIXED replaces it.
    let p = unsafe {
        libc::mmap(
            at.as_ptr().cast(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_SHARED | libc::MAP_FIXED,
            fd.as_raw_fd(),
            0,
        )
    };
    if p == libc::MAP_FAILED {
        return Err(io::Error::last_os_error());
    }
    if p.cast() != at.as_ptr() {
        return Err(io::Error::from_raw_os_error(libc::EFAULT));
    }
    Ok(())
}

/// munmap(2).
///
/// # Safety
/// `at..at+len` must be a mapping of ours that no live reference points into.
pub unsafe fn unmap(at: NonNull<u8>, len: usize) {
    // SAFETY: guaranteed by the caller; a failure (it cannot fail for a valid range) leaks.
    unsafe { libc::munmap(at.as_ptr().cast(), len) };
}
