//! Value parsers shared by key definitions, and typed parsers the start code uses to read
//! stored values.
//!
//! A `ParseFn` returns the normalized value (what `get_config_item` prints for it) or a
//! description of what was expected. Numbers follow LXC's helpers exactly (`lxc_safe_uint` and
//! friends are `strtoul`/`strtol` with base 0, so `0x10` and `010` are numbers too, leading
//! white space is skipped and trailing characters are refused), because a config that LXC
//! accepts must be accepted here and print the same.

use crate::config::Config;

/// LXC's `PATH_MAX` limit for path keys: the simplified path must be shorter.
pub const PATH_MAX: usize = 4096;

/// C's `isspace` in the "C" locale.
pub fn c_isspace(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// What `strtoul`/`strtoull` (and `strtol` on the magnitude) return: the value of the digits,
/// how many bytes were consumed (0 when there were no digits: C then points `endptr` back at
/// the start), whether the magnitude overflowed 64 bits, and the sign.
struct CNum {
    magnitude: u64,
    end: usize,
    overflow: bool,
    negative: bool,
}

/// `strto*` parsing: skip `isspace`, an optional sign, then digits in `base` (0: `0x` hex,
/// leading `0` octal, else decimal).
fn c_strtou(s: &[u8], base: u32) -> CNum {
    let mut i = 0;
    while i < s.len() && c_isspace(s[i]) {
        i += 1;
    }
    let mut negative = false;
    if i < s.len() && (s[i] == b'+' || s[i] == b'-') {
        negative = s[i] == b'-';
        i += 1;
    }
    let mut base = base;
    // "0x" counts as a prefix only when a hex digit follows; else C reads the "0" alone.
    let rest = &s[i..];
    if (base == 0 || base == 16)
        && rest.len() > 2
        && rest[0] == b'0'
        && (rest[1] == b'x' || rest[1] == b'X')
        && rest[2].is_ascii_hexdigit()
    {
        base = 16;
        i += 2;
    } else if base == 0 {
        base = if i < s.len() && s[i] == b'0' { 8 } else { 10 };
    }
    let start = i;
    let mut magnitude: u64 = 0;
    let mut overflow = false;
    while i < s.len() {
        let d = match s[i] {
            c @ b'0'..=b'9' => u32::from(c - b'0'),
            c @ b'a'..=b'z' => u32::from(c - b'a') + 10,
            c @ b'A'..=b'Z' => u32::from(c - b'A') + 10,
            _ => break,
        };
        if d >= base {
            break;
        }
        match magnitude
            .checked_mul(u64::from(base))
            .and_then(|m| m.checked_add(u64::from(d)))
        {
            Some(m) => magnitude = m,
            None => overflow = true,
        }
        i += 1;
    }
    if i == start {
        return CNum {
            magnitude: 0,
            end: 0,
            overflow: false,
            negative: false,
        };
    }
    CNum {
        magnitude,
        end: i,
        overflow,
        negative,
    }
}

/// C's `strtoul(s, &end, base)`: the value C returns (a negative number wraps, an overflow
/// gives `u64::MAX`), the bytes consumed (0: no digits) and whether it overflowed (`ERANGE`).
pub fn strtoul(s: &str, base: u32) -> (u64, usize, bool) {
    let n = c_strtou(s.as_bytes(), base);
    if n.end == 0 {
        (0, 0, false)
    } else if n.overflow {
        (u64::MAX, n.end, true)
    } else if n.negative {
        (n.magnitude.wrapping_neg(), n.end, false)
    } else {
        (n.magnitude, n.end, false)
    }
}

/// LXC's `lxc_safe_ulong`: no `-`, base 0, the whole string must be the number.
pub fn safe_ulong(s: &str) -> Option<u64> {
    let b = s.as_bytes();
    let skip = b.iter().take_while(|&&c| c_isspace(c)).count();
    if b.get(skip) == Some(&b'-') {
        return None;
    }
    let n = c_strtou(b, 0);
    if n.end == 0 || n.end != b.len() || n.overflow {
        return None;
    }
    Some(if n.negative {
        n.magnitude.wrapping_neg()
    } else {
        n.magnitude
    })
}

/// LXC's `lxc_safe_uint`: as [`safe_ulong`], and at most `u32::MAX`.
pub fn safe_uint(s: &str) -> Option<u32> {
    safe_ulong(s).and_then(|v| u32::try_from(v).ok())
}

/// LXC's `lxc_safe_int`: `strtol` base 0 (a sign is allowed), whole string, fits in `i32`.
pub fn safe_int(s: &str) -> Option<i32> {
    let b = s.as_bytes();
    let n = c_strtou(b, 0);
    if n.end == 0 || n.end != b.len() || n.overflow {
        return None;
    }
    let v = i128::from(n.magnitude);
    let v = if n.negative { -v } else { v };
    i32::try_from(v).ok()
}

/// Why a number was refused, in the words an error message uses.
const UINT: &str = "an unsigned integer (decimal, 0x hex or 0 octal) below 2^32";

// ---------------------------------------------------------------------------------------------
// Generic parsers.

pub fn any_string(_key: &str, value: &str) -> Result<String, String> {
    Ok(value.to_string())
}

/// LXC's `lxc_safe_uint`, printed back in decimal (LXC stores the number, not the text).
pub fn uint(_key: &str, value: &str) -> Result<String, String> {
    safe_uint(value)
        .map(|n| n.to_string())
        .ok_or_else(|| UINT.to_string())
}

/// An unsigned value LXC keeps in an `unsigned int` but prints with `%d`: 4294967295 prints
/// as -1. Odd, but it is what `get_config_item` answers.
pub fn uint_printed_signed(_key: &str, value: &str) -> Result<String, String> {
    safe_uint(value)
        .map(|n| (n as i32).to_string())
        .ok_or_else(|| UINT.to_string())
}

/// LXC's setters of `lxc.init.uid`, `lxc.init.gid` and `lxc.hook.version` return `-errno`
/// when `lxc_safe_uint` fails, but that helper reports most failures without setting `errno`:
/// LXC then accepts the value and changes nothing. A config with `lxc.init.uid = x` thus
/// loads in LXC (and keeps uid 0); lxc-rs loads it too, stores nothing (an empty normalized
/// value, which the getter skips) and warns. Only a leading `-` (where `errno` is whatever an
/// earlier call left, in practice an error) and a number too large for 64 bits (`ERANGE`) are
/// refused.
fn uint_errno_quirk(key: &str, value: &str) -> Result<Option<u32>, String> {
    if let Some(n) = safe_uint(value) {
        return Ok(Some(n));
    }
    let b = value.as_bytes();
    let skip = b.iter().take_while(|&&c| c_isspace(c)).count();
    if b.get(skip) == Some(&b'-') || c_strtou(b, 0).overflow {
        return Err(UINT.to_string());
    }
    tracing::warn!(
        key,
        value,
        "not a number; ignored (LXC accepts the line and changes nothing)"
    );
    Ok(None)
}

/// `lxc.init.uid` / `lxc.init.gid`: see [`uint_errno_quirk`]; printed with `%d`.
pub fn id_number(key: &str, value: &str) -> Result<String, String> {
    Ok(uint_errno_quirk(key, value)?
        .map(|n| (n as i32).to_string())
        .unwrap_or_default())
}

/// `lxc.hook.version`: 0 or 1; see [`uint_errno_quirk`] for what else LXC lets through.
pub fn hook_version(key: &str, value: &str) -> Result<String, String> {
    match uint_errno_quirk(key, value)? {
        Some(n @ (0 | 1)) => Ok(n.to_string()),
        Some(_) => Err("0 (legacy) or 1".into()),
        None => Ok(String::new()),
    }
}

/// 0 or 1 (LXC's booleans are `lxc_safe_uint` then a range check, so `0x1` is 1).
pub fn bool01(_key: &str, value: &str) -> Result<String, String> {
    match safe_uint(value) {
        Some(n @ (0 | 1)) => Ok(n.to_string()),
        _ => Err("0 or 1".into()),
    }
}

/// LXC's `lxc_safe_int`.
pub fn int(_key: &str, value: &str) -> Result<String, String> {
    safe_int(value)
        .map(|n| n.to_string())
        .ok_or_else(|| "an integer (decimal, 0x hex or 0 octal) that fits in 32 bits".into())
}

/// A path, normalized like LXC's `set_config_path_item` does it.
pub fn path(_key: &str, value: &str) -> Result<String, String> {
    let p = path_simplify(value);
    if p.len() >= PATH_MAX {
        return Err(format!("a path shorter than {PATH_MAX} bytes"));
    }
    Ok(p)
}

/// For bare keys such as `lxc.sysctl` that can only be cleared.
pub fn only_empty(key: &str, _value: &str) -> Result<String, String> {
    Err(format!(
        "an empty value (setting {key} itself only clears it; set {key}.NAME)"
    ))
}

/// A bare prefix key prints every key below it as `key = value` lines.
pub fn get_prefixed_lines(config: &Config, key: &str) -> String {
    let prefix = format!("{key}.");
    config
        .with_prefix(&prefix)
        .map(|e| format!("{} = {}\n", e.key, e.value))
        .collect()
}

/// A bare prefix key clears every key below it.
pub fn clear_prefixed(config: &mut Config, key: &str) {
    let prefix = format!("{key}.");
    config.forget_where(|e| e.key.starts_with(&prefix));
}

/// LXC's `path_simplify` (from systemd): collapse repeated slashes, drop `.` components, a
/// leading `./` and trailing slashes; `..` is kept. An empty result is `/` for an absolute path,
/// else `.`.
pub fn path_simplify(path: &str) -> String {
    if path.is_empty() {
        return String::new();
    }
    let b = path.as_bytes();
    let absolute = b[0] == b'/';
    let is_dot_component = |i: usize| b[i] == b'.' && (i + 1 == b.len() || b[i + 1] == b'/');
    let mut out: Vec<u8> = Vec::with_capacity(b.len());
    let mut i = 0;
    let mut ignore_slash = false;
    if is_dot_component(0) {
        ignore_slash = true;
        i = 1;
    }
    let mut slash = false;
    while i < b.len() {
        let c = b[i];
        if c == b'/' {
            slash = true;
            i += 1;
            continue;
        }
        if slash {
            if is_dot_component(i) {
                i += 1;
                continue;
            }
            slash = false;
            if ignore_slash {
                ignore_slash = false;
            } else {
                out.push(b'/');
            }
        }
        out.push(c);
        i += 1;
    }
    if out.is_empty() {
        out.push(if absolute { b'/' } else { b'.' });
    }
    // Only ASCII bytes were removed from valid UTF-8, so the rest is still valid.
    String::from_utf8_lossy(&out).into_owned()
}

/// Split like LXC's `lxc_iterate_parts` (`strtok_r`): any run of separator bytes separates,
/// empty tokens are skipped.
pub fn tokens<'a>(value: &'a str, seps: &'a str) -> impl Iterator<Item = &'a str> + 'a {
    value
        .split(move |c: char| seps.contains(c))
        .filter(|t| !t.is_empty())
}

