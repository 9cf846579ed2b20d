//! The policy reader and compiler from outside: every policy LXC ships reads and compiles,
//! errors name the file, the line and what was expected, and a compiled program does what
//! the policy says once loaded.

use std::fs;
use std::path::{Path, PathBuf};

use lxc_seccomp::compile::{compile, CompileError, CompileOptions};
use lxc_seccomp::policy::{
    parse, parse_file, parse_with, Action, HostArch, ListMode, Policy, PolicyError, PolicyWord,
    Target, LXC_WORDS, MAX_POLICY_BYTES,
};

/// LXC's whole vocabulary, as a full LXC reads policies.
fn lxc_words() -> Vec<&'static PolicyWord> {
    LXC_WORDS.iter().collect()
}

fn read(text: &str) -> Result<Policy, PolicyError> {
    parse_with(
        Path::new("/etc/p.seccomp"),
        text.as_bytes(),
        HostArch::Amd64,
        &lxc_words(),
    )
}

fn build(text: &str) -> Result<lxc_seccomp::compile::Compiled, CompileError> {
    let policy = read(text).expect("the policy parses");
    compile(&policy, &CompileOptions::default())
}

/// The policies LXC ships: Debian's install and the LXC source tree, where present.
fn shipped_policies() -> Vec<PathBuf> {
    let src = std::env::var("LXC_SRC").unwrap_or_else(|_| "/work/lxc-src".into());
    let src = Path::new(&src);
    type Wanted = fn(&str) -> bool;
    let places: Vec<(PathBuf, Wanted)> = vec![
        ("/usr/share/lxc/config".into(), |n| n.ends_with(".seccomp")),
        ("/usr/share/doc/lxc/examples".into(), |n| {
            n.starts_with("seccomp")
        }),
        (src.join("config/seccomp"), |_| true),
        (src.join("config/templates"), |n| n.ends_with(".seccomp")),
        (src.join("doc/examples"), |n| n.starts_with("seccomp")),
    ];
    let mut found = Vec::new();
    for (dir, wanted) in places {
        let Ok(rd) = fs::read_dir(&dir) else {
            println!("skipped {}: not present on this machine", dir.display());
            continue;
        };
        let mut files: Vec<PathBuf> = rd
            .flatten()
            .filter(|e| e.file_name().to_str().is_some_and(wanted))
            .map(|e| e.path())
            .filter(|p| p.is_file())
            .collect();
        files.sort();
        found.extend(files);
    }
    found
}

#[test]
fn every_shipped_policy_parses_and_compiles() {
    let files = shipped_policies();
    if files.is_empty() {
        println!("skipped: no LXC policy files on this machine");
        return;
    }
    for path in &files {
        let text = fs::read(path).unwrap();
        let policy = parse_with(path, &text, HostArch::detect(), &lxc_words())
            .unwrap_or_else(|e| panic!("{e}"));
        let compiled =
            compile(&policy, &CompileOptions { pfc: true }).unwrap_or_else(|e| panic!("{e}"));
        assert!(
            compiled.program.len() > 4,
            "{}: {} instructions",
            path.display(),
            compiled.program.len()
        );
        println!(
            "{}: version {}, {} rules, {} instructions",
            path.display(),
            policy.version,
            policy.rules.len(),
            compiled.program.len()
        );
    }
}

#[test]
fn common_seccomp_reads_with_the_linked_words() {
    let path = Path::new("/usr/share/lxc/config/common.seccomp");
    if !path.exists() {
        println!("skipped: {} is missing (Debian's lxc)", path.display());
        return;
    }
    // `denylist` belongs to seccomp_allow_deny_syntax: whether it reads depends on whether
    // that crate is linked into this binary.
    let linked = lxc_seccomp::policy::POLICY_WORDS
        .iter()
        .any(|w| w.word == "denylist");
    match parse_file(path) {
        Ok(policy) => {
            assert!(linked);
            assert_eq!(policy.mode, ListMode::Denylist);
            assert!(policy.reject_force_umount);
        }
        Err(e) => {
            assert!(!linked, "{e}");
            assert!(
                matches!(e, PolicyError::NeedsFeature { line: 2, .. }),
                "{e:?}"
            );
            assert_eq!(
                e.to_string(),
                format!(
                    "{}:2: `denylist` needs the seccomp_allow_deny_syntax feature, expected \
                     `whitelist` or `blacklist`",
                    path.display()
                )
            );
        }
    }
}

#[test]
fn parse_uses_the_registered_words() {
    // The base words are always linked.
    let policy = parse(Path::new("/p"), b"2\nblacklist errno 1\nread trap\n").unwrap();
    assert_eq!(policy.default_action, Action::Errno(1));
    assert_eq!(policy.rules[0].action, Action::Trap);
}

