//! What runs between fork and exec: the attach helper (forked from the caller, joins the
//! container's namespaces, forks the attached process into its pid namespace and passes on its
//! exit) and the attached process (cgroups, credentials, terminal, stdio, exec).
//!
//! The caller may have other threads, so nothing here allocates or takes a lock: everything is
//! prepared in [`Plan`] before the fork, failures travel to the caller as fixed-size
//! [`Record`]s, and the processes leave with `_exit`.

use std::ffi::CString;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};

use super::sys::{self, Errno, Record};
use crate::sys::exit_now;

/// What a record says.
pub mod kind {
    /// A step failed: `step`, `arg` (which one), `errno`.
    pub const FAILED: u32 = 1;
    /// The helper forked the attached process: `arg` is its pid; its pidfd comes along.
    pub const PID: u32 = 2;
    /// The attached process has a pty: `arg` 0 from the container's devpts (the master
    /// comes along), 1 the caller's host pty (`errno` says why the container's failed).
    pub const PTY: u32 = 3;
    /// The initial directory could not be entered (`errno`); the command runs in `/`.
    pub const CWD_FALLBACK: u32 = 4;
    /// exec failed with `errno`; the attached process exits 126, 127 or 255 as LXC's does.
    pub const EXEC_FAILED: u32 = 5;
}

crate::wire_enum! {
    /// Which step failed, for the caller's error message.
    pub enum Step {
        JoinCgroup = 1,
        Setns,
        ForkAttached,
        PidfdOpen,
        Personality,
        Prlimit,
        ProcWrite,
        DropCapability,
        Setgroups,
        SetupIds,
        NoNewPrivs,
        Terminal,
        Stdio,
        TargetGid,
        TargetUid,
        Cloexec,
        Report,
        /// A registered attach hook's apply step; `arg` is its index in the plan.
        Hook,
        /// `--remount-sys-proc`; `arg` is 0 for the unshare, 1 for /proc, 2 for /sys.
        RemountProcSys,
    }
}

impl Step {
    pub fn describe(self) -> &'static str {
        match self {
            Step::JoinCgroup => "attach: join the container's cgroup",
            Step::Setns => "attach: setns into the container's namespaces",
            Step::ForkAttached => "attach: fork the attached process",
            Step::PidfdOpen => "attach: pidfd_open of the attached process",
            Step::Personality => "attach: personality (lxc.arch)",
            Step::Prlimit => "attach: setrlimit (lxc.prlimit)",
            Step::ProcWrite => "attach: write lxc.proc.* setting",
            Step::DropCapability => "attach: drop bounding capability",
            Step::Setgroups => "attach: setgroups",
            Step::SetupIds => "attach: become root of the user namespace",
            Step::NoNewPrivs => "attach: PR_SET_NO_NEW_PRIVS (lxc.no_new_privs)",
            Step::Terminal => "attach: set up the pty",
            Step::Stdio => "attach: set up stdin/stdout/stderr",
            Step::TargetGid => "attach: setresgid",
            Step::TargetUid => "attach: setresuid",
            Step::Cloexec => "attach: mark fds close-on-exec",
            Step::Report => "attach: report to the caller",
            Step::Hook => "attach: a subsystem's attach step",
            Step::RemountProcSys => "attach: remount /proc and /sys (--remount-sys-proc)",
        }
    }
}

/// A NULL-terminated array of C strings, built before the fork.
pub struct CStrArray {
    /// The strings `ptrs` points into, kept alive with it.
    _strings: Vec<CString>,
    pub ptrs: Vec<*const libc::c_char>,
}

impl CStrArray {
    pub fn new(strings: Vec<CString>) -> CStrArray {
        let ptrs = strings
            .iter()
            .map(|s| s.as_ptr())
            .chain(std::iter::once(std::ptr::null()))
            .collect();
        CStrArray {
            _strings: strings,
            ptrs,
        }
    }
}

/// The command to exec.
pub struct ExecPlan {
    /// Paths to try in order: the command itself when it has a `/`, else each PATH entry.
    pub candidates: Vec<CString>,
    pub argv: CStrArray,
}

/// The pty the attached process gets.
pub struct PtyPlan {
    /// The container's `/dev/ptmx`, opened after joining its mount namespace.
    pub ptmx: CString,
    /// The peer of a host pty the caller opened, used when the container has no devpts.
    pub host_peer: OwnedFd,
    pub winsize: Option<libc::winsize>,
}

