//! Whole questions on a fixture repository: extractive answers (snapshot),
//! callers, follow-ups, model answers with checked citations, the fallback
//! when the provider is down, and redaction of what is sent.

use lore_ask::provider::{self, ProviderConfig, ProviderKind};
use lore_ask::redact::Redactor;
use lore_ask::{AskOptions, Conversation, Exchange, Mode, ask};
use lore_index::{Home, IndexConfig, RepoIndex, index_repo};
use lore_test_support::{FakeHttp, FakeResponse, TestRepo};

fn fixture() -> (TestRepo, Home) {
    let repo = TestRepo::new();
    repo.write(
        "net/session.py",
        r#"from net.retry import backoff_delay


class Session:
    """A connection pool with cookie persistence."""

    max_redirects = 30

    def send(self, request):
        """Send a request and follow redirects up to max_redirects."""
        response = self.adapter.send(request)
        history = []
        while response.is_redirect:
            if len(history) >= self.max_redirects:
                raise TooManyRedirects(len(history))
            history.append(response)
            response = self.follow_redirect(response)
        return response

    def follow_redirect(self, response):
        """Build the next request from a redirect response."""
        location = response.headers["location"]
        return self.adapter.send(response.request.copy(url=location))


class TooManyRedirects(Exception):
    """Raised when a request is redirected more than max_redirects times."""
"#,
    );
    repo.write(
        "net/retry.py",
        r#"MAX_ATTEMPTS = 5


def backoff_delay(attempt, base=0.5):
    """Seconds to wait before retry number `attempt`."""
    return base * (2 ** attempt)


def send_with_retries(session, request):
    """Send a request, retrying failed attempts with exponential backoff."""
    for attempt in range(MAX_ATTEMPTS):
        response = session.send(request)
        if response.ok:
            return response
        sleep(backoff_delay(attempt))
    return response
"#,
    );
    repo.write(
        "app/client.py",
        r#"from net.session import Session
from net.retry import send_with_retries


def fetch(url):
    """Fetch a URL with retries."""
    session = Session()
    return send_with_retries(session, Request(url))


def fetch_once(url):
    session = Session()
    return session.send(Request(url))


def first_redirect(url):
    return fetch(url).history[0]
"#,
    );
    repo.write("settings.env", "DB_HOST=db\nDB_PASSWORD=hunter2-secret\n");
    repo.commit("Initial");
    repo.write(
        "net/retry.py",
        std::fs::read_to_string(repo.join("net/retry.py")).unwrap() + "\n",
    );
    repo.commit("Touch retry");
    let home = Home::resolve(Some(repo.home().to_owned())).unwrap();
    index_repo(&home, repo.path(), &IndexConfig::default(), &()).unwrap();
    (repo, home)
}

fn extractive(index: &RepoIndex, question: &str) -> lore_ask::Answer {
    let mut shown = String::new();
    let answer = ask(
        index,
        question,
        &Conversation::default(),
        None,
        &Redactor::builtin(),
        &AskOptions::default(),
        &mut |t| shown.push_str(t),
    )
    .unwrap();
    assert_eq!(shown, answer.text, "what is shown is the checked answer");
    assert_eq!(answer.mode, Mode::Extractive);
    assert!(answer.rejected.is_empty(), "{:?}", answer.rejected);
    answer
}

/// `repo` indexed, opened.
fn indexed(repo: &TestRepo) -> RepoIndex {
    let home = Home::resolve(Some(repo.home().to_owned())).unwrap();
    index_repo(&home, repo.path(), &IndexConfig::default(), &()).unwrap();
    RepoIndex::open(&home, repo.path()).unwrap()
}

/// An extractive answer to `question`, asked after `previous`, whose answer
/// was about `symbol`.
fn follow_up(index: &RepoIndex, previous: &str, symbol: &str, question: &str) -> lore_ask::Answer {
    let conversation = Conversation {
        summary: None,
        exchanges: vec![Exchange {
            question: previous.into(),
            answer: format!("`{symbol}` [1]"),
            symbols: vec![symbol.into()],
        }],
    };
    ask(
        index,
        question,
        &conversation,
        None,
        &Redactor::builtin(),
        &AskOptions::default(),
        &mut |_| {},
    )
    .unwrap()
}

