//! The core's raw kernel calls, one small safe wrapper each. Everything else in the crate goes
//! through these; file descriptors are `OwnedFd` from the moment they exist, opened CLOEXEC.

use std::ffi::{CStr, CString};
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};

fn cvt(ret: libc::c_int) -> io::Result<libc::c_int> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

fn cvt_long(ret: libc::c_long) -> io::Result<libc::c_long> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

/// What `clone3` returned in the calling process.
pub enum Forked {
    Parent { pid: i32, pidfd: OwnedFd },
    Child,
}

/// clone3 with CLONE_PIDFD and the given namespace flags, fork-like (no shared memory).
///
/// The child is a copy of this process: it must only run code that is safe after a fork (the
/// monitor is single-threaded when it calls this, so allocation and our own locks are fine).
pub fn clone3_pidfd(ns_flags: u64) -> io::Result<Forked> {
    clone3_pidfd_into(ns_flags, None)
}

/// [`clone3_pidfd`], the child born in the cgroup2 directory `cgroup` (CLONE_INTO_CGROUP) when
/// one is given.
pub fn clone3_pidfd_into(ns_flags: u64, cgroup: Option<BorrowedFd<'_>>) -> io::Result<Forked> {
    let mut pidfd: libc::c_int = -1;
    let mut args: libc::clone_args = {
        // SAFETY: clone_args is a plain C struct of integers; all-zero is its documented default.
        unsafe { std::mem::zeroed() }
    };
    args.flags = ns_flags | libc::CLONE_PIDFD as u64;
    args.pidfd = &mut pidfd as *mut libc::c_int as u64;
    args.exit_signal = libc::SIGCHLD as u64;
    if let Some(fd) = cgroup {
        args.flags |= CLONE_INTO_CGROUP;
        args.cgroup = fd.as_raw_fd() as u64;
    }
    // SAFETY: args is a valid clone_args of the size we pass; without CLONE_VM the child gets
    // its own copy of the address space, so the stack and `pidfd` stay valid in both.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_clone3,
            &mut args as *mut libc::clone_args,
            std::mem::size_of::<libc::clone_args>(),
        )
    };
    let pid = cvt_long(ret)? as i32;
    if pid == 0 {
        return Ok(Forked::Child);
    }
    // SAFETY: the kernel stored a new pidfd (CLOEXEC) we now own.
    let pidfd = unsafe { OwnedFd::from_raw_fd(pidfd) };
    Ok(Forked::Parent { pid, pidfd })
}

/// Not in every libc crate version's constants (linux/sched.h: 0x200000000ULL).
const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;

/// Give the heap's free pages back to the kernel (glibc's malloc_trim; elsewhere nothing):
/// a long-lived monitor keeps only what it uses, and a fork shares no dead pages.
pub fn trim_heap() {
    #[cfg(target_env = "gnu")]
    // SAFETY: malloc_trim takes a padding size and only releases memory malloc owns and has
    // free; it is thread-safe (it takes the arenas' locks).
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Plain fork(2), for daemonizing and the cleanup watchdog.
pub fn fork() -> io::Result<Option<i32>> {
    // SAFETY: callers only fork while single-threaded (the CLI and the monitor), so the child
    // cannot inherit a lock held by another thread.
    let pid = cvt(unsafe { libc::fork() })?;
    Ok((pid != 0).then_some(pid))
}

pub fn pidfd_open(pid: i32) -> io::Result<OwnedFd> {
    // SAFETY: pidfd_open takes a pid and flags and returns a new fd or -1.
    let fd = cvt_long(unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) })?;
    // SAFETY: fd is a fresh pidfd (always CLOEXEC) that we own.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

pub fn pidfd_send_signal(pidfd: BorrowedFd<'_>, sig: i32) -> io::Result<()> {
    // SAFETY: a valid pidfd, a signal number, no siginfo, no flags.
    cvt_long(unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            pidfd.as_raw_fd(),
            sig,
            std::ptr::null::<libc::siginfo_t>(),
            0,
        )
    })?;
    Ok(())
}

/// How a process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Code(i32),
    Signal(i32),
}

impl Exit {
    /// The shell's convention: the exit code, or 128 + the signal.
    pub fn status(self) -> i32 {
        match self {
            Exit::Code(c) => c,
            Exit::Signal(s) => 128 + s,
        }
    }
}

