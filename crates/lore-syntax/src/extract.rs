//! Running a tag query over a tree and turning its captures into symbols,
//! references, imports and chunks.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};

use lore_core::{FileSyntax, Import, Language, RefKind, Reference, Symbol, SymbolKind};
use tree_sitter::{Node, Parser, QueryCursor, StreamingIterator, Tree};

use crate::chunk::{ChunkLimits, Lines, Owner, chunk_tree};
use crate::grammar::Grammar;

thread_local! {
    static PARSER: RefCell<Parser> = RefCell::new(Parser::new());
}

/// Longest signature kept, in bytes.
const MAX_SIGNATURE: usize = 240;
/// Longest doc comment kept, in bytes.
const MAX_DOC: usize = 2000;

/// What a capture name means.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Role {
    Def(SymbolKind),
    Scope,
    Name,
    Doc,
    Receiver,
    Call,
    Use,
    Import,
    ImportModule,
    ImportName,
    Ignore,
}

fn role(capture: &str) -> Role {
    if let Some(kind) = capture.strip_prefix("definition.") {
        return SymbolKind::from_name(kind)
            .map(Role::Def)
            .unwrap_or_else(|| panic!("unknown definition kind in capture @{capture}"));
    }
    match capture {
        "scope" => Role::Scope,
        "name" => Role::Name,
        "doc" => Role::Doc,
        "receiver" => Role::Receiver,
        "reference.call" => Role::Call,
        "reference.use" => Role::Use,
        "import" => Role::Import,
        "import.module" => Role::ImportModule,
        "import.name" => Role::ImportName,
        _ => Role::Ignore,
    }
}

/// A definition or scope found by the query, before nesting is resolved.
struct Def<'t> {
    node: Node<'t>,
    /// `None` for a scope (Rust `impl`).
    kind: Option<SymbolKind>,
    name: String,
    receiver: Option<String>,
    doc_node: Option<Node<'t>>,
    pattern: usize,
}

/// An import statement: its byte range, line, and (module, name) pairs.
type RawImport = (std::ops::Range<usize>, u32, Vec<(String, Option<String>)>);

struct RawRef {
    name: String,
    kind: RefKind,
    byte: usize,
    line: u32,
}

pub(crate) fn extract(
    source: &str,
    lang: Language,
    grammar: &Grammar,
    limits: &ChunkLimits,
) -> FileSyntax {
    let tree = PARSER.with(|parser| {
        let mut parser = parser.borrow_mut();
        parser.set_language(&grammar.language).ok()?;
        parser.parse(source, None)
    });
    let Some(tree) = tree else {
        // The parser gave up (it only does so on cancellation); fall back to text.
        return FileSyntax {
            chunks: crate::chunk_text(source, lang, limits),
            ..FileSyntax::default()
        };
    };
    let bodies = if lang == Language::Rust {
        macro_body_trees(source, grammar, &tree)
    } else {
        Vec::new()
    };
    Extractor {
        source,
        lang,
        grammar,
        tree: &tree,
        bodies: &bodies,
    }
    .run(limits)
}

/// Deepest nesting of item macros whose bodies are parsed (`cfg_rt! {
/// cfg_net! { ... } }`).
const MACRO_BODY_DEPTH: usize = 4;

/// Rust items written inside macro invocations in item position — `cfg_x!
/// { pub fn ... }`, the way many crates gate whole modules — are token trees
/// to the grammar, so their functions would be invisible. Their bodies are
/// parsed again as Rust (tree-sitter's included ranges, so every position
/// stays a position in the file), level by level.
fn macro_body_trees(source: &str, grammar: &Grammar, tree: &Tree) -> Vec<Tree> {
    let mut trees = Vec::new();
    let mut ranges = item_macro_bodies(tree.root_node(), source);
    while !ranges.is_empty() && trees.len() < MACRO_BODY_DEPTH {
        let parsed = PARSER.with(|parser| {
            let mut parser = parser.borrow_mut();
            parser.set_language(&grammar.language).ok()?;
            parser.set_included_ranges(&ranges).ok()?;
            let tree = parser.parse(source, None);
            // Back to whole documents for the next file.
            let _ = parser.set_included_ranges(&[]);
            tree
        });
        let Some(parsed) = parsed else { break };
        ranges = item_macro_bodies(parsed.root_node(), source);
        trees.push(parsed);
    }
    trees
}

