//! Raw kernel calls of attach that `crate::sys` does not have.
//!
//! The functions marked *fork-safe* run in the attach helper and the attached process, after a
//! fork from a caller that may have other threads: they allocate nothing, take no locks and
//! return the bare errno, so that a failure can be reported over the socket without touching
//! the heap.

use std::ffi::CStr;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

/// A bare errno from a fork-safe call.
pub type Errno = i32;

fn errno() -> Errno {
    io::Error::last_os_error()
        .raw_os_error()
        .unwrap_or(libc::EIO)
}

fn check(ret: libc::c_int) -> Result<libc::c_int, Errno> {
    if ret < 0 {
        Err(errno())
    } else {
        Ok(ret)
    }
}

/// Fork-safe: write all of `buf` to `fd`.
pub fn write_all_raw(fd: RawFd, mut buf: &[u8]) -> Result<(), Errno> {
    while !buf.is_empty() {
        // SAFETY: buf is a valid readable slice of the given length.
        let n = unsafe { libc::write(fd, buf.as_ptr().cast(), buf.len()) };
        if n < 0 {
            let e = errno();
            if e == libc::EINTR {
                continue;
            }
            return Err(e);
        }
        buf = &buf[n as usize..];
    }
    Ok(())
}

/// Fork-safe: open `path` for reading and writing, no controlling tty, close-on-exec.
pub fn open_rdwr(path: &CStr) -> Result<RawFd, Errno> {
    // SAFETY: a NUL-terminated path and plain flags.
    check(unsafe {
        libc::open(
            path.as_ptr(),
            libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC,
        )
    })
}

/// Fork-safe: open `path` for writing, close-on-exec.
pub fn open_wronly(path: &CStr) -> Result<RawFd, Errno> {
    // SAFETY: a NUL-terminated path and plain flags.
    check(unsafe { libc::open(path.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC) })
}

/// Fork-safe: close a raw fd this process owns.
pub fn close_raw(fd: RawFd) {
    // SAFETY: callers pass fds they own and never use again.
    unsafe { libc::close(fd) };
}

/// Fork-safe.
pub fn chdir_raw(path: &CStr) -> Result<(), Errno> {
    // SAFETY: a NUL-terminated path.
    check(unsafe { libc::chdir(path.as_ptr()) }).map(drop)
}

/// Fork-safe: join the namespaces of the process behind `pidfd` named by `flags`, all in one
/// call (Linux 5.8+ orders user namespace first itself).
pub fn setns_raw(pidfd: RawFd, flags: i32) -> Result<(), Errno> {
    // SAFETY: a pidfd and CLONE_NEW* flags.
    check(unsafe { libc::setns(pidfd, flags) }).map(drop)
}

/// Fork-safe: give this process a copy of its mount namespace.
pub fn unshare_mount_ns() -> Result<(), Errno> {
    // SAFETY: unshare takes a plain flag.
    check(unsafe { libc::unshare(libc::CLONE_NEWNS) }).map(drop)
}

/// Fork-safe: mount(2) with no data; `source` and `fstype` may be absent.
pub fn mount_raw(
    source: Option<&CStr>,
    target: &CStr,
    fstype: Option<&CStr>,
    flags: libc::c_ulong,
) -> Result<(), Errno> {
    let ptr = |c: Option<&CStr>| c.map_or(std::ptr::null(), CStr::as_ptr);
    // SAFETY: NUL-terminated strings or NULL, as mount(2) allows for these flags.
    check(unsafe {
        libc::mount(
            ptr(source),
            target.as_ptr(),
            ptr(fstype),
            flags,
            std::ptr::null(),
        )
    })
    .map(drop)
}

/// Fork-safe.
pub fn umount_detach(target: &CStr) -> Result<(), Errno> {
    // SAFETY: a NUL-terminated path.
    check(unsafe { libc::umount2(target.as_ptr(), libc::MNT_DETACH) }).map(drop)
}

/// Fork-safe.
pub fn personality(persona: libc::c_ulong) -> Result<(), Errno> {
    // SAFETY: personality takes a plain integer.
    check(unsafe { libc::personality(persona) }).map(drop)
}

/// Fork-safe: set both limits of `resource` for this process.
pub fn setrlimit_raw(resource: i32, soft: u64, hard: u64) -> Result<(), Errno> {
    let lim = libc::rlimit64 {
        rlim_cur: soft,
        rlim_max: hard,
    };
    // SAFETY: pid 0 is the caller; lim is valid; no old-limit out-pointer.
    check(unsafe {
        libc::prlimit64(
            0,
            resource as libc::__rlimit_resource_t,
            &lim,
            std::ptr::null_mut(),
        )
    })
    .map(drop)
}

