//! The modules of `src/` import each other in one direction only: no cycles between top-level
//! modules (docs/ARCHITECTURE.md draws the layers), nor between the modules inside any module
//! (`collab::room` and `collab::relay`, say). This reads the sources, collects every path to
//! another module (`crate::...`, `super::...`, `self::...` and a parent's own children, in `use`
//! lines and inline), and fails on a cycle.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Source without comments and string literals, so neither can add a dependency.
fn code_only(src: &str) -> String {
    let b = src.as_bytes();
    let mut out = String::with_capacity(src.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'/' && b.get(i + 1) == Some(&b'/') {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
            i += 2;
            while i + 1 < b.len() && !(b[i] == b'*' && b[i + 1] == b'/') {
                i += 1;
            }
            i += 2;
        } else if b[i] == b'r'
            && matches!(b.get(i + 1), Some(b'#') | Some(b'"'))
            && (i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_'))
        {
            // Raw string: r"..." or r#"..."#.
            let mut j = i + 1;
            let mut hashes = 0;
            while b.get(j) == Some(&b'#') {
                hashes += 1;
                j += 1;
            }
            if b.get(j) != Some(&b'"') {
                out.push('r');
                i += 1;
                continue;
            }
            j += 1;
            let close: Vec<u8> = std::iter::once(b'"')
                .chain(std::iter::repeat_n(b'#', hashes))
                .collect();
            while j < b.len() && !b[j..].starts_with(&close) {
                j += 1;
            }
            i = j + close.len();
            out.push_str("\"\"");
        } else if b[i] == b'"' {
            i += 1;
            while i < b.len() && b[i] != b'"' {
                i += if b[i] == b'\\' { 2 } else { 1 };
            }
            i += 1;
            out.push_str("\"\"");
        } else if b[i] == b'\'' && b.get(i + 2) == Some(&b'\'') {
            // A char literal such as '"' (lifetimes have no closing quote two bytes on).
            i += 3;
        } else if b[i] == b'\'' && b.get(i + 1) == Some(&b'\\') {
            let end = src[i + 2..].find('\'').map_or(b.len(), |e| i + 2 + e + 1);
            i = end;
        } else {
            let ch = src[i..].chars().next().unwrap();
            out.push(ch);
            i += ch.len_utf8();
        }
    }
    out
}

/// Top-level modules `crate::x` refers to in `code`, including `use crate::{a, b::c}` groups.
fn referenced(code: &str, modules: &BTreeSet<String>) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut rest = code;
    while let Some(at) = rest.find("crate::") {
        let before = rest[..at].chars().last();
        rest = &rest[at + "crate::".len()..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue; // e.g. `interview_ide_crate::`
        }
        let names: Vec<String> = if let Some(group) = rest.strip_prefix('{') {
            // Only the first path segment of each item at depth 0 of the group.
            let mut depth = 0;
            let mut items = vec![String::new()];
            for c in group.chars() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => items.push(String::new()),
                    _ if depth == 0 => items.last_mut().unwrap().push(c),
                    _ => {}
                }
            }
            items
                .iter()
                .map(|i| i.trim().split("::").next().unwrap_or("").trim().to_string())
                .collect()
        } else {
            vec![
                rest.chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect(),
            ]
        };
        found.extend(names.into_iter().filter(|n| modules.contains(n)));
    }
    found
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// Module -> the modules it uses, for the top-level modules declared in lib.rs.
fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let lib = std::fs::read_to_string(src.join("lib.rs")).unwrap();
    let modules: BTreeSet<String> = code_only(&lib)
        .lines()
        .filter_map(|l| {
            let l = l
                .trim()
                .trim_start_matches("pub ")
                .trim_start_matches("pub(crate) ");
            l.strip_prefix("mod ")
                .map(|m| m.trim_end_matches(';').trim().to_string())
        })
        .collect();
    assert!(
        modules.len() > 5,
        "could not read the modules from lib.rs: {modules:?}"
    );
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut g: BTreeMap<String, BTreeSet<String>> = modules
        .iter()
        .map(|m| (m.clone(), BTreeSet::new()))
        .collect();
    for f in files {
        let rel = f.strip_prefix(&src).unwrap();
        let first = rel
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy()
            .to_string();
        let module = first.trim_end_matches(".rs").to_string();
        // lib.rs and main.rs are the crate root that wires every layer together.
        if !modules.contains(&module) {
            continue;
        }
        let code = code_only(&std::fs::read_to_string(&f).unwrap());
        let deps = referenced(&code, &modules);
        g.get_mut(&module)
            .unwrap()
            .extend(deps.into_iter().filter(|d| *d != module));
    }
    g
}

