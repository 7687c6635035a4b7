//! Code smells and function metrics read off the syntax tree: the rules of
//! SmellHunt that need only one file.
//!
//! One walk per file with per-language tables of node kinds (functions,
//! branches, handlers, boolean operators); rules that need the whole
//! repository (duplicated blocks) or a rule set of their own (secrets) live
//! in `lore-index`. Nothing here knows severities or messages: a [`Smell`]
//! is a rule id, a line range and the measured value; the catalog that
//! turns it into a finding is `lore_index::findings`.

use lore_core::Language;
use tree_sitter::{Node, Parser, Tree};

use crate::grammar;

/// Thresholds of the metric rules (a function is reported above them).
#[derive(Clone, Debug, PartialEq)]
pub struct Thresholds {
    /// Cyclomatic complexity.
    pub cyclomatic: u32,
    /// Cognitive complexity (nesting-weighted).
    pub cognitive: u32,
    /// Lines of a function.
    pub function_lines: u32,
    /// Nesting depth of control structures.
    pub nesting: u32,
    /// Parameters (`self` not counted).
    pub parameters: u32,
}

impl Default for Thresholds {
    fn default() -> Thresholds {
        Thresholds {
            cyclomatic: 15,
            cognitive: 25,
            function_lines: 100,
            nesting: 4,
            parameters: 6,
        }
    }
}

/// Rule ids of the single-file rules.
pub mod rules {
    /// Cyclomatic complexity above the threshold.
    pub const CYCLOMATIC: &str = "complexity/cyclomatic";
    /// Cognitive complexity above the threshold.
    pub const COGNITIVE: &str = "complexity/cognitive";
    /// Control structures nested too deep.
    pub const NESTING: &str = "complexity/deep-nesting";
    /// A long function.
    pub const LONG_FUNCTION: &str = "size/long-function";
    /// Too many parameters.
    pub const PARAMETERS: &str = "size/many-parameters";
    /// An exception handler that does nothing.
    pub const SWALLOWED: &str = "errors/swallowed";
    /// A handler catching everything without re-raising.
    pub const BROAD_CATCH: &str = "errors/broad-catch";
    /// A returned error discarded (`_ = f()`, `let _ = f()`).
    pub const IGNORED_ERROR: &str = "errors/ignored";
    /// SQL built by formatting or concatenation.
    pub const SQL_FORMAT: &str = "security/sql-format";
    /// A shell command built by formatting or concatenation.
    pub const SHELL_FORMAT: &str = "security/shell-format";
    /// `eval`, `exec`, `new Function`.
    pub const EVAL: &str = "security/eval";
    /// `shell=True` in a subprocess call.
    pub const SHELL_TRUE: &str = "security/shell-true";
    /// TODO, FIXME, HACK, XXX in a comment.
    pub const TODO: &str = "notes/todo";
}

/// One rule's hit in one file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Smell {
    /// Rule id (see [`rules`]).
    pub rule: &'static str,
    /// First line (1-based).
    pub start_line: u32,
    /// Last line.
    pub end_line: u32,
    /// The measured value for metric rules (complexity, lines, depth,
    /// parameters); 0 otherwise.
    pub value: u32,
    /// What was found, for the message: the function's name, the called
    /// name, the comment's text.
    pub detail: String,
}

/// Metrics of one function or method.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FunctionMetrics {
    /// Its name (`<anonymous>` for a top-level closure).
    pub name: String,
    /// First line (1-based).
    pub start_line: u32,
    /// Last line.
    pub end_line: u32,
    /// One plus its decision points.
    pub cyclomatic: u32,
    /// Nesting-weighted complexity (after SonarSource's cognitive
    /// complexity: +1 per break in the flow, plus its nesting level).
    pub cognitive: u32,
    /// Deepest nesting of control structures.
    pub nesting: u32,
    /// Parameters, `self` not counted.
    pub parameters: u32,
}

impl FunctionMetrics {
    /// Lines it spans.
    pub fn lines(&self) -> u32 {
        self.end_line - self.start_line + 1
    }
}

