//! The crate registers `environment_runtime_hooks` when it is linked.

use lxc_ext_environment_runtime_hooks as _;

#[test]
fn registers_its_name() {
    assert!(lxc_core::registry::has_api_extension(
        "environment_runtime_hooks"
    ));
}
