//! The notify proxy on a real busybox container with the policy `mknod notify` / `mknodat
//! notify`, against a proxy speaking LXC's layout in a forked process (tests/support):
//!
//! - an attached `mknod` is forwarded (path read through the mem fd, cookie, pids, sizes, two
//!   fds without seccomp_proxy_send_notify_fd), and the proxy's answer is what the container
//!   sees: success without a node, or the proxy's errno;
//! - a proxy killed mid-way, or answering with the wrong size, or not at all (30 s), gives
//!   ENOSYS, not a hang; the monitor reconnects at the next notification;
//! - the container's own listener (init's rcS) goes through the proxy too;
//! - `seccomp_notify_fd` answers in the process running the monitor (a foreground `execute`),
//!   and nowhere else;
//! - a start whose proxy does not listen fails, as LXC's.
//!
//! No libtest harness: `Container::start` forks the monitor from this process, which must
//! have one thread.

use lxc_cgroup as _;
use lxc_console as _;
use lxc_ext_seccomp_allow_deny_syntax as _;
use lxc_mount as _;

#[path = "../../../lxc-core/tests/common/mod.rs"]
mod common;
mod support;

use std::os::fd::AsFd;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use lxc_core::linkme::distributed_slice;
use lxc_core::phase::{order, HookCtx};
use lxc_core::registry::{EntryKind, PhaseHook, Registration, REGISTRY};
use lxc_core::{Container, Phase, StartMode, StartOptions};
use lxc_ext_seccomp_notify::{proxy, seccomp_notify_fd, sys};
use support::{attach_sh, attach_sh_bg, Answer, Event, Proxy, Tally, COOKIE};

/// What `seccomp_notify_fd` answered in this process while a container ran here.
static PROBED: Mutex<Option<Result<(), String>>> = Mutex::new(None);

#[distributed_slice(REGISTRY)]
#[linkme(crate = lxc_core::linkme)]
static PROBE: Registration = Registration {
    name: "lxcrs-t-notify-probe",
    kind: EntryKind::Component,
    keys: &[],
    hooks: &[PhaseHook {
        phase: Phase::Running,
        order: order::LAST,
        run: probe,
    }],
    commands: &[],
};

/// In the monitor's process: is `seccomp_notify_fd` a listener now?
fn probe(ctx: &mut HookCtx<'_>) -> Result<(), lxc_core::Error> {
    let r = Container::new(ctx.name, Some(&ctx.lxcpath))
        .and_then(|c| seccomp_notify_fd(&c))
        .map_err(|e| e.to_string())
        .and_then(|fd| match sys::notif_id_valid(fd.as_fd(), 0) {
            Err(e) if e.raw_os_error() != Some(libc::ENOENT) => Err(format!("not a listener: {e}")),
            _ => Ok(()),
        });
    *PROBED.lock().unwrap() = Some(r);
    Ok(())
}

const OPTS: StartOptions = StartOptions {
    mode: StartMode::Start,
    argv: Vec::new(),
    inherit_stdio: false,
    close_all_fds: false,
};

fn ev(e: &Option<Event>, k: &str) -> String {
    e.as_ref()
        .and_then(|e| e.get(k).cloned())
        .unwrap_or_default()
}

