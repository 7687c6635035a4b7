//! Entry points of a file: main functions, CLI commands and HTTP routes of
//! the common frameworks, found by patterns over the file's text and its
//! outline (no code runs). Each is cited by its line.

use std::sync::LazyLock;

use lore_core::Language;
use lore_core::store::SymbolRow;
use regex::Regex;
use serde::{Deserialize, Serialize};

/// One entry point.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryPoint {
    /// `main`, `cli` or `route`.
    pub kind: String,
    /// `flask`, `django`, `fastapi`, `express`, `gin`, `net/http`, `axum`,
    /// `actix`, `spring`, `clap`, `click`, `argparse`, `commander`,
    /// `cobra`, `django-command`; empty for a main function.
    pub framework: String,
    /// The route (`/users/<id>`), the command's name, or `main`.
    pub name: String,
    /// HTTP method(s) of a route (`GET`, `ANY`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub method: String,
    /// The function handling it, when known.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub handler: String,
    /// File.
    pub path: String,
    /// Line of the declaration.
    pub line: u32,
}

struct Pattern {
    langs: &'static [Language],
    kind: &'static str,
    framework: &'static str,
    re: Regex,
    /// Capture group of the name (route or command), 0 for none.
    name: usize,
    /// Capture group of the method, 0 for none (then `method`).
    method_group: usize,
    method: &'static str,
    /// Capture group of the handler, 0: the next function in the outline.
    handler: usize,
}

const PY: &[Language] = &[Language::Python];
const JS: &[Language] = &[Language::JavaScript, Language::TypeScript, Language::Tsx];
const GO: &[Language] = &[Language::Go];
const RS: &[Language] = &[Language::Rust];
const JAVA: &[Language] = &[Language::Java];

