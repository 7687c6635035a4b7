//! Secret redaction before text leaves this machine.
//!
//! The rule set is gitleaks' (v8.30.1, MIT, vendored as data in
//! `data/gitleaks-rules.json` with its licence): 221 rules for private
//! keys, cloud access keys, API tokens of known services and generic
//! key/secret/password assignments, each with keywords that must appear
//! before its regex runs, an optional secret group and a minimum entropy.
//! Regexes are compiled on the first text containing one of their
//! keywords, so text without secrets costs a few substring scans.
//!
//! On top of it, one rule of Lore's: in `.env` and configuration files a
//! value assigned to a password, secret, token or key name is a secret
//! whatever its entropy (`DB_PASSWORD=hunter2`).
//!
//! A secret is replaced by `[REDACTED:rule]` followed by as many line
//! breaks as it spanned, so line numbers — and citations — stay valid.

use std::sync::OnceLock;

use regex::Regex;
use serde::Deserialize;

const RULES: &str = include_str!("../data/gitleaks-rules.json");

#[derive(Deserialize)]
struct RuleFile {
    allow_secret: Vec<String>,
    rules: Vec<RuleSpec>,
}

#[derive(Deserialize)]
struct RuleSpec {
    id: String,
    pattern: String,
    keywords: Vec<String>,
    #[serde(default)]
    group: Option<usize>,
    #[serde(default)]
    entropy: f32,
    #[serde(default)]
    path: Option<String>,
    #[serde(default)]
    allow: Vec<String>,
}

struct Rule {
    spec: RuleSpec,
    /// Compiled on first use; `None` if the regex crate rejects it.
    compiled: OnceLock<Option<Compiled>>,
}

struct Compiled {
    pattern: Regex,
    path: Option<Regex>,
    allow: Vec<Regex>,
}

/// A secret found in a text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// The rule that found it.
    pub rule: String,
    /// Byte range of the secret.
    pub start: usize,
    /// End of the byte range.
    pub end: usize,
}

/// Finds and redacts secrets.
pub struct Redactor {
    rules: Vec<Rule>,
    allow: Vec<Regex>,
    config_file: Regex,
    config_value: Regex,
    code_literal: Regex,
    url_password: Regex,
}

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Redactor")
            .field("rules", &self.rules.len())
            .finish()
    }
}

impl Default for Redactor {
    fn default() -> Redactor {
        Redactor::builtin()
    }
}

impl Redactor {
    /// The vendored gitleaks rules plus Lore's configuration-file rule.
    pub fn builtin() -> Redactor {
        let file: RuleFile =
            serde_json::from_str(RULES).expect("the vendored rule file is valid JSON");
        Redactor {
            allow: file
                .allow_secret
                .iter()
                .filter_map(|r| Regex::new(r).ok())
                .collect(),
            rules: file
                .rules
                .into_iter()
                .map(|spec| Rule {
                    spec,
                    compiled: OnceLock::new(),
                })
                .collect(),
            config_file: Regex::new(
                r"(?i)(?:^|/)(?:\.env(?:\..*)?|[^/]*\.(?:env|ini|cfg|conf|properties|toml|ya?ml|netrc|npmrc|pypirc))$",
            )
            .expect("valid regex"),
            config_value: Regex::new(
                r#"(?im)^[ \t]*(?:export[ \t]+)?["']?[\w.-]*(?:pass(?:word|wd)?|pwd|secret|token|api[_.-]?key|access[_.-]?key|private[_.-]?key|credentials?|auth)[\w.-]*["']?[ \t]*[:=][ \t]*["']?([^\s"'#]+)"#,
            )
            .expect("valid regex"),
            code_literal: Regex::new(
                r#"(?i)[\w.-]*(?:pass(?:word|wd)?|pwd|secret|token|api[_.-]?key|access[_.-]?key|private[_.-]?key|credentials?)[\w]*["']?[ \t]*(?::=|=>|:|=)[ \t]*[rbuf]{0,2}(?:"([^"\s{}$%]{1,200})"|'([^'\s{}$%]{1,200})')"#,
            )
            .expect("valid regex"),
            url_password: Regex::new(r"(?i)\b[a-z][a-z0-9+.-]*://[^\s:/@]+:([^\s/@]+)@")
                .expect("valid regex"),
        }
    }

    /// Number of rules.
    pub fn len(&self) -> usize {
        self.rules.len() + 3
    }

