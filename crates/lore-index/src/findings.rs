//! Findings: SmellHunt's rules over the whole index, their catalog and
//! configuration, fingerprints, and SARIF 2.1.0 in and out.
//!
//! The single-file rules are `lore_syntax::smell`; this module adds the
//! two that need more (duplicated blocks across files, hardcoded secrets
//! by the redaction rules), names symbols from the index's outline, gives
//! every finding a fingerprint that survives lines moving, and applies the
//! configuration (`[smells]` in LORE_HOME/config.toml, then the
//! repository's `.lore.toml`).
//!
//! A finding is stable JSON (`lore findings --json`): `rule`, `severity`
//! (`low`, `medium`, `high`), `message`, `hint`, `path`, `start_line`,
//! `end_line`, `symbol`, `tool`, `fingerprint`.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use lore_core::Language;
use lore_core::jobs::{Insight, NewInsight};
use lore_syntax::smell::{self, FunctionMetrics, Thresholds, rules};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::error::{Error, Result};
use crate::query::RepoIndex;
use crate::redact::Redactor;

/// How serious a finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing.
    Low,
    /// Worth fixing.
    Medium,
    /// Fix it.
    High,
}

impl Severity {
    /// `low`, `medium` or `high`.
    pub fn name(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
        }
    }

    /// Parses `low`, `medium` or `high`.
    pub fn from_name(name: &str) -> Option<Severity> {
        Some(match name {
            "low" => Severity::Low,
            "medium" => Severity::Medium,
            "high" => Severity::High,
            _ => return None,
        })
    }

    /// The SARIF level it maps to.
    pub fn sarif_level(self) -> &'static str {
        match self {
            Severity::Low => "note",
            Severity::Medium => "warning",
            Severity::High => "error",
        }
    }

    /// The severity of a SARIF level (`none` and unknown levels are low).
    pub fn from_sarif_level(level: &str) -> Severity {
        match level {
            "error" => Severity::High,
            "warning" => Severity::Medium,
            _ => Severity::Low,
        }
    }
}

/// Rule id of duplicated blocks (needs every file).
pub const DUPLICATE: &str = "duplication/block";
/// Rule id of hardcoded secrets (the redaction rules).
pub const SECRET: &str = "security/hardcoded-secret";

/// A rule in the catalog.
#[derive(Clone, Copy, Debug)]
pub struct RuleInfo {
    /// Stable id (`area/name`).
    pub id: &'static str,
    /// Default severity.
    pub severity: Severity,
    /// What it finds, one line.
    pub description: &'static str,
    /// How to fix it.
    pub hint: &'static str,
}

/// Every rule of Lore's own.
pub const CATALOG: &[RuleInfo] = &[
    RuleInfo {
        id: rules::CYCLOMATIC,
        severity: Severity::Medium,
        description: "A function with more independent paths than the threshold.",
        hint: "Split it: move branches into named helpers, or replace a chain of conditions with a table or early returns.",
    },
    RuleInfo {
        id: rules::COGNITIVE,
        severity: Severity::Medium,
        description: "A function hard to follow: breaks in the flow weighted by how deeply they nest.",
        hint: "Flatten it: return early, extract nested blocks into functions with names that say what they do.",
    },
    RuleInfo {
        id: rules::NESTING,
        severity: Severity::Low,
        description: "Control structures nested deeper than the threshold.",
        hint: "Invert conditions and return early, or extract the inner loop or branch.",
    },
    RuleInfo {
        id: rules::LONG_FUNCTION,
        severity: Severity::Low,
        description: "A function longer than the threshold.",
        hint: "Split it into steps with their own names.",
    },
    RuleInfo {
        id: rules::PARAMETERS,
        severity: Severity::Low,
        description: "A function taking more parameters than the threshold.",
        hint: "Group related parameters into a struct or object, or split the function.",
    },
    RuleInfo {
        id: DUPLICATE,
        severity: Severity::Low,
        description: "A block of lines repeated elsewhere in the repository.",
        hint: "Extract the shared block into one function both places call.",
    },
    RuleInfo {
        id: rules::SWALLOWED,
        severity: Severity::Medium,
        description: "An exception handler that does nothing: errors vanish.",
        hint: "Handle the error, log it with context, or let it propagate; if ignoring is right, say why in a comment and catch the narrowest type.",
    },
    RuleInfo {
        id: rules::BROAD_CATCH,
        severity: Severity::Low,
        description: "A handler that catches every exception and does not re-raise.",
        hint: "Catch the specific exceptions this code expects; let the rest propagate.",
    },
    RuleInfo {
        id: rules::IGNORED_ERROR,
        severity: Severity::Medium,
        description: "A call's error result assigned to `_` and dropped.",
        hint: "Handle or return the error; if dropping it is intended, say why in a comment.",
    },
    RuleInfo {
        id: rules::SQL_FORMAT,
        severity: Severity::High,
        description: "SQL built by string formatting or concatenation (injection risk).",
        hint: "Use the driver's parameters (placeholders) instead of formatting values into the query.",
    },
    RuleInfo {
        id: rules::SHELL_FORMAT,
        severity: Severity::High,
        description: "A shell command built by string formatting (command injection risk).",
        hint: "Pass arguments as a list to a process API without a shell, or quote every value.",
    },
    RuleInfo {
        id: rules::EVAL,
        severity: Severity::High,
        description: "Code built at run time and executed (eval, exec, new Function).",
        hint: "Parse the data instead (a literal parser, a lookup table) or call the code directly.",
    },
    RuleInfo {
        id: rules::SHELL_TRUE,
        severity: Severity::Medium,
        description: "A subprocess started through the shell (shell=True).",
        hint: "Pass the command as a list without shell=True.",
    },
    RuleInfo {
        id: SECRET,
        severity: Severity::High,
        description: "A credential written into the code (the redaction rules: known token formats, passwords assigned literals).",
        hint: "Move it to the environment or a secret store, and rotate it: it is in the history.",
    },
    RuleInfo {
        id: rules::TODO,
        severity: Severity::Low,
        description: "A TODO, FIXME, HACK or XXX note.",
        hint: "Do it, file it as an issue, or delete the note.",
    },
    RuleInfo {
        id: MISSING_TESTS,
        severity: Severity::Low,
        description: "A change modifies functions and changes no test (`lore review`).",
        hint: "Add or update a test that exercises the changed code; the finding names the tests that do today.",
    },
    RuleInfo {
        id: DOCS_MENTION,
        severity: Severity::Low,
        description: "A document names a symbol the change modified and the change leaves the document as it was (`lore review`).",
        hint: "Check that the document still says what the code now does.",
    },
    RuleInfo {
        id: CONVENTION,
        severity: Severity::Low,
        description: "A changed function departs from a convention the rest of its directory keeps: its return type, how its name is written, printing where the directory logs, or (Go) returning an error bare where the directory wraps it (`lore review`).",
        hint: "Follow the convention the finding quotes, or say in the change why this one differs.",
    },
    RuleInfo {
        id: MODEL_COMMENT,
        severity: Severity::Low,
        description: "A comment the configured model wrote on the changed code, kept only when the lines it cites verify against what it was shown (`lore review` with a provider).",
        hint: "Read the cited lines: the comment is a model's reading, checked for where it points, not for being right.",
    },
];