/// waitid(P_PIDFD): reap the process. With `nohang`, `Ok(None)` means it is still running.
pub fn pidfd_wait(pidfd: BorrowedFd<'_>, nohang: bool) -> io::Result<Option<Exit>> {
    // SAFETY: siginfo_t is plain data; zeroed is a valid "nothing yet" value.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    let mut flags = libc::WEXITED;
    if nohang {
        flags |= libc::WNOHANG;
    }
    loop {
        // SAFETY: P_PIDFD with a valid pidfd and a valid siginfo out-pointer.
        let ret = unsafe {
            libc::waitid(
                libc::P_PIDFD,
                pidfd.as_raw_fd() as libc::id_t,
                &mut info,
                flags,
            )
        };
        if ret < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        break;
    }
    // SAFETY: after a successful waitid the si_pid/si_status union members are valid.
    let (pid, status) = unsafe { (info.si_pid(), info.si_status()) };
    if pid == 0 {
        return Ok(None);
    }
    Ok(Some(match info.si_code {
        libc::CLD_EXITED => Exit::Code(status),
        _ => Exit::Signal(status),
    }))
}

/// waitpid for any child without blocking: used by the small init of `execute`.
pub fn wait_any(nohang: bool) -> io::Result<Option<(i32, Exit)>> {
    let mut status = 0;
    // SAFETY: waitpid with a valid status out-pointer.
    let pid = unsafe { libc::waitpid(-1, &mut status, if nohang { libc::WNOHANG } else { 0 }) };
    if pid < 0 {
        return Err(io::Error::last_os_error());
    }
    if pid == 0 {
        return Ok(None);
    }
    let exit = if libc::WIFEXITED(status) {
        Exit::Code(libc::WEXITSTATUS(status))
    } else {
        Exit::Signal(libc::WTERMSIG(status))
    };
    Ok(Some((pid, exit)))
}

pub fn kill(pid: i32, sig: i32) -> io::Result<()> {
    // SAFETY: kill takes plain integers; used only for processes we started (our app child).
    cvt(unsafe { libc::kill(pid, sig) }).map(drop)
}

/// A connected SOCK_SEQPACKET pair, both ends CLOEXEC: the start's sync channel.
pub fn seqpacket_pair() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: fds is a valid 2-element out array.
    cvt(unsafe {
        libc::socketpair(
            libc::AF_UNIX,
            libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC,
            0,
            fds.as_mut_ptr(),
        )
    })?;
    // SAFETY: both fds are fresh and ours.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// A pipe, both ends CLOEXEC.
pub fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: fds is a valid 2-element out array.
    cvt(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) })?;
    // SAFETY: both fds are fresh and ours.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

pub fn write_all(fd: BorrowedFd<'_>, mut buf: &[u8]) -> io::Result<()> {
    while !buf.is_empty() {
        let n = write_some(fd.as_raw_fd(), buf)?;
        buf = &buf[n..];
    }
    Ok(())
}

/// One write, retried on EINTR. On a raw fd, so it also serves code between fork and exec.
pub fn write_some(fd: RawFd, buf: &[u8]) -> io::Result<usize> {
    // SAFETY: buf is a valid readable slice.
    retry_eintr(|| unsafe { libc::write(fd, buf.as_ptr().cast(), buf.len()) } as i64)
}

/// Run a syscall again while it fails with EINTR; its non-negative result as a count.
fn retry_eintr(mut call: impl FnMut() -> i64) -> io::Result<usize> {
    loop {
        let n = call();
        if n >= 0 {
            return Ok(n as usize);
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

/// One read; `Ok(0)` is end of file (or, on a seqpacket socket, the peer closed).
pub fn read(fd: BorrowedFd<'_>, buf: &mut [u8]) -> io::Result<usize> {
    read_some(fd.as_raw_fd(), buf)
}

/// One read, retried on EINTR, on a raw fd.
pub fn read_some(fd: RawFd, buf: &mut [u8]) -> io::Result<usize> {
    // SAFETY: buf is a valid writable slice.
    retry_eintr(|| unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) } as i64)
}

/// poll(2) over prepared pollfds (an fd of -1 is skipped), retried on EINTR; how many are ready.
pub fn poll(fds: &mut [libc::pollfd], timeout_ms: i32) -> io::Result<usize> {
    // SAFETY: fds is a valid array of pollfd of the given length.
    retry_eintr(
        || unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, timeout_ms) } as i64,
    )
}