#[test]
fn extractive_answers_name_symbols_with_cards_and_verified_citations() {
    let (repo, home) = fixture();
    let index = RepoIndex::open(&home, repo.path()).unwrap();

    let answer = extractive(
        &index,
        "where are redirects followed and how is the limit enforced?",
    );
    insta::assert_snapshot!("redirects", answer.text);
    let first = &answer.citations[0];
    assert_eq!(first.at.path, "net/session.py");
    assert_eq!(first.at.commit.as_deref().map(str::len), Some(40));
    assert!(answer.citations.iter().all(|c| !c.stale));
    for c in &answer.citations {
        let p = answer.packed.iter().find(|p| p.n == c.n).unwrap();
        assert!(
            c.at.start_line >= p.evidence.at.start_line && c.at.end_line <= p.evidence.at.end_line
        );
    }
    // Every candidate is logged with its source; chosen ones are packed.
    assert!(answer.candidates.len() >= answer.packed.len());
    assert!(answer.candidates.iter().any(|c| !c.features.is_empty()));
}

#[test]
fn what_calls_lists_the_call_sites() {
    let (repo, home) = fixture();
    let index = RepoIndex::open(&home, repo.path()).unwrap();
    let answer = extractive(&index, "what calls `send_with_retries`?");
    insta::assert_snapshot!("callers", answer.text);
    assert!(
        answer
            .text
            .starts_with("`send_with_retries` has 1 call site in 1 file"),
        "{}",
        answer.text
    );
    assert!(
        answer
            .citations
            .iter()
            .any(|c| c.at.path == "app/client.py" && c.at.start_line == 8 && c.at.end_line == 8),
        "{:?}",
        answer.citations
    );
    // Brackets in quoted code are code, not citations.
    let answer = extractive(&index, "what calls `fetch`?");
    assert!(
        answer
            .text
            .contains("`return fetch(url).history[0]` [2:17]"),
        "{}",
        answer.text
    );
}

#[test]
fn a_follow_up_resolves_against_the_previous_answer() {
    let (repo, home) = fixture();
    let index = RepoIndex::open(&home, repo.path()).unwrap();
    let answer = follow_up(
        &index,
        "how is the retry delay computed?",
        "backoff_delay",
        "and what calls it?",
    );
    assert!(answer.question.follow_up);
    assert!(
        answer.text.starts_with("`backoff_delay` has 1 call site"),
        "{}",
        answer.text
    );
    assert!(
        answer
            .citations
            .iter()
            .any(|c| c.at.path == "net/retry.py" && c.at.start_line == 15)
    );
}

#[test]
fn stale_files_are_flagged_in_citations() {
    let (repo, home) = fixture();
    repo.write("net/session.py", "# rewritten\n");
    let index = RepoIndex::open(&home, repo.path()).unwrap();
    let answer = extractive(&index, "TooManyRedirects");
    let c = answer
        .citations
        .iter()
        .find(|c| c.at.path == "net/session.py")
        .unwrap();
    assert!(c.stale);
}

fn sse(text: &[&str]) -> FakeResponse {
    let mut body = String::new();
    for t in text {
        body.push_str(&format!(
            "data: {}\n\n",
            serde_json::json!({"model": "local-model", "choices": [{"delta": {"content": t}}]})
        ));
    }
    body.push_str("data: [DONE]\n\n");
    FakeResponse {
        status: 200,
        headers: vec![("content-type".into(), "text/event-stream".into())],
        body,
    }
}

