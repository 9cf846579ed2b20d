//! LXC's config file format: `lxc.key = value` lines, comments, includes, indexed and prefix
//! keys, list keys, and clearing by empty value.
//!
//! A `Config` keeps the file's lines in order, as LXC's "unexpanded config" does, so `save`
//! writes back what was loaded plus what was set. Each entry holds the raw value (what is saved)
//! and the normalized value the owning key's parser produced (what `get_config_item` prints and
//! what the start code reads); the keys' getters replay the entries to answer like LXC's
//! in-memory config.
//!
//! LXC's in-memory config and its saved text can part ways, and lxc-rs follows it there too:
//! a clearer may take values out of use whose lines stay in the file (they become plain text
//! lines, [`Config::forget_where`]), `clear_config_item` drops lines whose values stay in use
//! (they become memory-only entries, [`Config::drop_saved_lines`]), and a few empty values put a
//! value in use that is never saved ([`Config::push_memory_only`]). The differential test
//! (`tests/differential.rs`) checks all of this against liblxc.
//!
//! One deliberate difference: LXC drops empty lines when it reads a file (it keeps lines of
//! white space, as empty lines); lxc-rs keeps every line, so a saved config keeps its layout.

pub mod bytes;
pub mod lxc_keys;

use std::fs;
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use crate::error::{Error, Origin, Result};
use crate::keys::OnEmpty;
use crate::registry::{self, Lookup, ResolvedKey, ValueKind};

/// How deep `lxc.include` may nest.
pub const MAX_INCLUDE_DEPTH: usize = 16;
/// The largest config file (the loaded one or an included one) read.
pub const MAX_FILE_BYTES: u64 = 16 << 20;
/// The most bytes one load reads, over all its files.
pub const MAX_LOAD_BYTES: u64 = 64 << 20;
/// The most files one load reads (the loaded file and every include).
pub const MAX_LOAD_FILES: usize = 4096;
/// The most problems one load reports; the rest are counted in a last
/// [`Error::MoreProblems`].
pub const MAX_PROBLEMS: usize = 100;

/// A file or directory, by device and inode: what is on the include stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileId {
    dev: u64,
    ino: u64,
}

impl FileId {
    fn of(meta: &fs::Metadata) -> FileId {
        FileId {
            dev: meta.dev(),
            ino: meta.ino(),
        }
    }
}

/// The state of one load: the files being read (to find loops), the work done so far (to
/// bound it), and the problems found.
struct Load {
    path: PathBuf,
    stack: Vec<FileId>,
    files: usize,
    bytes: u64,
    errors: Vec<Error>,
    dropped: usize,
}

impl Load {
    fn new(path: &Path) -> Load {
        Load {
            path: path.to_path_buf(),
            stack: Vec::new(),
            files: 0,
            bytes: 0,
            errors: Vec::new(),
            dropped: 0,
        }
    }

    fn push(&mut self, e: Error) {
        if self.errors.len() < MAX_PROBLEMS {
            self.errors.push(e);
        } else {
            self.dropped += 1;
        }
    }

    fn finish(mut self) -> Result<()> {
        if self.errors.is_empty() {
            return Ok(());
        }
        if self.dropped > 0 {
            self.errors.push(Error::MoreProblems {
                path: self.path.clone(),
                more: self.dropped,
            });
        }
        Err(Error::Config {
            path: self.path,
            errors: self.errors,
        })
    }
}

/// Open an include without blocking (a FIFO would wait for a writer in a blocking open) and
/// look at what it is.
fn open_include(path: &Path) -> std::io::Result<(fs::File, fs::Metadata)> {
    let file = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC | libc::O_NOCTTY)
        .open(path)?;
    let meta = file.metadata()?;
    Ok((file, meta))
}

fn kind_of(meta: &fs::Metadata) -> &'static str {
    let t = meta.file_type();
    if t.is_fifo() {
        "FIFO"
    } else if t.is_char_device() {
        "character device"
    } else if t.is_block_device() {
        "block device"
    } else if t.is_socket() {
        "socket"
    } else if t.is_dir() {
        "directory"
    } else {
        "special file"
    }
}