    /// Always false: the built-in rules are never empty.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Secrets in `text` of the file `path` (empty for text that is not a
    /// file, such as a question), by position, without overlaps.
    pub fn find(&self, text: &str, path: &str) -> Vec<Finding> {
        let lower = text.to_lowercase();
        let mut found = Vec::new();
        for rule in &self.rules {
            let spec = &rule.spec;
            if !spec.keywords.is_empty()
                && !spec.keywords.iter().any(|k| lower.contains(k.as_str()))
            {
                continue;
            }
            let Some(compiled) = rule.compiled.get_or_init(|| compile(spec)) else {
                continue;
            };
            if let Some(only) = &compiled.path
                && !only.is_match(path)
            {
                continue;
            }
            for caps in compiled.pattern.captures_iter(text) {
                let secret = match spec.group {
                    Some(g) => caps.get(g),
                    None => (1..caps.len())
                        .filter_map(|g| caps.get(g))
                        .find(|m| !m.is_empty())
                        .or_else(|| caps.get(0)),
                };
                let Some(secret) = secret else { continue };
                let value = secret.as_str();
                if value.is_empty()
                    || (spec.entropy > 0.0 && entropy(value.as_bytes()) < spec.entropy)
                    || self.allow.iter().any(|a| a.is_match(value))
                    || compiled.allow.iter().any(|a| a.is_match(value))
                {
                    continue;
                }
                found.push(Finding {
                    rule: spec.id.clone(),
                    start: secret.start(),
                    end: secret.end(),
                });
            }
        }
        // Lore's rules for any text: a string literal assigned to a
        // password, secret, token or key name (`DB_PASSWORD = "hunter2"`,
        // whatever its entropy; templates such as "{pw}" or "${PW}" are not
        // values), and the password of a URL (`postgres://user:pw@host`).
        for (rule, regex) in [
            ("code-secret", &self.code_literal),
            ("url-password", &self.url_password),
        ] {
            for caps in regex.captures_iter(text) {
                let Some(value) = caps.get(1).or_else(|| caps.get(2)) else {
                    continue;
                };
                if self.allow.iter().any(|a| a.is_match(value.as_str())) {
                    continue;
                }
                found.push(Finding {
                    rule: rule.into(),
                    start: value.start(),
                    end: value.end(),
                });
            }
        }
        if self.config_file.is_match(path) {
            for caps in self.config_value.captures_iter(text) {
                let Some(value) = caps.get(1) else { continue };
                if self.allow.iter().any(|a| a.is_match(value.as_str())) {
                    continue;
                }
                found.push(Finding {
                    rule: "config-secret".into(),
                    start: value.start(),
                    end: value.end(),
                });
            }
        }
        found.sort_by_key(|f| (f.start, std::cmp::Reverse(f.end)));
        let mut merged: Vec<Finding> = Vec::new();
        for f in found {
            match merged.last_mut() {
                Some(last) if f.start < last.end => last.end = last.end.max(f.end),
                _ => merged.push(f),
            }
        }
        merged
    }

    /// `text` with every secret replaced, and how many there were.
    pub fn redact(&self, text: &str, path: &str) -> (String, usize) {
        let findings = self.find(text, path);
        if findings.is_empty() {
            return (text.to_owned(), 0);
        }
        let mut out = String::with_capacity(text.len());
        let mut at = 0;
        for f in &findings {
            out.push_str(&text[at..f.start]);
            out.push_str(&format!("[REDACTED:{}]", f.rule));
            out.extend(std::iter::repeat_n(
                '\n',
                text[f.start..f.end].matches('\n').count(),
            ));
            at = f.end;
        }
        out.push_str(&text[at..]);
        (out, findings.len())
    }
}

fn compile(spec: &RuleSpec) -> Option<Compiled> {
    // Long counted repetitions of `\w` (`[\w-]{50,1000}`) exceed the
    // default size limit with Unicode classes.
    let pattern = match regex::RegexBuilder::new(&spec.pattern)
        .size_limit(64 << 20)
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            tracing::debug!(rule = %spec.id, "secret rule skipped: {e}");
            return None;
        }
    };
    Some(Compiled {
        pattern,
        path: spec.path.as_deref().and_then(|p| Regex::new(p).ok()),
        allow: spec
            .allow
            .iter()
            .filter_map(|a| Regex::new(a).ok())
            .collect(),
    })
}

