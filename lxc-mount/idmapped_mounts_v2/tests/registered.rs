//! The crate registers `idmapped_mounts_v2` when it is linked.

use lxc_ext_idmapped_mounts_v2 as _;

#[test]
fn registers_its_name() {
    assert!(lxc_core::registry::has_api_extension("idmapped_mounts_v2"));
}