/// Each bad policy, the line its error names, and a phrase of the error.
const BAD: &[(&str, usize, &str)] = &[
    ("", 1, "expected 1 or 2"),
    (
        "two\ndenylist\n",
        1,
        "`two` where the policy version belongs",
    ),
    ("3\ndenylist\n", 1, "policy version `3`, expected 1 or 2"),
    ("2\n", 2, "expected a policy type line"),
    (
        "2\ngreylist\n",
        2,
        "policy type `greylist`, expected `whitelist`",
    ),
    ("2\ndenylist debug\n", 2, "`debug`"),
    ("2\ndenylist \n", 2, "a space after the policy type"),
    (
        "2\ndenylist errno\n",
        2,
        "`errno` has no number, expected `errno <number>`",
    ),
    (
        "2\ndenylist sometimes\n",
        2,
        "unrecognized action `sometimes`, expected `kill`",
    ),
    ("1\nwhitelist\n", 2, "expected `allowlist`"),
    (
        "1\nallowlist\n1\nread\n",
        4,
        "`read` in a version 1 policy, expected one decimal",
    ),
    (
        "2\ndenylist\n\n[sparc]\n",
        4,
        "unsupported architecture section `[sparc]`",
    ),
    (
        "2\ndenylist\n[x86_64]  \n",
        3,
        "unsupported architecture section",
    ),
    (
        "2\ndenylist\nread maybe\n",
        3,
        "unrecognized action `maybe`",
    ),
    ("2\ndenylist\n  read\n", 3, "unrecognized action `read`"),
    (
        "2\ndenylist\nread errno one\n",
        3,
        "`errno one` has no number",
    ),
    (
        "2\ndenylist\nmount [0,1,==]\n",
        3,
        "unrecognized action `[0,1,==]`",
    ),
    (
        "2\ndenylist\nmount errno 1 [7,1,==]\n",
        3,
        "index out of range",
    ),
    ("2\ndenylist\nmount errno 1 [x,1,==]\n", 3, "has no index"),
    ("2\ndenylist\nmount errno 1 [0,,==]\n", 3, "has no value"),
    ("2\ndenylist\nmount errno 1 [0,1,]\n", 3, "has no operator"),
    (
        "2\ndenylist\nmount errno 1 [0,1x,==]\n",
        3,
        "argument value `1x`",
    ),
    (
        "2\ndenylist\nmount errno 1 [0,1,=~]\n",
        3,
        "comparison operator `=~`",
    ),
    (
        "2\ndenylist\nmount errno 1 [0,1,&=,m]\n",
        3,
        "argument mask `m`",
    ),
    (
        "2\ndenylist\nmount errno 1 [0,1,==] # c\n",
        3,
        "outside an argument comparison",
    ),
];

#[test]
fn errors_name_file_line_and_what_was_expected() {
    for (text, line, phrase) in BAD {
        let e = read(text).expect_err(text);
        assert_eq!(e.line(), Some(*line), "{text:?}: {e}");
        let shown = e.to_string();
        assert!(
            shown.starts_with(&format!("/etc/p.seccomp:{line}: ")),
            "{text:?}: {shown}"
        );
        assert!(shown.contains(phrase), "{text:?}: {shown}");
        assert!(shown.contains(", expected "), "{text:?}: {shown}");
    }
}

#[test]
fn a_huge_line_makes_a_short_error() {
    let text = format!("2\ndenylist\nread {}\n", "z".repeat(1 << 20));
    let e = read(&text).unwrap_err().to_string();
    assert!(e.len() < 400, "{} bytes", e.len());
}

