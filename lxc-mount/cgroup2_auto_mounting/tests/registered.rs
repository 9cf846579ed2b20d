//! The crate registers `cgroup2_auto_mounting` when it is linked.

use lxc_ext_cgroup2_auto_mounting as _;

#[test]
fn registers_its_name() {
    assert!(lxc_core::registry::has_api_extension(
        "cgroup2_auto_mounting"
    ));
}