/// Everything the helper and the attached process do, prepared by the caller.
pub struct Plan {
    pub sock: OwnedFd,
    pub init_pidfd: OwnedFd,
    pub ns_flags: i32,
    /// The file each of the container's cgroups takes a process by (`tasks` in cgroup1,
    /// `cgroup.procs` in cgroup2), opened by the caller on the host.
    pub cgroup_procs: Vec<OwnedFd>,
    pub cwd: Option<CString>,
    /// Mount /proc and /sys afresh in a mount namespace of the attached process's own.
    pub remount_proc_sys: bool,
    pub personality: Option<libc::c_ulong>,
    pub prlimits: Vec<(i32, u64, u64)>,
    /// `lxc.proc.<name>`: /proc/self/<name> and the value.
    pub proc_writes: Vec<(CString, Vec<u8>)>,
    pub drop_caps: Vec<u32>,
    /// With the user namespace: the ids to switch to first (root of the namespace).
    pub setup_ids: Option<(u32, u32)>,
    pub uid: u32,
    pub gid: u32,
    pub no_new_privs: bool,
    /// Explicit stdin, stdout, stderr for the command (None: the caller's own).
    pub stdio: [Option<RawFd>; 3],
    pub pty: Option<PtyPlan>,
    /// The command's environment (the closure's too: it becomes `environ`).
    pub envp: CStrArray,
    pub exec: Option<ExecPlan>,
    /// What registered attach hooks prepared, applied in order in the attached process.
    pub hooks: Vec<super::PreparedHook>,
}

fn fail(sock: RawFd, step: Step, arg: i32, errno: Errno) -> ! {
    let _ = sys::send_record(
        sock,
        Record {
            kind: kind::FAILED,
            step: step as u32,
            arg,
            errno,
        },
        None,
    );
    exit_now(1)
}

/// The attach helper, right after the fork from the caller. Never returns.
pub fn helper(plan: &Plan, f: Option<super::AttachFn<'_>>) -> ! {
    let sock = plan.sock.as_raw_fd();
    // The caller waits for us, so wait for the attached process ourselves: no automatic
    // reaping, and the caller's ^C is for the attached process, not for us (as in LXC).
    sys::set_signal(libc::SIGCHLD, false);
    sys::set_signal(libc::SIGINT, true);
    sys::set_signal(libc::SIGQUIT, true);

    if plan.ns_flags != 0 {
        if let Err(e) = sys::setns_raw(plan.init_pidfd.as_raw_fd(), plan.ns_flags) {
            fail(sock, Step::Setns, plan.ns_flags, e);
        }
    }
    // Nothing of init's may reach the container.
    sys::close_raw(plan.init_pidfd.as_raw_fd());

    // setns into a mount namespace put us at its root; with the container's root and our
    // directory where it exists there, as LXC does, else `/`.
    if let Some(cwd) = &plan.cwd {
        if let Err(e) = sys::chdir_raw(cwd) {
            let _ = sys::send_record(
                sock,
                Record {
                    kind: kind::CWD_FALLBACK,
                    step: 0,
                    arg: 0,
                    errno: e,
                },
                None,
            );
            let _ = sys::chdir_raw(c"/");
        }
    }

    let pid = match sys::fork_raw() {
        Ok(0) => attached(plan, f),
        Ok(pid) => pid,
        Err(e) => fail(sock, Step::ForkAttached, 0, e),
    };
    match sys::pidfd_open_raw(pid) {
        Ok(pidfd) => {
            let rec = Record {
                kind: kind::PID,
                step: 0,
                arg: pid,
                errno: 0,
            };
            if let Err(e) = sys::send_record(sock, rec, Some(pidfd)) {
                fail(sock, Step::Report, 0, e);
            }
            sys::close_raw(pidfd);
        }
        Err(e) => fail(sock, Step::PidfdOpen, 0, e),
    }
    // The caller reads until every sender is gone: we are done talking. A host pty's peer
    // belongs to the attached process alone, so that its master sees the end; and whatever
    // else of the caller's we hold (pipes it reads to the end, say) is not ours to keep.
    sys::close_raw(sock);
    if let Some(p) = &plan.pty {
        sys::close_raw(p.host_peer.as_raw_fd());
    }
    for fd in &plan.cgroup_procs {
        sys::close_raw(fd.as_raw_fd());
    }
    sys::close_from(3);

    match sys::waitpid_raw(pid) {
        Ok(status) if libc::WIFEXITED(status) => exit_now(libc::WEXITSTATUS(status)),
        Ok(status) if libc::WIFSIGNALED(status) => sys::die_of(libc::WTERMSIG(status)),
        _ => exit_now(1),
    }
}