// ---------------------------------------------------------------------------------------------
// Signals.

/// Signal names LXC knows after a `SIG` prefix, with their Linux x86_64 numbers (LXC's
/// `signames` table as built against glibc, which has no `SIGUNUSED`; `sig_parse` takes them in
/// any case).
pub const SIGNALS: &[(&str, i32)] = &[
    ("HUP", 1),
    ("INT", 2),
    ("QUIT", 3),
    ("ILL", 4),
    ("ABRT", 6),
    ("FPE", 8),
    ("KILL", 9),
    ("SEGV", 11),
    ("PIPE", 13),
    ("ALRM", 14),
    ("TERM", 15),
    ("USR1", 10),
    ("USR2", 12),
    ("CHLD", 17),
    ("CONT", 18),
    ("STOP", 19),
    ("TSTP", 20),
    ("TTIN", 21),
    ("TTOU", 22),
    ("TRAP", 5),
    ("IOT", 6),
    ("BUS", 7),
    ("STKFLT", 16),
    ("CLD", 17),
    ("URG", 23),
    ("XCPU", 24),
    ("XFSZ", 25),
    ("VTALRM", 26),
    ("PROF", 27),
    ("WINCH", 28),
    ("IO", 29),
    ("POLL", 29),
    ("PWR", 30),
    ("SYS", 31),
];