/// What one walk of a file found.
#[derive(Clone, Debug, Default)]
pub struct Analysis {
    /// Every function and method, in source order.
    pub functions: Vec<FunctionMetrics>,
    /// Rule hits, by line.
    pub smells: Vec<Smell>,
}

/// Node kinds of one language.
struct Kinds {
    /// Functions and methods (always their own unit).
    functions: &'static [&'static str],
    /// Closures and lambdas: their own unit only outside any function.
    closures: &'static [&'static str],
    /// Structures that branch and nest (if, loops, switch, try handlers).
    nesting: &'static [&'static str],
    /// `else` / `elif` clauses: a break in the flow, not deeper.
    flat: &'static [&'static str],
    /// Cases and arms: a path each, no nesting.
    cases: &'static [&'static str],
    /// Exception handlers.
    handlers: &'static [&'static str],
    /// Ternaries and comprehension conditions.
    conditionals: &'static [&'static str],
    /// Binary nodes that may hold `&&`/`||`/`and`/`or`.
    binary: &'static [&'static str],
}

fn kinds(lang: Language) -> Option<&'static Kinds> {
    Some(match lang {
        Language::Python => &Kinds {
            functions: &["function_definition"],
            closures: &["lambda"],
            nesting: &[
                "if_statement",
                "for_statement",
                "while_statement",
                "try_statement",
                "match_statement",
                "with_statement",
            ],
            flat: &["elif_clause", "else_clause"],
            cases: &["case_clause"],
            handlers: &["except_clause"],
            conditionals: &["conditional_expression", "if_clause"],
            binary: &["boolean_operator"],
        },
        Language::JavaScript | Language::TypeScript | Language::Tsx => &Kinds {
            functions: &[
                "function_declaration",
                "generator_function_declaration",
                "method_definition",
            ],
            closures: &[
                "arrow_function",
                "function_expression",
                "generator_function",
            ],
            nesting: &[
                "if_statement",
                "for_statement",
                "for_in_statement",
                "while_statement",
                "do_statement",
                "switch_statement",
                "try_statement",
            ],
            flat: &["else_clause"],
            cases: &["switch_case"],
            handlers: &["catch_clause"],
            conditionals: &["ternary_expression"],
            binary: &["binary_expression"],
        },
        Language::Rust => &Kinds {
            functions: &["function_item"],
            closures: &["closure_expression"],
            nesting: &[
                "if_expression",
                "for_expression",
                "while_expression",
                "loop_expression",
                "match_expression",
            ],
            flat: &["else_clause"],
            cases: &["match_arm"],
            handlers: &[],
            conditionals: &[],
            binary: &["binary_expression"],
        },
        Language::Go => &Kinds {
            functions: &["function_declaration", "method_declaration"],
            closures: &["func_literal"],
            nesting: &[
                "if_statement",
                "for_statement",
                "expression_switch_statement",
                "type_switch_statement",
                "select_statement",
            ],
            flat: &[],
            cases: &["expression_case", "type_case", "communication_case"],
            handlers: &[],
            conditionals: &[],
            binary: &["binary_expression"],
        },
        Language::Java => &Kinds {
            functions: &["method_declaration", "constructor_declaration"],
            closures: &["lambda_expression"],
            nesting: &[
                "if_statement",
                "for_statement",
                "enhanced_for_statement",
                "while_statement",
                "do_statement",
                "switch_expression",
                "try_statement",
            ],
            flat: &[],
            cases: &["switch_block_statement_group", "switch_rule"],
            handlers: &["catch_clause"],
            conditionals: &["ternary_expression"],
            binary: &["binary_expression"],
        },
        Language::C | Language::Cpp => &Kinds {
            functions: &["function_definition"],
            closures: &["lambda_expression"],
            nesting: &[
                "if_statement",
                "for_statement",
                "for_range_loop",
                "while_statement",
                "do_statement",
                "switch_statement",
                "try_statement",
            ],
            flat: &["else_clause"],
            cases: &["case_statement"],
            handlers: &["catch_clause"],
            conditionals: &["conditional_expression"],
            binary: &["binary_expression"],
        },
        _ => return None,
    })
}

fn parse_tree(source: &str, lang: Language) -> Option<Tree> {
    let grammar = grammar::for_language(lang)?;
    let mut parser = Parser::new();
    parser.set_language(&grammar.language).ok()?;
    parser.parse(source, None)
}

