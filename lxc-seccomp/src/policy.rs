//! LXC's seccomp policy language, read the way LXC 5.0.2's `parse_config` reads it.
//!
//! A policy starts with a version, `1` or `2`, then a line naming the policy type:
//!
//! - version 1: the type line must contain `allowlist`; every further line starts with a
//!   decimal syscall number, allowed; everything else is killed. No comments.
//! - version 2: the type line starts with a list word (`whitelist`/`allowlist` or
//!   `blacklist`/`denylist`), optionally followed by the default action. Then rules, one per
//!   line: `name [action] [[index,value,op(,mask)]...]`, `#` comments in the first column,
//!   `reject_force_umount`, and architecture sections such as `[x86_64]` or `[all]`.
//!
//! LXC does not tokenize: it matches words by prefix, splits at the first space, scans with
//! `sscanf`, and decides what a line means only as far as it has to. The parser below keeps
//! those rules, including the odd ones (each is noted where it is kept), because a policy that
//! starts a container under LXC must start it here, and one LXC refuses must be refused.
//! Whether a section's rules are read at all depends on the host architecture, as in LXC:
//! rules under a section for another architecture are never parsed, so their mistakes are
//! never reported.
//!
//! The words of the type line and the action words come from [`POLICY_WORDS`]: the base
//! registers LXC's original spellings; `allowlist`/`denylist` and `notify` belong to the API
//! extensions that provide them, and a policy using one that is not linked in is an error
//! naming that extension.

use std::fmt;
use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use lxc_core::linkme::distributed_slice;

/// The largest policy file [`parse_file`] reads. LXC has no bound; the biggest policy LXC
/// ships is a few hundred bytes, so this only stops a file that is not a policy.
pub const MAX_POLICY_BYTES: u64 = 16 << 20;

/// The list words and action words a policy may use, from every crate linked in.
#[distributed_slice]
#[linkme(crate = lxc_core::linkme)]
pub static POLICY_WORDS: [PolicyWord];

/// One word of the policy language and who provides it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PolicyWord {
    /// The registration (API extension or component) that provides the word.
    pub owner: &'static str,
    /// The spelling. LXC matches it as a prefix of the text (`kill_process` reads as `kill`).
    pub word: &'static str,
    pub meaning: WordMeaning,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WordMeaning {
    /// A version 2 policy type (the word that starts the second line).
    List(ListMode),
    /// An action: a policy's default action or a rule's action.
    Action(ActionKind),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListMode {
    /// Unlisted syscalls get the policy's default action (kill unless given); listed
    /// syscalls are allowed unless their rule says otherwise.
    Allowlist,
    /// Unlisted syscalls are allowed unless a default is given; listed syscalls are killed
    /// unless their rule says otherwise.
    Denylist,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActionKind {
    Kill,
    /// Takes a number: `errno 1`.
    Errno,
    Allow,
    Trap,
    Notify,
    /// `SCMP_ACT_LOG`. LXC 5.0.2 has no word for it and the base registers none; it is here so
    /// an extension can add one.
    Log,
}

/// Who provides LXC's own words: the base, and the API extensions named in LXC's
/// api-extensions list.
const BASE_OWNER: &str = crate::NAME;
const ALLOW_DENY_OWNER: &str = "seccomp_allow_deny_syntax";
const NOTIFY_OWNER: &str = "seccomp_notify";

const fn word(owner: &'static str, word: &'static str, meaning: WordMeaning) -> PolicyWord {
    PolicyWord {
        owner,
        word,
        meaning,
    }
}

const WHITELIST: PolicyWord = word(
    BASE_OWNER,
    "whitelist",
    WordMeaning::List(ListMode::Allowlist),
);
const BLACKLIST: PolicyWord = word(
    BASE_OWNER,
    "blacklist",
    WordMeaning::List(ListMode::Denylist),
);
const ALLOWLIST: PolicyWord = word(
    ALLOW_DENY_OWNER,
    "allowlist",
    WordMeaning::List(ListMode::Allowlist),
);
const DENYLIST: PolicyWord = word(
    ALLOW_DENY_OWNER,
    "denylist",
    WordMeaning::List(ListMode::Denylist),
);
const KILL: PolicyWord = word(BASE_OWNER, "kill", WordMeaning::Action(ActionKind::Kill));
const ERRNO: PolicyWord = word(BASE_OWNER, "errno", WordMeaning::Action(ActionKind::Errno));
const ALLOW: PolicyWord = word(BASE_OWNER, "allow", WordMeaning::Action(ActionKind::Allow));
const TRAP: PolicyWord = word(BASE_OWNER, "trap", WordMeaning::Action(ActionKind::Trap));
const NOTIFY: PolicyWord = word(
    NOTIFY_OWNER,
    "notify",
    WordMeaning::Action(ActionKind::Notify),
);

/// LXC 5.0.2's whole vocabulary, with the owner of each word. A word found here but not among
/// the registered words is reported as needing its owner; tests parse with this table to
/// read policies as a full LXC does.
pub static LXC_WORDS: [PolicyWord; 9] = [
    WHITELIST, BLACKLIST, ALLOWLIST, DENYLIST, KILL, ERRNO, ALLOW, TRAP, NOTIFY,
];

#[distributed_slice(POLICY_WORDS)]
#[linkme(crate = lxc_core::linkme)]
static WORD_WHITELIST: PolicyWord = WHITELIST;
#[distributed_slice(POLICY_WORDS)]
#[linkme(crate = lxc_core::linkme)]
static WORD_BLACKLIST: PolicyWord = BLACKLIST;
#[distributed_slice(POLICY_WORDS)]
#[linkme(crate = lxc_core::linkme)]
static WORD_KILL: PolicyWord = KILL;
#[distributed_slice(POLICY_WORDS)]
#[linkme(crate = lxc_core::linkme)]
static WORD_ERRNO: PolicyWord = ERRNO;
#[distributed_slice(POLICY_WORDS)]
#[linkme(crate = lxc_core::linkme)]
static WORD_ALLOW: PolicyWord = ALLOW;
#[distributed_slice(POLICY_WORDS)]
#[linkme(crate = lxc_core::linkme)]
static WORD_TRAP: PolicyWord = TRAP;

/// The words of every crate linked into this binary.
pub fn registered_words() -> Vec<&'static PolicyWord> {
    POLICY_WORDS.iter().collect()
}

/// What a syscall matching a rule (or no rule) gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// `SCMP_ACT_KILL`, which libseccomp 2.5 defines as KILL_THREAD; `kill_process` in a
    /// policy reads as this too (prefix match).
    Kill,
    /// The number as LXC's `sscanf("%d")` read it; only its low 16 bits reach the filter, as
    /// with `SCMP_ACT_ERRNO()`.
    Errno(i32),
    Allow,
    Trap,
    Notify,
    Log,
}

impl Action {
    /// The libseccomp action value, as LXC's macros build it. Comparisons between actions
    /// (is this the default? the same as the rule default?) are on this value, as in LXC.
    pub fn raw(self) -> u32 {
        match self {
            Action::Kill => 0x0000_0000,
            // The cast keeps C's conversion of a negative errno before the mask.
            Action::Errno(e) => 0x0005_0000 | (e as u32 & 0xffff),
            Action::Allow => 0x7fff_0000,
            Action::Trap => 0x0003_0000,
            Action::Notify => 0x7fc0_0000,
            Action::Log => 0x7ffc_0000,
        }
    }

    fn from_kind(kind: ActionKind, errno: i32) -> Action {
        match kind {
            ActionKind::Kill => Action::Kill,
            ActionKind::Errno => Action::Errno(errno),
            ActionKind::Allow => Action::Allow,
            ActionKind::Trap => Action::Trap,
            ActionKind::Notify => Action::Notify,
            ActionKind::Log => Action::Log,
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Action::Kill => f.write_str("kill"),
            Action::Errno(e) => write!(f, "errno {e}"),
            Action::Allow => f.write_str("allow"),
            Action::Trap => f.write_str("trap"),
            Action::Notify => f.write_str("notify"),
            Action::Log => f.write_str("log"),
        }
    }
}

/// The host architecture as LXC's `get_hostarch` names it from `uname -m`: it decides which
/// sections count and which compat architectures the compiler adds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostArch {
    I386,
    Amd64,
    Arm,
    Arm64,
    Ppc64le,
    Ppc64,
    Ppc,
    Mips,
    Mips64,
    Mipsel,
    Mipsel64,
    S390x,
    S390,
    /// A machine LXC does not name (`i586`, `riscv64`, ...): only `[all]` sections apply.
    Unknown,
}

