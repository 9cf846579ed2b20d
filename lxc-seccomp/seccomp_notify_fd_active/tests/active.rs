//! `seccomp_notify_fd_active` on a real busybox container with a notify policy and no proxy:
//! init's rcS calls `mknod` and waits; this process (not the monitor's) gets the listener from
//! the monitor, reads the notification, reads the path through /proc/PID/mem and answers it;
//! rcS goes on with the answer. Without a proxy an attach is refused, as LXC's; a stopped
//! container has no listener to give.
//!
//! No libtest harness: `Container::start` forks the monitor from this process, which must
//! have one thread.

use lxc_cgroup as _;
use lxc_console as _;
use lxc_ext_seccomp_allow_deny_syntax as _;
use lxc_mount as _;

#[path = "../../../lxc-core/tests/common/mod.rs"]
mod common;
#[path = "../../seccomp_notify/tests/support/mod.rs"]
mod support;

use std::os::fd::AsFd;
use std::time::Duration;

use lxc_core::{StartMode, StartOptions};
use lxc_ext_seccomp_notify::sys;
use lxc_ext_seccomp_notify_fd_active::seccomp_notify_fd_active;
use support::Tally;

/// Wait for a notification on `fd`, check it, answer success: the path it was about.
fn answer_one(fd: std::os::fd::BorrowedFd<'_>) -> Result<String, String> {
    let sizes = sys::notif_sizes().map_err(|e| e.to_string())?;
    let mut pfd = [nix::poll::PollFd::new(fd, nix::poll::PollFlags::POLLIN)];
    let n = nix::poll::poll(&mut pfd, nix::poll::PollTimeout::from(10_000u16))
        .map_err(|e| e.to_string())?;
    if n == 0 {
        return Err("no notification within 10 s".into());
    }
    let n_notif = usize::from(sizes.seccomp_notif);
    let mut notif = vec![0u8; n_notif];
    sys::notif_recv(fd, &mut notif, n_notif).map_err(|e| format!("recv: {e}"))?;
    let id = u64::from_ne_bytes(notif[0..8].try_into().unwrap());
    let pid = u32::from_ne_bytes(notif[8..12].try_into().unwrap());
    let nr = i32::from_ne_bytes(notif[16..20].try_into().unwrap());
    if i64::from(nr) != libc::SYS_mknodat {
        return Err(format!("syscall {nr}, not mknodat"));
    }
    let addr = u64::from_ne_bytes(notif[40..48].try_into().unwrap());
    let mem = std::fs::File::open(format!("/proc/{pid}/mem")).map_err(|e| e.to_string())?;
    let mut buf = [0u8; 256];
    let got = nix::sys::uio::pread(&mem, &mut buf, addr as i64).map_err(|e| e.to_string())?;
    let end = buf[..got].iter().position(|&b| b == 0).unwrap_or(got);
    let path = String::from_utf8_lossy(&buf[..end]).into_owned();
    sys::notif_id_valid(fd, id).map_err(|e| format!("id valid: {e}"))?;
    let n_resp = usize::from(sizes.seccomp_notif_resp);
    let mut resp = vec![0u8; n_resp];
    resp[0..8].copy_from_slice(&id.to_ne_bytes());
    sys::notif_send(fd, &resp, n_resp).map_err(|e| format!("send: {e}"))?;
    Ok(path)
}

fn main() {
    if !support::is_root() {
        println!("SKIP active: starting containers needs root");
        println!("0 passed, 0 failed");
        return;
    }
    let mut t = Tally::default();
    let policy = support::policy_file("notify-active");
    let (c, lxcpath) = common::started_busybox(
        "notify-active",
        &[("lxc.seccomp.profile", policy.path_str())],
    );

    // Without a proxy nobody serves an attached process's listener: refused, as by LXC.
    let r = support::attach_sh(&c, "true");
    t.check(
        "attach_without_a_proxy_is_refused",
        matches!(&r, Err(e) if e.contains("lxc.seccomp.notify.proxy")),
        format!("{r:?}"),
    );

    // Init's rcS waits in mknod until someone answers.
    let rootfs = support::rootfs(&c);
    support::set_rcs(&c, "mknod /lxcrs-active c 1 3\necho rc=$? > /lxcrs-result");
    let started = c
        .stop_with(true, Some(Duration::from_secs(10)))
        .and_then(|()| {
            c.start(&StartOptions {
                mode: StartMode::Start,
                argv: Vec::new(),
                inherit_stdio: false,
                close_all_fds: false,
            })
        });
    let fd = started
        .map_err(|e| e.to_string())
        .and_then(|()| seccomp_notify_fd_active(&c).map_err(|e| e.to_string()));
    let answered = fd
        .as_ref()
        .map_err(Clone::clone)
        .and_then(|fd| answer_one(fd.as_fd()));
    t.check(
        "the_active_fd_serves_inits_notification",
        answered.as_deref() == Ok("/lxcrs-active"),
        format!("{answered:?}"),
    );
    let result = support::wait_file(&rootfs.join("lxcrs-result"), Duration::from_secs(10));
    t.check(
        "init_sees_the_answer",
        result.as_deref() == Some("rc=0\n") && !rootfs.join("lxcrs-active").exists(),
        format!("{result:?}"),
    );
    drop(fd);

    let _ = c.stop_with(true, Some(Duration::from_secs(10)));
    let r = seccomp_notify_fd_active(&c);
    t.check(
        "a_stopped_container_has_no_active_fd",
        matches!(&r, Err(lxc_core::Error::NotRunning { .. })),
        format!("{r:?}"),
    );

    support::remove(c, lxcpath);
    t.finish();
}
