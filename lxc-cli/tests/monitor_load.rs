//! The monitor under hostile clients: peers that send part of a request and stop, and a flood
//! of peers that connect and send nothing, must not keep anyone else from being answered, nor
//! make the monitor spin.

mod common;

use std::fs;
use std::io::{Read, Write};
use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr, UnixStream};
use std::time::{Duration, Instant};

use common::*;

/// Room for the test's own 5,000 client sockets.
fn raise_nofile(want: u64) {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    let (_, hard) = getrlimit(Resource::RLIMIT_NOFILE).unwrap();
    setrlimit(Resource::RLIMIT_NOFILE, want.min(hard), hard).unwrap();
}

fn connect(t: &TestContainer) -> std::io::Result<UnixStream> {
    let name = format!("lxc-rs/{}/{}/command", t.lxcpath.display(), t.name);
    let addr = SocketAddr::from_abstract_name(name.as_bytes())?;
    UnixStream::connect_addr(&addr)
}

fn monitor_of(pid: i32) -> i32 {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("PPid:"))
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

/// utime + stime of a process, in clock ticks.
fn cpu_ticks(pid: i32) -> u64 {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // The fields after the command name, which may hold spaces, come after the last ')'.
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = rest.split(' ').collect();
    f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap()
}

#[test]
fn stalled_and_idle_clients_stall_nobody() {
    require_root!();
    raise_nofile(16384);
    let t = TestContainer::busybox("stall");
    t.ok(&["start"]);
    let monitor = monitor_of(t.init_pid());

    let mut idle = Vec::new();
    for i in 0..5000 {
        match connect(&t) {
            Ok(s) => idle.push(s),
            Err(e) => panic!("idle connection {i}: {e}"),
        }
    }
    // The first byte of a header and no more: a request that never completes.
    let mut stalled = Vec::new();
    for _ in 0..20 {
        let mut s = connect(&t).unwrap();
        s.write_all(b"L").unwrap();
        stalled.push(s);
    }

    // Everyone else is still answered (before the fix `state` failed after 10 s and
    // `stop -k` did not get through).
    assert_eq!(t.state(), "RUNNING");
    let out = t.ok(&["attach", "--", "echo", "through"]);
    assert_eq!(out.trim(), "through");
    let fds = fs::read_dir(format!("/proc/{monitor}/fd")).unwrap().count();
    assert!(
        fds < 600,
        "the monitor holds {fds} fds for 5,020 hostile peers: connections are not capped"
    );

    // Idle: the monitor sleeps in poll while the peers sit there.
    let before = cpu_ticks(monitor);
    std::thread::sleep(Duration::from_secs(1));
    let used = cpu_ticks(monitor) - before;
    assert!(
        used < 10,
        "the monitor used {used} ticks in 1 s of idle peers"
    );

    // A stalled peer is dropped: it reads end of file (or a reset), not silence for ever.
    let mut s = stalled.pop().unwrap();
    s.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
    let started = Instant::now();
    let mut buf = [0u8; 64];
    match s.read(&mut buf) {
        Ok(0) => {}
        Ok(n) => panic!("a stalled peer was sent {n} bytes: {:?}", &buf[..n]),
        Err(e) => assert_ne!(
            e.kind(),
            std::io::ErrorKind::WouldBlock,
            "a stalled peer still connected after {:?}",
            started.elapsed()
        ),
    }

    t.ok(&["stop", "-k"]);
    assert_eq!(t.state(), "STOPPED");
    drop(stalled);
    drop(idle);
    t.assert_nothing_left();
}