/// Metrics of every function in `source` and the single-file smells over
/// `thresholds`. Languages without a grammar yield only TODO notes.
pub fn analyze(source: &str, lang: Language, thresholds: &Thresholds) -> Analysis {
    let mut out = Analysis::default();
    let (Some(kinds), Some(tree)) = (kinds(lang), parse_tree(source, lang)) else {
        todo_notes_in_text(source, &mut out.smells);
        return out;
    };
    let mut walk = Walk {
        src: source.as_bytes(),
        lang,
        kinds,
        out: &mut out,
    };
    walk.visit(tree.root_node(), None);
    for f in &out.functions {
        metric_smells(f, thresholds, &mut out.smells);
    }
    out.smells
        .sort_by(|a, b| (a.start_line, a.rule).cmp(&(b.start_line, b.rule)));
    out
}

fn metric_smells(f: &FunctionMetrics, t: &Thresholds, smells: &mut Vec<Smell>) {
    let checks = [
        (rules::CYCLOMATIC, f.cyclomatic, t.cyclomatic),
        (rules::COGNITIVE, f.cognitive, t.cognitive),
        (rules::NESTING, f.nesting, t.nesting),
        (rules::LONG_FUNCTION, f.lines(), t.function_lines),
        (rules::PARAMETERS, f.parameters, t.parameters),
    ];
    for (rule, value, limit) in checks {
        if value > limit {
            smells.push(Smell {
                rule,
                start_line: f.start_line,
                end_line: f.end_line,
                value,
                detail: f.name.clone(),
            });
        }
    }
}

/// The counters of the function being walked.
#[derive(Default)]
struct Unit {
    cyclomatic: u32,
    cognitive: u32,
    nesting: u32,
}

struct Walk<'a> {
    src: &'a [u8],
    lang: Language,
    kinds: &'static Kinds,
    out: &'a mut Analysis,
}

fn line(n: Node<'_>) -> u32 {
    n.start_position().row as u32 + 1
}

fn end_line(n: Node<'_>) -> u32 {
    let end = n.end_position();
    // A node ending at column 0 ends on the line before.
    let row = if end.column == 0 && end.row > n.start_position().row {
        end.row - 1
    } else {
        end.row
    };
    row as u32 + 1
}

