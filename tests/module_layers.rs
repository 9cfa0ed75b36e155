//! Every folder of src/ reads from the bottom up: no file imports a sibling that
//! imports it back, directly or through other siblings. A piece two siblings share
//! lives in a third they both use, or in the folder's mod.rs.
//!
//! The check reads the source text: a file's references to its siblings are its
//! `super::NAME` and `crate::FOLDER::NAME` paths (grouped imports included) outside
//! comments and its `#[cfg(test)]` tail, where NAME is another file or subfolder of
//! the same folder; a subfolder counts as one sibling, with the paths of all its
//! files. mod.rs files are the folder itself, so their uses of the files below
//! them are not edges.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// Files (`name.rs`, not mod.rs) and subfolders of `dir`, by module name.
fn siblings(dir: &Path) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for entry in fs::read_dir(dir).expect("a source folder") {
        let path = entry.expect("a folder entry").path();
        let name = path.file_stem().expect("a name").to_string_lossy().into_owned();
        if path.is_dir() || (path.extension().is_some_and(|e| e == "rs") && name != "mod") {
            out.insert(name);
        }
    }
    out
}

/// The code of a file: comments and the test module at its end removed.
fn code(text: &str) -> String {
    let body = text.split("#[cfg(test)]").next().unwrap_or(text);
    body.lines()
        .map(|l| l.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The first identifiers after every `prefix` in `code`, reading a `{...}` group's
/// top-level names too (`super::{a, b::c}` gives a and b).
fn names_after(code: &str, prefix: &str) -> Vec<String> {
    let ident = |s: &str| -> String { s.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect() };
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(i) = rest.find(prefix) {
        // A longer path ending in the prefix (`xsuper::`) is not one.
        let before = rest[..i].chars().next_back();
        rest = &rest[i + prefix.len()..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        if let Some(group) = rest.strip_prefix('{') {
            let (mut depth, mut start) = (0, 0);
            for (k, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => {
                        out.push(ident(group[start..k].trim()));
                        break;
                    }
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        out.push(ident(group[start..k].trim()));
                        start = k + 1;
                    }
                    _ => {}
                }
            }
        } else {
            out.push(ident(rest));
        }
    }
    out
}

/// Every .rs file under `dir`.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).expect("a source folder") {
        let path = entry.expect("a folder entry").path();
        if path.is_dir() {
            out.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out.sort();
    out
}

/// The module path of folder `dir` under src/: `output`, `policy::nginx`.
fn module_path(src: &Path, dir: &Path) -> String {
    dir.strip_prefix(src)
        .expect("under src")
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("::")
}

/// Each folder's sibling imports (src/'s folders and theirs): folder → file → siblings it names.
fn edges(src: &Path) -> BTreeMap<PathBuf, BTreeMap<String, BTreeSet<String>>> {
    // src/ itself holds the crate's top-level modules, which may lean on each
    // other; the check is about the files inside each folder.
    let mut folders: Vec<PathBuf> = fs::read_dir(src)
        .expect("src/")
        .map(|e| e.expect("a folder entry").path())
        .filter(|p| p.is_dir())
        .collect();
    let mut out = BTreeMap::new();
    while let Some(dir) = folders.pop() {
        let here = siblings(&dir);
        let module = module_path(src, &dir);
        let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for name in &here {
            let path = dir.join(name);
            if path.is_dir() {
                folders.push(path.clone());
            }
            // A subfolder is one sibling: the paths of every file in it that climb to
            // this folder are its imports at this level.
            let files = if path.is_dir() {
                rust_files(&path)
            } else {
                vec![dir.join(format!("{name}.rs"))]
            };
            let mut named: Vec<String> = Vec::new();
            for file in &files {
                let code = code(&fs::read_to_string(file).expect("a source file"));
                // `super::` as many times as it takes to climb from the file to this folder.
                let depth = file
                    .parent()
                    .expect("a folder")
                    .strip_prefix(&dir)
                    .expect("inside")
                    .components()
                    .count();
                let up = depth + usize::from(file.file_name().is_some_and(|f| f != "mod.rs"));
                named.extend(names_after(&code, &"super::".repeat(up)));
                named.extend(names_after(&code, &format!("crate::{module}::")));
            }
            let deps = named.into_iter().filter(|n| n != name && here.contains(n)).collect();
            graph.insert(name.clone(), deps);
        }
        out.insert(dir, graph);
    }
    out
}

/// A cycle in `graph`, as the files around it, if there is one.
fn cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(i) = path.iter().position(|p| p == node) {
            let mut ring = path[i..].to_vec();
            ring.push(node.to_string());
            return Some(ring);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(ring) = visit(next, graph, path, done) {
                return Some(ring);
            }
        }
        path.pop();
        done.insert(node.to_string());
        None
    }
    let mut done = BTreeSet::new();
    graph.keys().find_map(|n| visit(n, graph, &mut Vec::new(), &mut done))
}

#[test]
fn no_folder_has_an_import_loop() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut loops = Vec::new();
    for (dir, graph) in edges(&src) {
        if let Some(ring) = cycle(&graph) {
            loops.push(format!("{}: {}", dir.display(), ring.join(" -> ")));
        }
    }
    assert!(loops.is_empty(), "files that import each other:\n{}", loops.join("\n"));
}

#[test]
fn the_check_sees_a_loop_and_grouped_imports() {
    let code = "use super::{alpha, beta::Thing};\nfn f() { super::gamma::go(); xsuper::no(); }";
    assert_eq!(names_after(code, "super::"), ["alpha", "beta", "gamma"]);
    let mut graph = BTreeMap::new();
    graph.insert("a".to_string(), BTreeSet::from(["b".to_string()]));
    graph.insert("b".to_string(), BTreeSet::from(["c".to_string()]));
    graph.insert("c".to_string(), BTreeSet::from(["a".to_string()]));
    assert_eq!(
        cycle(&graph),
        Some(vec!["a".into(), "b".into(), "c".into(), "a".into()])
    );
    graph.get_mut("c").expect("c").clear();
    assert_eq!(cycle(&graph), None);
}
