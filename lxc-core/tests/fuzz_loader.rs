//! A mutation fuzzer for the config loader: each case is a small tree of files in a fresh
//! directory that include each other, the directory itself, a subdirectory, a FIFO, /dev/zero,
//! a sparse file over the size limit, with huge lines, bytes that are not UTF-8, NULs and CRs,
//! then randomly mutated byte by byte. Every load must end within a time bound, must not panic,
//! and must not make the process grow (RSS from /proc/self/statm); a config that loads must
//! save and load back to the same bytes.
//!
//! The test suite runs a few thousand cases; `cargo xtask fuzz [--cases N] [--seconds S]
//! [--seed X]` runs more, through the environment variables LXCRS_FUZZ_CASES,
//! LXCRS_FUZZ_SECONDS and LXCRS_FUZZ_SEED. The seed is printed so a failure reproduces; each
//! case's files are derived from (seed, case number) alone.
//!
//! Files live under /tmp/lxcrs-t-fuzz-<pid>, removed at the end.

// The cgroup and mount keys are the always-on components' (their registrations).
use lxc_cgroup as _;
use lxc_console as _;
use lxc_mount as _;
use std::ffi::CString;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use lxc_core::Config;

/// How long one load may take before it counts as a hang (generous: a loaded 2-core machine
/// running a debug build; a legitimate load reads at most 64 MiB).
const CASE_BOUND: Duration = Duration::from_secs(20);
/// How much the resident set may grow over the run before it counts as a blow-up.
const RSS_GROWTH_LIMIT: u64 = 512 << 20;

/// splitmix64: small, seedable, good enough to pick mutations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn chance(&mut self, one_in: usize) -> bool {
        self.below(one_in) == 0
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

const KEYS: &[&str] = &[
    "lxc.uts.name",
    "lxc.tty.max",
    "lxc.pty.max",
    "lxc.rootfs.path",
    "lxc.mount.entry",
    "lxc.mount.auto",
    "lxc.cap.drop",
    "lxc.idmap",
    "lxc.environment",
    "lxc.hook.pre-start",
    "lxc.net.0.type",
    "lxc.net.0.link",
    "lxc.cgroup.memory.limit_in_bytes",
    "lxc.sysctl.net.ipv4.ip_forward",
    "lxc.prlimit.nofile",
    "lxc.signal.halt",
    "lxc.log.level",
    "lxc.namespace.clone",
    "lxc.bogus",
    "lxc.",
];

const VALUES: &[&[u8]] = &[
    b"",
    b"1",
    b"0",
    b"-1",
    b"4294967296",
    b"none",
    b"u 0 100000 65536",
    b"proc:mixed sys:ro",
    b"/srv a none bind,create=dir 0 0",
    b"dir:/srv/caf\xe9",
    b"prb\xff\xfe",
    b"\xf4\x8f\xbe\x80",
    b"\"quoted\"",
    b"'x",
    b"FOO=bar",
    b"SIGRTMIN+3",
    b"veth",
    b"\xc3",
    b"a\0b",
    b"a\rb",
];

/// The files of one case, in `dir`.
struct Case {
    dir: PathBuf,
    /// Written before the load (name relative to `dir`, bytes).
    files: Vec<(String, Vec<u8>)>,
    fifo: bool,
    sparse: bool,
}

const NAMES: &[&str] = &["a.conf", "b.conf", "c.conf", "sub/d.conf", "sub/e.conf"];

fn include_target(rng: &mut Rng, dir: &Path) -> Vec<u8> {
    let abs = |n: &str| dir.join(n).as_os_str().as_bytes().to_vec();
    match rng.below(12) {
        0 => b"/dev/zero".to_vec(),
        1 => b"/dev/null".to_vec(),
        2 => abs("pipe.conf"),
        3 => abs("big.conf"),
        4 => [abs(""), b"/".to_vec()].concat(),
        5 => abs("sub/"),
        6 => abs("missing/"),
        7 => abs("missing.conf"),
        // Relative: resolved next to the including file.
        8 => rng
            .pick(&["a.conf", "b.conf", "sub/d.conf", "d.conf", "sub"])
            .as_bytes()
            .to_vec(),
        _ => abs(NAMES[rng.below(NAMES.len())]),
    }
}

