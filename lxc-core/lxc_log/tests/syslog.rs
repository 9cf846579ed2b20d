//! Syslog output through a real unix socket: one the test binds (datagram and stream), and
//! /dev/log when the host has one.

mod common;

use std::io::Read;
use std::os::unix::net::{UnixDatagram, UnixListener};
use std::path::Path;
use std::time::Duration;

use lxc_ext_lxc_log::{
    fatal, log_init, log_syslog, notice, Facility, LogGuard, LogOptions, Priority, Syslog, DEV_LOG,
};

fn init() -> LogGuard {
    log_init(&LogOptions {
        name: Some("lxcrs-t-c3".into()),
        file: Some("none".into()),
        level: Some(Priority::Info),
        prefix: "lxc-rs-t".into(),
        quiet: true,
        ..LogOptions::default()
    })
    .unwrap()
}

/// Not a timing assertion: only keeps a broken sender from hanging the test forever.
const GUARD: Option<Duration> = Some(Duration::from_secs(30));

#[test]
fn datagrams_carry_facility_priority_ident_and_lxc_layout() {
    let _s = common::serial();
    let dir = common::tempdir();
    let sock_path = dir.path().join("log");
    let sock = UnixDatagram::bind(&sock_path).unwrap();
    sock.set_read_timeout(GUARD).unwrap();
    let _g = init();
    let warning = log_syslog(Some(&Syslog {
        facility: Facility::Local3,
        socket: sock_path.clone(),
    }))
    .unwrap();
    assert_eq!(warning, None);

    tracing::debug!("below the level");
    let info_line = line!() + 1;
    tracing::info!("sl hello");
    notice!("sl notice");
    fatal!("sl fatal");

    let mut buf = [0u8; 4096];
    let mut recv = || {
        let n = sock.recv(&mut buf).unwrap();
        String::from_utf8(buf[..n].to_vec()).unwrap()
    };
    let pid = std::process::id();
    // local3 = 19: 19 * 8 + severity (info 6, notice 5, emerg 0).
    assert_eq!(
        recv(),
        format!(
            "<158>lxc-rs-t[{pid}]: lxcrs-t-c3: syslog - lxc-core/lxc_log/tests/syslog.rs:syslog:{info_line} - sl hello"
        )
    );
    assert!(recv().starts_with(&format!("<157>lxc-rs-t[{pid}]: ")));
    let m = recv();
    assert!(m.starts_with("<152>") && m.ends_with(" - sl fatal"), "{m}");

    log_syslog(None).unwrap();
    tracing::error!("sl after stop");
    sock.set_nonblocking(true).unwrap();
    assert!(
        sock.recv(&mut buf).is_err(),
        "nothing after log_syslog(None)"
    );
}

#[test]
fn stream_sockets_get_nul_terminated_messages() {
    let _s = common::serial();
    let dir = common::tempdir();
    let sock_path = dir.path().join("log-stream");
    let listener = UnixListener::bind(&sock_path).unwrap();
    let _g = init();
    assert_eq!(
        log_syslog(Some(&Syslog {
            facility: Facility::Daemon,
            socket: sock_path.clone(),
        }))
        .unwrap(),
        None
    );
    let (mut conn, _) = listener.accept().unwrap();
    conn.set_read_timeout(GUARD).unwrap();
    tracing::warn!("st one");
    tracing::error!("st two");
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    while got.iter().filter(|&&b| b == 0).count() < 2 {
        let n = conn.read(&mut buf).unwrap();
        assert!(n > 0, "connection closed early: {got:?}");
        got.extend_from_slice(&buf[..n]);
    }
    let text = String::from_utf8(got).unwrap();
    let msgs: Vec<&str> = text.split('\0').filter(|m| !m.is_empty()).collect();
    // daemon = 3: 24 + warning 4 / err 3.
    assert!(
        msgs[0].starts_with("<28>") && msgs[0].ends_with(" - st one"),
        "{msgs:?}"
    );
    assert!(
        msgs[1].starts_with("<27>") && msgs[1].ends_with(" - st two"),
        "{msgs:?}"
    );
    log_syslog(None).unwrap();
}

#[test]
fn a_missing_socket_is_a_warning_not_an_error() {
    let _s = common::serial();
    let dir = common::tempdir();
    let file = dir.path().join("warn.log");
    let _g = log_init(&LogOptions {
        file: Some(file.clone()),
        quiet: true,
        level: Some(Priority::Warn),
        ..LogOptions::default()
    })
    .unwrap();
    let missing = dir.path().join("no-such-socket");
    let w = log_syslog(Some(&Syslog {
        facility: Facility::Local0,
        socket: missing.clone(),
    }))
    .unwrap()
    .expect("a warning");
    assert!(w.contains(&missing.display().to_string()), "{w}");
    tracing::error!("still logging");
    let text = common::read(&file);
    assert!(
        text.contains("WARN") && text.contains("no-such-socket"),
        "{text}"
    );
    assert!(text.contains(" - still logging"), "{text}");

    // The daemon may come up later: the sink connects then.
    let sock = UnixDatagram::bind(&missing).unwrap();
    sock.set_read_timeout(GUARD).unwrap();
    tracing::error!("late one");
    let mut buf = [0u8; 1024];
    let n = sock.recv(&mut buf).unwrap();
    let m = String::from_utf8_lossy(&buf[..n]);
    assert!(m.starts_with("<131>") && m.ends_with(" - late one"), "{m}");
    log_syslog(None).unwrap();
}

#[test]
fn host_syslog() {
    let _s = common::serial();
    if !Path::new(DEV_LOG).exists() {
        println!("skipped: {DEV_LOG} does not exist on this host (no syslog daemon)");
        return;
    }
    let _g = init();
    let w = log_syslog(Some(&Syslog::new(Facility::Daemon))).unwrap();
    assert_eq!(w, None, "{DEV_LOG} exists but cannot be reached");
    tracing::info!("lxcrs-t syslog test message");
    log_syslog(None).unwrap();
}