fn p(
    langs: &'static [Language],
    kind: &'static str,
    framework: &'static str,
    re: &str,
    (name, method_group, method, handler): (usize, usize, &'static str, usize),
) -> Pattern {
    Pattern {
        langs,
        kind,
        framework,
        re: Regex::new(re).expect("entry-point pattern compiles"),
        name,
        method_group,
        method,
        handler,
    }
}

static PATTERNS: LazyLock<Vec<Pattern>> = LazyLock::new(|| {
    vec![
        // Python.
        p(
            PY,
            "main",
            "",
            r#"(?m)^if\s+__name__\s*==\s*['"]__main__['"]"#,
            (0, 0, "", 0),
        ),
        p(
            PY,
            "route",
            "flask",
            r#"(?m)^[ \t]*@\w+\.route\(\s*['"]([^'"]*)['"](?:[^)]*methods\s*=\s*[\[(]([^\])]*))?"#,
            (1, 2, "GET", 0),
        ),
        p(
            PY,
            "route",
            "fastapi",
            r#"(?m)^[ \t]*@\w+\.(get|post|put|delete|patch|head|options|websocket)\(\s*['"]([^'"]*)['"]"#,
            (2, 1, "", 0),
        ),
        p(
            PY,
            "route",
            "django",
            r#"(?m)\b(?:re_path|path|url)\(\s*r?['"]([^'"]*)['"]\s*,\s*([\w.]+)"#,
            (1, 0, "ANY", 2),
        ),
        p(
            PY,
            "cli",
            "click",
            r#"(?m)^[ \t]*@(?:\w+\.)?(?:command|group)\((?:\s*['"]([\w-]+)['"])?"#,
            (1, 0, "", 0),
        ),
        p(
            PY,
            "cli",
            "argparse",
            r#"\badd_parser\(\s*['"]([\w-]+)['"]"#,
            (1, 0, "", 0),
        ),
        // JavaScript and TypeScript.
        p(
            JS,
            "route",
            "express",
            r#"\b(?:app|router|server|api|\w+Router)\.(get|post|put|delete|patch|all|options|head)\(\s*['"`](/[^'"`]*)['"`]"#,
            (2, 1, "", 0),
        ),
        p(
            JS,
            "cli",
            "commander",
            r#"\.command\(\s*['"`]([\w:-]+)"#,
            (1, 0, "", 0),
        ),
        // Go.
        p(
            GO,
            "route",
            "gin",
            r#"\.(GET|POST|PUT|DELETE|PATCH|HEAD|OPTIONS|Any)\(\s*"([^"]*)"\s*,\s*(?:[\w.]+\s*,\s*)*([\w.]+)\s*\)"#,
            (2, 1, "", 3),
        ),
        p(
            GO,
            "route",
            "net/http",
            r#"\b\w+\.(?:HandleFunc|Handle)\(\s*"([^"]*)"\s*,\s*([\w.]+)"#,
            (1, 0, "ANY", 2),
        ),
        p(GO, "cli", "cobra", r#"\bUse:\s*"([\w-]+)"#, (1, 0, "", 0)),
        // Rust.
        p(
            RS,
            "route",
            "axum",
            r#"\.route\(\s*"([^"]*)"\s*,\s*(get|post|put|delete|patch|head|options|any)\(\s*([\w:]+)"#,
            (1, 2, "", 3),
        ),
        p(
            RS,
            "route",
            "actix",
            r#"(?m)^[ \t]*#\[(get|post|put|delete|patch|head)\(\s*"([^"]*)""#,
            (2, 1, "", 0),
        ),
        p(
            RS,
            "cli",
            "clap",
            r#"(?m)^[ \t]*#\[derive\([^)]*\b(Parser|Subcommand)\b"#,
            (0, 0, "", 0),
        ),
        // Java.
        p(
            JAVA,
            "route",
            "spring",
            r#"@(Get|Post|Put|Delete|Patch|Request)Mapping\(\s*(?:(?:value|path)\s*=\s*)?\{?\s*"([^"]*)""#,
            (2, 1, "", 0),
        ),
    ]
});

/// Whether `path` holds tests (by the conventions of the common test
/// runners).
pub fn is_test_path(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    let stem = name.split('.').next().unwrap_or(name);
    path.split('/').any(|c| {
        matches!(
            c,
            "test" | "tests" | "__tests__" | "spec" | "specs" | "testing"
        )
    }) || stem.starts_with("test_")
        || stem.ends_with("_test")
        || stem.ends_with("_tests")
        || name.contains(".test.")
        || name.contains(".spec.")
        || stem.ends_with("Test")
        || stem.ends_with("Tests")
        || name == "conftest.py"
}

fn line_at(text: &str, offset: usize) -> u32 {
    memchr::memchr_iter(b'\n', &text.as_bytes()[..offset]).count() as u32 + 1
}

/// The entry points of `path` (`lang`, `text`, its `symbols` in line
/// order).
pub fn entry_points(
    path: &str,
    lang: Language,
    text: &str,
    symbols: &[SymbolRow],
) -> Vec<EntryPoint> {
    let mut out = Vec::new();
    let next_function = |line: u32| {
        symbols
            .iter()
            .filter(|s| s.start_line >= line && s.kind.name() != "class")
            .min_by_key(|s| s.start_line)
            .map(|s| s.qualname.clone())
            .unwrap_or_default()
    };
    // A main function of the compiled languages.
    for s in symbols {
        let is_main = s.name == "main"
            && match lang {
                Language::Rust | Language::Go | Language::C | Language::Cpp => {
                    s.parent_id.is_none()
                }
                Language::Java => s.signature.contains("static"),
                _ => false,
            };
        if is_main {
            out.push(EntryPoint {
                kind: "main".into(),
                framework: String::new(),
                name: "main".into(),
                method: String::new(),
                handler: s.qualname.clone(),
                path: path.to_owned(),
                line: s.start_line,
            });
        }
    }
    if lang == Language::Python
        && let Some(cmd) = path
            .strip_suffix(".py")
            .and_then(|p| p.rsplit_once("management/commands/"))
            .map(|(_, name)| name)
        && !cmd.contains('/')
        && !cmd.starts_with('_')
        && text.contains("class Command(")
    {
        out.push(EntryPoint {
            kind: "cli".into(),
            framework: "django-command".into(),
            name: cmd.to_owned(),
            method: String::new(),
            handler: "Command.handle".into(),
            path: path.to_owned(),
            line: symbols
                .iter()
                .find(|s| s.qualname == "Command")
                .map_or(1, |s| s.start_line),
        });
    }
    for pat in PATTERNS.iter().filter(|p| p.langs.contains(&lang)) {
        // FastAPI's decorators are Flask 2's too: tell them by the import.
        let framework = if pat.framework == "fastapi" && !text.contains("fastapi") {
            "flask"
        } else {
            pat.framework
        };
        for caps in pat.re.captures_iter(text) {
            let whole = caps.get(0).expect("a match has group 0");
            let line = line_at(text, whole.start());
            let group = |i: usize| {
                (i > 0)
                    .then(|| caps.get(i))
                    .flatten()
                    .map_or(String::new(), |m| m.as_str().trim().to_owned())
            };
            let method = if pat.method_group > 0 && caps.get(pat.method_group).is_some() {
                group(pat.method_group)
                    .split(',')
                    .map(|m| {
                        m.trim()
                            .trim_matches(|c| c == '\'' || c == '"')
                            .to_uppercase()
                    })
                    .filter(|m| !m.is_empty())
                    .collect::<Vec<_>>()
                    .join(",")
            } else {
                pat.method.to_owned()
            };
            let method = match method.as_str() {
                "REQUEST" | "ALL" => "ANY".to_owned(),
                _ => method,
            };
            let handler = if pat.handler > 0 {
                group(pat.handler)
            } else {
                next_function(line)
            };
            let name = match (pat.name, pat.kind) {
                (0, "main") => "main".to_owned(),
                (0, _) => handler.clone(),
                (i, _) => {
                    let n = group(i);
                    if n.is_empty() { handler.clone() } else { n }
                }
            };
            out.push(EntryPoint {
                kind: pat.kind.into(),
                framework: framework.into(),
                name,
                method,
                handler,
                path: path.to_owned(),
                line,
            });
        }
    }
    out.sort_by(|a, b| (a.line, &a.kind).cmp(&(b.line, &b.kind)));
    out.dedup_by(|a, b| a.line == b.line && a.kind == b.kind);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use lore_core::SymbolKind;

    fn sym(name: &str, line: u32, signature: &str, top: bool) -> SymbolRow {
        SymbolRow {
            id: i64::from(line),
            parent_id: (!top).then_some(0),
            path: String::new(),
            lang: Language::Python,
            name: name.rsplit('.').next().unwrap().into(),
            qualname: name.into(),
            kind: SymbolKind::Function,
            signature: signature.into(),
            doc: None,
            start_line: line,
            end_line: line + 2,
        }
    }

    fn found(path: &str, lang: Language, text: &str, syms: &[SymbolRow]) -> Vec<String> {
        entry_points(path, lang, text, syms)
            .into_iter()
            .map(|e| {
                format!(
                    "{} {} {} {} {} :{}",
                    e.kind, e.framework, e.method, e.name, e.handler, e.line
                )
            })
            .collect()
    }

    #[test]
    fn python_frameworks() {
        let flask = "from flask import Flask\napp = Flask(__name__)\n\n@app.route('/users/<id>', methods=['GET', 'POST'])\ndef user(id):\n    pass\n\n@app.get('/health')\ndef health():\n    pass\n\nif __name__ == '__main__':\n    app.run()\n";
        let syms = [
            sym("user", 5, "def user(id):", true),
            sym("health", 9, "def health():", true),
        ];
        assert_eq!(
            found("app.py", Language::Python, flask, &syms),
            [
                "route flask GET,POST /users/<id> user :4",
                "route flask GET /health health :8",
                "main   main  :12",
            ]
        );
        let fastapi = "from fastapi import APIRouter\nrouter = APIRouter()\n\n@router.post(\"/items\")\nasync def create_item(item):\n    pass\n";
        let syms = [sym("create_item", 5, "async def create_item(item):", true)];
        assert_eq!(
            found("api.py", Language::Python, fastapi, &syms),
            ["route fastapi POST /items create_item :4"]
        );
        let django = "from django.urls import path, re_path\nfrom . import views\n\nurlpatterns = [\n    path('articles/<int:year>/', views.year_archive),\n    re_path(r'^about/$', views.AboutView.as_view()),\n]\n";
        assert_eq!(
            found("blog/urls.py", Language::Python, django, &[]),
            [
                "route django ANY articles/<int:year>/ views.year_archive :5",
                "route django ANY ^about/$ views.AboutView.as_view :6",
            ]
        );
        let cmd = "from django.core.management.base import BaseCommand\n\nclass Command(BaseCommand):\n    def handle(self, *args, **options):\n        pass\n";
        let mut class = sym("Command", 3, "class Command(BaseCommand):", true);
        class.kind = SymbolKind::Class;
        assert_eq!(
            found(
                "shop/management/commands/reindex.py",
                Language::Python,
                cmd,
                &[class]
            ),
            ["cli django-command  reindex Command.handle :3"]
        );
        let click = "import click\n\n@click.command()\ndef serve():\n    pass\n";
        assert_eq!(
            found(
                "cli.py",
                Language::Python,
                click,
                &[sym("serve", 4, "def serve():", true)]
            ),
            ["cli click  serve serve :3"]
        );
    }

    #[test]
    fn javascript_go_rust_and_java_frameworks() {
        let express = "const app = express();\napp.get('/users/:id', getUser);\nrouter.post(`/login`, (req, res) => {});\nprogram.command('build <dir>');\n";
        assert_eq!(
            found("server.js", Language::JavaScript, express, &[]),
            [
                "route express GET /users/:id  :2",
                "route express POST /login  :3",
                "cli commander  build  :4",
            ]
        );
        let gin = "func main() {\n\tr := gin.Default()\n\tr.GET(\"/ping\", handlers.Ping)\n\thttp.HandleFunc(\"/health\", health)\n}\n";
        let main = SymbolRow {
            lang: Language::Go,
            ..sym("main", 1, "func main()", true)
        };
        assert_eq!(
            found("main.go", Language::Go, gin, &[main]),
            [
                "main   main main :1",
                "route gin GET /ping handlers.Ping :3",
                "route net/http ANY /health health :4",
            ]
        );
        let axum = "let app = Router::new()\n    .route(\"/users\", get(list_users))\n    .route(\"/users/:id\", post(update));\n\n#[get(\"/hello/{name}\")]\nasync fn greet() {}\n\n#[derive(Debug, Parser)]\nstruct Cli {}\n";
        let syms = [
            sym("greet", 6, "async fn greet()", true),
            sym("Cli", 9, "struct Cli", true),
        ];
        assert_eq!(
            found("src/main.rs", Language::Rust, axum, &syms),
            [
                "route axum GET /users list_users :2",
                "route axum POST /users/:id update :3",
                "route actix GET /hello/{name} greet :5",
                "cli clap  Cli Cli :8",
            ]
        );
        let spring = "@RestController\nclass Users {\n  @GetMapping(\"/users/{id}\")\n  User get(long id) { return null; }\n  @RequestMapping(value = \"/all\")\n  List<User> all() { return null; }\n  public static void main(String[] args) {}\n}\n";
        let syms = [
            sym("Users.get", 4, "User get(long id)", false),
            sym("Users.all", 6, "List<User> all()", false),
            sym(
                "Users.main",
                7,
                "public static void main(String[] args)",
                false,
            ),
        ];
        assert_eq!(
            found("src/Users.java", Language::Java, spring, &syms),
            [
                "route spring GET /users/{id} Users.get :3",
                "route spring ANY /all Users.all :5",
                "main   main Users.main :7",
            ]
        );
    }

    #[test]
    fn test_paths_follow_the_runners_conventions() {
        for t in [
            "tests/test_api.py",
            "pkg/api_test.go",
            "src/app.test.ts",
            "src/__tests__/x.js",
            "src/test/java/FooTest.java",
            "conftest.py",
        ] {
            assert!(is_test_path(t), "{t}");
        }
        for t in [
            "src/app.py",
            "src/testing_utils_x.rs",
            "contest.py",
            "latest.go",
        ] {
            assert!(!is_test_path(t), "{t}");
        }
    }
}
