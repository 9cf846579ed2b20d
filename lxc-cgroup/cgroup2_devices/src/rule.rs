//! One device rule as LXC 5.0.2 reads it for its BPF program (`device_cgroup_rule_parse` and
//! `device_cgroup_rule_parse_devpath` in cgfsng.c), byte for byte: LXC's reading differs from
//! the v1 kernel's in places (numbers with a leading 0 are octal, `a 1:3 rwm` is a rule of its
//! own rather than `a`), and the program must answer as LXC's does.

use std::fmt;
use std::os::unix::fs::{FileTypeExt, MetadataExt};

use crate::error::{Error, Result};

/// The device types a rule names (`a` is both).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DevType {
    All,
    Block,
    Char,
}

impl DevType {
    pub fn letter(self) -> char {
        match self {
            DevType::All => 'a',
            DevType::Block => 'b',
            DevType::Char => 'c',
        }
    }
}

/// A parsed `devices.allow` / `devices.deny` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceRule {
    pub dev_type: DevType,
    /// None for `*`.
    pub major: Option<u32>,
    /// None for `*`.
    pub minor: Option<u32>,
    /// The access letters as written (at most three of `r`, `w`, `m`, repeats kept): LXC
    /// compares rules by this text, so `rw` and `wr` are two rules.
    pub access: String,
    pub allow: bool,
}

impl DeviceRule {
    /// `a` alone: the rule that empties the list and sets its default (LXC's test: type `a`,
    /// both numbers `*`, no access letters).
    pub fn is_reset(&self) -> bool {
        self.dev_type == DevType::All
            && self.major.is_none()
            && self.minor.is_none()
            && self.access.is_empty()
    }
}

impl fmt::Display for DeviceRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let num = |n: Option<u32>| n.map_or_else(|| "*".to_string(), |n| n.to_string());
        write!(
            f,
            "{} {} {}:{} {}",
            if self.allow { "allow" } else { "deny" },
            self.dev_type.letter(),
            num(self.major),
            num(self.minor),
            self.access
        )
    }
}

/// C's isspace() in the "C" locale.
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// The value as the C string LXC sees: its bytes up to the first NUL.
fn c_bytes(value: &str) -> Vec<u8> {
    let bytes = lxc_core::config::bytes::encode(value);
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    bytes[..end].to_vec()
}

/// Read a major or minor number the way LXC does: up to 49 digits, converted by
/// `strtol(.., 0)` (a leading 0 makes it octal) and refused above INT_MAX.
fn number(v: &[u8], i: &mut usize) -> std::result::Result<Option<u32>, String> {
    if v.get(*i) == Some(&b'*') {
        *i += 1;
        return Ok(None);
    }
    let start = *i;
    while v.get(*i).is_some_and(u8::is_ascii_digit) {
        *i += 1;
    }
    let digits = &v[start..*i];
    if digits.is_empty() {
        return Err("expected a number or `*`".into());
    }
    // LXC copies at most 49 digits and then expects the separator.
    if digits.len() > 49 {
        return Err(format!("a number of {} digits (at most 49)", digits.len()));
    }
    let text = String::from_utf8_lossy(digits);
    let parsed = if digits.len() > 1 && digits[0] == b'0' {
        i64::from_str_radix(&text[1..], 8)
            .map_err(|_| format!("{text} starts with 0 and is read as octal, which it is not"))
    } else {
        text.parse::<i64>()
            .map_err(|_| format!("{text} is too big"))
    };
    let n = parsed.map_err(|e| {
        if digits.len() > 18 {
            format!("{text} is too big")
        } else {
            e
        }
    })?;
    if n > i64::from(i32::MAX) {
        return Err(format!("{text} is too big (at most {})", i32::MAX));
    }
    Ok(Some(n as u32))
}

/// LXC's access letters: up to three of `r`, `w`, `m`, ending early at a newline or the end;
/// anything after the third is not read.
fn access(v: &[u8]) -> std::result::Result<String, String> {
    let mut out = String::new();
    for &b in v.iter().take(3) {
        match b {
            b'r' | b'w' | b'm' => out.push(b as char),
            b'\n' => break,
            other => {
                return Err(format!(
                    "access {:?} is not made of r, w and m",
                    String::from_utf8_lossy(&[other])
                ))
            }
        }
    }
    Ok(out)
}

