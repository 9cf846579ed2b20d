//! Seccomp policies (`lxc.seccomp.profile`) under lxc-rs and under LXC 5.0.2, side by side: for
//! every policy of a corpus, one busybox container runs a probe with `lxc-execute` and another
//! runs it with `lxc-rs execute`, and each system call of the probe must end the same way under
//! both (returned, the same errno, the same trap, killed by the same signal, the same thread
//! killed), with the same files left in its work directory and the same exit status; or the
//! start must fail under both (the exit status is then not compared: LXC 5.0.2 exits 1 when
//! the filter kills its init, or dies of SIGPIPE on its sync socket; lxc-rs exits 128 + 31).
//!
//! The corpus: the policies LXC ships (`common.seccomp`, the three of its doc/examples), and the
//! files in `tests/seccomp/` (v1, v2 allowlists and denylists with each default action, the
//! architecture sections, every argument operator LXC spells, `reject_force_umount`, unknown
//! names, trap, kill, errno values, comments, how a line is split, and policies LXC refuses).
//! The probe is `tests/seccomp/probe.c`, built static here; its header lists what it prints.
//!
//! Both runtimes run the container's own config (made by `lxc-rs create -t busybox`) with
//! `-s lxc.seccomp.profile=FILE`; LXC also gets `common::LXC_START_HERE`, as in lxc_peer.rs.
//! Each policy also names what LXC itself shows for a few calls (taken from LXC's seccomp.c and
//! checked against the installed LXC on every run): a policy LXC ignored would otherwise
//! compare equal to one lxc-rs ignored.
//!
//! The allowlists list what both runtimes call between loading the filter and exec'ing the
//! command; the policies that deny those calls themselves are the second test below.

#![cfg(target_arch = "x86_64")] // the probe's i386 and x32 calls, the v1 policy's numbers

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::TestContainer;

/// The probe's source and the policies written for this test.
const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/seccomp");

/// Where Debian's LXC installs the policies it ships (package liblxc-common).
const LXC_CONFIG: &str = "/usr/share/lxc/config";
const LXC_EXAMPLES: &str = "/usr/share/doc/lxc/examples";

/// Longer than any run takes by far (one takes well under a second): only a hang gets here.
const RUN_LIMIT: Duration = Duration::from_secs(60);

