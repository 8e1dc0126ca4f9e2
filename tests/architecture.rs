//! The layering as a test: no two top-level modules under `src/` import
//! each other, directly or round a loop (docs/architecture.md).
//!
//! A module "imports" another when any of its files names `crate::other`,
//! in code or in a comment (a doc-link ties two modules together as
//! surely as a `use` does for whoever reads them). Test code does not
//! count: files named `tests.rs`, modules declared `#[cfg(test)] mod x;`,
//! and `#[cfg(test)] mod x { … }` blocks. A failure names each loop, e.g.
//! `loop: app -> demo -> app`, with the files behind each step.
//!
//! The house's other limits are here too: no file under `src/` (test
//! files aside) over about 1,000 lines, and no trait over about 25 methods,
//! so that a port stays one noun (docs/adr/0028).

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::{Path, PathBuf};

/// Who imports whom: each top-level module, the modules it names, and for
/// each of those the files (relative to `src/`) that name it.
type Graph = BTreeMap<String, BTreeMap<String, BTreeSet<String>>>;

#[test]
fn no_two_top_level_modules_import_each_other() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    read_dir(&src, &src, &mut files);
    let loops = loops(&graph(&files));
    assert!(loops.is_empty(), "{}", loops.join("\n"));
}

/// Lines a file under `src/` may have (test files and test blocks aside).
const MOST_LINES: usize = 1_000;
/// Methods a trait may have.
const MOST_METHODS: usize = 25;

#[test]
fn no_file_under_src_is_over_a_thousand_lines() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    read_dir(&src, &src, &mut files);
    let long: Vec<String> = files
        .iter()
        .filter(|(path, _)| !is_test_file(path))
        .map(|(path, text)| (path, without_test_blocks(text).0.lines().count()))
        .filter(|(_, lines)| *lines > MOST_LINES)
        .map(|(path, lines)| format!("src/{}: {lines} lines", path.display()))
        .collect();
    assert!(
        long.is_empty(),
        "split these by what they do (at most {MOST_LINES} lines):\n{}",
        long.join("\n")
    );
}

#[test]
fn no_trait_has_more_than_twenty_five_methods() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    read_dir(&src, &src, &mut files);
    let mut wide = Vec::new();
    let mut seen = BTreeMap::new();
    for (path, text) in &files {
        for (name, methods) in traits(text) {
            seen.insert(name.clone(), methods);
            if methods > MOST_METHODS {
                wide.push(format!(
                    "{name} in src/{}: {methods} methods",
                    path.display()
                ));
            }
        }
    }
    // The reader must see the ports, or this test could not fail.
    assert!(
        seen.get("WorkQueue").is_some_and(|m| *m >= 10) && seen.contains_key("Concerns"),
        "the ports were not found: {seen:?}"
    );
    assert!(
        wide.is_empty(),
        "split these by noun (at most {MOST_METHODS} methods):\n{}",
        wide.join("\n")
    );
}

#[test]
fn a_traits_methods_are_counted_with_and_without_bodies() {
    let text = "pub trait Port: Send {\n    fn a(&self);\n    fn b(&self) -> u8 {\n        1\n    }\n    /// fn not_this\n    fn c(&self);\n}\nfn outside() {}\n";
    assert_eq!(traits(text), [("Port".to_owned(), 3)]);
}

/// Test code: a `tests.rs`, a file under a `tests/` folder, or the store's
/// conformance suite (which is only compiled for tests).
fn is_test_file(path: &Path) -> bool {
    path.file_name()
        .is_some_and(|f| f == "tests.rs" || f == "conformance.rs")
        || path
            .components()
            .any(|c| c.as_os_str() == "tests" || c.as_os_str() == "conformance")
}