/// poll(2) on a set of fds for readability; returns which are readable (or hung up).
pub fn poll_readable(fds: &[BorrowedFd<'_>], timeout_ms: i32) -> io::Result<Vec<bool>> {
    let mut pfds: Vec<libc::pollfd> = fds
        .iter()
        .map(|fd| libc::pollfd {
            fd: fd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        })
        .collect();
    poll(&mut pfds, timeout_ms)?;
    Ok(pfds.iter().map(|p| p.revents != 0).collect())
}

pub fn setns(fd: BorrowedFd<'_>, nstype: i32) -> io::Result<()> {
    // SAFETY: a valid namespace fd and a CLONE_NEW* type (or 0).
    cvt(unsafe { libc::setns(fd.as_raw_fd(), nstype) }).map(drop)
}

pub fn unshare(flags: i32) -> io::Result<()> {
    // SAFETY: unshare takes flags only.
    cvt(unsafe { libc::unshare(flags) }).map(drop)
}

pub fn prctl(option: i32, arg2: u64) -> io::Result<()> {
    // SAFETY: the prctl options we use take one integer argument and ignore the rest.
    cvt(unsafe { libc::prctl(option, arg2, 0u64, 0u64, 0u64) }).map(drop)
}

pub fn setsid() -> io::Result<()> {
    // SAFETY: no arguments.
    cvt(unsafe { libc::setsid() }).map(drop)
}

/// `name` is a config value: its original bytes are set (see `config::bytes`).
pub fn sethostname(name: &str) -> io::Result<()> {
    let name = crate::config::bytes::encode(name);
    // SAFETY: a valid buffer and its length.
    cvt(unsafe { libc::sethostname(name.as_ptr().cast(), name.len()) }).map(drop)
}

pub fn setrlimit(resource: i32, soft: u64, hard: u64) -> io::Result<()> {
    let lim = libc::rlimit64 {
        rlim_cur: soft,
        rlim_max: hard,
    };
    // SAFETY: pid 0 is the caller; lim is a valid rlimit64, no old-limit out-pointer.
    cvt(unsafe {
        libc::prlimit64(
            0,
            resource as libc::__rlimit_resource_t,
            &lim,
            std::ptr::null_mut(),
        )
    })
    .map(drop)
}

pub fn setgroups(groups: &[u32]) -> io::Result<()> {
    // SAFETY: a valid array of gids and its length.
    cvt(unsafe { libc::setgroups(groups.len(), groups.as_ptr()) }).map(drop)
}

pub fn setresgid(gid: u32) -> io::Result<()> {
    // SAFETY: plain integers.
    cvt(unsafe { libc::setresgid(gid, gid, gid) }).map(drop)
}

pub fn setresuid(uid: u32) -> io::Result<()> {
    // SAFETY: plain integers.
    cvt(unsafe { libc::setresuid(uid, uid, uid) }).map(drop)
}

/// Mark every fd from `first` up as close-on-exec, so nothing the caller left open reaches
/// the container's init.
pub fn cloexec_from(first: u32) -> io::Result<()> {
    // SAFETY: close_range with CLOSE_RANGE_CLOEXEC only sets flags on fds.
    cvt(unsafe { libc::close_range(first, u32::MAX, libc::CLOSE_RANGE_CLOEXEC as i32) }).map(drop)
}

pub fn close_from(first: u32) -> io::Result<()> {
    // SAFETY: closes fds we no longer need in a freshly forked process.
    cvt(unsafe { libc::close_range(first, u32::MAX, 0) }).map(drop)
}

/// Close the fds `first..=last` (a freshly forked process closing what it inherited).
pub fn close_range(first: u32, last: u32) -> io::Result<()> {
    // SAFETY: only called where this process owns every fd in the range and nothing uses them.
    cvt(unsafe { libc::close_range(first, last, 0) }).map(drop)
}

/// Whether `fd` has close-on-exec; None when it is not open.
pub fn is_cloexec(fd: RawFd) -> Option<bool> {
    // SAFETY: F_GETFD only reads the fd's flags.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFD) };
    (flags >= 0).then_some(flags & libc::FD_CLOEXEC != 0)
}

/// Close an fd this process inherited and nothing in it owns.
pub fn close_raw(fd: RawFd) {
    // SAFETY: the caller checked the fd is an inherited one no Rust owner holds.
    unsafe { libc::close(fd) };
}

/// In a freshly forked helper: keep only `keep` above stdio, and /dev/null on 0-2.
pub fn keep_only(keep: &[RawFd]) -> io::Result<()> {
    let null = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")?;
    for fd in 0..3 {
        dup2(null.as_raw_fd(), fd)?;
    }
    drop(null);
    close_all_except(keep)
}

/// Close every fd above 2 but those in `keep`.
pub fn close_all_except(keep: &[RawFd]) -> io::Result<()> {
    let mut keep: Vec<u32> = keep.iter().filter(|&&f| f > 2).map(|&f| f as u32).collect();
    keep.sort_unstable();
    keep.dedup();
    let mut from: u32 = 3;
    for fd in keep {
        if fd > from {
            close_range(from, fd - 1)?;
        }
        from = fd + 1;
    }
    close_range(from, u32::MAX)
}

pub fn dup2(old: RawFd, new: RawFd) -> io::Result<()> {
    // SAFETY: plain fd numbers; dup2 onto 0/1/2 is how init gets its console.
    cvt(unsafe { libc::dup2(old, new) }).map(drop)
}

pub fn chdir(path: &Path) -> io::Result<()> {
    nix::unistd::chdir(path).map_err(io::Error::from)
}

/// execve; returns only on failure.
pub fn execve(path: &CStr, argv: &[CString], envp: &[CString]) -> io::Error {
    let mut a: Vec<*const libc::c_char> = argv.iter().map(|s| s.as_ptr()).collect();
    a.push(std::ptr::null());
    let mut e: Vec<*const libc::c_char> = envp.iter().map(|s| s.as_ptr()).collect();
    e.push(std::ptr::null());
    // SAFETY: NUL-terminated arrays of valid C strings that outlive the call.
    unsafe { libc::execve(path.as_ptr(), a.as_ptr(), e.as_ptr()) };
    io::Error::last_os_error()
}

/// execvpe-like: search PATH from `envp` for a bare command name.
pub fn execvpe(cmd: &str, argv: &[CString], envp: &[CString]) -> io::Error {
    if cmd.contains('/') {
        return match crate::config::bytes::to_cstring(cmd) {
            Ok(p) => execve(&p, argv, envp),
            Err(_) => io::Error::from(io::ErrorKind::InvalidInput),
        };
    }
    let path = envp
        .iter()
        .filter_map(|e| e.to_str().ok())
        .find_map(|e| e.strip_prefix("PATH="))
        .unwrap_or("/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
        .to_string();
    let mut last = io::Error::from(io::ErrorKind::NotFound);
    for dir in path.split(':') {
        let full = PathBuf::from(dir).join(crate::config::bytes::to_path(cmd));
        let Ok(c) = CString::new(full.as_os_str().as_encoded_bytes()) else {
            continue;
        };
        let e = execve(&c, argv, envp);
        if e.raw_os_error() != Some(libc::ENOENT) {
            last = e;
        }
    }
    last
}

/// posix_spawn `cmd` (searched in `envp`'s PATH like execvpe) with signal mask `mask` and
/// every signal at its default disposition. glibc spawns with CLONE_VM|CLONE_VFORK, so no page
/// tables are copied, and an exec failure comes back as the error. Returns the child's pid.
pub fn spawn(
    cmd: &str,
    argv: &[CString],
    envp: &[CString],
    mask: &libc::sigset_t,
) -> io::Result<i32> {
    let path: CString = if cmd.contains('/') {
        crate::config::bytes::to_cstring(cmd)
            .map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?
    } else {
        // Found here rather than by trying each PATH entry, so that failed attempts use no
        // pids (the command is pid 2 of its namespace, as with LXC's init).
        let path = envp
            .iter()
            .filter_map(|e| e.to_str().ok())
            .find_map(|e| e.strip_prefix("PATH="))
            .unwrap_or("/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
        path.split(':')
            .filter_map(|dir| crate::config::bytes::to_cstring(&format!("{dir}/{cmd}")).ok())
            // SAFETY: access takes a valid C string and a mode.
            .find(|p| unsafe { libc::access(p.as_ptr(), libc::X_OK) } == 0)
            .ok_or_else(|| io::Error::from_raw_os_error(libc::ENOENT))?
    };
    let mut a: Vec<*mut libc::c_char> = argv.iter().map(|s| s.as_ptr().cast_mut()).collect();
    a.push(std::ptr::null_mut());
    let mut e: Vec<*mut libc::c_char> = envp.iter().map(|s| s.as_ptr().cast_mut()).collect();
    e.push(std::ptr::null_mut());
    // SAFETY: posix_spawnattr_t is initialised by posix_spawnattr_init before any other use
    // and destroyed below.
    let mut attr: libc::posix_spawnattr_t = unsafe { std::mem::zeroed() };
    // SAFETY: a valid attr pointer.
    let r = unsafe { libc::posix_spawnattr_init(&mut attr) };
    if r != 0 {
        return Err(io::Error::from_raw_os_error(r));
    }
    // SAFETY: all-signals set for the defaults, initialised by sigfillset.
    let mut all: libc::sigset_t = unsafe { std::mem::zeroed() };
    // SAFETY: valid attr and sigset pointers.
    unsafe {
        libc::sigfillset(&mut all);
        libc::posix_spawnattr_setsigdefault(&mut attr, &all);
        libc::posix_spawnattr_setsigmask(&mut attr, mask);
        libc::posix_spawnattr_setflags(
            &mut attr,
            (libc::POSIX_SPAWN_SETSIGDEF | libc::POSIX_SPAWN_SETSIGMASK) as libc::c_short,
        );
    }
    let mut pid: libc::pid_t = 0;
    // SAFETY: valid path, attr, and NULL-terminated argv/envp arrays whose strings outlive the
    // call; no file actions.
    let r = unsafe {
        libc::posix_spawn(
            &mut pid,
            path.as_ptr(),
            std::ptr::null(),
            &attr,
            a.as_ptr(),
            e.as_ptr(),
        )
    };
    // SAFETY: attr was initialised above.
    unsafe { libc::posix_spawnattr_destroy(&mut attr) };
    match r {
        0 => Ok(pid),
        // glibc makes the child with clone3 and falls back to clone only on ENOSYS, so a
        // seccomp policy that refuses clone3 (LXC's init forks with clone) fails the spawn
        // itself: fork and exec instead. An exec refused with EPERM fails the same way again.
        libc::EPERM => fork_exec(&path, &a, &e, mask),
        r => Err(io::Error::from_raw_os_error(r)),
    }
}

/// fork (glibc's is a clone syscall) and exec `path`, signals at their defaults and mask
/// `mask` in the child; an exec failure comes back through a close-on-exec pipe.
fn fork_exec(
    path: &CStr,
    argv: &[*mut libc::c_char],
    envp: &[*mut libc::c_char],
    mask: &libc::sigset_t,
) -> io::Result<i32> {
    let (rd, wr) = pipe()?;
    // SAFETY: the caller (init) is single-threaded; the child only makes system calls on
    // memory prepared before the fork, then execs or exits.
    let pid = cvt(unsafe { libc::fork() })?;
    if pid == 0 {
        reset_signal_handlers();
        // SAFETY: valid mask, NUL-terminated argv/envp arrays of valid strings.
        let errno = unsafe {
            libc::sigprocmask(libc::SIG_SETMASK, mask, std::ptr::null_mut());
            libc::execve(path.as_ptr(), argv.as_ptr().cast(), envp.as_ptr().cast());
            *libc::__errno_location()
        };
        let b = errno.to_ne_bytes();
        // SAFETY: writing 4 bytes from a valid buffer to our pipe, then leaving at once.
        unsafe {
            libc::write(wr.as_raw_fd(), b.as_ptr().cast(), b.len());
            libc::_exit(127)
        }
    }
    drop(wr);
    let mut b = [0u8; 4];
    // SAFETY: reading into a valid 4-byte buffer; EOF (0) means the exec happened.
    let n = unsafe { libc::read(rd.as_raw_fd(), b.as_mut_ptr().cast(), b.len()) };
    if n == 4 {
        let mut status = 0;
        // SAFETY: reaping the child we just made, with a valid status pointer.
        unsafe { libc::waitpid(pid, &mut status, 0) };
        return Err(io::Error::from_raw_os_error(i32::from_ne_bytes(b)));
    }
    Ok(pid)
}

/// Block the signals init forwards (and SIGCHLD) so they are read with sigwaitinfo.
pub fn block_signals(sigs: &[i32]) -> io::Result<libc::sigset_t> {
    // SAFETY: sigset_t is plain data initialised by sigemptyset before use.
    let mut set: libc::sigset_t = unsafe { std::mem::zeroed() };
    // SAFETY: as above; sigprocmask fills it.
    let mut old: libc::sigset_t = unsafe { std::mem::zeroed() };
    // SAFETY: valid sigset pointers.
    unsafe {
        libc::sigemptyset(&mut set);
        for &s in sigs {
            libc::sigaddset(&mut set, s);
        }
    }
    // SAFETY: valid sigset pointers; single-threaded process.
    cvt(unsafe { libc::sigprocmask(libc::SIG_BLOCK, &set, &mut old) })?;
    Ok(old)
}

pub fn set_sigmask(set: &libc::sigset_t) -> io::Result<()> {
    // SAFETY: a valid sigset.
    cvt(unsafe { libc::sigprocmask(libc::SIG_SETMASK, set, std::ptr::null_mut()) }).map(drop)
}

/// Reset every signal disposition to the default, as a freshly exec'd init expects.
pub fn reset_signal_handlers() {
    for sig in 1..libc::SIGRTMAX() {
        if sig == libc::SIGKILL || sig == libc::SIGSTOP {
            continue;
        }
        // SAFETY: setting SIG_DFL is always valid; errors for invalid numbers are ignored.
        unsafe { libc::signal(sig, libc::SIG_DFL) };
    }
}

/// Wait for one of the blocked signals in `sigs`.
pub fn sigwait(sigs: &[i32]) -> io::Result<i32> {
    // SAFETY: as in block_signals.
    let mut set: libc::sigset_t = unsafe { std::mem::zeroed() };
    // SAFETY: valid sigset pointer.
    unsafe {
        libc::sigemptyset(&mut set);
        for &s in sigs {
            libc::sigaddset(&mut set, s);
        }
    }
    loop {
        // SAFETY: valid sigset; no siginfo wanted.
        let r = unsafe { libc::sigwaitinfo(&set, std::ptr::null_mut()) };
        if r < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        return Ok(r);
    }
}

/// Signals caught by [`catch_signals`] and not yet taken, one bit per signal number.
static CAUGHT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

extern "C" fn note_signal(sig: libc::c_int) {
    if (1..64).contains(&sig) {
        CAUGHT.fetch_or(1 << sig, std::sync::atomic::Ordering::Relaxed);
    }
}

/// Catch `sigs` with a handler that notes them (for [`take_caught`]) and unblock them, so
/// they interrupt a blocking wait: init's way when it cannot wait for signals with
/// sigwaitinfo (a seccomp policy refuses rt_sigtimedwait), as LXC's init always does.
pub fn catch_signals(sigs: &[i32]) -> io::Result<()> {
    // SAFETY: sigaction is plain data, filled below before use.
    let mut act: libc::sigaction = unsafe { std::mem::zeroed() };
    act.sa_sigaction = note_signal as extern "C" fn(libc::c_int) as usize;
    // SAFETY: a valid sigset inside `act`.
    unsafe { libc::sigfillset(&mut act.sa_mask) };
    for &sig in sigs {
        // SAFETY: a valid signal number and action; the handler only does an atomic OR.
        cvt(unsafe { libc::sigaction(sig, &act, std::ptr::null_mut()) })?;
    }
    // SAFETY: sigset_t is plain data initialised by sigemptyset before use.
    let mut set: libc::sigset_t = unsafe { std::mem::zeroed() };
    // SAFETY: valid sigset pointers.
    unsafe {
        libc::sigemptyset(&mut set);
        for &s in sigs {
            libc::sigaddset(&mut set, s);
        }
    }
    // SAFETY: valid sigset pointer; single-threaded process.
    cvt(unsafe { libc::sigprocmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut()) }).map(drop)
}

/// The signals caught since the last call, lowest first.
pub fn take_caught() -> Vec<i32> {
    let bits = CAUGHT.swap(0, std::sync::atomic::Ordering::Relaxed);
    (1..64).filter(|s| bits & (1 << s) != 0).collect()
}

/// Open a new pty pair: the master (CLOEXEC) and the peer's path.
pub fn openpty() -> io::Result<(OwnedFd, PathBuf)> {
    // SAFETY: posix_openpt returns a new fd or -1.
    let fd = cvt(unsafe { libc::posix_openpt(libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC) })?;
    // SAFETY: fd is fresh and ours.
    let master = unsafe { OwnedFd::from_raw_fd(fd) };
    // SAFETY: a valid master fd.
    cvt(unsafe { libc::grantpt(master.as_raw_fd()) })?;
    // SAFETY: a valid master fd.
    cvt(unsafe { libc::unlockpt(master.as_raw_fd()) })?;
    let mut buf = [0 as libc::c_char; 128];
    // SAFETY: buf is a valid buffer of the given length.
    let r = unsafe { libc::ptsname_r(master.as_raw_fd(), buf.as_mut_ptr(), buf.len()) };
    if r != 0 {
        return Err(io::Error::from_raw_os_error(r));
    }
    // SAFETY: ptsname_r NUL-terminated the buffer.
    let name = unsafe { CStr::from_ptr(buf.as_ptr()) };
    Ok((master, PathBuf::from(name.to_string_lossy().into_owned())))
}

/// Make `fd` the controlling terminal of this (session-leader) process.
pub fn set_controlling_tty(fd: RawFd) -> io::Result<()> {
    // SAFETY: TIOCSCTTY takes an int argument.
    cvt(unsafe { libc::ioctl(fd, libc::TIOCSCTTY, 0) }).map(drop)
}

/// Bring the loopback interface of the current network namespace up.
pub fn loopback_up() -> io::Result<()> {
    // SAFETY: a plain datagram socket for the interface ioctl.
    let s = cvt(unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) })?;
    // SAFETY: s is fresh and ours.
    let s = unsafe { OwnedFd::from_raw_fd(s) };
    // SAFETY: ifreq is plain data.
    let mut ifr: libc::ifreq = unsafe { std::mem::zeroed() };
    for (i, b) in b"lo\0".iter().enumerate() {
        ifr.ifr_name[i] = *b as libc::c_char;
    }
    // SAFETY: valid socket and ifreq.
    cvt(unsafe { libc::ioctl(s.as_raw_fd(), libc::SIOCGIFFLAGS, &mut ifr) })?;
    // SAFETY: reading and writing the flags member of the union we just filled.
    unsafe {
        ifr.ifr_ifru.ifru_flags |= (libc::IFF_UP | libc::IFF_RUNNING) as libc::c_short;
    }
    // SAFETY: valid socket and ifreq.
    cvt(unsafe { libc::ioctl(s.as_raw_fd(), libc::SIOCSIFFLAGS, &ifr) }).map(drop)
}

