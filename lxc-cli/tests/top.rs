//! `lxc-rs top -b` prints lxc-top's CSV for the running containers of an lxcpath, read from
//! their cgroups; and `list_active_containers` / `list_all_containers` (what top lists) on
//! real containers, one of them run by LXC.

mod common;
mod fleet;

use std::io::Read;
use std::process::{Command, Stdio};

use common::{show, BIN, GLOBAL_CONF_ENV, TEST_GLOBAL_CONF};
use fleet::{Fleet, Lines};

const HEADER: &str = "time_ms,container,cpu_nanos,cpu_sys_userhz,cpu_user_userhz,blkio_bytes,\
                      blkio_iops,mem_used_bytes,memsw_used_bytes,kernel_mem_used_bytes";

/// The first `n` lines a command prints (within 30 s); the process is killed after.
fn first_lines(cmd: Command, n: usize) -> Vec<String> {
    Lines::spawn(cmd).take(n)
}

/// `lxc-rs top -P LXCPATH ARGS`.
fn top(f: &Fleet, args: &[&str]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.env(GLOBAL_CONF_ENV, TEST_GLOBAL_CONF)
        .args(["top", "-P", f.lxcpath_str()])
        .args(args);
    cmd
}

#[test]
fn batch_prints_lxc_top_s_columns_for_the_running_containers() {
    require_root!();
    let f = Fleet::busybox("top", &["a", "b", "c"]);
    f.ok(&["start", "-n", f.name("b")]);
    f.ok(&["start", "-n", f.name("a")]);
    // Some CPU time and memory to count.
    f.ok(&[
        "attach",
        "-n",
        f.name("a"),
        "--",
        "sh",
        "-c",
        "i=0; while [ $i -lt 2000 ]; do i=$((i+1)); done",
    ]);

    let lines = first_lines(top(&f, &["-b", "-d", "60"]), 3);
    assert_eq!(lines.len(), 3, "header and two rows: {lines:?}");
    assert_eq!(lines[0], HEADER);
    let rows: Vec<Vec<&str>> = lines[1..].iter().map(|l| l.split(',').collect()).collect();
    // Sorted by name; the stopped c is not listed.
    assert_eq!(rows[0][1], f.name("a"));
    assert_eq!(rows[1][1], f.name("b"));
    for r in &rows {
        assert_eq!(r.len(), 10, "{r:?}");
        let n: Vec<u64> = r
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != 1)
            .map(|(_, v)| {
                v.parse()
                    .unwrap_or_else(|_| panic!("not a number in {r:?}"))
            })
            .collect();
        // time_ms, cpu_nanos and mem_used_bytes are never 0 for a running container.
        assert!(n[0] > 0 && n[1] > 0 && n[6] > 0, "{r:?}");
    }

    // -s m -r: by memory, smallest first; the same two.
    let lines = first_lines(top(&f, &["-b", "-s", "m", "-r"]), 3);
    let mem: Vec<u64> = lines[1..]
        .iter()
        .map(|l| l.split(',').nth(7).unwrap().parse().unwrap())
        .collect();
    assert!(mem.len() == 2 && mem[0] <= mem[1], "{lines:?}");

    // LXC's lxc-top (it needs a terminal even with -b: `script` gives it one) on the same
    // containers, read through the LXC command socket lxc-rs's monitor serves: the same
    // header and the same containers in its first batch.
    if common::lxc_tools_present(&["lxc-top"]) && Command::new("script").arg("-V").output().is_ok()
    {
        let mut cmd = Command::new("script");
        cmd.args([
            "-qec",
            // lxc-top prints as many rows as the terminal has, less 3: give it some.
            &format!(
                "stty rows 50 cols 200; lxc-top -b -d 60 -P {}",
                f.lxcpath_str()
            ),
            "/dev/null",
        ]);
        let theirs: Vec<String> = first_lines(cmd, 3)
            .into_iter()
            .map(|l| l.trim_end_matches('\r').to_string())
            .collect();
        assert_eq!(
            theirs.first().map(String::as_str),
            Some(HEADER),
            "{theirs:?}"
        );
        let names: Vec<&str> = theirs[1..]
            .iter()
            .filter_map(|l| l.split(',').nth(1))
            .collect();
        assert_eq!(names, [f.name("a"), f.name("b")], "{theirs:?}");
    } else {
        eprintln!("SKIP (differential part): LXC's lxc-top or script(1) is not installed");
    }
}