#[test]
fn model_answers_keep_verified_citations_and_drop_invented_ones() {
    let (repo, home) = fixture();
    let index = RepoIndex::open(&home, repo.path()).unwrap();
    let server = FakeHttp::start(|_| {
        sse(&[
            "`Session.send` follows redirects [1:13-17] ",
            "and raises `TooManyRedirects` [42]; see also [1:900].",
        ])
    });
    let p = provider::open(ProviderConfig::new(
        ProviderKind::OpenAi,
        &server.url(),
        "local-model",
    ));
    let mut shown = String::new();
    let answer = ask(
        &index,
        "how does `Session.send` limit redirects?",
        &Conversation::default(),
        Some(p.as_ref()),
        &Redactor::builtin(),
        &AskOptions::default(),
        &mut |t| shown.push_str(t),
    )
    .unwrap();
    assert_eq!(answer.mode, Mode::Llm);
    assert_eq!(answer.model.as_deref(), Some("local-model"));
    assert_eq!(
        answer.packed[0].evidence.at.symbol.as_deref(),
        Some("Session.send")
    );
    assert_eq!(answer.citations.len(), 1, "{:?}", answer.citations);
    assert_eq!(answer.citations[0].at.path, "net/session.py");
    assert_eq!(
        (
            answer.citations[0].at.start_line,
            answer.citations[0].at.end_line
        ),
        (13, 17)
    );
    assert_eq!(answer.rejected.len(), 2, "{:?}", answer.rejected);
    assert!(
        !shown.contains("[42]") && !shown.contains("[1:900]"),
        "{shown}"
    );
    assert_eq!(shown, answer.text);
    assert!(answer.tokens.prompt > 0 && answer.tokens.completion > 0);
    assert_eq!(answer.cost, Some(0.0), "loopback models cost nothing");

    // The prompt numbered the evidence with paths, lines and the commit.
    let body = &server.requests()[0].body;
    assert!(body.contains("[1] net/session.py:9-"), "{body}");
    assert!(body.contains(&answer.commit[..12]));
}

#[test]
fn an_unreachable_provider_falls_back_to_an_extractive_answer_with_a_notice() {
    let (repo, home) = fixture();
    let index = RepoIndex::open(&home, repo.path()).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut config = ProviderConfig::new(
        ProviderKind::Ollama,
        &format!("http://127.0.0.1:{port}"),
        "m",
    );
    config.retries = 0;
    let p = provider::open(config);
    let answer = ask(
        &index,
        "where is backoff_delay defined?",
        &Conversation::default(),
        Some(p.as_ref()),
        &Redactor::builtin(),
        &AskOptions::default(),
        &mut |_| {},
    )
    .unwrap();
    assert_eq!(answer.mode, Mode::Extractive);
    let notice = answer.notice.unwrap();
    assert!(
        notice.contains(&port.to_string()) && notice.contains("evidence alone"),
        "{notice}"
    );
    assert_eq!(answer.citations[0].at.path, "net/retry.py");
    assert_eq!(answer.citations[0].at.start_line, 4);
}

#[test]
fn secrets_are_redacted_from_what_is_sent() {
    let (repo, home) = fixture();
    let index = RepoIndex::open(&home, repo.path()).unwrap();
    let server = FakeHttp::start(|_| sse(&["The password is in settings.env [1]."]));
    let p = provider::open(ProviderConfig::new(
        ProviderKind::OpenAi,
        &server.url(),
        "m",
    ));
    let options = AskOptions {
        redact_local: true,
        ..AskOptions::default()
    };
    let answer = ask(
        &index,
        "what is DB_PASSWORD in settings.env?",
        &Conversation::default(),
        Some(p.as_ref()),
        &Redactor::builtin(),
        &options,
        &mut |_| {},
    )
    .unwrap();
    let body = &server.requests()[0].body;
    assert!(body.contains("DB_HOST=db"), "{body}");
    assert!(!body.contains("hunter2"), "{body}");
    assert!(body.contains("[REDACTED:config-secret]"));
    assert_eq!(answer.redactions, 1);
}

