use super::*;

fn hits(source: &str, lang: Language) -> Vec<(&'static str, u32)> {
    analyze(source, lang, &Thresholds::default())
        .smells
        .iter()
        .map(|s| (s.rule, s.start_line))
        .collect()
}

fn only(source: &str, lang: Language, rule: &str) -> Vec<u32> {
    hits(source, lang)
        .into_iter()
        .filter(|(r, _)| *r == rule)
        .map(|(_, l)| l)
        .collect()
}

fn metrics(source: &str, lang: Language) -> Vec<FunctionMetrics> {
    analyze(source, lang, &Thresholds::default()).functions
}

#[test]
fn cyclomatic_and_cognitive_complexity_per_language() {
    let py = "\
def f(a, b):
    if a and b:
        for x in a:
            if x:
                return 1
    elif b:
        return 2
    else:
        return 3
";
    let m = &metrics(py, Language::Python)[0];
    // if, and, for, if, elif: 1 + 5.
    assert_eq!((m.name.as_str(), m.cyclomatic), ("f", 6));
    // if +1, and +1, for +2 (nested once), if +3, elif +1, else +1.
    assert_eq!(m.cognitive, 9);
    assert_eq!(m.nesting, 3);
    assert_eq!(m.parameters, 2);

    let js = "\
function g(a) {
  if (a > 1 && a < 5 || a == 9) { return 1; }
  else if (a) { return 2; }
  else { return a ? 3 : 4; }
}
";
    let m = &metrics(js, Language::JavaScript)[0];
    // if, &&, ||, else-if, ternary.
    assert_eq!(m.cyclomatic, 6);
    // if +1, && +1, || +1, else if +1, else +1, ternary +2 (nested in
    // the `if`'s else).
    assert_eq!(m.cognitive, 7);
    assert_eq!(m.nesting, 1);

    let rs = "\
fn h(x: Option<u32>) -> u32 {
    match x {
        Some(v) if v > 3 => v,
        Some(_) => 1,
        _ => 0,
    }
}
";
    let m = &metrics(rs, Language::Rust)[0];
    // Two arms that are not the catch-all, and a guard.
    assert_eq!(m.cyclomatic, 4);
    assert_eq!(m.parameters, 1);

    let go = "\
package p
func (s *S) Run(a, b int, c string) error {
	for i := 0; i < a; i++ {
		switch {
		case i > b:
			return nil
		case i == 0:
		default:
		}
	}
	return nil
}
";
    let m = &metrics(go, Language::Go)[0];
    // for, and two cases (not the default).
    assert_eq!((m.name.as_str(), m.cyclomatic, m.parameters), ("Run", 4, 3));
    assert_eq!(m.nesting, 2);

    let java = "\
class A {
  int f(int a) {
    try { if (a > 0) { return 1; } else if (a < 0) { return 2; } }
    catch (IOException e) { log(e); }
    return 0;
  }
}
";
    let m = &metrics(java, Language::Java)[0];
    // if, else-if, catch.
    assert_eq!((m.name.as_str(), m.cyclomatic), ("f", 4));

    let c = "int add(int a, int b) { return a > b ? a : b; }\n";
    let m = &metrics(c, Language::C)[0];
    assert_eq!((m.name.as_str(), m.cyclomatic, m.parameters), ("add", 2, 2));
}