/// `lore review`: a changed function departs from its directory's convention.
pub const CONVENTION: &str = "review/convention";
/// `lore review`: functions changed with no test changed.
pub const MISSING_TESTS: &str = "review/missing-tests";
/// `lore review`: a document names a changed symbol.
pub const DOCS_MENTION: &str = "review/docs-mention";
/// `lore review` with a provider: a model's comment whose citations of the
/// changed code verified.
pub const MODEL_COMMENT: &str = "review/model-comment";

/// The catalog entry of `id`.
pub fn rule_info(id: &str) -> Option<&'static RuleInfo> {
    CATALOG.iter().find(|r| r.id == id)
}

/// A finding: stable JSON.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// Rule id (stable).
    pub rule: String,
    /// `low`, `medium` or `high`.
    pub severity: Severity,
    /// What is wrong here, one line.
    pub message: String,
    /// How to fix it.
    pub hint: String,
    /// File, relative to the repository root.
    pub path: String,
    /// First line (1-based).
    pub start_line: u32,
    /// Last line.
    pub end_line: u32,
    /// The enclosing symbol (qualified name), if any.
    pub symbol: Option<String>,
    /// `lore`, or the tool of an imported SARIF run.
    pub tool: String,
    /// The same finding across runs has the same fingerprint.
    pub fingerprint: String,
}

/// `[smells]` of a configuration file.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SmellSettings {
    /// Rule ids turned off.
    pub disable: Vec<String>,
    /// Severity per rule id (`low`, `medium`, `high`).
    pub severity: BTreeMap<String, String>,
    /// Thresholds of the metric rules.
    pub thresholds: ThresholdSettings,
}

/// `[smells.thresholds]`: unset values keep the default.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ThresholdSettings {
    /// Cyclomatic complexity (15).
    pub cyclomatic: Option<u32>,
    /// Cognitive complexity (25).
    pub cognitive: Option<u32>,
    /// Lines of a function (100).
    pub function_lines: Option<u32>,
    /// Nesting depth (4).
    pub nesting: Option<u32>,
    /// Parameters (6).
    pub parameters: Option<u32>,
    /// Lines a duplicated block needs (8).
    pub duplicate_lines: Option<u32>,
}

/// The configuration SmellHunt runs with.
#[derive(Clone, Debug, PartialEq)]
pub struct SmellConfig {
    /// Metric thresholds.
    pub thresholds: Thresholds,
    /// Lines (not blank, not comments, not imports) a duplicated block needs.
    pub duplicate_lines: u32,
    /// Rules turned off.
    pub disabled: Vec<String>,
    /// Severity overrides.
    pub severity: HashMap<String, Severity>,
}

/// Whether `id` names an external linter's rule (`ruff/F401`): those
/// rules are the tool's to define, so any name after a known tool is taken.
fn is_linter_rule(id: &str) -> bool {
    id.split_once('/').is_some_and(|(tool, rule)| {
        !rule.is_empty()
            && ["ruff", "eslint", "clippy", "rustc", "golangci", "semgrep"].contains(&tool)
    })
}

impl Default for SmellConfig {
    fn default() -> SmellConfig {
        SmellConfig {
            thresholds: Thresholds::default(),
            duplicate_lines: 8,
            disabled: Vec::new(),
            severity: HashMap::new(),
        }
    }
}

/// The repository's own configuration file.
pub const REPO_CONFIG: &str = ".lore.toml";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RepoConfigFile {
    #[serde(default)]
    smells: Option<SmellSettings>,
}

impl SmellConfig {
    /// Defaults, then `[smells]` of `home_config` (LORE_HOME/config.toml),
    /// then of the repository's `.lore.toml`. An unknown rule, severity or
    /// key is an error naming the file.
    pub fn load(home_config: &Path, root: &Path) -> Result<SmellConfig> {
        let mut config = SmellConfig::default();
        if let Some(text) = read_optional(home_config)? {
            let table: toml::Table = toml::from_str(&text)
                .map_err(|e| Error::Invalid(format!("{}: {e}", home_config.display())))?;
            if let Some(smells) = table.get("smells") {
                let settings: SmellSettings = smells.clone().try_into().map_err(|e| {
                    Error::Invalid(format!("{}: [smells]: {e}", home_config.display()))
                })?;
                config.apply(&settings, home_config)?;
            }
        }
        let repo_file = root.join(REPO_CONFIG);
        if let Some(text) = read_optional(&repo_file)? {
            let file: RepoConfigFile = toml::from_str(&text)
                .map_err(|e| Error::Invalid(format!("{}: {e}", repo_file.display())))?;
            if let Some(settings) = file.smells {
                config.apply(&settings, &repo_file)?;
            }
        }
        Ok(config)
    }

