//! stderr output and quiet mode, checked on a child process's real stderr: the test binary
//! runs itself with `LXCRS_T_LOG_CHILD` naming what to do.

mod common;

use std::process::Command;

use lxc_ext_lxc_log::{crit, log_init, LogOptions, Priority};

const CHILD_ENV: &str = "LXCRS_T_LOG_CHILD";

/// Runs only inside the child: logs one line of each kind with the options the parent chose.
#[test]
fn child() {
    let Ok(mode) = std::env::var(CHILD_ENV) else {
        return;
    };
    let (quiet, level) = match mode.as_str() {
        "loud" => (false, Priority::Debug),
        "quiet" => (true, Priority::Debug),
        "fatal-only" => (false, Priority::Fatal),
        other => panic!("unknown child mode {other}"),
    };
    let _g = log_init(&LogOptions {
        name: Some("lxcrs-t-c2".into()),
        file: Some("none".into()),
        level: Some(level),
        prefix: "lxc-rs-t".into(),
        quiet,
        ..LogOptions::default()
    })
    .unwrap();
    tracing::info!("child info");
    tracing::warn!("child warn");
    println!("ERRLINE={}", line!() + 1);
    tracing::error!("child error");
    crit!("child crit");
}

fn run_child(mode: &str) -> (String, String) {
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, mode)
        .output()
        .unwrap();
    assert!(out.status.success(), "child {mode}: {out:?}");
    (
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn errors_reach_stderr_in_lxc_layout() {
    let (stdout, stderr) = run_child("loud");
    let line: u32 = stdout
        .lines()
        .find_map(|l| l.split_once("ERRLINE=").map(|(_, n)| n))
        .expect(&stdout)
        .parse()
        .unwrap();
    let want = format!(
        "lxc-rs-t: lxcrs-t-c2: lxc-core/lxc_log/tests/stderr.rs: stderr: {line} child error\n"
    );
    assert!(stderr.contains(&want), "want {want:?} in {stderr:?}");
    assert!(stderr.contains(" child crit\n"), "{stderr}");
    // stderr gets ERROR and above only, whatever the level.
    assert!(!stderr.contains("child warn"), "{stderr}");
    assert!(!stderr.contains("child info"), "{stderr}");
}

#[test]
fn quiet_keeps_stderr_silent() {
    let (_, stderr) = run_child("quiet");
    assert!(!stderr.contains("child"), "{stderr:?}");
}

#[test]
fn the_level_also_filters_stderr() {
    let (_, stderr) = run_child("fatal-only");
    assert!(!stderr.contains("child"), "{stderr:?}");
}