/// The attached process: already inside the container's pid namespace. Never returns.
fn attached(plan: &Plan, f: Option<super::AttachFn<'_>>) -> ! {
    let sock = plan.sock.as_raw_fd();
    sys::reset_signals();

    for (i, fd) in plan.cgroup_procs.iter().enumerate() {
        // "0" is the writer: this process, from the fds the caller opened on the host.
        if let Err(e) = sys::write_all_raw(fd.as_raw_fd(), b"0") {
            fail(sock, Step::JoinCgroup, i as i32, e);
        }
        sys::close_raw(fd.as_raw_fd());
    }

    // The terminal is opened first, with every privilege, inside the container's devpts.
    let mut pty_peer: Option<RawFd> = None;
    if let Some(p) = &plan.pty {
        let peer = match sys::open_pty_pair(&p.ptmx) {
            Ok((master, peer)) => {
                let rec = Record {
                    kind: kind::PTY,
                    step: 0,
                    arg: 0,
                    errno: 0,
                };
                if let Err(e) = sys::send_record(sock, rec, Some(master)) {
                    fail(sock, Step::Report, 0, e);
                }
                sys::close_raw(master);
                sys::close_raw(p.host_peer.as_raw_fd());
                peer
            }
            Err(e) => {
                let rec = Record {
                    kind: kind::PTY,
                    step: 0,
                    arg: 1,
                    errno: e,
                };
                if let Err(e) = sys::send_record(sock, rec, None) {
                    fail(sock, Step::Report, 0, e);
                }
                p.host_peer.as_raw_fd()
            }
        };
        if let Some(ws) = &p.winsize {
            sys::set_winsize(peer, ws);
        }
        pty_peer = Some(peer);
    }

    // After the fork into the pid namespace, so that the new /proc shows it (as LXC does).
    if plan.remount_proc_sys {
        if let Err((what, e)) = remount_proc_sys() {
            fail(sock, Step::RemountProcSys, what, e);
        }
    }
    if let Some(persona) = plan.personality {
        if let Err(e) = sys::personality(persona) {
            fail(sock, Step::Personality, 0, e);
        }
    }
    for (i, (res, soft, hard)) in plan.prlimits.iter().enumerate() {
        if let Err(e) = sys::setrlimit_raw(*res, *soft, *hard) {
            fail(sock, Step::Prlimit, i as i32, e);
        }
    }
    for (i, (path, value)) in plan.proc_writes.iter().enumerate() {
        let r = sys::open_wronly(path).and_then(|fd| {
            let r = sys::write_all_raw(fd, value);
            sys::close_raw(fd);
            r
        });
        if let Err(e) = r {
            fail(sock, Step::ProcWrite, i as i32, e);
        }
    }
    for cap in &plan.drop_caps {
        if let Err(e) = sys::prctl1(libc::PR_CAPBSET_DROP, *cap as u64) {
            fail(sock, Step::DropCapability, *cap as i32, e);
        }
    }

    if let Some(peer) = pty_peer {
        if let Err(e) = sys::setsid_raw().and_then(|()| sys::set_ctty(peer)) {
            fail(sock, Step::Terminal, 0, e);
        }
    }
    // A user namespace may forbid setgroups; LXC carries on then.
    if let Err(e) = sys::drop_groups() {
        if e != libc::EPERM {
            fail(sock, Step::Setgroups, 0, e);
        }
    }
    if let Some((uid, gid)) = plan.setup_ids {
        if let Err(e) = sys::setresgid_raw(gid).and_then(|()| sys::setresuid_raw(uid)) {
            fail(sock, Step::SetupIds, uid as i32, e);
        }
    }
    if plan.no_new_privs {
        if let Err(e) = sys::prctl1(libc::PR_SET_NO_NEW_PRIVS, 1) {
            fail(sock, Step::NoNewPrivs, 0, e);
        }
    }

    // Subsystems' steps (a seccomp filter): after capabilities and no_new_privs, before the
    // ids change, as in LXC; prepared before the fork, so nothing here allocates.
    for (i, (_, h)) in plan.hooks.iter().enumerate() {
        if let Err(e) = h.apply() {
            fail(sock, Step::Hook, i as i32, e);
        }
    }

    if let Err(e) = setup_stdio(plan, pty_peer) {
        fail(sock, Step::Stdio, 0, e);
    }
    if let Some(peer) = pty_peer {
        // The user the command runs as owns its terminal (the group stays devpts's).
        if plan.uid != 0 {
            let _ = sys::fchown_raw(0, plan.uid, u32::MAX);
        }
        sys::close_raw(peer);
    }

    let (cur_uid, cur_gid) = plan.setup_ids.unwrap_or((0, 0));
    if plan.gid != cur_gid || plan.setup_ids.is_none() {
        if let Err(e) = sys::setresgid_raw(plan.gid) {
            fail(sock, Step::TargetGid, plan.gid as i32, e);
        }
    }
    if plan.uid != cur_uid || plan.setup_ids.is_none() {
        if let Err(e) = sys::setresuid_raw(plan.uid) {
            fail(sock, Step::TargetUid, plan.uid as i32, e);
        }
    }

    match (&plan.exec, f) {
        (Some(exec), _) => {
            if let Err(e) = sys::cloexec_from(3) {
                fail(sock, Step::Cloexec, 0, e);
            }
            let e = exec_first(exec, &plan.envp);
            let _ = sys::send_record(
                sock,
                Record {
                    kind: kind::EXEC_FAILED,
                    step: 0,
                    arg: 0,
                    errno: e,
                },
                None,
            );
            // lxc_attach_run_command's codes.
            exit_now(match e {
                libc::ENOENT => 127,
                libc::ENOEXEC => 126,
                _ => 255,
            })
        }
        (None, Some(f)) => {
            sys::close_raw(sock);
            sys::set_environ(&plan.envp.ptrs);
            exit_now(f())
        }
        (None, None) => exit_now(1),
    }
}