/// Each trait `text` declares, with how many methods it declares.
fn traits(text: &str) -> Vec<(String, usize)> {
    let mut found = Vec::new();
    for (at, _) in text.match_indices("trait ") {
        let before = text[..at].trim_end_matches([' ', '\t']);
        if !(before.is_empty()
            || before.ends_with('\n')
            || before.ends_with("pub")
            || before.ends_with(')'))
        {
            continue;
        }
        let rest = &text[at + "trait ".len()..];
        let name = leading_name(rest);
        let Some(open) = rest.find('{') else { continue };
        if rest[..open].contains(';') {
            continue;
        }
        let body = &rest[open..open + block_length(&rest[open..])];
        let methods = body
            .lines()
            .map(str::trim_start)
            .filter(|l| !l.starts_with("//"))
            .filter(|l| {
                let l = l.strip_prefix("async ").unwrap_or(l);
                let l = l.strip_prefix("unsafe ").unwrap_or(l);
                l.starts_with("fn ")
            })
            .count();
        found.push((name, methods));
    }
    found
}

#[test]
fn a_loop_is_named_and_test_code_is_left_out() {
    let files = [
        ("a.rs", "use crate::{b::B, e};\n"),
        // A comment counts.
        (
            "b/mod.rs",
            "//! Called from [`crate::a`].\nmod inner;\n#[cfg(test)]\nmod checks;\n",
        ),
        ("b/inner.rs", "pub fn f() -> crate::c::C { todo!() }\n"),
        // Test code does not.
        ("b/checks.rs", "use crate::d::D;\n"),
        (
            "c.rs",
            r#"pub struct C;
#[cfg(test)]
#[allow(unused)]
mod tests {
    const BRACE: char = '}';
    /* } */
    const S: &str = "}";
    use crate::d::D;
}
pub fn after() { crate::e::go() }
"#,
        ),
        ("d/mod.rs", "pub struct D;\n"),
        ("d/tests.rs", "use crate::c::C;\n"),
        ("e.rs", "pub fn go() {}\n"),
        ("lib.rs", "pub mod a; pub mod b;\n"),
    ];
    let files: Vec<_> = files
        .iter()
        .map(|(path, text)| (PathBuf::from(path), (*text).to_owned()))
        .collect();
    let graph = graph(&files);
    assert!(
        graph["a"].contains_key("b") && graph["a"].contains_key("e"),
        "every name in a grouped import counts"
    );
    assert_eq!(
        graph["c"].keys().collect::<Vec<_>>(),
        ["e"],
        "the test block is skipped and code after it is read"
    );
    assert!(!graph.contains_key("d"), "tests.rs is skipped");
    let loops = loops(&graph);
    assert_eq!(loops.len(), 1, "{loops:?}");
    assert!(loops[0].starts_with("loop: a -> b -> a"), "{}", loops[0]);
    assert!(loops[0].contains("b -> a: b/mod.rs"), "{}", loops[0]);
}

/// Every `.rs` file under `dir`, with its path relative to `root`.
fn read_dir(root: &Path, dir: &Path, out: &mut Vec<(PathBuf, String)>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|e| e.expect("a directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            read_dir(root, &path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
            let relative = path.strip_prefix(root).expect("under src").to_path_buf();
            out.push((relative, text));
        }
    }
}

/// The top-level module a file belongs to (`None` for the crate roots).
fn top_level(path: &Path) -> Option<String> {
    let first = path.components().next()?.as_os_str().to_str()?;
    match first {
        "lib.rs" | "main.rs" => None,
        name => Some(name.trim_end_matches(".rs").to_owned()),
    }
}

/// The import graph of `files` (paths relative to `src/`), test code left out.
fn graph(files: &[(PathBuf, String)]) -> Graph {
    let modules: BTreeSet<String> = files.iter().filter_map(|(p, _)| top_level(p)).collect();
    let mut test_only: Vec<PathBuf> = Vec::new();
    let mut kept = Vec::new();
    for (path, text) in files {
        let (text, test_modules) = without_test_blocks(text);
        for name in test_modules {
            test_only.push(module_dir(path).join(name));
        }
        kept.push((path, text));
    }
    let is_test = |path: &Path| {
        path.file_name().is_some_and(|f| f == "tests.rs")
            || test_only
                .iter()
                .any(|m| path.starts_with(m) || path == m.with_extension("rs"))
    };
    let mut graph = Graph::new();
    for (path, text) in kept {
        let Some(from) = top_level(path) else {
            continue;
        };
        if is_test(path) {
            continue;
        }
        for to in crate_references(&text) {
            if to != from && modules.contains(&to) {
                graph
                    .entry(from.clone())
                    .or_default()
                    .entry(to)
                    .or_default()
                    .insert(path.to_string_lossy().into_owned());
            }
        }
    }
    graph
}