#[test]
fn active_and_all_containers_include_one_lxc_runs() {
    require_root!();
    let f = Fleet::busybox("list", &["a", "b", "c"]);
    assert!(lxc::list_active_containers(&f.lxcpath).unwrap().is_empty());
    f.ok(&["start", "-n", f.name("b")]);
    let mut want = vec![f.name("b").to_string()];
    if common::lxc_tools_present(&["lxc-start", "lxc-stop"]) {
        f.lxc_start("c");
        want.push(f.name("c").to_string());
    } else {
        eprintln!("SKIP (LXC part): LXC's tools are not installed");
    }
    assert_eq!(lxc::list_active_containers(&f.lxcpath).unwrap(), want);
    let all = lxc::list_all_containers(&f.lxcpath).unwrap();
    assert_eq!(all, f.names);
    let handles = lxc::list::handles(&f.lxcpath, &want);
    assert_eq!(handles.iter().map(|c| c.name()).collect::<Vec<_>>(), want);
    assert!(handles.iter().all(|c| c.is_defined()));
    // A hidden directory is never a container, as liblxc's list skips it.
    std::fs::create_dir_all(f.lxcpath.join(".hidden")).unwrap();
    std::fs::write(f.lxcpath.join(".hidden/config"), "").unwrap();
    assert_eq!(lxc::list_all_containers(&f.lxcpath).unwrap(), f.names);
    if want.len() == 2 {
        let o = f.lxc_stop("c");
        assert!(o.status.success(), "lxc-stop: {}", show(&o));
    }
}

/// The first screen `command` draws on a 20-row terminal (`script` gives it one, and `timeout`
/// ends it): what comes before the second screen's clear. `--foreground` keeps the tool in the
/// terminal's foreground group: in a background one its raw-mode tcsetattr stops it with
/// SIGTTOU, unless the caller happens to ignore that signal (CI does not).
fn first_screen(command: &str) -> String {
    let mut child = Command::new("script")
        .args([
            "-qec",
            &format!("stty rows 20 cols 160; timeout --foreground 4 {command}"),
            "/dev/null",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("run script");
    // Held open: an end of file on its input would end the session early.
    let _stdin = child.stdin.take();
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    let _ = child.wait();
    out.split("\x1b[H\x1b[J")
        .find(|s| !s.is_empty())
        .unwrap_or_default()
        .to_string()
}

/// What two reads a moment apart share: the header lines, and each row's name column and
/// width (the counters move, the columns do not).
fn layout(screen: &str) -> Vec<String> {
    screen
        .split("\r\n")
        .enumerate()
        .map(|(i, l)| match i {
            0 | 1 => l.to_string(),
            _ => format!(
                "{} ({} wide)",
                l.chars().take(18).collect::<String>(),
                l.chars().count()
            ),
        })
        .collect()
}

#[test]
fn the_interactive_screen_is_lxc_top_s() {
    require_root!();
    if !common::lxc_tools_present(&["lxc-top"])
        || Command::new("script").arg("-V").output().is_err()
    {
        eprintln!("SKIP: LXC's lxc-top or script(1) is not installed");
        return;
    }
    let f = Fleet::busybox("topscr", &["a", "b"]);
    f.ok(&["start", "-n", f.name("a")]);
    f.ok(&["start", "-n", f.name("b")]);
    let ours = first_screen(&format!("{BIN} top -d 1 -P {}", f.lxcpath_str()));
    let theirs = first_screen(&format!("lxc-top -d 1 -P {}", f.lxcpath_str()));
    assert!(ours.contains("TOTAL 2 of 2"), "{ours:?}");
    assert_eq!(
        layout(&ours),
        layout(&theirs),
        "\nours:   {ours:?}\ntheirs: {theirs:?}"
    );
}