/// Fork-safe: a prctl that takes one integer argument.
pub fn prctl1(option: i32, arg: u64) -> Result<(), Errno> {
    // SAFETY: the options used take one integer and ignore the rest.
    check(unsafe { libc::prctl(option, arg, 0u64, 0u64, 0u64) }).map(drop)
}

/// Fork-safe: drop every supplementary group.
pub fn drop_groups() -> Result<(), Errno> {
    // SAFETY: an empty list.
    check(unsafe { libc::setgroups(0, std::ptr::null()) }).map(drop)
}

/// Fork-safe.
pub fn setresgid_raw(gid: u32) -> Result<(), Errno> {
    // SAFETY: plain integers.
    check(unsafe { libc::setresgid(gid, gid, gid) }).map(drop)
}

/// Fork-safe.
pub fn setresuid_raw(uid: u32) -> Result<(), Errno> {
    // SAFETY: plain integers.
    check(unsafe { libc::setresuid(uid, uid, uid) }).map(drop)
}

/// Fork-safe.
pub fn fchown_raw(fd: RawFd, uid: u32, gid: u32) -> Result<(), Errno> {
    // SAFETY: a plain fd and ids.
    check(unsafe { libc::fchown(fd, uid, gid) }).map(drop)
}

/// Fork-safe.
pub fn setsid_raw() -> Result<(), Errno> {
    // SAFETY: no arguments.
    check(unsafe { libc::setsid() }).map(drop)
}

/// Fork-safe: make `fd` the controlling terminal of this session leader.
pub fn set_ctty(fd: RawFd) -> Result<(), Errno> {
    // SAFETY: TIOCSCTTY takes an int argument.
    check(unsafe { libc::ioctl(fd, libc::TIOCSCTTY, 0) }).map(drop)
}

/// Fork-safe.
pub fn dup2_raw(old: RawFd, new: RawFd) -> Result<(), Errno> {
    // SAFETY: plain fd numbers.
    check(unsafe { libc::dup2(old, new) }).map(drop)
}

/// Fork-safe: a close-on-exec duplicate of `fd` numbered `min` or above.
pub fn dup_above(fd: RawFd, min: RawFd) -> Result<RawFd, Errno> {
    // SAFETY: F_DUPFD_CLOEXEC takes an int argument.
    check(unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, min) })
}

/// Fork-safe: clear FD_CLOEXEC, so `fd` survives exec (the command's stdio).
pub fn clear_cloexec(fd: RawFd) -> Result<(), Errno> {
    // SAFETY: F_SETFD with no flags.
    check(unsafe { libc::fcntl(fd, libc::F_SETFD, 0) }).map(drop)
}

/// Fork-safe: mark every fd from `first` up close-on-exec.
pub fn cloexec_from(first: u32) -> Result<(), Errno> {
    // SAFETY: CLOSE_RANGE_CLOEXEC only sets a flag on fds.
    check(unsafe { libc::close_range(first, u32::MAX, libc::CLOSE_RANGE_CLOEXEC as i32) }).map(drop)
}

/// Fork-safe: close every fd from `first` up.
pub fn close_from(first: u32) {
    // SAFETY: closes fds of a forked helper that owns nothing above `first` it still needs.
    unsafe { libc::close_range(first, u32::MAX, 0) };
}

/// Fork-safe: plain fork(2) through the C library, so its per-thread data stays right in
/// the child.
pub fn fork_raw() -> Result<libc::pid_t, Errno> {
    // SAFETY: only called in the single-threaded attach helper.
    check(unsafe { libc::fork() })
}

/// Fork-safe: a pidfd for our own child (it cannot be reaped behind our back).
pub fn pidfd_open_raw(pid: libc::pid_t) -> Result<RawFd, Errno> {
    // SAFETY: pidfd_open takes a pid and flags.
    let r = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if r < 0 {
        Err(errno())
    } else {
        Ok(r as RawFd)
    }
}

/// Fork-safe: wait for child `pid`; returns the raw wait status.
pub fn waitpid_raw(pid: libc::pid_t) -> Result<i32, Errno> {
    let mut status = 0;
    loop {
        // SAFETY: a valid status out-pointer.
        let r = unsafe { libc::waitpid(pid, &mut status, 0) };
        if r < 0 {
            let e = errno();
            if e == libc::EINTR {
                continue;
            }
            return Err(e);
        }
        return Ok(status);
    }
}