#[test]
fn a_conversation_keeps_its_last_50_exchanges_and_summarises_the_rest() {
    use lore_ask::session;
    use lore_core::history::HistoryStore;

    let (repo, home) = fixture();
    let index = RepoIndex::open(&home, repo.path()).unwrap();
    let mut history = lore_store::SqliteHistory::open(&repo.home().join("history.db")).unwrap();
    let conversation = history.new_conversation(0).unwrap();
    for i in 0..52 {
        let question = format!("where is backoff_delay used, take {i}?");
        let answer = ask(
            &index,
            &question,
            &session::load(&history, conversation).unwrap(),
            None,
            &Redactor::builtin(),
            &AskOptions::default(),
            &mut |_| {},
        )
        .unwrap();
        session::record(&mut history, conversation, i, &answer).unwrap();
        session::prune(&mut history, conversation, None).unwrap();
    }
    let loaded = session::load(&history, conversation).unwrap();
    assert_eq!(loaded.exchanges.len(), session::WINDOW);
    assert_eq!(
        loaded.exchanges[0].question,
        "where is backoff_delay used, take 2?"
    );
    assert_eq!(
        loaded.summary.as_deref(),
        Some(
            "Earlier questions: where is backoff_delay used, take 0? | where is backoff_delay used, take 1?"
        )
    );
    assert_eq!(loaded.exchanges[0].symbols[0], "backoff_delay");
    // Every answer stays on record, with its retrieval log.
    let all = history.recent(100).unwrap();
    assert_eq!(all.len(), 52);
    assert!(!history.candidates(all[51].id).unwrap().is_empty());
}

#[test]
fn a_type_named_in_a_how_question_leads_with_the_member_that_does_it() {
    let repo = TestRepo::new();
    repo.write(
        "pool/pool.py",
        r#"class Pool:
    """A pool of reusable database connections shared by threads."""

    size = 10

    def __init__(self, size):
        self.free = []
        self.size = size

    def checkout(self):
        """Hand out an idle connection, opening one if none is idle."""
        if self.free:
            return self.free.pop()
        return open_connection()

    def release(self, conn):
        """Put a connection back for the next caller."""
        self.free.append(conn)


def open_connection():
    return object()
"#,
    );
    repo.commit("pool");
    let index = indexed(&repo);
    let answer = extractive(&index, "How does a Pool hand out an idle connection?");
    let first = &answer.citations[0];
    assert_eq!(
        first.at.symbol.as_deref(),
        Some("Pool.checkout"),
        "{}",
        answer.text
    );
}