/// glibc's `SIGRTMIN` (the kernel's 32 plus the two glibc keeps for itself) and `SIGRTMAX`.
pub const SIGRTMIN: i32 = 34;
pub const SIGRTMAX: i32 = 64;

/// LXC's `sig_parse`: a number (anything `lxc_safe_uint` takes that fits in an `int`, even
/// above 64: LXC does not check), or `SIG<NAME>` / `SIGRTMIN+n` / `SIGRTMAX-n` in any case.
/// A bare `TERM` is refused, as in LXC.
pub fn signal(value: &str) -> Option<i32> {
    let b = value.as_bytes();
    if b.first().is_some_and(u8::is_ascii_digit) {
        return safe_uint(value).and_then(|n| i32::try_from(n).ok());
    }
    let rest = strip_prefix_ci(value, "sig")?;
    if let Some(rt) = strip_prefix_ci(rest, "rt") {
        let (max, n) = if let Some(n) = strip_prefix_ci(rt, "max-") {
            (true, n)
        } else {
            (false, strip_prefix_ci(rt, "min+")?)
        };
        if !n.as_bytes().first().is_some_and(u8::is_ascii_digit) {
            return None;
        }
        let n = i32::try_from(safe_uint(n)?).ok()?;
        if n > SIGRTMAX - SIGRTMIN {
            return None;
        }
        return Some(if max { SIGRTMAX - n } else { SIGRTMIN + n });
    }
    SIGNALS
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(rest))
        .map(|&(_, n)| n)
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