fn line(rng: &mut Rng, dir: &Path) -> Vec<u8> {
    let mut l = match rng.below(10) {
        0..=2 => [b"lxc.include = ".as_slice(), &include_target(rng, dir)].concat(),
        3 => b"# a comment \xe9".to_vec(),
        4 => Vec::new(),
        5 => (0..rng.below(40)).map(|_| rng.next() as u8).collect(),
        _ => {
            let key = (*rng.pick(KEYS)).as_bytes();
            let value = *rng.pick(VALUES);
            const SEPS: &[&[u8]] = &[b" = ", b"=", b"\t=  ", b" "];
            let sep = SEPS[rng.below(SEPS.len())];
            [key, sep, value].concat()
        }
    };
    // Now and then a huge line (up to 1 MiB): values that must not be echoed whole.
    if rng.chance(150) {
        let n = 1 + rng.below(1 << 20);
        l.extend(std::iter::repeat_n(b'x', n));
    }
    l
}

fn mutate(rng: &mut Rng, data: &mut Vec<u8>) {
    for _ in 0..rng.below(4) {
        let at = rng.below(data.len() + 1);
        match rng.below(5) {
            0 if !data.is_empty() => {
                let i = at.min(data.len() - 1);
                data[i] ^= 1 << rng.below(8);
            }
            1 => data.insert(at, rng.next() as u8),
            2 => {
                let b = *rng.pick(&[b'\n', b'\r', 0, b'=', b'"', 0xff]);
                data.insert(at, b)
            }
            3 if at < data.len() => {
                let end = (at + rng.below(16)).min(data.len());
                data.drain(at..end);
            }
            _ => {
                let extra: Vec<u8> = (*rng.pick(VALUES)).to_vec();
                data.splice(at..at, extra);
            }
        }
    }
}

fn make_case(seed: u64, n: u64, dir: &Path) -> Case {
    let mut rng = Rng(seed ^ n.wrapping_mul(0xA076_1D64_78BD_642F));
    let mut files = Vec::new();
    let count = 1 + rng.below(NAMES.len());
    for name in &NAMES[..count] {
        let mut text = Vec::new();
        for _ in 0..rng.below(12) {
            text.extend(line(&mut rng, dir));
            text.push(b'\n');
        }
        if rng.chance(3) {
            mutate(&mut rng, &mut text);
        }
        files.push((name.to_string(), text));
    }
    Case {
        dir: dir.to_path_buf(),
        files,
        fifo: rng.chance(2),
        sparse: rng.chance(4),
    }
}

fn write_case(c: &Case) {
    let _ = fs::remove_dir_all(&c.dir);
    fs::create_dir_all(c.dir.join("sub")).expect("make case dir");
    for (name, text) in &c.files {
        fs::write(c.dir.join(name), text).expect("write case file");
    }
    if c.fifo {
        let p = CString::new(c.dir.join("pipe.conf").as_os_str().as_bytes()).expect("path");
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(p.as_ptr(), 0o600) }, 0, "mkfifo");
    }
    if c.sparse {
        let f = fs::File::create(c.dir.join("big.conf")).expect("create sparse file");
        f.set_len(lxc_core::config::MAX_FILE_BYTES + 1)
            .expect("set_len");
    }
}

fn rss_bytes() -> u64 {
    let statm = fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) }.max(4096) as u64;
    pages * page
}

fn env_u64(name: &str) -> Option<u64> {
    let v = std::env::var(name).ok()?;
    let v = v.trim();
    match v.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16).ok(),
        None => v.parse().ok(),
    }
}

/// What the worker thread says about one case.
enum Outcome {
    Done,
    Panicked(String),
    Mismatch(String),
}

