//! Programs in new namespaces, outside any container: what LXC's `lxc-unshare` and
//! `lxc-usernsexec` do (LXC 5.0.2, `tools/lxc_unshare.c`, `cmd/lxc_usernsexec.c`).
//!
//! Both make a child in the new namespaces, give it its id maps from this side
//! ([`crate::idmap`]), let it go on over a pipe, and wait for it. The child runs only
//! fork-safe work (the caller is single-threaded, as the `lxc-rs` tool is) before it execs.

use std::ffi::{CString, OsString};
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStringExt;
use std::path::Path;

use nix::mount::MsFlags;

use crate::error::{Error, Origin, Result};
use crate::idmap::{self, IdMap};
use crate::sys::{self, Exit, Forked};

/// How the `-s` list of `lxc-unshare` and `lxc-attach` names namespaces.
const EXPECTED_NAMESPACES: &str = "namespaces joined by `|`: MOUNT (or mnt), PID, UTSNAME (or \
                                   uts), IPC, USER, NETWORK (or net), cgroup, time";

fn sys_err(what: &'static str, op: &'static str) -> impl Fn(io::Error) -> Error {
    move |source| Error::Sys {
        name: what.to_string(),
        op,
        source,
    }
}

/// `lxc-unshare -s` / `lxc-attach -s`: an OR'd list of namespaces to clone flags, as LXC reads
/// it: `MOUNT`, `NETWORK` and `UTSNAME` (exactly so spelled, anywhere in the list) become
/// `mnt`, `net` and `uts`, then each `|`-separated name is taken in any case (`Pid`, `ipc`).
/// Empty names between `|` are skipped; an empty list is 0.
pub fn namespace_flags(list: &str) -> Result<i32> {
    let std_names = list
        .replace("MOUNT", "MNT")
        .replace("NETWORK", "NET")
        .replace("UTSNAME", "UTS");
    let mut flags = 0;
    for name in std_names.split('|').filter(|n| !n.is_empty()) {
        flags |= crate::keys::parse::namespace_flag(name).ok_or_else(|| Error::InvalidValue {
            key: "namespaces".into(),
            value: list.into(),
            origin: Origin::api(),
            expected: format!("{EXPECTED_NAMESPACES}; {name:?} is none of them"),
        })?;
    }
    Ok(flags)
}

/// What `lxc-unshare` runs its command in.
#[derive(Debug, Clone, Default)]
pub struct UnshareOptions {
    /// CLONE_NEW* flags ([`namespace_flags`]).
    pub flags: i32,
    /// `-u`: become this uid; with a user namespace, the caller's uid is mapped to it.
    pub uid: Option<u32>,
    /// `-H`: the hostname in the new uts namespace.
    pub hostname: Option<String>,
    /// `-M`: fresh /proc, /dev/shm and /dev/mqueue in the new mount namespace.
    pub remount: bool,
}

/// A child started in new namespaces.
#[derive(Debug)]
pub struct Child {
    pub pid: i32,
    pub pidfd: OwnedFd,
}

impl Child {
    /// Wait for the child and reap it.
    pub fn wait(&self) -> Result<Exit> {
        loop {
            match sys::pidfd_wait(self.pidfd.as_fd(), false) {
                Ok(Some(exit)) => return Ok(exit),
                Ok(None) => continue,
                Err(e) => return Err(sys_err("wait", "waitid")(e)),
            }
        }
    }

    /// End a child whose setup failed, and reap it.
    fn kill(&self) {
        let _ = sys::pidfd_send_signal(self.pidfd.as_fd(), libc::SIGKILL);
        let _ = self.wait();
    }
}