#[test]
fn metric_rules_fire_only_above_their_thresholds() {
    let branches: String = (0..20)
        .map(|i| format!("    if a == {i}:\n        return {i}\n"))
        .collect();
    let complex = format!("def f(a):\n{branches}");
    assert_eq!(only(&complex, Language::Python, rules::CYCLOMATIC), [1]);
    let simple = "def f(a):\n    if a:\n        return 1\n";
    assert!(hits(simple, Language::Python).is_empty());

    let long = format!("def f():\n{}", "    x = 1\n".repeat(120));
    assert_eq!(only(&long, Language::Python, rules::LONG_FUNCTION), [1]);
    let short = format!("def f():\n{}", "    x = 1\n".repeat(50));
    assert!(only(&short, Language::Python, rules::LONG_FUNCTION).is_empty());

    let deep = "\
function f(a) {
  if (a) { for (;;) { while (a) { if (a) { if (a) { a--; } } } } }
}
";
    assert_eq!(only(deep, Language::JavaScript, rules::NESTING), [1]);
    let shallow = "function f(a) { if (a) { for (;;) { a--; } } }\n";
    assert!(only(shallow, Language::JavaScript, rules::NESTING).is_empty());

    let many = "fn f(a: u8, b: u8, c: u8, d: u8, e: u8, f: u8, g: u8) {}\n";
    assert_eq!(only(many, Language::Rust, rules::PARAMETERS), [1]);
    let method = "impl S { fn f(&self, a: u8, b: u8, c: u8, d: u8, e: u8, f: u8) {} }\n";
    assert!(only(method, Language::Rust, rules::PARAMETERS).is_empty());
    let py_method = "class A:\n    def f(self, a, b, c, d, e, f):\n        pass\n";
    assert!(only(py_method, Language::Python, rules::PARAMETERS).is_empty());

    let tight = Thresholds {
        cyclomatic: 1,
        ..Thresholds::default()
    };
    let found = analyze(simple, Language::Python, &tight).smells;
    assert_eq!(found[0].rule, rules::CYCLOMATIC);
    assert_eq!((found[0].value, found[0].detail.as_str()), (2, "f"));
}

#[test]
fn closures_belong_to_their_function_unless_declared_at_the_top() {
    let js = "\
const handler = (req) => {
  if (req) { return 1; }
};
describe('x', () => {
  it('y', () => { if (a) { b(); } });
});
function outer() {
  return items.map((x) => x ? 1 : 2);
}
";
    let names: Vec<(String, u32)> = metrics(js, Language::JavaScript)
        .into_iter()
        .map(|m| (m.name, m.cyclomatic))
        .collect();
    assert_eq!(names, [("handler".to_owned(), 2), ("outer".to_owned(), 2)]);
}

#[test]
fn swallowed_and_broad_exception_handlers() {
    let py = "\
try:
    a()
except:
    pass
try:
    a()
except Exception:
    log()
try:
    a()
except Exception:
    raise
try:
    a()
except KeyError:
    pass
try:
    a()
except (KeyError, ValueError) as e:
    handle(e)
";
    assert_eq!(only(py, Language::Python, rules::SWALLOWED), [3, 15]);
    assert_eq!(only(py, Language::Python, rules::BROAD_CATCH), [7]);

    let js = "try { a(); } catch (e) {}\ntry { a(); } catch (e) { // ignore\n}\ntry { a(); } catch (e) { log(e); }\n";
    assert_eq!(only(js, Language::JavaScript, rules::SWALLOWED), [1, 2]);
    assert!(only(js, Language::JavaScript, rules::BROAD_CATCH).is_empty());

    let java = "\
class A { void f() {
  try { a(); } catch (Exception e) { }
  try { a(); } catch (Throwable t) { log(t); }
  try { a(); } catch (IOException e) { log(e); }
} }
";
    assert_eq!(only(java, Language::Java, rules::SWALLOWED), [2]);
    assert_eq!(only(java, Language::Java, rules::BROAD_CATCH), [3]);

    let cpp = "void f() { try { a(); } catch (...) { log(); } try { a(); } catch (const std::exception& e) {} }\n";
    assert_eq!(only(cpp, Language::Cpp, rules::BROAD_CATCH), [1]);
    assert_eq!(only(cpp, Language::Cpp, rules::SWALLOWED), [1]);
}

#[test]
fn ignored_errors_in_go_and_rust() {
    let go = "\
package p
func f() {
	_ = os.Remove(path)
	n, _ := strconv.Atoi(s)
	_ = x
	v, ok := m[k]
	err := g()
}
";
    assert_eq!(only(go, Language::Go, rules::IGNORED_ERROR), [3, 4]);
    let rs = "\
fn f() {
    let _ = std::fs::remove_file(p);
    let _ = tx.send(1);
    let _guard = lock();
    let _ = x;
    let _: Option<u8> = g();
}
";
    assert_eq!(only(rs, Language::Rust, rules::IGNORED_ERROR), [2, 3]);
}

