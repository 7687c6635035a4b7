//! Conventions a repository keeps, learned from its own code with the
//! evidence (`lore review` flags a change that departs from one).
//!
//! Per directory (a package, a module folder) and language, over its
//! functions and methods outside tests: the return type they share (Rust,
//! Python and TypeScript annotations, generic arguments but a `Result`'s
//! error type read as `_`: "41 of 43 functions in `api/` return
//! `Result<_, ApiError>`") and how names are written (snake_case,
//! camelCase, PascalCase); how functions that write diagnostics write them
//! (through a logger, or by printing: "23 of 24 functions in `svc/` that
//! write output use a logger"); and, in Go, whether error returns wrap the
//! error (`fmt.Errorf("…: %w", err)`) or pass it on bare. A convention
//! holds when at least [`MIN_SUPPORT`] functions show the trait and
//! [`MIN_SHARE`] of them agree.

use std::collections::BTreeMap;

use lore_core::{Language, SymbolKind};
use serde::Serialize;

use crate::RepoIndex;
use crate::error::Result;

/// Functions a directory needs before a convention is read from it.
pub const MIN_SUPPORT: usize = 10;
/// The share of them that must agree.
pub const MIN_SHARE: f64 = 0.9;

/// One convention with its evidence.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Convention {
    /// `return-type` or `naming`.
    pub kind: &'static str,
    /// The directory it holds in.
    pub dir: String,
    /// What they share (`Result<_, ApiError>`, `snake_case`).
    pub value: String,
    /// How many agree.
    pub agree: usize,
    /// How many show the trait at all.
    pub total: usize,
    /// A few of the agreeing functions, `path:line qualname`.
    pub examples: Vec<String>,
}

impl Convention {
    /// The convention in words, with its numbers.
    pub fn statement(&self) -> String {
        let dir = if self.dir.is_empty() {
            "the root"
        } else {
            &self.dir
        };
        match self.kind {
            "return-type" => format!(
                "{} of {} functions in {dir} return `{}`",
                self.agree, self.total, self.value
            ),
            "logging" => format!(
                "{} of {} functions in {dir} that write diagnostics use {}",
                self.agree, self.total, self.value
            ),
            "error-wrapping" => format!(
                "{} of {} functions in {dir} that return errors {}",
                self.agree,
                self.total,
                if self.value == WRAPPED {
                    "wrap them with context (`fmt.Errorf(\"…: %w\", err)`)"
                } else {
                    "return them as they came"
                }
            ),
            _ => format!(
                "{} of {} function names in {dir} are {}",
                self.agree, self.total, self.value
            ),
        }
    }
}

/// [`logging`]'s two ways.
pub const LOGGER: &str = "a logger";
/// …
pub const PRINT: &str = "print";
/// [`error_returns`]'s two ways.
pub const WRAPPED: &str = "wrapped";
/// …
pub const BARE: &str = "bare";

/// How code writes diagnostics: [`LOGGER`] when it calls a logging
/// facility, else [`PRINT`] when it prints to standard output or error;
/// `None` when it does neither.
pub fn logging(lang: Language, code: &str) -> Option<&'static str> {
    let (loggers, prints): (&[&str], &[&str]) = match lang {
        Language::Python => (
            &[
                "logger.",
                "logging.",
                "log.",
                "LOG.",
                "LOGGER.",
                "self.log.",
            ],
            &["print("],
        ),
        Language::Rust => (
            &[
                "tracing::",
                "log::",
                "info!(",
                "warn!(",
                "error!(",
                "debug!(",
                "trace!(",
            ],
            &["println!(", "eprintln!(", "print!(", "eprint!(", "dbg!("],
        ),
        Language::JavaScript | Language::TypeScript | Language::Tsx => (
            &[
                "logger.",
                "log.info(",
                "log.warn(",
                "log.error(",
                "log.debug(",
                "this.log.",
            ],
            &[
                "console.log(",
                "console.error(",
                "console.warn(",
                "console.info(",
                "console.debug(",
            ],
        ),
        Language::Go => (
            &["log.", "slog.", "logger.", "zap.", "logrus.", "klog."],
            &[
                "fmt.Print",
                "fmt.Fprint(os.Std",
                "fmt.Fprintf(os.Std",
                "fmt.Fprintln(os.Std",
                "println(",
            ],
        ),
        Language::Java => (
            &["log.", "logger.", "LOG.", "LOGGER."],
            &["System.out.", "System.err.", ".printStackTrace("],
        ),
        _ => return None,
    };
    let has = |needles: &[&str]| {
        code.lines().any(|l| {
            let l = l.trim_start();
            !is_comment(l) && needles.iter().any(|n| contains_call(l, n))
        })
    };
    if has(loggers) {
        Some(LOGGER)
    } else if has(prints) {
        Some(PRINT)
    } else {
        None
    }
}