/// The inside of every `{ ... }` macro body in item position under `node`
/// that holds items, in document order.
fn item_macro_bodies(node: Node<'_>, source: &str) -> Vec<tree_sitter::Range> {
    const ITEM_STARTS: [&str; 10] = [
        "fn ", "pub ", "impl", "struct ", "enum ", "trait ", "mod ", "use ", "#[", "const ",
    ];
    let mut out = Vec::new();
    let mut cursor = node.walk();
    let mut stack = vec![node];
    while let Some(n) = stack.pop() {
        match n.kind() {
            "macro_invocation" => {
                let Some(body) = n.children(&mut cursor).find(|c| c.kind() == "token_tree") else {
                    continue;
                };
                let text = &source[body.byte_range()];
                if !(text.starts_with('{') && text.ends_with('}')) || body.byte_range().len() < 2 {
                    continue;
                }
                let inner = text[1..text.len() - 1].trim_start();
                if !ITEM_STARTS.iter().any(|s| inner.starts_with(s))
                    && !inner.contains("\nfn ")
                    && !inner.contains(" fn ")
                {
                    continue;
                }
                let (start, end) = (body.start_position(), body.end_position());
                out.push(tree_sitter::Range {
                    start_byte: body.start_byte() + 1,
                    end_byte: body.end_byte() - 1,
                    start_point: tree_sitter::Point {
                        row: start.row,
                        column: start.column + 1,
                    },
                    end_point: tree_sitter::Point {
                        row: end.row,
                        column: end.column.saturating_sub(1),
                    },
                });
            }
            // Only where items can be: not into function bodies, whose
            // macros are expressions (`select!`, `vec!`).
            "source_file"
            | "declaration_list"
            | "mod_item"
            | "impl_item"
            | "trait_item"
            | "foreign_mod_item"
            | "expression_statement"
            | "ERROR" => {
                let children: Vec<Node<'_>> = n.children(&mut cursor).collect();
                stack.extend(children.into_iter().rev());
            }
            _ => {}
        }
    }
    out
}

struct Extractor<'a> {
    source: &'a str,
    lang: Language,
    grammar: &'a Grammar,
    tree: &'a Tree,
    /// Trees of macro bodies in item position (Rust), positions in `source`.
    bodies: &'a [Tree],
}