/// Where a policy comes from.
enum Source {
    /// No `lxc.seccomp.profile` at all: the control run.
    Nothing,
    /// A file LXC ships, by its installed path.
    Lxc(&'static str, &'static str),
    /// A file of `tests/seccomp/`.
    Fixture(&'static str),
    /// A path that does not exist.
    Missing,
}

/// What LXC shows for a policy (LXC's facts, checked on every run).
enum Lxc {
    /// The probe ran; these cases ended so (the others are compared only).
    Shows(&'static [(&'static str, &'static str)]),
    /// The start failed: the probe printed nothing.
    Refuses,
}

struct Policy {
    name: &'static str,
    source: Source,
    lxc: Lxc,
}

/// The corpus. The comments say why LXC 5.0.2 does what `lxc` says, by its seccomp.c.
fn corpus() -> Vec<Policy> {
    use Lxc::{Refuses, Shows};
    use Source::{Fixture, Missing, Nothing};
    let p = |name, source, lxc| Policy { name, source, lxc };
    vec![
        p("none", Nothing, Shows(&[("umount2_force", "errno 2")])),
        // reject_force_umount, then [all] with errno 1 for the module and kexec calls.
        p(
            "common.seccomp",
            Source::Lxc(LXC_CONFIG, "common.seccomp"),
            Shows(&[
                ("umount2", "errno 2"),
                ("umount2_force", "errno 13"),
                ("umount2_force_detach", "errno 13"),
                ("kexec_load", "errno 1"),
                ("open_by_handle_at", "errno 1"),
                ("init_module", "errno 1"),
                ("finit_module", "errno 1"),
                ("delete_module", "errno 1"),
            ]),
        ),
        // Numbers 0-300 and 1024-1079 allowed, the rest killed: the runtime's own later calls
        // (close_range, rseq in the command's C library) are not among them.
        p(
            "seccomp-v1.conf",
            Source::Lxc(LXC_EXAMPLES, "seccomp-v1.conf"),
            Refuses,
        ),
        // An allowlist of six calls with trap: the first other call of the container's first
        // process traps.
        p(
            "seccomp-v2.conf",
            Source::Lxc(LXC_EXAMPLES, "seccomp-v2.conf"),
            Refuses,
        ),
        // mknod errno 0: mknod returns 0 and makes nothing (see the "workdir" line).
        p(
            "seccomp-v2-denylist.conf",
            Source::Lxc(LXC_EXAMPLES, "seccomp-v2-denylist.conf"),
            Shows(&[
                ("mknod_fifo", "ok"),
                ("mknod_chr", "ok"),
                ("workdir", "d d32 f"),
            ]),
        ),
        // v1: one number a line, allowed; the default is kill, and the filter has only the
        // native architecture, so i386 and x32 calls meet libseccomp's bad-arch action (kill).
        p(
            "v1-allowlist",
            Fixture("v1-allowlist.seccomp"),
            Shows(&[
                ("getpid", "ok"),
                ("mkdir", "signal 31"),
                ("keyctl", "signal 31"),
                ("keyctl_thread", "thread-killed"),
                ("i386_getpid", "signal 31"),
                ("x32_getpid", "signal 31"),
            ]),
        ),
        // v1 accepts only a second line containing "allowlist".
        p(
            "v1-whitelist-word",
            Fixture("v1-whitelist-word.seccomp"),
            Refuses,
        ),
        p(
            "allowlist-kill",
            Fixture("allowlist-kill.seccomp"),
            Shows(&[
                ("getpid", "ok"),
                ("i386_getpid", "ok"),
                ("x32_getpid", "errno 38"),
                ("socket_unix", "signal 31"),
                ("keyctl_thread", "thread-killed"),
                ("i386_mkdir", "signal 31"),
            ]),
        ),
        // No default after "allowlist": kill. `socket allow [0,1,==]` lets AF_UNIX through.
        p(
            "allowlist-default",
            Fixture("allowlist-default.seccomp"),
            Shows(&[
                ("socket_unix", "ok"),
                ("socket_unix_dgram_cloexec", "ok"),
                ("socket_inet", "signal 31"),
                ("mkdir", "signal 31"),
            ]),
        ),
        // "whitelist errno 1": EPERM for what is not listed, mkdir's own errno 28 for mkdir.
        p(
            "whitelist-errno",
            Fixture("whitelist-errno.seccomp"),
            Shows(&[
                ("mkdir", "errno 28"),
                ("i386_mkdir", "errno 28"),
                ("keyctl_thread", "errno 1"),
                ("socket_unix", "errno 1"),
                ("i386_personality", "errno 1"),
            ]),
        ),
        p(
            "allowlist-trap",
            Fixture("allowlist-trap.seccomp"),
            Shows(&[
                ("mkdir", "trap"),
                ("keyctl_thread", "trap"),
                ("i386_socketcall", "trap"),
                ("getpid", "ok"),
            ]),
        ),
        // The rule goes in with EACCES whatever the list's actions; umount2 itself is not
        // listed here (a plain `umount2` rule would cover it: libseccomp lets a rule without
        // arguments win over one with).
        p(
            "reject-force-umount",
            Fixture("reject-force-umount.seccomp"),
            Shows(&[
                ("umount2", "errno 38"),
                ("umount2_detach", "errno 38"),
                ("umount2_force", "errno 13"),
                ("umount2_force_detach", "errno 13"),
                ("mkdir", "errno 38"),
            ]),
        ),
        // Bare names in a denylist are killed; errno N as written.
        p(
            "denylist-errno",
            Fixture("denylist-errno.seccomp"),
            Shows(&[
                ("mkdir", "errno 1"),
                ("i386_mkdir", "errno 1"),
                ("mknod_fifo", "errno 5"),
                ("keyctl", "errno 38"),
                ("ptrace", "errno 1"),
                ("reboot", "errno 22"),
                ("add_key", "signal 31"),
            ]),
        ),
        p(
            "blacklist-allow",
            Fixture("blacklist-allow.seccomp"),
            Shows(&[
                ("kexec_load", "errno 1"),
                ("open_by_handle_at", "errno 13"),
                ("init_module", "errno 19"),
                ("finit_module", "errno 22"),
                ("delete_module", "errno 95"),
                ("bpf", "errno 1"),
                ("unshare_uts", "errno 1"),
                ("mkdir", "ok"),
            ]),
        ),
        // On an x86_64 host LXC only skips the sections of other hosts: a rule under [x86],
        // [x32] or [x86_64] goes into the native filter and every compat one alike.
        p(
            "arch-sections",
            Fixture("arch-sections.seccomp"),
            Shows(&[
                ("clock_settime", "errno 4"),
                ("mkdir", "errno 11"),
                ("i386_mkdir", "errno 11"),
                ("personality_query", "errno 12"),
                ("i386_personality", "errno 12"),
                ("swapoff", "errno 13"),
                ("unshare_uts", "errno 14"),
                ("keyctl", "errno 15"),
            ]),
        ),
        p(
            "arch-foreign",
            Fixture("arch-foreign.seccomp"),
            Shows(&[
                ("mkdir", "ok"),
                ("mknod_fifo", "ok"),
                ("personality_query", "ok"),
                ("keyctl", "errno 95"),
                ("reboot", "errno 22"),
                ("swapoff", "errno 2"),
                ("chmod", "errno 7"),
            ]),
        ),
        // LXC 5.0.2 knows no [compat] section: "Unsupported architecture".
        p("arch-compat", Fixture("arch-compat.seccomp"), Refuses),
        p(
            "args-eq",
            Fixture("args-eq.seccomp"),
            Shows(&[
                ("socket_inet", "errno 97"),
                ("socket_inet_dgram", "errno 97"),
                ("socket_unix", "ok"),
                ("socket_inet6", "ok"),
            ]),
        ),
        p(
            "args-ne",
            Fixture("args-ne.seccomp"),
            Shows(&[
                ("socket_unix", "ok"),
                ("socket_inet", "errno 97"),
                ("socket_netlink", "errno 97"),
            ]),
        ),
        p(
            "args-lt",
            Fixture("args-lt.seccomp"),
            Shows(&[
                ("socket_unix", "errno 97"),
                ("socket_inet", "errno 97"),
                ("socket_inet6", "ok"),
            ]),
        ),
        p(
            "args-le",
            Fixture("args-le.seccomp"),
            Shows(&[("socket_inet", "errno 97"), ("socket_inet6", "ok")]),
        ),
        p(
            "args-gt",
            Fixture("args-gt.seccomp"),
            Shows(&[("socket_inet6", "ok"), ("socket_netlink", "errno 97")]),
        ),
        p(
            "args-ge",
            Fixture("args-ge.seccomp"),
            Shows(&[
                ("socket_inet", "ok"),
                ("socket_inet6", "errno 97"),
                ("socket_netlink", "errno 97"),
            ]),
        ),
        // [index,value,&=,mask] is (argument & mask) == value.
        p(
            "args-masked",
            Fixture("args-masked.seccomp"),
            Shows(&[
                ("chmod", "errno 2"),
                ("chmod_setuid", "errno 1"),
                ("socket_unix", "ok"),
                ("socket_unix_dgram_cloexec", "errno 22"),
                ("socket_inet_dgram", "errno 22"),
                ("umount2_force", "errno 2"),
                ("umount2_detach", "errno 16"),
                ("umount2_force_detach", "errno 16"),
            ]),
        ),
        p(
            "args-scmp-names",
            Fixture("args-scmp-names.seccomp"),
            Shows(&[
                ("socket_inet6", "errno 97"),
                ("socket_inet", "ok"),
                ("umount2_force", "errno 16"),
                ("umount2_detach", "errno 2"),
                ("personality_query", "ok"),
                ("personality_linux32", "errno 1"),
                ("mknod_fifo", "errno 5"),
            ]),
        ),
        p(
            "args-multi",
            Fixture("args-multi.seccomp"),
            Shows(&[
                ("socket_inet_dgram", "errno 1"),
                ("socket_inet", "ok"),
                ("kill0", "errno 3"),
            ]),
        ),
        p(
            "personality",
            Fixture("personality.seccomp"),
            Shows(&[
                ("personality_query", "ok"),
                ("personality_linux32", "errno 1"),
                ("i386_personality", "ok"),
            ]),
        ),
        // Rules with arguments need an action word: "[0,2,==]" is read as one and refused.
        p("args-no-action", Fixture("args-no-action.seccomp"), Refuses),
        p("args-bad-op", Fixture("args-bad-op.seccomp"), Refuses),
        p("args-bad-index", Fixture("args-bad-index.seccomp"), Refuses),
        // Unknown names are skipped; socketcall is only a name on i386.
        p(
            "unknown-names",
            Fixture("unknown-names.seccomp"),
            Shows(&[
                ("mkdir", "errno 2"),
                ("i386_socketcall", "errno 5"),
                ("socket_unix", "ok"),
            ]),
        ),
        p(
            "trap",
            Fixture("trap.seccomp"),
            Shows(&[
                ("keyctl", "trap"),
                ("keyctl_thread", "trap"),
                ("ptrace", "trap"),
                ("mkdir", "trap"),
                ("i386_mkdir", "trap"),
            ]),
        ),
        // No "log" action in LXC 5.0.2: "Unrecognized seccomp action".
        p("log", Fixture("log.seccomp"), Refuses),
        // "kill" is SCMP_ACT_KILL, which kills the calling thread; action words are read by
        // their first letters, so "kill_process" is the same kill.
        p(
            "kill",
            Fixture("kill.seccomp"),
            Shows(&[
                ("keyctl", "signal 31"),
                ("keyctl_thread", "thread-killed"),
                ("ptrace", "signal 31"),
                ("ptrace_thread", "thread-killed"),
                ("add_key", "signal 31"),
            ]),
        ),
        p(
            "errno-values",
            Fixture("errno-values.seccomp"),
            Shows(&[
                ("mkdir", "ok"),
                ("mknod_fifo", "errno 4094"),
                ("workdir", "f"),
            ]),
        ),
        // libseccomp refuses errno 4095 and above.
        p("errno-too-big", Fixture("errno-too-big.seccomp"), Refuses),
        p(
            "comments-blank",
            Fixture("comments-blank.seccomp"),
            Shows(&[
                ("mkdir", "errno 1"),
                ("keyctl", "signal 31"),
                ("keyctl_thread", "thread-killed"),
                ("personality_linux32", "ok"),
            ]),
        ),
        // A second plain rule for a call is taken without effect; a plain rule wins over
        // reject_force_umount's rule with an argument.
        p(
            "duplicate-rules",
            Fixture("duplicate-rules.seccomp"),
            Shows(&[
                ("mkdir", "errno 1"),
                ("umount2", "errno 5"),
                ("umount2_force", "errno 5"),
            ]),
        ),
        p("bad-version", Fixture("bad-version.seccomp"), Refuses),
        // "debug" on the list line: "Debug not yet implemented".
        p("debug", Fixture("debug.seccomp"), Refuses),
        p("missing-file", Missing, Refuses),
        // How LXC reads a line, down to its spaces.
        // The action is what follows the first space: here "mkdir errno 1", unrecognized.
        p("leading-space", Fixture("leading-space.seccomp"), Refuses),
        // "mkdir\terrno" has no space: one unknown name, skipped.
        p(
            "tab-separator",
            Fixture("tab-separator.seccomp"),
            Shows(&[("mkdir", "ok"), ("keyctl", "errno 5")]),
        ),
        p(
            "errno-no-number",
            Fixture("errno-no-number.seccomp"),
            Refuses,
        ),
        // Action words are compared by their first letters (strncmp on "kill", "trap", ...),
        // and the errno number is read right after "errno".
        p(
            "action-prefixes",
            Fixture("action-prefixes.seccomp"),
            Shows(&[
                ("mkdir", "errno 1"),
                ("keyctl", "trap"),
                ("keyctl_thread", "trap"),
                ("add_key", "signal 31"),
            ]),
        ),
        // libseccomp refuses a rule whose action is the filter's default (EACCES).
        p(
            "rule-is-default",
            Fixture("rule-is-default.seccomp"),
            Refuses,
        ),
        // "Bad seccomp policy style": the list words are lower case.
        p(
            "upper-case-word",
            Fixture("upper-case-word.seccomp"),
            Refuses,
        ),
        // Sections are compared whole: "[all] " is an unsupported architecture.
        p(
            "section-trailing-space",
            Fixture("section-trailing-space.seccomp"),
            Refuses,
        ),
        // Only "\n" is taken off a line: "[all]\r" is an unsupported architecture.
        p("crlf", Fixture("crlf.seccomp"), Refuses),
        p(
            "empty-denylist",
            Fixture("empty-denylist.seccomp"),
            Shows(&[("mkdir", "ok"), ("umount2_force", "errno 2")]),
        ),
        // "Invalid version", "Invalid config file".
        p("empty-file", Fixture("empty-file.seccomp"), Refuses),
        p("version-only", Fixture("version-only.seccomp"), Refuses),
        // v1 reads every line as a number, a blank last line too.
        p("v1-blank-line", Fixture("v1-blank-line.seccomp"), Refuses),
        // On i386 libseccomp compares with the value's low 32 bits (0 here: always >=).
        p(
            "arg-64bit",
            Fixture("arg-64bit.seccomp"),
            Shows(&[
                ("personality_query", "ok"),
                ("personality_linux32", "ok"),
                ("i386_personality", "errno 1"),
            ]),
        ),
        // LXC reads at most six comparisons a rule; a seventh is dropped unread.
        p(
            "seven-args",
            Fixture("seven-args.seccomp"),
            Shows(&[
                ("socket_inet", "errno 97"),
                ("socket_inet_dgram", "ok"),
                ("socket_unix", "ok"),
            ]),
        ),
        // libseccomp refuses two comparisons of one argument in a rule (EINVAL).
        p("same-arg-twice", Fixture("same-arg-twice.seccomp"), Refuses),
    ]
}

impl Policy {
    /// The profile's path, or None for no profile.
    fn path(&self) -> Option<PathBuf> {
        match self.source {
            Source::Nothing => None,
            Source::Lxc(dir, file) => Some(Path::new(dir).join(file)),
            Source::Fixture(file) => Some(Path::new(FIXTURES).join(file)),
            Source::Missing => Some(PathBuf::from(
                "/nonexistent/lxcrs-t-seccomp-differential.seccomp",
            )),
        }
    }
}

#[test]
fn seccomp_policies_end_each_call_as_under_lxc() {
    differential("scd", corpus());
}

/// Policies that deny calls the runtimes make themselves between loading the filter and
/// exec'ing the command: LXC makes no id call when the ids do not change, forks its init's
/// child with clone and waits with signal handlers; lxc-rs must start the same ones (it once
/// failed three of them: decisions 60).
#[test]
fn seccomp_policies_on_the_runtimes_own_calls_as_under_lxc() {
    differential("scdpost", after_load_corpus());
}

/// The policies of the test above, with what LXC 5.0.2 does (start.c, initutils.c).
fn after_load_corpus() -> Vec<Policy> {
    use Lxc::{Refuses, Shows};
    use Source::Fixture;
    let p = |name, source, lxc| Policy { name, source, lxc };
    let runs: &[(&str, &str)] = &[("getpid", "ok")];
    vec![
        // do_start: new_uid/new_gid are dropped when they equal the current ids.
        p(
            "after-load-no-id-change",
            Fixture("after-load-no-id-change.seccomp"),
            Shows(runs),
        ),
        // lxc_container_init forks with fork(): clone.
        p(
            "after-load-clone3-eperm",
            Fixture("after-load-clone3-eperm.seccomp"),
            Shows(runs),
        ),
        p(
            "after-load-clone3-enosys",
            Fixture("after-load-clone3-enosys.seccomp"),
            Shows(runs),
        ),
        // lxc_container_init waits in wait() with signal handlers.
        p(
            "after-load-rt-sigtimedwait",
            Fixture("after-load-rt-sigtimedwait.seccomp"),
            Shows(runs),
        ),
        // lxc_drop_groups fails the start.
        p(
            "after-load-setgroups",
            Fixture("after-load-setgroups.seccomp"),
            Refuses,
        ),
        // Failures LXC only warns about, or ignores (setsid, the stdio permissions).
        p(
            "after-load-optional-calls",
            Fixture("after-load-optional-calls.seccomp"),
            Shows(runs),
        ),
    ]
}

/// Runs every policy of `corpus` under LXC (container `lxcrs-t-TEST-lxc-PID`) and under
/// lxc-rs (`lxcrs-t-TEST-rs-PID`), prints the table, and asserts LXC's facts and that every
/// result agrees.
fn differential(test: &str, corpus: Vec<Policy>) {
    require_root!();
    if !common::lxc_tools_present(&["lxc-execute"]) {
        eprintln!("skipped: LXC's lxc-execute is not installed (apt-get install lxc)");
        return;
    }
    // The corpus is read as a full LXC 5.0.2 reads it: with every word of its vocabulary.
    if !lxc::has_api_extension("seccomp_allow_deny_syntax") {
        eprintln!(
            "skipped: the corpus uses allowlist/denylist, which need seccomp_allow_deny_syntax"
        );
        return;
    }
    let tmp = TempDir::new(&format!("lxcrs-t-{test}-probe-{}", std::process::id()));
    let probe = match build_probe(&tmp.0) {
        Ok(p) => p,
        Err(why) => {
            eprintln!("skipped: {why}");
            return;
        }
    };

    for p in &corpus {
        if let Source::Lxc(..) = p.source {
            let path = p.path().unwrap();
            assert!(
                path.is_file(),
                "{} is missing: it comes with LXC's tools (Debian's liblxc-common)",
                path.display()
            );
        }
    }

    let lxc = Side::new(&format!("{test}-lxc"), Runtime::Lxc, &probe);
    let rs = Side::new(&format!("{test}-rs"), Runtime::LxcRs, &probe);

    let mut table = String::new();
    let mut disagreements = Vec::new();
    let mut lxc_surprises = Vec::new();
    let (mut agreed, mut compared) = (0usize, 0usize);
    for policy in &corpus {
        let (a, b) = (lxc.run(policy), rs.run(policy));
        let (oa, ob) = (a.outcome(), b.outcome());
        lxc_surprises.extend(lxc_facts(policy, &a, &oa));

        let row = compare(&oa, &ob);
        agreed += row.agree;
        compared += row.total;
        let kind = match (&oa, &ob) {
            (Outcome::Ran(_), Outcome::Ran(_)) => "ran",
            (Outcome::Failed { .. }, Outcome::Failed { .. }) => "refused",
            _ => "ran/refused",
        };
        let _ = writeln!(
            table,
            "{:<26} {:<11} {:>3}/{:<3} agree  (exit: LXC {:?}, lxc-rs {:?})",
            policy.name, kind, row.agree, row.total, a.status, b.status
        );
        if kind == "refused" {
            let _ = writeln!(table, "    LXC:    {}", first_error(&a.stderr));
            let _ = writeln!(table, "    lxc-rs: {}", first_error(&b.stderr));
        }
        for d in &row.diffs {
            let _ = writeln!(table, "    DIFFERS {d}");
        }
        if !row.diffs.is_empty() {
            disagreements.push(format!(
                "policy {}:\n  {}\n  LXC: {}\n  lxc-rs: {}",
                policy.name,
                row.diffs.join("\n  "),
                a.describe(),
                b.describe()
            ));
        }
    }
    println!(
        "seccomp differential: {} policies, {agreed}/{compared} results agree\n{table}",
        corpus.len()
    );

    assert!(
        lxc_surprises.is_empty(),
        "LXC itself did not show what its source says (is the policy in force?):\n{}",
        lxc_surprises.join("\n")
    );
    assert!(
        disagreements.is_empty(),
        "{} of {compared} results differ between LXC and lxc-rs:\n{}",
        disagreements.len(),
        disagreements.join("\n")
    );
}

/// Where `policy`'s LXC facts do not hold in LXC's run, one line each.
fn lxc_facts(policy: &Policy, run: &Run, outcome: &Outcome) -> Vec<String> {
    let name = policy.name;
    match (&policy.lxc, outcome) {
        (Lxc::Shows(want), Outcome::Ran(cases)) => want
            .iter()
            .filter_map(|(case, result)| {
                let got = cases.get(*case).map(String::as_str).unwrap_or("(none)");
                (got != *result).then(|| format!("{name}: {case}: want `{result}`, LXC `{got}`"))
            })
            .collect(),
        (Lxc::Refuses, Outcome::Failed { printed, success }) if printed.is_empty() && !success => {
            Vec::new()
        }
        (Lxc::Refuses, _) => vec![format!(
            "{name}: want a failed start, LXC: {}",
            run.describe()
        )],
        (Lxc::Shows(_), Outcome::Failed { .. }) => vec![format!(
            "{name}: want the probe to run, LXC: {}",
            run.describe()
        )],
    }
}

/// One policy's comparison.
struct Row {
    agree: usize,
    total: usize,
    /// `case: LXC `..`, lxc-rs `..``, one per result that differs.
    diffs: Vec<String>,
}

/// Case by case when both ran the probe; else the runs as a whole.
fn compare(lxc: &Outcome, rs: &Outcome) -> Row {
    let mut row = Row {
        agree: 0,
        total: 0,
        diffs: Vec::new(),
    };
    match (lxc, rs) {
        (Outcome::Ran(ca), Outcome::Ran(cb)) => {
            let names: BTreeSet<&String> = ca.keys().chain(cb.keys()).collect();
            for case in names {
                row.total += 1;
                let ra = ca.get(case).map(String::as_str).unwrap_or("(missing)");
                let rb = cb.get(case).map(String::as_str).unwrap_or("(missing)");
                if ra == rb {
                    row.agree += 1;
                } else {
                    row.diffs.push(format!("{case}: LXC `{ra}`, lxc-rs `{rb}`"));
                }
            }
        }
        _ => {
            row.total = 1;
            if lxc == rs {
                row.agree = 1;
            } else {
                row.diffs.push(format!(
                    "the run: LXC {}, lxc-rs {}",
                    summary(lxc),
                    summary(rs)
                ));
            }
        }
    }
    row
}

/// What a run comes to, for the comparison.
#[derive(PartialEq, Debug)]
enum Outcome {
    /// The probe ran to its end: each case's result, `workdir` (the names the run left in the
    /// work directory) and `exit` (the tool's exit status).
    Ran(BTreeMap<String, String>),
    /// It did not: what it printed, and whether the tool said success. The exit status is
    /// not compared: LXC 5.0.2 exits 1, or dies of SIGPIPE, where lxc-rs says 128 + signal.
    Failed { printed: Vec<String>, success: bool },
}

/// A run that is not `Ran` in one line.
fn summary(o: &Outcome) -> String {
    match o {
        Outcome::Ran(cases) => format!("ran the probe ({} results)", cases.len()),
        Outcome::Failed { printed, success } => format!(
            "did not complete the probe (printed {printed:?}, tool {})",
            if *success { "succeeded" } else { "failed" }
        ),
    }
}

/// One run of the probe under one runtime.
struct Run {
    /// The tool's exit code (None: killed by a signal, or stopped at the time limit).
    status: Option<i32>,
    timed_out: bool,
    /// The probe's lines, then `workdir NAMES`.
    lines: Vec<String>,
    stderr: String,
    log: PathBuf,
}

impl Run {
    fn outcome(&self) -> Outcome {
        let done = self.lines.iter().any(|l| l == "probe done");
        if done && !self.timed_out {
            let cases = self
                .lines
                .iter()
                .filter(|l| l.as_str() != "probe start" && l.as_str() != "probe done")
                .map(|l| match l.split_once(' ') {
                    Some((case, result)) => (case.to_string(), result.to_string()),
                    None => (l.clone(), String::new()),
                })
                .chain([("exit".to_string(), format!("{:?}", self.status))])
                .collect();
            Outcome::Ran(cases)
        } else {
            Outcome::Failed {
                printed: self
                    .lines
                    .iter()
                    .filter(|l| !l.starts_with("workdir"))
                    .cloned()
                    .collect(),
                success: self.status == Some(0),
            }
        }
    }