/// `lxc.signal.*`, `lxc.monitor.signal.pdeath`: printed as the number.
pub fn signal_value(_key: &str, value: &str) -> Result<String, String> {
    signal(value).map(|n| n.to_string()).ok_or_else(|| {
        "a signal: a number, SIG<NAME> (e.g. SIGTERM, any case), SIGRTMIN+n or SIGRTMAX-n".into()
    })
}

// ---------------------------------------------------------------------------------------------
// Architecture.

/// What `lxc.arch` selects: the personality the container runs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Personality {
    /// `PER_LINUX32`: a 32-bit userland (printed `i686`).
    Linux32,
    /// `PER_LINUX` (printed `x86_64`).
    Linux,
}

impl Personality {
    /// The `personality(2)` value.
    pub fn persona(self) -> libc::c_ulong {
        match self {
            Personality::Linux32 => 0x0008,
            Personality::Linux => 0x0000,
        }
    }
    /// How LXC's `get_config_item` prints it.
    pub fn as_str(self) -> &'static str {
        match self {
            Personality::Linux32 => "i686",
            Personality::Linux => "x86_64",
        }
    }
}

/// LXC 5.0's architecture names (exact, case sensitive).
pub const ARCHES: &[(&str, Personality)] = &[
    ("arm", Personality::Linux32),
    ("armel", Personality::Linux32),
    ("armhf", Personality::Linux32),
    ("armv7l", Personality::Linux32),
    ("athlon", Personality::Linux32),
    ("i386", Personality::Linux32),
    ("i486", Personality::Linux32),
    ("i586", Personality::Linux32),
    ("i686", Personality::Linux32),
    ("linux32", Personality::Linux32),
    ("mips", Personality::Linux32),
    ("mipsel", Personality::Linux32),
    ("ppc", Personality::Linux32),
    ("powerpc", Personality::Linux32),
    ("x86", Personality::Linux32),
    ("aarch64", Personality::Linux),
    ("amd64", Personality::Linux),
    ("arm64", Personality::Linux),
    ("linux64", Personality::Linux),
    ("mips64", Personality::Linux),
    ("mips64el", Personality::Linux),
    ("ppc64", Personality::Linux),
    ("ppc64el", Personality::Linux),
    ("ppc64le", Personality::Linux),
    ("powerpc64", Personality::Linux),
    ("riscv64", Personality::Linux),
    ("s390x", Personality::Linux),
    ("x86_64", Personality::Linux),
];

