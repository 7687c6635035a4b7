//! Provider endpoints (chat and embedding), parsed once and strictly.
//!
//! Whether a URL is "this machine" decides whether code may be sent to it
//! unredacted and whether `--no-remote` refuses it, so it must be decided
//! from the host the request really goes to. A URL is accepted only in a
//! form every HTTP client reads the same way: `http` or `https`, no user
//! name or password (`http://localhost:1@203.0.113.9/` goes to
//! 203.0.113.9), no backslashes, spaces or percent-escapes in the host.
//! Anything else is refused with the reason, never guessed at.

use std::fmt;
use std::net::IpAddr;

/// A parsed provider base URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    https: bool,
    host: String,
    port: Option<u16>,
}

/// Why a provider URL was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EndpointError {
    /// The URL as given.
    pub url: String,
    /// What is wrong with it.
    pub why: &'static str,
}

impl fmt::Display for EndpointError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "provider URL {:?}: {}", self.url, self.why)
    }
}

impl std::error::Error for EndpointError {}

impl Endpoint {
    /// Parses `url`, refusing anything two HTTP clients could read as two
    /// different hosts.
    pub fn parse(url: &str) -> Result<Endpoint, EndpointError> {
        let refuse = |why| EndpointError {
            url: url.to_owned(),
            why,
        };
        if url
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '\\')
        {
            return Err(refuse(
                "spaces, control characters and backslashes are not allowed",
            ));
        }
        let lower = url.to_ascii_lowercase();
        let (https, rest) = if lower.starts_with("https://") {
            (true, &url["https://".len()..])
        } else if lower.starts_with("http://") {
            (false, &url["http://".len()..])
        } else {
            return Err(refuse("it must start with http:// or https://"));
        };
        let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
        if authority.contains('@') {
            return Err(refuse(
                "user names and passwords in the URL are refused; give a key through the \
                 provider's api_key_env setting instead",
            ));
        }
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let (addr, after) = v6
                .split_once(']')
                .ok_or_else(|| refuse("an IPv6 address needs its closing ]"))?;
            addr.parse::<std::net::Ipv6Addr>()
                .map_err(|_| refuse("the address in [ ] is not an IPv6 address"))?;
            let port = match after {
                "" => None,
                p => Some(p.strip_prefix(':').ok_or_else(|| refuse("junk after ]"))?),
            };
            (addr, port)
        } else {
            match authority.split_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (authority, None),
            }
        };
        if host.is_empty() {
            return Err(refuse("the host is missing"));
        }
        if !authority.starts_with('[')
            && !host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'))
        {
            return Err(refuse(
                "the host may hold only letters, digits, '-', '.' and '_'",
            ));
        }
        let port = match port {
            None => None,
            Some(p) => Some(
                p.parse::<u16>()
                    .ok()
                    .filter(|_| p.chars().all(|c| c.is_ascii_digit()))
                    .ok_or_else(|| refuse("the port must be a number up to 65535"))?,
            ),
        };
        Ok(Endpoint {
            https,
            host: host.to_ascii_lowercase(),
            port,
        })
    }

    /// The host requests go to (lower case; an IPv6 address without `[ ]`).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The port, if the URL names one.
    pub fn port(&self) -> Option<u16> {
        self.port
    }

    /// Whether the URL uses TLS.
    pub fn is_https(&self) -> bool {
        self.https
    }

    /// Whether requests stay on this machine: `localhost` or a loopback
    /// address (`127.0.0.0/8`, `::1`, `::ffff:127.x.y.z`).
    pub fn is_loopback(&self) -> bool {
        if self.host == "localhost" {
            return true;
        }
        match self.host.parse::<IpAddr>() {
            Ok(IpAddr::V4(ip)) => ip.is_loopback(),
            Ok(IpAddr::V6(ip)) => {
                ip.is_loopback() || ip.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
            }
            Err(_) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn local(url: &str) -> bool {
        Endpoint::parse(url).unwrap().is_loopback()
    }

    #[test]
    fn loopback_is_decided_from_the_parsed_host() {
        assert!(local("http://localhost:11434"));
        assert!(local("http://LOCALHOST"));
        assert!(local("http://127.0.0.1:8080/v1"));
        assert!(local("http://127.9.9.9"));
        assert!(local("http://[::1]:8000/v1"));
        assert!(local("http://[::ffff:127.0.0.1]:8000"));
        assert!(!local("https://api.openai.com/v1"));
        assert!(!local("http://127.0.0.1.attacker.example/v1"));
        assert!(!local("http://localhost.attacker.example"));
        assert!(!local("http://10.0.0.1:11434"));
        assert!(!local("http://0x7f.1"));
        let e = Endpoint::parse("https://[2001:db8::1]:443/v1").unwrap();
        assert_eq!(
            (e.host(), e.port(), e.is_https()),
            ("2001:db8::1", Some(443), true)
        );
    }

    #[test]
    fn urls_that_clients_could_read_two_ways_are_refused() {
        for (url, why) in [
            ("http://localhost:1@192.0.2.2:18800", "user names"),
            ("http://user:pw@127.0.0.1/v1", "user names"),
            ("http://127.0.0.1\\@192.0.2.2/", "backslashes"),
            ("http://127.0.0.1 /v1", "spaces"),
            ("ftp://127.0.0.1/", "http://"),
            ("127.0.0.1:11434", "http://"),
            ("http://127.0.0.1:11434:1", "port"),
            ("http://127.0.0.1:99999", "port"),
            ("http://127.0.0.1:+80", "port"),
            ("http://%6c%6fcalhost/", "host may hold"),
            ("http:///v1", "host is missing"),
            ("http://[::1/v1", "closing ]"),
            ("http://[::1]x/", "junk"),
        ] {
            let err = Endpoint::parse(url).unwrap_err();
            assert!(err.why.contains(why), "{url}: {err}");
            assert_eq!(err.url, url);
        }
    }
}