/// LXC's `lxc_attach_remount_sys_proc`: a mount namespace of our own, cut from the
/// propagation of the one we copied (so the caller's /proc and /sys stay), /proc mounted
/// anew, /sys too when it was a mount point. The error says which step (0, 1, 2) failed.
fn remount_proc_sys() -> Result<(), (i32, Errno)> {
    sys::unshare_mount_ns().map_err(|e| (0, e))?;
    // LXC only does this on a shared root and goes on when it fails; on a root that is not
    // shared it changes nothing, so it is done always.
    let _ = sys::mount_raw(None, c"/", None, libc::MS_SLAVE | libc::MS_REC);
    sys::umount_detach(c"/proc").map_err(|e| (1, e))?;
    sys::mount_raw(Some(c"none"), c"/proc", Some(c"proc"), 0).map_err(|e| (1, e))?;
    match sys::umount_detach(c"/sys") {
        Ok(()) => sys::mount_raw(Some(c"none"), c"/sys", Some(c"sysfs"), 0).map_err(|e| (2, e)),
        // Not a mount point: left as it is.
        Err(libc::EINVAL) => Ok(()),
        Err(e) => Err((2, e)),
    }
}

/// Stdio of the command: the pty peer on all three, or the explicit fds, or what the caller
/// had; never close-on-exec.
fn setup_stdio(plan: &Plan, pty_peer: Option<RawFd>) -> Result<(), Errno> {
    if let Some(peer) = pty_peer {
        for target in 0..3 {
            sys::dup2_raw(peer, target)?;
        }
    } else {
        // Lift the explicit fds above 2 first, so that one sitting on 0-2 is not clobbered
        // before it is used.
        let mut lifted: [Option<RawFd>; 3] = [None; 3];
        for (i, fd) in plan.stdio.iter().enumerate() {
            if let Some(fd) = fd {
                lifted[i] = Some(sys::dup_above(*fd, 3)?);
            }
        }
        for (target, fd) in lifted.iter().enumerate() {
            if let Some(fd) = fd {
                sys::dup2_raw(*fd, target as RawFd)?;
                sys::close_raw(*fd);
            }
        }
    }
    for fd in 0..3 {
        // A closed stdio is the caller's choice; anything else must survive exec.
        match sys::clear_cloexec(fd) {
            Ok(()) | Err(libc::EBADF) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// execvp's search: the first candidate that execs; the error is EACCES if any candidate
/// was not executable, else the last one's.
fn exec_first(exec: &ExecPlan, envp: &CStrArray) -> Errno {
    let mut result = libc::ENOENT;
    let mut saw_eacces = false;
    for path in &exec.candidates {
        let e = sys::execve_raw(path, &exec.argv.ptrs, &envp.ptrs);
        match e {
            libc::EACCES => saw_eacces = true,
            libc::ENOENT | libc::ENOTDIR => {}
            other => {
                result = other;
                break;
            }
        }
    }
    if saw_eacces && result == libc::ENOENT {
        libc::EACCES
    } else {
        result
    }
}
