//! API extension `seccomp_allow_deny_syntax`: the policy list words `allowlist` and
//! `denylist`, LXC 4.0's names for the legacy `whitelist` and `blacklist` (which the base
//! always reads). Each has the default of its legacy twin: an allowlist kills what it does not
//! list, a denylist allows it, unless the list line names another default action.
//!
//! The registration below is everything this crate does: the name, and its two words in
//! lxc-seccomp's policy vocabulary.

// Unsafe code belongs in small wrappers of lxc-core; lift this only with a `// SAFETY:` line.
#![forbid(unsafe_code)]

use lxc_core::linkme::distributed_slice;
use lxc_core::registry::{EntryKind, Registration, REGISTRY};
use lxc_seccomp::policy::{ListMode, PolicyWord, WordMeaning, POLICY_WORDS};

/// The registration's name, and the owner of its words.
pub const NAME: &str = "seccomp_allow_deny_syntax";

#[distributed_slice(REGISTRY)]
#[linkme(crate = lxc_core::linkme)]
static SECCOMP_ALLOW_DENY_SYNTAX: Registration = Registration {
    name: NAME,
    kind: EntryKind::ApiExtension,
    keys: &[],
    hooks: &[],
    commands: &[],
};

#[distributed_slice(POLICY_WORDS)]
#[linkme(crate = lxc_core::linkme)]
static ALLOWLIST: PolicyWord = PolicyWord {
    owner: NAME,
    word: "allowlist",
    meaning: WordMeaning::List(ListMode::Allowlist),
};

#[distributed_slice(POLICY_WORDS)]
#[linkme(crate = lxc_core::linkme)]
static DENYLIST: PolicyWord = PolicyWord {
    owner: NAME,
    word: "denylist",
    meaning: WordMeaning::List(ListMode::Denylist),
};
