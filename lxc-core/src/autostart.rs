//! Which containers `lxc-autostart` acts on, and in what order, as LXC 5.0.2 decides it
//! (`tools/lxc_autostart.c`); nothing here starts or stops anything.
//!
//! - The defined containers of the lxcpath are sorted by `lxc.start.order`, lowest first, then
//!   by name; for a stop (`-s`, `-k`) the whole order is reversed.
//! - The `-g` groups are taken in the order given, each a pass over the sorted containers; the
//!   empty group is the "NULL group": containers with no `lxc.group` at all. Without `-g` the
//!   only pass is the NULL group's. A container is acted on in the first pass whose group it
//!   is in, and only once.
//! - A container's group `G` matches a requested group `R` when `G` is a prefix of `R` (LXC
//!   compares `strlen(G)` bytes), and `-g` drops a group that an earlier one is a prefix of, so
//!   that once the empty group is listed no later group counts (`-g web,` is web then the NULL
//!   group; `-g ,web` is the NULL group only). lxc-rs keeps these rules to act exactly as LXC.
//! - `-a` ignores groups (one pass over every container); `-A` ignores `lxc.start.auto`, which
//!   otherwise must be 1.

use std::cmp::Ordering;

use crate::container::Container;

/// What autostart needs to know of one container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub name: String,
    /// `lxc.start.auto` is 1.
    pub auto: bool,
    /// `lxc.start.delay`: seconds to wait after starting (or rebooting) it.
    pub delay: u64,
    /// `lxc.start.order`.
    pub order: i64,
    /// `lxc.group`, every group of every line.
    pub groups: Vec<String>,
}

impl Candidate {
    /// The candidate's values from its loaded config; a value that does not read as LXC's
    /// number counts as 0, as lxc-autostart takes it.
    pub fn of(c: &Container) -> Candidate {
        let int = |key: &str| {
            c.get_config_item(key)
                .ok()
                .and_then(|v| v.trim().parse::<i64>().ok())
                .unwrap_or(0)
        };
        let groups = c
            .get_config_item("lxc.group")
            .unwrap_or_default()
            .split('\n')
            .filter(|g| !g.is_empty())
            .map(str::to_string)
            .collect();
        Candidate {
            name: c.name().to_string(),
            auto: int("lxc.start.auto") == 1,
            delay: u64::try_from(int("lxc.start.delay")).unwrap_or(0),
            order: int("lxc.start.order"),
            groups,
        }
    }

    /// Whether the container is in `group` (`""`: the NULL group), by LXC's prefix rule.
    pub fn in_group(&self, group: &str) -> bool {
        if self.groups.is_empty() {
            return group.is_empty();
        }
        self.groups
            .iter()
            .any(|g| group.as_bytes().starts_with(g.as_bytes()))
    }
}

/// `-a`, `-A` and the `-g` list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selection {
    /// `-a`: every container, whatever its groups.
    pub all: bool,
    /// `-A`: ignore `lxc.start.auto`.
    pub ignore_auto: bool,
    /// The groups in pass order (see [`groups_from_args`]); empty means the NULL group only.
    pub groups: Vec<String>,
}

/// The `-g` values (each comma separated, empty fields kept) as LXC accumulates them: the
/// groups in order, and the ones dropped as duplicates (`""` for the NULL group), which
/// lxc-autostart reports.
pub fn groups_from_args<S: AsRef<str>>(args: &[S]) -> (Vec<String>, Vec<String>) {
    let mut groups: Vec<String> = Vec::new();
    let mut dropped = Vec::new();
    for field in args.iter().flat_map(|a| a.as_ref().split(',')) {
        if groups
            .iter()
            .any(|g| field.as_bytes().starts_with(g.as_bytes()))
        {
            dropped.push(field.to_string());
        } else {
            groups.push(field.to_string());
        }
    }
    (groups, dropped)
}

/// LXC's order: `lxc.start.order` ascending, then the name.
fn start_order(a: &Candidate, b: &Candidate) -> Ordering {
    a.order.cmp(&b.order).then_with(|| a.name.cmp(&b.name))
}

