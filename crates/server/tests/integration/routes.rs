//! docs/SECURITY.md's table of who reaches which route names every route the router has: a
//! route added without saying who may call it fails here. (What each caller gets is tested by
//! behaviour: the security matrix in `accounts.rs` and the tests of each feature.)

use std::collections::BTreeSet;
use std::path::Path;

/// Every path in `.route("...")` calls of a source file, `/api` added where the router nests it.
fn routes_in(file: &str, prefix: &str) -> BTreeSet<String> {
    let src = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(file)).unwrap();
    let mut found = BTreeSet::new();
    let mut rest = src.as_str();
    while let Some(at) = rest.find(".route(") {
        rest = &rest[at + ".route(".len()..];
        let trimmed = rest.trim_start();
        if let Some(inner) = trimmed.strip_prefix('"') {
            let path = &inner[..inner.find('"').unwrap()];
            let full = if ["/healthz", "/readyz", "/metrics"].contains(&path)
                || path.starts_with("/sessions/{id}/{capability}")
            {
                path.to_string()
            } else {
                format!("{prefix}{path}")
            };
            found.insert(full);
        }
    }
    found
}

#[test]
fn every_route_has_a_row_saying_who_may_call_it() {
    let mut routes = routes_in("src/http/mod.rs", "/api");
    routes.extend(routes_in("src/http/untrusted.rs", ""));
    // A trailing slash is the same route.
    let routes: BTreeSet<String> = routes
        .into_iter()
        .map(|r| {
            if r.len() > 1 {
                r.trim_end_matches('/').to_string()
            } else {
                r
            }
        })
        .collect();
    assert!(
        routes.len() > 60,
        "the router's routes were read: {routes:?}"
    );
    let doc = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/SECURITY.md"),
    )
    .unwrap();
    let table: BTreeSet<String> = doc
        .lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| Route"))
        .filter_map(|l| l.split('|').nth(1))
        .flat_map(|cell| {
            cell.split('`')
                .skip(1)
                .step_by(2)
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .filter(|p| p.starts_with('/'))
        .collect();
    let missing: Vec<&String> = routes.iter().filter(|r| !table.contains(*r)).collect();
    assert!(
        missing.is_empty(),
        "routes without a row in docs/SECURITY.md (section 5): {missing:?}"
    );
    let stale: Vec<&String> = table.iter().filter(|r| !routes.contains(*r)).collect();
    assert!(
        stale.is_empty(),
        "rows of docs/SECURITY.md for routes the router does not have: {stale:?}"
    );
}