/// The number of threads of this process (forking is only safe with one).
pub fn thread_count() -> usize {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Threads:"))
                .and_then(|v| v.trim().parse().ok())
        })
        .unwrap_or(1)
}

/// `_exit(2)`: leave a forked child without running the parent's destructors or atexit.
pub fn exit_now(code: i32) -> ! {
    // SAFETY: _exit never returns and touches no user-space state.
    unsafe { libc::_exit(code) }
}

/// Capabilities: the bounding set drop and the effective/permitted/inheritable sets.
pub mod caps {
    use super::cvt;
    use std::io;

    #[repr(C)]
    struct Header {
        version: u32,
        pid: i32,
    }
    #[repr(C)]
    #[derive(Default, Clone, Copy)]
    struct Data {
        effective: u32,
        permitted: u32,
        inheritable: u32,
    }
    const VERSION_3: u32 = 0x2008_0522;

    /// The highest capability number this kernel knows.
    pub fn last_cap() -> u32 {
        std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(40)
    }

    pub fn drop_bounding(cap: u32) -> io::Result<()> {
        super::prctl(libc::PR_CAPBSET_DROP, cap as u64)
    }

    /// The calling process's permitted set.
    pub fn permitted() -> io::Result<u64> {
        let mut hdr = Header {
            version: VERSION_3,
            pid: 0,
        };
        let mut data = [Data::default(); 2];
        // SAFETY: a v3 header and room for two data structs, as capget(2) requires.
        cvt(unsafe {
            libc::syscall(libc::SYS_capget, &mut hdr as *mut Header, data.as_mut_ptr())
                as libc::c_int
        })?;
        Ok(data[0].permitted as u64 | ((data[1].permitted as u64) << 32))
    }

