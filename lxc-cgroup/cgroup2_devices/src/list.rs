//! LXC 5.0.2's device list (`bpf_list_add_device`): what the program is generated from, in
//! the monitor for as long as the container runs, so a live rule changes it as LXC's would.
//!
//! Its rules, which the program and so the container inherit:
//! - the list starts as an allowlist (everything not allowed is denied);
//! - `a` empties the list; `allow a` makes it a denylist, `deny a` an allowlist;
//! - a rule equal to one in the list (type, numbers and access *text*) that the list's kind
//!   would emit flips that one's allow/deny instead of being added (`rw` and `wr` are two
//!   rules, as are `r` and `rw`: one does not replace the other's access);
//! - every other rule is added in front, emitted or not: an allowlist emits only its allow
//!   rules, a denylist only its deny rules;
//! - an empty list makes no program at start (everything stays allowed, even after `deny a`:
//!   LXC's `cgfsng_devices_activate` returns early), while a live change always makes one.

use crate::rule::{DevType, DeviceRule};

/// Whether what no rule matches is denied (allowlist) or allowed (denylist); LXC's
/// `LXC_BPF_DEVICE_CGROUP_ALLOWLIST` (0) and `..._DENYLIST` (1) are the program's default
/// return value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListType {
    Allowlist,
    Denylist,
}

impl ListType {
    /// The program's return value when no rule matches.
    pub fn default_verdict(self) -> i32 {
        match self {
            ListType::Allowlist => 0,
            ListType::Denylist => 1,
        }
    }
}

/// The device list, newest rule first (LXC's `list_add` puts new rules at the head).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceList {
    pub list_type: ListType,
    pub rules: Vec<DeviceRule>,
}

impl Default for DeviceList {
    fn default() -> Self {
        DeviceList {
            list_type: ListType::Allowlist,
            rules: Vec::new(),
        }
    }
}

