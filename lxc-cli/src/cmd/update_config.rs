//! `lxc-rs update-config -c FILE`, like `lxc-update-config`: rewrite the legacy keys of a
//! pre-2.1 LXC config (`lxc.utsname`, `lxc.network.*`, `lxc.rootfs`, ...) into LXC 3+'s, leaving
//! the original in `FILE.backup`.
//!
//! LXC's tool is a shell script of `sed` expressions (`src/lxc/cmd/lxc-update-config.in`).
//! This module does what those expressions do, byte for byte, in the same order, so that the
//! rewritten file is the script's (a differential test runs both over a corpus); where the
//! script's result is surprising, that is the script's meaning and it is kept:
//!
//! - the rootfs driver comes from the file's LAST line only (a `lxc.rootfs.backend` line
//!   anywhere else is deleted but not used), else `dir`;
//! - a key is renamed only when a blank, `*` or `=` follows it (`lxc.limit.nofile` stays);
//! - `lxc.network.*` keys are numbered by counting the lines that contain
//!   `lxc.network.type` (commented ones too), from -1 before the first one; the file's last
//!   line is not numbered when it has no newline.
//!
//! Matching is done on bytes, as `sed` and `grep` in the C locale do; the script's `echo`
//! (dash's, with its backslash escapes) is followed, its word splitting too, but not its
//! pathname expansion of words with `*`, `?` or `[` (docs/decisions.md).

use std::ffi::OsString;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;

use crate::error::CliError;

#[derive(Debug, Args)]
pub struct UpdateConfigArgs {
    /// The container configuration to update (its original is kept in FILE.backup)
    // Given twice, the last counts, as with getopt.
    #[arg(
        short = 'c',
        long = "config",
        value_name = "FILE",
        overrides_with = "config"
    )]
    pub config: Option<PathBuf>,

    /// Words after the options, ignored as LXC's script ignores them
    #[arg(hide = true, trailing_var_arg = true, allow_hyphen_values = true)]
    pub rest: Vec<OsString>,
}

/// LXC's usage text, with the program as it was called.
fn usage(argv0: &str) -> String {
    format!("{argv0} -h|--help [-c|--config]\nconfig: the container configuration to update\n")
}

pub fn run(a: &UpdateConfigArgs) -> Result<ExitCode, CliError> {
    let Some(path) = &a.config else {
        if a.rest.is_empty() {
            // No arguments at all: the usage, and success, as LXC's script, which names
            // itself as it was called.
            let argv0 = std::env::args()
                .next()
                .filter(|a| a.ends_with("lxc-update-config"))
                .unwrap_or_else(|| "lxc-rs update-config".into());
            crate::cmd::print(&usage(&argv0))?;
            return Ok(ExitCode::SUCCESS);
        }
        return Err(CliError::failed("no configuration file given (-c FILE)"));
    };
    let original = std::fs::read(path).map_err(|e| io_failed("read", path, e))?;
    let backup = backup_path(path);
    write_backup(&backup, path, &original).map_err(|e| io_failed("write", &backup, e))?;
    let updated = update(&original).map_err(CliError::failed)?;
    replace(path, &updated).map_err(|e| io_failed("write", path, e))?;
    Ok(ExitCode::SUCCESS)
}

fn io_failed(op: &str, path: &Path, e: std::io::Error) -> CliError {
    CliError::failed(format!("{op} {}: {e}", path.display()))
}

fn backup_path(path: &Path) -> PathBuf {
    let mut s = path.as_os_str().to_os_string();
    s.push(".backup");
    PathBuf::from(s)
}

/// `cp FILE FILE.backup`: an existing backup is overwritten in place; a new one gets the
/// original's mode.
fn write_backup(backup: &Path, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mode = std::fs::metadata(path)?.permissions().mode() & 0o777;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .open(backup)?;
    f.write_all(bytes)
}