/// Read at most `max` bytes; `None` when there is more.
fn read_bounded(file: fs::File, max: u64) -> std::io::Result<Option<Vec<u8>>> {
    let mut buf = Vec::new();
    file.take(max.saturating_add(1)).read_to_end(&mut buf)?;
    Ok((buf.len() as u64 <= max).then_some(buf))
}

/// One `key = value` setting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub key: String,
    /// What `save` writes after `key = `: the value as written in the file (trimmed, quotes
    /// kept, so it reads back the same), or as given to `set_config_item`.
    pub raw: String,
    /// The value as the owning key's parser normalized it.
    pub value: String,
    pub origin: Origin,
    /// Used, but not written by `save`: read from an included file (the include line is saved
    /// instead), or a value LXC keeps in memory only (see [`Config::push_memory_only`]).
    pub included: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Line {
    /// A comment, a blank line, a non-`lxc.` line, or a setting that no longer applies (see
    /// [`Config::forget_where`]): saved as written, meaning nothing.
    Text(String),
    Entry(Entry),
}

/// A container's configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Config {
    lines: Vec<Line>,
}

/// A line split into key and value the way LXC's `parse_line` does it.
#[derive(Debug, PartialEq, Eq)]
pub enum ParsedLine<'a> {
    /// Blank, a comment, or a line that does not start with `lxc.` (LXC ignores those).
    Ignored,
    Setting {
        key: &'a str,
        value: &'a str,
    },
    /// An `lxc.` line without `=`.
    Invalid,
}

/// LXC trims only spaces and tabs on the left of a line and of a value...
fn ltrim(s: &str) -> &str {
    s.trim_start_matches([' ', '\t'])
}

/// ...and spaces, tabs, newlines and NULs on the right (`lxc_char_right_gc`).
fn rtrim(s: &str) -> &str {
    s.trim_end_matches([' ', '\t', '\n', '\0'])
}

/// LXC's `lxc_is_line_empty`.
fn is_blank(line: &str) -> bool {
    line.bytes()
        .all(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0c | 0))
}

/// Split a line into key and value as written (trimmed, quotes kept).
fn split_raw(line: &str) -> Option<Option<(&str, &str)>> {
    if is_blank(line) {
        return None;
    }
    let t = ltrim(line);
    if t.starts_with('#') || !t.starts_with("lxc.") {
        return None;
    }
    let Some((k, v)) = t.split_once('=') else {
        return Some(None);
    };
    Some(Some((rtrim(k), rtrim(ltrim(v)))))
}

/// LXC removes one pair of matching quotes around a value.
pub fn unquote(value: &str) -> &str {
    let b = value.as_bytes();
    if b.len() > 1 && (b[0] == b'\'' || b[0] == b'"') && b[b.len() - 1] == b[0] {
        &value[1..value.len() - 1]
    } else {
        value
    }
}

/// Split one config line exactly like LXC: spaces and tabs around key and value are dropped,
/// and one pair of matching quotes around the value is removed.
pub fn split_line(line: &str) -> ParsedLine<'_> {
    match split_raw(line) {
        None => ParsedLine::Ignored,
        Some(None) => ParsedLine::Invalid,
        Some(Some((key, value))) => ParsedLine::Setting {
            key,
            value: unquote(value),
        },
    }
}

/// Split config text into lines like LXC does: at `\n` and `\r` (so CRLF files read as LF
/// files), and only up to a NUL byte. Returns (1-based line number, text).
fn text_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    let text = text.split('\0').next().unwrap_or_default();
    // Only an empty text has no lines: "\n" is one empty line (kept, so it saves as it read).
    let no_lines = text.is_empty();
    let text = text.strip_suffix('\n').unwrap_or(text);
    text.split('\n')
        .enumerate()
        .filter(move |_| !no_lines)
        .flat_map(|(i, l)| {
            l.strip_suffix('\r')
                .unwrap_or(l)
                .split('\r')
                .map(move |part| (i + 1, part))
        })
}