pub fn personality(value: &str) -> Option<Personality> {
    ARCHES.iter().find(|(n, _)| *n == value).map(|&(_, p)| p)
}

pub fn arch(_key: &str, value: &str) -> Result<String, String> {
    personality(value)
        .map(|p| p.as_str().to_string())
        .ok_or_else(|| {
            let names: Vec<&str> = ARCHES.iter().map(|(n, _)| *n).collect();
            format!("an architecture: one of {}", names.join(", "))
        })
}

// ---------------------------------------------------------------------------------------------
// Capabilities.

/// Capability names LXC knows (lower case, without `CAP_`), indexed by number.
pub const CAPS: &[&str] = &[
    "chown",
    "dac_override",
    "dac_read_search",
    "fowner",
    "fsetid",
    "kill",
    "setgid",
    "setuid",
    "setpcap",
    "linux_immutable",
    "net_bind_service",
    "net_broadcast",
    "net_admin",
    "net_raw",
    "ipc_lock",
    "ipc_owner",
    "sys_module",
    "sys_rawio",
    "sys_chroot",
    "sys_ptrace",
    "sys_pacct",
    "sys_admin",
    "sys_boot",
    "sys_nice",
    "sys_resource",
    "sys_time",
    "sys_tty_config",
    "mknod",
    "lease",
    "audit_write",
    "audit_control",
    "setfcap",
    "mac_override",
    "mac_admin",
    "syslog",
    "wake_alarm",
    "block_suspend",
    "audit_read",
    "perfmon",
    "bpf",
    "checkpoint_restore",
];

/// The highest capability the running kernel knows (LXC's `lxc_caps_last_cap`).
pub fn last_cap() -> u32 {
    std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or((CAPS.len() - 1) as u32)
}

/// LXC's `parse_cap`: a known name (exact, lower case), or a number the running kernel knows.
pub fn cap(name: &str) -> Option<u32> {
    if let Some(i) = CAPS.iter().position(|c| *c == name) {
        return Some(i as u32);
    }
    safe_uint(name).filter(|&n| n <= last_cap())
}

/// `lxc.cap.drop` / `lxc.cap.keep`: white-space separated capabilities, normalized to single
/// spaces. `none` (keep only) empties the list.
pub fn cap_list(key: &str, value: &str) -> Result<String, String> {
    let keep = key == "lxc.cap.keep";
    let mut out = Vec::new();
    for t in tokens(value, " \t") {
        if t == "none" {
            if !keep {
                return Err("capability names; \"none\" is only valid in lxc.cap.keep".into());
            }
        } else if cap(t).is_none() {
            return Err(format!(
                "capability names such as sys_admin (lower case, no CAP_ prefix) or numbers up \
                 to {}; {t:?} is not one",
                last_cap()
            ));
        }
        out.push(t);
    }
    Ok(out.join(" "))
}

// ---------------------------------------------------------------------------------------------
// Id maps.

/// One `lxc.idmap` line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdMap {
    /// `true` for a uid map (`u`), `false` for a gid map (`g`).
    pub uid: bool,
    pub nsid: u64,
    pub hostid: u64,
    pub range: u64,
}