/// The directory a file's child modules live in.
fn module_dir(path: &Path) -> PathBuf {
    let parent = path.parent().unwrap_or(Path::new("")).to_path_buf();
    match path.file_name().and_then(|f| f.to_str()) {
        Some("mod.rs" | "lib.rs" | "main.rs") | None => parent,
        Some(file) => parent.join(file.trim_end_matches(".rs")),
    }
}

/// Each `X` of `crate::X` in `text`.
fn crate_references(text: &str) -> BTreeSet<String> {
    text.match_indices("crate::")
        .filter(|(at, _)| {
            // Not `nightingale_crate::` or `$crate::`.
            !text[..*at]
                .chars()
                .next_back()
                .is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$')
        })
        .flat_map(|(at, m)| {
            let rest = &text[at + m.len()..];
            match rest.strip_prefix('{') {
                // `crate::{a::X, b}`: the first name of each item.
                Some(group) => grouped_names(group),
                None => vec![leading_name(rest)],
            }
        })
        .filter(|name| !name.is_empty())
        .collect()
}

/// The identifier `text` starts with.
fn leading_name(text: &str) -> String {
    text.chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect()
}

/// The first name of each item of a `{…}` group (its opening brace already
/// read): `a::X, b::{c, d}, e}` names a, b and e.
fn grouped_names(group: &str) -> Vec<String> {
    let mut names = vec![leading_name(group.trim_start())];
    let mut depth = 0usize;
    for (i, c) in group.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => break,
            '}' => depth -= 1,
            ',' if depth == 0 => names.push(leading_name(group[i + 1..].trim_start())),
            _ => {}
        }
    }
    names
}

/// `text` without its `#[cfg(test)] mod x { … }` blocks, and the names of
/// the modules it declares `#[cfg(test)] mod x;` (in files of their own).
fn without_test_blocks(text: &str) -> (String, Vec<String>) {
    const CFG_TEST: &str = "#[cfg(test)]";
    let mut kept = String::new();
    let mut files = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find(CFG_TEST) {
        kept.push_str(&rest[..at]);
        let after = &rest[at + CFG_TEST.len()..];
        match test_module(after) {
            Some((name, Body::File)) => {
                files.push(name);
                rest = after;
            }
            Some((_, Body::Block(open))) => {
                let end = open + block_length(&after[open..]);
                rest = &after[end..];
            }
            None => {
                kept.push_str(CFG_TEST);
                rest = after;
            }
        }
    }
    kept.push_str(rest);
    (kept, files)
}

/// Where a module declared after `#[cfg(test)]` lives.
enum Body {
    /// In a file of its own (`mod x;`).
    File,
    /// In a block opening at this byte.
    Block(usize),
}

/// The module `text` declares next (after any more attributes), if it
/// declares one: `mod x;` or `mod x {`.
fn test_module(text: &str) -> Option<(String, Body)> {
    let mut s = text.trim_start();
    while s.starts_with("#[") {
        s = s[s.find(']')? + 1..].trim_start();
    }
    if let Some(visible) = s.strip_prefix("pub") {
        s = visible.trim_start();
        if s.starts_with('(') {
            s = s[s.find(')')? + 1..].trim_start();
        }
    }
    let s = s.strip_prefix("mod")?;
    if !s.starts_with(char::is_whitespace) {
        return None;
    }
    let s = s.trim_start();
    let name: String = s
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    let after = s[name.len()..].trim_start();
    if name.is_empty() {
        return None;
    }
    match after.chars().next()? {
        ';' => Some((name, Body::File)),
        '{' => Some((name, Body::Block(text.len() - after.len()))),
        _ => None,
    }
}