#[test]
fn a_capitalised_type_in_prose_leads_with_its_member_named_by_an_inflected_verb() {
    let repo = TestRepo::new();
    repo.write(
        "src/time.rs",
        r#"use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Waits until `duration` has elapsed and returns a future.
pub fn sleep(duration: u64) -> Sleep {
    Sleep::far_future(duration)
}

/// A future that completes at a deadline.
pub struct Sleep {
    deadline: u64,
    fired: bool,
}

impl Sleep {
    /// A sleep whose deadline is far in the future.
    pub(crate) fn far_future(duration: u64) -> Sleep {
        Sleep { deadline: duration * 1000, fired: false }
    }

    /// Moves the deadline.
    pub fn reset(&mut self, deadline: u64) {
        self.deadline = deadline;
        self.fired = false;
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.fired {
            return Poll::Ready(());
        }
        self.fired = clock_reached(self.deadline);
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

fn clock_reached(deadline: u64) -> bool {
    deadline == 0
}
"#,
    );
    repo.commit("time");
    let index = indexed(&repo);
    let answer = extractive(&index, "What happens when a Sleep future is polled?");
    let first = &answer.citations[0];
    assert!(
        first
            .at
            .symbol
            .as_deref()
            .is_some_and(|s| s.ends_with("poll")),
        "{}",
        answer.text
    );
}

#[test]
fn a_long_doc_comment_hit_is_cited_at_its_function() {
    let repo = TestRepo::new();
    let mut doc = String::from("/// Requires a future to finish before the deadline elapses.\n");
    for i in 0..70 {
        doc.push_str(&format!(
            "/// Line {i} about deadlines, elapsed time and cancellation.\n"
        ));
    }
    repo.write(
        "src/deadline.rs",
        format!(
            "{doc}pub fn deadline<F>(limit: u64, future: F) -> Deadline<F> {{\n    Deadline {{ limit, future }}\n}}\n\npub struct Deadline<F> {{\n    limit: u64,\n    future: F,\n}}\n"
        ),
    );
    repo.commit("deadline");
    let index = indexed(&repo);
    let answer = extractive(
        &index,
        "How does a future finish before the deadline elapses?",
    );
    let signature = 72;
    let first = answer
        .citations
        .iter()
        .find(|c| c.at.symbol.as_deref() == Some("deadline"))
        .unwrap_or_else(|| panic!("{}", answer.text));
    assert!(
        first.at.start_line <= signature && signature <= first.at.end_line,
        "{first:?}\n{}",
        answer.text
    );
    // The card cites the signature itself.
    assert!(
        answer.text.contains(&format!(":{signature}]")),
        "{}",
        answer.text
    );
}

#[test]
fn a_follow_up_about_a_method_cites_the_call_lines_themselves() {
    let (repo, home) = fixture();
    let index = RepoIndex::open(&home, repo.path()).unwrap();
    let answer = follow_up(
        &index,
        "how does a session send a request?",
        "Session.send",
        "who calls it?",
    );
    let lead = answer.text.lines().next().unwrap();
    assert!(lead.contains("call site"), "{}", answer.text);
    // Every call site listed under the lead (`path:line │ code [n:line]`)
    // is a line that calls `send`.
    let cited_lines: Vec<(String, u32)> = answer
        .text
        .lines()
        .filter_map(|l| {
            let (place, _) = l.trim().split_once(" │ ")?;
            let (path, line) = place.rsplit_once(':')?;
            Some((path.to_owned(), line.parse().ok()?))
        })
        .collect();
    assert!(!cited_lines.is_empty(), "{}", answer.text);
    for (path, line) in cited_lines {
        let text = std::fs::read_to_string(repo.join(&path)).unwrap();
        let cited = text.lines().nth(line as usize - 1).unwrap();
        assert!(
            cited.contains("send("),
            "{path}:{line} is {cited:?}\n{}",
            answer.text
        );
    }
}

#[test]
fn cards_count_uses_of_properties_and_cite_signatures_below_decorators() {
    let repo = TestRepo::new();
    repo.write(
        "shop/order.py",
        r#"import functools


def audited(func):
    """Record every call of the wrapped function in the audit trail."""
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        return func(*args, **kwargs)
    return wrapper


class Order:
    def __init__(self, lines):
        self.lines = lines

    @property
    def subtotal(self):
        """The order's subtotal before shipping and tax."""
        return sum(line.price for line in self.lines)


@audited
def invoice(order):
    return order.subtotal


@audited
def receipt(order):
    return order.subtotal * 2
"#,
    );
    repo.commit("orders");
    let index = indexed(&repo);

    let answer = extractive(&index, "what is the subtotal of an order before shipping?");
    assert!(
        answer
            .text
            .contains("used 2 times (`subtotal` read or passed, not called) in 1 file"),
        "{}",
        answer.text
    );
    // `def subtotal` is on line 17, below `@property` on line 16.
    assert!(
        answer.text.contains("`def subtotal(self)` [1:17]"),
        "{}",
        answer.text
    );
    assert!(!answer.text.contains(":16]"), "{}", answer.text);

    let answer = extractive(&index, "how is a call recorded in the audit trail?");
    assert!(answer.text.contains("`audited`"), "{}", answer.text);
    assert!(
        answer
            .text
            .contains("used 2 times (`audited` read or passed, not called)"),
        "{}",
        answer.text
    );
}

#[test]
fn what_calls_lists_library_callers_before_examples_and_tests() {
    let repo = TestRepo::new();
    repo.write(
        "lib/render.py",
        "def render(page):\n    return page.upper()\n",
    );
    for i in 0..9 {
        repo.write(
            &format!("examples/demo_{i}.py"),
            format!("from lib.render import render\n\n\ndef demo_{i}():\n    return render('page {i}')\n"),
        );
    }
    repo.write(
        "tests/test_render.py",
        "from lib.render import render\n\n\ndef test_render():\n    assert render('a') == 'A'\n",
    );
    repo.write(
        "zz/site.py",
        "from lib.render import render\n\n\ndef build_site(pages):\n    return [render(p) for p in pages]\n",
    );
    repo.commit("render");
    let index = indexed(&repo);
    let answer = extractive(&index, "what calls render?");
    let lead = answer.text.lines().next().unwrap();
    assert!(
        lead.starts_with(
            "`render` has 11 call sites in 11 files; the first: `build_site` at zz/site.py:5"
        ),
        "{}",
        answer.text
    );
}

#[test]
fn a_second_follow_up_stays_on_what_the_first_was_about() {
    let (repo, home) = fixture();
    let index = RepoIndex::open(&home, repo.path()).unwrap();
    let mut asker = lore_ask::Asker::open(home.path(), &index, lore_ask::Thread::New).unwrap();
    let request = lore_ask::AskRequest {
        no_llm: true,
        no_remote: true,
        ..lore_ask::AskRequest::default()
    };
    let first = asker
        .ask(
            &index,
            "how long does `backoff_delay` wait?",
            &request,
            &mut |_| {},
        )
        .unwrap();
    assert!(first.answer.text.contains("backoff_delay"));
    let callers = asker
        .ask(&index, "who calls it?", &request, &mut |_| {})
        .unwrap();
    assert!(
        callers.answer.text.starts_with("`backoff_delay` has"),
        "{}",
        callers.answer.text
    );
    // Its answer cites the caller (`send_with_retries`); "it" is still
    // `backoff_delay`.
    let returns = asker
        .ask(&index, "what does it return?", &request, &mut |_| {})
        .unwrap();
    assert!(
        returns
            .answer
            .text
            .starts_with("Most relevant: `backoff_delay`"),
        "{}",
        returns.answer.text
    );
}

#[test]
fn tests_and_vendored_code_do_not_crowd_out_the_code_asked_about() {
    let repo = TestRepo::new();
    repo.write(
        "core/handlers.py",
        r#"def response_for_exception(request, exc):
    """Turn an exception raised by a view into an error response."""
    return ErrorResponse(status=500, reason=str(exc))
"#,
    );
    for i in 0..25 {
        repo.write(
            &format!("tests/test_views_{i}.py"),
            format!(
                "def test_view_raises_exception_{i}(client):\n    \"\"\"A view raises an exception and the client sees an error.\"\"\"\n    raise_exception_view(client, exception={i})\n"
            ),
        );
    }
    repo.write(
        "static/vendor/widgets.js",
        "function raises(view, exception) {\n  // when a view raises an exception\n  throw exception;\n}\n",
    );
    repo.commit("handlers");
    let index = indexed(&repo);
    let answer = extractive(&index, "what happens when a view raises an exception?");
    assert_eq!(
        answer.citations[0].at.path, "core/handlers.py",
        "{}",
        answer.text
    );
}

#[test]
fn every_card_shows_the_range_its_source_lists() {
    let (repo, home) = fixture();
    let index = RepoIndex::open(&home, repo.path()).unwrap();
    for question in [
        "what calls send?",
        "how are redirects followed?",
        "how long does backoff_delay wait?",
    ] {
        let answer = extractive(&index, question);
        let mut cards = 0;
        for line in answer.text.lines() {
            // "[n] `symbol` — kind, path:a-b" and maybe " (of c-d)".
            let Some(rest) = line.strip_prefix('[') else {
                continue;
            };
            let Some((n, rest)) = rest.split_once("] `") else {
                continue;
            };
            let Some((_, place)) = rest.split_once(", ") else {
                continue;
            };
            let place = place.split(' ').next().unwrap();
            let n: usize = n.parse().unwrap();
            let packed = answer.packed.iter().find(|p| p.n == n).unwrap();
            let e = &packed.evidence;
            assert_eq!(
                place,
                format!("{}:{}-{}", e.at.path, e.at.start_line, e.at.end_line),
                "{question}\n{}",
                answer.text
            );
            cards += 1;
        }
        assert!(cards > 0, "{}", answer.text);
    }
}

#[test]
fn a_class_matching_a_word_gives_way_to_its_method_that_does_the_work() {
    let repo = TestRepo::new();
    repo.write(
        "net/link.py",
        r#"class Connection:
    """A network connection to one peer, with its socket and state."""

    timeout = 30

    def __init__(self, peer):
        self.peer = peer
        self.socket = None

    def reconnect(self, attempts):
        """Retry opening the socket after a timeout, waiting longer each time."""
        for attempt in range(attempts):
            if self.open_socket():
                return True
            wait(2 ** attempt)
        return False

    def open_socket(self):
        return self.peer is not None
"#,
    );
    repo.commit("link");
    let index = indexed(&repo);
    let answer = extractive(&index, "how does a connection retry after a timeout?");
    assert_eq!(
        answer.citations[0].at.symbol.as_deref(),
        Some("Connection.reconnect"),
        "{}",
        answer.text
    );
}

/// Summarize's cards of the evidence's functions go to the model as known
/// facts (context, not citable evidence) while they match the code.
#[test]
fn function_cards_go_with_the_evidence_while_they_are_current() {
    use lore_core::jobs::{JobStore, NewJob, Results, Spent};
    let (repo, home) = fixture();
    let index = RepoIndex::open(&home, repo.path()).unwrap();
    let id = home.repo_id(&repo.path().canonicalize().unwrap());
    let made = lore_index::thoughts::summarize(&index, &id, &[]).unwrap();
    let mut queue = lore_store::SqliteJobs::open(&home.thinker_db()).unwrap();
    let job = queue
        .enqueue(&NewJob::new("summarize", &id, "{}"), 0)
        .unwrap()
        .id;
    queue.claim("w", 0, 60_000).unwrap().unwrap();
    let results = Results {
        output: "{}",
        facts: &made.facts,
        ..Results::default()
    };
    assert!(
        queue
            .complete_with(job, "w", 1, &results, Spent::default())
            .unwrap()
    );

    let server = FakeHttp::start(|_| sse(&["It waits `base * 2 ** attempt` seconds [1]."]));
    let p = provider::open(ProviderConfig::new(
        ProviderKind::OpenAi,
        &server.url(),
        "m",
    ));
    let options = AskOptions {
        cards: Some((home.thinker_db(), id.clone())),
        ..AskOptions::default()
    };
    let ask_it = |index: &RepoIndex| {
        ask(
            index,
            "how long does backoff_delay wait?",
            &Conversation::default(),
            Some(p.as_ref()),
            &Redactor::builtin(),
            &options,
            &mut |_| {},
        )
        .unwrap()
    };
    ask_it(&index);
    let body = server.requests()[0].body.clone();
    assert!(body.contains("Known facts about these functions"), "{body}");
    assert!(
        body.contains("backoff_delay (net/retry.py:4-6): 1 call sites found by name"),
        "{body}"
    );

    // The code moves on: the card describes other code and stays out.
    repo.write(
        "net/retry.py",
        "def backoff_delay(attempt):\n    return 1\n",
    );
    index_repo(&home, repo.path(), &IndexConfig::default(), &()).unwrap();
    let index = RepoIndex::open(&home, repo.path()).unwrap();
    ask_it(&index);
    let body = &server.requests()[1].body;
    assert!(!body.contains("backoff_delay (net/retry.py:4-6)"), "{body}");
}

/// Asks `question` extractively in a new conversation; (answer id, reused
/// answer id if it came from the cache, text).
fn ask_fresh(home: &Home, repo: &TestRepo, question: &str) -> (i64, Option<i64>, String) {
    // A new index handle each time: what a new `lore ask` process sees.
    let index = RepoIndex::open(home, repo.path()).unwrap();
    let mut asker = lore_ask::Asker::open(home.path(), &index, lore_ask::Thread::New).unwrap();
    let request = lore_ask::AskRequest {
        no_llm: true,
        ..lore_ask::AskRequest::default()
    };
    let mut streamed = String::new();
    let asked = asker
        .ask(&index, question, &request, &mut |t| streamed.push_str(t))
        .unwrap();
    assert_eq!(streamed, asked.answer.text);
    (asked.id, asked.answer.reused, asked.answer.text)
}

fn reindex(home: &Home, repo: &TestRepo) {
    index_repo(home, repo.path(), &IndexConfig::default(), &()).unwrap();
}

#[test]
fn the_answer_cache_reuses_answers_until_what_they_depend_on_changes() {
    let (repo, home) = fixture();
    let (first, reused, text) = ask_fresh(&home, &repo, "How long does `backoff_delay` wait?");
    assert_eq!(reused, None);
    // The same question in other words: the same answer, from the cache,
    // recorded as a new answer with the earlier one's retrieval log.
    let (second, reused, again) = ask_fresh(&home, &repo, "how long does backoff_delay wait");
    assert_eq!(reused, Some(first));
    assert_ne!(second, first);
    assert_eq!(again, text);
    let index = RepoIndex::open(&home, repo.path()).unwrap();
    let asker = lore_ask::Asker::open(home.path(), &index, lore_ask::Thread::New).unwrap();
    use lore_core::history::HistoryStore;
    let log = |id| asker.history().candidates(id).unwrap();
    assert!(!log(first).is_empty());
    assert_eq!(log(second).len(), log(first).len());
    // Another question about the same name is not this one.
    let (_, reused, _) = ask_fresh(&home, &repo, "what calls `backoff_delay`?");
    assert_eq!(reused, None);
    let (_, reused, _) = ask_fresh(&home, &repo, "what calls `backoff_delay`?");
    assert!(reused.is_some());

    // A cited file changes: the cached answer is not served again.
    repo.write(
        "net/retry.py",
        std::fs::read_to_string(repo.join("net/retry.py"))
            .unwrap()
            .replace("base * (2 ** attempt)", "base * (3 ** attempt)"),
    );
    reindex(&home, &repo);
    let (third, reused, _) = ask_fresh(&home, &repo, "How long does `backoff_delay` wait?");
    assert_eq!(reused, None, "a stale answer was served");
    let (_, reused, _) = ask_fresh(&home, &repo, "How long does `backoff_delay` wait?");
    assert_eq!(reused, Some(third));

    // A new call site in a file the answer never looked at makes "what
    // calls" stale.
    repo.write(
        "tools/sleepy.py",
        "from net.retry import backoff_delay\n\n\ndef nap():\n    return backoff_delay(1)\n",
    );
    reindex(&home, &repo);
    let (_, reused, callers) = ask_fresh(&home, &repo, "what calls `backoff_delay`?");
    assert_eq!(reused, None, "a stale caller list was served");
    assert!(callers.contains("tools/sleepy.py"), "{callers}");
    let (hits, misses, stale) = lore_ask::cache::stats();
    assert!(
        hits >= 3 && misses >= 4 && stale >= 2,
        "{hits} {misses} {stale}"
    );

    // --no-cache answers afresh; a follow-up is never served from it.
    let index = RepoIndex::open(&home, repo.path()).unwrap();
    let mut asker = lore_ask::Asker::open(home.path(), &index, lore_ask::Thread::New).unwrap();
    let request = lore_ask::AskRequest {
        no_llm: true,
        no_cache: true,
        ..lore_ask::AskRequest::default()
    };
    let asked = asker
        .ask(&index, "what calls `backoff_delay`?", &request, &mut |_| {})
        .unwrap();
    assert_eq!(asked.answer.reused, None);
}
