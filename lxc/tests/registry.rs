//! Whatever feature set this is built with, no two linked registrations claim the same name,
//! key pattern or command (lookups take the first match, so a clash would be silent).

#[test]
fn no_two_registrations_claim_one_thing() {
    let regs = lxc::registry::registrations();
    assert!(
        !regs.is_empty(),
        "the core's own components are always linked"
    );
    let clashes = lxc::registry::conflicts(&regs);
    assert!(clashes.is_empty(), "{}", clashes.join("\n"));
}

#[test]
fn no_two_start_requests_share_a_name() {
    let defs: Vec<_> = lxc::registry::START_REQUESTS.iter().collect();
    let clashes = lxc::registry::start_request_conflicts(&defs);
    assert!(clashes.is_empty(), "{}", clashes.join("\n"));
}

/// A key check runs on the keys that resolve to the key definition of its pattern: a check
/// whose pattern no linked registration defines would never run.
#[test]
fn every_key_check_belongs_to_a_linked_key() {
    let defined: Vec<lxc::registry::KeyPattern> = lxc::registry::registrations()
        .iter()
        .flat_map(|r| r.keys.iter().map(|k| k.pattern))
        .collect();
    assert!(!lxc::registry::KEY_CHECKS.is_empty());
    for c in lxc::registry::KEY_CHECKS.iter() {
        assert!(
            defined.contains(&c.pattern),
            "{}'s check of {} has no key definition",
            c.owner,
            c.pattern.display()
        );
    }
}
