//! A mutation fuzzer for the policy reader and compiler: each case starts from a policy LXC
//! ships or a generated one (version lines, type lines, sections, rules with actions and
//! argument comparisons, comments), then is mutated byte by byte and token by token with the
//! language's own pieces, NULs, CRs, huge numbers and huge lines. Every parse must end within
//! a time bound, must not panic, must give the same answer twice, and an error must name the
//! policy and a line of it and say what was expected. Policies that parse are compiled under the
//! same rules.
//!
//! The test suite runs 10,000 cases; `cargo xtask fuzz` style variables run more or other
//! ones: LXCRS_FUZZ_CASES, LXCRS_FUZZ_SECONDS and LXCRS_FUZZ_SEED. The seed is printed so a
//! failure reproduces; each case is derived from (seed, case number) alone.

use std::fs;
use std::path::Path;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use lxc_seccomp::compile::{compile, CompileOptions};
use lxc_seccomp::policy::{parse_with, HostArch, PolicyError, PolicyWord, LXC_WORDS};

/// How long one case (parse, and compile when it parses) may take before it counts as a
/// hang: generous for a loaded machine running a debug build.
const CASE_BOUND: Duration = Duration::from_secs(10);
/// The longest error message a case may produce.
const MESSAGE_BOUND: usize = 2048;

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

/// Pieces of the language, and pieces that are almost the language.
const TOKENS: &[&[u8]] = &[
    b"1",
    b"2",
    b"3",
    b"-2",
    b"+2",
    b"4294967298",
    b"99999999999999999999",
    b"allowlist",
    b"denylist",
    b"whitelist",
    b"blacklist",
    b"debug",
    b" kill",
    b" kill_process",
    b" errno ",
    b" errno",
    b" allow",
    b" trap",
    b" notify",
    b" log",
    b" trace",
    b"[x86]",
    b"[X86]",
    b"[x32]",
    b"[x86_64]",
    b"[all]",
    b"[ALL]",
    b"[arm]",
    b"[arm64]",
    b"[ppc64le]",
    b"[s390x]",
    b"[mips64n32]",
    b"[riscv64]",
    b"[",
    b"]",
    b",",
    b"[0,1,==]",
    b"[5,0xffffffffffffffff,&=,0x8]",
    b"[6,1,==]",
    b"[-1,1,==]",
    b"[0x,1,<=]",
    b"[0,,==]",
    b"SCMP_CMP_MASKED_EQ",
    b"SCMP_CMP_NE",
    b"==",
    b"!=",
    b"<",
    b"<=",
    b">",
    b">=",
    b"&=",
    b"^",
    b"0x",
    b"0x10",
    b"010",
    b"08",
    b"-1",
    b"65536",
    b"4095",
    b"18446744073709551616",
    b"reject_force_umount",
    b"read",
    b"write",
    b"mount",
    b"umount2",
    b"socketcall",
    b"ipc",
    b"kexec_load",
    b"personality",
    b"not_a_syscall",
    b"#",
    b"# comment",
    b"\n",
    b"\r\n",
    b"\0",
    b" ",
    b"  ",
    b"\t",
    b"\x0b",
    b"\xff\xfe",
    b"\xc3",
];

const SYSCALLS: &[&str] = &[
    "read",
    "write",
    "open",
    "close",
    "mount",
    "umount2",
    "kexec_load",
    "open_by_handle_at",
    "init_module",
    "finit_module",
    "delete_module",
    "socketcall",
    "socket",
    "ioctl",
    "personality",
    "clone",
    "clone3",
    "keyctl",
    "bpf",
    "ptrace",
    "reject_force_umount",
    "not_a_syscall",
    "_sysctl",
    "vm86",
];

const ACTIONS: &[&str] = &[
    "",
    " kill",
    " errno 1",
    " errno 38",
    " errno 0",
    " allow",
    " trap",
    " notify",
    " errno 4095",
    " errno -1",
    " # comment",
];

const SECTIONS: &[&str] = &[
    "[x86]", "[x32]", "[x86_64]", "[all]", "[arm64]", "[ppc64]", "[X86_64]",
];

const OPS: &[&str] = &[
    "==",
    "!=",
    "<",
    "<=",
    ">",
    ">=",
    "&=",
    "SCMP_CMP_MASKED_EQ",
    "SCMP_CMP_GT",
];