    /// The run in a few lines, for a failure message: status, stderr, and the log's errors
    /// and seccomp lines (the log itself goes with the lxcpath).
    fn describe(&self) -> String {
        let log = fs::read_to_string(&self.log).unwrap_or_default();
        let errors: Vec<&str> = log
            .lines()
            .filter(|l| l.contains("ERROR") || l.contains("seccomp"))
            .take(40)
            .collect();
        format!(
            "exit {:?}{}, stderr: {}\n    {}:\n      {}",
            self.status,
            if self.timed_out { " (time limit)" } else { "" },
            self.stderr.trim(),
            self.log.display(),
            errors.join("\n      ")
        )
    }
}

/// The line of a tool's stderr that says why it failed (LXC prints its chain of errors, the
/// cause first), or a note that it said nothing.
fn first_error(stderr: &str) -> &str {
    stderr
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("(nothing on stderr)")
}

#[derive(Clone, Copy, PartialEq)]
enum Runtime {
    Lxc,
    LxcRs,
}

/// A container of this test: its rootfs holds the probe at /probe.
struct Side {
    t: TestContainer,
    runtime: Runtime,
}

impl Side {
    /// A busybox container made by `lxc-rs create` (LXC runs it as it is, as in lxc_peer.rs).
    fn new(test: &str, runtime: Runtime, probe: &Path) -> Side {
        let side = Side {
            t: TestContainer::busybox(test),
            runtime,
        };
        fs::copy(probe, side.rootfs().join("probe")).expect("copy the probe into the rootfs");
        side
    }