/// Does a saved line belong to `key` in the sense of LXC's `clear_unexp_config_line`? The line
/// must start with the key (no indentation), followed by white space or `=`; for `lxc.cgroup`,
/// `lxc.hook`, `lxc.net`, `lxc.network` and `lxc.net.<n>` any continuation counts (so clearing
/// `lxc.cgroup` also drops `lxc.cgroup2.*` and `lxc.cgroup.dir` lines from the saved text).
fn saved_line_matches(line: &str, key: &str, subkeys: bool) -> bool {
    let Some(rest) = line.strip_prefix(key) else {
        return false;
    };
    subkeys
        || rest
            .bytes()
            .next()
            .is_none_or(|b| b == b'=' || crate::keys::parse::c_isspace(b))
}

fn clears_subkeys(key: &str) -> bool {
    matches!(key, "lxc.cgroup" | "lxc.network" | "lxc.net" | "lxc.hook")
        || key
            .strip_prefix("lxc.net.")
            .is_some_and(|i| crate::keys::parse::safe_uint(i).is_some())
}

/// A key or value given to `set_config_item` becomes one line of the saved file: a line break
/// in it would start a new line there (a value `x\nlxc.hook.pre-start = /tmp/evil` adds a
/// hook), a NUL ends the file for LXC, and other control characters have no business in a
/// config. Tab stays allowed in values; a key is one word, so it may hold no space, tab or `=`.
fn check_one_line(key: &str, value: &str, origin: &Origin) -> Result<()> {
    if let Some(b) = key
        .bytes()
        .find(|&b| b < 0x20 || b == 0x7f || b == b' ' || b == b'=')
    {
        return Err(Error::InvalidKey {
            key: key.to_string(),
            origin: origin.clone(),
            expected: if b == b' ' || b == b'=' {
                "one word, without spaces or `=`"
            } else {
                "one word, without control characters"
            },
        });
    }
    if let Some(b) = value
        .bytes()
        .find(|&b| (b < 0x20 && b != b'\t') || b == 0x7f)
    {
        return Err(Error::InvalidValue {
            key: key.to_string(),
            value: value.to_string(),
            origin: origin.clone(),
            expected: format!(
                "a value on one line, without control characters (found {:?}): a config value \
                 cannot hold a line break",
                char::from(b)
            ),
        });
    }
    Ok(())
}

/// How a value reached the config: LXC reads a file line with the key's setter alone, while
/// `set_config_item` also edits the saved text.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Via<'a> {
    File { line: &'a str },
    Api,
}

impl Config {
    pub fn new() -> Self {
        Config::default()
    }

    /// Load a config file. Every problem is collected, so one pass reports all of them.
    pub fn load(path: &Path) -> Result<Config> {
        let mut c = Config::new();
        c.load_into(path)?;
        Ok(c)
    }

    /// Read `path` and apply its lines on top of this config.
    pub fn load_into(&mut self, path: &Path) -> Result<()> {
        // The file named by the caller may be a pipe (`-f <(...)`), so it is opened blocking;
        // only its size is bounded. Includes are checked strictly (see `include`).
        let file = fs::File::open(path).map_err(|e| Error::io("read config", path, e))?;
        let meta = file
            .metadata()
            .map_err(|e| Error::io("read config", path, e))?;
        if meta.is_dir() {
            return Err(Error::io(
                "read config",
                path,
                std::io::Error::from_raw_os_error(libc::EISDIR),
            ));
        }
        let mut load = Load::new(path);
        load.stack.push(FileId::of(&meta));
        let bytes = match read_bounded(file, MAX_FILE_BYTES) {
            Ok(Some(b)) => b,
            Ok(None) => {
                return Err(Error::TooLarge {
                    path: path.to_path_buf(),
                    limit: MAX_FILE_BYTES,
                })
            }
            Err(e) => return Err(Error::io("read config", path, e)),
        };
        load.files = 1;
        load.bytes = bytes.len() as u64;
        let text = bytes::decode(&bytes);
        drop(bytes);
        self.apply_text(&text, Some(path), false, 0, &mut load);
        load.finish()
    }