#[test]
fn words_of_unlinked_features_are_named() {
    let base: Vec<&PolicyWord> = LXC_WORDS
        .iter()
        .filter(|w| w.owner == lxc_seccomp::NAME)
        .collect();
    let e = parse_with(
        Path::new("/p"),
        b"2\nwhitelist\nread\nioctl notify\n",
        HostArch::Amd64,
        &base,
    )
    .unwrap_err();
    match &e {
        PolicyError::NeedsFeature {
            line,
            word,
            feature,
            ..
        } => {
            assert_eq!(
                (*line, word.as_str(), feature.as_str()),
                (4, "notify", "seccomp_notify")
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(e
        .to_string()
        .starts_with("/p:4: `notify` needs the seccomp_notify feature, expected `kill`"));
}

#[test]
fn parse_file_errors() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.seccomp");
    let e = parse_file(&missing).unwrap_err();
    assert!(matches!(&e, PolicyError::Read { path, .. } if path == &missing));
    assert!(e.to_string().contains("nope.seccomp"), "{e}");

    let big = dir.path().join("big.seccomp");
    fs::File::create(&big)
        .unwrap()
        .set_len(MAX_POLICY_BYTES + 1)
        .unwrap();
    let e = parse_file(&big).unwrap_err();
    assert!(matches!(e, PolicyError::TooLarge { .. }), "{e:?}");
    assert!(e.to_string().starts_with(&big.display().to_string()), "{e}");
}

#[test]
fn compile_errors_name_line_and_syscall() {
    let cases: &[(&str, usize, &str)] = &[
        (
            "2\ndenylist\nread errno 1\nwrite allow\n",
            4,
            "rule for `write` (native)",
        ),
        (
            "2\ndenylist\nread errno 9999\n",
            3,
            "expected an errno from 0 to 4094",
        ),
        (
            "2\ndenylist errno 4095\nread\n",
            2,
            "default action `errno 4095`",
        ),
        (
            "2\ndenylist\nmount errno 1 [1,1,==] [1,2,!=]\n",
            3,
            "expected each argument compared at most once",
        ),
        ("1\nallowlist\n0\n-5\n", 4, "rule for `-5`"),
        ("2\nwhitelist\nread kill\n", 3, "policy's default `kill`"),
    ];
    for (text, line, phrase) in cases {
        let e = build(text).expect_err(text);
        assert_eq!(e.line(), Some(*line), "{text:?}: {e}");
        let shown = e.to_string();
        assert!(
            shown.starts_with(&format!("/etc/p.seccomp:{line}: ")),
            "{text:?}: {shown}"
        );
        assert!(shown.contains(phrase), "{text:?}: {shown}");
        assert!(shown.contains(", expected "), "{text:?}: {shown}");
    }
}

#[test]
fn unknown_syscalls_are_skipped_and_listed() {
    let c = build("2\ndenylist\nnot_a_syscall errno 1\nkexec_load errno 1\nread\r\n").unwrap();
    let unknown: Vec<_> = c.unknown.iter().map(|u| (u.line, u.name.clone())).collect();
    assert_eq!(
        unknown,
        vec![(3, "not_a_syscall".to_string()), (5, "read\r".to_string())]
    );
}

#[test]
fn sections_for_other_machines_are_not_read() {
    let policy =
        read("2\ndenylist\n[arm64]\nthis is [not, parsed\n[all]\nkexec_load errno 1\n").unwrap();
    assert_eq!(policy.rules.len(), 1);
    assert_eq!(policy.rules[0].target, Target::Syscall("kexec_load".into()));
    // The same policy on an arm64 host reads that line, and refuses it.
    let e = parse_with(
        Path::new("/p"),
        b"2\ndenylist\n[arm64]\nthis is [not, parsed\n",
        HostArch::Arm64,
        &lxc_words(),
    )
    .unwrap_err();
    assert_eq!(e.line(), Some(4));
}

/// Run `f` in a forked child with `program` loaded; the child's exit code is what `f`
/// returns. The child only makes system calls before it exits.
#[cfg(target_arch = "x86_64")]
fn in_filtered_child(program: &[libc::sock_filter], f: fn() -> i32) -> i32 {
    // SAFETY: the child makes only async-signal-safe calls (prctl, seccomp, the probed
    // syscalls, _exit) and never returns into the test harness.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork");
    if pid == 0 {
        // SAFETY: prctl with constant arguments; the filter load only reads `program`.
        unsafe {
            libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
        }
        let code = match lxc_seccomp::sys::load_filter(program, 0) {
            Ok(_) => f(),
            Err(_) => 100,
        };
        // SAFETY: leaving the forked child without running the parent's destructors.
        unsafe { libc::_exit(code) }
    }
    let mut status = 0;
    // SAFETY: waiting for our own child, with a valid status pointer.
    let waited = unsafe { libc::waitpid(pid, &mut status, 0) };
    assert_eq!(waited, pid);
    assert!(libc::WIFEXITED(status), "child status {status:#x}");
    libc::WEXITSTATUS(status)
}

#[cfg(target_arch = "x86_64")]
#[test]
fn the_compiled_program_does_what_the_policy_says() {
    let c = build(concat!(
        "2\ndenylist\n",
        "reject_force_umount\n",
        "[all]\n",
        "kexec_load errno 1\n",
        "personality errno 22 [0,0x1234,==]\n",
        "not_a_syscall kill\n",
    ))
    .unwrap();
    fn probe() -> i32 {
        let errno = || std::io::Error::last_os_error().raw_os_error().unwrap_or(0);
        // SAFETY: raw syscalls with harmless arguments: the filter answers before the kernel
        // does anything (and a plain umount2 of a path that is not mounted does nothing).
        unsafe {
            if libc::syscall(libc::SYS_kexec_load, 0, 0, 0, 0) != -1 || errno() != libc::EPERM {
                return 1;
            }
            if libc::umount2(c"/nonexistent".as_ptr(), libc::MNT_FORCE) != -1
                || errno() != libc::EACCES
            {
                return 2;
            }
            // Without MNT_FORCE the kernel answers (not mounted / no such path).
            if libc::umount2(c"/nonexistent".as_ptr(), 0) != -1 || errno() == libc::EACCES {
                return 3;
            }
            if libc::personality(0x1234) != -1 || errno() != libc::EINVAL {
                return 4;
            }
            // Other arguments pass: 0xffffffff only queries the persona.
            if libc::personality(0xffff_ffff) == -1 {
                return 5;
            }
        }
        0
    }
    assert_eq!(in_filtered_child(&c.program, probe), 0);
}