#[test]
fn sql_built_by_formatting() {
    let py = "\
cur.execute(f\"SELECT * FROM users WHERE id = {uid}\")
cur.execute(\"SELECT * FROM users WHERE id = %s\" % uid)
cur.execute(\"SELECT name FROM t WHERE a = {}\".format(a))
cur.execute(\"DELETE FROM t WHERE id = \" + str(i))
cur.execute(\"SELECT * FROM users WHERE id = %s\", (uid,))
label = f\"select a model from {x}\"
msg = f\"Updated {n} rows\"
";
    let lines = only(py, Language::Python, rules::SQL_FORMAT);
    // The last two: plain prose. `select … from` in prose is SQL-shaped, so
    // it is found; the parameterised query (line 5) is not.
    assert_eq!(lines, [1, 2, 3, 4, 6]);

    let js = "db.query(`SELECT * FROM t WHERE id = ${id}`);\ndb.query('SELECT * FROM t WHERE id = ?', [id]);\n";
    assert_eq!(only(js, Language::JavaScript, rules::SQL_FORMAT), [1]);
    let go = "package p\nfunc f() { db.Query(fmt.Sprintf(\"SELECT * FROM t WHERE id = %d\", id)); db.Query(\"SELECT * FROM t WHERE id = $1\", id) }\n";
    assert_eq!(only(go, Language::Go, rules::SQL_FORMAT), [2]);
    let rs = "fn f() { conn.execute(&format!(\"DELETE FROM t WHERE id = {}\", id)); conn.execute(\"DELETE FROM t WHERE id = ?1\", [id]); }\n";
    assert_eq!(only(rs, Language::Rust, rules::SQL_FORMAT), [1]);
    let java = "class A { void f() { st.execute(\"SELECT * FROM t WHERE id = \" + id); st.execute(\"SELECT * FROM t\"); } }\n";
    assert_eq!(only(java, Language::Java, rules::SQL_FORMAT), [1]);
}

#[test]
fn eval_exec_and_shell_commands() {
    let py = "\
eval(expr)
exec(code)
eval(\"1 + 1\")
subprocess.run(cmd, shell=True)
subprocess.run(f\"ls {d}\", shell=True)
os.system(\"rm -rf \" + path)
os.system(\"make\")
subprocess.run([\"ls\", d])
cursor.execute(q)
";
    let found = hits(py, Language::Python);
    assert_eq!(
        found,
        [
            (rules::EVAL, 1),
            (rules::EVAL, 2),
            (rules::SHELL_TRUE, 4),
            (rules::SHELL_FORMAT, 5),
            (rules::SHELL_FORMAT, 6),
        ]
    );
    let js = "\
eval(code);
const f = new Function('a', body);
child_process.exec(`rm -rf ${dir}`);
child_process.execSync('make');
/re/.exec(s);
";
    assert_eq!(
        hits(js, Language::JavaScript),
        [(rules::EVAL, 1), (rules::EVAL, 2), (rules::SHELL_FORMAT, 3)]
    );
    let go = "package p\nfunc f() { exec.Command(\"sh\", \"-c\", \"ls \"+dir); exec.Command(\"ls\", dir) }\n";
    assert_eq!(only(go, Language::Go, rules::SHELL_FORMAT), [2]);
    let c = "void f(char *cmd) { system(cmd); system(\"ls\"); }\n";
    assert_eq!(only(c, Language::C, rules::SHELL_FORMAT), [1]);
}

#[test]
fn todo_notes_in_comments_only() {
    let py = "# TODO: split this\nx = 'TODO in a string'\ny = 1  # FIXME later\n# todoist is fine\n# XXXL is a size\n";
    let found = analyze(py, Language::Python, &Thresholds::default()).smells;
    let notes: Vec<(u32, &str)> = found
        .iter()
        .map(|s| (s.start_line, s.detail.as_str()))
        .collect();
    assert_eq!(notes, [(1, "TODO: split this"), (3, "FIXME later")]);
    let rs = "/* first\n * HACK: around a bug\n */\nfn f() {}\n";
    assert_eq!(only(rs, Language::Rust, rules::TODO), [2]);
    // Languages without a grammar: comment-looking lines.
    let sh = "#!/bin/sh\n# TODO: quote\necho TODO\n";
    assert_eq!(only(sh, Language::Text, rules::TODO), [2]);
}