/// Go: whether code's error returns wrap the error ([`WRAPPED`]:
/// `fmt.Errorf` with `%w`, `errors.Wrap`) or only pass it on ([`BARE`]:
/// `return err`, `return nil, err`); `None` for code with neither.
pub fn error_returns(lang: Language, code: &str) -> Option<&'static str> {
    if lang != Language::Go {
        return None;
    }
    let (mut wrapped, mut bare) = (false, false);
    for l in code.lines().map(str::trim) {
        let Some(ret) = l.strip_prefix("return ") else {
            continue;
        };
        if ret.contains("%w") || ret.contains("errors.Wrap") || ret.contains("errors.WithMessage") {
            wrapped = true;
        } else if ret == "err" || ret.ends_with(", err") {
            bare = true;
        }
    }
    match (wrapped, bare) {
        (true, false) => Some(WRAPPED),
        (false, true) => Some(BARE),
        _ => None,
    }
}

fn is_comment(line: &str) -> bool {
    line.starts_with('#')
        || line.starts_with("//")
        || line.starts_with('*')
        || line.starts_with("/*")
}

/// `needle` occurs in `line` where a call or path starts: not inside a
/// longer identifier (`catalog.` is not `log.`).
fn contains_call(line: &str, needle: &str) -> bool {
    line.match_indices(needle).any(|(i, _)| {
        !line[..i].chars().next_back().is_some_and(|c| {
            c.is_alphanumeric() || c == '_' || (c == '.' && !needle.starts_with('.'))
        })
    })
}

/// The return type a signature declares, normalised: generic arguments
/// kept except a `Result`'s success type (`Result<Json<T>, ApiError>` →
/// `Result<_, ApiError>`). `None` when it declares none.
pub fn return_type(lang: Language, signature: &str) -> Option<String> {
    let sig = signature.split('{').next().unwrap_or(signature);
    let raw = match lang {
        Language::Rust => sig.split_once("->")?.1.split(" where ").next()?.trim(),
        Language::Python => sig.rsplit_once("->")?.1.trim().trim_end_matches(':').trim(),
        Language::TypeScript | Language::Tsx => {
            let after = sig.rsplit_once(')')?.1.trim();
            after
                .strip_prefix(':')?
                .trim()
                .trim_end_matches("=>")
                .trim()
        }
        _ => return None,
    };
    if raw.is_empty() {
        return None;
    }
    let compact: String = raw.split_whitespace().collect::<Vec<_>>().join(" ");
    if let Some(inner) = compact
        .strip_prefix("Result<")
        .and_then(|r| r.strip_suffix('>'))
    {
        // The error type: after the last top-level comma.
        let mut depth = 0;
        let mut split = None;
        for (i, c) in inner.char_indices() {
            match c {
                '<' | '(' | '[' => depth += 1,
                '>' | ')' | ']' => depth -= 1,
                ',' if depth == 0 => split = Some(i),
                _ => {}
            }
        }
        return Some(match split {
            Some(i) => format!("Result<_, {}>", inner[i + 1..].trim()),
            None => "Result<_>".to_owned(),
        });
    }
    Some(compact)
}

/// How a name is written.
pub fn naming(name: &str) -> Option<&'static str> {
    let name = name.trim_start_matches('_');
    let first = name.chars().next()?;
    if !first.is_alphabetic() || name.len() < 4 {
        return None;
    }
    let upper = name.chars().any(|c| c.is_uppercase());
    let under = name.contains('_');
    Some(match (first.is_uppercase(), upper, under) {
        (false, false, _) => "snake_case",
        (false, true, false) => "camelCase",
        (true, _, false) if name.chars().any(|c| c.is_lowercase()) => "PascalCase",
        _ => return None,
    })
}