/// Fork-safe: set the disposition of `sig` to default or ignore.
pub fn set_signal(sig: i32, ignore: bool) {
    let h = if ignore { libc::SIG_IGN } else { libc::SIG_DFL };
    // SAFETY: setting SIG_DFL/SIG_IGN is always valid.
    unsafe { libc::signal(sig, h) };
}

/// Fork-safe: every signal back to its default action and none blocked, as a freshly
/// started program expects (a Rust caller ignores SIGPIPE, for one).
pub fn reset_signals() {
    crate::sys::reset_signal_handlers();
    // SAFETY: sigset_t is plain data, initialised by sigemptyset.
    let mut set: libc::sigset_t = unsafe { std::mem::zeroed() };
    // SAFETY: valid sigset pointers.
    unsafe {
        libc::sigemptyset(&mut set);
        libc::sigprocmask(libc::SIG_SETMASK, &set, std::ptr::null_mut());
    }
}

/// Fork-safe: die of `sig` as the attached process did; `_exit(128 + sig)` when the signal
/// does not end the process.
pub fn die_of(sig: i32) -> ! {
    // No core file of the helper: the attached process has dumped its own, if any.
    let _ = setrlimit_raw(libc::RLIMIT_CORE as i32, 0, 0);
    set_signal(sig, false);
    // SAFETY: sigset_t is plain data, initialised by sigemptyset.
    let mut set: libc::sigset_t = unsafe { std::mem::zeroed() };
    // SAFETY: valid sigset pointers; kill on our own pid.
    unsafe {
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, sig);
        libc::sigprocmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut());
        libc::kill(libc::getpid(), sig);
    }
    crate::sys::exit_now(128 + sig)
}

/// Fork-safe: execve with prepared NULL-terminated pointer arrays; returns the errno.
pub fn execve_raw(
    path: &CStr,
    argv: &[*const libc::c_char],
    envp: &[*const libc::c_char],
) -> Errno {
    // SAFETY: argv and envp are NULL-terminated arrays of pointers into C strings that the
    // caller keeps alive; execve only returns on failure.
    unsafe { libc::execve(path.as_ptr(), argv.as_ptr(), envp.as_ptr()) };
    errno()
}

/// Fork-safe: make `envp` (NULL-terminated, kept alive by the caller until exit) the C
/// library's environment, as LXC's setenv calls in the attached process do.
pub fn set_environ(envp: &[*const libc::c_char]) {
    // SAFETY: only in the single-threaded attached process, which never returns to code
    // that could hold on to the old array; `envp` outlives every later getenv.
    unsafe { libc::environ = envp.as_ptr() as *mut *mut libc::c_char };
}

/// Fork-safe: open a new pty pair on the devpts behind `ptmx`: the master and the peer,
/// both close-on-exec; the peer is opened through the master (TIOCGPTPEER), not by a path
/// that the container could swap.
pub fn open_pty_pair(ptmx: &CStr) -> Result<(RawFd, RawFd), Errno> {
    let master = open_rdwr(ptmx)?;
    let unlock: libc::c_int = 0;
    // SAFETY: TIOCSPTLCK takes a pointer to an int.
    if unsafe { libc::ioctl(master, libc::TIOCSPTLCK, &unlock) } < 0 {
        let e = errno();
        close_raw(master);
        return Err(e);
    }
    // SAFETY: TIOCGPTPEER takes open flags and returns a new fd.
    let peer = unsafe {
        libc::ioctl(
            master,
            libc::TIOCGPTPEER,
            libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC,
        )
    };
    if peer < 0 {
        let e = errno();
        close_raw(master);
        return Err(e);
    }
    Ok((master, peer))
}

/// Fork-safe: the window size of a terminal.
pub fn get_winsize(fd: RawFd) -> Option<libc::winsize> {
    // SAFETY: winsize is plain data.
    let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
    // SAFETY: TIOCGWINSZ fills a winsize.
    let r = unsafe { libc::ioctl(fd, libc::TIOCGWINSZ, &mut ws) };
    (r == 0).then_some(ws)
}

/// Fork-safe.
pub fn set_winsize(fd: RawFd, ws: &libc::winsize) {
    // SAFETY: TIOCSWINSZ reads a winsize.
    unsafe { libc::ioctl(fd, libc::TIOCSWINSZ, ws as *const libc::winsize) };
}