impl DeviceList {
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether the list's kind puts `rule` into the program (LXC's `bpf_device_add`).
    pub fn emits(&self, rule: &DeviceRule) -> bool {
        match self.list_type {
            ListType::Allowlist => rule.allow,
            ListType::Denylist => !rule.allow,
        }
    }

    /// Add a rule; true when the list changed (LXC's return value 1), false when an equal
    /// rule was already there (0).
    pub fn add(&mut self, rule: DeviceRule) -> bool {
        if rule.is_reset() {
            self.list_type = if rule.allow {
                ListType::Denylist
            } else {
                ListType::Allowlist
            };
            self.rules.clear();
            tracing::trace!(list = ?self.list_type, "device list reset");
            return true;
        }
        let list_type = self.list_type;
        let emitted = |r: &DeviceRule| match list_type {
            ListType::Allowlist => r.allow,
            ListType::Denylist => !r.allow,
        };
        if let Some(same) = self.rules.iter_mut().find(|r| {
            r.dev_type == rule.dev_type
                && r.major == rule.major
                && r.minor == rule.minor
                && r.access == rule.access
                && emitted(r)
        }) {
            if same.allow != rule.allow {
                same.allow = rule.allow;
                tracing::trace!(%rule, "device rule switched");
                return true;
            }
            tracing::trace!(%rule, "device rule already there");
            return false;
        }
        tracing::trace!(%rule, "device rule added");
        self.rules.insert(0, rule);
        true
    }

    /// The rules the program has, in its order.
    pub fn emitted(&self) -> impl Iterator<Item = &DeviceRule> {
        self.rules.iter().filter(|r| self.emits(r))
    }

    /// What the list answers for one access, by the list's rules rather than the program (for
    /// tests and for `info`): `None` when no program is made at start (an empty list).
    /// `access` is the kernel's bits (`ACC_*`), `dev_type` block or char.
    pub fn decide(&self, dev_type: DevType, major: u32, minor: u32, access: u32) -> Option<bool> {
        if self.rules.is_empty() {
            return None;
        }
        Some(self.verdict(dev_type, major, minor, access))
    }

    /// The program's answer (a program is there, whatever the list holds).
    pub fn verdict(&self, dev_type: DevType, major: u32, minor: u32, access: u32) -> bool {
        for r in self.emitted() {
            let mask = crate::program::access_mask(&r.access);
            if access & mask != access {
                continue;
            }
            if r.dev_type != DevType::All && r.dev_type != dev_type {
                continue;
            }
            if r.major.is_some_and(|m| m != major) || r.minor.is_some_and(|m| m != minor) {
                continue;
            }
            return r.allow;
        }
        self.list_type == ListType::Denylist
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::program::{ACC_MKNOD, ACC_READ, ACC_WRITE};
    use crate::rule::parse;

    fn list(rules: &[(&str, &str)]) -> DeviceList {
        let mut l = DeviceList::new();
        for (file, v) in rules {
            l.add(parse("k", file, v).unwrap());
        }
        l
    }

    const A: &str = "devices.allow";
    const D: &str = "devices.deny";
    const RW: u32 = ACC_READ | ACC_WRITE;

    #[test]
    fn reset_sets_the_default_and_empties() {
        let mut l = list(&[(A, "c 1:3 rwm")]);
        assert_eq!(l.list_type, ListType::Allowlist);
        assert!(l.add(parse("k", A, "a").unwrap()));
        assert_eq!((l.list_type, l.rules.len()), (ListType::Denylist, 0));
        assert!(l.add(parse("k", D, "a").unwrap()));
        assert_eq!(l.list_type, ListType::Allowlist);
        // `a *:* ` (no access letters) is a reset too; `a *:* rwm` is a rule.
        let l = list(&[(D, "a"), (A, "a *:* ")]);
        assert_eq!((l.list_type, l.rules.len()), (ListType::Denylist, 0));
        let l = list(&[(D, "a"), (A, "a *:* rwm")]);
        assert_eq!((l.list_type, l.rules.len()), (ListType::Allowlist, 1));
    }

    #[test]
    fn new_rules_go_in_front_and_equal_ones_flip() {
        let mut l = list(&[(D, "a"), (A, "c 1:3 rwm"), (A, "c 1:5 r")]);
        assert_eq!(l.rules[0].minor, Some(5));
        assert!(!l.add(parse("k", A, "c 1:3 rwm").unwrap()), "already there");
        assert!(l.add(parse("k", D, "c 1:3 rwm").unwrap()), "flipped");
        assert_eq!(l.rules.len(), 2);
        assert!(!l.rules[1].allow);
        // The flipped rule is no longer emitted, so it is not found again: allowing it once
        // more adds a new rule in front.
        assert!(l.add(parse("k", A, "c 1:3 rwm").unwrap()));
        assert_eq!(l.rules.len(), 3);
        assert!(l.rules[0].allow && !l.rules[2].allow);
        // A different access text is a different rule.
        assert!(l.add(parse("k", A, "c 1:5 w").unwrap()));
        assert_eq!(l.rules.len(), 4);
    }

    #[test]
    fn verdicts() {
        let l = list(&[(D, "a"), (A, "c 1:3 rwm"), (A, "c 1:5 r"), (A, "b *:* m")]);
        assert_eq!(l.decide(DevType::Char, 1, 3, RW), Some(true));
        assert_eq!(l.decide(DevType::Char, 1, 5, ACC_READ), Some(true));
        assert_eq!(l.decide(DevType::Char, 1, 5, RW), Some(false));
        assert_eq!(l.decide(DevType::Block, 7, 0, ACC_MKNOD), Some(true));
        assert_eq!(l.decide(DevType::Block, 7, 0, ACC_READ), Some(false));
        assert_eq!(l.decide(DevType::Char, 1, 3 + 1, ACC_READ), Some(false));
        // Split access: `r` and `w` rules do not add up to `rw`.
        let l = list(&[(D, "a"), (A, "c 1:3 r"), (A, "c 1:3 w")]);
        assert_eq!(l.decide(DevType::Char, 1, 3, RW), Some(false));
        // A denylist's partial deny does not catch an access it only overlaps.
        let l = list(&[(A, "a"), (D, "c 1:5 w")]);
        assert_eq!(l.decide(DevType::Char, 1, 5, ACC_WRITE), Some(false));
        assert_eq!(l.decide(DevType::Char, 1, 5, RW), Some(true));
        // `deny a` alone leaves an empty list: no program.
        assert_eq!(
            list(&[(D, "a")]).decide(DevType::Char, 1, 3, ACC_READ),
            None
        );
        // Without any `a` the list is an allowlist; deny rules alone deny everything.
        let l = list(&[(D, "c 1:5 rwm")]);
        assert_eq!(l.decide(DevType::Char, 1, 3, ACC_READ), Some(false));
        let l = list(&[(A, "c 1:3 rwm")]);
        assert_eq!(l.decide(DevType::Char, 1, 3, ACC_READ), Some(true));
        assert_eq!(l.decide(DevType::Char, 1, 5, ACC_READ), Some(false));
    }
}
