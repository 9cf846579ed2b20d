//! The crate registers `cgroup_relative` when it is linked.

use lxc_ext_cgroup_relative as _;

#[test]
fn registers_its_name() {
    assert!(lxc_core::registry::has_api_extension("cgroup_relative"));
}
