//! The crate registers `devpts_fd` when it is linked.

use lxc_ext_devpts_fd as _;

#[test]
fn registers_its_name() {
    assert!(lxc_core::registry::has_api_extension("devpts_fd"));
}