/// A well-formed (or nearly) version 2 policy.
fn generated(rng: &mut Rng) -> Vec<u8> {
    let mut t = String::from("2\n");
    t.push_str(rng.pick::<&str>(&["denylist", "allowlist", "blacklist", "whitelist"]));
    t.push_str(rng.pick::<&str>(&["", "", " errno 1", " kill", " trap", " allow", " errno 38"]));
    t.push('\n');
    for _ in 0..rng.below(20) {
        match rng.below(10) {
            0 => t.push_str(rng.pick::<&str>(SECTIONS)),
            1 => t.push_str("# a comment"),
            2 => t.push_str(""),
            _ => {
                t.push_str(rng.pick::<&str>(SYSCALLS));
                let action = *rng.pick(ACTIONS);
                t.push_str(action);
                if !action.is_empty() && !action.contains('#') && rng.chance(3) {
                    for _ in 0..1 + rng.below(3) {
                        let op = *rng.pick(OPS);
                        let mask = if rng.chance(2) { ",0xff" } else { "" };
                        t.push_str(&format!(
                            " [{},{},{op}{mask}]",
                            rng.below(7),
                            rng.next() % 70000
                        ));
                    }
                }
            }
        }
        t.push('\n');
    }
    t.into_bytes()
}

fn version1(rng: &mut Rng) -> Vec<u8> {
    let mut t = String::from("1\nallowlist\n");
    for _ in 0..rng.below(30) {
        t.push_str(&format!("{}\n", rng.below(400)));
    }
    t.into_bytes()
}

fn mutate(rng: &mut Rng, data: &mut Vec<u8>) {
    for _ in 0..1 + rng.below(6) {
        let at = rng.below(data.len() + 1);
        match rng.below(8) {
            0 if !data.is_empty() => {
                let i = at.min(data.len() - 1);
                data[i] ^= 1 << rng.below(8);
            }
            1 => data.insert(at, rng.next() as u8),
            2 => {
                let b = *rng.pick(&[b'\n', b'\r', 0, b' ', b'[', b']', b',', b'#', 0xff]);
                data.insert(at, b)
            }
            3 if at < data.len() => {
                let end = (at + rng.below(16)).min(data.len());
                data.drain(at..end);
            }
            4 if !data.is_empty() => {
                // A line again, somewhere else.
                let start = data[..at.min(data.len())]
                    .iter()
                    .rposition(|&b| b == b'\n')
                    .map_or(0, |i| i + 1);
                let end = data[start..]
                    .iter()
                    .position(|&b| b == b'\n')
                    .map_or(data.len(), |i| start + i + 1);
                let line = data[start..end].to_vec();
                let to = rng.below(data.len() + 1);
                data.splice(to..to, line);
            }
            5 if rng.chance(40) => {
                // A huge run: a line, a number, or brackets.
                let b = *rng.pick(b"x9[] ");
                let n = 1 + rng.below(1 << 16);
                data.splice(at..at, std::iter::repeat_n(b, n));
            }
            _ => {
                let t = *rng.pick(TOKENS);
                data.splice(at..at, t.iter().copied());
            }
        }
    }
}

/// The policies LXC ships, as starting points when present.
fn corpus() -> Vec<Vec<u8>> {
    let mut files = Vec::new();
    for dir in ["/usr/share/lxc/config", "/usr/share/doc/lxc/examples"] {
        if let Ok(rd) = fs::read_dir(dir) {
            for e in rd.flatten() {
                let name = e.file_name();
                let name = name.to_string_lossy();
                if name.contains("seccomp") {
                    if let Ok(text) = fs::read(e.path()) {
                        files.push(text);
                    }
                }
            }
        }
    }
    files
}

fn make_case(seed: u64, n: u64, corpus: &[Vec<u8>]) -> (Vec<u8>, HostArch) {
    let mut rng = Rng(seed ^ n.wrapping_mul(0xA076_1D64_78BD_642F));
    let mut text = match rng.below(10) {
        0 | 1 if !corpus.is_empty() => rng.pick(corpus).clone(),
        2 => version1(&mut rng),
        _ => generated(&mut rng),
    };
    if !rng.chance(5) {
        mutate(&mut rng, &mut text);
    }
    let host = *rng.pick(&[
        HostArch::Amd64,
        HostArch::Amd64,
        HostArch::Amd64,
        HostArch::I386,
        HostArch::Arm64,
        HostArch::Ppc64,
        HostArch::Unknown,
    ]);
    (text, host)
}

fn env_u64(name: &str) -> Option<u64> {
    let v = std::env::var(name).ok()?;
    let v = v.trim();
    match v.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16).ok(),
        None => v.parse().ok(),
    }
}

enum Outcome {
    Done { parsed: bool, compiled: bool },
    Panicked(String),
    Mismatch(String),
}

fn check_error(e: &PolicyError, path: &Path, lines: usize) -> Result<(), String> {
    let text = e.to_string();
    let prefix = format!("{}:", path.display());
    if !text.starts_with(&prefix) {
        return Err(format!("error does not name the policy: {text}"));
    }
    if text.len() > MESSAGE_BOUND {
        return Err(format!("error message is {} bytes", text.len()));
    }
    match e.line() {
        Some(l) if l >= 1 && l <= lines + 1 => {}
        other => return Err(format!("line {other:?} of {lines}: {text}")),
    }
    if !text.contains(", expected ") {
        return Err(format!("no `expected`: {text}"));
    }
    Ok(())
}

