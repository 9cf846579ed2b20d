//! The crate registers `cgroup_advanced_isolation` when it is linked.

use lxc_ext_cgroup_advanced_isolation as _;

#[test]
fn registers_its_name() {
    assert!(lxc_core::registry::has_api_extension("cgroup_advanced_isolation"));
}
