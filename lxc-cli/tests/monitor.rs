//! `lxc-rs monitor` prints the state changes of an lxcpath's containers in order, as
//! `lxc-monitor` does; LXC's lxc-monitor sees lxc-rs's containers through lxc-rs's relay, and
//! lxc-rs monitor sees a container LXC runs through LXC's relay (lxc-monitord).

mod common;
mod fleet;

use std::process::Command;
use std::time::{Duration, Instant};

use common::{show, BIN, GLOBAL_CONF_ENV, TEST_GLOBAL_CONF};
use fleet::{Fleet, Lines};

/// `lxc-rs monitor` on the fleet's lxcpath, with `-n pattern`.
fn lxc_rs_monitor(f: &Fleet, pattern: Option<&str>) -> Lines {
    let mut cmd = Command::new(BIN);
    cmd.env(GLOBAL_CONF_ENV, TEST_GLOBAL_CONF)
        .args(["monitor", "-P", f.lxcpath_str()]);
    if let Some(p) = pattern {
        cmd.args(["-n", p]);
    }
    Lines::spawn(cmd)
}

/// LXC's `lxc-monitor` on the fleet's lxcpath.
fn lxc_monitor(f: &Fleet, pattern: &str) -> Lines {
    let mut cmd = Command::new("lxc-monitor");
    cmd.args(["-P", f.lxcpath_str(), "-n", pattern]);
    Lines::spawn(cmd)
}

/// Connections to the lxcpath's relay, the listener included (`/proc/net/unix` names each
/// accepted connection like the listener).
fn relay_sockets(f: &Fleet) -> usize {
    let suffix = format!("/{}", f.lxcpath_str());
    std::fs::read_to_string("/proc/net/unix")
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.rsplit(' ').next())
        .filter(|s| s.starts_with("@lxc/") && s.ends_with(&suffix))
        .count()
}

/// Wait until the relay has `clients` connections: messages before that reach nobody.
fn wait_clients(f: &Fleet, clients: usize) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while relay_sockets(f) < clients + 1 {
        assert!(
            Instant::now() < deadline,
            "the monitor did not connect to its relay"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn changed(name: &str, state: &str) -> String {
    format!("'{name}' changed state to [{state}]")
}

#[test]
fn start_freeze_stop_of_two_containers_in_order() {
    require_root!();
    let f = Fleet::busybox("mon", &["a", "b"]);
    let (a, b) = (f.name("a").to_string(), f.name("b").to_string());
    let all = lxc_rs_monitor(&f, None);
    wait_clients(&f, 1);
    // Only b, by a regular expression matched whole.
    let only_b = lxc_rs_monitor(&f, Some(&format!("{}-[b]", &a[..a.len() - 2])));
    wait_clients(&f, 2);

    f.ok(&["start", "-n", &a]);
    f.ok(&["start", "-n", &b]);
    f.ok(&["freeze", "-n", &a]);
    f.ok(&["unfreeze", "-n", &a]);
    f.ok(&["stop", "-k", "-n", &a]);
    f.ok(&["stop", "-k", "-n", &b]);

    let exited = |n: &str| format!("'{n}' exited with status [0]");
    let want = vec![
        changed(&a, "STARTING"),
        changed(&a, "RUNNING"),
        changed(&b, "STARTING"),
        changed(&b, "RUNNING"),
        changed(&a, "FREEZING"),
        changed(&a, "FROZEN"),
        changed(&a, "THAWED"),
        changed(&a, "RUNNING"),
        exited(&a),
        changed(&a, "STOPPING"),
        changed(&a, "STOPPED"),
        exited(&b),
        changed(&b, "STOPPING"),
        changed(&b, "STOPPED"),
    ];
    assert_eq!(all.take(want.len()), want);
    let want_b: Vec<String> = want.iter().filter(|l| l.contains(&b)).cloned().collect();
    assert_eq!(only_b.take(want_b.len()), want_b);
    drop((all, only_b));

    // -Q: the relay quits.
    f.ok(&["monitor", "-Q"]);
    let deadline = Instant::now() + Duration::from_secs(5);
    while f.relay_listening() {
        assert!(Instant::now() < deadline, "the relay did not quit");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        !f.fifo_dir().join("monitor-fifo").exists(),
        "the relay left its FIFO"
    );
}

#[test]
fn lxc_monitor_sees_lxc_rs_containers_and_lxc_rs_sees_lxc_s() {
    require_root!();
    if !common::lxc_tools_present(&["lxc-monitor", "lxc-start", "lxc-stop"]) {
        eprintln!("SKIP: LXC's tools are not installed (apt-get install lxc)");
        return;
    }
    let f = Fleet::busybox("monlxc", &["a"]);
    let a = f.name("a").to_string();

    // lxc-rs's relay (started by lxc-rs monitor); LXC's lxc-monitor joins it.
    let ours = lxc_rs_monitor(&f, None);
    wait_clients(&f, 1);
    let theirs = lxc_monitor(&f, ".*");
    wait_clients(&f, 2);
    f.ok(&["start", "-n", &a]);
    f.ok(&["stop", "-k", "-n", &a]);
    let want = vec![
        changed(&a, "STARTING"),
        changed(&a, "RUNNING"),
        format!("'{a}' exited with status [0]"),
        changed(&a, "STOPPING"),
        changed(&a, "STOPPED"),
    ];
    assert_eq!(ours.take(want.len()), want);
    assert_eq!(theirs.take(want.len()), want, "LXC's lxc-monitor");
    drop((ours, theirs));
    f.quit_relay();

    // LXC's relay (started by LXC's lxc-monitor) and a container LXC runs; lxc-rs joins.
    let theirs = lxc_monitor(&f, ".*");
    wait_clients(&f, 1);
    let ours = lxc_rs_monitor(&f, None);
    wait_clients(&f, 2);
    f.lxc_start("a");
    let o = f.lxc_stop("a");
    assert!(o.status.success(), "lxc-stop: {}", show(&o));
    // LXC's start and kill of the same container: the lines lxc-rs's gave, reaching both.
    let lxc_lines = theirs.take(want.len());
    assert_eq!(lxc_lines, want, "LXC's lifecycle as lxc-monitor prints it");
    assert_eq!(ours.take(lxc_lines.len()), lxc_lines);
}