    /// Applies `settings` read from `file` over this configuration.
    /// Rule ids are SmellHunt's or a linter's (`TOOL/RULE`).
    pub fn apply(&mut self, settings: &SmellSettings, file: &Path) -> Result<()> {
        let known = |id: &str| {
            if rule_info(id).is_none() && !is_linter_rule(id) {
                return Err(Error::Invalid(format!(
                    "{}: [smells]: no rule `{id}` (rules: {}; a linter's as `ruff/F401`, `eslint/no-eval`, `clippy/needless_return`, `golangci/errcheck`, `semgrep/ID`)",
                    file.display(),
                    CATALOG.iter().map(|r| r.id).collect::<Vec<_>>().join(", ")
                )));
            }
            Ok(())
        };
        for id in &settings.disable {
            known(id)?;
            self.disabled.push(id.clone());
        }
        for (id, severity) in &settings.severity {
            known(id)?;
            let s = Severity::from_name(severity).ok_or_else(|| {
                Error::Invalid(format!(
                    "{}: [smells.severity] {id} = {severity:?}: expected low, medium or high",
                    file.display()
                ))
            })?;
            self.severity.insert(id.clone(), s);
        }
        let t = &settings.thresholds;
        let th = &mut self.thresholds;
        for (value, slot) in [
            (t.cyclomatic, &mut th.cyclomatic),
            (t.cognitive, &mut th.cognitive),
            (t.function_lines, &mut th.function_lines),
            (t.nesting, &mut th.nesting),
            (t.parameters, &mut th.parameters),
            (t.duplicate_lines, &mut self.duplicate_lines),
        ] {
            if let Some(v) = value {
                *slot = v;
            }
        }
        if self.duplicate_lines < 2 {
            return Err(Error::Invalid(format!(
                "{}: [smells.thresholds] duplicate_lines must be at least 2",
                file.display()
            )));
        }
        Ok(())
    }

    pub(crate) fn severity_of(&self, rule: &str) -> Severity {
        self.severity
            .get(rule)
            .copied()
            .or_else(|| rule_info(rule).map(|r| r.severity))
            .unwrap_or(Severity::Medium)
    }

    /// The severity the settings give `rule`, if they name it.
    pub(crate) fn severity_override(&self, rule: &str) -> Option<Severity> {
        self.severity.get(rule).copied()
    }

    /// Whether `rule` is on (not disabled in `[smells]`).
    pub fn enabled(&self, rule: &str) -> bool {
        !self.disabled.iter().any(|d| d == rule)
    }

    /// A key that changes when anything here changes (cache validity).
    pub(crate) fn key(&self) -> String {
        let mut severity: Vec<_> = self.severity.iter().collect();
        severity.sort();
        format!(
            "{:?}|{}|{:?}|{:?}",
            self.thresholds, self.duplicate_lines, self.disabled, severity
        )
    }
}

fn read_optional(path: &Path) -> Result<Option<String>> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(Error::Io {
            path: path.to_owned(),
            source,
        }),
    }
}

/// A function's metrics with its qualified name from the index.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FunctionReport {
    /// Qualified name (`Class.method`).
    pub symbol: String,
    /// First line.
    pub start_line: u32,
    /// Last line.
    pub end_line: u32,
    /// Cyclomatic complexity.
    pub cyclomatic: u32,
    /// Cognitive complexity.
    pub cognitive: u32,
    /// Deepest nesting.
    pub nesting: u32,
    /// Parameters.
    pub parameters: u32,
}

/// What SmellHunt found in one file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileReport {
    /// Path.
    pub path: String,
    /// Lines.
    pub lines: u32,
    /// Its functions.
    pub functions: Vec<FunctionReport>,
    /// Its findings, by line.
    pub findings: Vec<Finding>,
}

/// SmellHunt over a whole index.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Hunt {
    /// The commit the index was built at.
    pub commit: String,
    /// One per indexed file whose text is as indexed, by path.
    pub files: Vec<FileReport>,
}

impl Hunt {
    /// Every finding, by path and line.
    pub fn findings(&self) -> impl Iterator<Item = &Finding> {
        self.files.iter().flat_map(|f| f.findings.iter())
    }
}

#[derive(Serialize, Deserialize)]
struct CachedHunt {
    generation: u64,
    config: String,
    hunt: Hunt,
}

const CACHE_FILE: &str = "smells.json";

/// [`hunt`], kept in the index's data directory for its generation and
/// this configuration: a second call on an unchanged index reads it back.
pub fn hunt_cached(index: &RepoIndex, config: &SmellConfig) -> Result<Hunt> {
    let path = index.data_dir().join(CACHE_FILE);
    let key = config.key();
    if let Ok(bytes) = std::fs::read(&path)
        && let Ok(cached) = serde_json::from_slice::<CachedHunt>(&bytes)
        && cached.generation == index.generation()
        && cached.config == key
    {
        return Ok(cached.hunt);
    }
    let hunt = hunt(index, config)?;
    let cached = CachedHunt {
        generation: index.generation(),
        config: key,
        hunt,
    };
    // A cache: written whole (temp file and rename) or not at all.
    let bytes = serde_json::to_vec(&cached).expect("a hunt serializes");
    let tmp = path.with_extension("json.tmp");
    if std::fs::write(&tmp, &bytes).is_ok() {
        let _ = std::fs::rename(&tmp, &path);
    }
    Ok(cached.hunt)
}