/// The user `lxc-unshare -u` names: a uid in the password database (leading digits, as LXC's
/// `%u`), or a user name.
pub fn lookup_user(arg: &str) -> Result<u32> {
    let unknown = |why: &str| Error::InvalidValue {
        key: "user".into(),
        value: arg.into(),
        origin: Origin::api(),
        expected: format!("a user name or uid in the password database ({why})"),
    };
    let digits: String = arg.chars().take_while(char::is_ascii_digit).collect();
    let user = if digits.is_empty() {
        let name = arg
            .split_whitespace()
            .next()
            .ok_or_else(|| unknown("empty"))?;
        nix::unistd::User::from_name(name)
    } else {
        let uid = digits.parse::<u32>().map_err(|_| unknown("out of range"))?;
        nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid))
    };
    match user {
        Ok(Some(u)) => Ok(u.uid.as_raw()),
        Ok(None) => Err(unknown("no such user")),
        Err(e) => Err(unknown(&e.to_string())),
    }
}

/// The command as C strings; an empty one is refused (`expected` says what is wanted).
fn command(argv: &[OsString], expected: &str) -> Result<Vec<CString>> {
    if argv.is_empty() {
        return Err(Error::InvalidValue {
            key: "command".into(),
            value: String::new(),
            origin: Origin::api(),
            expected: expected.into(),
        });
    }
    argv.iter()
        .map(|a| {
            CString::new(a.clone().into_vec()).map_err(|_| Error::InvalidValue {
                key: "command".into(),
                value: a.to_string_lossy().into_owned(),
                origin: Origin::api(),
                expected: "an argument without NUL bytes".into(),
            })
        })
        .collect()
}

/// `lxc-unshare`: run `argv` in a child made with `opts.flags` (the child is pid 1 of a new
/// pid namespace). Returns once the child runs on its own; [`Child::wait`] for its end. A
/// failure on this side (the uid map) ends the child before returning the error.
pub fn unshare(opts: &UnshareOptions, argv: &[OsString]) -> Result<Child> {
    let args = command(argv, "a command to run in the new namespaces")?;
    let (go_rd, go_wr) = sys::pipe().map_err(sys_err("unshare", "pipe"))?;
    let flags = u64::try_from(opts.flags).unwrap_or(0);
    match sys::clone3_pidfd(flags).map_err(sys_err("unshare", "clone"))? {
        Forked::Child => {
            drop(go_wr);
            if opts.uid.is_some() {
                // Until the parent has written the uid map (or given up: EOF).
                let mut b = [0u8; 1];
                if !matches!(sys::read(go_rd.as_fd(), &mut b), Ok(1)) {
                    sys::exit_now(1);
                }
            }
            drop(go_rd);
            let e = unshare_child(opts, &args);
            tracing::error!("{e}");
            sys::exit_now(1)
        }
        Forked::Parent { pid, pidfd } => {
            drop(go_rd);
            let child = Child { pid, pidfd };
            if let Some(uid) = opts.uid {
                let map = IdMap {
                    uid: true,
                    nsid: uid.into(),
                    hostid: nix::unistd::getuid().as_raw().into(),
                    range: 1,
                };
                if let Err(e) = idmap::write_id_map(pid, true, &[&map]) {
                    child.kill();
                    return Err(e);
                }
                if let Err(e) = sys::write_all(go_wr.as_fd(), b"1") {
                    child.kill();
                    return Err(sys_err("unshare", "release the child")(e));
                }
            }
            Ok(child)
        }
    }
}

/// The child's side of [`unshare`]: returns only with the reason it could not exec.
fn unshare_child(opts: &UnshareOptions, args: &[CString]) -> Error {
    let fail = |op: &'static str, e: nix::Error| sys_err("unshare", op)(io::Error::from(e));
    if opts.flags & libc::CLONE_NEWNS != 0 {
        // Nothing mounted here may reach the caller's mount namespace.
        if let Err(e) = remount_root(MsFlags::MS_PRIVATE) {
            return fail("make / private", e);
        }
        if opts.remount {
            remount_default_fs();
        }
    }
    if opts.flags & libc::CLONE_NEWUTS != 0 {
        if let Some(h) = &opts.hostname {
            if let Err(e) = nix::unistd::sethostname(h) {
                return fail("sethostname", e);
            }
        }
    }
    // Useful without a user namespace too: a plain setuid.
    if let Some(uid) = opts.uid {
        if let Err(e) = nix::unistd::setuid(nix::unistd::Uid::from_raw(uid)) {
            return fail("setuid", e);
        }
    }
    exec(args)
}

