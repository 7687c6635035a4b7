use super::*;

fn sh(work: &Path, script: &str, limits: &Limits) -> Outcome {
    let home = tempfile::tempdir().unwrap();
    run(
        work,
        &["sh".to_owned(), "-c".to_owned(), script.to_owned()],
        &[],
        limits,
        home.path(),
    )
    .unwrap()
}

#[test]
fn the_sandbox_runs_code_in_its_scratch_copy() {
    let work = tempfile::tempdir().unwrap();
    std::fs::write(work.path().join("in.txt"), "hello").unwrap();
    let out = sh(
        work.path(),
        "cat in.txt; echo made > out.txt; pwd",
        &Limits::default(),
    );
    assert_eq!(out.ended, Ended::Exited(0), "{}", out.stderr);
    assert!(out.stdout.starts_with("hello"), "{}", out.stdout);
    assert_eq!(
        std::fs::read_to_string(work.path().join("out.txt")).unwrap(),
        "made\n"
    );
    let failing = sh(work.path(), "exit 3", &Limits::default());
    assert_eq!(failing.ended, Ended::Exited(3));
}

#[test]
fn writes_outside_the_scratch_copy_fail() {
    let work = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    let target = outside.path().join("escaped.txt");
    let script = format!("echo x > {} && echo wrote", target.display());
    let out = sh(work.path(), &script, &Limits::default());
    assert_ne!(out.ended, Ended::Exited(0), "{}", out.stdout);
    assert!(!target.exists());
    // /tmp inside is private: nothing lands in the real one.
    let marker = format!("lore-sandbox-{}", std::process::id());
    sh(
        work.path(),
        &format!("echo x > /tmp/{marker}"),
        &Limits::default(),
    );
    assert!(!Path::new("/tmp").join(&marker).exists());
}

#[test]
fn there_is_no_network() {
    let work = tempfile::tempdir().unwrap();
    // Only a loopback of its own: no interface but `lo`, and nothing
    // listening on the host's loopback is reachable.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let script = format!(
        "tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '; (exec 3<>/dev/tcp/127.0.0.1/{port}) 2>/dev/null && echo connected || echo refused"
    );
    let out = run(
        work.path(),
        &["bash".to_owned(), "-c".to_owned(), script],
        &[],
        &Limits::default(),
        tempfile::tempdir().unwrap().path(),
    )
    .unwrap();
    assert_eq!(
        out.stdout.lines().collect::<Vec<_>>(),
        ["lo", "refused"],
        "{}",
        out.stderr
    );
}

#[test]
fn a_loop_forever_is_killed_at_the_deadline() {
    let work = tempfile::tempdir().unwrap();
    let limits = Limits {
        wall: Duration::from_millis(1500),
        ..Limits::default()
    };
    let started = Instant::now();
    let out = sh(work.path(), "while :; do :; done", &limits);
    assert_eq!(out.ended, Ended::TimedOut);
    assert!(started.elapsed() < Duration::from_secs(10));
    // The CPU limit ends a busy loop on its own, by a signal.
    let cpu = Limits {
        cpu_secs: 1,
        ..Limits::default()
    };
    let out = sh(work.path(), "while :; do :; done", &cpu);
    assert!(
        matches!(out.ended, Ended::Signal(_) | Ended::Exited(_)),
        "{:?}",
        out.ended
    );
    assert_ne!(out.ended, Ended::Exited(0));
}

#[test]
fn lore_data_and_credentials_are_hidden() {
    let work = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    std::fs::write(home.path().join("secret.db"), "index").unwrap();
    let out = run(
        work.path(),
        &[
            "sh".to_owned(),
            "-c".to_owned(),
            format!("ls {}", home.path().display()),
        ],
        &[],
        &Limits::default(),
        home.path(),
    )
    .unwrap();
    assert!(!out.stdout.contains("secret.db"), "{}", out.stdout);
}

#[test]
fn credential_files_are_covered_too() {
    let home = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(home.path().join(".cargo")).unwrap();
    std::fs::create_dir_all(home.path().join(".ssh")).unwrap();
    for f in [".netrc", ".npmrc", ".cargo/credentials.toml"] {
        std::fs::write(home.path().join(f), "token").unwrap();
    }
    let lore = home.path().join("lore");
    let (dirs, files) = hidden(&lore, Some(home.path()));
    assert!(dirs.contains(&lore) && dirs.contains(&home.path().join(".ssh")));
    assert_eq!(files.len(), 3, "{files:?}");
    // In the sandbox, a covered file reads as empty, a covered
    // directory as empty.
    std::fs::write(home.path().join(".ssh/id_ed25519"), "key").unwrap();
    let work = tempfile::tempdir().unwrap();
    let out = run_as(
        work.path(),
        &[
            "sh".to_owned(),
            "-c".to_owned(),
            format!(
                "cat {h}/.netrc {h}/.cargo/credentials.toml; ls {h}/.ssh; echo done",
                h = home.path().display()
            ),
        ],
        &[],
        &Limits::default(),
        &lore,
        Some(home.path()),
    )
    .unwrap();
    assert_eq!(out.stdout.trim(), "done", "{out:?}");
}
