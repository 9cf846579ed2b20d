//! `lxc.console.buffer.size` and `lxc.console.size` values, read as LXC reads them.

use crate::error::{Error, Result};

/// What `auto` means for both keys: 128 KiB.
pub const AUTO: u64 = 1 << 17;

/// LXC's `parse_byte_size_string`: digits, optionally followed by `kB`, `MB` or `GB` (any case;
/// powers of 1024). A single trailing letter is accepted and ignored, as LXC does (`64K` is 64
/// bytes there, and so it is here).
pub fn parse_byte_size(s: &str) -> Option<u64> {
    let b = s.as_bytes();
    let last = *b.last()?;
    let suffix_len = if last.is_ascii_digit() {
        0
    } else if last.is_ascii_alphabetic() {
        if b.len() == 1 {
            return None;
        }
        let prev = b[b.len() - 2];
        if b.len() == 2 && prev.is_ascii_alphabetic() {
            return None;
        }
        if b.len() > 2 && prev.is_ascii_alphabetic() {
            2
        } else {
            1
        }
    } else {
        return None;
    };
    let (num, suffix) = s.split_at(s.len() - suffix_len);
    let num = num.trim_end_matches([' ', '\t', '\n', '\0']);
    let n: i64 = num.parse().ok()?;
    let n = u64::try_from(n).ok()?;
    if suffix_len != 2 {
        return Some(n);
    }
    let mult: u64 = match suffix.to_ascii_uppercase().as_str() {
        "KB" => 1 << 10,
        "MB" => 1 << 20,
        "GB" => 1 << 30,
        _ => return None,
    };
    n.checked_mul(mult)
}

/// The ring buffer size a value configures, as LXC computes it: empty is none (0), `auto` is
/// 128 KiB, anything else is at least one page and rounded up to a power of two.
pub fn buffer_size(key: &'static str, value: &str, page_size: u64) -> Result<u64> {
    if value.is_empty() {
        return Ok(0);
    }
    if value == "auto" {
        return Ok(AUTO);
    }
    let bad = || Error::InvalidValue {
        key,
        value: value.chars().take(200).collect(),
        expected: "a size in bytes (optionally kB, MB or GB), or auto",
    };
    let n = parse_byte_size(value).ok_or_else(bad)?;
    n.max(page_size).checked_next_power_of_two().ok_or_else(bad)
}
