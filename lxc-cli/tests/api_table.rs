//! The README's table of liblxc's API and lxc-rs's status for each method and free
//! function, is kept true here:
//!
//! - every name of `tests/data/lxc_api_names.txt` (LXC 5.0.2's `struct lxc_container`
//!   function pointers and the header's free functions, checked against the installed
//!   `/usr/include/lxc/lxccontainer.h` when there is one) has exactly one row, and no row names
//!   anything else;
//! - each Rust item an `implemented` or `partial` row names is defined in the library's source
//!   (`Container::x` as a method taking `self`, other paths by their last segment);
//! - the item a `missing` row names is not defined yet: once it is, the row says so.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
const NAMES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/lxc_api_names.txt");
const HEADER: &str = "/usr/include/lxc/lxccontainer.h";
const TABLE_START: &str = "<!-- api table:";
const TABLE_END: &str = "<!-- end of api table -->";

/// `method` (the 61 of 5.0.2), `method+` (later LXC) or `function`, per name, in file order.
fn names() -> Vec<(String, String)> {
    fs::read_to_string(NAMES)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let (kind, name) = l.split_once(' ').expect("KIND NAME");
            (kind.to_string(), name.trim().to_string())
        })
        .collect()
}

#[derive(Debug)]
struct Row {
    liblxc: String,
    items: Vec<String>,
    status: String,
}

/// The backticked words of a table cell.
fn ticked(cell: &str) -> Vec<String> {
    cell.split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect()
}

fn rows() -> Vec<Row> {
    let readme = fs::read_to_string(Path::new(ROOT).join("README.md")).expect("README.md");
    let start = readme
        .find(TABLE_START)
        .expect("the README's api table start marker");
    let end = readme
        .find(TABLE_END)
        .expect("the README's api table end marker");
    readme[start..end]
        .lines()
        .filter(|l| l.starts_with("| `"))
        .map(|l| {
            let cells: Vec<&str> = l.trim_matches('|').split('|').map(str::trim).collect();
            assert_eq!(cells.len(), 3, "a row of three cells: {l}");
            Row {
                liblxc: ticked(cells[0]).first().cloned().expect("the liblxc name"),
                items: ticked(cells[1]),
                status: cells[2].to_string(),
            }
        })
        .collect()
}

/// The library's source files: every crate's `src`, but not the CLI, the test kit or xtask.
fn sources() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(rd) = fs::read_dir(dir) else { return };
        for e in rd.flatten() {
            let p = e.path();
            let name = e.file_name().to_string_lossy().into_owned();
            if p.is_dir() {
                if !matches!(
                    name.as_str(),
                    "target" | "tests" | "lxc-cli" | "testkit" | "xtask" | ".git"
                ) {
                    walk(&p, out);
                }
            } else if name.ends_with(".rs") && p.components().any(|c| c.as_os_str() == "src") {
                out.push(p);
            }
        }
    }
    let mut out = Vec::new();
    walk(Path::new(ROOT), &mut out);
    out
}

/// The bodies of the blocks that open on a line `opens` accepts (braces matched; braces in
/// strings or comments are rare enough in these headers' blocks to ignore).
fn blocks(text: &str, opens: impl Fn(&str) -> bool) -> Vec<&str> {
    let mut out = Vec::new();
    let mut at = 0;
    for line in text.split_inclusive('\n') {
        let start = at;
        at += line.len();
        if !opens(line.trim()) {
            continue;
        }
        let Some(open) = text[start..].find('{').map(|i| start + i) else {
            continue;
        };
        let mut depth = 0usize;
        for (i, c) in text[open..].char_indices() {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        out.push(&text[open..open + i]);
                        break;
                    }
                }
                _ => {}
            }
        }
    }
    out
}

/// Whether `text` defines `name` as an item: `fn name(`/`fn name<`, or a const, static,
/// struct, enum or trait of that name.
fn defines(text: &str, name: &str) -> bool {
    ["fn", "const", "static", "struct", "enum", "trait"]
        .iter()
        .any(|kw| {
            let word = format!("{kw} {name}");
            text.match_indices(&word).any(|(i, _)| {
                let before = text[..i].chars().next_back();
                let after = text[i + word.len()..].chars().next();
                !before.is_some_and(|c| c.is_alphanumeric() || c == '_')
                    && matches!(after, Some('(' | '<' | ':' | ' ' | '{' | ';'))
            })
        })
}