    /// Set effective = permitted = inheritable = `mask`.
    pub fn set(mask: u64) -> io::Result<()> {
        let mut hdr = Header {
            version: VERSION_3,
            pid: 0,
        };
        let lo = mask as u32;
        let hi = (mask >> 32) as u32;
        let data = [
            Data {
                effective: lo,
                permitted: lo,
                inheritable: lo,
            },
            Data {
                effective: hi,
                permitted: hi,
                inheritable: hi,
            },
        ];
        // SAFETY: a v3 header and two data structs, as capset(2) requires.
        cvt(unsafe {
            libc::syscall(libc::SYS_capset, &mut hdr as *mut Header, data.as_ptr()) as libc::c_int
        })
        .map(drop)
    }

    /// Raise `mask` into the ambient set so a non-root init keeps it across exec.
    pub fn raise_ambient(mask: u64) {
        for cap in 0..64u64 {
            if mask & (1 << cap) != 0 {
                // SAFETY: PR_CAP_AMBIENT_RAISE with a capability number; failure is harmless.
                unsafe {
                    libc::prctl(
                        libc::PR_CAP_AMBIENT,
                        libc::PR_CAP_AMBIENT_RAISE as u64,
                        cap,
                        0u64,
                        0u64,
                    )
                };
            }
        }
    }
}