/// Shannon entropy in bits per byte.
fn entropy(bytes: &[u8]) -> f32 {
    let mut counts = [0u32; 256];
    for &b in bytes {
        counts[b as usize] += 1;
    }
    let n = bytes.len() as f32;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = c as f32 / n;
            -p * p.log2()
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn redacted(text: &str, path: &str) -> (String, usize) {
        Redactor::builtin().redact(text, path)
    }

    #[test]
    fn every_vendored_rule_compiles() {
        let r = Redactor::builtin();
        let failed: Vec<&str> = r
            .rules
            .iter()
            .filter(|rule| compile(&rule.spec).is_none())
            .map(|rule| rule.spec.id.as_str())
            .collect();
        assert!(
            failed.is_empty(),
            "rules the regex crate rejects: {failed:?}"
        );
        assert!(r.len() > 200);
    }

    #[test]
    fn cloud_keys_and_service_tokens_are_redacted() {
        let (out, n) = redacted(
            "aws_access_key_id = AKIAZ7QXR4JLMW2PQ5TN\nclient = Github(\"ghp_4dH7kLmQ9xZ2vB8nR1tY6wE3sA5fG0jK7pLq\")\n",
            "deploy.py",
        );
        assert_eq!(n, 2, "{out}");
        assert!(!out.contains("AKIAZ7QXR4JLMW2PQ5TN"), "{out}");
        assert!(!out.contains("ghp_4dH7"), "{out}");
        assert!(out.contains("[REDACTED:aws-access-token]"), "{out}");
        assert_eq!(out.lines().count(), 2);
    }

    #[test]
    fn a_private_key_keeps_its_line_count() {
        let key = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun\nVTLw7onLRnrq0/IzW7yWR7QkrmBL7jTKEn5u+qKhbwKfBstIs+bMY2Zkp18gnTxK\n-----END RSA PRIVATE KEY-----";
        let text = format!("line one\n{key}\nline last\n");
        let (out, n) = redacted(&text, "certs/server.pem");
        assert_eq!(n, 1, "{out}");
        assert!(!out.contains("MIIEowIBAAKCAQEA"), "{out}");
        assert_eq!(out.lines().count(), text.lines().count());
        assert_eq!(out.lines().last(), Some("line last"));
    }

    #[test]
    fn passwords_in_env_and_config_files_are_redacted_but_placeholders_are_not() {
        let env =
            "DEBUG=1\nDB_PASSWORD=hunter2\nexport API_TOKEN='abc123'\nSECRET_KEY=${SECRET_KEY}\n";
        let (out, n) = redacted(env, ".env.production");
        assert_eq!(n, 2, "{out}");
        assert!(out.contains("DEBUG=1"));
        assert!(!out.contains("hunter2") && !out.contains("abc123"), "{out}");
        assert!(out.contains("${SECRET_KEY}"), "{out}");

        let yaml = "database:\n  password: s3cr3t-value\n  host: db\n";
        let (out, n) = redacted(yaml, "config/app.yaml");
        assert_eq!(n, 1, "{out}");
        assert!(out.contains("host: db"));
    }

    #[test]
    fn passwords_in_code_and_urls_are_redacted_wherever_they_are() {
        let code = "DB_PASSWORD = \"hunter2\"\nsettings = {'api_key': 'k-123', \"port\": 5432}\nDATABASE_URL = \"postgres://app:pa55word@db.internal:5432/app\"\nself.secret = f'{prefix}x'\n";
        let (out, n) = redacted(code, "app/settings.py");
        assert!(n >= 3, "{out}");
        for secret in ["hunter2", "k-123", "pa55word"] {
            assert!(!out.contains(secret), "{secret}: {out}");
        }
        assert!(out.contains("postgres://app:[REDACTED"), "{out}");
        assert!(out.contains("5432"), "{out}");
        // A template is not a value.
        assert!(out.contains("f'{prefix}x'"), "{out}");
        assert_eq!(out.lines().count(), code.lines().count());
        // The same in a question.
        let (out, _) = redacted("why does postgres://u:topsecret@h fail?", "");
        assert!(!out.contains("topsecret"), "{out}");
    }

    #[test]
    fn ordinary_code_is_left_alone() {
        let code = "def check_password(password, encoded):\n    \"\"\"Return True if the password is correct.\"\"\"\n    token = make_token(user)\n    return hasher.verify(password, encoded)\n";
        let (out, n) = redacted(code, "auth/hashers.py");
        assert_eq!(n, 0, "{out}");
        assert_eq!(out, code);
    }
}