/// Load the case's first file; if it loads, save it and load the saved text back.
fn check_case(main: &Path) -> Outcome {
    let r = std::panic::catch_unwind(|| match Config::load(main) {
        Ok(c) => {
            let saved = c.to_lxc_bytes();
            let again = Config::parse_bytes(&saved, Some(main));
            match again {
                Ok(c2) if c2.to_lxc_bytes() == saved => Outcome::Done,
                // Includes are read again on the second parse; only their errors may differ
                // (e.g. a file over the load's limits the second time): no mismatch then.
                Err(_) => Outcome::Done,
                Ok(c2) => Outcome::Mismatch(format!(
                    "saved {:?}\nsaved again {:?}",
                    String::from_utf8_lossy(&saved),
                    String::from_utf8_lossy(&c2.to_lxc_bytes())
                )),
            }
        }
        Err(e) => {
            // Display must work and stay bounded: at most MAX_PROBLEMS + 1 lines of ~1 KiB.
            let text = e.to_string();
            if text.len() > 400 << 10 {
                let longest = text.lines().max_by_key(|l| l.len()).unwrap_or_default();
                let head: String = longest.chars().take(300).collect();
                return Outcome::Mismatch(format!(
                    "error message is {} bytes; longest line ({} bytes) starts {head:?}",
                    text.len(),
                    longest.len()
                ));
            }
            Outcome::Done
        }
    });
    match r {
        Ok(o) => o,
        Err(p) => Outcome::Panicked(
            p.downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default(),
        ),
    }
}

#[test]
fn config_loader_survives_mutated_include_trees() {
    let cases = env_u64("LXCRS_FUZZ_CASES").unwrap_or(2000);
    let seconds = env_u64("LXCRS_FUZZ_SECONDS").unwrap_or(20);
    let seed = env_u64("LXCRS_FUZZ_SEED").unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64)
    });
    println!(
        "fuzz: seed {seed:#x}, up to {cases} cases, {seconds} s \
         (reproduce: LXCRS_FUZZ_SEED={seed:#x})"
    );
    let root = PathBuf::from(format!("/tmp/lxcrs-t-fuzz-{}", std::process::id()));
    let _ = fs::remove_dir_all(&root);
    fs::create_dir_all(&root).expect("make fuzz dir");
    struct Cleanup(PathBuf);
    impl Drop for Cleanup {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }
    let _cleanup = Cleanup(root.clone());

    // One worker runs the loads, so a hang is seen as a missed deadline, not a stuck test.
    let (jobs, job_rx) = mpsc::channel::<PathBuf>();
    let (done_tx, done) = mpsc::channel::<Outcome>();
    std::thread::spawn(move || {
        for main in job_rx {
            if done_tx.send(check_case(&main)).is_err() {
                break;
            }
        }
    });
    // Silence the default hook's message for caught panics; they are reported below.
    std::panic::set_hook(Box::new(|_| {}));

    let start = Instant::now();
    let deadline = Duration::from_secs(seconds);
    let dir = root.join("case");
    let mut baseline = None;
    let mut ran = 0;
    for n in 0..cases {
        if start.elapsed() > deadline {
            break;
        }
        let case = make_case(seed, n, &dir);
        write_case(&case);
        jobs.send(dir.join(&case.files[0].0)).expect("worker alive");
        let outcome = match done.recv_timeout(CASE_BOUND) {
            Ok(o) => o,
            Err(_) => {
                let _ = std::panic::take_hook();
                panic!(
                    "fuzz case {n} (seed {seed:#x}) did not finish within {CASE_BOUND:?}: \
                     files {:?}",
                    case.files.iter().map(|(n, _)| n).collect::<Vec<_>>()
                );
            }
        };
        match outcome {
            Outcome::Done => {}
            Outcome::Panicked(msg) => {
                let _ = std::panic::take_hook();
                panic!("fuzz case {n} (seed {seed:#x}) panicked: {msg}");
            }
            Outcome::Mismatch(msg) => {
                let _ = std::panic::take_hook();
                panic!("fuzz case {n} (seed {seed:#x}): {msg}");
            }
        }
        ran += 1;
        // The baseline is taken after a few cases, once the allocator has its working set.
        let rss = rss_bytes();
        match baseline {
            None if n == 20 => baseline = Some(rss),
            Some(b) if rss > b + RSS_GROWTH_LIMIT => {
                let _ = std::panic::take_hook();
                panic!(
                    "fuzz case {n} (seed {seed:#x}): resident set grew from {} MiB to {} MiB",
                    b >> 20,
                    rss >> 20
                );
            }
            _ => {}
        }
    }
    let _ = std::panic::take_hook();
    println!(
        "fuzz: {ran} cases in {:.1} s, resident set {} MiB",
        start.elapsed().as_secs_f64(),
        rss_bytes() >> 20
    );
    assert!(ran > 0, "no case ran");
}
