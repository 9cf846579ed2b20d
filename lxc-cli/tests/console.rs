//! The console of running containers: its ring buffer (`console_log`), its log file with
//! LXC's size cap and rotation, a console nobody reads, and `lxc-rs console` attached through a
//! pty the test drives. Needs root. Run with `cargo test -p lxc-cli --test console`.

mod common;

use std::fs;
use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{lxc_rs, show, stdout, TestContainer, BIN};

/// Poll `done` every 50 ms until it is true or `within` passed.
fn eventually(within: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + within;
    loop {
        if done() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn rootfs(t: &TestContainer) -> PathBuf {
    t.lxcpath.join(&t.name).join("rootfs")
}

/// Make `script` the container's init (`/bin/sh /lxcrs-init.sh`).
fn init_script(t: &TestContainer, script: &str) {
    fs::write(rootfs(t).join("lxcrs-init.sh"), script).unwrap();
    t.append_config("lxc.init.cmd = /bin/sh /lxcrs-init.sh\n");
}

/// 7-byte numbered lines (`seq -w`), just over 1 MiB of them, then DONE, then idle.
const WRITE_1MIB: &str = "seq -w 0 149796 > /dev/console\necho DONE > /dev/console\n\
                          touch /lxcrs-done\nexec sleep 1000\n";

/// The numbers of `seq -w` lines in `text` (line ends may be `\r\n` through the tty), after
/// a possibly cut first line.
fn numbers(text: &[u8]) -> Vec<u32> {
    String::from_utf8_lossy(text)
        .split('\n')
        .skip(1)
        .map(|l| l.trim_end_matches('\r'))
        .filter(|l| l.len() == 6)
        .filter_map(|l| l.parse().ok())
        .collect()
}

fn assert_consecutive(ns: &[u32], what: &str) {
    assert!(ns.len() > 100, "{what}: only {} numbered lines", ns.len());
    for w in ns.windows(2) {
        assert_eq!(w[1], w[0] + 1, "{what}: {} after {}", w[1], w[0]);
    }
}

fn wait_done(t: &TestContainer) {
    let done = rootfs(t).join("lxcrs-done");
    assert!(
        eventually(Duration::from_secs(120), || done.exists()),
        "{}: the writer did not finish",
        t.name
    );
}

/// 1 MiB through a 64 KiB ring buffer and a 64 KiB log file that rotates: `console-log`
/// returns exactly the newest 64 KiB, in order (the same bytes the log file's tail holds),
/// `--max` and `--clear` behave as LXC's read_max and clear, and the log rotated to FILE.1.
#[test]
fn console_log_keeps_the_newest_bytes_and_the_log_file_rotates() {
    require_root!();
    let t = TestContainer::busybox("clog");
    let log = t.lxcpath.join("console.log");
    init_script(&t, WRITE_1MIB);
    t.append_config(&format!(
        "lxc.console.buffer.size = 65536\nlxc.console.logfile = {}\n\
         lxc.console.size = 64kB\nlxc.console.rotate = 1\n",
        log.display()
    ));
    t.ok(&["start"]);
    wait_done(&t);
    // DONE goes out before the marker file is made; give the monitor its last reads.
    let old = PathBuf::from(format!("{}.1", log.display()));
    assert!(
        eventually(Duration::from_secs(10), || fs::read(&log)
            .is_ok_and(|b| b.ends_with(b"DONE\r\n") || b.ends_with(b"DONE\n"))),
        "no DONE at the end of {}",
        log.display()
    );
    let rotated = fs::read(&old).unwrap_or_else(|e| panic!("{}: {e}", old.display()));
    let current = fs::read(&log).unwrap();
    assert_eq!(rotated.len(), 65536, "the rotated file is the cap's size");
    assert!(
        current.len() <= 65536,
        "{} bytes over the cap",
        current.len()
    );
    let mut both = rotated.clone();
    both.extend_from_slice(&current);
    assert_consecutive(&numbers(&both), "log files");

    let tail = both[both.len() - 65536..].to_vec();
    let first = t.lxc(&["console-log", "--max", "100"]);
    assert!(first.status.success(), "{}", show(&first));
    assert_eq!(first.stdout, tail[..100], "--max 100: the oldest 100 bytes");
    let rest = t.lxc(&["console-log", "--clear"]);
    assert!(rest.status.success(), "{}", show(&rest));
    assert_eq!(rest.stdout.len(), 65536 - 100);
    assert!(
        rest.stdout == tail[100..],
        "the ring buffer's bytes differ from the log's tail"
    );
    assert_consecutive(&numbers(&rest.stdout), "ring buffer");
    let empty = t.lxc(&["console-log"]);
    assert!(empty.status.success(), "{}", show(&empty));
    assert!(
        empty.stdout.is_empty(),
        "after --clear: {:?}",
        stdout(&empty)
    );
    assert_eq!(t.state(), "RUNNING");
}

/// Without rotation the log file starts again from empty at its cap; `console-log` with no
/// buffer configured fails with LXC's EFAULT rather than printing nothing.
#[test]
fn console_log_file_without_rotation_stays_under_its_cap() {
    require_root!();
    let t = TestContainer::busybox("clogcap");
    let log = t.lxcpath.join("console.log");
    init_script(&t, WRITE_1MIB);
    t.append_config(&format!(
        "lxc.console.logfile = {}\nlxc.console.size = 65536\n",
        log.display()
    ));
    t.ok(&["start"]);
    wait_done(&t);
    assert!(
        eventually(Duration::from_secs(10), || fs::read(&log)
            .is_ok_and(|b| b.ends_with(b"DONE\r\n") || b.ends_with(b"DONE\n"))),
        "no DONE at the end of {}",
        log.display()
    );
    let current = fs::read(&log).unwrap();
    assert!(
        current.len() <= 65536,
        "{} bytes over the cap",
        current.len()
    );
    assert!(!Path::new(&format!("{}.1", log.display())).exists());
    assert_consecutive(&numbers(&current), "log file");
    let o = t.lxc(&["console-log"]);
    assert_eq!(o.status.code(), Some(1), "{}", show(&o));
    assert!(
        common::stderr(&o).contains("lxc.console.buffer.size"),
        "{}",
        show(&o)
    );
}

/// 10 MiB to a console nobody reads and nothing logs: the writer finishes.
#[test]
fn a_console_nobody_reads_never_blocks_the_container() {
    require_root!();
    let t = TestContainer::busybox("cnoread");
    init_script(
        &t,
        "dd if=/dev/zero bs=65536 count=160 > /dev/console 2>/dev/null\n\
         touch /lxcrs-done\nexec sleep 1000\n",
    );
    t.ok(&["start"]);
    wait_done(&t);
    assert_eq!(t.state(), "RUNNING");
}

#[test]
fn extensions_list_console_log() {
    let o = lxc_rs(&["extensions"]);
    assert!(o.status.success(), "{}", show(&o));
    assert!(
        stdout(&o).lines().any(|l| l.trim() == "console_log"),
        "{}",
        show(&o)
    );
}

/// A pty for `lxc-rs console` to run on: (master, the client process).
fn attach(t: &TestContainer) -> (fs::File, Child) {
    attach_tty(t, "0")
}

/// `lxc-rs console -t TTY` on a pty of the test's: its master, and the client.
fn attach_tty(t: &TestContainer, tty: &str) -> (fs::File, Child) {
    let pty = nix::pty::openpty(None, None).expect("openpty");
    let master: OwnedFd = pty.master;
    let slave: OwnedFd = pty.slave;
    let child = Command::new(BIN)
        .args(["console", "-n", &t.name, "-P", t.lxcpath_str(), "-t", tty])
        .stdin(Stdio::from(slave.try_clone().unwrap()))
        .stdout(Stdio::from(slave.try_clone().unwrap()))
        .stderr(Stdio::from(slave))
        .spawn()
        .expect("run lxc-rs console");
    nix::fcntl::fcntl(
        &master,
        nix::fcntl::FcntlArg::F_SETFL(nix::fcntl::OFlag::O_NONBLOCK),
    )
    .unwrap();
    (fs::File::from(master), child)
}

/// Type the escape `<Ctrl+a> q` into a client's terminal: it must detach and exit 0 (a client
/// that does not is killed and the test fails, naming `what`).
fn detach(m: &mut fs::File, child: &mut Child, what: &str) {
    m.write_all(b"\x01q").unwrap();
    let status = exits(child, Duration::from_secs(10)).unwrap_or_else(|| {
        let _ = child.kill();
        panic!("{what}: the client did not detach")
    });
    assert!(status.success(), "{what}: {status:?}");
}

/// Read from the pty until `needle` shows up (the text read so far, or a panic after 30 s).
fn read_until(m: &mut fs::File, needle: &str, seen: &mut String) {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut buf = [0u8; 4096];
    while !seen.contains(needle) {
        assert!(
            Instant::now() < deadline,
            "no {needle:?} on the console; read: {seen:?}"
        );
        match m.read(&mut buf) {
            Ok(n) if n > 0 => seen.push_str(&String::from_utf8_lossy(&buf[..n])),
            _ => std::thread::sleep(Duration::from_millis(20)),
        }
    }
}

fn exits(child: &mut Child, within: Duration) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + within;
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            return Some(s);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `lxc-rs console -t 0` through a pty: the banner, busybox's shell on the console runs what
/// is typed, Ctrl+a q detaches, the container keeps running, and a second client after it
/// works the same.
#[test]
fn console_attach_types_into_the_console_and_detaches() {
    require_root!();
    let t = TestContainer::busybox("cattach");
    t.append_config("lxc.console.buffer.size = auto\n");
    t.ok(&["start"]);
    for round in 1..=2 {
        let (mut m, mut child) = attach(&t);
        let mut seen = String::new();
        read_until(&mut m, "Type <Ctrl+a q> to exit the console", &mut seen);
        // askfirst waits for Enter on the first round; later ones just get a new prompt.
        m.write_all(b"\r").unwrap();
        m.write_all(format!("echo lxcrs-$((6*{round}))-ok\r").as_bytes())
            .unwrap();
        read_until(&mut m, &format!("lxcrs-{}-ok", 6 * round), &mut seen);
        detach(
            &mut m,
            &mut child,
            &format!("round {round}, after {seen:?}"),
        );
        assert_eq!(t.state(), "RUNNING", "round {round}");
    }
    // What the clients saw went through the ring buffer too.
    let o = t.lxc(&["console-log"]);
    assert!(o.status.success(), "{}", show(&o));
    assert!(stdout(&o).contains("lxcrs-12-ok"), "{}", show(&o));
}

/// `console -t 1` reaches the getty on tty1 (its prompt, and a new one for an empty login),
/// detaches with the escape, and the container keeps running; a second client gets it too.
#[test]
fn console_attach_to_a_tty_reaches_its_getty() {
    require_root!();
    let t = TestContainer::busybox("cattty");
    t.ok(&["start"]);
    for round in 1..=2 {
        let (mut m, mut child) = attach_tty(&t, "1");
        let mut seen = String::new();
        read_until(&mut m, "Connected to tty 1", &mut seen);
        m.write_all(b"\r").unwrap();
        read_until(&mut m, "login:", &mut seen);
        detach(
            &mut m,
            &mut child,
            &format!("round {round}, after {seen:?}"),
        );
        assert_eq!(t.state(), "RUNNING", "round {round}");
    }
}

/// A tty serves one client at a time, as LXC: `-t 1` while another holds it is refused,
/// `-t -1` takes the first free tty, and once the holder detaches tty 1 is free again.
#[test]
fn a_busy_tty_is_refused_and_the_first_free_one_taken() {
    require_root!();
    let t = TestContainer::busybox("cttybusy");
    t.ok(&["start"]);
    let (mut a, mut holder) = attach_tty(&t, "1");
    let mut seen = String::new();
    read_until(&mut a, "Connected to tty 1", &mut seen);

    let o = t.lxc(&["console", "-t", "1"]);
    assert_eq!(o.status.code(), Some(1), "{}", show(&o));
    assert!(
        common::stderr(&o).contains("has a console client already"),
        "{}",
        show(&o)
    );

    let (mut b, mut second) = attach_tty(&t, "-1");
    let mut seen_b = String::new();
    read_until(&mut b, "Connected to tty 2", &mut seen_b);
    detach(&mut b, &mut second, "second");

    detach(&mut a, &mut holder, "holder");
    // The monitor saw the holder's session end: tty 1 is free again.
    let (mut c, mut third) = attach_tty(&t, "1");
    let mut seen_c = String::new();
    read_until(&mut c, "Connected to tty 1", &mut seen_c);
    detach(&mut c, &mut third, "third");
}

/// While one client is attached to the console a second is refused (LXC serves one).
#[test]
fn console_serves_one_client_at_a_time() {
    require_root!();
    let t = TestContainer::busybox("cbusy");
    t.ok(&["start"]);
    let (mut m, mut child) = attach(&t);
    let mut seen = String::new();
    read_until(&mut m, "Connected to tty 0", &mut seen);
    let o = t.lxc(&["console", "-t", "0"]);
    assert_eq!(o.status.code(), Some(1), "{}", show(&o));
    assert!(common::stderr(&o).contains("one at a time"), "{}", show(&o));
    detach(&mut m, &mut child, "child");
}

/// `lxc-rs start -F` on a terminal, as lxc-start -F: that terminal is the console's peer
/// (what is typed reaches the console's shell, its output comes back), and once the container
/// stopped the terminal has its settings back.
#[test]
fn start_foreground_on_a_terminal_is_the_console() {
    require_root!();
    let t = TestContainer::busybox("cfg");
    let pty = nix::pty::openpty(None, None).expect("openpty");
    let before = nix::sys::termios::tcgetattr(&pty.slave).unwrap();
    let mut child = Command::new(BIN)
        .args(["start", "-F", "-n", &t.name, "-P", t.lxcpath_str()])
        .stdin(Stdio::from(pty.slave.try_clone().unwrap()))
        .stdout(Stdio::from(pty.slave.try_clone().unwrap()))
        .stderr(Stdio::from(pty.slave.try_clone().unwrap()))
        .spawn()
        .expect("run lxc-rs start -F");
    nix::fcntl::fcntl(
        &pty.master,
        nix::fcntl::FcntlArg::F_SETFL(nix::fcntl::OFlag::O_NONBLOCK),
    )
    .unwrap();
    let mut m = fs::File::from(pty.master);
    let mut seen = String::new();
    read_until(&mut m, "Please press Enter", &mut seen);
    m.write_all(b"\recho lxcrs-$((7*6))-fg\r").unwrap();
    read_until(&mut m, "lxcrs-42-fg", &mut seen);
    t.ok(&["stop", "-k"]);
    let status = exits(&mut child, Duration::from_secs(20)).unwrap_or_else(|| {
        let _ = child.kill();
        panic!("start -F did not return after the stop; read: {seen:?}")
    });
    assert!(status.code().is_some(), "{status:?}");
    let after = nix::sys::termios::tcgetattr(&pty.slave).unwrap();
    assert_eq!(
        after.local_flags, before.local_flags,
        "the terminal stayed raw"
    );
}

/// A client attached to the console when the container stops is let go.
#[test]
fn console_client_ends_when_the_container_stops() {
    require_root!();
    let t = TestContainer::busybox("cstop");
    t.ok(&["start"]);
    let (mut m, mut child) = attach(&t);
    let mut seen = String::new();
    read_until(&mut m, "Connected to tty 0", &mut seen);
    t.ok(&["stop", "-k"]);
    let status = exits(&mut child, Duration::from_secs(20)).unwrap_or_else(|| {
        let _ = child.kill();
        panic!("the client stayed after the stop; read: {seen:?}")
    });
    assert!(status.success(), "{status:?}");
}