impl HostArch {
    /// This host, from `uname(2)` as LXC reads it (so a `linux32` personality reads as i386).
    pub fn detect() -> HostArch {
        match uname_machine() {
            Some(m) => HostArch::from_machine(&m),
            None => HostArch::Unknown,
        }
    }

    /// LXC's mapping of a `uname -m` string. Only `i686` is i386, and `x86_64` must match
    /// whole; the others are prefixes, tried in LXC's order.
    pub fn from_machine(machine: &[u8]) -> HostArch {
        // A little-endian build names any MIPS host by its `el` variant, as LXC's
        // MIPS_ARCH_* macros do.
        let little = cfg!(target_endian = "little");
        if machine == b"i686" {
            HostArch::I386
        } else if machine == b"x86_64" {
            HostArch::Amd64
        } else if machine.starts_with(b"armv7") {
            HostArch::Arm
        } else if machine.starts_with(b"aarch64") {
            HostArch::Arm64
        } else if machine.starts_with(b"ppc64le") {
            HostArch::Ppc64le
        } else if machine.starts_with(b"ppc64") {
            HostArch::Ppc64
        } else if machine.starts_with(b"ppc") {
            HostArch::Ppc
        } else if machine.starts_with(b"mips64") {
            if little {
                HostArch::Mipsel64
            } else {
                HostArch::Mips64
            }
        } else if machine.starts_with(b"mips") {
            if little {
                HostArch::Mipsel
            } else {
                HostArch::Mips
            }
        } else if machine.starts_with(b"s390x") {
            HostArch::S390x
        } else if machine.starts_with(b"s390") {
            HostArch::S390
        } else {
            HostArch::Unknown
        }
    }
}

fn uname_machine() -> Option<Vec<u8>> {
    let mut uts = std::mem::MaybeUninit::<libc::utsname>::zeroed();
    // SAFETY: `uts` is a writable utsname we own; uname fills it in and keeps no pointer.
    if unsafe { libc::uname(uts.as_mut_ptr()) } != 0 {
        return None;
    }
    // SAFETY: zero-initialised, then filled in by a successful uname: every field is valid.
    let uts = unsafe { uts.assume_init() };
    Some(
        uts.machine
            .iter()
            .take_while(|&&c| c != 0)
            .map(|&c| c as u8)
            .collect(),
    )
}

/// An architecture section header LXC knows, e.g. `[x86_64]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SectionArch {
    X86,
    X32,
    X86_64,
    All,
    Arm,
    Arm64,
    Ppc64le,
    Ppc64,
    Ppc,
    Mips64,
    Mips64n32,
    Mips,
    Mipsel64,
    Mipsel64n32,
    Mipsel,
    S390x,
    S390,
}

/// Each header in the two spellings LXC accepts (all lower or all upper case, nothing else:
/// `[X86_64]` but not `[x86_64 ]`).
const SECTIONS: &[(SectionArch, &str, &str)] = &[
    (SectionArch::X86, "[x86]", "[X86]"),
    (SectionArch::X32, "[x32]", "[X32]"),
    (SectionArch::X86_64, "[x86_64]", "[X86_64]"),
    (SectionArch::All, "[all]", "[ALL]"),
    (SectionArch::Arm, "[arm]", "[ARM]"),
    (SectionArch::Arm64, "[arm64]", "[ARM64]"),
    (SectionArch::Ppc64le, "[ppc64le]", "[PPC64LE]"),
    (SectionArch::Ppc64, "[ppc64]", "[PPC64]"),
    (SectionArch::Ppc, "[ppc]", "[PPC]"),
    (SectionArch::Mips64, "[mips64]", "[MIPS64]"),
    (SectionArch::Mips64n32, "[mips64n32]", "[MIPS64N32]"),
    (SectionArch::Mips, "[mips]", "[MIPS]"),
    (SectionArch::Mipsel64, "[mipsel64]", "[MIPSEL64]"),
    (SectionArch::Mipsel64n32, "[mipsel64n32]", "[MIPSEL64N32]"),
    (SectionArch::Mipsel, "[mipsel]", "[MIPSEL]"),
    (SectionArch::S390x, "[s390x]", "[S390X]"),
    (SectionArch::S390, "[s390]", "[S390]"),
];

impl SectionArch {
    fn from_header(line: &[u8]) -> Option<SectionArch> {
        SECTIONS
            .iter()
            .find(|(_, lower, upper)| line == lower.as_bytes() || line == upper.as_bytes())
            .map(|(arch, _, _)| *arch)
    }

    /// The lower-case header.
    pub fn header(self) -> &'static str {
        SECTIONS
            .iter()
            .find(|(arch, _, _)| *arch == self)
            .map_or("[?]", |(_, lower, _)| lower)
    }

    /// Whether LXC reads this section's rules on `host`. Which section a rule came from has
    /// no other effect: LXC adds every rule it reads to the native filter and to each compat
    /// filter whose architecture knows the syscall, so on x86_64 `[x86]`, `[x32]`,
    /// `[x86_64]` and `[all]` all mean the same.
    pub fn applies_on(self, host: HostArch) -> bool {
        use HostArch as H;
        match self {
            SectionArch::All => true,
            SectionArch::X86 => matches!(host, H::I386 | H::Amd64),
            SectionArch::X32 | SectionArch::X86_64 => host == H::Amd64,
            SectionArch::Arm => matches!(host, H::Arm | H::Arm64),
            SectionArch::Arm64 => host == H::Arm64,
            SectionArch::Ppc64le => host == H::Ppc64le,
            SectionArch::Ppc64 => host == H::Ppc64,
            SectionArch::Ppc => matches!(host, H::Ppc | H::Ppc64),
            SectionArch::Mips64 | SectionArch::Mips64n32 => host == H::Mips64,
            SectionArch::Mips => matches!(host, H::Mips | H::Mips64),
            SectionArch::Mipsel64 | SectionArch::Mipsel64n32 => host == H::Mipsel64,
            SectionArch::Mipsel => matches!(host, H::Mipsel | H::Mipsel64),
            SectionArch::S390x => host == H::S390x,
            SectionArch::S390 => host == H::S390,
        }
    }
}

/// A section header as it appeared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    pub line: usize,
    pub arch: SectionArch,
    /// Whether the rules below it were read (see [`SectionArch::applies_on`]).
    pub applies: bool,
}

/// What a rule is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A version 2 rule: the text up to the first space. Resolved by the compiler; a name
    /// libseccomp does not know is skipped there, as LXC skips it.
    Syscall(String),
    /// A version 1 line: a syscall number, allowed.
    Number(i32),
    /// `reject_force_umount`: umount2 with MNT_FORCE fails with EACCES. The line's own action
    /// and arguments are read (and can be wrong) but do not change that rule.
    RejectForceUmount,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    Ne,
    Lt,
    Le,
    Eq,
    Ge,
    Gt,
    MaskedEq,
}

/// One `[index,value,op(,mask)]` comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArgCmp {
    pub index: u32,
    pub value: u64,
    pub op: CmpOp,
    /// Read for every operator (so a bad mask is an error), used only by `&=`. 0 if absent.
    pub mask: u64,
}

/// One rule LXC would hand to libseccomp, in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub line: usize,
    /// The section it was read under; `None` before the first header (and for version 1).
    pub section: Option<SectionArch>,
    pub target: Target,
    pub action: Action,
    pub args: Vec<ArgCmp>,
}

/// A parsed policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    pub path: PathBuf,
    pub version: u32,
    /// The host the policy was read for: it decided which sections were read, and the
    /// compiler builds the compat filters LXC builds for it.
    pub host: HostArch,
    /// The policy type line.
    pub list_line: usize,
    /// Version 1 is always an allowlist.
    pub mode: ListMode,
    /// What a syscall no rule matches gets.
    pub default_action: Action,
    /// What a rule without an action does.
    pub rule_action: Action,
    pub sections: Vec<Section>,
    pub rules: Vec<Rule>,
    /// Whether a `reject_force_umount` line was read.
    pub reject_force_umount: bool,
}

impl Policy {
    /// Whether LXC would ask for a listener fd: some rule it read says `notify`. As in LXC,
    /// this counts a `notify` rule whose syscall turns out unknown, and does not count a
    /// `notify` default action.
    pub fn uses_notify(&self) -> bool {
        self.rules.iter().any(|r| r.action == Action::Notify)
    }
}