impl Walk<'_> {
    fn text(&self, n: Node<'_>) -> &str {
        std::str::from_utf8(&self.src[n.byte_range()]).unwrap_or("")
    }

    fn smell(&mut self, rule: &'static str, n: Node<'_>, detail: impl Into<String>) {
        self.out.smells.push(Smell {
            rule,
            start_line: line(n),
            end_line: end_line(n),
            value: 0,
            detail: detail.into(),
        });
    }

    /// Walks `node`; `unit` is the function being measured (and the
    /// nesting level inside it), `None` outside functions.
    fn visit(&mut self, node: Node<'_>, unit: Option<(&mut Unit, u32)>) {
        let kind = node.kind();
        let k = self.kinds;
        let is_function = k.functions.contains(&kind)
            || (unit.is_none() && k.closures.contains(&kind) && self.is_named_closure(node));
        if is_function {
            self.function(node);
            return;
        }
        self.node_rules(node);
        let Some((unit, level)) = unit else {
            let mut cursor = node.walk();
            for child in node.children(&mut cursor) {
                self.visit(child, None);
            }
            return;
        };
        let mut child_level = level;
        if k.nesting.contains(&kind) {
            let else_if = self.is_else_if(node);
            // A switch adds a path per case (counted at the cases), not
            // one of its own; try and with add none.
            let switch =
                kind.contains("switch") || kind.starts_with("match_") || kind == "select_statement";
            unit.cyclomatic +=
                u32::from(!switch && !matches!(kind, "try_statement" | "with_statement"));
            if kind != "with_statement" && kind != "try_statement" {
                // An `else if` continues its chain: +1, no nesting bonus.
                unit.cognitive += if else_if { 1 } else { 1 + level };
            }
            if !else_if {
                child_level = level + 1;
                unit.nesting = unit.nesting.max(child_level);
            }
        } else if k.flat.contains(&kind) {
            if kind == "elif_clause" {
                unit.cyclomatic += 1;
            }
            // `else` holding just the next `if` is counted by that `if`.
            if !self.wraps_if(node) {
                unit.cognitive += 1;
            }
        } else if k.cases.contains(&kind) {
            if !self.is_default_case(node) {
                unit.cyclomatic += 1;
            }
            // A Rust arm's guard (`Some(v) if v > 3 =>`) is one more.
            let guarded = node
                .child_by_field_name("pattern")
                .is_some_and(|p| p.child_by_field_name("condition").is_some());
            unit.cyclomatic += u32::from(guarded);
        } else if k.handlers.contains(&kind) {
            unit.cyclomatic += 1;
            // Inside its `try`, which already nested it one level.
            unit.cognitive += level.max(1);
        } else if k.conditionals.contains(&kind) {
            unit.cyclomatic += 1;
            unit.cognitive += 1 + level;
        } else if k.closures.contains(&kind) {
            child_level = level + 1;
        } else if k.binary.contains(&kind)
            && let Some(op) = self.bool_op(node)
        {
            unit.cyclomatic += 1;
            // A run of the same operator counts once.
            let same_as_parent = node
                .parent()
                .filter(|p| p.kind() == kind)
                .and_then(|p| self.bool_op(p))
                == Some(op);
            if !same_as_parent {
                unit.cognitive += 1;
            }
        }
        let mut cursor = node.walk();
        for child in node.children(&mut cursor) {
            self.visit(child, Some((unit, child_level)));
        }
    }

    /// A closure outside functions is a unit when it is the value of a
    /// declaration (`const f = () => …`), not an argument.
    fn is_named_closure(&self, node: Node<'_>) -> bool {
        node.parent().is_some_and(|p| {
            matches!(
                p.kind(),
                "variable_declarator" | "assignment" | "pair" | "public_field_definition"
            )
        })
    }

    fn closure_name(&self, node: Node<'_>) -> String {
        node.parent()
            .and_then(|p| {
                p.child_by_field_name("name")
                    .or_else(|| p.child_by_field_name("left"))
                    .or_else(|| p.child_by_field_name("key"))
            })
            .map(|n| self.text(n).to_owned())
            .unwrap_or_else(|| "<anonymous>".to_owned())
    }

    fn function(&mut self, node: Node<'_>) {
        let name = match node.child_by_field_name("name") {
            Some(n) => self.text(n).to_owned(),
            None => match node.child_by_field_name("declarator") {
                // C and C++: the declarator holds the name.
                Some(d) => declarator_name(d, self.src),
                None => self.closure_name(node),
            },
        };
        let mut unit = Unit {
            cyclomatic: 1,
            ..Unit::default()
        };
        let mut cursor = node.walk();
        for child in node.children(&mut cursor) {
            self.visit(child, Some((&mut unit, 0)));
        }
        let parameters = self.parameters(node);
        self.out.functions.push(FunctionMetrics {
            name,
            start_line: line(node),
            end_line: end_line(node),
            cyclomatic: unit.cyclomatic,
            cognitive: unit.cognitive,
            nesting: unit.nesting,
            parameters,
        });
    }

    fn parameters(&self, node: Node<'_>) -> u32 {
        let list = node.child_by_field_name("parameters").or_else(|| {
            node.child_by_field_name("declarator")
                .and_then(|d| find_kind(d, "parameter_list"))
        });
        let Some(list) = list else { return 0 };
        let mut n = 0;
        let mut cursor = list.walk();
        for p in list.named_children(&mut cursor) {
            match p.kind() {
                "comment" | "self_parameter" => {}
                "identifier" if matches!(self.text(p), "self" | "cls") => {}
                // Go: `a, b int` declares two.
                "parameter_declaration" if self.lang == Language::Go => {
                    let mut c = p.walk();
                    let names = p.children_by_field_name("name", &mut c).count().max(1);
                    n += names as u32;
                }
                _ => n += 1,
            }
        }
        n
    }

    fn is_else_if(&self, node: Node<'_>) -> bool {
        if !node.kind().starts_with("if_") {
            return false;
        }
        let Some(parent) = node.parent() else {
            return false;
        };
        match parent.kind() {
            "else_clause" => true,
            // Java and Go: `alternative` holds the `if` directly.
            k if k == node.kind() => parent
                .child_by_field_name("alternative")
                .is_some_and(|a| a.id() == node.id()),
            _ => false,
        }
    }

    fn wraps_if(&self, node: Node<'_>) -> bool {
        let mut cursor = node.walk();
        node.named_children(&mut cursor)
            .any(|c| c.kind().starts_with("if_"))
    }

    fn is_default_case(&self, node: Node<'_>) -> bool {
        let text = self.text(node).trim_start();
        text.starts_with("default") || (node.kind() == "match_arm" && text.starts_with("_ "))
    }

    fn bool_op(&self, node: Node<'_>) -> Option<&'static str> {
        let op = node.child_by_field_name("operator")?;
        Some(match self.text(op) {
            "&&" => "&&",
            "||" => "||",
            "??" => "??",
            "and" => "and",
            "or" => "or",
            _ => return None,
        })
    }

    /// The rules that look at one node wherever it is.
    fn node_rules(&mut self, node: Node<'_>) {
        let kind = node.kind();
        if kind.contains("comment") {
            self.todo_note(node);
            return;
        }
        if self.kinds.handlers.contains(&kind) {
            self.handler(node);
        }
        match kind {
            "call" | "call_expression" | "method_invocation" | "new_expression" => self.call(node),
            "assignment_statement" if self.lang == Language::Go => self.go_ignored(node),
            "short_var_declaration" if self.lang == Language::Go => self.go_ignored(node),
            "let_declaration" if self.lang == Language::Rust => self.rust_ignored(node),
            "string"
            | "template_string"
            | "interpreted_string_literal"
            | "raw_string_literal"
            | "string_literal" => self.sql(node),
            _ => {}
        }
    }

    fn todo_note(&mut self, node: Node<'_>) {
        let text = self.text(node).to_owned();
        for (i, l) in text.lines().enumerate() {
            if let Some(note) = todo_in(l) {
                let at = line(node) + i as u32;
                self.out.smells.push(Smell {
                    rule: rules::TODO,
                    start_line: at,
                    end_line: at,
                    value: 0,
                    detail: note,
                });
            }
        }
    }

    fn handler(&mut self, node: Node<'_>) {
        let body = node.child_by_field_name("body").or_else(|| {
            last_named_child_of(node, &["block", "statement_block", "compound_statement"])
        });
        let empty = body.is_some_and(|b| {
            let mut cursor = b.walk();
            b.named_children(&mut cursor).all(|s| match s.kind() {
                "pass_statement" | "continue_statement" | "comment" => true,
                "expression_statement" => self.text(s).trim() == "...",
                _ => false,
            })
        });
        let caught = self.caught_type(node);
        let what = caught.clone().unwrap_or_else(|| "everything".to_owned());
        if empty {
            self.smell(rules::SWALLOWED, node, what);
            return;
        }
        let broad = match &caught {
            None => self.lang == Language::Python || self.text(node).contains("..."),
            Some(t) => matches!(
                t.as_str(),
                "Exception" | "BaseException" | "Throwable" | "std::exception"
            ),
        };
        let body_text = body.map(|b| self.text(b)).unwrap_or("");
        let rethrows = body_text.contains("raise") || body_text.contains("throw");
        if broad
            && !rethrows
            && !matches!(
                self.lang,
                Language::JavaScript | Language::TypeScript | Language::Tsx
            )
        {
            self.smell(rules::BROAD_CATCH, node, what);
        }
    }

    /// The type a handler catches, `None` for a catch-all.
    fn caught_type(&self, node: Node<'_>) -> Option<String> {
        match self.lang {
            Language::Python => {
                let mut cursor = node.walk();
                let first = node
                    .named_children(&mut cursor)
                    .find(|c| c.kind() != "block" && c.kind() != "comment")?;
                let t = match first.kind() {
                    "as_pattern" => first.named_child(0)?,
                    _ => first,
                };
                Some(self.text(t).to_owned())
            }
            Language::Java => {
                let param = find_kind(node, "catch_formal_parameter")?;
                let t = find_kind(param, "catch_type")?;
                Some(self.text(t).to_owned())
            }
            Language::Cpp => {
                let params = node.child_by_field_name("parameters")?;
                let t = self.text(params).trim_matches(['(', ')']).trim().to_owned();
                if t == "..." {
                    return None;
                }
                let t = t
                    .trim_start_matches("const ")
                    .split(['&', ' '])
                    .next()
                    .unwrap_or("")
                    .to_owned();
                Some(t)
            }
            _ => None,
        }
    }

    fn callee(&self, call: Node<'_>) -> Option<(String, String)> {
        let f = call
            .child_by_field_name("function")
            .or_else(|| call.child_by_field_name("name"))
            .or_else(|| call.child_by_field_name("constructor"))?;
        let full = self.text(f).to_owned();
        let last = full
            .rsplit(['.', ':'])
            .next()
            .unwrap_or(&full)
            .trim()
            .to_owned();
        Some((full, last))
    }

    fn call(&mut self, node: Node<'_>) {
        let Some((full, last)) = self.callee(node) else {
            return;
        };
        let args = node.child_by_field_name("arguments");
        let first_arg = args.and_then(|a| a.named_child(0));
        match self.lang {
            Language::Python => {
                if (full == "eval" || full == "exec") && !first_arg.is_some_and(is_plain_string) {
                    self.smell(rules::EVAL, node, full.clone());
                }
                let shell_true = args.is_some_and(|a| {
                    let mut cursor = a.walk();
                    a.named_children(&mut cursor).any(|k| {
                        k.kind() == "keyword_argument"
                            && k.child_by_field_name("name")
                                .is_some_and(|n| self.text(n) == "shell")
                            && k.child_by_field_name("value")
                                .is_some_and(|v| self.text(v) == "True")
                    })
                });
                let runs_shell = shell_true || matches!(full.as_str(), "os.system" | "os.popen");
                if runs_shell && first_arg.is_some_and(|a| self.is_formatted(a)) {
                    self.smell(rules::SHELL_FORMAT, node, full.clone());
                } else if shell_true {
                    self.smell(rules::SHELL_TRUE, node, full.clone());
                }
            }
            Language::JavaScript | Language::TypeScript | Language::Tsx => {
                if node.kind() == "new_expression" {
                    if full == "Function" {
                        self.smell(rules::EVAL, node, "new Function");
                    }
                } else if full == "eval" {
                    self.smell(rules::EVAL, node, full.clone());
                } else if matches!(last.as_str(), "exec" | "execSync")
                    && !full.contains("RegExp")
                    && !full.ends_with("re.exec")
                    && first_arg.is_some_and(|a| self.is_formatted(a))
                {
                    self.smell(rules::SHELL_FORMAT, node, full.clone());
                }
            }
            Language::Go
                // exec.Command("sh", "-c", fmt.Sprintf(...))
                if (full.ends_with("exec.Command") || full.ends_with("exec.CommandContext")) => {
                    let shell_arg = args.and_then(|a| {
                        let mut cursor = a.walk();
                        let all: Vec<Node<'_>> = a.named_children(&mut cursor).collect();
                        let dash_c = all.iter().position(|n| self.text(*n) == "\"-c\"")?;
                        all.get(dash_c + 1).copied()
                    });
                    if shell_arg.is_some_and(|a| self.is_formatted(a)) {
                        self.smell(rules::SHELL_FORMAT, node, full.clone());
                    }
                }
            Language::Java
                if last == "exec"
                    && full.contains("getRuntime")
                    && first_arg.is_some_and(|a| self.is_formatted(a))
                => {
                    self.smell(rules::SHELL_FORMAT, node, full.clone());
                }
            Language::C | Language::Cpp
                if matches!(full.as_str(), "system" | "popen")
                    && first_arg.is_some_and(|a| !is_plain_string(a))
                => {
                    self.smell(rules::SHELL_FORMAT, node, full.clone());
                }
            _ => {}
        }
    }

    /// A string built at run time from parts: an f-string or template with
    /// substitutions, `+` or `%` with a non-literal, `.format(...)`,
    /// `Sprintf`/`format!`/`String.format`.
    fn is_formatted(&self, n: Node<'_>) -> bool {
        match n.kind() {
            "string" | "template_string" => {
                let mut cursor = n.walk();
                n.named_children(&mut cursor)
                    .any(|c| matches!(c.kind(), "interpolation" | "template_substitution"))
            }
            "binary_operator" | "binary_expression" => {
                let op = n
                    .child_by_field_name("operator")
                    .map(|o| self.text(o))
                    .unwrap_or("");
                (op == "+" || op == "%")
                    && [
                        n.child_by_field_name("left"),
                        n.child_by_field_name("right"),
                    ]
                    .into_iter()
                    .flatten()
                    .any(|side| !is_plain_string(side))
            }
            "call" | "call_expression" | "method_invocation" | "macro_invocation" => {
                let text = self.text(n);
                let head = text.split('(').next().unwrap_or("");
                head.ends_with(".format")
                    || head.ends_with("Sprintf")
                    || head.ends_with("format!")
                    || head.ends_with("String.format")
                    || head.ends_with("sprintf")
            }
            "parenthesized_expression" => n.named_child(0).is_some_and(|c| self.is_formatted(c)),
            _ => false,
        }
    }

    /// A SQL statement in a string that is built by formatting.
    fn sql(&mut self, node: Node<'_>) {
        // Python wraps a concatenated string in its parts; look at the
        // outermost string only.
        if node
            .parent()
            .is_some_and(|p| p.kind() == "concatenated_string")
        {
            return;
        }
        let text = self.text(node);
        if !looks_like_sql(text) {
            return;
        }
        if self.is_formatted(node) || self.formatted_by_parent(node) {
            self.smell(rules::SQL_FORMAT, node, first_words(text));
        }
    }

    fn formatted_by_parent(&self, node: Node<'_>) -> bool {
        let Some(parent) = node.parent() else {
            return false;
        };
        match parent.kind() {
            "binary_operator" | "binary_expression" => self.is_formatted(parent),
            // "...".format(x): string → attribute → call.
            "attribute" | "member_expression" | "field_access" => parent
                .child_by_field_name("attribute")
                .or_else(|| parent.child_by_field_name("property"))
                .or_else(|| parent.child_by_field_name("field"))
                .is_some_and(|a| self.text(a) == "format"),
            // Sprintf("SELECT ... %s", x), format!("…{}", x): a format
            // string with more arguments after it.
            "argument_list" | "arguments" | "token_tree" => {
                let call = parent.parent();
                let is_format_call = call.is_some_and(|c| {
                    let head = self.text(c);
                    let head = head.split(['(', '!']).next().unwrap_or("");
                    head.ends_with("Sprintf")
                        || head.ends_with("format")
                        || head.ends_with("sprintf")
                        || head.ends_with("printf")
                });
                let more_args = parent.named_child_count() > 1;
                let has_placeholder = {
                    let t = self.text(node);
                    t.contains("%s")
                        || t.contains("%d")
                        || t.contains("%v")
                        || t.contains("{}")
                        || t.contains("{0")
                };
                is_format_call && more_args && has_placeholder
            }
            _ => false,
        }
    }

    fn go_ignored(&mut self, node: Node<'_>) {
        let (Some(left), Some(right)) = (
            node.child_by_field_name("left"),
            node.child_by_field_name("right"),
        ) else {
            return;
        };
        let last_is_blank = {
            let n = left.named_child_count();
            n > 0 && left.named_child(n - 1).is_some_and(|l| self.text(l) == "_")
        };
        let is_call = right.named_child_count() == 1
            && right
                .named_child(0)
                .is_some_and(|r| r.kind() == "call_expression");
        if last_is_blank && is_call {
            let called = right
                .named_child(0)
                .and_then(|c| self.callee(c))
                .map(|(f, _)| f)
                .unwrap_or_default();
            self.smell(rules::IGNORED_ERROR, node, called);
        }
    }

    fn rust_ignored(&mut self, node: Node<'_>) {
        let (Some(pattern), Some(value)) = (
            node.child_by_field_name("pattern"),
            node.child_by_field_name("value"),
        ) else {
            return;
        };
        if self.text(pattern) != "_" || node.child_by_field_name("type").is_some() {
            return;
        }
        let value = if value.kind() == "await_expression" {
            value.named_child(0).unwrap_or(value)
        } else {
            value
        };
        if value.kind() == "call_expression" {
            let called = self.callee(value).map(|(f, _)| f).unwrap_or_default();
            self.smell(rules::IGNORED_ERROR, node, called);
        }
    }
}