/// Strongly connected components with more than one module (Tarjan).
fn cycles(g: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct T<'a> {
        g: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on: BTreeSet<&'a str>,
        out: Vec<Vec<String>>,
    }
    fn visit<'a>(t: &mut T<'a>, v: &'a str) {
        let i = t.index.len();
        t.index.insert(v, i);
        t.low.insert(v, i);
        t.stack.push(v);
        t.on.insert(v);
        for w in &t.g[v] {
            let w = w.as_str();
            if !t.index.contains_key(w) {
                visit(t, w);
                let lw = t.low[w];
                let lv = t.low.get_mut(v).unwrap();
                *lv = (*lv).min(lw);
            } else if t.on.contains(w) {
                let iw = t.index[w];
                let lv = t.low.get_mut(v).unwrap();
                *lv = (*lv).min(iw);
            }
        }
        if t.low[v] == t.index[v] {
            let mut comp = Vec::new();
            while let Some(w) = t.stack.pop() {
                t.on.remove(w);
                comp.push(w.to_string());
                if w == v {
                    break;
                }
            }
            if comp.len() > 1 {
                comp.sort();
                t.out.push(comp);
            }
        }
    }
    let mut t = T {
        g,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on: BTreeSet::new(),
        out: Vec::new(),
    };
    for v in g.keys() {
        if !t.index.contains_key(v.as_str()) {
            visit(&mut t, v);
        }
    }
    t.out
}

/// A module by its path below the crate (`["collab", "room"]`); the crate root is `[]`.
type ModPath = Vec<String>;

/// Every module that has a file of its own, by path, with its file: `x.rs` and `x/mod.rs` are
/// `x`, `x/y.rs` is `x::y`. The crate roots (lib.rs, main.rs) and `bin/` are left out.
fn file_modules() -> BTreeMap<ModPath, PathBuf> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut modules = BTreeMap::new();
    for f in files {
        let rel = f.strip_prefix(&src).unwrap().with_extension("");
        let mut path: ModPath = rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy().to_string())
            .collect();
        if path.last().is_some_and(|l| l == "mod") {
            path.pop();
        }
        if path.is_empty() || path == ["lib"] || path == ["main"] || path[0] == "bin" {
            continue;
        }
        modules.insert(path, f);
    }
    modules
}