/// Why a policy could not be read.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("read the seccomp policy {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error(
        "{}: the seccomp policy is larger than {limit} bytes, expected a policy file",
        path.display()
    )]
    TooLarge { path: PathBuf, limit: u64 },
    #[error("{}:{line}: {message}", path.display())]
    Syntax {
        path: PathBuf,
        line: usize,
        /// What was wrong, then `, expected ...`.
        message: String,
    },
    #[error(
        "{}:{line}: `{word}` needs the {feature} feature, expected {expected}",
        path.display()
    )]
    NeedsFeature {
        path: PathBuf,
        line: usize,
        word: String,
        feature: String,
        /// The words that are available instead.
        expected: String,
    },
}

impl PolicyError {
    /// The 1-based line the error is about, if any.
    pub fn line(&self) -> Option<usize> {
        match self {
            PolicyError::Syntax { line, .. } | PolicyError::NeedsFeature { line, .. } => {
                Some(*line)
            }
            PolicyError::Read { .. } | PolicyError::TooLarge { .. } => None,
        }
    }
}

/// Read (at most [`MAX_POLICY_BYTES`]) and parse the policy at `path` for this host, with the
/// words of the crates linked in.
pub fn parse_file(path: &Path) -> Result<Policy, PolicyError> {
    let read_err = |source| PolicyError::Read {
        path: path.to_path_buf(),
        source,
    };
    let file = File::open(path).map_err(read_err)?;
    let mut text = Vec::new();
    file.take(MAX_POLICY_BYTES + 1)
        .read_to_end(&mut text)
        .map_err(read_err)?;
    if text.len() as u64 > MAX_POLICY_BYTES {
        return Err(PolicyError::TooLarge {
            path: path.to_path_buf(),
            limit: MAX_POLICY_BYTES,
        });
    }
    parse(path, &text)
}

/// Parse a policy for this host with the words of the crates linked in. `path` only names
/// the policy in errors and in the result.
pub fn parse(path: &Path, text: &[u8]) -> Result<Policy, PolicyError> {
    parse_with(path, text, HostArch::detect(), &registered_words())
}

/// Parse for a given host with a given vocabulary (tests; a tool reading a policy for
/// another machine).
pub fn parse_with(
    path: &Path,
    text: &[u8],
    host: HostArch,
    words: &[&PolicyWord],
) -> Result<Policy, PolicyError> {
    Parser {
        path,
        text,
        pos: 0,
        line: 1,
        words,
    }
    .policy(host)
}

struct Parser<'a> {
    path: &'a Path,
    text: &'a [u8],
    pos: usize,
    /// The 1-based line `pos` is on.
    line: usize,
    words: &'a [&'a PolicyWord],
}

