//! With seccomp_proxy_send_notify_fd linked, the notify proxy gets the listener as the third
//! fd of every message (after /proc/PID and /proc/PID/mem), and it is the listener of the very
//! notification (SECCOMP_IOCTL_NOTIF_ID_VALID on it succeeds for the message's id). On a real
//! busybox container, for an attached process's listener and for init's.
//!
//! No libtest harness: `Container::start` forks the monitor from this process, which must
//! have one thread.

use lxc_cgroup as _;
use lxc_console as _;
use lxc_ext_seccomp_allow_deny_syntax as _;
use lxc_ext_seccomp_proxy_send_notify_fd as _;
use lxc_mount as _;

#[path = "../../../lxc-core/tests/common/mod.rs"]
mod common;
#[path = "../../seccomp_notify/tests/support/mod.rs"]
mod support;

use std::time::Duration;

use lxc_core::{StartMode, StartOptions};
use support::{Answer, Proxy, Tally};

fn main() {
    if !support::is_root() {
        println!("SKIP send_fd: starting containers needs root");
        println!("0 passed, 0 failed");
        return;
    }
    let mut t = Tally::default();
    let policy = support::policy_file("notify-sendfd");
    let pname = support::proxy_name("notify-sendfd");
    let mut p = Proxy::spawn(&pname, &[Answer::Success, Answer::Success]);
    let (c, lxcpath) = common::started_busybox(
        "notify-sendfd",
        &[
            ("lxc.seccomp.profile", policy.path_str()),
            ("lxc.seccomp.notify.proxy", &format!("unix:@{pname}")),
        ],
    );
    let five = Duration::from_secs(5);

    let r = support::attach_sh(&c, "mknod /tmp/lxcrs-n c 1 3; echo rc=$?");
    let e = p.event(five).unwrap_or_default();
    t.check(
        "attached_listener_goes_to_the_proxy",
        e.get("fds").map(String::as_str) == Some("3")
            && e.get("listener").map(String::as_str) == Some("1")
            && e.get("path").map(String::as_str) == Some("/tmp/lxcrs-n")
            && e.get("cookie_len").map(String::as_str) == Some("0")
            && matches!(&r, Ok((0, out)) if out.contains("rc=0")),
        format!("{e:?} {r:?}"),
    );

    let rootfs = support::rootfs(&c);
    support::set_rcs(&c, "mknod /lxcrs-main c 1 3\necho rc=$? > /lxcrs-result");
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
    let result = support::wait_file(&rootfs.join("lxcrs-result"), Duration::from_secs(10));
    let e = p.event(five).unwrap_or_default();
    t.check(
        "inits_listener_goes_to_the_proxy",
        started.is_ok()
            && e.get("fds").map(String::as_str) == Some("3")
            && e.get("listener").map(String::as_str) == Some("1")
            && result.as_deref() == Some("rc=0\n"),
        format!("{started:?} {e:?} {result:?}"),
    );
    p.kill();

    support::remove(c, lxcpath);
    t.finish();
}