impl std::fmt::Display for IdMap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let t = if self.uid { 'u' } else { 'g' };
        write!(f, "{t} {} {} {}", self.nsid, self.hostid, self.range)
    }
}

/// LXC's `parse_idmaps`: `u|g NSID HOSTID RANGE`, fields separated by spaces, tabs or `\r`;
/// numbers as `lxc_safe_ulong` reads them.
pub fn idmap_entry(value: &str) -> Option<IdMap> {
    let ws = |c: u8| matches!(c, b' ' | b'\t' | b'\r');
    let b = value.as_bytes();
    let mut i = b.iter().take_while(|&&c| ws(c)).count();
    if i > 0 && i == b.len() {
        return None;
    }
    let uid = match b.get(i)? {
        b'u' => true,
        b'g' => false,
        _ => return None,
    };
    i += 1;
    // Returns the next field and where it ends; the field must be preceded by white space when
    // `need_ws` and may not end the string when `need_more`.
    let field = |i: &mut usize, need_ws: bool, need_more: bool| -> Option<u64> {
        let start_ws = *i;
        while *i < b.len() && ws(b[*i]) {
            *i += 1;
        }
        if (need_ws && *i == start_ws) || *i == b.len() {
            return None;
        }
        let start = *i;
        while *i < b.len() && !ws(b[*i]) {
            *i += 1;
        }
        if need_more && *i == b.len() {
            return None;
        }
        safe_ulong(&value[start..*i])
    };
    let nsid = field(&mut i, true, true)?;
    let hostid = field(&mut i, false, true)?;
    let range = field(&mut i, false, false)?;
    if !b[i..]
        .iter()
        .all(|&c| matches!(c, b' ' | b'\t' | b'\r' | b'\n'))
    {
        return None;
    }
    Some(IdMap {
        uid,
        nsid,
        hostid,
        range,
    })
}

pub fn idmap(_key: &str, value: &str) -> Result<String, String> {
    idmap_entry(value)
        .map(|m| m.to_string())
        .ok_or_else(|| "an id mapping `u|g NSID HOSTID RANGE`, e.g. `u 0 100000 65536`".into())
}

// ---------------------------------------------------------------------------------------------
// Namespaces.

/// LXC's namespace names in its `ns_info` order (the order `get_config_item` prints them in),
/// with their clone flags.
pub const NAMESPACES: &[(&str, i32)] = &[
    ("user", libc::CLONE_NEWUSER),
    ("mnt", libc::CLONE_NEWNS),
    ("pid", libc::CLONE_NEWPID),
    ("uts", libc::CLONE_NEWUTS),
    ("ipc", libc::CLONE_NEWIPC),
    ("net", libc::CLONE_NEWNET),
    ("cgroup", libc::CLONE_NEWCGROUP),
    ("time", 0x80),
];

/// A namespace name (any case, as `lxc_namespace_2_cloneflag` takes it) to its clone flag.
pub fn namespace_flag(name: &str) -> Option<i32> {
    NAMESPACES
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|&(_, f)| f)
}

/// `lxc.namespace.clone` / `lxc.namespace.keep`: namespace names, normalized to lower case.
pub fn namespace_list(_key: &str, value: &str) -> Result<String, String> {
    let mut out = Vec::new();
    for t in tokens(value, " \t") {
        if namespace_flag(t).is_none() {
            return Err(format!(
                "namespace names: user, mnt, pid, uts, ipc, net, cgroup, time; {t:?} is not one"
            ));
        }
        out.push(t.to_ascii_lowercase());
    }
    Ok(out.join(" "))
}

// ---------------------------------------------------------------------------------------------
// Resource limits.

pub const RLIM_INFINITY: u64 = u64::MAX;