fn main() {
    if !support::is_root() {
        println!("SKIP proxy: starting containers needs root");
        println!("0 passed, 0 failed");
        return;
    }
    let mut t = Tally::default();
    let policy = support::policy_file("notify");
    let pname = support::proxy_name("notify");
    let sizes = sys::notif_sizes().expect("notif sizes");
    let mknodat = (libc::SYS_mknodat as i32).to_string();

    let mut p = Proxy::spawn(
        &pname,
        &[Answer::Success, Answer::Errno(libc::EROFS), Answer::Hold],
    );
    let (c, lxcpath) = common::started_busybox(
        "notify",
        &[
            ("lxc.seccomp.profile", policy.path_str()),
            ("lxc.seccomp.notify.proxy", &format!("unix:@{pname}")),
            ("lxc.seccomp.notify.cookie", COOKIE),
        ],
    );
    let init = c.init_pid().expect("init pid").to_string();
    let five = Duration::from_secs(5);

    // Success from the proxy: mknod returns 0 and nothing is made.
    let r = attach_sh(
        &c,
        "mknod /tmp/lxcrs-n c 1 3; echo rc=$?; if test -e /tmp/lxcrs-n; then echo exists; fi",
    );
    let e = p.event(five);
    t.check(
        "attached_mknod_succeeds_as_the_proxy_says",
        matches!(&r, Ok((0, out)) if out.contains("rc=0") && !out.contains("exists")),
        format!("{r:?}"),
    );
    t.check(
        "the_proxy_gets_lxcs_message",
        ev(&e, "nr") == mknodat
            && ev(&e, "path") == "/tmp/lxcrs-n"
            && ev(&e, "comm") == "mknod"
            && ev(&e, "fds") == "2"
            && ev(&e, "cookie") == COOKIE
            && ev(&e, "cookie_len") == COOKIE.len().to_string()
            && ev(&e, "init") == init
            && ev(&e, "notif") == sizes.seccomp_notif.to_string()
            && ev(&e, "resp") == sizes.seccomp_notif_resp.to_string()
            && ev(&e, "resp_id_ok") == "true"
            && ev(&e, "bytes")
                == (proxy::HEADER_LEN
                    + usize::from(sizes.seccomp_notif)
                    + usize::from(sizes.seccomp_notif_resp)
                    + COOKIE.len())
                .to_string(),
        format!("{e:?}"),
    );
    let monitor: i32 = ev(&e, "monitor").parse().unwrap_or(0);
    t.check(
        "monitor_pid_is_the_monitors",
        monitor > 0
            && std::fs::read_to_string(format!("/proc/{monitor}/cmdline"))
                .is_ok_and(|_| std::fs::read_link(format!("/proc/{monitor}/exe")).is_ok())
            && monitor.to_string() != init,
        format!("monitor {monitor}, init {init}"),
    );

    // The proxy's errno.
    let r = attach_sh(&c, "mknod /tmp/lxcrs-n c 1 3; echo rc=$?");
    let _ = p.event(five);
    t.check(
        "attached_mknod_fails_with_the_proxys_errno",
        matches!(&r, Ok((_, out)) if out.contains("rc=1") && out.contains("Read-only file system")),
        format!("{r:?}"),
    );

    // The proxy dies before it answers: the default answer, at once.
    let started = Instant::now();
    let r = attach_sh_bg(&c, "mknod /tmp/lxcrs-n c 1 3; echo rc=$?").map_err(|e| e.to_string());
    let e = p.event(five);
    p.kill();
    let r = r.and_then(|a| a.wait(Duration::from_secs(20)));
    t.check(
        "a_killed_proxy_gives_enosys",
        e.is_some()
            && matches!(&r, Ok((_, out)) if out.contains("rc=1") && out.contains("Function not implemented"))
            && started.elapsed() < Duration::from_secs(10),
        format!("{e:?} {r:?}"),
    );

    // A new proxy on the address: the monitor connects again for the next notification.
    p = Proxy::spawn(
        &pname,
        &[Answer::Success, Answer::Malformed, Answer::Success],
    );
    let r = attach_sh(&c, "mknod /tmp/lxcrs-n c 1 3; echo rc=$?");
    let e = p.event(five);
    t.check(
        "the_monitor_reconnects",
        e.is_some() && matches!(&r, Ok((0, out)) if out.contains("rc=0")),
        format!("{e:?} {r:?}"),
    );
    let r = attach_sh(&c, "mknod /tmp/lxcrs-n c 1 3; echo rc=$?");
    t.check(
        "a_malformed_answer_gives_enosys",
        matches!(&r, Ok((_, out)) if out.contains("Function not implemented")),
        format!("{r:?}"),
    );
    let r = attach_sh(&c, "mknod /tmp/lxcrs-n c 1 3; echo rc=$?");
    t.check(
        "the_connection_serves_on_after_a_malformed_answer",
        matches!(&r, Ok((0, out)) if out.contains("rc=0")),
        format!("{r:?}"),
    );
    for _ in 0..2 {
        let _ = p.event(five);
    }

    // No answer at all: LXC's 30 s, then ENOSYS; the next notification gets a new connection.
    drop(p);
    p = Proxy::spawn(&pname, &[Answer::Ignore, Answer::Success]);
    let started = Instant::now();
    let r = attach_sh_bg(&c, "mknod /tmp/lxcrs-n c 1 3; echo rc=$?")
        .map_err(|e| e.to_string())
        .and_then(|a| a.wait(Duration::from_secs(45)));
    let took = started.elapsed();
    t.check(
        "no_answer_times_out_with_enosys",
        matches!(&r, Ok((_, out)) if out.contains("Function not implemented"))
            && took >= proxy::PROXY_TIMEOUT
            && took < proxy::PROXY_TIMEOUT + Duration::from_secs(10),
        format!("{r:?} after {took:?}"),
    );
    let r = attach_sh(&c, "mknod /tmp/lxcrs-n c 1 3; echo rc=$?");
    t.check(
        "a_new_connection_after_a_timeout",
        matches!(&r, Ok((0, out)) if out.contains("rc=0")),
        format!("{r:?}"),
    );
    drop(p);

    // The container's own listener: init's rcS runs mknod.
    p = Proxy::spawn(&pname, &[Answer::Success, Answer::Success]);
    let stopped = c.stop_with(true, Some(Duration::from_secs(10)));
    let rootfs = support::rootfs(&c);
    support::set_rcs(&c, "mknod /lxcrs-main c 1 3\necho rc=$? > /lxcrs-result");
    let started = stopped.and_then(|()| c.start(&OPTS));
    let result = started
        .as_ref()
        .ok()
        .and_then(|()| support::wait_file(&rootfs.join("lxcrs-result"), Duration::from_secs(10)));
    let e = p.event(five);
    let init = c.init_pid().map(|p| p.to_string()).unwrap_or_default();
    t.check(
        "inits_mknod_goes_through_the_proxy",
        result.as_deref() == Some("rc=0\n")
            && !rootfs.join("lxcrs-main").exists()
            && ev(&e, "path") == "/lxcrs-main"
            && ev(&e, "init") == init,
        format!("{started:?} {result:?} {e:?} init {init}"),
    );
    let r = seccomp_notify_fd(&c);
    t.check(
        "seccomp_notify_fd_is_refused_outside_the_monitors_process",
        matches!(&r, Err(e) if e.errno() == libc::EBADF && e.to_string().contains("seccomp_notify_fd_active")),
        format!("{r:?}"),
    );

    // A foreground start: this process is the monitor, seccomp_notify_fd answers here.
    let _ = c.stop_with(true, Some(Duration::from_secs(10)));
    let argv: Vec<String> = ["/bin/sh", "-c", "mknod /tmp/lxcrs-fg c 1 3"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let r = c.execute(&argv);
    let _ = p.event(five);
    t.check(
        "execute_sees_the_proxys_answer",
        matches!(r, Ok(ref x) if x.status() == 0),
        format!("{r:?}"),
    );
    let probed = PROBED.lock().unwrap().take();
    t.check(
        "seccomp_notify_fd_in_the_foreground",
        matches!(probed, Some(Ok(()))),
        format!("{probed:?}"),
    );
    let r = seccomp_notify_fd(&c);
    t.check(
        "seccomp_notify_fd_after_the_stop",
        matches!(&r, Err(e) if e.errno() == libc::EBADF),
        format!("{r:?}"),
    );
    drop(p);

    // No proxy listening: the start fails (as LXC's), naming the proxy, and nothing runs.
    let r = c.start(&OPTS);
    t.check(
        "a_start_without_its_proxy_fails",
        matches!(&r, Err(e) if e.to_string().contains(&format!("@{pname}"))) && !c.is_running(),
        format!("{r:?}"),
    );

    support::remove(c, lxcpath);
    t.finish();
}