pub fn isatty(fd: RawFd) -> bool {
    // SAFETY: isatty takes any fd number.
    unsafe { libc::isatty(fd) == 1 }
}

/// The fixed-size record the helper and the attached process send to the caller.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Record {
    pub kind: u32,
    pub step: u32,
    pub arg: i32,
    pub errno: i32,
}

const RECORD_LEN: usize = std::mem::size_of::<Record>();

impl Record {
    fn to_bytes(self) -> [u8; RECORD_LEN] {
        let mut b = [0u8; RECORD_LEN];
        b[0..4].copy_from_slice(&self.kind.to_ne_bytes());
        b[4..8].copy_from_slice(&self.step.to_ne_bytes());
        b[8..12].copy_from_slice(&self.arg.to_ne_bytes());
        b[12..16].copy_from_slice(&self.errno.to_ne_bytes());
        b
    }

    fn from_bytes(b: &[u8; RECORD_LEN]) -> Record {
        let word = |i: usize| [b[i], b[i + 1], b[i + 2], b[i + 3]];
        Record {
            kind: u32::from_ne_bytes(word(0)),
            step: u32::from_ne_bytes(word(4)),
            arg: i32::from_ne_bytes(word(8)),
            errno: i32::from_ne_bytes(word(12)),
        }
    }
}

/// Room for one SCM_RIGHTS fd, aligned for `cmsghdr`.
#[repr(C, align(8))]
struct CmsgBuf([u8; 64]);

/// Fork-safe: send one record on a seqpacket socket, with `fd` as SCM_RIGHTS if given.
pub fn send_record(sock: RawFd, rec: Record, fd: Option<RawFd>) -> Result<(), Errno> {
    let bytes = rec.to_bytes();
    let mut iov = libc::iovec {
        iov_base: bytes.as_ptr() as *mut libc::c_void,
        iov_len: bytes.len(),
    };
    let mut cbuf = CmsgBuf([0; 64]);
    // SAFETY: msghdr is plain data; all-zero is "no name, no control".
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    if let Some(fd) = fd {
        let fd_len = std::mem::size_of::<RawFd>() as u32;
        // SAFETY: CMSG_SPACE/CMSG_LEN are pure arithmetic.
        let (space, len) = unsafe { (libc::CMSG_SPACE(fd_len), libc::CMSG_LEN(fd_len)) };
        msg.msg_control = cbuf.0.as_mut_ptr().cast();
        msg.msg_controllen = space as usize;
        // SAFETY: the control buffer is aligned and large enough for one header plus an
        // int; CMSG_FIRSTHDR/CMSG_DATA point inside it.
        unsafe {
            let c = libc::CMSG_FIRSTHDR(&msg);
            (*c).cmsg_level = libc::SOL_SOCKET;
            (*c).cmsg_type = libc::SCM_RIGHTS;
            (*c).cmsg_len = len as usize;
            std::ptr::write_unaligned(libc::CMSG_DATA(c).cast::<RawFd>(), fd);
        }
    }
    loop {
        // SAFETY: msg points at live buffers; MSG_NOSIGNAL turns a gone peer into EPIPE.
        let r = unsafe { libc::sendmsg(sock, &msg, libc::MSG_NOSIGNAL) };
        if r < 0 {
            let e = errno();
            if e == libc::EINTR {
                continue;
            }
            return Err(e);
        }
        return Ok(());
    }
}

/// The caller's side: one record and the fd that came with it; `None` at end of stream
/// (every sender has closed its end, the attached process by exec'ing).
pub fn recv_record(sock: BorrowedFd<'_>) -> io::Result<Option<(Record, Option<OwnedFd>)>> {
    let mut bytes = [0u8; RECORD_LEN];
    let mut iov = libc::iovec {
        iov_base: bytes.as_mut_ptr().cast(),
        iov_len: bytes.len(),
    };
    let mut cbuf = CmsgBuf([0; 64]);
    // SAFETY: msghdr is plain data; all-zero is "no name, no control".
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = cbuf.0.as_mut_ptr().cast();
    msg.msg_controllen = cbuf.0.len();
    let n = loop {
        // SAFETY: msg points at live buffers of the sizes it states.
        let r = unsafe { libc::recvmsg(sock.as_raw_fd(), &mut msg, libc::MSG_CMSG_CLOEXEC) };
        if r < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        break r as usize;
    };
    let mut fds = Vec::new();
    // SAFETY: the kernel filled msg's control area; the CMSG_* macros walk it within
    // msg_controllen.
    unsafe {
        let mut c = libc::CMSG_FIRSTHDR(&msg);
        while !c.is_null() {
            if (*c).cmsg_level == libc::SOL_SOCKET && (*c).cmsg_type == libc::SCM_RIGHTS {
                let data = libc::CMSG_DATA(c).cast::<RawFd>();
                let count =
                    ((*c).cmsg_len - libc::CMSG_LEN(0) as usize) / std::mem::size_of::<RawFd>();
                for i in 0..count {
                    // The kernel installed this fd for us: we are its only owner.
                    fds.push(OwnedFd::from_raw_fd(std::ptr::read_unaligned(data.add(i))));
                }
            }
            c = libc::CMSG_NXTHDR(&msg, c);
        }
    }
    if n == 0 && fds.is_empty() {
        return Ok(None);
    }
    if n != RECORD_LEN {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("attach helper sent {n} bytes, expected {RECORD_LEN}"),
        ));
    }
    Ok(Some((Record::from_bytes(&bytes), fds.into_iter().next())))
}

