//! The crate's raw kernel calls, one small wrapper each. Nothing else in the crate calls
//! `libc` directly; descriptors are `OwnedFd` from the moment they exist, made CLOEXEC.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
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

/// Set or clear O_NONBLOCK on the open file description behind `fd`.
pub fn set_nonblocking(fd: BorrowedFd<'_>, on: bool) -> io::Result<()> {
    // SAFETY: F_GETFL on a valid fd reads its flags and touches no memory of ours.
    let flags = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETFL) };
    if flags < 0 {
        return Err(io::Error::last_os_error());
    }
    let flags = if on {
        flags | libc::O_NONBLOCK
    } else {
        flags & !libc::O_NONBLOCK
    };
    // SAFETY: F_SETFL with an int argument on a valid fd.
    if unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFL, flags) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// write(2) once; EINTR is retried (the core's wrapper).
pub fn write(fd: BorrowedFd<'_>, buf: &[u8]) -> io::Result<usize> {
    lxc_core::sys::write_some(fd.as_raw_fd(), buf)
}

/// read(2) once; EINTR is retried.
pub use lxc_core::sys::read;

/// A terminal's window size (rows, columns), or None when `fd` is no terminal.
pub fn winsize(fd: BorrowedFd<'_>) -> Option<(u16, u16)> {
    // SAFETY: winsize is plain data.
    let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
    // SAFETY: TIOCGWINSZ writes a winsize into the valid struct we pass.
    let r = unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCGWINSZ, &mut ws) };
    (r == 0).then_some((ws.ws_row, ws.ws_col))
}

/// Set a terminal's window size.
pub fn set_winsize(fd: BorrowedFd<'_>, rows: u16, cols: u16) -> io::Result<()> {
    let ws = libc::winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCSWINSZ reads the valid winsize we pass.
    if unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCSWINSZ, &ws) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// A terminal's settings, to restore later.
pub fn tcgetattr(fd: BorrowedFd<'_>) -> io::Result<libc::termios> {
    // SAFETY: termios is plain data.
    let mut t: libc::termios = unsafe { std::mem::zeroed() };
    // SAFETY: tcgetattr fills the valid struct we pass.
    if unsafe { libc::tcgetattr(fd.as_raw_fd(), &mut t) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(t)
}

/// Apply terminal settings (TCSAFLUSH, as LXC restores them).
pub fn tcsetattr(fd: BorrowedFd<'_>, t: &libc::termios) -> io::Result<()> {
    // SAFETY: tcsetattr reads the valid struct we pass.
    if unsafe { libc::tcsetattr(fd.as_raw_fd(), libc::TCSAFLUSH, t) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Raw mode (cfmakeraw) on `fd`; returns the settings it had.
pub fn make_raw(fd: BorrowedFd<'_>) -> io::Result<libc::termios> {
    let old = tcgetattr(fd)?;
    let mut raw = old;
    // SAFETY: cfmakeraw only edits the struct we pass.
    unsafe { libc::cfmakeraw(&mut raw) };
    tcsetattr(fd, &raw)?;
    Ok(old)
}

/// isatty(3).
pub fn isatty(fd: BorrowedFd<'_>) -> bool {
    // SAFETY: isatty only queries the fd.
    unsafe { libc::isatty(fd.as_raw_fd()) == 1 }
}

/// A signalfd for SIGWINCH, with SIGWINCH blocked in this thread so that it arrives there.
pub fn sigwinch_fd() -> io::Result<OwnedFd> {
    // SAFETY: sigset_t is plain data, filled by sigemptyset/sigaddset below.
    let mut set: libc::sigset_t = unsafe { std::mem::zeroed() };
    // SAFETY: valid sigset pointers; pthread_sigmask changes only this thread's mask.
    unsafe {
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGWINCH);
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
    }
    // SAFETY: a valid sigset; returns a new fd or -1.
    let fd = unsafe { libc::signalfd(-1, &set, libc::SFD_CLOEXEC | libc::SFD_NONBLOCK) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: fresh fd, ours alone.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// poll(2) for readability on `fds` (-1: no timeout); which ones are readable or hung up.
pub fn poll_in(fds: &[BorrowedFd<'_>], timeout_ms: i32) -> io::Result<Vec<bool>> {
    let mut p: Vec<libc::pollfd> = fds
        .iter()
        .map(|f| libc::pollfd {
            fd: f.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        })
        .collect();
    loop {
        // SAFETY: `p` is a valid array of pollfds of the given length.
        let r = unsafe { libc::poll(p.as_mut_ptr(), p.len() as libc::nfds_t, timeout_ms) };
        if r >= 0 {
            return Ok(p.iter().map(|x| x.revents != 0).collect());
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}