/// The paths in `code` (of module `me`) that lead to other modules, made absolute: `crate::a::b`,
/// `super::x` (inside an inline `mod tests { }`, `super` is first the file's own module),
/// `self::x`, and `child::x` where `child` is a module of `me`. Groups (`use super::{a, b::c}`)
/// give one path per item. The paths may go on past the module (`["collab", "room", "Room"]`).
fn paths_out(code: &str, me: &[String], children: &BTreeSet<String>) -> Vec<ModPath> {
    let b = code.as_bytes();
    let is_ident = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    // Brace depths at which inline modules were opened.
    let mut inline: Vec<usize> = Vec::new();
    let mut depth = 0usize;
    let mut out = Vec::new();
    let mut i = 0;
    let mut previous_word = String::new();
    while i < b.len() {
        let c = b[i];
        if c == b'{' {
            depth += 1;
            i += 1;
            continue;
        }
        if c == b'}' {
            depth = depth.saturating_sub(1);
            if inline.last() == Some(&depth) {
                inline.pop();
            }
            i += 1;
            continue;
        }
        let starts_word = is_ident(c) && (i == 0 || !(is_ident(b[i - 1]) || b[i - 1] == b':'));
        if !starts_word {
            i += 1;
            continue;
        }
        // A path: words joined by `::`, maybe ending in a `{ ... }` group.
        let mut segments = Vec::new();
        let mut group = None;
        loop {
            let start = i;
            while i < b.len() && is_ident(b[i]) {
                i += 1;
            }
            segments.push(code[start..i].to_string());
            if code[i..].starts_with("::{") {
                let open = i + 3;
                let mut d = 0;
                let mut j = open;
                while j < b.len() && !(b[j] == b'}' && d == 0) {
                    match b[j] {
                        b'{' => d += 1,
                        b'}' => d -= 1,
                        _ => {}
                    }
                    j += 1;
                }
                group = Some(code[open..j].to_string());
                i = j + 1;
                break;
            }
            if code[i..].starts_with("::") && b.get(i + 2).is_some_and(|c| is_ident(*c)) {
                i += 2;
                continue;
            }
            break;
        }
        if previous_word == "mod" && segments.len() == 1 && code[i..].trim_start().starts_with('{')
        {
            // `mod name {`: the `{` is counted when the loop reaches it.
            inline.push(depth);
        }
        previous_word = segments.last().cloned().unwrap_or_default();
        let items: Vec<Vec<String>> = match &group {
            None => vec![segments.clone()],
            Some(g) => {
                let mut items = Vec::new();
                let mut d = 0;
                let mut item = String::new();
                for ch in g.chars().chain(std::iter::once(',')) {
                    match ch {
                        '{' => d += 1,
                        '}' => d -= 1,
                        ',' if d == 0 => {
                            let head: String = item.split('{').next().unwrap_or("").to_string();
                            let mut path = segments.clone();
                            path.extend(
                                head.split("::")
                                    .map(|s| s.trim().to_string())
                                    .filter(|s| !s.is_empty()),
                            );
                            items.push(path);
                            item.clear();
                            continue;
                        }
                        _ => {}
                    }
                    if d == 0 {
                        item.push(ch);
                    }
                }
                items
            }
        };
        for path in items {
            if path.len() < 2 && group.is_none() {
                continue;
            }
            let absolute: Option<ModPath> = match path[0].as_str() {
                "crate" => Some(path[1..].to_vec()),
                "super" => {
                    let ups = path.iter().take_while(|s| *s == "super").count();
                    // The first `super`s of an inline module stay in this file's module.
                    let ups = ups.saturating_sub(inline.len());
                    (ups <= me.len()).then(|| {
                        [
                            &me[..me.len() - ups],
                            &path[path.iter().take_while(|s| *s == "super").count()..],
                        ]
                        .concat()
                    })
                }
                "self" => Some([me, &path[1..]].concat()),
                first if inline.is_empty() && children.contains(first) => {
                    Some([me, &path[..]].concat())
                }
                _ => None,
            };
            out.extend(absolute);
        }
    }
    out
}

/// The longest start of `path` that is a module.
fn module_of(path: &[String], modules: &BTreeMap<ModPath, PathBuf>) -> Option<ModPath> {
    (1..=path.len())
        .rev()
        .map(|n| path[..n].to_vec())
        .find(|p| modules.contains_key(p))
}