/// LXC's `parse_limit_value`: `unlimited` or what `strtoull(.., 10)` makes of the start of the
/// string. Returns the value and the rest. No digits at all reads as 0 (C's `strtoull` then
/// leaves the string where it was, and LXC does not check that it moved).
fn limit_value(s: &str) -> Option<(u64, &str)> {
    if let Some(rest) = s.strip_prefix("unlimited") {
        return Some((RLIM_INFINITY, rest));
    }
    let n = c_strtou(s.as_bytes(), 10);
    if n.overflow {
        return None;
    }
    let v = if n.negative {
        n.magnitude.wrapping_neg()
    } else {
        n.magnitude
    };
    Some((v, &s[n.end..]))
}

fn skip_space(s: &str) -> &str {
    s.trim_start_matches(|c: char| c.is_ascii() && c_isspace(c as u8))
}

/// `lxc.prlimit.*`: `SOFT[:HARD]`, each a number or `unlimited`; one value sets both.
pub fn prlimit_value(value: &str) -> Option<(u64, u64)> {
    let (soft, rest) = limit_value(value)?;
    let rest = skip_space(rest);
    let rest = if let Some(r) = rest.strip_prefix(':') {
        r
    } else if rest.is_empty() {
        rest
    } else {
        return None;
    };
    let rest = skip_space(rest);
    if rest.is_empty() {
        return Some((soft, soft));
    }
    let (hard, rest) = limit_value(rest)?;
    if !skip_space(rest).is_empty() {
        return None;
    }
    Some((soft, hard))
}

fn limit_string(v: u64) -> String {
    if v == RLIM_INFINITY {
        "unlimited".into()
    } else {
        v.to_string()
    }
}

/// How LXC prints a limit: `SOFT` when both are equal, else `SOFT:HARD`.
pub fn prlimit_string(soft: u64, hard: u64) -> String {
    if soft == hard {
        limit_string(soft)
    } else {
        format!("{}:{}", limit_string(soft), limit_string(hard))
    }
}

pub fn prlimit(_key: &str, value: &str) -> Result<String, String> {
    prlimit_value(value)
        .map(|(s, h)| prlimit_string(s, h))
        .ok_or_else(|| "a limit `SOFT[:HARD]`, each a number or `unlimited`".into())
}

/// Resource names LXC knows for `lxc.prlimit.<name>` (checked at start time, not when set).
pub const RLIMITS: &[(&str, i32)] = &[
    ("as", libc::RLIMIT_AS as i32),
    ("core", libc::RLIMIT_CORE as i32),
    ("cpu", libc::RLIMIT_CPU as i32),
    ("data", libc::RLIMIT_DATA as i32),
    ("fsize", libc::RLIMIT_FSIZE as i32),
    ("locks", libc::RLIMIT_LOCKS as i32),
    ("memlock", libc::RLIMIT_MEMLOCK as i32),
    ("msgqueue", libc::RLIMIT_MSGQUEUE as i32),
    ("nice", libc::RLIMIT_NICE as i32),
    ("nofile", libc::RLIMIT_NOFILE as i32),
    ("nproc", libc::RLIMIT_NPROC as i32),
    ("rss", libc::RLIMIT_RSS as i32),
    ("rtprio", libc::RLIMIT_RTPRIO as i32),
    ("rttime", libc::RLIMIT_RTTIME as i32),
    ("sigpending", libc::RLIMIT_SIGPENDING as i32),
    ("stack", libc::RLIMIT_STACK as i32),
];

/// LXC's `parse_resource`: a name from [`RLIMITS`] or a number (`lxc_safe_int`).
pub fn rlimit_resource(name: &str) -> Option<i32> {
    RLIMITS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|&(_, r)| r)
        .or_else(|| safe_int(name))
}

// ---------------------------------------------------------------------------------------------
// Other single-purpose values.

/// `lxc.init.groups`: comma separated gids; LXC prints them with `%d`.
pub fn init_groups(_key: &str, value: &str) -> Result<String, String> {
    let mut out = Vec::new();
    for t in tokens(value, ",") {
        match safe_uint(t) {
            Some(g) => out.push((g as i32).to_string()),
            None => return Err(format!("comma separated group ids; {t:?} is not one")),
        }
    }
    if out.is_empty() {
        return Err("comma separated group ids".into());
    }
    Ok(out.join(","))
}

