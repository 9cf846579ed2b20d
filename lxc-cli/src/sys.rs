//! The raw kernel calls `checkconfig` makes to find out what this kernel offers. One safe
//! function per call; every probe that could change the host runs where it cannot: in a forked
//! child, or on a mount that is never attached (the link probes go through lxc-net's netlink
//! layer, in a network namespace of their own).
//! File descriptors are `OwnedFd` from the moment they exist, opened with CLOEXEC.

use std::fs::File;
use std::io::{self, Read};
use std::mem::size_of;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

use libc::{c_int, c_long, pid_t};

fn cvt(r: c_long) -> io::Result<c_long> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

/// Take ownership of a descriptor a syscall returned.
fn owned(r: c_long) -> io::Result<OwnedFd> {
    let fd = cvt(r)? as RawFd;
    // SAFETY: `fd` was just returned by the kernel, is open, and nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Wait for our own child `pid` and return its exit status (or 128+signal).
fn wait_child(pid: pid_t) -> io::Result<c_int> {
    let mut status: c_int = 0;
    loop {
        // SAFETY: `pid` is a child this module forked; `status` is a valid out-pointer.
        let r = unsafe { libc::waitpid(pid, &mut status, 0) };
        if r >= 0 {
            break;
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
    Ok(if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        128 + libc::WTERMSIG(status)
    })
}

/// The errno of the last failed call, squeezed into an exit status (never 0).
fn errno_status() -> c_int {
    io::Error::last_os_error()
        .raw_os_error()
        .unwrap_or(255)
        .clamp(1, 255)
}

/// Try `unshare(flags)` in a forked child, so this process keeps its namespaces.
/// The outer error is the fork failing; the inner one is what `unshare` answered.
pub fn unshare_in_child(flags: c_int) -> io::Result<io::Result<()>> {
    // SAFETY: between fork and _exit the child calls only unshare(2) and reads errno, which are
    // async-signal-safe, so forking is sound even if this process had other threads.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(io::Error::last_os_error());
    }
    if pid == 0 {
        // SAFETY: plain syscalls in the child; _exit skips atexit handlers and stdio buffers
        // that belong to the parent.
        unsafe {
            let code = if libc::unshare(flags) == 0 {
                0
            } else {
                errno_status()
            };
            libc::_exit(code)
        }
    }
    match wait_child(pid)? {
        0 => Ok(Ok(())),
        code if code < 128 => Ok(Err(io::Error::from_raw_os_error(code))),
        code => Err(io::Error::other(format!(
            "probe child killed by signal {}",
            code - 128
        ))),
    }
}

/// A forked child parked in a user namespace of its own; killed and reaped on drop.
struct ParkedChild(pid_t);

impl Drop for ParkedChild {
    fn drop(&mut self) {
        // SAFETY: self.0 is our own child, not yet reaped, so the pid cannot have been reused.
        unsafe { libc::kill(self.0, libc::SIGKILL) };
        let _ = wait_child(self.0);
    }
}

/// A user namespace whose uid and gid maps are `map` (uid_map syntax), as an fd: a child
/// unshares it, we write its maps as root, open `/proc/<pid>/ns/user`, then end the child.
pub fn userns_with_map(map: &str) -> io::Result<OwnedFd> {
    let mut fds = [0 as c_int; 2];
    // SAFETY: `fds` has room for the two descriptors pipe2 writes.
    cvt(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } as c_long)?;
    // SAFETY: pipe2 succeeded, so both descriptors are open and owned by nobody else.
    let (rd, wr) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };

    // SAFETY: the child calls only unshare(2), write(2) and pause(2), all async-signal-safe.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(io::Error::last_os_error());
    }
    if pid == 0 {
        // SAFETY: plain syscalls on a descriptor the child inherited; the child never returns
        // (it waits for SIGKILL from the parent, or exits if it could not unshare).
        unsafe {
            let status: u8 = if libc::unshare(libc::CLONE_NEWUSER) == 0 {
                0
            } else {
                errno_status() as u8
            };
            libc::write(wr.as_raw_fd(), (&status as *const u8).cast(), 1);
            if status != 0 {
                libc::_exit(1);
            }
            loop {
                libc::pause();
            }
        }
    }
    let child = ParkedChild(pid);
    drop(wr);
    let mut status = [0u8; 1];
    let n = File::from(rd).read(&mut status)?;
    if n != 1 {
        return Err(io::Error::other("user namespace child exited early"));
    }
    if status[0] != 0 {
        return Err(io::Error::from_raw_os_error(status[0] as i32));
    }
    for file in ["uid_map", "gid_map"] {
        let path = format!("/proc/{}/{file}", child.0);
        std::fs::write(&path, map).map_err(|e| io::Error::new(e.kind(), format!("{path}: {e}")))?;
    }
    let ns = File::open(format!("/proc/{}/ns/user", child.0))?;
    Ok(OwnedFd::from(ns))
}

/// A fresh tmpfs as a detached mount (fsopen + fsmount): it is in no mount table, and it is
/// gone when the fd is closed.
pub fn detached_tmpfs() -> io::Result<OwnedFd> {
    use lxc::mount::sys;
    let fs = sys::fsopen(c"tmpfs")?;
    sys::fsconfig_create(fs.as_fd())?;
    sys::fsmount(fs.as_fd(), 0)
}