/// Runs every rule over the indexed files.
pub fn hunt(index: &RepoIndex, config: &SmellConfig) -> Result<Hunt> {
    let paths = index.store().paths()?;
    let mut texts: Vec<(String, Language, String)> = Vec::with_capacity(paths.len());
    for path in paths {
        let lang = Language::from_path(Path::new(&path));
        if !lang.is_parsed() && !matches!(lang, Language::Text | Language::Toml | Language::Yaml) {
            continue;
        }
        if let Some((text, _)) = crate::thoughts::indexed_text(index, &path)? {
            texts.push((path, lang, text));
        }
    }
    let redactor = Redactor::builtin();
    let mut files: Vec<FileReport> = texts
        .par_iter()
        .map(|(path, lang, text)| analyze_file(path, *lang, text, config, &redactor))
        .collect();
    if config.enabled(DUPLICATE) {
        let inputs: Vec<(&str, Language, &str)> = texts
            .iter()
            .filter(|(_, lang, _)| lang.is_parsed())
            .map(|(p, l, t)| (p.as_str(), *l, t.as_str()))
            .collect();
        let by_path: HashMap<&str, usize> = files
            .iter()
            .enumerate()
            .map(|(i, f)| (f.path.as_str(), i))
            .collect();
        let mut extra: Vec<(usize, Finding)> = Vec::new();
        for block in duplicate_blocks(&inputs, config.duplicate_lines as usize) {
            let Some(&i) = by_path.get(block.path.as_str()) else {
                continue;
            };
            let finding = Finding {
                rule: DUPLICATE.to_owned(),
                severity: config.severity_of(DUPLICATE),
                message: format!(
                    "{} lines repeated at {}:{}",
                    block.end_line - block.start_line + 1,
                    block.other_path,
                    block.other_line
                ),
                hint: hint(DUPLICATE),
                path: block.path.clone(),
                start_line: block.start_line,
                end_line: block.end_line,
                symbol: None,
                tool: "lore".to_owned(),
                fingerprint: String::new(),
            };
            extra.push((i, finding));
        }
        for (i, f) in extra {
            files[i].findings.push(f);
        }
    }
    // Symbols from the index's outline, then fingerprints.
    // `files` is in `texts`' order (an indexed parallel map).
    for (file, (_, _, text)) in files.iter_mut().zip(&texts) {
        let outline = index.store().outline(&file.path)?;
        name_symbols(file, &outline);
        file.findings
            .sort_by(|a, b| (a.start_line, &a.rule).cmp(&(b.start_line, &b.rule)));
        fingerprint_all(&mut file.findings, text);
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(Hunt {
        commit: index.indexed_commit().unwrap_or("").to_owned(),
        files,
    })
}

fn hint(rule: &str) -> String {
    rule_info(rule).map(|r| r.hint).unwrap_or("").to_owned()
}

fn analyze_file(
    path: &str,
    lang: Language,
    text: &str,
    config: &SmellConfig,
    redactor: &Redactor,
) -> FileReport {
    let analysis = smell::analyze(text, lang, &config.thresholds);
    let t = &config.thresholds;
    let mut findings: Vec<Finding> = analysis
        .smells
        .iter()
        .filter(|s| config.enabled(s.rule))
        .map(|s| {
            let d = &s.detail;
            let v = s.value;
            let message = match s.rule {
                rules::CYCLOMATIC => {
                    format!(
                        "`{d}` has cyclomatic complexity {v} (over {})",
                        t.cyclomatic
                    )
                }
                rules::COGNITIVE => {
                    format!("`{d}` has cognitive complexity {v} (over {})", t.cognitive)
                }
                rules::NESTING => format!("`{d}` nests control flow {v} deep (over {})", t.nesting),
                rules::LONG_FUNCTION => {
                    format!("`{d}` is {v} lines long (over {})", t.function_lines)
                }
                rules::PARAMETERS => {
                    format!("`{d}` takes {v} parameters (over {})", t.parameters)
                }
                rules::SWALLOWED => format!("handler for {d} does nothing"),
                rules::BROAD_CATCH => format!("handler catches {d} and does not re-raise"),
                rules::IGNORED_ERROR => format!("the result of `{d}` is discarded"),
                rules::SQL_FORMAT => format!("SQL built by string formatting: \"{d}\""),
                rules::SHELL_FORMAT => format!("`{d}` runs a shell command built by formatting"),
                rules::EVAL => format!("`{d}` executes code built at run time"),
                rules::SHELL_TRUE => format!("`{d}` runs its command through a shell"),
                _ => d.clone(),
            };
            Finding {
                rule: s.rule.to_owned(),
                severity: config.severity_of(s.rule),
                message,
                hint: hint(s.rule),
                path: path.to_owned(),
                start_line: s.start_line,
                end_line: s.end_line,
                symbol: None,
                tool: "lore".to_owned(),
                fingerprint: String::new(),
            }
        })
        .collect();
    if config.enabled(SECRET) {
        let in_tests = crate::thoughts::is_test_path(path);
        for secret in redactor.find(text, path) {
            // Lore's generic literal rule finds the fixtures' fake
            // passwords in tests; known token formats count everywhere.
            if in_tests && secret.rule == "code-secret" {
                continue;
            }
            let line = line_of(text, secret.start);
            findings.push(Finding {
                rule: SECRET.to_owned(),
                severity: config.severity_of(SECRET),
                message: format!("hardcoded secret ({})", secret.rule),
                hint: hint(SECRET),
                path: path.to_owned(),
                start_line: line,
                end_line: line_of(text, secret.end.saturating_sub(1).max(secret.start)),
                symbol: None,
                tool: "lore".to_owned(),
                fingerprint: String::new(),
            });
        }
    }
    let lines = text.lines().count() as u32;
    FileReport {
        path: path.to_owned(),
        lines,
        functions: analysis
            .functions
            .iter()
            .map(|f| function_report(f, &f.name))
            .collect(),
        findings,
    }
}

fn function_report(f: &FunctionMetrics, symbol: &str) -> FunctionReport {
    FunctionReport {
        symbol: symbol.to_owned(),
        start_line: f.start_line,
        end_line: f.end_line,
        cyclomatic: f.cyclomatic,
        cognitive: f.cognitive,
        nesting: f.nesting,
        parameters: f.parameters,
    }
}

fn line_of(text: &str, byte: usize) -> u32 {
    memchr::memchr_iter(b'\n', &text.as_bytes()[..byte.min(text.len())]).count() as u32 + 1
}

/// Qualified names from the outline: a function takes the symbol that
/// ends where it ends and starts at or before it (decorators, doc
/// comments) with its name; a finding takes its function's, or the
/// innermost symbol around its first line.
fn name_symbols(file: &mut FileReport, outline: &[lore_core::store::SymbolRow]) {
    for f in &mut file.functions {
        let bare = f.symbol.clone();
        let matched = outline
            .iter()
            .filter(|s| s.end_line == f.end_line && s.start_line <= f.start_line)
            .max_by_key(|s| (s.name == bare, s.start_line));
        if let Some(s) = matched {
            f.symbol = s.qualname.clone();
        }
    }
    for finding in &mut file.findings {
        let around = outline
            .iter()
            .filter(|s| s.start_line <= finding.start_line && finding.start_line <= s.end_line)
            .min_by_key(|s| s.end_line - s.start_line);
        finding.symbol = around.map(|s| s.qualname.clone());
    }
}

/// Fingerprints: the tool, rule, path, symbol and the text of the first
/// line (whitespace collapsed), plus an ordinal among equal ones. Lines
/// moving do not change it; editing the line does.
pub(crate) fn fingerprint_all(findings: &mut [Finding], text: &str) {
    let lines: Vec<&str> = text.lines().collect();
    let mut seen: HashMap<String, u32> = HashMap::new();
    for f in findings {
        let line = lines
            .get(f.start_line.saturating_sub(1) as usize)
            .copied()
            .unwrap_or("");
        let base = format!(
            "{}\0{}\0{}\0{}\0{}",
            f.tool,
            f.rule,
            f.path,
            f.symbol.as_deref().unwrap_or(""),
            line.split_whitespace().collect::<Vec<_>>().join(" ")
        );
        let n = seen.entry(base.clone()).or_insert(0);
        f.fingerprint = fingerprint_of(&format!("{base}\0{n}"));
        *n += 1;
    }
}

fn fingerprint_of(key: &str) -> String {
    blake3::hash(key.as_bytes()).to_hex()[..32].to_owned()
}

/// A block found elsewhere too.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DuplicateBlock {
    /// Where this copy is.
    pub path: String,
    /// Its first line.
    pub start_line: u32,
    /// Its last line.
    pub end_line: u32,
    /// Another copy's file.
    pub other_path: String,
    /// Another copy's first line.
    pub other_line: u32,
}