/// `lxc.environment`: `NAME=VALUE`, or `NAME` to copy the variable from the environment of the
/// process that reads the config (looked up now, as LXC does).
pub fn environment(_key: &str, value: &str) -> Result<String, String> {
    if value.contains('=') {
        return Ok(value.to_string());
    }
    match std::env::var_os(value) {
        Some(v) => Ok(format!("{value}={}", v.to_string_lossy())),
        None => Err(format!(
            "NAME=VALUE, or the name of a variable set in the environment ({value} is not set)"
        )),
    }
}

/// `lxc.group`: white-space separated group names, normalized to single spaces.
pub fn word_list(_key: &str, value: &str) -> Result<String, String> {
    Ok(tokens(value, " \t").collect::<Vec<_>>().join(" "))
}

/// `lxc.uts.name`: shorter than the kernel's 65-byte nodename buffer.
pub fn hostname(_key: &str, value: &str) -> Result<String, String> {
    if value.len() >= 65 {
        return Err("a host name of at most 64 bytes".into());
    }
    Ok(value.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_follow_c() {
        assert_eq!(safe_uint("0x10"), Some(16));
        assert_eq!(safe_uint("010"), Some(8));
        assert_eq!(safe_uint("08"), None);
        assert_eq!(safe_uint(" 5"), Some(5));
        assert_eq!(safe_uint("5 "), None);
        assert_eq!(safe_uint("+5"), Some(5));
        assert_eq!(safe_uint("-5"), None);
        assert_eq!(safe_uint("4294967296"), None);
        assert_eq!(safe_uint("0x"), None);
        assert_eq!(safe_int("-0x10"), Some(-16));
        assert_eq!(safe_int("2147483648"), None);
        assert_eq!(safe_ulong("18446744073709551615"), Some(u64::MAX));
        assert_eq!(safe_ulong("18446744073709551616"), None);
    }

    #[test]
    fn signals() {
        assert_eq!(signal("SIGTERM"), Some(15));
        assert_eq!(signal("sigkill"), Some(9));
        assert_eq!(signal("TERM"), None);
        assert_eq!(signal("SIGRTMIN+3"), Some(37));
        assert_eq!(signal("SIGRTMAX-0"), Some(64));
        assert_eq!(signal("SIGRTMIN"), None);
        assert_eq!(signal("1000"), Some(1000));
        assert_eq!(signal(" 7"), None);
    }

    #[test]
    fn idmaps() {
        assert_eq!(
            idmap_entry("u 0 100000 65536").map(|m| m.to_string()),
            Some("u 0 100000 65536".into())
        );
        assert!(idmap_entry("u0 1 2").is_none());
        assert!(idmap_entry("x 0 1 2").is_none());
        assert!(idmap_entry("u 0 1").is_none());
        assert!(idmap_entry("u 0 1 2 3").is_none());
        assert!(idmap_entry("g 0 1 2 \n").is_some());
    }

    #[test]
    fn limits() {
        assert_eq!(prlimit_value("10"), Some((10, 10)));
        assert_eq!(prlimit_value("10:unlimited"), Some((10, RLIM_INFINITY)));
        assert_eq!(prlimit_value(":5"), Some((0, 5)));
        assert_eq!(prlimit_value("x"), None);
        assert_eq!(prlimit_string(1, 2), "1:2");
    }

    #[test]
    fn paths() {
        assert_eq!(path_simplify("a//b/./c/"), "a/b/c");
        assert_eq!(path_simplify("./a"), "a");
        assert_eq!(path_simplify("./"), ".");
        assert_eq!(path_simplify("/"), "/");
        assert_eq!(path_simplify("a/../b"), "a/../b");
    }
}