/// Whether `item` is defined: `Type::x` (or `Trait::x`) inside `impl Type`, `impl .. for
/// Type` or `trait Trait`; a lower-case path's last name anywhere.
fn defined(item: &str, texts: &[String]) -> bool {
    let segs: Vec<&str> = item.split("::").collect();
    let name = *segs.last().unwrap();
    let owner = (segs.len() >= 2)
        .then(|| segs[segs.len() - 2])
        .filter(|o| o.chars().next().is_some_and(char::is_uppercase));
    texts.iter().any(|t| match owner {
        None => defines(t, name),
        Some(owner) => blocks(t, |l| {
            let head = l.split('{').next().unwrap_or_default().trim();
            (l.starts_with("impl") || l.starts_with("pub trait") || l.starts_with("trait"))
                && (head.ends_with(&format!(" {owner}"))
                    || head.ends_with(&format!("trait {owner}"))
                    || head.starts_with(&format!("impl {owner}<")))
        })
        .iter()
        .any(|b| defines(b, name)),
    })
}

#[test]
fn the_name_list_is_lxc_5_0_2_s_header() {
    let methods: Vec<String> = names()
        .into_iter()
        .filter(|(k, _)| k == "method")
        .map(|(_, n)| n)
        .collect();
    assert_eq!(
        methods.len(),
        61,
        "struct lxc_container has 61 methods in LXC 5.0.2"
    );
    let Ok(header) = fs::read_to_string(HEADER) else {
        eprintln!("SKIP: {HEADER} is not installed (apt-get install lxc-dev): list not re-read");
        return;
    };
    // The members `RET (*name)(struct lxc_container *c, ...)` of the struct.
    let body = &header[header.find("struct lxc_container {").expect("the struct")..];
    let body = &body[..body.find("\n};").expect("its end")];
    let from_header: Vec<String> = body
        .split("(*")
        .skip(1)
        .filter_map(|s| {
            let (name, rest) = s.split_once(')')?;
            rest.trim_start()
                .starts_with("(struct lxc_container")
                .then(|| name.to_string())
        })
        .collect();
    assert_eq!(from_header, methods, "{HEADER} differs from {NAMES}");
}

#[test]
fn every_liblxc_name_has_one_row_and_every_row_is_true() {
    let names = names();
    let rows = rows();
    let wanted: BTreeSet<&str> = names.iter().map(|(_, n)| n.as_str()).collect();
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    for r in &rows {
        *seen.entry(r.liblxc.as_str()).or_default() += 1;
    }
    let mut problems = Vec::new();
    for n in &wanted {
        match seen.get(n) {
            None => problems.push(format!("{n}: no row")),
            Some(1) => {}
            Some(k) => problems.push(format!("{n}: {k} rows")),
        }
    }
    for n in seen.keys() {
        if !wanted.contains(n) {
            problems.push(format!("{n}: a row for a name that is not in {NAMES}"));
        }
    }
    let texts: Vec<String> = sources()
        .iter()
        .filter_map(|p| fs::read_to_string(p).ok())
        .collect();
    assert!(texts.len() > 50, "the library's sources under {ROOT}");
    for r in &rows {
        let kind = r.status.split([' ', ':']).next().unwrap_or_default();
        match kind {
            "implemented" | "partial" => {
                if r.items.is_empty() {
                    problems.push(format!("{}: {kind}, but names no Rust item", r.liblxc));
                }
                for item in &r.items {
                    if !defined(item, &texts) {
                        problems.push(format!("{}: {kind}, but {item} is not defined", r.liblxc));
                    }
                }
            }
            "missing" => {
                for item in &r.items {
                    if defined(item, &texts) {
                        problems.push(format!(
                            "{}: missing, but {item} is defined now: update the row",
                            r.liblxc
                        ));
                    }
                }
            }
            "n/a" => {}
            other => problems.push(format!("{}: unknown status {other:?}", r.liblxc)),
        }
    }
    assert!(
        problems.is_empty(),
        "The README's API table is not true:\n{}",
        problems.join("\n")
    );
}

#[test]
fn the_checker_tells_methods_from_other_functions() {
    let texts = vec![
        "impl Container {\n    pub fn start(&self, o: &O) {}\n    pub fn new(n: &str) -> \
         Container {\n        x\n    }\n}\npub fn restore(\n    a: A,\n) {}\n\
         trait Restore {\n    fn stop(&mut self);\n}\n\
         impl State {\n    pub const ALL: [State; 8] = [];\n}\n"
            .to_string(),
        "pub trait ConsoleExt {\n    fn console(&self);\n}\nfn restart() {}\n".to_string(),
    ];
    assert!(defined("Container::start", &texts));
    assert!(defined("Container::new", &texts));
    assert!(
        !defined("Container::restore", &texts),
        "a free fn is not a method"
    );
    assert!(
        !defined("Container::stop", &texts),
        "another trait's method is not"
    );
    assert!(defined("lxc::restore", &texts));
    assert!(!defined("lxc::rest", &texts));
    assert!(defined("lxc::State::ALL", &texts));
    assert!(defined("lxc::console::ConsoleExt::console", &texts));
}