/// A write lock on the whole of `fd`'s file, owned by its open file description (F_OFD_SETLKW
/// when `wait`, else F_OFD_SETLK), as LXC's container lock takes it. Waiting is retried on
/// EINTR. A lock held elsewhere makes the non-waiting form fail with EAGAIN or EACCES.
pub fn ofd_write_lock(fd: BorrowedFd<'_>, wait: bool) -> io::Result<()> {
    let cmd = if wait {
        libc::F_OFD_SETLKW
    } else {
        libc::F_OFD_SETLK
    };
    // SAFETY: flock is a plain C struct; all-zero with l_type set is "from offset 0 to the end".
    let mut lk: libc::flock = unsafe { std::mem::zeroed() };
    lk.l_type = libc::F_WRLCK as libc::c_short;
    lk.l_whence = libc::SEEK_SET as libc::c_short;
    // SAFETY: a valid fd and a pointer to a live, initialised flock struct.
    retry_eintr(|| unsafe { libc::fcntl(fd.as_raw_fd(), cmd, &mut lk as *mut libc::flock) } as i64)
        .map(drop)
}

/// flock(LOCK_EX), or LOCK_EX|LOCK_NB when not `wait`: LXC's fallback for kernels without OFD
/// locks.
pub fn flock_exclusive(fd: BorrowedFd<'_>, wait: bool) -> io::Result<()> {
    let op = if wait {
        libc::LOCK_EX
    } else {
        libc::LOCK_EX | libc::LOCK_NB
    };
    // SAFETY: flock takes an fd and an operation.
    retry_eintr(|| unsafe { libc::flock(fd.as_raw_fd(), op) } as i64).map(drop)
}