fn check_case(text: &[u8], host: HostArch) -> Outcome {
    let words: Vec<&PolicyWord> = LXC_WORDS.iter().collect();
    let path = Path::new("/fuzz/p.seccomp");
    let lines = text.iter().filter(|&&b| b == b'\n').count() + 1;
    let r = std::panic::catch_unwind(|| {
        let first = parse_with(path, text, host, &words);
        let again = parse_with(path, text, host, &words);
        match (&first, &again) {
            (Ok(a), Ok(b)) if a == b => {}
            (Err(a), Err(b)) if a.to_string() == b.to_string() => {}
            _ => return Outcome::Mismatch("two parses of the same text differ".into()),
        }
        let policy = match first {
            Err(e) => {
                return match check_error(&e, path, lines) {
                    Ok(()) => Outcome::Done {
                        parsed: false,
                        compiled: false,
                    },
                    Err(m) => Outcome::Mismatch(m),
                }
            }
            Ok(p) => p,
        };
        let mut last = 0;
        for rule in &policy.rules {
            if rule.line <= last || rule.line > lines || rule.args.len() > 6 {
                return Outcome::Mismatch(format!("rule at line {} after {last}", rule.line));
            }
            last = rule.line;
        }
        match compile(&policy, &CompileOptions::default()) {
            Ok(c) if c.program.is_empty() => Outcome::Mismatch("an empty program".into()),
            Ok(_) => Outcome::Done {
                parsed: true,
                compiled: true,
            },
            Err(e) => {
                let text = e.to_string();
                let line_ok = e.line().is_some_and(|l| l >= 1 && l <= lines);
                if text.starts_with("/fuzz/p.seccomp:") && line_ok && text.len() < MESSAGE_BOUND {
                    Outcome::Done {
                        parsed: true,
                        compiled: false,
                    }
                } else {
                    Outcome::Mismatch(format!("compile error: {text}"))
                }
            }
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
fn policy_reader_survives_mutated_policies() {
    let cases = env_u64("LXCRS_FUZZ_CASES").unwrap_or(10_000);
    let seconds = env_u64("LXCRS_FUZZ_SECONDS").unwrap_or(120);
    let seed = env_u64("LXCRS_FUZZ_SEED").unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64)
    });
    println!(
        "fuzz: seed {seed:#x}, up to {cases} cases, {seconds} s \
         (reproduce: LXCRS_FUZZ_SEED={seed:#x})"
    );
    let corpus = corpus();

    // One worker runs the cases, so a hang is seen as a missed deadline, not a stuck test.
    let (jobs, job_rx) = mpsc::channel::<(Vec<u8>, HostArch)>();
    let (done_tx, done) = mpsc::channel::<Outcome>();
    std::thread::spawn(move || {
        for (text, host) in job_rx {
            if done_tx.send(check_case(&text, host)).is_err() {
                break;
            }
        }
    });
    // Silence the default hook's message for caught panics; they are reported below.
    std::panic::set_hook(Box::new(|_| {}));

    let start = Instant::now();
    let deadline = Duration::from_secs(seconds);
    let (mut ran, mut parsed, mut compiled) = (0u64, 0u64, 0u64);
    for n in 0..cases {
        if start.elapsed() > deadline {
            break;
        }
        let (text, host) = make_case(seed, n, &corpus);
        jobs.send((text.clone(), host)).expect("worker alive");
        let shown = || {
            let head: Vec<u8> = text.iter().copied().take(600).collect();
            format!(
                "{host:?}, {} bytes: {:?}",
                text.len(),
                String::from_utf8_lossy(&head)
            )
        };
        let outcome = match done.recv_timeout(CASE_BOUND) {
            Ok(o) => o,
            Err(_) => {
                let _ = std::panic::take_hook();
                panic!(
                    "fuzz case {n} (seed {seed:#x}) did not finish within {CASE_BOUND:?}: {}",
                    shown()
                );
            }
        };
        match outcome {
            Outcome::Done {
                parsed: p,
                compiled: c,
            } => {
                parsed += u64::from(p);
                compiled += u64::from(c);
            }
            Outcome::Panicked(msg) => {
                let _ = std::panic::take_hook();
                panic!(
                    "fuzz case {n} (seed {seed:#x}) panicked: {msg}\n{}",
                    shown()
                );
            }
            Outcome::Mismatch(msg) => {
                let _ = std::panic::take_hook();
                panic!("fuzz case {n} (seed {seed:#x}): {msg}\n{}", shown());
            }
        }
        ran += 1;
    }
    let _ = std::panic::take_hook();
    println!(
        "fuzz: {ran} cases in {:.1} s: {parsed} parsed, {compiled} compiled",
        start.elapsed().as_secs_f64()
    );
    assert!(ran > 0, "no case ran");
    // The mix must keep exercising both sides of the reader.
    assert!(
        parsed > ran / 20 && parsed < ran,
        "{parsed} of {ran} parsed"
    );
}