    /// Parse config text (e.g. from a string in a test) as if it were the file `name`.
    pub fn parse_str(text: &str, name: Option<&Path>) -> Result<Config> {
        let mut c = Config::new();
        let mut load = Load::new(name.unwrap_or(Path::new("<string>")));
        c.apply_text(text, name, false, 0, &mut load);
        load.finish().map(|()| c)
    }

    /// Parse config bytes as if they were the file `name` (bytes that are not UTF-8 are kept,
    /// see [`bytes`]).
    pub fn parse_bytes(text: &[u8], name: Option<&Path>) -> Result<Config> {
        Self::parse_str(&bytes::decode(text), name)
    }

    fn apply_text(
        &mut self,
        text: &str,
        file: Option<&Path>,
        included: bool,
        depth: usize,
        load: &mut Load,
    ) {
        for (n, line) in text_lines(text) {
            let origin = match file {
                Some(f) => Origin::file(f, n),
                None => Origin {
                    file: None,
                    line: n,
                },
            };
            match split_raw(line) {
                None => {
                    let t = ltrim(line);
                    if !is_blank(line) && !t.starts_with('#') {
                        tracing::warn!(%origin, line = %bytes::shown(line), "ignoring a line that is not an lxc.* key");
                    }
                    if !included {
                        self.lines.push(Line::Text(line.to_string()));
                    }
                }
                Some(None) => load.push(Error::Syntax {
                    origin,
                    text: line.to_string(),
                }),
                Some(Some((key, raw))) if key == "lxc.include" => {
                    let value = unquote(raw);
                    if !included {
                        self.lines.push(Line::Entry(Entry {
                            key: key.to_string(),
                            raw: raw.to_string(),
                            value: value.to_string(),
                            origin: origin.clone(),
                            included,
                        }));
                    }
                    if !value.is_empty() {
                        self.include(value, file, origin, depth, load);
                    }
                }
                Some(Some((key, raw))) => {
                    if let Err(e) =
                        self.set_via(key, raw, unquote(raw), origin, included, Via::File { line })
                    {
                        load.push(e);
                    }
                }
            }
        }
    }

    fn include(
        &mut self,
        value: &str,
        from: Option<&Path>,
        origin: Origin,
        depth: usize,
        load: &mut Load,
    ) {
        let mut path = bytes::to_path(value);
        if path.is_relative() {
            // LXC opens relative includes against its cwd; we resolve them next to the including
            // file, which is what a relative include in a file means to its author.
            if let Some(dir) = from.and_then(Path::parent) {
                path = dir.join(path);
            }
        }
        if depth + 1 > MAX_INCLUDE_DEPTH {
            load.push(Error::IncludeDepth {
                origin,
                path,
                max: MAX_INCLUDE_DEPTH,
            });
            return;
        }
        let (file, meta) = match open_include(&path) {
            Ok(f) => f,
            // Like LXC: a missing include directory is not an error.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && value.ends_with('/') => return,
            Err(source) => {
                load.push(Error::Include {
                    origin,
                    path,
                    source,
                });
                return;
            }
        };
        let id = FileId::of(&meta);
        if load.stack.contains(&id) {
            load.push(Error::IncludeLoop { origin, path });
            return;
        }
        if !meta.is_dir() {
            self.include_file(file, &meta, &path, origin, depth, load);
            return;
        }
        drop(file);
        let rd = match fs::read_dir(&path) {
            Ok(rd) => rd,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return,
            Err(source) => {
                load.push(Error::Include {
                    origin,
                    path,
                    source,
                });
                return;
            }
        };
        // At most one more name than the load may still read: enough to report the limit
        // without listing a directory of millions.
        let room = MAX_LOAD_FILES.saturating_sub(load.files) + 1;
        let mut files: Vec<PathBuf> = rd
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter(|p| {
                p.file_name()
                    .map(|n| n.as_bytes())
                    .is_some_and(|n| n.len() >= 6 && n.ends_with(b".conf"))
            })
            .take(room)
            .collect();
        files.sort();
        load.stack.push(id);
        for f in files {
            match open_include(&f) {
                Ok((file, meta)) if load.stack.contains(&FileId::of(&meta)) => {
                    drop(file);
                    load.push(Error::IncludeLoop {
                        origin: origin.clone(),
                        path: f,
                    });
                }
                Ok((file, meta)) => self.include_file(file, &meta, &f, origin.clone(), depth, load),
                Err(source) => load.push(Error::Include {
                    origin: origin.clone(),
                    path: f,
                    source,
                }),
            }
        }
        load.stack.pop();
    }