/// The caller's terminal in raw mode while a pty session runs; restored on drop.
pub struct RawMode {
    fd: RawFd,
    saved: libc::termios,
}

impl RawMode {
    pub fn enter(fd: BorrowedFd<'_>) -> io::Result<RawMode> {
        // SAFETY: termios is plain data that tcgetattr fills.
        let mut t: libc::termios = unsafe { std::mem::zeroed() };
        // SAFETY: a valid fd and termios out-pointer.
        if unsafe { libc::tcgetattr(fd.as_raw_fd(), &mut t) } < 0 {
            return Err(io::Error::last_os_error());
        }
        let saved = t;
        // SAFETY: cfmakeraw edits the struct in place.
        unsafe { libc::cfmakeraw(&mut t) };
        t.c_cc[libc::VMIN] = 1;
        t.c_cc[libc::VTIME] = 0;
        // SAFETY: a valid fd and termios.
        if unsafe { libc::tcsetattr(fd.as_raw_fd(), libc::TCSAFLUSH, &t) } < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(RawMode {
            fd: fd.as_raw_fd(),
            saved,
        })
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        // SAFETY: the fd outlives the guard (it is the caller's stdin or a dup it holds).
        unsafe { libc::tcsetattr(self.fd, libc::TCSANOW, &self.saved) };
    }
}

/// SIGINT and SIGQUIT ignored while at least one guard lives, restored when the last one
/// goes: attaches waiting in several threads share one saved disposition.
pub struct IgnoreInterrupts(());

struct Saved {
    users: usize,
    old: Vec<(i32, libc::sigaction)>,
}

static SAVED: std::sync::Mutex<Saved> = std::sync::Mutex::new(Saved {
    users: 0,
    old: Vec::new(),
});

const INTERRUPTS: [i32; 2] = [libc::SIGINT, libc::SIGQUIT];

impl IgnoreInterrupts {
    pub fn new() -> IgnoreInterrupts {
        let mut saved = SAVED.lock().unwrap_or_else(|p| p.into_inner());
        if saved.users == 0 {
            saved.old.clear();
            for sig in INTERRUPTS {
                // SAFETY: sigaction is plain data.
                let mut new: libc::sigaction = unsafe { std::mem::zeroed() };
                new.sa_sigaction = libc::SIG_IGN;
                // SAFETY: sigaction is plain data.
                let mut old: libc::sigaction = unsafe { std::mem::zeroed() };
                // SAFETY: valid sigaction pointers.
                if unsafe { libc::sigaction(sig, &new, &mut old) } == 0 {
                    saved.old.push((sig, old));
                }
            }
        }
        saved.users += 1;
        IgnoreInterrupts(())
    }
}

impl Drop for IgnoreInterrupts {
    fn drop(&mut self) {
        let mut saved = SAVED.lock().unwrap_or_else(|p| p.into_inner());
        saved.users -= 1;
        if saved.users == 0 {
            for (sig, old) in saved.old.drain(..) {
                // SAFETY: restoring the disposition saved when the first guard was made.
                unsafe { libc::sigaction(sig, &old, std::ptr::null_mut()) };
            }
        }
    }
}

pub fn set_nonblocking(fd: RawFd) -> io::Result<()> {
    // SAFETY: F_GETFL/F_SETFL on an fd we hold.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    if flags < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: as above.
    if unsafe { libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// The core's raw-fd wrappers, usable between fork and exec (no allocation).
pub use crate::sys::{poll, read_some, write_some};
