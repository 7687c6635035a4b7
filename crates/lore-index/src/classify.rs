//! Deciding whether a file's content is worth indexing: secrets, binary,
//! minified and generated files are skipped; invalid UTF-8 is decoded lossily.

use lore_core::store::SkippedFile;

/// Bytes inspected for NUL to call a file binary (as git does).
const BINARY_PROBE: usize = 8000;

/// File names that are always generated.
const GENERATED_NAMES: &[&str] = &[
    "Cargo.lock",
    "package-lock.json",
    "npm-shrinkwrap.json",
    "yarn.lock",
    "pnpm-lock.yaml",
    "poetry.lock",
    "Pipfile.lock",
    "uv.lock",
    "Gemfile.lock",
    "composer.lock",
    "go.sum",
    "flake.lock",
];

/// File names that hold credentials by convention.
const SECRET_NAMES: &[&str] = &[
    ".env",
    ".netrc",
    ".pgpass",
    ".npmrc",
    ".pypirc",
    ".git-credentials",
    "id_rsa",
    "id_dsa",
    "id_ecdsa",
    "id_ed25519",
    "credentials.json",
    "service-account.json",
];

/// Extensions of key and certificate stores.
const SECRET_EXTENSIONS: &[&str] = &["pem", "key", "p12", "pfx", "jks", "keystore"];

/// Why a file is a secret, if it is one: credential files by name, keys by
/// extension, and any file holding a private key block. Templates
/// (`.env.example`) are not secrets.
fn secret(file_name: &str, bytes: &[u8]) -> Option<String> {
    let lower = file_name.to_ascii_lowercase();
    let template = ["example", "sample", "template", "dist"]
        .iter()
        .any(|t| lower.ends_with(&format!(".{t}")));
    if !template {
        if SECRET_NAMES.contains(&lower.as_str()) || lower.starts_with(".env.") {
            return Some(format!("{file_name} holds credentials by convention"));
        }
        if let Some((_, ext)) = lower.rsplit_once('.')
            && SECRET_EXTENSIONS.contains(&ext)
        {
            return Some(format!("*.{ext} files hold keys or certificates"));
        }
    }
    // The whole file: a key after the first 64 KiB is still a key.
    memchr::memmem::find(bytes, b"PRIVATE KEY-----")
        .map(|_| "contains a private key block".to_owned())
}

/// The verdict on one file's content.
pub(crate) enum Verdict {
    /// Index this text; `warning` says how it was decoded when not plainly.
    Index {
        text: String,
        warning: Option<SkippedFile>,
    },
    /// Do not index.
    Skip(SkippedFile),
}

fn skip(path: &str, reason: &str, detail: String) -> Verdict {
    Verdict::Skip(SkippedFile {
        path: path.to_owned(),
        reason: reason.to_owned(),
        detail,
        indexed: false,
        seen: None,
    })
}

/// True if the first bytes contain NUL.
pub(crate) fn looks_binary(bytes: &[u8]) -> bool {
    bytes[..bytes.len().min(BINARY_PROBE)].contains(&0)
}

/// `target` is what a symlink at `path` resolves to: a link is a secret if
/// its target is one (`creds.txt -> deploy/server.key`).
pub(crate) fn classify(path: &str, target: Option<&str>, bytes: Vec<u8>) -> Verdict {
    let file_name = path.rsplit('/').next().unwrap_or(path);
    let target_name = target.map(|t| t.rsplit('/').next().unwrap_or(t));
    if let Some(why) =
        secret(file_name, &bytes).or_else(|| target_name.and_then(|t| secret(t, b"")))
    {
        return skip(path, "secret", why);
    }
    if looks_binary(&bytes) {
        return skip(path, "binary", "contains NUL bytes".into());
    }
    if GENERATED_NAMES.contains(&file_name) {
        return skip(path, "generated", "lock file".into());
    }
    if file_name.contains(".min.") || file_name.ends_with(".map") {
        return skip(
            path,
            "minified",
            format!("name {file_name} marks a minified or source-map file"),
        );
    }
    let lines = bytes.iter().filter(|&&b| b == b'\n').count() + 1;
    if bytes.len() > 2048 && bytes.len() / lines > 250 {
        return skip(
            path,
            "minified",
            format!(
                "{} bytes on {lines} lines (average line longer than 250 bytes)",
                bytes.len()
            ),
        );
    }
    let head_end = bytes
        .iter()
        .enumerate()
        .filter(|&(_, &b)| b == b'\n')
        .nth(4)
        .map_or(bytes.len(), |(i, _)| i);
    let head = String::from_utf8_lossy(&bytes[..head_end.min(2048)]).to_lowercase();
    if head.contains("@generated") || head.contains("do not edit") {
        return skip(
            path,
            "generated",
            "header marks the file as generated".into(),
        );
    }
    match String::from_utf8(bytes) {
        Ok(text) => Verdict::Index {
            text,
            warning: None,
        },
        Err(err) => {
            let at = err.utf8_error().valid_up_to();
            let text = String::from_utf8_lossy(err.as_bytes()).into_owned();
            let warning = SkippedFile {
                path: path.to_owned(),
                reason: "non-utf8".into(),
                detail: format!("invalid UTF-8 at byte {at}; indexed with replacement characters"),
                indexed: true,
                seen: None,
            };
            Verdict::Index {
                text,
                warning: Some(warning),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(path: &str, bytes: &[u8]) -> String {
        match classify(path, None, bytes.to_vec()) {
            Verdict::Skip(s) => s.reason,
            Verdict::Index {
                warning: Some(w), ..
            } => w.reason,
            Verdict::Index { .. } => "index".into(),
        }
    }

    #[test]
    fn verdicts() {
        assert_eq!(reason("a.py", b"def f():\n    pass\n"), "index");
        assert_eq!(reason("img.png", b"\x89PNG\r\n\x1a\n\0\0\0"), "binary");
        assert_eq!(reason("Cargo.lock", b"[[package]]\n"), "generated");
        assert_eq!(
            reason(
                "x.pb.go",
                b"// Code generated by protoc-gen-go. DO NOT EDIT.\npackage x\n"
            ),
            "generated"
        );
        assert_eq!(reason("app.min.js", b"var a=1;"), "minified");
        let minified = format!("var a={};", "1+".repeat(3000));
        assert_eq!(reason("app.js", minified.as_bytes()), "minified");
        assert_eq!(reason("latin1.py", b"# caf\xe9\nx = 1\n"), "non-utf8");
        assert_eq!(reason(".env", b"TOKEN=abc\n"), "secret");
        assert_eq!(reason("deploy/.env.production", b"TOKEN=abc\n"), "secret");
        assert_eq!(reason(".env.example", b"TOKEN=\n"), "index");
        assert_eq!(
            reason("certs/server.pem", b"-----BEGIN CERTIFICATE-----\n"),
            "secret"
        );
        assert_eq!(
            reason(
                "tests/keys.py",
                b"KEY = \"-----BEGIN RSA PRIVATE KEY-----\"\n"
            ),
            "secret"
        );
    }
}