    /// Read one included file, within the load's bounds, and apply it.
    fn include_file(
        &mut self,
        file: fs::File,
        meta: &fs::Metadata,
        path: &Path,
        origin: Origin,
        depth: usize,
        load: &mut Load,
    ) {
        let limit = |what, limit| Error::IncludeLimit {
            origin: origin.clone(),
            path: path.to_path_buf(),
            what,
            limit,
        };
        if !meta.is_file() {
            load.push(Error::IncludeKind {
                origin: origin.clone(),
                path: path.to_path_buf(),
                kind: kind_of(meta),
            });
            return;
        }
        if load.files >= MAX_LOAD_FILES {
            load.push(limit(
                "the number of files read by one load",
                MAX_LOAD_FILES as u64,
            ));
            return;
        }
        load.files += 1;
        let left = MAX_LOAD_BYTES.saturating_sub(load.bytes);
        let (max, what, cap) = if left < MAX_FILE_BYTES {
            (left, "the bytes read by one load", MAX_LOAD_BYTES)
        } else {
            (MAX_FILE_BYTES, "the file's size in bytes", MAX_FILE_BYTES)
        };
        if meta.len() > max {
            load.push(limit(what, cap));
            return;
        }
        let data = match read_bounded(file, max) {
            Ok(Some(b)) => b,
            Ok(None) => {
                load.push(limit(what, cap));
                return;
            }
            Err(source) => {
                load.push(Error::Include {
                    origin,
                    path: path.to_path_buf(),
                    source,
                });
                return;
            }
        };
        load.bytes += data.len() as u64;
        let text = bytes::decode(&data);
        drop(data);
        load.stack.push(FileId::of(meta));
        self.apply_text(&text, Some(path), true, depth + 1, load);
        load.stack.pop();
    }

    /// Resolve a key against the registry, with errors that name it and where it came from.
    pub fn resolve(key: &str, origin: &Origin) -> Result<ResolvedKey> {
        match registry::lookup(key) {
            Lookup::Supported(r) => Ok(r),
            Lookup::NotInBuild { provider } => Err(Error::NotInBuild {
                key: key.to_string(),
                origin: origin.clone(),
                provider,
            }),
            Lookup::Unknown => Err(Error::UnknownKey {
                key: key.to_string(),
                origin: origin.clone(),
            }),
        }
    }

    /// `set_config_item`: an empty value clears the key, like LXC.
    pub fn set(&mut self, key: &str, value: &str) -> Result<()> {
        self.set_at(key, value, Origin::api(), false)
    }

