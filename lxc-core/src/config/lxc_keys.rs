//! Every key LXC defines, with what provides it in lxc-rs. The registry answers for keys whose
//! code is linked in; this table only tells "a key LXC knows, not in this build" apart from a
//! typo, and names what the user has to enable.

/// (key or prefix ending in '.', provider). Exact keys and prefixes, checked longest first.
const LXC_KEYS: &[(&str, &str)] = &[
    ("lxc.log.file", "feature lxc_log"),
    ("lxc.log.level", "feature lxc_log"),
    ("lxc.log.syslog", "feature lxc_log"),
    ("lxc.seccomp.", "the lxc-seccomp subsystem"),
    ("lxc.seccomp.notify.cookie", "feature seccomp_notify"),
    ("lxc.seccomp.notify.proxy", "feature seccomp_notify"),
    ("lxc.seccomp.allow_nesting", "feature seccomp_allow_nesting"),
    ("lxc.net", "the lxc-net subsystem"),
    ("lxc.net.", "the lxc-net subsystem"),
    ("lxc.console.", "the lxc-console subsystem"),
    ("lxc.console.logfile", "feature console_log"),
    ("lxc.console.rotate", "feature console_log"),
    ("lxc.console.buffer.size", "feature console_log"),
    ("lxc.console.size", "feature console_log"),
    ("lxc.cgroup", "the lxc-cgroup subsystem"),
    ("lxc.cgroup.", "the lxc-cgroup subsystem"),
    ("lxc.cgroup2", "the lxc-cgroup subsystem"),
    ("lxc.cgroup2.", "feature cgroup2"),
    ("lxc.mount.", "the lxc-mount subsystem"),
    ("lxc.rootfs.", "the lxc-mount subsystem"),
    ("lxc.autodev", "the lxc-mount subsystem"),
    ("lxc.autodev.tmpfs.size", "the lxc-mount subsystem"),
    ("lxc.apparmor.", "an LSM layer"),
    ("lxc.selinux.", "an LSM layer"),
    ("lxc.time.offset.", "feature time_namespace"),
    ("lxc.sched.core", "the core"),
    (
        "lxc.environment.runtime",
        "feature environment_runtime_hooks",
    ),
    ("lxc.environment.hooks", "feature environment_runtime_hooks"),
    ("lxc.arch", "the core"),
    ("lxc.cap.", "the core"),
    ("lxc.environment", "the core"),
    ("lxc.ephemeral", "the core"),
    ("lxc.execute.cmd", "the core"),
    ("lxc.group", "the core"),
    ("lxc.hook", "the core"),
    ("lxc.hook.", "the core"),
    ("lxc.idmap", "the core"),
    ("lxc.include", "the core"),
    ("lxc.init.", "the core"),
    ("lxc.keyring.session", "the core"),
    ("lxc.monitor.", "the core"),
    ("lxc.namespace.", "the core"),
    ("lxc.no_new_privs", "the core"),
    ("lxc.prlimit", "the core"),
    ("lxc.prlimit.", "the core"),
    ("lxc.pty.max", "the core"),
    ("lxc.signal.", "the core"),
    ("lxc.start.", "the core"),
    ("lxc.tty.", "the core"),
    ("lxc.uts.name", "the core"),
    ("lxc.sysctl", "the core"),
    ("lxc.sysctl.", "the core"),
    ("lxc.proc", "the core"),
    ("lxc.proc.", "the core"),
];

/// What provides a key LXC defines, or `None` for a key LXC does not know either.
pub fn provider_of(key: &str) -> Option<&'static str> {
    let mut best: Option<(usize, &'static str)> = None;
    for &(k, provider) in LXC_KEYS {
        let hit = if k.ends_with('.') {
            key.len() > k.len() && key.starts_with(k)
        } else {
            key == k
        };
        if hit && best.is_none_or(|(len, _)| k.len() > len) {
            best = Some((k.len(), provider));
        }
    }
    best.map(|(_, p)| p)
}