fn is_plain_string(n: Node<'_>) -> bool {
    match n.kind() {
        "string" | "template_string" => {
            let mut cursor = n.walk();
            !n.named_children(&mut cursor)
                .any(|c| matches!(c.kind(), "interpolation" | "template_substitution"))
        }
        "string_literal"
        | "interpreted_string_literal"
        | "raw_string_literal"
        | "concatenated_string" => true,
        _ => false,
    }
}

fn find_kind<'t>(n: Node<'t>, kind: &str) -> Option<Node<'t>> {
    if n.kind() == kind {
        return Some(n);
    }
    let mut cursor = n.walk();
    let children: Vec<Node<'t>> = n.named_children(&mut cursor).collect();
    children.into_iter().find_map(|c| find_kind(c, kind))
}

fn last_named_child_of<'t>(n: Node<'t>, kinds: &[&str]) -> Option<Node<'t>> {
    let mut cursor = n.walk();
    let children: Vec<Node<'t>> = n.named_children(&mut cursor).collect();
    children
        .into_iter()
        .rev()
        .find(|c| kinds.contains(&c.kind()))
}

fn declarator_name(d: Node<'_>, src: &[u8]) -> String {
    let mut n = d;
    while let Some(inner) = n.child_by_field_name("declarator") {
        n = inner;
    }
    std::str::from_utf8(&src[n.byte_range()])
        .unwrap_or("")
        .to_owned()
}