    /// `set_config_item` with a known origin (e.g. `-s` on the command line): the value is
    /// validated, applied, and the saved text is edited like LXC's `set_config_item` does it.
    pub fn set_at(&mut self, key: &str, value: &str, origin: Origin, included: bool) -> Result<()> {
        check_one_line(key, value, &origin)?;
        if key == "lxc.include" {
            if value.is_empty() {
                // LXC's setter does nothing; set_config_item then drops the include lines.
                self.drop_saved_lines(key);
                return Ok(());
            }
            // Like LXC, the include line is recorded only when the file could be read (what a
            // failed include applied before its bad line stays, as in LXC).
            let mut load = Load::new(origin.file.as_deref().unwrap_or(Path::new("<api>")));
            self.include(value, origin.file.as_deref(), origin.clone(), 0, &mut load);
            if let Some(e) = load.errors.into_iter().next() {
                return Err(e);
            }
            if !included {
                self.lines.push(Line::Entry(Entry {
                    key: key.into(),
                    raw: value.into(),
                    value: value.into(),
                    origin,
                    included,
                }));
            }
            return Ok(());
        }
        self.set_via(key, value, value, origin, included, Via::Api)
    }

    /// The common path of a file line and an API set. `raw` is what save writes, `value` what
    /// the key's parser reads (they differ by the quotes of a file line).
    fn set_via(
        &mut self,
        key: &str,
        raw: &str,
        value: &str,
        origin: Origin,
        included: bool,
        via: Via<'_>,
    ) -> Result<()> {
        let r = Self::resolve(key, &origin)?;
        let core = r.owner == crate::keys::CORE;
        let invalid = |expected: String| Error::InvalidValue {
            key: key.to_string(),
            value: value.to_string(),
            origin: origin.clone(),
            expected,
        };
        let replaced;
        let (raw, value) = match registry::key_rules(r.owner) {
            Some(rules) => match (rules.set)(self, key, value).map_err(invalid)? {
                Some(v) => {
                    replaced = v;
                    (replaced.as_str(), replaced.as_str())
                }
                None => (raw, value),
            },
            None => (raw, value),
        };
        if value.is_empty() {
            let rule = match registry::empty_value_rule(r.owner, r.def.pattern) {
                Some(rule) => rule,
                None if core => crate::keys::on_empty(key),
                None => OnEmpty::Clear,
            };
            match rule {
                OnEmpty::Clear => self.clear_memory(key, r),
                OnEmpty::Reset => self.forget_where(|e| e.key == key),
                OnEmpty::Memory(v) => {
                    self.forget_where(|e| e.key == key);
                    self.push_memory_only(key, v);
                }
                OnEmpty::Reject(why) => return Err(invalid(why.to_string())),
                OnEmpty::ClearThenReject(why) => {
                    self.clear_memory(key, r);
                    return Err(invalid(why.to_string()));
                }
            }
            match via {
                // LXC keeps the line itself in the saved text.
                Via::File { line } if !included => self.lines.push(Line::Text(line.to_string())),
                Via::File { .. } => {}
                Via::Api => self.drop_saved_lines(key),
            }
            return Ok(());
        }
        let normalized = (r.def.parse)(key, value).map_err(invalid)?;
        if core {
            crate::keys::check_set(self, key, &normalized).map_err(invalid)?;
        }
        let entry = Entry {
            key: key.to_string(),
            raw: raw.to_string(),
            value: normalized,
            origin,
            included,
        };
        match (r.def.kind, via) {
            // A parser that accepts a value but normalizes it to nothing says "LXC takes this
            // line and changes nothing" (see `keys::parse::id_number`): the line is kept, the
            // value in use stays.
            (ValueKind::Single, Via::Api) if entry.value.is_empty() => {
                self.lines.push(Line::Entry(entry))
            }
            (ValueKind::Single, Via::Api) => {
                // An API set keeps one line per single key, so the saved file reads like the
                // config the user has; loading it gives the same last-wins result as LXC's
                // (which appends a second line instead), and keeps the key where it first
                // appeared, as LXC's lists of sysctls and limits do.
                let mut kept = false;
                self.lines.retain_mut(|l| match l {
                    Line::Entry(e) if e.key == key => {
                        if !kept && !e.included {
                            *e = entry.clone();
                            kept = true;
                            true
                        } else {
                            false
                        }
                    }
                    _ => true,
                });
                if !kept {
                    self.lines.push(Line::Entry(entry));
                }
            }
            // List values accumulate; lines from a file stay as written (the last one wins).
            _ => self.lines.push(Line::Entry(entry)),
        }
        Ok(())
    }