/// Blocks of at least `min_lines` significant lines (not blank, not
/// comments, not imports, not lone brackets) that occur in two to eight
/// places (more is a pattern, not a copy); one per copy, overlapping
/// windows merged.
pub fn duplicate_blocks(files: &[(&str, Language, &str)], min_lines: usize) -> Vec<DuplicateBlock> {
    use std::hash::{Hash, Hasher};
    const MAX_COPIES: usize = 8;
    const MIN_CHARS: usize = 160;
    let min_lines = min_lines.max(2);
    // Significant lines of each file: (original line, normalized text).
    let kept: Vec<Vec<(u32, String)>> = files
        .par_iter()
        .map(|(_, _, text)| {
            text.lines()
                .enumerate()
                .filter_map(|(i, l)| significant(l).map(|t| (i as u32 + 1, t)))
                .collect()
        })
        .collect();
    let mut windows: HashMap<u64, Vec<(u32, u32)>> = HashMap::new();
    for (fi, lines) in kept.iter().enumerate() {
        if lines.len() < min_lines {
            continue;
        }
        for start in 0..=lines.len() - min_lines {
            let window = &lines[start..start + min_lines];
            if window.iter().map(|(_, t)| t.len()).sum::<usize>() < MIN_CHARS {
                continue;
            }
            let mut h = rustc_hash::FxHasher::default();
            for (_, t) in window {
                t.hash(&mut h);
            }
            windows
                .entry(h.finish())
                .or_default()
                .push((fi as u32, start as u32));
        }
    }
    // Covered ranges of significant lines per file, with a partner copy.
    let mut covered: HashMap<u32, Vec<(u32, u32, u32, u32)>> = HashMap::new();
    for occurrences in windows.values() {
        if occurrences.len() < 2 || occurrences.len() > MAX_COPIES {
            continue;
        }
        for (i, &(fa, sa)) in occurrences.iter().enumerate() {
            // A partner that is not this same window overlapping itself.
            let partner = occurrences.iter().enumerate().find(|&(j, &(fb, sb))| {
                j != i && (fb != fa || sa.abs_diff(sb) >= min_lines as u32)
            });
            if let Some((_, &(fb, sb))) = partner {
                covered
                    .entry(fa)
                    .or_default()
                    .push((sa, sa + min_lines as u32 - 1, fb, sb));
            }
        }
    }
    let mut out = Vec::new();
    for (fi, mut ranges) in covered {
        ranges.sort();
        let lines = &kept[fi as usize];
        let mut merged: Vec<(u32, u32, u32, u32)> = Vec::new();
        for r in ranges {
            match merged.last_mut() {
                Some(last) if r.0 <= last.1 + 1 => last.1 = last.1.max(r.1),
                _ => merged.push(r),
            }
        }
        for (a, b, fb, sb) in merged {
            out.push(DuplicateBlock {
                path: files[fi as usize].0.to_owned(),
                start_line: lines[a as usize].0,
                end_line: lines[b as usize].0,
                other_path: files[fb as usize].0.to_owned(),
                other_line: kept[fb as usize][sb as usize].0,
            });
        }
    }
    out.sort_by(|a, b| (&a.path, a.start_line).cmp(&(&b.path, b.start_line)));
    out
}

fn significant(line: &str) -> Option<String> {
    let t = line.trim();
    if t.len() < 4 || !t.chars().any(char::is_alphanumeric) {
        return None;
    }
    const SKIP: &[&str] = &[
        "#", "//", "/*", "*", "import ", "from ", "use ", "package ", "@", "\"\"\"", "'''",
        "export {", "} from",
    ];
    if SKIP.iter().any(|p| t.starts_with(p)) || t.starts_with("#include") {
        return None;
    }
    Some(t.split_whitespace().collect::<Vec<_>>().join(" "))
}

// ---- SARIF ----------------------------------------------------------------

/// The partial fingerprint key Lore writes and reads first.
pub const FINGERPRINT_KEY: &str = "loreFingerprint/v1";