/// The reverse of [`start_order`] for a stop, except that of two names where one begins the
/// other the shorter stays first, as LXC's reversed comparator (which only compares the
/// first name's length of bytes) leaves them.
fn stop_order(a: &Candidate, b: &Candidate) -> Ordering {
    b.order.cmp(&a.order).then_with(|| {
        let (x, y) = (a.name.as_bytes(), b.name.as_bytes());
        if x.starts_with(y) || y.starts_with(x) {
            x.len().cmp(&y.len())
        } else {
            y.cmp(x)
        }
    })
}

/// The containers to act on, in the order to act on them. `stopping`: `-s` or `-k`.
pub fn plan(mut candidates: Vec<Candidate>, sel: &Selection, stopping: bool) -> Vec<Candidate> {
    candidates.sort_by(if stopping { stop_order } else { start_order });
    let mut left: Vec<Option<Candidate>> = candidates.into_iter().map(Some).collect();
    let null_group = [String::new()];
    let passes: &[String] = if sel.groups.is_empty() || sel.all {
        &null_group
    } else {
        &sel.groups
    };
    let mut out = Vec::new();
    for group in passes {
        for slot in left.iter_mut() {
            let Some(c) = slot else { continue };
            if !sel.ignore_auto && !c.auto {
                *slot = None;
                continue;
            }
            if !sel.all && !c.in_group(group) {
                continue;
            }
            if let Some(c) = slot.take() {
                out.push(c);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(name: &str, auto: bool, order: i64, groups: &[&str]) -> Candidate {
        Candidate {
            name: name.into(),
            auto,
            delay: 0,
            order,
            groups: groups.iter().map(|g| g.to_string()).collect(),
        }
    }

    fn names(v: &[Candidate]) -> Vec<&str> {
        v.iter().map(|c| c.name.as_str()).collect()
    }

    fn fleet() -> Vec<Candidate> {
        vec![
            c("a", true, 20, &[]),
            c("b", true, 10, &["onboot"]),
            c("c", true, 10, &[]),
            c("d", false, 0, &[]),
            c("e", true, 5, &["web", "onboot"]),
        ]
    }

    #[test]
    fn order_is_ascending_then_by_name() {
        let sel = Selection::default();
        assert_eq!(names(&plan(fleet(), &sel, false)), ["c", "a"]);
        assert_eq!(names(&plan(fleet(), &sel, true)), ["a", "c"]);
        let all = Selection {
            all: true,
            ..Selection::default()
        };
        assert_eq!(names(&plan(fleet(), &all, false)), ["e", "b", "c", "a"]);
        let every = Selection {
            all: true,
            ignore_auto: true,
            ..Selection::default()
        };
        assert_eq!(
            names(&plan(fleet(), &every, false)),
            ["d", "e", "b", "c", "a"]
        );
        assert_eq!(
            names(&plan(fleet(), &every, true)),
            ["a", "c", "b", "e", "d"]
        );
    }

    #[test]
    fn groups_are_passes_in_the_order_given() {
        let (groups, dropped) = groups_from_args(&["onboot,"]);
        assert!(dropped.is_empty());
        let sel = Selection {
            groups,
            ..Selection::default()
        };
        assert_eq!(names(&plan(fleet(), &sel, false)), ["e", "b", "c", "a"]);
        let (groups, _) = groups_from_args(&["web", "onboot"]);
        let sel = Selection {
            groups,
            ..Selection::default()
        };
        assert_eq!(names(&plan(fleet(), &sel, false)), ["e", "b"]);
    }

    #[test]
    fn group_lists_follow_lxcs_prefix_rule() {
        assert_eq!(
            groups_from_args(&[",web"]),
            (vec![String::new()], vec!["web".to_string()])
        );
        assert_eq!(
            groups_from_args(&["web,web2,,"]),
            (
                vec!["web".to_string(), String::new()],
                vec!["web2".to_string(), String::new()]
            )
        );
        // A container in group "web" is in the requested "webserver" too.
        assert!(c("x", true, 0, &["web"]).in_group("webserver"));
        assert!(!c("x", true, 0, &["webserver"]).in_group("web"));
        assert!(!c("x", true, 0, &["web"]).in_group(""));
        assert!(c("x", true, 0, &[]).in_group(""));
    }

    #[test]
    fn stop_order_keeps_a_prefix_name_first() {
        let v = vec![
            c("ab", true, 0, &[]),
            c("abc", true, 0, &[]),
            c("b", true, 0, &[]),
        ];
        let sel = Selection::default();
        assert_eq!(names(&plan(v, &sel, true)), ["b", "ab", "abc"]);
    }
}
