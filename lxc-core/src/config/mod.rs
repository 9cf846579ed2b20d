//! LXC's config file format: `lxc.key = value` lines, comments, includes, indexed and prefix
//! keys, list keys, and clearing by empty value.
//!
//! A `Config` keeps the file's lines in order (comments and blank lines too, as LXC's
//! "unexpanded config" does), so `save` writes back what was loaded plus what was set. Each
//! entry holds the raw value (what is saved) and the normalized value the owning key's parser
//! produced (what `get_config_item` prints and what the start code reads).

pub mod lxc_keys;

use std::fs;
use std::path::{Path, PathBuf};

use crate::error::{Error, Origin, Result};
use crate::registry::{self, Lookup, ResolvedKey, ValueKind};

/// How deep `lxc.include` may nest before we call it a loop.
pub const MAX_INCLUDE_DEPTH: usize = 16;

/// One `key = value` setting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub key: String,
    /// The value as written (after LXC's trimming and quote stripping); what `save` writes.
    pub raw: String,
    /// The value as the owning key's parser normalized it.
    pub value: String,
    pub origin: Origin,
    /// Read from an included file: used, but not saved (the include line is).
    pub included: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Line {
    /// A comment, a blank line or a non-`lxc.` line: kept for save, meaning nothing.
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

/// Split one config line. Leading and trailing white space around key and value is dropped,
/// and one pair of matching quotes around the value is removed.
pub fn split_line(line: &str) -> ParsedLine<'_> {
    let t = line.trim_start();
    if t.is_empty() || t.starts_with('#') || !t.starts_with("lxc.") {
        return ParsedLine::Ignored;
    }
    let Some((k, v)) = t.split_once('=') else {
        return ParsedLine::Invalid;
    };
    let key = k.trim_end();
    let mut value = v.trim();
    let b = value.as_bytes();
    if b.len() > 1 && (b[0] == b'\'' || b[0] == b'"') && b[b.len() - 1] == b[0] {
        value = &value[1..value.len() - 1];
    }
    ParsedLine::Setting { key, value }
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
        let text = fs::read(path).map_err(|e| Error::io("read config", path, e))?;
        let text = String::from_utf8_lossy(&text);
        let mut errors = Vec::new();
        self.apply_text(&text, Some(path), false, 0, &mut errors);
        if errors.is_empty() {
            Ok(())
        } else {
            Err(Error::Config {
                path: path.to_path_buf(),
                errors,
            })
        }
    }

    /// Parse config text (e.g. from a string in a test) as if it were the file `name`.
    pub fn parse_str(text: &str, name: Option<&Path>) -> Result<Config> {
        let mut c = Config::new();
        let mut errors = Vec::new();
        c.apply_text(text, name, false, 0, &mut errors);
        if errors.is_empty() {
            Ok(c)
        } else {
            Err(Error::Config {
                path: name
                    .map(Path::to_path_buf)
                    .unwrap_or_else(|| "<string>".into()),
                errors,
            })
        }
    }

    fn apply_text(
        &mut self,
        text: &str,
        file: Option<&Path>,
        included: bool,
        depth: usize,
        errors: &mut Vec<Error>,
    ) {
        for (i, line) in text.lines().enumerate() {
            let origin = match file {
                Some(f) => Origin::file(f, i + 1),
                None => Origin {
                    file: None,
                    line: i + 1,
                },
            };
            match split_line(line) {
                ParsedLine::Ignored => {
                    let t = line.trim_start();
                    if !t.is_empty() && !t.starts_with('#') {
                        tracing::warn!(%origin, line, "ignoring a line that is not an lxc.* key");
                    }
                    if !included {
                        self.lines.push(Line::Text(line.to_string()));
                    }
                }
                ParsedLine::Invalid => errors.push(Error::Syntax {
                    origin,
                    text: line.to_string(),
                }),
                ParsedLine::Setting { key, value } if key == "lxc.include" => {
                    if !included {
                        self.lines.push(Line::Entry(Entry {
                            key: key.to_string(),
                            raw: value.to_string(),
                            value: value.to_string(),
                            origin: origin.clone(),
                            included,
                        }));
                    }
                    if !value.is_empty() {
                        self.include(value, file, origin, depth, errors);
                    }
                }
                ParsedLine::Setting { key, value } => {
                    if let Err(e) = self.set_at(key, value, origin, included) {
                        errors.push(e);
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
        errors: &mut Vec<Error>,
    ) {
        let mut path = PathBuf::from(value);
        if path.is_relative() {
            // LXC opens relative includes against its cwd; we resolve them next to the including
            // file, which is what a relative include in a file means to its author.
            if let Some(dir) = from.and_then(Path::parent) {
                path = dir.join(path);
            }
        }
        if depth + 1 > MAX_INCLUDE_DEPTH {
            errors.push(Error::IncludeDepth {
                origin,
                path,
                max: MAX_INCLUDE_DEPTH,
            });
            return;
        }
        if value.ends_with('/') || path.is_dir() {
            let rd = match fs::read_dir(&path) {
                Ok(rd) => rd,
                // Like LXC: a missing include directory is not an error.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return,
                Err(source) => {
                    errors.push(Error::Include {
                        origin,
                        path,
                        source,
                    });
                    return;
                }
            };
            let mut files: Vec<PathBuf> = rd
                .filter_map(|e| e.ok())
                .map(|e| e.path())
                .filter(|p| {
                    p.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| n.len() >= 6 && n.ends_with(".conf"))
                })
                .collect();
            files.sort();
            for f in files {
                self.include_file(&f, origin.clone(), depth, errors);
            }
        } else {
            self.include_file(&path, origin, depth, errors);
        }
    }

    fn include_file(&mut self, path: &Path, origin: Origin, depth: usize, errors: &mut Vec<Error>) {
        match fs::read(path) {
            Ok(bytes) => {
                let text = String::from_utf8_lossy(&bytes);
                self.apply_text(&text, Some(path), true, depth + 1, errors);
            }
            Err(source) => errors.push(Error::Include {
                origin,
                path: path.to_path_buf(),
                source,
            }),
        }
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

    /// Set with a known origin (a file line, or `-s` on the command line).
    pub fn set_at(&mut self, key: &str, value: &str, origin: Origin, included: bool) -> Result<()> {
        if key == "lxc.include" {
            let mut errors = Vec::new();
            if !included {
                self.lines.push(Line::Entry(Entry {
                    key: key.into(),
                    raw: value.into(),
                    value: value.into(),
                    origin: origin.clone(),
                    included,
                }));
            }
            if !value.is_empty() {
                self.include(
                    value,
                    origin.file.as_deref(),
                    origin.clone(),
                    0,
                    &mut errors,
                );
            }
            return match errors.into_iter().next() {
                None => Ok(()),
                Some(e) => Err(e),
            };
        }
        let r = Self::resolve(key, &origin)?;
        if value.is_empty() {
            self.clear_resolved(key, r);
            return Ok(());
        }
        let normalized = (r.def.parse)(key, value).map_err(|expected| Error::InvalidValue {
            key: key.to_string(),
            value: value.to_string(),
            origin: origin.clone(),
            expected,
        })?;
        let entry = Entry {
            key: key.to_string(),
            raw: value.to_string(),
            value: normalized,
            origin,
            included,
        };
        match r.def.kind {
            ValueKind::List => self.lines.push(Line::Entry(entry)),
            ValueKind::Single if entry.origin.line == 0 => {
                // An API set keeps one line per single key, so the saved file reads like the
                // config the user has; loading it gives the same last-wins result as LXC's
                // (which appends a second line instead).
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
            // Lines from a file stay as written: the last one wins when read.
            ValueKind::Single => self.lines.push(Line::Entry(entry)),
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
        Ok(match r.def.get {
            Some(get) => get(self, key),
            None => match r.def.kind {
                ValueKind::Single => self.last(key).unwrap_or_default().to_string(),
                ValueKind::List => self.all(key).map(|v| format!("{v}\n")).collect(),
            },
        })
    }

    /// `clear_config_item`.
    pub fn clear(&mut self, key: &str) -> Result<()> {
        if key == "lxc.include" {
            self.remove_where(|e| e.key == "lxc.include");
            return Ok(());
        }
        let r = Self::resolve(key, &Origin::api())?;
        self.clear_resolved(key, r);
        Ok(())
    }

    fn clear_resolved(&mut self, key: &str, r: ResolvedKey) {
        match r.def.clear {
            Some(clear) => clear(self, key),
            None => self.remove_where(|e| e.key == key),
        }
    }

    /// Every entry, in file order, included ones too.
    pub fn entries(&self) -> impl Iterator<Item = &Entry> {
        self.lines.iter().filter_map(|l| match l {
            Line::Entry(e) => Some(e),
            Line::Text(_) => None,
        })
    }

    /// The last normalized value of a key.
    pub fn last(&self, key: &str) -> Option<&str> {
        self.entries()
            .filter(|e| e.key == key)
            .last()
            .map(|e| e.value.as_str())
    }

    /// Where the last value of a key came from (for error messages at start time).
    pub fn origin_of(&self, key: &str) -> Option<&Origin> {
        self.entries()
            .filter(|e| e.key == key)
            .last()
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
    /// `lxc.include` line) followed by what was set since.
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

    /// Write the config to `path` (atomically: a temporary file renamed over it).
    pub fn save(&self, path: &Path) -> Result<()> {
        let dir = path.parent().unwrap_or(Path::new("."));
        fs::create_dir_all(dir).map_err(|e| Error::io("create directory", dir, e))?;
        let tmp = path.with_extension("lxcrs-tmp");
        fs::write(&tmp, self.to_lxc_string()).map_err(|e| Error::io("write config", &tmp, e))?;
        fs::rename(&tmp, path).map_err(|e| Error::io("rename config", path, e))
    }
}