/// A rule in the `TYPE MAJOR:MINOR ACCESS` form (or `a`), for `file` (`devices.allow`
/// allows; every other `devices*` file denies, as in LXC).
pub fn parse(key: &str, file: &str, value: &str) -> Result<DeviceRule> {
    let allow = file == "devices.allow";
    let bad = |why: String| Error::Rule {
        key: key.to_string(),
        value: value.to_string(),
        why,
    };
    let v = c_bytes(value);
    if v == b"a" {
        return Ok(DeviceRule {
            dev_type: DevType::All,
            major: None,
            minor: None,
            access: String::new(),
            allow,
        });
    }
    let dev_type = match v.first() {
        Some(b'a') => DevType::All,
        Some(b'b') => DevType::Block,
        Some(b'c') => DevType::Char,
        _ => return Err(bad("expected `a`, or a type `a`, `b` or `c` first".into())),
    };
    let mut i = 1;
    if !v.get(i).copied().is_some_and(is_space) {
        return Err(bad("expected one space after the type".into()));
    }
    i += 1;
    let major = number(&v, &mut i).map_err(|e| bad(format!("major: {e}")))?;
    if v.get(i) != Some(&b':') {
        return Err(bad("expected `:` after the major number".into()));
    }
    i += 1;
    let minor = number(&v, &mut i).map_err(|e| bad(format!("minor: {e}")))?;
    if !v.get(i).copied().is_some_and(is_space) {
        return Err(bad(
            "expected a space and the access (r, w, m) after MAJOR:MINOR".into(),
        ));
    }
    i += 1;
    let access = access(&v[i..]).map_err(bad)?;
    Ok(DeviceRule {
        dev_type,
        major,
        minor,
        access,
        allow,
    })
}

/// `devices.allow = /dev/PATH ACCESS`: the device node's type and numbers, allowed. The path
/// ends at the first space; the access is the next word (at most three letters are read);
/// anything after it is ignored, as LXC ignores a trailing comment.
pub fn parse_devpath(key: &str, value: &str) -> Result<DeviceRule> {
    let bad = |why: String| Error::Rule {
        key: key.to_string(),
        value: value.to_string(),
        why,
    };
    let v = c_bytes(value);
    let Some(sp) = v.iter().position(|&b| b == b' ') else {
        return Err(bad("expected `/dev/PATH ACCESS`".into()));
    };
    let path_bytes = &v[..sp];
    let mut rest = &v[sp..];
    while rest.first() == Some(&b' ') {
        rest = &rest[1..];
    }
    if rest.is_empty() {
        return Err(bad("expected the access (r, w, m) after the path".into()));
    }
    let word_end = rest.iter().position(|&b| b == b' ').unwrap_or(rest.len());
    let access = access(&rest[..word_end]).map_err(bad)?;
    let path = lxc_core::config::bytes::to_path(&lxc_core::config::bytes::decode(path_bytes));
    let md = std::fs::metadata(&path).map_err(|source| Error::DevPath {
        key: key.to_string(),
        value: value.to_string(),
        path: path.clone(),
        source,
    })?;
    let ft = md.file_type();
    let dev_type = if ft.is_block_device() {
        DevType::Block
    } else if ft.is_char_device() {
        DevType::Char
    } else {
        return Err(bad(format!("{} is not a device node", path.display())));
    };
    let rdev = md.rdev();
    Ok(DeviceRule {
        dev_type,
        major: Some(nix::sys::stat::major(rdev) as u32),
        minor: Some(nix::sys::stat::minor(rdev) as u32),
        access,
        allow: true,
    })
}