/// Module -> the modules beside it that it uses, at every level of the tree: a use of
/// `a::b::c` from `a::d::e` is an edge `a::d -> a::b`. A module and its own descendants are no
/// pair: a parent's file wires its children (as lib.rs does the top-level modules), and a child
/// may use what its parent defines or re-exports.
fn sibling_graph() -> BTreeMap<String, BTreeSet<String>> {
    let modules = file_modules();
    let mut g: BTreeMap<String, BTreeSet<String>> = modules
        .keys()
        .map(|m| (m.join("::"), BTreeSet::new()))
        .collect();
    for (me, file) in &modules {
        let children: BTreeSet<String> = modules
            .keys()
            .filter(|m| m.len() == me.len() + 1 && m.starts_with(me))
            .map(|m| m.last().unwrap().clone())
            .collect();
        let code = code_only(&std::fs::read_to_string(file).unwrap());
        for path in paths_out(&code, me, &children) {
            let Some(target) = module_of(&path, &modules) else {
                continue;
            };
            let common = me.iter().zip(&target).take_while(|(a, b)| a == b).count();
            if common == me.len() || common == target.len() {
                continue; // the same module, an ancestor or a descendant
            }
            g.get_mut(&me[..=common].join("::"))
                .unwrap()
                .insert(target[..=common].join("::"));
        }
    }
    g
}

#[test]
fn no_import_cycles_between_modules_at_any_level() {
    let g = sibling_graph();
    assert!(
        g.contains_key("collab::room") && g.contains_key("accounts::sso"),
        "could not find the modules: {:?}",
        g.keys()
    );
    let found = cycles(&g);
    let mut report = String::new();
    for (m, deps) in g.iter().filter(|(m, _)| m.contains("::")) {
        report.push_str(&format!(
            "{m} -> {}\n",
            deps.iter().cloned().collect::<Vec<_>>().join(", ")
        ));
    }
    assert!(
        found.is_empty(),
        "modules that import each other (directly or through others): {found:?}\n{report}"
    );
}

#[test]
fn the_check_reads_paths_at_any_level() {
    let me: ModPath = vec!["collab".into(), "room".into()];
    let code = code_only(
        "use super::packed::{Appended, Packed};\nuse super::{persist::X, relay};\nuse crate::docname::{self, DocKey};\nfn f() { super::super::util::now_ms(); self::g(); }\n#[cfg(test)]\nmod tests {\n    use super::*;\n    use super::super::connection::Y;\n}\n",
    );
    let strings =
        |paths: Vec<ModPath>| -> Vec<String> { paths.into_iter().map(|p| p.join("::")).collect() };
    assert_eq!(
        strings(paths_out(&code, &me, &BTreeSet::new())),
        [
            "collab::packed::Appended",
            "collab::packed::Packed",
            "collab::persist::X",
            "collab::relay",
            "docname::self",
            "docname::DocKey",
            "util::now_ms",
            "collab::room::g",
            "collab::connection::Y",
        ]
    );
    // A parent's file reaches its children by their bare names.
    let children: BTreeSet<String> = ["room".to_string()].into();
    assert_eq!(
        strings(paths_out(
            "pub use room::{Room, RoomKey};",
            &["collab".to_string()],
            &children
        )),
        ["collab::room::Room", "collab::room::RoomKey"]
    );
}

#[test]
fn no_import_cycles_between_modules() {
    let g = graph();
    let mut report = String::new();
    for (m, deps) in &g {
        report.push_str(&format!(
            "{m} -> {}\n",
            deps.iter().cloned().collect::<Vec<_>>().join(", ")
        ));
    }
    let found = cycles(&g);
    assert!(
        found.is_empty(),
        "modules that import each other (directly or through others): {found:?}\n{report}"
    );
    println!("{report}");
}

#[test]
fn the_check_sees_cycles() {
    let g: BTreeMap<String, BTreeSet<String>> = [
        ("a", vec!["b"]),
        ("b", vec!["c"]),
        ("c", vec!["a"]),
        ("d", vec!["a"]),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.into_iter().map(String::from).collect()))
    .collect();
    assert_eq!(
        cycles(&g),
        vec![vec!["a".to_string(), "b".into(), "c".into()]]
    );
    let modules: BTreeSet<String> = ["store", "util", "chaos"]
        .into_iter()
        .map(String::from)
        .collect();
    let code = code_only(
        "use crate::{store::{Store, X}, util};\n// crate::chaos\nlet s = \"crate::chaos\"; crate::util::now_ms();",
    );
    assert_eq!(
        referenced(&code, &modules),
        ["store", "util"].into_iter().map(String::from).collect()
    );
}