/// The outcome of looking a word up at the start of some text.
enum Lookup {
    Found(&'static str, WordMeaning),
    /// A word of LXC's that no linked crate registered.
    Missing(&'static PolicyWord),
    None,
}

impl<'a> Parser<'a> {
    fn syntax(&self, line: usize, message: String) -> PolicyError {
        PolicyError::Syntax {
            path: self.path.to_path_buf(),
            line,
            message,
        }
    }

    fn advance(&mut self, n: usize) {
        let end = (self.pos + n).min(self.text.len());
        self.line += self.text[self.pos..end]
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        self.pos = end;
    }

    /// The next line with its `\n`, as getline returns it, and its line number.
    fn getline(&mut self) -> Option<(usize, &'a [u8])> {
        let rest = &self.text[self.pos..];
        if rest.is_empty() {
            return None;
        }
        let len = rest
            .iter()
            .position(|&b| b == b'\n')
            .map_or(rest.len(), |i| i + 1);
        let line = self.line;
        self.advance(len);
        Some((line, &rest[..len]))
    }

    fn policy(mut self, host: HostArch) -> Result<Policy, PolicyError> {
        // fscanf("%d\n"): the number may follow blank lines and spaces, and the `\n` of the
        // format skips any whitespace after it, blank lines and the type line's indentation
        // included, so "2 denylist" on one line is a valid start.
        self.advance(count_space(self.text));
        let version_line = self.line;
        let version = match scan_int(&self.text[self.pos..], false) {
            Scan::Int(v, n) => {
                let token = shown(&self.text[self.pos..self.pos + n]);
                self.advance(n);
                match v {
                    1 | 2 => v as u32,
                    _ => {
                        return Err(self.syntax(
                            version_line,
                            format!("policy version `{token}`, expected 1 or 2"),
                        ))
                    }
                }
            }
            Scan::Fail | Scan::Eof => {
                let found = first_word(&self.text[self.pos..]);
                return Err(self.syntax(
                    version_line,
                    format!(
                        "`{found}` where the policy version belongs, expected 1 or 2 \
                         on the first line"
                    ),
                ));
            }
        };
        self.advance(count_space(&self.text[self.pos..]));

        let Some((list_line, raw)) = self.getline() else {
            return Err(self.syntax(
                self.line,
                "the policy ends after its version, expected a policy type line \
                 such as `denylist`"
                    .into(),
            ));
        };
        // LXC handles every line as a C string: nothing after a NUL exists for it.
        let list = cstr(raw);

        // Version 1 looks for `allowlist` anywhere in the line (not `whitelist`: LXC 5.0.2
        // renamed the word here without keeping the old one).
        if version == 1 {
            if find(list, b"allowlist").is_none() {
                return Err(self.syntax(
                    list_line,
                    format!(
                        "policy type `{}` in a version 1 policy, expected `allowlist`",
                        shown(trim_newline(list))
                    ),
                ));
            }
            if !self.words.iter().any(|w| {
                w.word == "allowlist" && w.meaning == WordMeaning::List(ListMode::Allowlist)
            }) {
                return Err(PolicyError::NeedsFeature {
                    path: self.path.to_path_buf(),
                    line: list_line,
                    word: ALLOWLIST.word.into(),
                    feature: ALLOWLIST.owner.into(),
                    expected: "a version 2 policy (version 1 knows no other word)".into(),
                });
            }
        }
        if find(list, b"debug").is_some() {
            return Err(self.syntax(
                list_line,
                "`debug` in the policy type line, which LXC does not implement, \
                 expected the type line without it"
                    .into(),
            ));
        }

        if version == 1 {
            let rules = self.v1_rules()?;
            return Ok(Policy {
                path: self.path.to_path_buf(),
                version,
                host,
                list_line,
                mode: ListMode::Allowlist,
                default_action: Action::Kill,
                rule_action: Action::Allow,
                sections: Vec::new(),
                rules,
                reject_force_umount: false,
            });
        }

        let mode = match self.lookup(list, Kind::List) {
            Lookup::Found(_, WordMeaning::List(mode)) => mode,
            Lookup::Missing(word) => return Err(self.needs_feature(list_line, word)),
            Lookup::Found(..) | Lookup::None => {
                return Err(self.syntax(
                    list_line,
                    format!(
                        "policy type `{}`, expected {}",
                        shown(trim_newline(list)),
                        self.expected(Kind::List)
                    ),
                ))
            }
        };
        // The line still ends in its `\n` here, so a space before it reads as an action
        // that is not one: "denylist \n" is refused, as by LXC.
        let default = match list.iter().position(|&b| b == b' ') {
            Some(sp) => self.default_action(list_line, &list[sp + 1..])?,
            None => None,
        };
        let (default_action, rule_action) = match mode {
            ListMode::Denylist => (default.unwrap_or(Action::Allow), Action::Kill),
            ListMode::Allowlist => (default.unwrap_or(Action::Kill), Action::Allow),
        };

        let mut policy = Policy {
            path: self.path.to_path_buf(),
            version,
            host,
            list_line,
            mode,
            default_action,
            rule_action,
            sections: Vec::new(),
            rules: Vec::new(),
            reject_force_umount: false,
        };
        self.v2_rules(&mut policy)?;
        Ok(policy)
    }

    fn v1_rules(&mut self) -> Result<Vec<Rule>, PolicyError> {
        let mut rules = Vec::new();
        while let Some((line, raw)) = self.getline() {
            let text = cstr(raw);
            // sscanf("%d"): leading whitespace and anything after the number are ignored;
            // a blank line or a comment is an error.
            match scan_int(text, false) {
                Scan::Int(nr, _) => rules.push(Rule {
                    line,
                    section: None,
                    target: Target::Number(nr),
                    action: Action::Allow,
                    args: Vec::new(),
                }),
                Scan::Fail | Scan::Eof => {
                    return Err(self.syntax(
                        line,
                        format!(
                            "`{}` in a version 1 policy, expected one decimal syscall \
                             number per line",
                            shown(trim_newline(text))
                        ),
                    ))
                }
            }
        }
        Ok(rules)
    }

    fn v2_rules(&mut self, policy: &mut Policy) -> Result<(), PolicyError> {
        // Rules before any header count unless LXC cannot name the host.
        let mut applies = policy.host != HostArch::Unknown;
        let mut section = None;
        while let Some((line, raw)) = self.getline() {
            let text = cstr(raw);
            // Only a `#` in the first column makes a comment.
            if text.is_empty() || text[0] == b'#' {
                continue;
            }
            let text = trim_newline(text);
            // LXC reads an empty line as a rule naming no syscall, which resolves to
            // nothing and is skipped: dropping it here ends the same.
            if text.is_empty() {
                continue;
            }
            if text[0] == b'[' {
                let Some(arch) = SectionArch::from_header(text) else {
                    return Err(self.syntax(
                        line,
                        format!(
                            "unsupported architecture section `{}`, expected one of {} \
                             (or the same in upper case) alone on the line",
                            shown(text),
                            SECTIONS
                                .iter()
                                .map(|(_, lower, _)| *lower)
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    ));
                };
                applies = arch.applies_on(policy.host);
                section = Some(arch);
                policy.sections.push(Section {
                    line,
                    arch,
                    applies,
                });
                continue;
            }
            if !applies {
                continue;
            }
            let rule = self.rule(line, text, section, policy.rule_action)?;
            if rule.target == Target::RejectForceUmount {
                policy.reject_force_umount = true;
            }
            policy.rules.push(rule);
        }
        Ok(())
    }

    /// One version 2 rule line (newline removed).
    fn rule(
        &self,
        line: usize,
        text: &[u8],
        section: Option<SectionArch>,
        rule_action: Action,
    ) -> Result<Rule, PolicyError> {
        // The action is whatever follows the first space, so an indented rule reads its own
        // name as the action (and is refused unless the name starts like an action word).
        let action = match text.iter().position(|&b| b == b' ') {
            None => rule_action,
            Some(sp) => {
                let rest = skip_spaces(&text[sp + 1..]);
                if rest.is_empty() || rest[0] == b'#' {
                    rule_action
                } else {
                    self.action(line, rest)?
                }
            }
        };
        let args = if text.contains(&b'[') {
            self.args(line, text)?
        } else {
            Vec::new()
        };
        let name = &text[..text.iter().position(|&b| b == b' ').unwrap_or(text.len())];
        // A prefix match, as LXC's: `reject_force_umount_please` is one too.
        let target = if name.starts_with(b"reject_force_umount") {
            Target::RejectForceUmount
        } else {
            Target::Syscall(lossy(name))
        };
        Ok(Rule {
            line,
            section,
            target,
            action,
            args,
        })
    }

    /// The argument comparisons of a rule line. LXC cuts the whole line at every `]` and reads
    /// one comparison from each piece (from its first `[`), at most six pieces; a seventh and
    /// anything after it is ignored, but a piece without `[` (text after a `]`, even a
    /// trailing space) is an error.
    fn args(&self, line: usize, text: &[u8]) -> Result<Vec<ArgCmp>, PolicyError> {
        let mut args = Vec::new();
        for piece in text.split(|&b| b == b']').filter(|p| !p.is_empty()).take(6) {
            let Some(open) = piece.iter().position(|&b| b == b'[') else {
                return Err(self.syntax(
                    line,
                    format!(
                        "`{}` outside an argument comparison, expected only \
                         `[index,value,op]` or `[index,value,op,mask]` after the first `[`",
                        shown(piece)
                    ),
                ));
            };
            args.push(self.arg(line, &piece[open..])?);
        }
        Ok(args)
    }

    /// One comparison, as sscanf("[%i,%23[^,],%30[^0-9^,],%23[^,]") and LXC's checks read it.
    fn arg(&self, line: usize, piece: &[u8]) -> Result<ArgCmp, PolicyError> {
        let quoted = shown(piece);
        let malformed = |what: &str| {
            self.syntax(
                line,
                format!(
                    "argument comparison `{quoted}]` {what}, expected `[index,value,op]` or \
                     `[index,value,op,mask]` with an index from 0 to 5"
                ),
            )
        };
        let scanned = scan_arg(piece);
        let (index, value, op, mask) = match scanned {
            ArgScan::Full {
                index,
                value,
                op,
                mask,
            } => (index, value, op, mask),
            ArgScan::Short(stage) => return Err(malformed(stage)),
        };
        // The index lands in a uint32_t through %i, so a negative one is huge.
        if index as u32 >= 6 {
            return Err(malformed("has an index out of range"));
        }
        let number = |what: &str, s: &[u8]| {
            safe_uint64(s).ok_or_else(|| {
                self.syntax(
                    line,
                    format!(
                        "argument {what} `{}` in `{quoted}]`, expected an unsigned 64-bit \
                         number (decimal, 0x hex or 0 octal) and nothing else",
                        shown(s)
                    ),
                )
            })
        };
        let value = number("value", value)?;
        let mask = number("mask", mask.unwrap_or(b"0"))?;
        let op = match op {
            b"SCMP_CMP_NE" | b"!=" => CmpOp::Ne,
            b"SCMP_CMP_LT" | b"<" => CmpOp::Lt,
            b"SCMP_CMP_LE" | b"<=" => CmpOp::Le,
            b"SCMP_CMP_EQ" | b"==" => CmpOp::Eq,
            b"SCMP_CMP_GE" | b">=" => CmpOp::Ge,
            b"SCMP_CMP_GT" | b">" => CmpOp::Gt,
            b"SCMP_CMP_MASKED_EQ" | b"&=" => CmpOp::MaskedEq,
            other => {
                return Err(self.syntax(
                    line,
                    format!(
                        "comparison operator `{}` in `{quoted}]`, expected one of ==, !=, <, \
                         <=, >, >=, &= (or SCMP_CMP_EQ, _NE, _LT, _LE, _GT, _GE, _MASKED_EQ)",
                        shown(other)
                    ),
                ))
            }
        };
        Ok(ArgCmp {
            index: index as u32,
            value,
            op,
            mask,
        })
    }

    /// The default action after the type word: `None` when only spaces follow.
    fn default_action(&self, line: usize, text: &[u8]) -> Result<Option<Action>, PolicyError> {
        let rest = skip_spaces(text);
        if rest.is_empty() {
            return Ok(None);
        }
        if trim_newline(rest).is_empty() {
            return Err(self.syntax(
                line,
                "a space after the policy type and no action (LXC reads the end of the line \
                 as an unknown action), expected an action after the space or no space"
                    .into(),
            ));
        }
        self.action(line, rest).map(Some)
    }

    /// An action word at the start of `text` (a prefix match, as LXC's), with its number.
    fn action(&self, line: usize, text: &[u8]) -> Result<Action, PolicyError> {
        match self.lookup(text, Kind::Action) {
            Lookup::Found(word, WordMeaning::Action(kind)) => {
                if kind != ActionKind::Errno {
                    return Ok(Action::from_kind(kind, 0));
                }
                match scan_int(&text[word.len()..], false) {
                    Scan::Int(e, _) => Ok(Action::Errno(e)),
                    Scan::Fail | Scan::Eof => Err(self.syntax(
                        line,
                        format!(
                            "`{}` has no number, expected `{word} <number>`",
                            shown(trim_newline(text))
                        ),
                    )),
                }
            }
            Lookup::Missing(word) => Err(self.needs_feature(line, word)),
            Lookup::Found(..) | Lookup::None => Err(self.syntax(
                line,
                format!(
                    "unrecognized action `{}`, expected {}",
                    shown(trim_newline(text)),
                    self.expected(Kind::Action)
                ),
            )),
        }
    }

    fn lookup(&self, text: &[u8], kind: Kind) -> Lookup {
        // The longest word wins; LXC's own words are never prefixes of each other, so this
        // only matters for words an extension adds.
        let registered = self
            .words
            .iter()
            .filter(|w| kind.has(w.meaning) && text.starts_with(w.word.as_bytes()))
            .max_by_key(|w| w.word.len());
        if let Some(w) = registered {
            return Lookup::Found(w.word, w.meaning);
        }
        LXC_WORDS
            .iter()
            .filter(|w| kind.has(w.meaning) && text.starts_with(w.word.as_bytes()))
            .max_by_key(|w| w.word.len())
            .map_or(Lookup::None, Lookup::Missing)
    }

    /// The registered words of a kind, for "expected ...".
    fn expected(&self, kind: Kind) -> String {
        // LXC's words first in LXC's order, then the others by name: the link order of
        // registrations is not stable.
        let mut words: Vec<&PolicyWord> = self
            .words
            .iter()
            .copied()
            .filter(|w| kind.has(w.meaning))
            .collect();
        words.sort_by_key(|w| {
            let known = LXC_WORDS.iter().position(|k| k.word == w.word);
            (known.unwrap_or(usize::MAX), w.word)
        });
        let mut names: Vec<String> = Vec::new();
        for w in words {
            let shown = match w.meaning {
                WordMeaning::Action(ActionKind::Errno) => format!("`{} <number>`", w.word),
                _ => format!("`{}`", w.word),
            };
            if !names.contains(&shown) {
                names.push(shown);
            }
        }
        let what = match kind {
            Kind::List => "a policy type",
            Kind::Action => "an action",
        };
        match names.len() {
            0 => format!("{what} (none is linked in)"),
            1 => names.remove(0),
            n => {
                let last = names.remove(n - 1);
                format!("{} or {last}", names.join(", "))
            }
        }
    }

    fn needs_feature(&self, line: usize, word: &PolicyWord) -> PolicyError {
        let kind = match word.meaning {
            WordMeaning::List(_) => Kind::List,
            WordMeaning::Action(_) => Kind::Action,
        };
        PolicyError::NeedsFeature {
            path: self.path.to_path_buf(),
            line,
            word: word.word.to_string(),
            feature: word.owner.to_string(),
            expected: self.expected(kind),
        }
    }
}

#[derive(Clone, Copy)]
enum Kind {
    List,
    Action,
}

impl Kind {
    fn has(self, meaning: WordMeaning) -> bool {
        matches!(
            (self, meaning),
            (Kind::List, WordMeaning::List(_)) | (Kind::Action, WordMeaning::Action(_))
        )
    }
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Policy text quoted in an error: at most 80 bytes of it, so a huge line makes a short error.
fn shown(b: &[u8]) -> String {
    const MAX: usize = 80;
    if b.len() <= MAX {
        return lossy(b);
    }
    format!("{}...", lossy(&b[..MAX]))
}

/// The bytes before the first NUL.
fn cstr(b: &[u8]) -> &[u8] {
    &b[..b.iter().position(|&c| c == 0).unwrap_or(b.len())]
}

/// Without trailing `\n`s, as LXC's `remove_trailing_newlines` (not `\r`: a CRLF policy keeps
/// its `\r` in every syscall name, which then resolves to nothing).
fn trim_newline(b: &[u8]) -> &[u8] {
    let end = b.iter().rposition(|&c| c != b'\n').map_or(0, |i| i + 1);
    &b[..end]
}

fn skip_spaces(b: &[u8]) -> &[u8] {
    &b[b.iter().position(|&c| c != b' ').unwrap_or(b.len())..]
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn first_word(b: &[u8]) -> String {
    let end = b
        .iter()
        .position(|&c| is_c_space(c))
        .unwrap_or(b.len())
        .min(40);
    shown(&b[..end])
}

/// C's `isspace` in the C locale.
fn is_c_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

fn count_space(b: &[u8]) -> usize {
    b.iter().position(|&c| !is_c_space(c)).unwrap_or(b.len())
}

/// The result of one scanf integer conversion.
#[derive(Debug, PartialEq, Eq)]
enum Scan {
    /// The value as stored into an `int` and the bytes consumed (whitespace included).
    Int(i32, usize),
    /// Input that is not a number: sscanf returns 0.
    Fail,
    /// Nothing but whitespace: sscanf returns EOF.
    Eof,
}

/// glibc's `%d` (or `%i` when `auto_base`): skip whitespace, an optional sign, digits (for
/// `%i`, `0x` for hex and `0` for octal, and a bare `0x` reads as 0 with the `x` consumed);
/// the number is converted with strtol, which saturates, and then stored into an `int`,
/// which keeps the low 32 bits. So "4294967298" reads as 2.
fn scan_int(s: &[u8], auto_base: bool) -> Scan {
    let mut i = count_space(s);
    if i == s.len() {
        return Scan::Eof;
    }
    let mut negative = false;
    if s[i] == b'-' || s[i] == b'+' {
        negative = s[i] == b'-';
        i += 1;
    }
    let mut base = if auto_base { 0 } else { 10 };
    let mut digits = 0usize;
    let mut magnitude: u128 = 0;
    if s.get(i) == Some(&b'0') {
        digits += 1;
        i += 1;
        if base == 0 {
            if matches!(s.get(i), Some(b'x' | b'X')) {
                base = 16;
                i += 1;
            } else {
                base = 8;
            }
        }
    }
    if base == 0 {
        base = 10;
    }
    while let Some(d) = s.get(i).and_then(|&c| (c as char).to_digit(base)) {
        // Past 2^64 strtol saturates anyway; stop the magnitude from growing further.
        magnitude = (magnitude * u128::from(base) + u128::from(d)).min(1 << 65);
        digits += 1;
        i += 1;
    }
    if digits == 0 {
        return Scan::Fail;
    }
    let long: i64 = if negative {
        if magnitude > 1 << 63 {
            i64::MIN
        } else {
            (-(magnitude as i128)) as i64
        }
    } else {
        i64::try_from(magnitude).unwrap_or(i64::MAX)
    };
    Scan::Int(long as i32, i)
}

/// How far sscanf("[%i,%23[^,],%30[^0-9^,],%23[^,]") got.
#[derive(Debug, PartialEq, Eq)]
enum ArgScan<'a> {
    /// Three or four conversions: what LXC accepts.
    Full {
        index: i32,
        value: &'a [u8],
        op: &'a [u8],
        mask: Option<&'a [u8]>,
    },
    /// Fewer: where it stopped.
    Short(&'static str),
}

/// `piece` starts with the `[`.
fn scan_arg(piece: &[u8]) -> ArgScan<'_> {
    let mut i = 1;
    let index = match scan_int(&piece[i..], true) {
        Scan::Int(v, n) => {
            i += n;
            v
        }
        Scan::Fail | Scan::Eof => return ArgScan::Short("has no index"),
    };
    // A run of at most `max` bytes none of which is excluded; at least one.
    let run = |i: usize, max: usize, excluded: fn(u8) -> bool| -> usize {
        piece[i..]
            .iter()
            .take(max)
            .position(|&c| excluded(c))
            .unwrap_or(piece.len().saturating_sub(i).min(max))
    };
    if piece.get(i) != Some(&b',') {
        return ArgScan::Short("has no `,` after the index");
    }
    i += 1;
    let n = run(i, 23, |c| c == b',');
    if n == 0 {
        return ArgScan::Short("has no value");
    }
    let value = &piece[i..i + n];
    i += n;
    if piece.get(i) != Some(&b',') {
        return ArgScan::Short("has no `,` after a value of at most 23 characters");
    }
    i += 1;
    let n = run(i, 30, |c| c.is_ascii_digit() || c == b'^' || c == b',');
    if n == 0 {
        return ArgScan::Short("has no operator");
    }
    let op = &piece[i..i + n];
    i += n;
    // Past here sscanf has its three conversions: a missing or empty mask just leaves the
    // mask at LXC's "0", and a longer one is cut at 23 characters.
    let mask = if piece.get(i) == Some(&b',') {
        let n = run(i + 1, 23, |c| c == b',');
        (n > 0).then(|| &piece[i + 1..i + 1 + n])
    } else {
        None
    };
    ArgScan::Full {
        index,
        value,
        op,
        mask,
    }
}

/// LXC's `lxc_safe_uint64(s, base 0)`: leading whitespace, no `-`, strtoull's `+`/`0x`/`0`
/// prefixes, no overflow, and nothing after the number.
fn safe_uint64(s: &[u8]) -> Option<u64> {
    let mut i = count_space(s);
    if s.get(i) == Some(&b'-') {
        return None;
    }
    if s.get(i) == Some(&b'+') {
        i += 1;
    }
    let mut base = 10;
    let mut digits = 0usize;
    if s.get(i) == Some(&b'0') {
        // strtoull takes `0x` only when a hex digit follows; otherwise the `0` alone is the
        // number and the `x` is left over (and refused as trailing text).
        if matches!(s.get(i + 1), Some(b'x' | b'X'))
            && s.get(i + 2).is_some_and(|c| c.is_ascii_hexdigit())
        {
            base = 16;
            i += 2;
        } else {
            base = 8;
            digits = 1;
            i += 1;
        }
    }
    let mut value: u64 = 0;
    let mut overflow = false;
    while let Some(d) = s.get(i).and_then(|&c| (c as char).to_digit(base)) {
        match value
            .checked_mul(u64::from(base))
            .and_then(|v| v.checked_add(u64::from(d)))
        {
            Some(v) => value = v,
            None => overflow = true,
        }
        digits += 1;
        i += 1;
    }
    if digits == 0 || overflow || i != s.len() {
        return None;
    }
    Some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base_words() -> Vec<&'static PolicyWord> {
        LXC_WORDS.iter().filter(|w| w.owner == BASE_OWNER).collect()
    }

    fn all_words() -> Vec<&'static PolicyWord> {
        LXC_WORDS.iter().collect()
    }

    fn p(text: &str) -> Result<Policy, PolicyError> {
        parse_with(
            Path::new("/p"),
            text.as_bytes(),
            HostArch::Amd64,
            &all_words(),
        )
    }

    #[test]
    fn the_base_registers_the_legacy_words() {
        let words: Vec<&str> = POLICY_WORDS
            .iter()
            .filter(|w| w.owner == BASE_OWNER)
            .map(|w| w.word)
            .collect();
        for w in ["whitelist", "blacklist", "kill", "errno", "allow", "trap"] {
            assert!(words.contains(&w), "{w} not registered");
        }
        assert!(!words.contains(&"allowlist") && !words.contains(&"notify"));
    }

    #[test]
    fn scan_int_matches_glibc_on_corner_cases() {
        assert_eq!(scan_int(b"  42x", false), Scan::Int(42, 4));
        assert_eq!(scan_int(b"4294967298", false), Scan::Int(2, 10));
        assert_eq!(scan_int(b"99999999999999999999", false), Scan::Int(-1, 20));
        assert_eq!(scan_int(b"-", false), Scan::Fail);
        assert_eq!(scan_int(b" \n", false), Scan::Eof);
        assert_eq!(scan_int(b"0x1f", true), Scan::Int(31, 4));
        assert_eq!(scan_int(b"0x,", true), Scan::Int(0, 2));
        assert_eq!(scan_int(b"017", true), Scan::Int(15, 3));
        assert_eq!(scan_int(b"0x1f", false), Scan::Int(0, 1));
    }

    /// The scanf emulation against the C library's own sscanf, on generated inputs.
    #[test]
    fn scan_emulation_agrees_with_libc_sscanf() {
        use std::ffi::CString;
        let alphabet: &[u8] = b"0123456789xX+- ,[]^=<>&!abcSCMP_\t";
        let mut seed: u64 = 0x1234_5678;
        for _ in 0..20_000 {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let len = (seed >> 59) as usize + 1;
            let mut s = vec![b'['];
            let mut x = seed;
            for _ in 0..len * 2 {
                x = x.rotate_left(7).wrapping_mul(0x9E37_79B9_7F4A_7C15);
                s.push(alphabet[(x >> 58) as usize % alphabet.len()]);
            }
            let Ok(c) = CString::new(s.clone()) else {
                continue;
            };
            let mut index: libc::c_int = 0;
            let mut v = [0 as libc::c_char; 24];
            let mut o = [0 as libc::c_char; 31];
            let mut m = [0 as libc::c_char; 24];
            // SAFETY: the format's widths fit the buffers (23+1, 30+1, 23+1 bytes), `index`
            // is an int, and every pointer lives across the call.
            let ret = unsafe {
                libc::sscanf(
                    c.as_ptr(),
                    c"[%i,%23[^,],%30[^0-9^,],%23[^,]".as_ptr(),
                    &mut index as *mut libc::c_int,
                    v.as_mut_ptr(),
                    o.as_mut_ptr(),
                    m.as_mut_ptr(),
                )
            };
            let text = |b: &[libc::c_char]| -> Vec<u8> {
                b.iter()
                    .take_while(|&&c| c != 0)
                    .map(|&c| c as u8)
                    .collect()
            };
            match scan_arg(&s) {
                ArgScan::Full {
                    index: i,
                    value,
                    op,
                    mask,
                } => {
                    assert!(ret == 3 || ret == 4, "{s:?}: libc {ret}");
                    assert_eq!(i, index, "{s:?}");
                    assert_eq!(value, text(&v), "{s:?}");
                    assert_eq!(op, text(&o), "{s:?}");
                    assert_eq!(mask.is_some(), ret == 4, "{s:?}");
                    if let Some(mask) = mask {
                        assert_eq!(mask, text(&m), "{s:?}");
                    }
                }
                ArgScan::Short(_) => assert!(ret != 3 && ret != 4, "{s:?}: libc {ret}"),
            }
            // The same text through %d: the value stored and whether one was.
            let mut d: libc::c_int = 0;
            let tail = CString::new(s[1..].to_vec()).unwrap_or_default();
            // SAFETY: one %d into an int that outlives the call.
            let ret = unsafe { libc::sscanf(tail.as_ptr(), c"%d".as_ptr(), &mut d) };
            match scan_int(&s[1..], false) {
                Scan::Int(val, _) => assert!(ret == 1 && val == d, "{s:?}"),
                _ => assert_ne!(ret, 1, "{s:?}"),
            }
        }
    }

    #[test]
    fn safe_uint64_follows_strtoull() {
        assert_eq!(safe_uint64(b" 0x10"), Some(16));
        assert_eq!(safe_uint64(b"010"), Some(8));
        assert_eq!(safe_uint64(b"+5"), Some(5));
        assert_eq!(safe_uint64(b"0"), Some(0));
        assert_eq!(safe_uint64(b"18446744073709551615"), Some(u64::MAX));
        assert_eq!(safe_uint64(b"18446744073709551616"), None);
        assert_eq!(safe_uint64(b"-1"), None);
        assert_eq!(safe_uint64(b"5 "), None);
        assert_eq!(safe_uint64(b"0x"), None);
        assert_eq!(safe_uint64(b"08"), None);
        assert_eq!(safe_uint64(b""), None);
        assert_eq!(safe_uint64(b"+"), None);
    }

    #[test]
    fn safe_uint64_agrees_with_libc_strtoull() {
        use std::ffi::CString;
        let alphabet: &[u8] = b"0123456789abcdefxX+- \t";
        let mut x: u64 = 99;
        for _ in 0..20_000 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let len = (x >> 60) as usize;
            let s: Vec<u8> = (0..len)
                .map(|k| alphabet[((x >> (k * 3)) as usize) % alphabet.len()])
                .collect();
            // LXC skips the whitespace itself and hands strtoull the rest.
            let trimmed = &s[count_space(&s)..];
            let Ok(c) = CString::new(trimmed.to_vec()) else {
                continue;
            };
            let mut end: *mut libc::c_char = std::ptr::null_mut();
            // SAFETY: errno is this thread's to reset; `c` is a NUL-terminated string that
            // outlives the call, and `end` receives a pointer into it.
            let (value, erange, consumed) = unsafe {
                *libc::__errno_location() = 0;
                let v = libc::strtoull(c.as_ptr(), &mut end, 0);
                let erange = *libc::__errno_location() == libc::ERANGE;
                (v, erange, end.offset_from(c.as_ptr()) as usize)
            };
            let lxc = if trimmed.first() == Some(&b'-')
                || (erange && value == u64::MAX)
                || consumed == 0
                || consumed != trimmed.len()
            {
                None
            } else {
                Some(value)
            };
            assert_eq!(safe_uint64(&s), lxc, "{:?}", lossy(&s));
        }
    }

    #[test]
    fn common_seccomp_reads_as_lxc_reads_it() {
        let policy = p("2\ndenylist\nreject_force_umount  # comment this to allow umount -f;  not recommended\n[all]\nkexec_load errno 1\nopen_by_handle_at errno 1\n").unwrap();
        assert_eq!(policy.version, 2);
        assert_eq!(policy.mode, ListMode::Denylist);
        assert_eq!(policy.default_action, Action::Allow);
        assert_eq!(policy.rule_action, Action::Kill);
        assert!(policy.reject_force_umount);
        assert_eq!(policy.rules.len(), 3);
        assert_eq!(policy.rules[0].target, Target::RejectForceUmount);
        assert_eq!(policy.rules[0].line, 3);
        assert_eq!(
            policy.rules[1],
            Rule {
                line: 5,
                section: Some(SectionArch::All),
                target: Target::Syscall("kexec_load".into()),
                action: Action::Errno(1),
                args: vec![],
            }
        );
        assert!(!policy.uses_notify());
    }

    #[test]
    fn allowlist_defaults() {
        let policy = p("2\nallowlist\nread\n").unwrap();
        assert_eq!(policy.default_action, Action::Kill);
        assert_eq!(policy.rule_action, Action::Allow);
        assert_eq!(policy.rules[0].action, Action::Allow);
        let policy = p("2\nwhitelist trap\nread\n").unwrap();
        assert_eq!(policy.default_action, Action::Trap);
        assert_eq!(policy.rule_action, Action::Allow);
        let policy = p("2\nblacklist errno 38\nread\n").unwrap();
        assert_eq!(policy.default_action, Action::Errno(38));
        assert_eq!(policy.rules[0].action, Action::Kill);
    }

    #[test]
    fn words_match_by_prefix() {
        let policy = p("2\nblacklisted kill_process\nread allowance\nwrite errno5\n").unwrap();
        assert_eq!(policy.mode, ListMode::Denylist);
        assert_eq!(policy.default_action, Action::Kill);
        assert_eq!(policy.rules[0].action, Action::Allow);
        assert_eq!(policy.rules[1].action, Action::Errno(5));
    }

    #[test]
    fn version_line_is_read_with_fscanf() {
        // Blank lines and spaces around the version, and the type on the same line.
        let policy = p("\n  2 denylist\nread\n").unwrap();
        assert_eq!(policy.list_line, 2);
        assert_eq!(policy.rules[0].line, 3);
        assert_eq!(p("+2\n\n\ndenylist\n").unwrap().list_line, 4);
        // int truncation of strtol's long.
        assert_eq!(p("4294967298\ndenylist\n").unwrap().version, 2);
        let e = p("3\ndenylist\n").unwrap_err().to_string();
        assert_eq!(e, "/p:1: policy version `3`, expected 1 or 2");
        let e = p("\n\nversion 2\n").unwrap_err().to_string();
        assert!(e.starts_with("/p:3: `version`"), "{e}");
        assert!(e.contains("expected 1 or 2"), "{e}");
        let e = p("").unwrap_err().to_string();
        assert!(e.starts_with("/p:1:"), "{e}");
        let e = p("2\n").unwrap_err().to_string();
        assert!(e.contains("expected a policy type line"), "{e}");
        // "2.5": the number is 2, the type line is ".5".
        let e = p("2.5\n").unwrap_err().to_string();
        assert!(e.contains("policy type `.5`"), "{e}");
    }

    #[test]
    fn type_line_errors() {
        let e = p("2\nallowlist debug\n").unwrap_err().to_string();
        assert!(
            e.starts_with("/p:2: `debug`") && e.contains("expected"),
            "{e}"
        );
        let e = p("2\ngraylist\n").unwrap_err().to_string();
        assert_eq!(
            e,
            "/p:2: policy type `graylist`, expected `whitelist`, `blacklist`, `allowlist` \
             or `denylist`"
        );
        // A trailing space leaves the newline as an "action", as in LXC.
        let e = p("2\ndenylist \nread\n").unwrap_err().to_string();
        assert!(e.starts_with("/p:2: a space after the policy type"), "{e}");
        // No comment after the type.
        assert!(p("2\ndenylist # x\n").is_err());
        // But more spaces before an action are fine, and so is a final line without `\n`.
        assert_eq!(
            p("2\ndenylist   errno 1").unwrap().default_action,
            Action::Errno(1)
        );
        assert!(p("2\ndenylist  ").unwrap().rules.is_empty());
        let e = p("2\ndenylist errno\n").unwrap_err().to_string();
        assert_eq!(e, "/p:2: `errno` has no number, expected `errno <number>`");
        // A tab is not a separator: nothing follows a space, so no default action.
        assert_eq!(
            p("2\ndenylist\tkill\n").unwrap().default_action,
            Action::Allow
        );
    }

    #[test]
    fn version_1() {
        let policy = p("1\nallowlist\n0\n  1 trailing\n-3\n").unwrap();
        assert_eq!(policy.version, 1);
        assert_eq!(policy.mode, ListMode::Allowlist);
        assert_eq!(policy.default_action, Action::Kill);
        let nrs: Vec<_> = policy.rules.iter().map(|r| r.target.clone()).collect();
        assert_eq!(
            nrs,
            vec![Target::Number(0), Target::Number(1), Target::Number(-3)]
        );
        assert_eq!(policy.rules[1].line, 4);
        // `allowlist` anywhere on the line, but not `whitelist`.
        assert!(p("1\nmy allowlist here\n").is_ok());
        let e = p("1\nwhitelist\n0\n").unwrap_err().to_string();
        assert!(
            e.starts_with("/p:2:") && e.contains("expected `allowlist`"),
            "{e}"
        );
        let e = p("1\nallowlist\n0\n\n1\n").unwrap_err().to_string();
        assert!(
            e.starts_with("/p:4:") && e.contains("expected one decimal"),
            "{e}"
        );
        assert!(p("1\nallowlist\n# no comments in v1\n").is_err());
    }

    #[test]
    fn missing_words_name_their_feature() {
        let base = base_words();
        let parse = |t: &str| {
            parse_with(Path::new("/p"), t.as_bytes(), HostArch::Amd64, &base).unwrap_err()
        };
        let e = parse("2\ndenylist\n");
        assert_eq!(
            e.to_string(),
            "/p:2: `denylist` needs the seccomp_allow_deny_syntax feature, expected \
             `whitelist` or `blacklist`"
        );
        assert_eq!(e.line(), Some(2));
        let e = parse("2\nblacklist\n# c\nread notify\n").to_string();
        assert_eq!(
            e,
            "/p:4: `notify` needs the seccomp_notify feature, expected `kill`, \
             `errno <number>`, `allow` or `trap`"
        );
        let e = parse("2\nblacklist notify\n").to_string();
        assert!(
            e.starts_with("/p:2: `notify` needs the seccomp_notify"),
            "{e}"
        );
        let e = parse("1\nallowlist\n1\n").to_string();
        assert!(
            e.contains("`allowlist` needs the seccomp_allow_deny_syntax"),
            "{e}"
        );
        // With the words, the same parse.
        let policy = p("2\nblacklist\nread notify\n").unwrap();
        assert!(policy.uses_notify());
    }

    #[test]
    fn an_extension_word_is_used_by_prefix_and_length() {
        static LOG: PolicyWord = PolicyWord {
            owner: "test",
            word: "log",
            meaning: WordMeaning::Action(ActionKind::Log),
        };
        let mut words = base_words();
        words.push(&LOG);
        let policy = parse_with(
            Path::new("/p"),
            b"2\nblacklist\nread log\n",
            HostArch::Amd64,
            &words,
        )
        .unwrap();
        assert_eq!(policy.rules[0].action, Action::Log);
        // Without it, LXC's answer: not an action.
        let e = parse_with(
            Path::new("/p"),
            b"2\nblacklist\nread log\n",
            HostArch::Amd64,
            &base_words(),
        )
        .unwrap_err()
        .to_string();
        assert!(e.starts_with("/p:3: unrecognized action `log`"), "{e}");
    }

    #[test]
    fn rule_lines() {
        let policy = p(concat!(
            "2\nblacklist\n",
            "read # a comment after the name\n",
            " # indented: not a comment, but nothing after the spaces\n",
            "write errno 1 # and a comment\n",
            "kill_me_softly\n",
            "open\r\n",
            "mkdir\0 garbage after a NUL\n",
            "\0whole line hidden\n",
            "\n",
            "  killer\n",
        ))
        .unwrap();
        let rules: Vec<_> = policy
            .rules
            .iter()
            .map(|r| (r.line, r.target.clone(), r.action))
            .collect();
        assert_eq!(
            rules,
            vec![
                (3, Target::Syscall("read".into()), Action::Kill),
                (4, Target::Syscall("".into()), Action::Kill),
                (5, Target::Syscall("write".into()), Action::Errno(1)),
                (6, Target::Syscall("kill_me_softly".into()), Action::Kill),
                (7, Target::Syscall("open\r".into()), Action::Kill),
                (8, Target::Syscall("mkdir".into()), Action::Kill),
                // An indented line reads its name as the action.
                (11, Target::Syscall("".into()), Action::Kill),
            ]
        );
        let e = p("2\nblacklist\n  read\n").unwrap_err().to_string();
        assert!(
            e.starts_with("/p:3: unrecognized action `read`, expected"),
            "{e}"
        );
        let e = p("2\nblacklist\nread bogus\n").unwrap_err().to_string();
        assert_eq!(
            e,
            "/p:3: unrecognized action `bogus`, expected `kill`, `errno <number>`, `allow`, \
             `trap` or `notify`"
        );
        let e = p("2\nblacklist\nread errno x\n").unwrap_err().to_string();
        assert!(e.starts_with("/p:3: `errno x` has no number"), "{e}");
    }

    #[test]
    fn argument_comparisons() {
        let policy = p(concat!(
            "2\nblacklist\n",
            "mount errno 1 [0,5,==] [1, 0x10 ,!=] [2,7,&=,0x3]\n",
            "ioctl errno 2 [1,21505,SCMP_CMP_MASKED_EQ,0xffff][2,1,<=,junk-not-read\n",
            "clone kill [0,1,>]",
        ))
        .unwrap_err()
        .to_string();
        // " 0x10 " has a trailing space.
        assert!(
            policy.starts_with("/p:3: argument value ` 0x10 `") && policy.contains("expected"),
            "{policy}"
        );

        let policy = p(concat!(
            "2\nblacklist\n",
            "mount errno 1 [0,5,==] [1, 0x10,!=] [2,7,&=,0x3]\n",
            "clone kill [0,1,>][1,2,<][2,3,>=][3,4,<=][4,5,SCMP_CMP_EQ][5,6,!=][9,9,bad]\n",
            "umount2 errno 3 [1,2,&=,1,extra]\n",
        ))
        .unwrap();
        assert_eq!(
            policy.rules[0].args,
            vec![
                ArgCmp {
                    index: 0,
                    value: 5,
                    op: CmpOp::Eq,
                    mask: 0
                },
                ArgCmp {
                    index: 1,
                    value: 16,
                    op: CmpOp::Ne,
                    mask: 0
                },
                ArgCmp {
                    index: 2,
                    value: 7,
                    op: CmpOp::MaskedEq,
                    mask: 3
                },
            ]
        );
        // Six read, the seventh ignored even though it is wrong.
        assert_eq!(policy.rules[1].args.len(), 6);
        assert_eq!(policy.rules[1].args[4].op, CmpOp::Eq);
        assert_eq!(policy.rules[2].args[0].mask, 1);

        let bad = |rule: &str| {
            let e = p(&format!("2\nblacklist\n{rule}\n")).unwrap_err();
            assert_eq!(e.line(), Some(3), "{rule}");
            let s = e.to_string();
            assert!(
                s.starts_with("/p:3: ") && s.contains("expected"),
                "{rule}: {s}"
            );
            s
        };
        // Arguments need an explicit action.
        assert!(bad("mount [0,5,==]").contains("unrecognized action `[0,5,==]`"));
        assert!(bad("mount errno 1 [6,5,==]").contains("index out of range"));
        assert!(bad("mount errno 1 [-1,5,==]").contains("index out of range"));
        assert!(bad("mount errno 1 [0,5]").contains("`[0,5]`"));
        assert!(bad("mount errno 1 [0,-5,==]").contains("argument value `-5`"));
        assert!(bad("mount errno 1 [0,5,=]").contains("comparison operator `=`"));
        assert!(bad("mount errno 1 [0,5,== ]").contains("comparison operator `== `"));
        assert!(bad("mount errno 1 [0,5,&=,x]").contains("argument mask `x`"));
        // Anything after the last `]`, even a space.
        assert!(bad("mount errno 1 [0,5,==] ").contains("outside an argument comparison"));
        assert!(bad("mount errno 1 [0,5,==]x").contains("`x` outside"));
        assert!(bad("mount errno 1 [0,123456789012345678901234,==]").contains("`[0,"));
    }

    #[test]
    fn sections_on_amd64() {
        let policy = p(concat!(
            "2\nallowlist\n",
            "read\n",
            "[x86]\nwrite\n",
            "[arm]\nthis line is not read at all [[[\n",
            "[X86_64]\nopen\n",
            "[s390x]\nreject_force_umount\n",
            "[ALL]\nclose\n",
            "[x32]\nstat\n",
        ))
        .unwrap();
        let names: Vec<_> = policy
            .rules
            .iter()
            .map(|r| (r.section, r.target.clone()))
            .collect();
        assert_eq!(
            names,
            vec![
                (None, Target::Syscall("read".into())),
                (Some(SectionArch::X86), Target::Syscall("write".into())),
                (Some(SectionArch::X86_64), Target::Syscall("open".into())),
                (Some(SectionArch::All), Target::Syscall("close".into())),
                (Some(SectionArch::X32), Target::Syscall("stat".into())),
            ]
        );
        assert!(!policy.reject_force_umount);
        let applies: Vec<_> = policy
            .sections
            .iter()
            .map(|s| (s.line, s.applies))
            .collect();
        assert_eq!(
            applies,
            vec![
                (4, true),
                (6, false),
                (8, true),
                (10, false),
                (12, true),
                (14, true)
            ]
        );
        let e = p("2\nallowlist\n[riscv64]\n").unwrap_err().to_string();
        assert!(
            e.starts_with("/p:3: unsupported architecture section `[riscv64]`, expected"),
            "{e}"
        );
        assert!(p("2\nallowlist\n[x86_64] \n").is_err());
        assert!(p("2\nallowlist\n[X86_64]\n").is_ok());
        assert!(p("2\nallowlist\n[Arm]\n").is_err());
    }

    #[test]
    fn sections_on_other_hosts() {
        let text = b"2\nallowlist\nread\n[x86]\nwrite\n[arm]\nopen\n[all]\nclose\n";
        let names = |host| {
            parse_with(Path::new("/p"), text, host, &all_words())
                .unwrap()
                .rules
                .iter()
                .map(|r| r.target.clone())
                .collect::<Vec<_>>()
        };
        let s = |n: &str| Target::Syscall(n.into());
        assert_eq!(
            names(HostArch::I386),
            vec![s("read"), s("write"), s("close")]
        );
        assert_eq!(
            names(HostArch::Arm64),
            vec![s("read"), s("open"), s("close")]
        );
        // LXC cannot name the host: nothing before a header counts, only [all].
        assert_eq!(names(HostArch::Unknown), vec![s("close")]);
    }

    #[test]
    fn host_names_as_lxc_maps_them() {
        assert_eq!(HostArch::from_machine(b"x86_64"), HostArch::Amd64);
        assert_eq!(HostArch::from_machine(b"i686"), HostArch::I386);
        assert_eq!(HostArch::from_machine(b"i586"), HostArch::Unknown);
        assert_eq!(HostArch::from_machine(b"armv7l"), HostArch::Arm);
        assert_eq!(HostArch::from_machine(b"armv8l"), HostArch::Unknown);
        assert_eq!(HostArch::from_machine(b"aarch64"), HostArch::Arm64);
        assert_eq!(HostArch::from_machine(b"ppc64le"), HostArch::Ppc64le);
        assert_eq!(HostArch::from_machine(b"ppc64"), HostArch::Ppc64);
        assert_eq!(HostArch::from_machine(b"s390x"), HostArch::S390x);
        assert_eq!(HostArch::from_machine(b"riscv64"), HostArch::Unknown);
        if cfg!(target_arch = "x86_64") {
            assert!(matches!(
                HostArch::detect(),
                HostArch::Amd64 | HostArch::I386
            ));
        }
    }

    #[test]
    fn notify_and_reject_force_umount_details() {
        // A notify rule asks for a listener even when its syscall is unknown, and a
        // reject_force_umount line's own action counts too; a notify default does not.
        assert!(p("2\nblacklist\nno_such_call notify\n")
            .unwrap()
            .uses_notify());
        assert!(p("2\nblacklist\nreject_force_umount notify\n")
            .unwrap()
            .uses_notify());
        assert!(!p("2\nblacklist notify\nread\n").unwrap().uses_notify());
        // Not when the rule is under a section for another architecture.
        assert!(!p("2\nblacklist\n[arm64]\nread notify\n")
            .unwrap()
            .uses_notify());
        let policy = p("2\nblacklist\nreject_force_umount_really\n").unwrap();
        assert!(policy.reject_force_umount);
        // Its action text is read, and can be wrong.
        assert!(p("2\nblacklist\nreject_force_umount please\n").is_err());
    }

    #[test]
    fn parse_file_reads_and_bounds() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.seccomp");
        std::fs::write(&path, "2\nblacklist\nread\n").unwrap();
        let policy = parse_file(&path).unwrap();
        assert_eq!(policy.path, path);
        let e = parse_file(&dir.path().join("missing")).unwrap_err();
        assert!(matches!(e, PolicyError::Read { .. }));
        assert!(e.to_string().contains("missing"), "{e}");
        let e = parse_file(dir.path()).unwrap_err();
        assert!(matches!(e, PolicyError::Read { .. }));
        let big = dir.path().join("big");
        let f = File::create(&big).unwrap();
        f.set_len(MAX_POLICY_BYTES + 1).unwrap();
        assert!(matches!(
            parse_file(&big).unwrap_err(),
            PolicyError::TooLarge { .. }
        ));
    }
}
