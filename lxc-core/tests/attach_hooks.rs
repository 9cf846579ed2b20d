//! The attach seam: a registered hook prepares before the fork and applies in the attached
//! process after the capabilities and no_new_privs, before the uid switch and exec; a failing
//! apply fails the attach with the hook's name. On a real busybox container.
//!
//! No libtest harness: `Container::start` forks the monitor from this process, which must
//! have no other threads.

use lxc_cgroup as _;
use lxc_console as _;
use lxc_mount as _;

mod common;

use std::fs;
use std::io::Read;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use lxc_core::attach::{self, AttachApply, AttachCtx, AttachOptions};
use lxc_core::linkme::distributed_slice;
use lxc_core::registry::{AttachHook, ATTACH_HOOKS};
use lxc_core::Error;

#[distributed_slice(ATTACH_HOOKS)]
#[linkme(crate = lxc_core::linkme)]
static HOOK: AttachHook = AttachHook {
    owner: "lxcrs-t-attach-hook",
    order: 0,
    prepare,
};

/// The read end of the pipe the last prepared apply writes to.
static READ_END: Mutex<Option<OwnedFd>> = Mutex::new(None);
/// Make the next apply fail.
static FAIL: AtomicBool = AtomicBool::new(false);

struct Report {
    wr: OwnedFd,
    fail: bool,
}

impl AttachApply for Report {
    fn apply(&self) -> Result<(), i32> {
        if self.fail {
            return Err(libc::EPERM);
        }
        // SAFETY: prctl with PR_GET_NO_NEW_PRIVS takes no pointers.
        let nnp = unsafe { libc::prctl(libc::PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) };
        // SAFETY: geteuid has no preconditions.
        let euid = unsafe { libc::geteuid() };
        let msg = [b'0' + nnp as u8, if euid == 0 { b'r' } else { b'u' }];
        // SAFETY: a valid fd and a 2-byte buffer.
        let n = unsafe { libc::write(self.wr.as_raw_fd(), msg.as_ptr().cast(), msg.len()) };
        if n == 2 {
            Ok(())
        } else {
            Err(libc::EIO)
        }
    }
}

fn prepare(ctx: &AttachCtx<'_>) -> Result<Option<Box<dyn AttachApply>>, Error> {
    assert!(ctx.init_pid > 0);
    let mut fds = [0; 2];
    // SAFETY: a valid 2-element out array.
    assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
    // SAFETY: both fds are fresh and ours.
    let (rd, wr) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    *READ_END.lock().unwrap() = Some(rd);
    Ok(Some(Box::new(Report {
        wr,
        fail: FAIL.load(Ordering::SeqCst),
    })))
}

fn attach_hooks_on_a_real_container() {
    let (c, lxcpath) = common::started_busybox("athook", &[("lxc.no_new_privs", "1")]);

    // As uid 1000: the hook runs with no_new_privs set and still as root; the command as 1000.
    let (rd, wr) = common::pipe();
    let opts = AttachOptions {
        uid: Some(1000),
        gid: Some(1000),
        stdout: Some(wr),
        ..Default::default()
    };
    let argv: Vec<String> = ["id", "-u"].iter().map(|s| s.to_string()).collect();
    let a = attach::attach_command(&c, &opts, &argv).unwrap();
    drop(opts);
    let mut out = String::new();
    fs::File::from(rd).read_to_string(&mut out).unwrap();
    assert_eq!(a.wait().unwrap(), 0);
    assert_eq!(out.trim(), "1000");
    let hook_rd = READ_END.lock().unwrap().take().unwrap();
    let mut seen = String::new();
    fs::File::from(hook_rd).read_to_string(&mut seen).unwrap();
    assert_eq!(
        seen, "1r",
        "no_new_privs=1 and still root when the hook applied"
    );

    // A failing apply fails the attach, naming the hook, and runs nothing.
    FAIL.store(true, Ordering::SeqCst);
    let argv: Vec<String> = ["true"].iter().map(|s| s.to_string()).collect();
    let e = attach::attach_command(&c, &AttachOptions::default(), &argv)
        .and_then(|a| a.wait())
        .unwrap_err();
    let msg = e.to_string();
    assert!(msg.contains("lxcrs-t-attach-hook"), "{msg}");
    assert_eq!(e.errno(), libc::EPERM, "{msg}");
    FAIL.store(false, Ordering::SeqCst);

    common::remove(c, lxcpath);
}

fn main() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        println!("attach_hooks: skipped: starting containers needs root");
        return;
    }
    attach_hooks_on_a_real_container();
    println!("attach_hooks: attach_hooks_on_a_real_container ok");
}