/// Change the propagation of every mount from / down (`propagation`: MS_PRIVATE, MS_SLAVE).
fn remount_root(propagation: MsFlags) -> nix::Result<()> {
    nix::mount::mount(
        None::<&str>,
        "/",
        None::<&str>,
        propagation | MsFlags::MS_REC,
        None::<&str>,
    )
}

/// execvp; returns only with the reason it failed.
fn exec(args: &[CString]) -> Error {
    let e = nix::unistd::execvp(&args[0], args).unwrap_err();
    Error::Sys {
        name: args[0].to_string_lossy().into_owned(),
        op: "exec",
        source: io::Error::from(e),
    }
}

/// `-M`: /proc for the new pid namespace, a /dev/shm and a /dev/mqueue of its own. Each is
/// best effort, as in LXC (a read-only /dev, a kernel without mqueue).
fn remount_default_fs() {
    for (source, target, fstype, mode) in [
        ("proc", "/proc", "proc", None),
        ("shmfs", "/dev/shm", "tmpfs", Some(0o770)),
        ("mqueue", "/dev/mqueue", "mqueue", Some(0o660)),
    ] {
        if let Some(mode) = mode {
            if !Path::new(target).exists() {
                let _ = nix::unistd::mkdir(target, nix::sys::stat::Mode::from_bits_truncate(mode));
            }
        }
        let _ = nix::mount::umount2(target, nix::mount::MntFlags::MNT_DETACH);
        if let Err(e) = nix::mount::mount(
            Some(source),
            target,
            Some(fstype),
            MsFlags::empty(),
            None::<&str>,
        ) {
            tracing::info!(target, error = %e, "cannot mount {fstype}");
        }
    }
}

/// `lxc-usernsexec`: run `argv` as root of a new user namespace with `maps`, in a mount
/// namespace of its own. Returns the child; [`Child::wait`] for its end. A map that cannot
/// be written is reported on stderr and the child goes on (LXC's behaviour: it then fails to
/// become root in the namespace, and says so).
pub fn usernsexec(maps: &[IdMap], argv: &[OsString]) -> Result<Child> {
    let args = command(argv, "a command to run")?;
    let ttys = std::io::IsTerminal::is_terminal(&std::io::stdin())
        .then(|| [0, 1, 2].map(|fd| std::fs::read_link(format!("/proc/self/fd/{fd}")).ok()));
    let (ready_rd, ready_wr) = sys::pipe().map_err(sys_err("usernsexec", "pipe"))?;
    let (go_rd, go_wr) = sys::pipe().map_err(sys_err("usernsexec", "pipe"))?;
    match sys::clone3_pidfd(0).map_err(sys_err("usernsexec", "fork"))? {
        Forked::Child => {
            drop((ready_rd, go_wr));
            if let Some(ttys) = &ttys {
                reopen_ttys(ttys);
            }
            if let Err(e) = nix::sched::unshare(
                nix::sched::CloneFlags::CLONE_NEWUSER | nix::sched::CloneFlags::CLONE_NEWNS,
            ) {
                tracing::error!("unshare the user and mount namespaces: {e}");
                sys::exit_now(1);
            }
            let mut b = [0u8; 1];
            let released = sys::write_all(ready_wr.as_fd(), b"1").is_ok()
                && matches!(sys::read(go_rd.as_fd(), &mut b), Ok(1))
                && b[0] == b'1';
            if !released {
                tracing::error!("the parent did not map the user namespace");
                sys::exit_now(1);
            }
            drop((ready_wr, go_rd));
            let e = usernsexec_child(&args);
            tracing::error!("{e}");
            sys::exit_now(1)
        }
        Forked::Parent { pid, pidfd } => {
            drop((ready_wr, go_rd));
            let child = Child { pid, pidfd };
            let mut b = [0u8; 1];
            if !matches!(sys::read(ready_rd.as_fd(), &mut b), Ok(1)) {
                // It said why on stderr; its exit is the answer.
                return Ok(child);
            }
            if let Err(e) = idmap::map_ids(pid, maps) {
                tracing::error!("Failed to write id mapping for child process: {e}");
            }
            if let Err(e) = sys::write_all(go_wr.as_fd(), b"1") {
                child.kill();
                return Err(sys_err("usernsexec", "release the child")(e));
            }
            Ok(child)
        }
    }
}

