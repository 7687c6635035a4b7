use super::*;

#[test]
fn a_python_traceback_is_read_into_frames_names_and_the_message() {
    let s = read_symptom(
        "Traceback (most recent call last):\n  File \"app/views.py\", line 42, in show\n    total = compute_total(cart)\nValueError: invalid literal for int() with base 10: 'abc'\n",
    );
    assert_eq!(s.frames, [("app/views.py".to_owned(), 42)]);
    assert!(s.names.contains(&"ValueError".to_owned()), "{s:?}");
    assert!(s.names.contains(&"compute_total".to_owned()), "{s:?}");
    assert!(
        s.literals
            .iter()
            .any(|l| l.starts_with("invalid literal for int()")),
        "{s:?}"
    );
}

#[test]
fn quotes_identifiers_and_frames_of_other_languages() {
    let s = read_symptom("panic at 'index out of bounds' in Buffer::push_slice");
    assert_eq!(s.literals, ["index out of bounds"]);
    assert!(s.names.contains(&"push_slice".to_owned()), "{s:?}");
    let s = read_symptom("TypeError: x is not a function\n    at render (src/view.js:10:5)");
    assert_eq!(s.frames, [("src/view.js".to_owned(), 10)]);
    let s = read_symptom("thread 'main' panicked at src/codec.rs:88:9:");
    assert_eq!(s.frames, [("src/codec.rs".to_owned(), 88)]);
    // Plain words are not names.
    let s = read_symptom("the server hangs when the client disconnects");
    assert!(s.names.is_empty(), "{s:?}");
    assert!(s.literals.is_empty(), "{s:?}");
}

#[test]
fn raise_lines_in_several_languages() {
    for line in [
        "    raise ValueError(\"bad\")",
        "  throw new Error('bad')",
        "        panic!(\"bad\")",
        "\treturn fmt.Errorf(\"bad: %w\", err)",
        "        return Err(Error::new(\"bad\"))",
    ] {
        assert!(is_raise_line(line), "{line}");
    }
    assert!(!is_raise_line("    total = compute(x)"));
}

#[test]
fn a_message_is_matched_by_its_runs_of_plain_words() {
    assert_eq!(
        fragments("negative invoice total for account 42"),
        ["negative invoice total for account"]
    );
    assert_eq!(
        fragments("cannot open '/tmp/x.db': permission denied by policy"),
        ["permission denied by policy"],
        "`cannot open` is two words and under 12 characters"
    );
    assert!(fragments("short").is_empty());
}