/// The conventions of the directory `dir` (its files only, not
/// subdirectories), for functions of `lang`.
pub fn learn(index: &RepoIndex, dir: &str, lang: Language) -> Result<Vec<Convention>> {
    let mut returns: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut names: BTreeMap<&'static str, Vec<String>> = BTreeMap::new();
    let mut logs: BTreeMap<&'static str, Vec<String>> = BTreeMap::new();
    let mut errors: BTreeMap<&'static str, Vec<String>> = BTreeMap::new();
    for path in index.store().paths()? {
        let parent = path.rfind('/').map_or("", |i| &path[..i]);
        if parent != dir
            || Language::from_path(std::path::Path::new(&path)) != lang
            || crate::thoughts::entry::is_test_path(&path)
        {
            continue;
        }
        let text = std::fs::read_to_string(index.root().join(&path)).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        for s in index.store().outline(&path)? {
            if !matches!(s.kind, SymbolKind::Function | SymbolKind::Method) {
                continue;
            }
            let example = format!("{}:{} {}", s.path, s.start_line, s.qualname);
            let body = lines
                .get(
                    s.start_line.saturating_sub(1) as usize..(s.end_line as usize).min(lines.len()),
                )
                .map(|b| b.join("\n"))
                .unwrap_or_default();
            if let Some(way) = logging(lang, &body) {
                logs.entry(way).or_default().push(example.clone());
            }
            if let Some(way) = error_returns(lang, &body) {
                errors.entry(way).or_default().push(example.clone());
            }
            if let Some(t) = return_type(lang, &s.signature) {
                returns.entry(t).or_default().push(example.clone());
            }
            if let Some(style) = naming(&s.name) {
                names.entry(style).or_default().push(example);
            }
        }
    }
    let mut out = Vec::new();
    let mut pick = |kind: &'static str, groups: Vec<(String, Vec<String>)>| {
        let total: usize = groups.iter().map(|g| g.1.len()).sum();
        if let Some((value, examples)) = groups.into_iter().max_by_key(|g| g.1.len())
            && total >= MIN_SUPPORT
            && examples.len() as f64 >= MIN_SHARE * total as f64
        {
            out.push(Convention {
                kind,
                dir: dir.to_owned(),
                value,
                agree: examples.len(),
                total,
                examples: examples.into_iter().take(3).collect(),
            });
        }
    };
    pick("return-type", returns.into_iter().collect());
    pick(
        "naming",
        names.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
    );
    pick(
        "logging",
        logs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
    );
    pick(
        "error-wrapping",
        errors.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
    );
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn return_types_are_read_and_a_results_success_type_is_blanked() {
        let rust = |s| return_type(Language::Rust, s);
        assert_eq!(
            rust("pub async fn list(State(s): State<App>) -> Result<Json<Vec<Item>>, ApiError> {"),
            Some("Result<_, ApiError>".into())
        );
        assert_eq!(
            rust("fn get(&self) -> Option<&str> where T: Copy"),
            Some("Option<&str>".into())
        );
        assert_eq!(rust("fn go(&self) {"), None);
        assert_eq!(
            return_type(
                Language::Python,
                "def load(self, key: str) -> dict[str, int]:"
            ),
            Some("dict[str, int]".into())
        );
        assert_eq!(
            return_type(
                Language::TypeScript,
                "function parse(x: string): Promise<Node> {"
            ),
            Some("Promise<Node>".into())
        );
        assert_eq!(return_type(Language::Go, "func A() error {"), None);
    }

    #[test]
    fn logging_and_error_returns_are_told_apart() {
        assert_eq!(
            logging(Language::Python, "    logger.warning('x')"),
            Some(LOGGER)
        );
        assert_eq!(logging(Language::Python, "    print('x')"), Some(PRINT));
        assert_eq!(
            logging(Language::Python, "    catalog.load()\n    # print(x)"),
            None
        );
        assert_eq!(
            logging(Language::Rust, "    tracing::info!(n, \"x\");"),
            Some(LOGGER)
        );
        assert_eq!(
            logging(Language::Rust, "    eprintln!(\"x\");"),
            Some(PRINT)
        );
        assert_eq!(
            logging(Language::JavaScript, "  console.log(x);"),
            Some(PRINT)
        );
        assert_eq!(logging(Language::Go, "\tfmt.Println(x)"), Some(PRINT));
        assert_eq!(
            logging(Language::Go, "\tlog.Printf(\"%v\", x)"),
            Some(LOGGER)
        );
        let go = |s| error_returns(Language::Go, s);
        assert_eq!(
            go("\treturn nil, fmt.Errorf(\"open: %w\", err)"),
            Some(WRAPPED)
        );
        assert_eq!(go("\treturn nil, err"), Some(BARE));
        assert_eq!(go("\treturn err"), Some(BARE));
        assert_eq!(go("\treturn nil"), None);
        assert_eq!(error_returns(Language::Python, "return err"), None);
    }

    #[test]
    fn naming_styles() {
        assert_eq!(naming("load_user"), Some("snake_case"));
        assert_eq!(naming("loadUser"), Some("camelCase"));
        assert_eq!(naming("LoadUser"), Some("PascalCase"));
        assert_eq!(naming("_private_helper"), Some("snake_case"));
        assert_eq!(naming("go"), None);
    }
}