/// `sed -i`: a new file with the old one's mode renamed over it (a symlink is replaced by
/// the file, as sed does without --follow-symlinks).
fn replace(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mode = std::fs::metadata(path)?.permissions().mode() & 0o7777;
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.lxcrs-update-{}", std::process::id()));
    let written = (|| {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)?;
        f.write_all(bytes)?;
        f.set_permissions(std::fs::Permissions::from_mode(mode))?;
        std::fs::rename(&tmp, path)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

// ---------------------------------------------------------------------------------------------
// The script's rewrites.

/// The whole rewrite: the file as LXC's script leaves it, or why sed failed.
pub fn update(original: &[u8]) -> Result<Vec<u8>, String> {
    let driver = match driver(original) {
        d if d.is_empty() => b"dir".to_vec(),
        d => d,
    };
    let template = rootfs_template(&driver)?;
    let text = sed_pass(original, |_, l| Some(rootfs_rule(l, &template)));
    let text = sed_pass(&text, |_, l| key_rules(l));
    // The network loop reads the file as it is now, line by line, with `read -r`.
    let read_lines = read_r_lines(&text);
    let mut idx: i64 = -1;
    let mut indices = Vec::with_capacity(read_lines.len());
    for line in &read_lines {
        let echoed = dash_echo(trim_ifs(line));
        if echoed.split(|&b| b == b'\n').any(has_network_type) {
            idx += 1;
        }
        indices.push(idx);
    }
    Ok(sed_pass(&text, |i, l| match indices.get(i) {
        Some(&idx) => Some(network_rules(l, idx)),
        None => Some(l.to_vec()),
    }))
}

/// One `sed` over the file: `f` gets each line (and its index) and gives what replaces it, or
/// `None` to delete it; the last line keeps its lack of a newline.
fn sed_pass(text: &[u8], mut f: impl FnMut(usize, &[u8]) -> Option<Vec<u8>>) -> Vec<u8> {
    let (lines, newline) = sed_lines(text);
    let kept: Vec<Vec<u8>> = lines
        .iter()
        .enumerate()
        .filter_map(|(i, l)| f(i, l))
        .collect();
    let mut out = Vec::with_capacity(text.len() + 64);
    for (i, l) in kept.iter().enumerate() {
        out.extend_from_slice(l);
        if i + 1 < kept.len() || newline {
            out.push(b'\n');
        }
    }
    out
}

/// sed's lines: split on newlines; whether the last one ended in a newline.
fn sed_lines(text: &[u8]) -> (Vec<&[u8]>, bool) {
    if text.is_empty() {
        return (Vec::new(), false);
    }
    let newline = text.ends_with(b"\n");
    let body = if newline {
        &text[..text.len() - 1]
    } else {
        text
    };
    (body.split(|&b| b == b'\n').collect(), newline)
}

/// The lines a shell's `while read -r LINE` sees: those that end in a newline.
fn read_r_lines(text: &[u8]) -> Vec<&[u8]> {
    let (mut lines, newline) = sed_lines(text);
    if !newline {
        lines.pop();
    }
    lines
}

fn is_ifs(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n')
}

/// `read` strips IFS white space at both ends.
fn trim_ifs(s: &[u8]) -> &[u8] {
    let start = s.iter().position(|&b| !is_ifs(b)).unwrap_or(s.len());
    let end = s.iter().rposition(|&b| !is_ifs(b)).map_or(start, |e| e + 1);
    &s[start..end]
}

/// dash's `echo ARG`: backslash escapes (`\c` ends the output), then a newline.
fn dash_echo(arg: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(arg.len() + 1);
    let mut i = 0;
    while i < arg.len() {
        if arg[i] != b'\\' || i + 1 >= arg.len() {
            out.push(arg[i]);
            i += 1;
            continue;
        }
        let c = arg[i + 1];
        i += 2;
        let simple = match c {
            b'a' => Some(0x07),
            b'b' => Some(0x08),
            b'e' => Some(0x1b),
            b'f' => Some(0x0c),
            b'n' => Some(b'\n'),
            b'r' => Some(b'\r'),
            b't' => Some(b'\t'),
            b'v' => Some(0x0b),
            b'\\' => Some(b'\\'),
            _ => None,
        };
        match c {
            b'c' => return out,
            _ if simple.is_some() => out.extend(simple),
            b'0'..=b'7' => {
                // `\0NNN`, or `\NNN` from a non-zero digit: up to three octal digits.
                let (mut n, mut digits) = if c == b'0' {
                    (0u32, 0)
                } else {
                    (u32::from(c - b'0'), 1)
                };
                while digits < 3 && i < arg.len() && (b'0'..=b'7').contains(&arg[i]) {
                    n = n * 8 + u32::from(arg[i] - b'0');
                    i += 1;
                    digits += 1;
                }
                out.push(n as u8);
            }
            _ => out.extend_from_slice(&[b'\\', c]),
        }
    }
    out.push(b'\n');
    out
}

/// `grep -q "lxc.network.type"`, its dots matching any byte.
fn has_network_type(line: &[u8]) -> bool {
    const PAT: &[u8] = b"lxc.network.type";
    line.windows(PAT.len())
        .any(|w| w.iter().zip(PAT).all(|(&b, &p)| p == b'.' || b == p))
}

fn is_blank(b: u8) -> bool {
    matches!(b, b' ' | b'\t')
}

/// The script's driver: `echo $LINE | sed -n 's/...lxc.rootfs.backend.../\5/p'` for every
/// line, keeping the last line's answer (empty when it has none).
fn driver(original: &[u8]) -> Vec<u8> {
    let Some(last) = read_r_lines(original).pop() else {
        return Vec::new();
    };
    let words: Vec<&[u8]> = last
        .split(|&b| is_ifs(b))
        .filter(|w| !w.is_empty())
        .collect();
    let echoed = dash_echo(&words.join(&b' '));
    let mut out = Vec::new();
    let (lines, newline) = sed_lines(&echoed);
    let n = lines.len();
    for (i, l) in lines.into_iter().enumerate() {
        if let Some(s) = backend_value(l) {
            out.extend_from_slice(&s);
            if i + 1 < n || newline {
                out.push(b'\n');
            }
        }
    }
    while out.last() == Some(&b'\n') {
        out.pop();
    }
    out
}

/// `s/\([[:blank:]]*\|#*\)\(lxc\.rootfs\.backend\)\([[:blank:]]*\|\)\(=[[:blank:]]*\|\)
/// \([[:alnum:]]*\)\([[:space:]]*\)/\5/`: the line with that match replaced by its value.
fn backend_value(line: &[u8]) -> Option<Vec<u8>> {
    const KEY: &[u8] = b"lxc.rootfs.backend";
    let q = line.windows(KEY.len()).position(|w| w == KEY)?;
    let start = group1_run(line, 0, q, is_blank).min(group1_run(line, 0, q, |b| b == b'#'));
    let mut i = q + KEY.len();
    while i < line.len() && is_blank(line[i]) {
        i += 1;
    }
    if line.get(i) == Some(&b'=') {
        i += 1;
        while i < line.len() && is_blank(line[i]) {
            i += 1;
        }
    }
    let v = i;
    while i < line.len() && line[i].is_ascii_alphanumeric() {
        i += 1;
    }
    let value = &line[v..i];
    while i < line.len() && matches!(line[i], b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r') {
        i += 1;
    }
    let mut out = line[..start].to_vec();
    out.extend_from_slice(value);
    out.extend_from_slice(&line[i..]);
    Some(out)
}

/// Where a run of `class` bytes ending at `q` starts (not before `from`).
fn group1_run(line: &[u8], from: usize, q: usize, class: impl Fn(u8) -> bool) -> usize {
    let mut p = q;
    while p > from && class(line[p - 1]) {
        p -= 1;
    }
    p
}

/// Where the match of `\([[:blank:]*]\|#*\)` before the key at `q` starts: a run of `#`, or
/// one blank or `*`, or nothing (the leftmost of these, as POSIX regexes match).
fn group1_start(line: &[u8], from: usize, q: usize) -> usize {
    let hashes = group1_run(line, from, q, |b| b == b'#');
    if hashes < q {
        hashes
    } else if q > from && matches!(line[q - 1], b' ' | b'\t' | b'*') {
        q - 1
    } else {
        q
    }
}

/// One piece of a sed replacement: literal bytes, or a group of the match.
#[derive(Debug, Clone, PartialEq)]
enum Piece {
    Lit(Vec<u8>),
    Group(usize),
}

/// The replacement `\1lxc\.rootfs\.path\3\4DRIVER:\5` as sed parses it, with the driver's
/// text spliced in unquoted, as the script does; sed's refusal when the driver ends the
/// `s` command early (a `/` or a newline in it).
fn rootfs_template(driver: &[u8]) -> Result<Vec<Piece>, String> {
    let mut text = br"\1lxc\.rootfs\.path\3\4".to_vec();
    text.extend_from_slice(driver);
    text.extend_from_slice(br":\5");
    let mut pieces = Vec::new();
    let mut lit = Vec::new();
    let mut i = 0;
    while i < text.len() {
        let c = text[i];
        match c {
            b'/' | b'\n' => {
                return Err(format!(
                    "sed: the rootfs driver {:?} (from the config's last line) breaks LXC's \
                     s command: unknown option to `s'",
                    String::from_utf8_lossy(driver)
                ))
            }
            b'&' => {
                pieces.push(Piece::Lit(std::mem::take(&mut lit)));
                pieces.push(Piece::Group(0));
            }
            b'\\' if i + 1 < text.len() => {
                i += 1;
                let e = text[i];
                match e {
                    b'0'..=b'9' => {
                        pieces.push(Piece::Lit(std::mem::take(&mut lit)));
                        pieces.push(Piece::Group(usize::from(e - b'0')));
                    }
                    b'n' => lit.push(b'\n'),
                    b't' => lit.push(b'\t'),
                    b'r' => lit.push(b'\r'),
                    b'f' => lit.push(0x0c),
                    b'v' => lit.push(0x0b),
                    b'a' => lit.push(0x07),
                    other => lit.push(other),
                }
            }
            other => lit.push(other),
        }
        i += 1;
    }
    pieces.push(Piece::Lit(lit));
    Ok(pieces)
}

/// `s/\([[:blank:]*]\|#*\)\(lxc\.rootfs\)\([[:blank:]*]\|\)\(=[[:blank:]]*\)\(.*\)/TEMPLATE/g`
fn rootfs_rule(line: &[u8], template: &[Piece]) -> Vec<u8> {
    const KEY: &[u8] = b"lxc.rootfs";
    let mut q = 0;
    while q + KEY.len() <= line.len() {
        if &line[q..q + KEY.len()] != KEY {
            q += 1;
            continue;
        }
        let mut i = q + KEY.len();
        let g3_start = i;
        if i < line.len()
            && matches!(line[i], b' ' | b'\t' | b'*')
            && line.get(i + 1) == Some(&b'=')
        {
            i += 1;
        }
        if line.get(i) != Some(&b'=') {
            q += 1;
            continue;
        }
        let g3 = &line[g3_start..i];
        let g4_start = i;
        i += 1;
        while i < line.len() && is_blank(line[i]) {
            i += 1;
        }
        let p = group1_start(line, 0, q);
        let groups: [&[u8]; 6] = [
            &line[p..],
            &line[p..q],
            KEY,
            g3,
            &line[g4_start..i],
            &line[i..],
        ];
        let mut out = line[..p].to_vec();
        for piece in template {
            match piece {
                Piece::Lit(b) => out.extend_from_slice(b),
                Piece::Group(n) => out.extend_from_slice(groups.get(*n).copied().unwrap_or(b"")),
            }
        }
        // `.*` took the rest of the line: no second match.
        return out;
    }
    line.to_vec()
}

/// Replace `from` by `to` wherever `from` is followed by a byte `follows` accepts (that byte
/// is kept), left to right, as `s/\(...\)\(from\)\([[:blank:]*]\|=\)/\1to\3/g` does.
fn rename_where(
    line: &[u8],
    from: &[u8],
    to: &[u8],
    follows: impl Fn(&[u8]) -> Option<usize>,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(line.len() + 8);
    let mut i = 0;
    while i < line.len() {
        if line[i..].starts_with(from) {
            if let Some(n) = follows(&line[i + from.len()..]) {
                out.extend_from_slice(to);
                out.extend_from_slice(&line[i + from.len()..i + from.len() + n]);
                i += from.len() + n;
                continue;
            }
        }
        out.push(line[i]);
        i += 1;
    }
    out
}

/// A blank, `*` or `=`.
fn key_end(rest: &[u8]) -> Option<usize> {
    matches!(rest.first(), Some(b' ' | b'\t' | b'*' | b'=')).then_some(1)
}

/// The script's key renames, in its order.
const RENAMES: &[(&str, &str)] = &[
    ("lxc.id_map", "lxc.idmap"),
    ("lxc.pts", "lxc.pty.max"),
    ("lxc.tty", "lxc.tty.max"),
    ("lxc.devttydir", "lxc.tty.dir"),
    ("lxc.aa_profile", "lxc.apparmor.profile"),
    ("lxc.aa_allow_incomplete", "lxc.apparmor.allow_incomplete"),
    ("lxc.se_context", "lxc.selinux.context"),
    ("lxc.mount", "lxc.mount.fstab"),
    ("lxc.utsname", "lxc.uts.name"),
    ("lxc.seccomp", "lxc.seccomp.profile"),
    ("lxc.console", "lxc.console.path"),
    ("lxc.haltsignal", "lxc.signal.halt"),
    ("lxc.rebootsignal", "lxc.signal.reboot"),
    ("lxc.stopsignal", "lxc.signal.stop"),
    ("lxc.syslog", "lxc.log.syslog"),
    ("lxc.loglevel", "lxc.log.level"),
    ("lxc.logfile", "lxc.log.file"),
    ("lxc.init_cmd", "lxc.init.cmd"),
    ("lxc.init_uid", "lxc.init.uid"),
    ("lxc.init_gid", "lxc.init.gid"),
    ("lxc.limit", "lxc.prlimit"),
];

/// Keys whose lines the script deletes.
const DELETED: &[&str] = &["lxc.rootfs.backend", "lxc.pivotdir", "lxc.kmsg"];

/// The script's second sed over one line: the renames, `lxc.network` to `lxc.net` where a
/// number (or `*`) or the end of the key follows, and the deleted keys (`None`).
fn key_rules(line: &[u8]) -> Option<Vec<u8>> {
    let mut l = line.to_vec();
    for (from, to) in RENAMES {
        l = rename_where(&l, from.as_bytes(), to.as_bytes(), key_end);
    }
    let numbered = |rest: &[u8]| -> Option<usize> {
        (rest.len() >= 2 && rest[0] == b'.' && (rest[1].is_ascii_digit() || rest[1] == b'*'))
            .then_some(2)
    };
    l = rename_where(&l, b"lxc.network", b"lxc.net", |rest| {
        numbered(rest)
            .filter(|_| rest[2..].starts_with(b".ipv4"))
            .map(|n| n + 5)
    });
    l = rename_where(&l, b"lxc.network", b"lxc.net", numbered);
    l = rename_where(&l, b"lxc.network", b"lxc.net", key_end);
    for key in DELETED {
        let key = key.as_bytes();
        let found =
            (0..l.len()).any(|i| l[i..].starts_with(key) && key_end(&l[i + key.len()..]).is_some());
        if found {
            return None;
        }
    }
    Some(l)
}

/// The network loop's sed on one line, `idx` being the count of `lxc.network.type` lines so
/// far less one: `lxc.network.ipvN = X` becomes `lxc.net.IDX.ipvN.address = X`, and any other
/// `lxc.network.KEY` becomes `lxc.net.IDX.KEY`.
fn network_rules(line: &[u8], idx: i64) -> Vec<u8> {
    const KEY: &[u8] = b"lxc.network";
    let net = format!("lxc.net.{idx}").into_bytes();
    // s/...\(lxc\.network\)\(\.ipv[[:digit:]]\)\([[:blank:]]*\)=\(.*\)/\1lxc\.net\.IDX\3\.address\4=\5/g
    let mut l = line.to_vec();
    let mut q = 0;
    while q + KEY.len() <= l.len() {
        let rest = &l[q + KEY.len()..];
        if l[q..].starts_with(KEY)
            && rest.starts_with(b".ipv")
            && rest.get(4).is_some_and(u8::is_ascii_digit)
        {
            let blanks = rest[5..].iter().take_while(|&&b| is_blank(b)).count();
            if rest.get(5 + blanks) == Some(&b'=') {
                let mut out = l[..q].to_vec();
                out.extend_from_slice(&net);
                out.extend_from_slice(&rest[..5]);
                out.extend_from_slice(b".address");
                out.extend_from_slice(&rest[5..]);
                l = out;
                break;
            }
        }
        q += 1;
    }
    // s/...\(lxc\.network\)\.\([^[:digit:]*]\)/\1lxc\.net\.IDX\.\3/g
    let mut to = net;
    to.push(b'.');
    rename_where(&l, b"lxc.network.", &to, |rest| {
        rest.first()
            .is_some_and(|&b| !b.is_ascii_digit() && b != b'*')
            .then_some(1)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn up(s: &str) -> String {
        String::from_utf8(update(s.as_bytes()).unwrap()).unwrap()
    }

    #[test]
    fn legacy_keys_become_lxc_3_keys() {
        let old = "lxc.utsname = c1\nlxc.rootfs = /var/lib/lxc/c1/rootfs\n\
                   lxc.network.type = veth\nlxc.network.link = br0\nlxc.network.ipv4 = 10.0.0.2/24\n\
                   lxc.network.ipv4.gateway = 10.0.0.1\nlxc.tty = 4\nlxc.pts=1024\nlxc.kmsg = 0\n\
                   lxc.limit.nofile = 10\n";
        assert_eq!(
            up(old),
            "lxc.uts.name = c1\nlxc.rootfs.path = dir:/var/lib/lxc/c1/rootfs\n\
             lxc.net.0.type = veth\nlxc.net.0.link = br0\nlxc.net.0.ipv4.address = 10.0.0.2/24\n\
             lxc.net.0.ipv4.gateway = 10.0.0.1\nlxc.tty.max = 4\nlxc.pty.max=1024\n\
             lxc.limit.nofile = 10\n"
        );
    }

    #[test]
    fn the_driver_comes_from_the_last_line() {
        assert_eq!(
            up("lxc.rootfs = /r\nlxc.rootfs.backend = btrfs\n"),
            "lxc.rootfs.path = btrfs:/r\n"
        );
        assert_eq!(
            up("lxc.rootfs.backend = btrfs\nlxc.rootfs = /r\n"),
            "lxc.rootfs.path = dir:/r\n"
        );
        assert!(update(b"lxc.rootfs = /r\nlxc.rootfs.backend = a/b\n").is_err());
    }

    #[test]
    fn dash_echo_escapes() {
        assert_eq!(dash_echo(br"a\qb\101\0101\cZ"), b"a\\qbAA");
        assert_eq!(dash_echo(b"x"), b"x\n");
    }
}