/// Give the unnamed file `fd` (opened with O_TMPFILE) the name `dst`: linkat with AT_EMPTY_PATH
/// (needs CAP_DAC_READ_SEARCH), else through /proc/self/fd (needs /proc).
pub fn link_tmpfile(fd: BorrowedFd<'_>, dst: &Path) -> io::Result<()> {
    let dst_c = cpath(dst)?;
    // SAFETY: a valid fd, an empty NUL-terminated path and a NUL-terminated destination.
    let direct = cvt(unsafe {
        libc::linkat(
            fd.as_raw_fd(),
            c"".as_ptr(),
            libc::AT_FDCWD,
            dst_c.as_ptr(),
            libc::AT_EMPTY_PATH,
        )
    });
    if direct.is_ok() {
        return Ok(());
    }
    let proc_path = CString::new(format!("/proc/self/fd/{}", fd.as_raw_fd()))
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    // SAFETY: both paths are valid NUL-terminated strings.
    cvt(unsafe {
        libc::linkat(
            libc::AT_FDCWD,
            proc_path.as_ptr(),
            libc::AT_FDCWD,
            dst_c.as_ptr(),
            libc::AT_SYMLINK_FOLLOW,
        )
    })
    .map(drop)
}

fn cpath(p: &Path) -> io::Result<CString> {
    use std::os::unix::ffi::OsStrExt;
    CString::new(p.as_os_str().as_bytes())
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))
}

/// Eight random bytes from the kernel (for unique temporary names).
pub fn random_u64() -> io::Result<u64> {
    let mut buf = [0u8; 8];
    let mut got = 0;
    while got < buf.len() {
        // SAFETY: the pointer and length describe the unfilled rest of `buf`.
        got += retry_eintr(|| unsafe {
            libc::getrandom(buf[got..].as_mut_ptr().cast(), buf.len() - got, 0)
        } as i64)?;
    }
    Ok(u64::from_ne_bytes(buf))
}
