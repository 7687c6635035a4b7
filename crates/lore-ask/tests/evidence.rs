//! What answers are built from: search hits carry their chunk's whole
//! text, and a changed file is known to be stale.

use lore_index::{Home, IndexConfig, RepoIndex, SearchOptions, index_repo};
use lore_test_support::TestRepo;

#[test]
fn hits_carry_their_text_and_changed_files_are_stale() {
    let repo = TestRepo::new();
    repo.write(
        "net/retry.py",
        "def send_with_retries(request):\n    \"\"\"Give up after MAX_ATTEMPTS.\"\"\"\n    for attempt in range(MAX_ATTEMPTS):\n        if request.send():\n            return True\n    return False\n",
    );
    repo.write(
        "util/text.py",
        "def slugify(value):\n    return value.lower()\n",
    );
    repo.commit("Initial");
    let home = Home::resolve(Some(repo.home().to_owned())).unwrap();
    index_repo(&home, repo.path(), &IndexConfig::default(), &()).unwrap();
    let index = RepoIndex::open(&home, repo.path()).unwrap();

    let hits = index
        .search(
            "give up retrying",
            &SearchOptions {
                limit: 3,
                ..SearchOptions::default()
            },
        )
        .unwrap();
    let top = &hits[0];
    assert_eq!(top.at.path, "net/retry.py");
    assert!(
        top.text.starts_with("def send_with_retries(request):"),
        "{}",
        top.text
    );
    assert_eq!(
        top.text.lines().count() as u32,
        top.at.end_line - top.at.start_line + 1
    );

    assert!(!index.is_stale("net/retry.py").unwrap());
    repo.write(
        "net/retry.py",
        "def send_with_retries(request):\n    return None\n",
    );
    assert!(index.is_stale("net/retry.py").unwrap());
    assert!(!index.is_stale("util/text.py").unwrap());
    repo.remove("util/text.py");
    assert!(index.is_stale("util/text.py").unwrap());
    assert!(index.is_stale("never/indexed.py").unwrap());
}