/// A rule from the config (`lxc.cgroup2.devices.allow = ...`, `file` being `devices.allow`):
/// the `/dev/PATH` form for `devices.allow` values starting with `/`, else [`parse`].
pub fn from_config(key: &str, file: &str, value: &str) -> Result<DeviceRule> {
    if file == "devices.allow" && value.starts_with('/') {
        parse_devpath(key, value)
    } else {
        parse(key, file, value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(file: &str, v: &str) -> DeviceRule {
        parse("lxc.cgroup2.devices.x", file, v).unwrap_or_else(|e| panic!("{v:?}: {e}"))
    }

    fn err(v: &str) -> String {
        parse("lxc.cgroup2.devices.allow", "devices.allow", v)
            .expect_err(v)
            .to_string()
    }

    #[test]
    fn every_form_lxc_accepts() {
        let r = ok("devices.allow", "a");
        assert!(r.is_reset() && r.allow);
        let r = ok("devices.deny", "a");
        assert!(r.is_reset() && !r.allow);
        let r = ok("devices.allow", "c 1:3 rwm");
        assert_eq!(
            r,
            DeviceRule {
                dev_type: DevType::Char,
                major: Some(1),
                minor: Some(3),
                access: "rwm".into(),
                allow: true
            }
        );
        let r = ok("devices.deny", "b *:* m");
        assert_eq!(
            (r.dev_type, r.major, r.minor, r.allow),
            (DevType::Block, None, None, false)
        );
        let r = ok("devices.allow", "a *:* rwm");
        assert_eq!(r.dev_type, DevType::All);
        assert!(!r.is_reset(), "access letters make it a plain rule");
        // A trailing space: no access letters, so `a *:* ` resets like `a`.
        assert!(ok("devices.allow", "a *:* ").is_reset());
        assert_eq!(ok("devices.allow", "c 1:3 ").access, "");
        // Any whitespace byte separates; only one is read.
        assert_eq!(ok("devices.allow", "c\t1:3\trw").access, "rw");
        // Three letters are read; the rest is ignored.
        assert_eq!(ok("devices.allow", "c 1:3 rwmx").access, "rwm");
        assert_eq!(ok("devices.allow", "c 1:3 rrw").access, "rrw");
        assert_eq!(ok("devices.allow", "c 1:3 r\nxyz").access, "r");
        // strtol base 0: a leading zero is octal.
        assert_eq!(ok("devices.allow", "c 010:07 r").major, Some(8));
        assert_eq!(ok("devices.allow", "c 010:07 r").minor, Some(7));
        assert_eq!(ok("devices.allow", "c 0:0 r").major, Some(0));
        assert_eq!(
            ok("devices.allow", "c 2147483647:1 r").major,
            Some(i32::MAX as u32)
        );
        // Any other devices* file denies.
        assert!(!ok("devices.list", "c 1:3 r").allow);
        // Only the bytes up to a NUL count.
        assert_eq!(ok("devices.allow", "c 1:3 r\0garbage").access, "r");
    }

    #[test]
    fn every_form_lxc_refuses_names_key_and_value() {
        for (v, why) in [
            ("", "type"),
            ("x 1:3 rwm", "type"),
            ("/dev/null rwm", "type"),
            ("c", "space after the type"),
            ("c  1:3 rwm", "major"),
            ("c1:3 rwm", "space after the type"),
            ("c x:3 rwm", "major"),
            ("c 1 rwm", "`:`"),
            ("c 1:", "minor"),
            ("c 1:3", "access"),
            ("c 1:3rwm", "access"),
            ("c 1:3 rwx", "not made of r, w and m"),
            ("c 1:3  rw", "not made of r, w and m"),
            ("c 08:1 r", "octal"),
            ("c 2147483648:1 r", "too big"),
            ("c 99999999999999999999:1 r", "too big"),
            ("aa", "space after the type"),
            ("A", "type"),
        ] {
            let e = err(v);
            assert!(
                e.starts_with("lxc.cgroup2.devices.allow: invalid device rule"),
                "{v:?}: {e}"
            );
            assert!(e.contains(why), "{v:?}: {e} (want {why:?})");
        }
        let fifty = format!("c {}1:1 r", "0".repeat(49));
        assert!(err(&fifty).contains("49"));
    }

    #[test]
    fn devpath_rules() {
        let key = "lxc.cgroup2.devices.allow";
        let r = from_config(key, "devices.allow", "/dev/null rwm").unwrap();
        assert_eq!(
            (r.dev_type, r.major, r.minor, r.access.as_str(), r.allow),
            (DevType::Char, Some(1), Some(3), "rwm", true)
        );
        // Spaces before the access, and a comment after it.
        let r = from_config(key, "devices.allow", "/dev/zero   r # read only").unwrap();
        assert_eq!((r.minor, r.access.as_str()), (Some(5), "r"));
        for (v, why) in [
            ("/dev/null", "expected `/dev/PATH ACCESS`"),
            ("/dev/null   ", "access"),
            ("/dev/null rwx", "not made of r, w and m"),
            ("/etc/passwd rw", "not a device node"),
        ] {
            let e = from_config(key, "devices.allow", v)
                .expect_err(v)
                .to_string();
            assert!(e.starts_with(key) && e.contains(why), "{v:?}: {e}");
        }
        let e = from_config(key, "devices.allow", "/dev/lxcrs-t-none rw")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("/dev/lxcrs-t-none") && e.contains("No such file"),
            "{e}"
        );
        // Only devices.allow takes a path; a deny with one is a malformed rule.
        let e = from_config("lxc.cgroup2.devices.deny", "devices.deny", "/dev/null rwm")
            .unwrap_err()
            .to_string();
        assert!(e.contains("type"), "{e}");
    }
}