    /// `get_config_item`: the value the way LXC prints it.
    pub fn get(&self, key: &str) -> Result<String> {
        if key == "lxc.include" {
            return Ok(self
                .entries()
                .filter(|e| e.key == key && !e.included)
                .map(|e| format!("{}\n", e.value))
                .collect());
        }
        let r = Self::resolve(key, &Origin::api())?;
        if let Some(rules) = registry::key_rules(r.owner) {
            (rules.get)(self, key).map_err(|expected| Error::InvalidValue {
                key: key.to_string(),
                value: String::new(),
                origin: Origin::api(),
                expected,
            })?;
        }
        if r.owner == crate::keys::CORE {
            if let Some(why) = crate::keys::get_refused(key) {
                return Err(Error::InvalidValue {
                    key: key.to_string(),
                    value: String::new(),
                    origin: Origin::api(),
                    expected: why.to_string(),
                });
            }
        }
        Ok(match r.def.get {
            Some(get) => get(self, key),
            None => match r.def.kind {
                ValueKind::Single => self.last(key).unwrap_or_default().to_string(),
                ValueKind::List => self.all(key).map(|v| format!("{v}\n")).collect(),
            },
        })
    }

    /// `clear_config_item`: what the key holds is cleared, and its lines are dropped from the
    /// saved text (LXC does both; see [`Config::drop_saved_lines`] for where they differ).
    pub fn clear(&mut self, key: &str) -> Result<()> {
        if key != "lxc.include" {
            let r = Self::resolve(key, &Origin::api())?;
            if let Some(rules) = registry::key_rules(r.owner) {
                (rules.clear)(self, key).map_err(|expected| Error::InvalidValue {
                    key: key.to_string(),
                    value: String::new(),
                    origin: Origin::api(),
                    expected,
                })?;
            }
            self.clear_memory(key, r);
        }
        self.drop_saved_lines(key);
        Ok(())
    }

    /// The key's clearer: what `get_config_item` and the start code see afterwards.
    fn clear_memory(&mut self, key: &str, r: ResolvedKey) {
        match r.def.clear {
            Some(clear) => clear(self, key),
            None => self.forget_where(|e| e.key == key),
        }
    }

    /// LXC's `clear_unexp_config_line`, which `set_config_item(key, "")` and
    /// `clear_config_item` run after the key's clearer: drop the key's lines from the saved
    /// text. Values the clearer left in place stay in use but are no longer saved: LXC's
    /// in-memory config and its saved text part ways there (clearing `lxc.cgroup` keeps
    /// `lxc.cgroup.dir` in use but drops it from the file), and lxc-rs does the same.
    pub fn drop_saved_lines(&mut self, key: &str) {
        let subkeys = clears_subkeys(key);
        self.lines.retain_mut(|l| match l {
            Line::Text(t) => !saved_line_matches(t, key, subkeys),
            Line::Entry(e) => {
                if !e.included
                    && saved_line_matches(&format!("{} = {}", e.key, e.raw), key, subkeys)
                {
                    e.included = true;
                }
                true
            }
        });
    }

    /// Stop using the entries for which `pred` is true, keeping their lines in the saved text
    /// (LXC's clearers change the in-memory config only). Entries that are not saved go away.
    pub fn forget_where(&mut self, mut pred: impl FnMut(&Entry) -> bool) {
        self.lines.retain_mut(|l| match l {
            Line::Entry(e) if pred(e) => {
                if e.included {
                    return false;
                }
                *l = Line::Text(format!("{} = {}", e.key, e.raw));
                true
            }
            _ => true,
        });
    }

    /// A value in use that `save` does not write: LXC's in-memory state after e.g.
    /// `set_config_item("lxc.autodev", "")` (0 in memory, no line in the file, so the file reads
    /// back as the default 1).
    pub fn push_memory_only(&mut self, key: &str, value: &str) {
        self.lines.push(Line::Entry(Entry {
            key: key.to_string(),
            raw: value.to_string(),
            value: value.to_string(),
            origin: Origin::api(),
            included: true,
        }));
    }