/// The tty the caller's stdio was, opened again in the child (as lxc-usernsexec does).
fn reopen_ttys(ttys: &[Option<std::path::PathBuf>; 3]) {
    use std::os::fd::AsRawFd;
    for (fd, path) in ttys.iter().enumerate() {
        let Some(path) = path else { continue };
        if let Ok(f) = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
        {
            let _ = sys::dup2(f.as_raw_fd(), fd as i32);
        }
    }
}

/// The child's side of [`usernsexec`], once mapped: root in the namespace, a mount namespace
/// of its own (a dependent copy when / is shared), then the command.
fn usernsexec_child(args: &[CString]) -> Error {
    let fail = |op: &'static str, e: nix::Error| sys_err("usernsexec", op)(io::Error::from(e));
    match nix::unistd::setgroups(&[]) {
        Ok(()) | Err(nix::Error::EPERM) => {}
        Err(e) => return fail("drop supplementary groups", e),
    }
    let root_gid = nix::unistd::Gid::from_raw(0);
    let root_uid = nix::unistd::Uid::from_raw(0);
    if let Err(e) = nix::unistd::setresgid(root_gid, root_gid, root_gid) {
        return fail("become gid 0", e);
    }
    if let Err(e) = nix::unistd::setresuid(root_uid, root_uid, root_uid) {
        return fail("become uid 0", e);
    }
    if let Err(e) = nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNS) {
        return fail("unshare the mount namespace", e);
    }
    if root_is_shared() {
        if let Err(e) = remount_root(MsFlags::MS_SLAVE) {
            return fail("make / a dependent mount", e);
        }
    }
    exec(args)
}

/// LXC's `detect_shared_rootfs`: the mount at / is in a peer group (`shared:N`).
fn root_is_shared() -> bool {
    std::fs::read_to_string("/proc/self/mountinfo")
        .map(|s| {
            s.lines().any(|l| {
                let mut f = l.split(' ');
                f.nth(4) == Some("/")
                    && l.split(" - ")
                        .next()
                        .is_some_and(|a| a.contains(" shared:"))
            })
        })
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespace_lists_read_as_lxc_reads_them() {
        assert_eq!(
            namespace_flags("MOUNT|PID").unwrap(),
            libc::CLONE_NEWNS | libc::CLONE_NEWPID
        );
        assert_eq!(
            namespace_flags("UTSNAME||Net|ipc").unwrap(),
            libc::CLONE_NEWUTS | libc::CLONE_NEWNET | libc::CLONE_NEWIPC
        );
        assert_eq!(
            namespace_flags("Mnt|uts|").unwrap(),
            libc::CLONE_NEWNS | libc::CLONE_NEWUTS
        );
        assert_eq!(namespace_flags("|").unwrap(), 0);
        // Only the upper-case long names are rewritten, as in LXC.
        for bad in ["mount", "network", "MOUNTMOUNT", "BOGUS"] {
            assert!(namespace_flags(bad).is_err(), "{bad}");
        }
    }
}