/// Make the detached mount `mnt` idmapped through the user namespace `userns`.
pub fn mount_setattr_idmap(mnt: BorrowedFd<'_>, userns: BorrowedFd<'_>) -> io::Result<()> {
    use lxc::mount::sys;
    let none = nix::mount::MsFlags::empty();
    sys::mount_setattr_userns(mnt, false, sys::attr::IDMAP, 0, none, Some(userns))
}

/// `pidfd_open(getpid(), 0)`.
pub fn pidfd_open_self() -> io::Result<OwnedFd> {
    // SAFETY: getpid has no preconditions; pidfd_open takes a pid and flags, no pointers.
    owned(unsafe { libc::syscall(libc::SYS_pidfd_open, libc::getpid(), 0) })
}

/// `struct bpf_insn`: opcode, dst/src registers in one byte, offset, immediate.
#[repr(C)]
struct BpfInsn {
    code: u8,
    regs: u8,
    off: i16,
    imm: i32,
}

/// The head of `union bpf_attr` used by BPF_PROG_LOAD, up to `expected_attach_type`.
#[repr(C)]
struct BpfProgLoadAttr {
    prog_type: u32,
    insn_cnt: u32,
    insns: u64,
    license: u64,
    log_level: u32,
    log_size: u32,
    log_buf: u64,
    kern_version: u32,
    prog_flags: u32,
    prog_name: [u8; 16],
    prog_ifindex: u32,
    expected_attach_type: u32,
}

const BPF_PROG_LOAD: c_int = 5;
const BPF_PROG_TYPE_CGROUP_DEVICE: u32 = 15;

/// Load the cgroup device program `r0 = 1; exit` (allow everything) and return its fd.
/// Nothing is attached: closing the fd unloads it.
pub fn bpf_load_cgroup_device_allow_all() -> io::Result<OwnedFd> {
    let insns = [
        // BPF_ALU64 | BPF_MOV | BPF_K: r0 = 1
        BpfInsn {
            code: 0xb7,
            regs: 0,
            off: 0,
            imm: 1,
        },
        // BPF_JMP | BPF_EXIT
        BpfInsn {
            code: 0x95,
            regs: 0,
            off: 0,
            imm: 0,
        },
    ];
    let mut name = [0u8; 16];
    name[..9].copy_from_slice(b"lxcrs_chk");
    let attr = BpfProgLoadAttr {
        prog_type: BPF_PROG_TYPE_CGROUP_DEVICE,
        insn_cnt: insns.len() as u32,
        insns: insns.as_ptr() as u64,
        license: c"GPL".as_ptr() as u64,
        log_level: 0,
        log_size: 0,
        log_buf: 0,
        kern_version: 0,
        prog_flags: 0,
        prog_name: name,
        prog_ifindex: 0,
        expected_attach_type: 0,
    };
    // SAFETY: `attr` is a fully initialised prefix of bpf_attr of the size passed; the
    // instruction array and license string it points to live until the call returns.
    owned(unsafe {
        libc::syscall(
            libc::SYS_bpf,
            BPF_PROG_LOAD,
            &attr as *const BpfProgLoadAttr,
            size_of::<BpfProgLoadAttr>(),
        )
    })
}

/// Are we root (so that failures mean "missing", not "not allowed")?
pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// The terminal's width as lxc-ls finds it: TIOCGWINSZ on stdout, else stderr, else stdin;
/// 0 when none is a terminal (then lxc-ls puts each name on its own line).
pub fn term_width() -> usize {
    for fd in [libc::STDOUT_FILENO, libc::STDERR_FILENO, libc::STDIN_FILENO] {
        let mut ws = libc::winsize {
            ws_row: 0,
            ws_col: 0,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        // SAFETY: TIOCGWINSZ writes one `winsize` into the struct we own; a bad fd only fails.
        if unsafe { libc::ioctl(fd, libc::TIOCGWINSZ, &mut ws) } == 0 {
            return usize::from(ws.ws_col);
        }
    }
    0
}

/// A POSIX extended regular expression, as lxc-ls's FILTER (regcomp REG_EXTENDED|REG_NOSUB).
pub struct Regex(Box<libc::regex_t>);

impl Regex {
    /// None when the pattern does not compile (lxc-ls then skips every name).
    pub fn new(pattern: &str) -> Option<Regex> {
        let pattern = std::ffi::CString::new(pattern).ok()?;
        // SAFETY: regex_t is plain data that regcomp initialises; all zero is a valid start.
        let mut re: Box<libc::regex_t> = Box::new(unsafe { std::mem::zeroed() });
        // SAFETY: `re` points to a regex_t we own, `pattern` is NUL-terminated.
        let rc = unsafe {
            libc::regcomp(
                &mut *re,
                pattern.as_ptr(),
                libc::REG_EXTENDED | libc::REG_NOSUB,
            )
        };
        (rc == 0).then_some(Regex(re))
    }

    /// Whether `text` matches anywhere (regexec without anchors).
    pub fn is_match(&self, text: &str) -> bool {
        let Ok(text) = std::ffi::CString::new(text) else {
            return false;
        };
        // SAFETY: `self.0` was compiled by regcomp; with REG_NOSUB no match array is used.
        unsafe { libc::regexec(&*self.0, text.as_ptr(), 0, std::ptr::null_mut(), 0) == 0 }
    }
}

impl Drop for Regex {
    fn drop(&mut self) {
        // SAFETY: compiled by regcomp in `new` and freed only here.
        unsafe { libc::regfree(&mut *self.0) }
    }
}