fn looks_like_sql(text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    let words: Vec<&str> = lower
        .split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
        .filter(|w| !w.is_empty())
        .collect();
    let has = |a: &str, b: &str| {
        let Some(i) = words.iter().position(|w| *w == a) else {
            return false;
        };
        words[i + 1..].contains(&b)
    };
    has("select", "from")
        || (has("insert", "into") && has("into", "values"))
        || has("update", "set") && has("set", "where")
        || has("delete", "from")
        || has("drop", "table")
}

fn first_words(text: &str) -> String {
    let t: String = text
        .trim_matches(|c: char| !c.is_alphanumeric())
        .split_whitespace()
        .take(6)
        .collect::<Vec<_>>()
        .join(" ");
    t.chars().take(60).collect()
}

/// The note in a comment line: `TODO: …` and the like, or `None`.
fn todo_in(line: &str) -> Option<String> {
    for tag in ["TODO", "FIXME", "HACK", "XXX"] {
        let mut from = 0;
        while let Some(i) = line[from..].find(tag) {
            let at = from + i;
            let before = line[..at].chars().next_back();
            let after = line[at + tag.len()..].chars().next();
            let bounded = !before.is_some_and(|c| c.is_alphanumeric() || c == '_')
                && !after.is_some_and(|c| c.is_alphanumeric() || c == '_');
            if bounded {
                let note: String = line[at..].trim().chars().take(120).collect();
                return Some(note);
            }
            from = at + tag.len();
        }
    }
    None
}

/// TODO notes of a file without a grammar: in lines that look like
/// comments.
fn todo_in_text_line(l: &str) -> Option<String> {
    let t = l.trim_start();
    let is_comment = ["#", "//", "/*", "*", "--", ";", "<!--"]
        .iter()
        .any(|p| t.starts_with(p));
    if is_comment { todo_in(t) } else { None }
}

fn todo_notes_in_text(source: &str, smells: &mut Vec<Smell>) {
    for (i, l) in source.lines().enumerate() {
        if let Some(note) = todo_in_text_line(l) {
            smells.push(Smell {
                rule: rules::TODO,
                start_line: i as u32 + 1,
                end_line: i as u32 + 1,
                value: 0,
                detail: note,
            });
        }
    }
}

#[cfg(test)]
mod tests;
