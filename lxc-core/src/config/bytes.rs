//! Config values are bytes, as in LXC: a file may hold any byte that is not a line end, and
//! `lxc.uts.name` or `lxc.rootfs.path` get exactly the bytes written.
//!
//! Values stay `String`s inside lxc-rs (every key parser works on text), so bytes that are not
//! UTF-8 are carried by private code points, the way Python's `surrogateescape` carries them: a
//! byte `b` (always 0x80 or more in an invalid sequence) becomes U+10FF00 + `b`, in
//! U+10FF80..=U+10FFFF. Valid input that itself encodes a code point of that range has each of
//! its four bytes escaped the same way, so decoding never produces an escape that was not a
//! byte, and [`encode`] gives back every input byte for byte.
//!
//! Whatever hands a value to the kernel or writes it out converts back with [`encode`],
//! [`to_os`], [`to_path`] or [`to_cstring`]; whatever reads a value from outside (a file, a
//! command-line argument) converts with [`decode`] or [`from_os`].

use std::borrow::Cow;
use std::ffi::{CString, NulError, OsStr, OsString};
use std::fmt::Write as _;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::PathBuf;

/// U+10FF00 + byte.
const BASE: u32 = 0x10_FF00;
/// The first escape code point (bytes below 0x80 are never escaped).
const FIRST: u32 = BASE + 0x80;
/// The UTF-8 lead byte of every code point in the escape range: a string without it holds no
/// escape.
const LEAD: u8 = 0xF4;

/// How many bytes of a value error messages quote.
pub const MAX_QUOTED: usize = 200;

fn escape(b: u8) -> char {
    // 0x10FF80..=0x10FFFF are all valid scalar values.
    char::from_u32(BASE + u32::from(b)).unwrap_or(char::REPLACEMENT_CHARACTER)
}

/// The byte an escape code point stands for.
fn escaped_byte(c: char) -> Option<u8> {
    let c = u32::from(c);
    (FIRST..=BASE + 0xFF).contains(&c).then(|| (c - BASE) as u8)
}

/// Bytes (a file's text, an argument) as a `String` that [`encode`] turns back into them.
pub fn decode(bytes: &[u8]) -> String {
    if let Ok(s) = std::str::from_utf8(bytes) {
        if !bytes.contains(&LEAD) {
            return s.to_string();
        }
    }
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        let valid = chunk.valid();
        if valid.as_bytes().contains(&LEAD) {
            for c in valid.chars() {
                if escaped_byte(c).is_some() {
                    let mut buf = [0u8; 4];
                    for &b in c.encode_utf8(&mut buf).as_bytes() {
                        out.push(escape(b));
                    }
                } else {
                    out.push(c);
                }
            }
        } else {
            out.push_str(valid);
        }
        out.extend(chunk.invalid().iter().map(|&b| escape(b)));
    }
    out
}

/// A value's original bytes.
pub fn encode(s: &str) -> Cow<'_, [u8]> {
    if !s.as_bytes().contains(&LEAD) {
        return Cow::Borrowed(s.as_bytes());
    }
    let mut out = Vec::with_capacity(s.len());
    for c in s.chars() {
        match escaped_byte(c) {
            Some(b) => out.push(b),
            None => {
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
    Cow::Owned(out)
}

/// Does the value hold bytes that are not UTF-8 (or escapes of them)?
pub fn has_escapes(s: &str) -> bool {
    s.as_bytes().contains(&LEAD) && s.chars().any(|c| escaped_byte(c).is_some())
}

pub fn from_os(s: &OsStr) -> String {
    decode(s.as_bytes())
}

pub fn to_os(s: &str) -> OsString {
    OsString::from_vec(encode(s).into_owned())
}

pub fn to_path(s: &str) -> PathBuf {
    PathBuf::from(to_os(s))
}

pub fn to_cstring(s: &str) -> Result<CString, NulError> {
    CString::new(encode(s).into_owned())
}

/// A value for a message: in double quotes, escaped like `{:?}`, bytes that are not UTF-8 as
/// `\xNN`, and cut after [`MAX_QUOTED`] bytes (with how long it was), so a 10 MiB value does not
/// make a 10 MiB message.
pub fn quote(s: &str) -> String {
    render(s, true)
}

/// Like [`quote`] without the quotes and escapes, for text shown as it is (paths, scripts).
pub fn shown(s: &str) -> String {
    render(s, false)
}

fn render(s: &str, quoted: bool) -> String {
    let mut out = String::new();
    if quoted {
        out.push('"');
    }
    let mut used = 0;
    for c in s.chars() {
        if used >= MAX_QUOTED {
            let total = encode(s).len();
            let q = if quoted { "\"" } else { "" };
            let _ = write!(out, "{q}... ({total} bytes)");
            return out;
        }
        match escaped_byte(c) {
            Some(b) => {
                let _ = write!(out, "\\x{b:02x}");
                used += 1;
            }
            // As `{:?}` of a str shows it: a single quote needs no escape inside double quotes.
            None if quoted && c == '\'' => {
                out.push(c);
                used += 1;
            }
            None if quoted => {
                out.extend(c.escape_debug());
                used += c.len_utf8();
            }
            None => {
                out.push(c);
                used += c.len_utf8();
            }
        }
    }
    if quoted {
        out.push('"');
    }
    out
}

/// Free text of a message (what a parser expected, a child's report), which may itself repeat a
/// value: cut after `max` bytes, bytes that are not UTF-8 as `\xNN`.
pub fn cut(s: &str, max: usize) -> String {
    if s.len() <= max && !s.as_bytes().contains(&LEAD) {
        return s.to_string();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in s.chars() {
        if used >= max {
            let _ = write!(out, "... ({} bytes)", encode(s).len());
            return out;
        }
        match escaped_byte(c) {
            Some(b) => {
                let _ = write!(out, "\\x{b:02x}");
                used += 1;
            }
            None => {
                out.push(c);
                used += c.len_utf8();
            }
        }
    }
    out
}

/// A path for a message, cut like [`quote`].
pub fn shown_path(p: &std::path::Path) -> String {
    shown(&from_os(p.as_os_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_every_byte_pair() {
        for a in 0..=255u8 {
            for b in [0u8, 0x41, 0x80, 0xBF, 0xC3, 0xF4, 0xFF] {
                let v = [a, b, 0xF4, 0x8F, 0xBE, 0x80, a];
                let s = decode(&v);
                assert_eq!(&*encode(&s), &v[..]);
            }
        }
        assert_eq!(decode(b"plain"), "plain");
        assert!(matches!(encode("plain"), Cow::Borrowed(_)));
    }

    #[test]
    fn quote_cuts_and_shows_bytes() {
        assert_eq!(quote(&decode(b"a\xffb\"")), "\"a\\xffb\\\"\"");
        for s in ["it's", "tab\there", "nl\n", "caf\u{e9}", "\u{7f}"] {
            assert_eq!(quote(s), format!("{s:?}"));
        }
        let long = "x".repeat(10_000);
        let q = quote(&long);
        assert!(q.len() < 250, "{q}");
        assert!(q.ends_with("(10000 bytes)"));
    }
}