/// The length of the block `text` opens with (`{` … its matching `}`),
/// reading past braces in comments, strings and character literals.
fn block_length(text: &str) -> usize {
    let bytes = text.as_bytes();
    let mut depth = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'{' => depth += 1,
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    return i + 1;
                }
            }
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                i += text[i..].find('\n').unwrap_or(text.len() - i);
                continue;
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                let mut nested = 0usize;
                while i < bytes.len() {
                    if bytes[i..].starts_with(b"/*") {
                        nested += 1;
                        i += 2;
                    } else if bytes[i..].starts_with(b"*/") {
                        nested -= 1;
                        i += 2;
                        if nested == 0 {
                            break;
                        }
                    } else {
                        i += 1;
                    }
                }
                continue;
            }
            b'r' if matches!(bytes.get(i + 1), Some(b'#' | b'"'))
                && !bytes[..i]
                    .last()
                    .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_') =>
            {
                let hashes = bytes[i + 1..].iter().take_while(|c| **c == b'#').count();
                if bytes.get(i + 1 + hashes) == Some(&b'"') {
                    let close = format!("\"{}", "#".repeat(hashes));
                    let start = i + 2 + hashes;
                    i = start + text[start..].find(&close).unwrap_or(text.len() - start);
                    i += close.len();
                    continue;
                }
            }
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'\'' => {
                // A character literal ('}', '\''), not a lifetime ('a).
                if bytes.get(i + 1) == Some(&b'\\') {
                    i += 2;
                    while i < bytes.len() && bytes[i] != b'\'' {
                        i += 1;
                    }
                } else if let Some(c) = text[i + 1..].chars().next()
                    && text[i + 1 + c.len_utf8()..].starts_with('\'')
                {
                    i += 1 + c.len_utf8();
                }
            }
            _ => {}
        }
        i += 1;
    }
    text.len()
}

/// Each loop in `graph`, one for each knot of modules that reach each
/// other, shortest first from its first module, with the files behind
/// each step.
fn loops(graph: &Graph) -> Vec<String> {
    let reach = |from: &str| -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        let mut queue = VecDeque::from([from.to_owned()]);
        while let Some(m) = queue.pop_front() {
            for next in graph.get(&m).into_iter().flat_map(|e| e.keys()) {
                if seen.insert(next.clone()) {
                    queue.push_back(next.clone());
                }
            }
        }
        seen
    };
    let mut done = BTreeSet::new();
    let mut found = Vec::new();
    for start in graph.keys() {
        if done.contains(start) || !reach(start).contains(start) {
            continue;
        }
        // The knot: every module `start` reaches that reaches it back.
        let knot: BTreeSet<String> = reach(start)
            .into_iter()
            .filter(|m| reach(m).contains(start))
            .collect();
        done.extend(knot.iter().cloned());
        let path = shortest_loop(graph, start);
        let mut text = format!("loop: {}", path.join(" -> "));
        for step in path.windows(2) {
            let files = &graph[&step[0]][&step[1]];
            let files: Vec<_> = files.iter().map(String::as_str).collect();
            text.push_str(&format!(
                "\n    {} -> {}: {}",
                step[0],
                step[1],
                files.join(", ")
            ));
        }
        if knot.len() > 2 {
            let knot: Vec<_> = knot.iter().map(String::as_str).collect();
            text.push_str(&format!("\n    (one knot: {})", knot.join(", ")));
        }
        found.push(text);
    }
    found
}

/// The shortest path from `start` back to itself, both ends named.
fn shortest_loop(graph: &Graph, start: &str) -> Vec<String> {
    let mut came_from: BTreeMap<String, String> = BTreeMap::new();
    let mut queue = VecDeque::from([start.to_owned()]);
    while let Some(m) = queue.pop_front() {
        for next in graph.get(&m).into_iter().flat_map(|e| e.keys()) {
            if next == start {
                // Back from `m` to `start`, which no step came to.
                let mut path = vec![m.clone()];
                let mut at = m.clone();
                while let Some(prev) = came_from.get(&at) {
                    path.push(prev.clone());
                    at = prev.clone();
                }
                path.reverse();
                path.push(start.to_owned());
                return path;
            }
            if !came_from.contains_key(next) && next != start {
                came_from.insert(next.clone(), m.clone());
                queue.push_back(next.clone());
            }
        }
    }
    vec![start.to_owned()]
}
