//! The crate registers `seccomp_allow_deny_syntax` and its words when it is linked.

use std::path::Path;

use lxc_ext_seccomp_allow_deny_syntax as _;
use lxc_seccomp::policy::{self, ListMode, WordMeaning};

#[test]
fn registers_its_name() {
    assert!(lxc_core::registry::has_api_extension(
        "seccomp_allow_deny_syntax"
    ));
}

#[test]
fn its_words_reach_the_parser_with_their_legacy_twins_meaning() {
    let mine: Vec<_> = policy::registered_words()
        .into_iter()
        .filter(|w| w.owner == "seccomp_allow_deny_syntax")
        .collect();
    assert_eq!(mine.len(), 2);
    for (new, legacy, mode) in [
        ("allowlist", "whitelist", ListMode::Allowlist),
        ("denylist", "blacklist", ListMode::Denylist),
    ] {
        assert!(mine
            .iter()
            .any(|w| w.word == new && w.meaning == WordMeaning::List(mode)));
        let p = Path::new("/test.seccomp");
        let a = policy::parse(p, format!("2\n{new}\nmkdir errno 1\n").as_bytes())
            .unwrap_or_else(|e| panic!("{new}: {e}"));
        let b = policy::parse(p, format!("2\n{legacy}\nmkdir errno 1\n").as_bytes())
            .unwrap_or_else(|e| panic!("{legacy}: {e}"));
        assert_eq!(
            format!("{a:?}"),
            format!("{b:?}"),
            "{new} and {legacy} differ"
        );
    }
}