/// `findings` as a SARIF 2.1.0 log: one run per tool, rules with their
/// descriptions and default levels, relative URIs against `%SRCROOT%`,
/// partial fingerprints, and Lore's severity in each result's properties.
pub fn to_sarif(findings: &[Finding], version: &str) -> Value {
    use serde_sarif::sarif;
    let mut by_tool: BTreeMap<&str, Vec<&Finding>> = BTreeMap::new();
    for f in findings {
        by_tool.entry(&f.tool).or_default().push(f);
    }
    if by_tool.is_empty() {
        by_tool.insert("lore", Vec::new());
    }
    let runs: Vec<sarif::Run> = by_tool
        .into_iter()
        .map(|(tool, findings)| {
            let mut rule_ids: Vec<&str> = findings.iter().map(|f| f.rule.as_str()).collect();
            if tool == "lore" {
                rule_ids.extend(CATALOG.iter().map(|r| r.id));
            }
            rule_ids.sort();
            rule_ids.dedup();
            let rules: Vec<sarif::ReportingDescriptor> = rule_ids
                .iter()
                .map(|id| sarif_rule(id, &findings))
                .collect();
            let results: Vec<sarif::Result> = findings
                .iter()
                .map(|f| sarif_result(f, &rule_ids))
                .collect();
            let mut driver = sarif::ToolComponent::builder()
                .name(tool)
                .rules(rules)
                .build();
            driver.version = (tool == "lore").then(|| version.to_owned());
            sarif::Run::builder()
                .tool(sarif::Tool::builder().driver(driver).build())
                .results(results)
                .column_kind(json!("utf16CodeUnits"))
                .build()
        })
        .collect();
    let log = sarif::Sarif::builder()
        .schema(sarif::SCHEMA_URL)
        .version(json!("2.1.0"))
        .runs(runs)
        .build();
    serde_json::to_value(log).expect("a SARIF log serializes")
}

fn sarif_rule(id: &str, findings: &[&Finding]) -> serde_sarif::sarif::ReportingDescriptor {
    use serde_sarif::sarif;
    let info = rule_info(id);
    let severity = info.map(|r| r.severity).unwrap_or_else(|| {
        findings
            .iter()
            .find(|f| f.rule == id)
            .map(|f| f.severity)
            .unwrap_or(Severity::Medium)
    });
    let description = info
        .map(|r| r.description.to_owned())
        .unwrap_or_else(|| id.to_owned());
    let mut properties = BTreeMap::new();
    // The rule's family; for `security/…` that is the `security` tag GitHub
    // code scanning looks for (SARIF wants tags unique: once).
    let tags = vec![id.split('/').next().unwrap_or(id).to_owned()];
    if id.starts_with("security/") {
        // GitHub code scanning ranks security results by this score.
        let score = match severity {
            Severity::High => "8.0",
            Severity::Medium => "5.0",
            Severity::Low => "2.0",
        };
        properties.insert("security-severity".to_owned(), json!(score));
    }
    let text = |t: String| sarif::MultiformatMessageString::builder().text(t).build();
    let mut rule = sarif::ReportingDescriptor::builder().id(id).build();
    rule.name = Some(
        id.rsplit('/')
            .next()
            .unwrap_or(id)
            .split('-')
            .map(|w| {
                let mut c = w.chars();
                c.next()
                    .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
                    .unwrap_or_default()
            })
            .collect(),
    );
    rule.short_description = Some(text(description.clone()));
    rule.full_description = Some(text(description));
    rule.help = info.map(|r| text(r.hint.to_owned()));
    rule.default_configuration = Some(sarif::ReportingConfiguration {
        level: Some(json!(severity.sarif_level())),
        ..Default::default()
    });
    rule.properties = Some(sarif::PropertyBag {
        tags: Some(tags),
        additional_properties: properties,
    });
    rule
}