    fn rootfs(&self) -> PathBuf {
        self.t.lxcpath.join(&self.t.name).join("rootfs")
    }

    /// The probe's work directory, seen from the host.
    fn workdir(&self) -> PathBuf {
        self.rootfs().join("tmp/scprobe")
    }

    /// The probe under this side's runtime with `policy`: `lxc-execute` or `lxc-rs execute`
    /// on the container's own config, the profile given with `-s`, a DEBUG log in the
    /// lxcpath. The work directory is made empty before; the names left in it are the run's
    /// last line.
    fn run(&self, policy: &Policy) -> Run {
        let _ = fs::remove_dir_all(self.workdir());
        fs::create_dir_all(self.workdir()).unwrap();
        let log = self.t.lxcpath.join(format!("{}.log", policy.name));
        let _ = fs::remove_file(&log);
        let t = &self.t;
        let mut cmd = match self.runtime {
            Runtime::Lxc => {
                let mut c = Command::new("lxc-execute");
                c.args(["-n", &t.name, "-P", t.lxcpath_str()])
                    .args(common::LXC_START_HERE);
                c
            }
            Runtime::LxcRs => {
                let mut c = Command::new(common::BIN);
                c.args(["execute", "-n", &t.name, "-P", t.lxcpath_str()]);
                c
            }
        };
        if let Some(profile) = policy.path() {
            cmd.arg("-s")
                .arg(format!("lxc.seccomp.profile={}", profile.display()));
        }
        cmd.arg("-o")
            .arg(&log)
            .args(["-l", "DEBUG", "--", "/probe"]);
        let mut run = run_limited(cmd, log);
        let mut left: Vec<String> = fs::read_dir(self.workdir())
            .map(|rd| {
                rd.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        left.sort();
        run.lines
            .push(format!("workdir {}", left.join(" ")).trim().to_string());
        let _ = fs::remove_dir_all(self.workdir());
        run
    }
}

/// Runs `cmd` (stdin from /dev/null) until it exits or the time limit passes.
fn run_limited(mut cmd: Command, log: PathBuf) -> Run {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("run {cmd:?}: {e}"));
    let start = Instant::now();
    let mut timed_out = false;
    while child.try_wait().expect("wait for the tool").is_none() {
        if start.elapsed() > RUN_LIMIT {
            let _ = child.kill();
            timed_out = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let out = child.wait_with_output().expect("the tool's output");
    Run {
        status: out.status.code(),
        timed_out,
        lines: String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::to_string)
            .collect(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        log,
    }
}

/// The probe built static into `dir`, or why it cannot be built here (no C compiler).
fn build_probe(dir: &Path) -> Result<PathBuf, String> {
    let out = dir.join("probe");
    let o = Command::new("cc")
        .args(["-static", "-O1", "-no-pie", "-pthread", "-o"])
        .arg(&out)
        .arg(Path::new(FIXTURES).join("probe.c"))
        .output()
        .map_err(|e| format!("no C compiler to build the probe (`cc`: {e})"))?;
    assert!(
        o.status.success(),
        "cc could not build the probe (is glibc's static libc.a installed?): {}",
        common::show(&o)
    );
    Ok(out)
}

/// A directory of ours under /tmp, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let dir = PathBuf::from("/tmp").join(name);
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}