    /// Every entry, in file order, included ones too.
    pub fn entries(&self) -> impl DoubleEndedIterator<Item = &Entry> {
        self.lines.iter().filter_map(|l| match l {
            Line::Entry(e) => Some(e),
            Line::Text(_) => None,
        })
    }

    /// The newest entry of any of `keys`: searched from the end, so checks made on every set
    /// stay cheap in long configs.
    pub fn newest_of(&self, keys: &[&str]) -> Option<&Entry> {
        self.entries()
            .rev()
            .find(|e| keys.contains(&e.key.as_str()))
    }

    /// The last normalized value of a key.
    pub fn last(&self, key: &str) -> Option<&str> {
        self.entries()
            .rev()
            .find(|e| e.key == key)
            .map(|e| e.value.as_str())
    }

    /// Where the last value of a key came from (for error messages at start time).
    pub fn origin_of(&self, key: &str) -> Option<&Origin> {
        self.entries()
            .rev()
            .find(|e| e.key == key)
            .map(|e| &e.origin)
    }

    /// Every normalized value of a key, in order.
    pub fn all<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.entries()
            .filter(move |e| e.key == key)
            .map(|e| e.value.as_str())
    }

    /// Entries whose key starts with `prefix`, in order.
    pub fn with_prefix<'a>(&'a self, prefix: &'a str) -> impl Iterator<Item = &'a Entry> + 'a {
        self.entries().filter(move |e| e.key.starts_with(prefix))
    }

    /// The indices used under an indexed prefix such as `lxc.net.`, sorted.
    pub fn indices(&self, prefix: &str) -> Vec<u32> {
        let mut v: Vec<u32> = self
            .with_prefix(prefix)
            .filter_map(|e| e.key[prefix.len()..].split('.').next()?.parse().ok())
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    }

    /// Remove every entry for which `pred` is true (used by clearers).
    pub fn remove_where(&mut self, mut pred: impl FnMut(&Entry) -> bool) {
        self.lines.retain(|l| match l {
            Line::Entry(e) => !pred(e),
            Line::Text(_) => true,
        });
    }

    /// The config as LXC would save it: the loaded lines (comments kept, includes as their
    /// `lxc.include` line) followed by what was set since. Bytes that are not UTF-8 are still
    /// escapes here (see [`bytes`]); [`Config::to_lxc_bytes`] is the file's content.
    pub fn to_lxc_string(&self) -> String {
        let mut out = String::new();
        for l in &self.lines {
            match l {
                Line::Text(t) => out.push_str(t),
                Line::Entry(e) if e.included => continue,
                Line::Entry(e) => {
                    out.push_str(&e.key);
                    out.push_str(" = ");
                    out.push_str(&e.raw);
                }
            }
            out.push('\n');
        }
        out
    }

    /// The config as LXC would save it, as the bytes that were read or set (values that are
    /// not UTF-8 included, see [`bytes`]).
    pub fn to_lxc_bytes(&self) -> Vec<u8> {
        bytes::encode(&self.to_lxc_string()).into_owned()
    }

    /// Write the config to `path` whole: a reader sees the old file or the new one, a failed
    /// write (a full disk) leaves the old file and nothing else, the file keeps its owner and
    /// mode, and a symlink stays a link to the file replaced (see [`crate::atomic`]). Callers
    /// that write a container's own config hold its lock ([`crate::Container::save_config`]).
    pub fn save(&self, path: &Path) -> Result<()> {
        let dir = path.parent().unwrap_or(Path::new("."));
        if !dir.as_os_str().is_empty() {
            fs::create_dir_all(dir).map_err(|e| Error::io("create directory", dir, e))?;
        }
        crate::atomic::replace_file(path, &self.to_lxc_bytes())
    }
}