fn sarif_result(f: &Finding, rule_ids: &[&str]) -> serde_sarif::sarif::Result {
    use serde_sarif::sarif;
    let location = sarif::Location {
        physical_location: Some(sarif::PhysicalLocation {
            artifact_location: Some(sarif::ArtifactLocation {
                uri: Some(uri_of(&f.path)),
                uri_base_id: Some("%SRCROOT%".to_owned()),
                ..Default::default()
            }),
            region: Some(sarif::Region {
                start_line: Some(i64::from(f.start_line.max(1))),
                end_line: Some(i64::from(f.end_line.max(f.start_line).max(1))),
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    };
    let mut properties = BTreeMap::new();
    properties.insert("severity".to_owned(), json!(f.severity.name()));
    if let Some(symbol) = &f.symbol {
        properties.insert("symbol".to_owned(), json!(symbol));
    }
    if !f.hint.is_empty() {
        properties.insert("hint".to_owned(), json!(f.hint));
    }
    let mut result = sarif::Result::builder()
        .message(sarif::Message::builder().text(f.message.clone()).build())
        .build();
    result.rule_id = Some(f.rule.clone());
    result.rule_index = rule_ids.iter().position(|r| *r == f.rule).map(|i| i as i64);
    result.level = Some(match f.severity {
        Severity::Low => sarif::ResultLevel::Note,
        Severity::Medium => sarif::ResultLevel::Warning,
        Severity::High => sarif::ResultLevel::Error,
    });
    result.locations = Some(vec![location]);
    result.partial_fingerprints = Some(BTreeMap::from([(
        FINGERPRINT_KEY.to_owned(),
        f.fingerprint.clone(),
    )]));
    result.properties = Some(sarif::PropertyBag {
        tags: None,
        additional_properties: properties,
    });
    result
}

/// A relative path as a URI reference: `/`-separated, percent-encoded
/// where RFC 3986 requires it.
fn uri_of(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

fn path_of_uri(uri: &str, root: &Path) -> String {
    let mut bytes = Vec::with_capacity(uri.len());
    let raw = uri.strip_prefix("file://").unwrap_or(uri).as_bytes();
    let mut i = 0;
    while i < raw.len() {
        if raw[i] == b'%'
            && i + 2 < raw.len()
            && let Ok(b) =
                u8::from_str_radix(std::str::from_utf8(&raw[i + 1..i + 3]).unwrap_or(""), 16)
        {
            bytes.push(b);
            i += 3;
            continue;
        }
        bytes.push(raw[i]);
        i += 1;
    }
    let path = String::from_utf8_lossy(&bytes).into_owned();
    let root = root.to_string_lossy().replace('\\', "/");
    let path = path
        .strip_prefix(&format!("{}/", root.trim_end_matches('/')))
        .map(str::to_owned)
        .unwrap_or(path);
    path.trim_start_matches("./").to_owned()
}

/// Findings of a SARIF 2.1.0 log (any tool's): rule ids, severities (Lore's
/// own property, else the result's or its rule's level), locations made
/// relative to `root`, and fingerprints (the log's partial fingerprints,
/// Lore's key first, else computed). An invalid log is an error naming
/// `file`.
pub fn from_sarif(text: &str, file: &Path, root: &Path) -> Result<Vec<Finding>> {
    let bad = |what: String| Error::Invalid(format!("{}: {what}", file.display()));
    let log: serde_sarif::sarif::Sarif =
        serde_json::from_str(text).map_err(|e| bad(format!("not a SARIF 2.1.0 log: {e}")))?;
    if log.version != json!("2.1.0") {
        return Err(bad(format!(
            "SARIF version {} (only 2.1.0 is read)",
            log.version
        )));
    }
    let mut out = Vec::new();
    for run in &log.runs {
        let tool = run.tool.driver.name.clone();
        let rules = run.tool.driver.rules.clone().unwrap_or_default();
        for result in run.results.iter().flatten() {
            let rule = result
                .rule_id
                .clone()
                .or_else(|| result.rule.as_ref().and_then(|r| r.id.clone()))
                .or_else(|| {
                    result
                        .rule_index
                        .and_then(|i| rules.get(i as usize))
                        .map(|r| r.id.clone())
                })
                .unwrap_or_else(|| "unknown".to_owned());
            let descriptor = rules.iter().find(|r| r.id == rule);
            let level = result
                .level
                .map(|l| l.to_string())
                .or_else(|| {
                    descriptor
                        .and_then(|d| d.default_configuration.as_ref())
                        .and_then(|c| c.level.as_ref())
                        .and_then(|l| l.as_str().map(str::to_owned))
                })
                .unwrap_or_else(|| "warning".to_owned());
            let props = result.properties.as_ref().map(|p| &p.additional_properties);
            let prop = |name: &str| {
                props
                    .and_then(|p| p.get(name))
                    .and_then(|v| v.as_str())
                    .map(str::to_owned)
            };
            let severity = prop("severity")
                .and_then(|s| Severity::from_name(&s))
                .unwrap_or_else(|| Severity::from_sarif_level(&level));
            let message = result
                .message
                .text
                .clone()
                .or_else(|| {
                    descriptor
                        .and_then(|d| d.short_description.as_ref())
                        .map(|m| m.text.clone())
                })
                .unwrap_or_else(|| rule.clone());
            let physical = result
                .locations
                .iter()
                .flatten()
                .find_map(|l| l.physical_location.as_ref());
            let Some(uri) = physical
                .and_then(|p| p.artifact_location.as_ref())
                .and_then(|a| a.uri.clone())
            else {
                // A result about no file (the whole project) has no place
                // to show; it is left out.
                continue;
            };
            let region = physical.and_then(|p| p.region.as_ref());
            let start_line = region
                .and_then(|r| r.start_line)
                .unwrap_or(1)
                .clamp(1, i64::from(u32::MAX)) as u32;
            let end_line = region
                .and_then(|r| r.end_line)
                .map(|l| l.clamp(1, i64::from(u32::MAX)) as u32)
                .unwrap_or(start_line)
                .max(start_line);
            let path = path_of_uri(&uri, root);
            let fingerprint = result
                .partial_fingerprints
                .as_ref()
                .and_then(|p| p.get(FINGERPRINT_KEY).or_else(|| p.values().next()))
                .or_else(|| result.fingerprints.as_ref().and_then(|p| p.values().next()))
                .cloned()
                .unwrap_or_else(|| {
                    fingerprint_of(&format!("{tool}\0{rule}\0{path}\0{start_line}\0{message}"))
                });
            out.push(Finding {
                rule,
                severity,
                message,
                hint: prop("hint")
                    .or_else(|| {
                        descriptor
                            .and_then(|d| d.help.as_ref())
                            .map(|h| h.text.clone())
                    })
                    .unwrap_or_default(),
                path,
                start_line,
                end_line,
                symbol: prop("symbol"),
                tool: tool.clone(),
                fingerprint,
            });
        }
    }
    Ok(out)
}

// ---- thoughts and reading back -------------------------------------------

/// SmellHunt as a thought: every finding becomes an insight (merged by
/// fingerprint with earlier runs'; a dismissed one stays dismissed), the
/// run's output counts them by rule and severity, and the whole set is
/// kept as `findings.sarif`.
pub fn smell_hunt(index: &RepoIndex, config: &SmellConfig) -> Result<crate::thoughts::Produced> {
    let hunt = hunt_cached(index, config)?;
    let findings: Vec<Finding> = hunt.findings().cloned().collect();
    let mut by_rule: BTreeMap<&str, u64> = BTreeMap::new();
    let mut by_severity: BTreeMap<&str, u64> = BTreeMap::new();
    for f in &findings {
        *by_rule.entry(&f.rule).or_default() += 1;
        *by_severity.entry(f.severity.name()).or_default() += 1;
    }
    let mut log = vec![format!(
        "{} findings in {} files",
        findings.len(),
        hunt.files.len()
    )];
    log.extend(by_rule.iter().map(|(rule, n)| format!("  {rule}: {n}")));
    let sarif = to_sarif(&findings, env!("CARGO_PKG_VERSION"));
    Ok(crate::thoughts::Produced {
        output: json!({
            "files": hunt.files.len(),
            "findings": findings.len(),
            "by_rule": by_rule,
            "by_severity": by_severity,
        }),
        insights: findings
            .iter()
            .map(|f| to_insight(f, &hunt.commit))
            .collect(),
        log,
        files: vec![(
            "findings.sarif".to_owned(),
            serde_json::to_vec_pretty(&sarif).expect("SARIF serializes"),
        )],
        facts: Vec::new(),
    })
}

/// A SARIF file's findings as a thought: those on indexed files become
/// insights; the file is kept as the run's artifact. `sha256` (when
/// given) must still match: a file changed since it was queued is an
/// error, not a different import.
pub fn import_thought(
    index: &RepoIndex,
    file: &Path,
    sha256: Option<&str>,
) -> Result<crate::thoughts::Produced> {
    let bytes = std::fs::read(file).map_err(|source| Error::Io {
        path: file.to_owned(),
        source,
    })?;
    if let Some(expected) = sha256
        && crate::worker::sha256_hex(&bytes) != expected
    {
        return Err(Error::Invalid(format!(
            "{}: changed since the import was queued",
            file.display()
        )));
    }
    let text = String::from_utf8(bytes.clone())
        .map_err(|_| Error::Invalid(format!("{}: not UTF-8 text", file.display())))?;
    let found = from_sarif(&text, file, index.root())?;
    let known: std::collections::HashSet<String> = index.store().paths()?.into_iter().collect();
    let (inside, outside): (Vec<Finding>, Vec<Finding>) =
        found.into_iter().partition(|f| known.contains(&f.path));
    let commit = index.indexed_commit().unwrap_or("").to_owned();
    let mut tools: Vec<&str> = inside.iter().map(|f| f.tool.as_str()).collect();
    tools.sort();
    tools.dedup();
    let mut log = vec![format!(
        "{}: {} findings on indexed files ({})",
        file.display(),
        inside.len(),
        tools.join(", ")
    )];
    if !outside.is_empty() {
        log.push(format!(
            "{} findings left out: their files are not indexed (first: {})",
            outside.len(),
            outside[0].path
        ));
    }
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "import.sarif".to_owned());
    Ok(crate::thoughts::Produced {
        output: json!({
            "file": file.display().to_string(),
            "imported": inside.len(),
            "outside_index": outside.len(),
            "tools": tools,
        }),
        insights: inside.iter().map(|f| to_insight(f, &commit)).collect(),
        log,
        files: vec![(name, bytes)],
        facts: Vec::new(),
    })
}

/// SmellHunt's findings in one text (`path` names it and picks the
/// language): the single-file rules and secrets, symbols named from the
/// text's own outline, fingerprinted like the hunt's.
pub fn text_findings(path: &str, text: &str, config: &SmellConfig) -> Vec<Finding> {
    let lang = Language::from_path(Path::new(path));
    if !lang.is_parsed() && !matches!(lang, Language::Text | Language::Toml | Language::Yaml) {
        return Vec::new();
    }
    let mut file = analyze_file(path, lang, text, config, &Redactor::builtin());
    if lang.is_parsed() {
        let syntax = lore_syntax::parse(text, lang);
        let outline: Vec<lore_core::store::SymbolRow> = (0..syntax.symbols.len())
            .map(|i| lore_core::store::SymbolRow::of(&syntax.symbols, i, path, lang, 0))
            .collect();
        name_symbols(&mut file, &outline);
    }
    file.findings
        .sort_by(|a, b| (a.start_line, &a.rule).cmp(&(b.start_line, &b.rule)));
    fingerprint_all(&mut file.findings, text);
    file.findings
}

/// Fingerprints of the findings a user dismissed in `repo`.
pub fn dismissed(
    queue: &dyn lore_core::jobs::JobStore,
    repo: &str,
) -> Result<std::collections::HashSet<String>> {
    let stored = queue.insights(repo, Some(INSIGHT_KIND), None, usize::MAX >> 1)?;
    Ok(stored
        .iter()
        .filter(|i| i.status == "dismissed")
        .filter_map(from_insight)
        .map(|f| f.fingerprint)
        .collect())
}

/// The repository's findings now: SmellHunt over the current index (kept
/// per index generation) and the findings imported from other tools, less
/// the ones a user dismissed; by path and line.
pub fn collect(
    index: &RepoIndex,
    queue: &dyn lore_core::jobs::JobStore,
    repo: &str,
    config: &SmellConfig,
) -> Result<Vec<Finding>> {
    let hunt = hunt_cached(index, config)?;
    let stored = queue.insights(repo, Some(INSIGHT_KIND), None, usize::MAX >> 1)?;
    let mut dismissed = std::collections::HashSet::new();
    let mut imported: BTreeMap<String, Finding> = BTreeMap::new();
    let known: std::collections::HashSet<&str> =
        hunt.files.iter().map(|f| f.path.as_str()).collect();
    for insight in &stored {
        let Some(f) = from_insight(insight) else {
            continue;
        };
        if insight.status == "dismissed" {
            dismissed.insert(f.fingerprint.clone());
        } else if f.tool != "lore" && known.contains(f.path.as_str()) {
            imported.insert(f.fingerprint.clone(), f);
        }
    }
    let mut out: Vec<Finding> = hunt
        .findings()
        .filter(|f| !dismissed.contains(&f.fingerprint))
        .cloned()
        .chain(
            imported
                .into_values()
                .filter(|f| !dismissed.contains(&f.fingerprint)),
        )
        .collect();
    out.sort_by(|a, b| (&a.path, a.start_line, &a.rule).cmp(&(&b.path, b.start_line, &b.rule)));
    Ok(out)
}

// ---- insights -------------------------------------------------------------

/// The insight kind findings are stored as.
pub const INSIGHT_KIND: &str = "finding";

/// A finding as an insight: the citation carries the whole finding, so
/// the insight reads back as one.
pub fn to_insight(f: &Finding, commit: &str) -> NewInsight {
    let mut cite = crate::thoughts::cite(&f.path, f.start_line, f.end_line, commit);
    cite["finding"] = serde_json::to_value(f).expect("a finding serializes");
    NewInsight {
        kind: INSIGHT_KIND.to_owned(),
        severity: f.severity.name().to_owned(),
        title: format!("{}: {}", f.rule, f.message),
        body: if f.hint.is_empty() {
            format!("`{}` at {}:{}", f.rule, f.path, f.start_line)
        } else {
            format!("`{}` at {}:{}. {}", f.rule, f.path, f.start_line, f.hint)
        },
        evidence: Value::Array(vec![cite]).to_string(),
        fingerprint: format!("finding:{}", f.fingerprint),
    }
}

/// The finding an insight stores, if it is one.
pub fn from_insight(insight: &Insight) -> Option<Finding> {
    if insight.found.kind != INSIGHT_KIND {
        return None;
    }
    let evidence: Value = serde_json::from_str(&insight.found.evidence).ok()?;
    serde_json::from_value(evidence.get(0)?.get("finding")?.clone()).ok()
}

#[cfg(test)]
mod tests;
