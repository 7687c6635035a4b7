//! When two insights are "the same kind of thing": their titles have the
//! same shape once what varies between instances is taken out — quoted
//! names, numbers, paths. Three dismissals of a shape say the team does
//! not want that kind of insight; the next ones are suppressed.

/// Dismissed insights of one shape after which new ones are suppressed.
pub const SUPPRESS_AFTER: usize = 3;

/// What makes insights of `kind` with `title` the same kind of thing: a
/// title that starts with a rule id (`errors/swallowed: ...`, a linter's
/// `ruff/F401: ...`) is that rule's; any other, its [`shape`].
pub fn key(kind: &str, title: &str) -> String {
    let rule = title
        .split_once(": ")
        .map(|(r, _)| r)
        .filter(|r| !r.contains(' ') && r.contains('/'));
    match rule {
        Some(rule) => format!("{kind}|{rule}"),
        None => format!("{kind}|{}", shape(title)),
    }
}

/// The shape of an insight title: lower case, `quoted` or "quoted" parts
/// as `_`, numbers as `#`, words that look like paths or qualified names
/// (`a/b.py`, `pkg.mod.fn`) as `_`.
pub fn shape(title: &str) -> String {
    let mut out = String::new();
    let mut quote: Option<char> = None;
    for c in title.chars() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if matches!(c, '`' | '"') => {
                quote = Some(c);
                out.push('_');
            }
            None => out.push(c),
        }
    }
    out.split_whitespace()
        .map(|w| {
            let core = w.trim_matches(|c: char| c.is_ascii_punctuation() && c != '/' && c != '_');
            if !core.is_empty()
                && core
                    .chars()
                    .all(|c| c.is_ascii_digit() || ".,%".contains(c))
            {
                "#".to_owned()
            } else if dotted(core) {
                "_".to_owned()
            } else {
                w.to_lowercase()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// `a/b.py`, `pkg.mod.fn`: parts joined by dots, each a name or a path.
fn dotted(word: &str) -> bool {
    let parts: Vec<&str> = word.split('.').collect();
    parts.len() >= 2
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.chars()
                    .all(|c| c.is_alphanumeric() || matches!(c, '_' | '/' | '-'))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instances_of_one_kind_share_a_shape() {
        let a =
            shape("complexity/cyclomatic: `handle_request` has cyclomatic complexity 17 (over 15)");
        let b = shape("complexity/cyclomatic: `parse` has cyclomatic complexity 23 (over 15)");
        assert_eq!(a, b);
        assert_eq!(
            shape("test fails: tests.test_api.test_login"),
            shape("test fails: tests.test_models.test_save")
        );
        assert_eq!(
            shape("hot spot: src/net/retry.py changed 14 times"),
            shape("hot spot: lib/db/pool.go changed 3 times")
        );
        assert_ne!(
            shape("complexity/cyclomatic: `f` has cyclomatic complexity 17"),
            shape("errors/swallowed: `f` swallows every exception")
        );
        // Rule ids keep their slash: they tell kinds apart.
        assert!(shape("errors/swallowed: x").starts_with("errors/swallowed:"));
        // A finding is its rule's, whatever its message says.
        assert_eq!(
            key("finding", "notes/todo: TODO: validate input"),
            key("finding", "notes/todo: FIXME: the cache leaks")
        );
        assert_ne!(
            key("finding", "notes/todo: TODO: x"),
            key("finding", "errors/swallowed: x")
        );
        assert_ne!(key("hotspot", "a: b"), key("change", "a: b"));
    }
}