impl<'a> Extractor<'a> {
    fn text(&self, node: Node<'_>) -> &'a str {
        &self.source[node.byte_range()]
    }

    fn run(&self, limits: &ChunkLimits) -> FileSyntax {
        let query = &self.grammar.query;
        let roles: Vec<Role> = query.capture_names().iter().map(|n| role(n)).collect();
        let bytes = self.source.as_bytes();

        let mut defs: HashMap<usize, Def<'_>> = HashMap::new();
        let mut raw_refs: Vec<RawRef> = Vec::new();
        let mut def_names: HashSet<usize> = HashSet::new();
        // Per import statement: its node range and (module, name) pairs.
        let mut imports: Vec<RawImport> = Vec::new();

        let mut cursor = QueryCursor::new();
        for tree in std::iter::once(self.tree).chain(self.bodies) {
            let mut matches = cursor.matches(query, tree.root_node(), bytes);
            while let Some(m) = matches.next() {
                let mut def: Option<(Node<'_>, Option<SymbolKind>)> = None;
                let (mut name, mut doc, mut receiver) = (None, None, None);
                let (mut call, mut uses, mut import) = (None, Vec::new(), None);
                let (mut module, mut imported) = (None, None);
                for cap in m.captures {
                    match roles[cap.index as usize] {
                        Role::Def(kind) => def = Some((cap.node, Some(kind))),
                        Role::Scope => def = Some((cap.node, None)),
                        Role::Name => name = Some(cap.node),
                        Role::Doc => doc = Some(cap.node),
                        Role::Receiver => receiver = Some(cap.node),
                        Role::Call => call = Some(cap.node),
                        Role::Use => uses.push(cap.node),
                        Role::Import => import = Some(cap.node),
                        Role::ImportModule => module = Some(cap.node),
                        Role::ImportName => imported = Some(cap.node),
                        Role::Ignore => {}
                    }
                }
                if let (Some((node, kind)), Some(name)) = (def, name) {
                    def_names.insert(name.start_byte());
                    let candidate = Def {
                        node,
                        kind,
                        name: self.text(name).to_owned(),
                        receiver: receiver.map(|r| self.text(r).to_owned()),
                        doc_node: doc,
                        pattern: m.pattern_index,
                    };
                    match defs.get(&node.id()) {
                        Some(existing) if existing.pattern <= candidate.pattern => {}
                        _ => {
                            defs.insert(node.id(), candidate);
                        }
                    }
                }
                if let (Some(_), Some(name)) = (call, name) {
                    raw_refs.push(self.raw_ref(name, RefKind::Call));
                }
                for node in uses {
                    raw_refs.push(self.raw_ref(node, RefKind::Use));
                }
                if let (Some(node), Some(module)) = (import, module) {
                    let line = node.start_position().row as u32 + 1;
                    let pairs =
                        self.import_pairs(self.text(module), imported.map(|n| self.text(n)));
                    match imports.iter_mut().find(|(r, _, _)| *r == node.byte_range()) {
                        Some((_, _, existing)) => existing.extend(pairs),
                        None => imports.push((node.byte_range(), line, pairs)),
                    }
                }
            }
        }

        // Import statements never nest: sorted by start, a binary search
        // finds the one containing a reference.
        imports.sort_by_key(|(range, _, _)| range.start);
        let (symbols, owners, byte_ranges) = self.symbols(defs);
        let refs = resolve_refs(raw_refs, &def_names, &imports, &symbols, &byte_ranges);
        let imports = flatten_imports(imports);

        let lines = Lines::new(self.source);
        let boundaries = self.boundaries(&owners, &lines, limits);
        let chunks = chunk_tree(&lines, &owners, &|line| boundaries.contains(&line), limits);
        let root = self.tree.root_node();
        let syntax_errors = if root.has_error() {
            count_errors(root)
        } else {
            0
        };
        FileSyntax {
            symbols,
            refs,
            imports,
            chunks,
            syntax_errors,
            capped: 0,
        }
    }

    fn raw_ref(&self, node: Node<'_>, kind: RefKind) -> RawRef {
        RawRef {
            name: last_segment(self.text(node)).to_owned(),
            kind,
            byte: node.start_byte(),
            line: node.start_position().row as u32 + 1,
        }
    }

    /// Splits an import's captured text into (module, name) pairs.
    fn import_pairs(&self, module: &str, name: Option<&str>) -> Vec<(String, Option<String>)> {
        let module = module
            .trim()
            .trim_matches(|c| matches!(c, '"' | '\'' | '<' | '>' | '`'));
        if let Some(name) = name {
            return vec![(module.to_owned(), Some(name.trim().to_owned()))];
        }
        match self.lang {
            Language::Rust => rust_use_pairs(module),
            Language::Java => match module.rsplit_once('.') {
                Some((pkg, name)) if name.starts_with(char::is_uppercase) => {
                    vec![(pkg.to_owned(), Some(name.to_owned()))]
                }
                _ => vec![(module.to_owned(), None)],
            },
            _ => vec![(module.to_owned(), None)],
        }
    }

    /// Resolves nesting, qualified names, methods, signatures and docs.
    /// Returns the symbols, the chunk owners and each symbol's byte range.
    fn symbols(
        &self,
        defs: HashMap<usize, Def<'_>>,
    ) -> (Vec<Symbol>, Vec<Owner>, Vec<std::ops::Range<usize>>) {
        let mut defs: Vec<Def<'_>> = defs.into_values().collect();
        defs.sort_by_key(|d| (d.node.start_byte(), std::cmp::Reverse(d.node.end_byte())));

        let sep = self.lang.path_separator();
        // Nesting over all defs, scopes included.
        let mut stack: Vec<usize> = Vec::new();
        let mut parent_of: Vec<Option<usize>> = Vec::with_capacity(defs.len());
        let mut qualnames: Vec<String> = Vec::with_capacity(defs.len());
        let mut kinds: Vec<Option<SymbolKind>> = Vec::with_capacity(defs.len());
        for (i, def) in defs.iter().enumerate() {
            while let Some(&top) = stack.last() {
                if defs[top].node.end_byte() >= def.node.end_byte()
                    && defs[top].node.start_byte() <= def.node.start_byte()
                {
                    break;
                }
                stack.pop();
            }
            let parent = stack.last().copied();
            let (bare, qualifier) = split_qualified(&def.name);
            let mut kind = def.kind;
            let own = match (&def.receiver, qualifier) {
                (Some(receiver), _) => format!("{}{sep}{bare}", receiver.trim_start_matches('*')),
                (None, Some(qualifier)) => {
                    if kind == Some(SymbolKind::Function) {
                        kind = Some(SymbolKind::Method);
                    }
                    format!("{qualifier}{sep}{bare}")
                }
                (None, None) => bare.to_owned(),
            };
            if let (Some(p), Some(SymbolKind::Function)) = (parent, kind) {
                // Scopes (`impl`) and type-like containers make methods;
                // modules and namespaces do not.
                let makes_methods = kinds[p].is_none_or(|k: SymbolKind| {
                    k.is_container() && !matches!(k, SymbolKind::Module | SymbolKind::Namespace)
                });
                if makes_methods {
                    kind = Some(SymbolKind::Method);
                }
            }
            let qualname = match parent {
                Some(p) => format!("{}{sep}{own}", qualnames[p]),
                None => own,
            };
            parent_of.push(parent);
            qualnames.push(qualname);
            kinds.push(kind);
            stack.push(i);
        }

        // Emit symbols (scopes dropped), remapping parents to emitted indexes.
        let mut index_of: Vec<Option<usize>> = vec![None; defs.len()];
        let mut symbols = Vec::new();
        let mut ranges = Vec::new();
        let mut owners = Vec::new();
        let mut owner_of: Vec<Option<usize>> = vec![None; defs.len()];
        // Whether a def lies inside a callable (its body chunk covers it).
        let mut in_callable = vec![false; defs.len()];
        for (i, def) in defs.iter().enumerate() {
            let mut ancestor = parent_of[i];
            let parent = loop {
                match ancestor {
                    Some(a) if index_of[a].is_none() => ancestor = parent_of[a],
                    other => break other.and_then(|a| index_of[a]),
                }
            };
            if let Some(p) = parent_of[i] {
                in_callable[i] = in_callable[p] || kinds[p].is_some_and(SymbolKind::is_callable);
            }
            let Some(kind) = kinds[i] else {
                continue;
            };
            let outer = outer_node(def.node);
            let start_line = outer.start_position().row as u32 + 1;
            let end_line = end_line(def.node);
            let comment = self.doc_comment(outer);
            let chunk_start = comment
                .as_ref()
                .map_or(start_line, |&(line, _, _)| line)
                .min(start_line);
            let (doc, doc_lines) = match (def.doc_node, comment) {
                (Some(node), _) => (
                    clean_docstring(self.text(node)),
                    Some((node.start_position().row as u32 + 1, self::end_line(node))),
                ),
                (None, Some((first, last, doc))) => (Some(doc), Some((first, last))),
                (None, None) => (None, None),
            };
            let doc_lines = doc.as_ref().and(doc_lines);
            let (bare, _) = split_qualified(&def.name);
            index_of[i] = Some(symbols.len());
            if (kind.is_callable() || kind.is_container()) && !in_callable[i] {
                let mut owner_parent = parent_of[i];
                while let Some(p) = owner_parent {
                    if owner_of[p].is_some() {
                        break;
                    }
                    owner_parent = parent_of[p];
                }
                owner_of[i] = Some(owners.len());
                owners.push(Owner {
                    start: chunk_start,
                    end: end_line,
                    symbol: symbols.len(),
                    parent: owner_parent.and_then(|p| owner_of[p]),
                });
            }
            ranges.push(outer.start_byte()..def.node.end_byte());
            symbols.push(Symbol {
                name: strip_quotes(bare).to_owned(),
                qualname: qualnames[i].clone(),
                kind,
                signature: self.signature(def.node),
                doc,
                doc_lines,
                start_line,
                end_line,
                parent,
            });
        }
        (symbols, owners, ranges)
    }

    /// The declaration text before the body, whitespace collapsed.
    fn signature(&self, node: Node<'_>) -> String {
        let body_start = find_body(node, 3)
            .map(|b| b.start_byte())
            .filter(|&b| b > node.start_byte());
        let raw = match body_start {
            Some(end) => &self.source[node.start_byte()..end],
            None => self.text(node).lines().next().unwrap_or(""),
        };
        let mut sig = String::with_capacity(raw.len().min(MAX_SIGNATURE));
        for word in raw.split_whitespace() {
            if !sig.is_empty() {
                sig.push(' ');
            }
            sig.push_str(word);
            if sig.len() > MAX_SIGNATURE {
                break;
            }
        }
        let sig = truncate(&sig, MAX_SIGNATURE);
        let mut sig = sig.trim_end();
        for suffix in ["{", "=>", "=", ":"] {
            sig = sig.strip_suffix(suffix).unwrap_or(sig).trim_end();
        }
        sig.to_owned()
    }

    /// The comment block right above `node` (no blank line between), as
    /// (first line, last line, cleaned text).
    fn doc_comment(&self, node: Node<'_>) -> Option<(u32, u32, String)> {
        let mut next_start = node.start_position().row;
        let mut sibling = node.prev_sibling();
        let mut lines: Vec<&str> = Vec::new();
        let mut first_line = None;
        let mut last_line = None;
        while let Some(s) = sibling {
            let kind = s.kind();
            if kind.contains("comment") {
                let text = self.text(s);
                if s.end_position().row + 1 < next_start
                    || text.starts_with("//!")
                    || text.starts_with("/*!")
                {
                    break;
                }
                // Some grammars include the line break in a line comment.
                lines.push(text.trim_end());
                first_line = Some(s.start_position().row as u32 + 1);
                last_line = last_line.or(Some(end_line(s)));
                next_start = s.start_position().row;
            } else if kind == "attribute_item" || kind == "decorator" {
                next_start = s.start_position().row;
            } else {
                break;
            }
            sibling = s.prev_sibling();
        }
        lines.reverse();
        let doc = clean_comment(&lines.join("\n"));
        if doc.is_empty() {
            None
        } else {
            Some((first_line?, last_line?, doc))
        }
    }

    /// Lines where a statement starts: top-level nodes everywhere, and the
    /// nested statements of owners too big for one chunk.
    fn boundaries(
        &self,
        owners: &[Owner],
        lines: &Lines<'_>,
        limits: &ChunkLimits,
    ) -> HashSet<u32> {
        let mut out = HashSet::new();
        let root = self.tree.root_node();
        collect_starts(root, 1, &mut out);
        for body in self.bodies {
            collect_starts(body.root_node(), 1, &mut out);
        }
        for owner in owners {
            if owner.end - owner.start < limits.max_lines
                && lines.text(owner.start, owner.end).len() <= limits.max_bytes
            {
                continue;
            }
            let start = tree_sitter::Point {
                row: owner.start as usize - 1,
                column: 0,
            };
            let end = tree_sitter::Point {
                row: owner.end as usize - 1,
                column: usize::MAX,
            };
            for tree in std::iter::once(self.tree).chain(self.bodies) {
                if let Some(node) = tree.root_node().descendant_for_point_range(start, end) {
                    collect_starts(node, 4, &mut out);
                }
            }
        }
        out
    }
}

/// Adds the start line of every named node down to `depth` levels below `node`.
fn collect_starts(node: Node<'_>, depth: u32, out: &mut HashSet<u32>) {
    if depth == 0 {
        return;
    }
    let mut cursor = node.walk();
    for child in node.named_children(&mut cursor) {
        out.insert(child.start_position().row as u32 + 1);
        if child.end_position().row > child.start_position().row {
            collect_starts(child, depth - 1, out);
        }
    }
}

fn resolve_refs(
    raw: Vec<RawRef>,
    def_names: &HashSet<usize>,
    imports: &[RawImport],
    symbols: &[Symbol],
    ranges: &[std::ops::Range<usize>],
) -> Vec<Reference> {
    let mut refs: Vec<Reference> = Vec::with_capacity(raw.len());
    for r in raw {
        if r.kind == RefKind::Use && def_names.contains(&r.byte) {
            continue;
        }
        if r.name.is_empty() || matches!(r.name.as_str(), "self" | "this" | "cls" | "_") {
            continue;
        }
        let in_import = || {
            let i = imports.partition_point(|(range, _, _)| range.start <= r.byte);
            i > 0 && imports[i - 1].0.contains(&r.byte)
        };
        let kind = if r.kind == RefKind::Use && in_import() {
            RefKind::Import
        } else {
            r.kind
        };
        // Innermost enclosing symbol: the last symbol starting before the
        // reference, or the first of its ancestors that contains it.
        let mut candidate = ranges
            .partition_point(|range| range.start <= r.byte)
            .checked_sub(1);
        while let Some(i) = candidate {
            if ranges[i].contains(&r.byte) {
                break;
            }
            candidate = symbols[i].parent;
        }
        refs.push(Reference {
            name: r.name,
            kind,
            line: r.line,
            enclosing: candidate,
        });
    }
    refs.sort_by(|a, b| (a.line, &a.name, a.kind).cmp(&(b.line, &b.name, b.kind)));
    refs.dedup_by(|b, a| a.line == b.line && a.name == b.name);
    refs
}

fn flatten_imports(imports: Vec<RawImport>) -> Vec<Import> {
    let mut out = Vec::new();
    for (_, line, mut pairs) in imports {
        let named: HashSet<String> = pairs
            .iter()
            .filter(|(_, n)| n.is_some())
            .map(|(m, _)| m.clone())
            .collect();
        pairs.retain(|(m, n)| n.is_some() || !named.contains(m));
        pairs.sort();
        pairs.dedup();
        out.extend(
            pairs
                .into_iter()
                .map(|(module, name)| Import { module, name, line }),
        );
    }
    out.sort_by_key(|i| i.line);
    out
}

/// `use a::b::{c, d::e}` → (a::b, c), (a::b::d, e).
fn rust_use_pairs(text: &str) -> Vec<(String, Option<String>)> {
    let text: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if let Some((prefix, rest)) = text.split_once("::{") {
        let inner = rest.trim_end_matches('}');
        return inner
            .split(',')
            .map(str::trim)
            .filter(|item| !item.is_empty() && *item != "self" && !item.contains('{'))
            .map(|item| {
                let item = item.split(" as ").next().unwrap_or(item);
                match item.rsplit_once("::") {
                    Some((sub, name)) => (format!("{prefix}::{sub}"), name_or_glob(name)),
                    None => (prefix.to_owned(), name_or_glob(item)),
                }
            })
            .collect();
    }
    let item = text.split(" as ").next().unwrap_or(&text);
    match item.rsplit_once("::") {
        Some((module, name)) => vec![(module.to_owned(), name_or_glob(name))],
        None => vec![(item.to_owned(), None)],
    }
}

fn name_or_glob(name: &str) -> Option<String> {
    (name != "*").then(|| name.to_owned())
}

/// The node whose range a definition covers in the file: decorators,
/// `export`, `template<...>` and single-spec Go declarations included.
fn outer_node(node: Node<'_>) -> Node<'_> {
    let mut node = node;
    while let Some(parent) = node.parent() {
        let wrap = match parent.kind() {
            "decorated_definition"
            | "export_statement"
            | "template_declaration"
            | "ambient_declaration" => true,
            "type_declaration" | "const_declaration" | "var_declaration" => {
                parent.named_child_count() == 1
            }
            _ => false,
        };
        if !wrap {
            break;
        }
        node = parent;
    }
    node
}

fn find_body(node: Node<'_>, depth: u32) -> Option<Node<'_>> {
    if let Some(body) = node.child_by_field_name("body") {
        return Some(body);
    }
    if depth == 0 {
        return None;
    }
    let mut cursor = node.walk();
    let children: Vec<Node<'_>> = node.named_children(&mut cursor).collect();
    children
        .into_iter()
        .find_map(|child| find_body(child, depth - 1))
}

/// Last line of a node; a node ending at column 0 ends on the previous line.
fn end_line(node: Node<'_>) -> u32 {
    let end = node.end_position();
    let start = node.start_position();
    if end.column == 0 && end.row > start.row {
        end.row as u32
    } else {
        end.row as u32 + 1
    }
}

fn count_errors(node: Node<'_>) -> u32 {
    let mut count = 0;
    let mut cursor = node.walk();
    let mut visit = true;
    loop {
        let n = cursor.node();
        if visit {
            if n.is_error() || n.is_missing() {
                count += 1;
            } else if n.has_error() && cursor.goto_first_child() {
                continue;
            }
        }
        if cursor.goto_next_sibling() {
            visit = true;
            continue;
        }
        if !cursor.goto_parent() {
            return count;
        }
        visit = false;
    }
}

/// `Foo::bar` → (`bar`, Some(`Foo`)); `bar` → (`bar`, None).
fn split_qualified(name: &str) -> (&str, Option<&str>) {
    let name = name.trim();
    if let Some((q, b)) = name.rsplit_once("::") {
        return (b, Some(q).filter(|q| !q.is_empty()));
    }
    (name, None)
}

fn last_segment(text: &str) -> &str {
    let text = text.trim();
    let text = text.rsplit("::").next().unwrap_or(text);
    text.rsplit('.').next().unwrap_or(text)
}

fn strip_quotes(name: &str) -> &str {
    name.trim_matches(|c| matches!(c, '"' | '\'' | '`'))
}

fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Strips comment markers: `///`, `//`, `/** */`, leading `*`, `#`.
fn clean_comment(text: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    for line in text.lines() {
        let mut line = line.trim();
        for prefix in ["///", "//", "/**", "/*", "#"] {
            if let Some(rest) = line.strip_prefix(prefix) {
                line = rest;
                break;
            }
        }
        line = line.strip_suffix("*/").unwrap_or(line).trim_end();
        line = line
            .strip_prefix('*')
            .map(str::trim_start)
            .unwrap_or(line.trim_start());
        out.push(line);
    }
    while out.first().is_some_and(|l| l.is_empty()) {
        out.remove(0);
    }
    while out.last().is_some_and(|l| l.is_empty()) {
        out.pop();
    }
    truncate(&out.join("\n"), MAX_DOC).to_owned()
}

/// A Python docstring without quotes, dedented like `inspect.cleandoc`.
fn clean_docstring(text: &str) -> Option<String> {
    let text = text.trim_start_matches(|c: char| "rRuUbBfF".contains(c));
    let body = ["\"\"\"", "'''", "\"", "'"]
        .iter()
        .find_map(|q| text.strip_prefix(q).and_then(|t| t.strip_suffix(q)))?;
    let mut lines = body.lines();
    let first = lines.next().unwrap_or("").trim().to_owned();
    let rest: Vec<&str> = lines.collect();
    let indent = rest
        .iter()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start().len())
        .min()
        .unwrap_or(0);
    let mut out = vec![first];
    out.extend(
        rest.iter()
            .map(|l| l.get(indent..).unwrap_or("").trim_end().to_owned()),
    );
    let doc = out.join("\n").trim().to_owned();
    if doc.is_empty() {
        None
    } else {
        Some(truncate(&doc, MAX_DOC).to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rust_items_inside_item_macros_are_parsed() {
        let src = "cfg_rt! {\n    /// Spawns a task.\n    pub fn spawn<F>(f: F) -> JoinHandle {\n        spawn_inner(f)\n    }\n\n    cfg_net! {\n        pub struct TcpListener {\n            io: Io,\n        }\n    }\n}\n\nimpl Runtime {\n    cfg_rt! {\n        pub fn block_on(&self) {\n            let v = vec![1];\n        }\n    }\n}\n\nfn body() {\n    select! { a = x => {} }\n}\n";
        let syntax = crate::parse(src, Language::Rust);
        let found: Vec<(&str, &str, u32, u32)> = syntax
            .symbols
            .iter()
            .map(|s| (s.qualname.as_str(), s.kind.name(), s.start_line, s.end_line))
            .collect();
        assert!(found.contains(&("spawn", "function", 3, 5)), "{found:?}");
        assert!(
            found.contains(&("TcpListener", "struct", 8, 10)),
            "{found:?}"
        );
        assert!(
            found.contains(&("Runtime::block_on", "method", 16, 18)),
            "{found:?}"
        );
        let spawn = syntax.symbols.iter().find(|s| s.name == "spawn").unwrap();
        assert_eq!(spawn.doc.as_deref(), Some("Spawns a task."));
        assert!(
            syntax
                .refs
                .iter()
                .any(|r| r.name == "spawn_inner" && r.kind == RefKind::Call && r.line == 4),
            "{:?}",
            syntax.refs
        );
        // Its own chunk, not one chunk for the whole macro.
        assert!(
            syntax
                .chunks
                .iter()
                .any(|c| c.start_line <= 3 && c.end_line == 5),
            "{:?}",
            syntax
                .chunks
                .iter()
                .map(|c| (c.start_line, c.end_line))
                .collect::<Vec<_>>()
        );
    }

    #[test]
    fn rust_use_items() {
        assert_eq!(
            rust_use_pairs("std::collections::HashMap"),
            [("std::collections".into(), Some("HashMap".into()))]
        );
        assert_eq!(
            rust_use_pairs("crate::a::{b, c::D, self}"),
            [
                ("crate::a".into(), Some("b".into())),
                ("crate::a::c".into(), Some("D".into()))
            ]
        );
        assert_eq!(rust_use_pairs("foo::*"), [("foo".into(), None)]);
    }

    #[test]
    fn doc_lines_locate_docstrings_and_comments() {
        let py = "class A:\n    def f(self):\n        \"\"\"Do it.\n\n        More.\n        \"\"\"\n        return 1\n";
        let syntax = crate::parse(py, Language::Python);
        let f = syntax.symbols.iter().find(|s| s.name == "f").unwrap();
        assert_eq!(f.doc_lines, Some((3, 6)));
        let a = syntax.symbols.iter().find(|s| s.name == "A").unwrap();
        assert_eq!(a.doc_lines, None);

        let rs = "/// Adds.\n/// Twice.\n#[inline]\nfn add() {}\n\n// not a doc\n\nfn other() {}\n";
        let syntax = crate::parse(rs, Language::Rust);
        let add = syntax.symbols.iter().find(|s| s.name == "add").unwrap();
        assert_eq!(add.doc_lines, Some((1, 2)));
        assert_eq!(add.doc.as_deref(), Some("Adds.\nTwice."));
        let other = syntax.symbols.iter().find(|s| s.name == "other").unwrap();
        assert_eq!(other.doc_lines, None);
    }

    #[test]
    fn docstrings_and_comments_are_cleaned() {
        assert_eq!(
            clean_docstring("\"\"\"Send a request.\n\n    Retries on failure.\n    \"\"\"")
                .as_deref(),
            Some("Send a request.\n\nRetries on failure.")
        );
        assert_eq!(clean_docstring("r'''x'''").as_deref(), Some("x"));
        assert_eq!(
            clean_comment("/**\n * Adds.\n * @param a\n */"),
            "Adds.\n@param a"
        );
        assert_eq!(
            clean_comment("/// Line one\n/// line two"),
            "Line one\nline two"
        );
    }
}
