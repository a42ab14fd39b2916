//! Image references: `[host/]repository[:tag][@sha256:...]`, split as written ([`split`]) or
//! parsed with Docker's defaults ([`ImageRef::parse`]).

use std::fmt;

/// Docker Hub's registry host, used for references without a registry part.
pub const DOCKER_HUB: &str = "registry-1.docker.io";

/// `sha256:` followed by 64 hex digits (either case; references read back are normalised).
pub fn is_sha256_digest(d: &str) -> bool {
    d.strip_prefix("sha256:")
        .is_some_and(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// `sha256:` followed by 64 lower-case hex digits: what containerd and the kubelet accept in a
/// Pod's image (`sha256:ABC…` fails pulls with InvalidImageName).
pub fn is_canonical_sha256_digest(d: &str) -> bool {
    is_sha256_digest(d) && !d.bytes().any(|b| b.is_ascii_uppercase())
}

/// An OCI tag: 1 to 128 of `A-Za-z0-9_.-`, not starting with `.` or `-`.
pub fn is_oci_tag(t: &str) -> bool {
    !t.is_empty()
        && t.len() <= 128
        && t.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
        && t.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

/// `repo[:tag][@digest]` split as written, without defaults or checks: the tag is after the
/// last `:` of the last path part (a `:` before it belongs to a host's port).
pub fn split(s: &str) -> (&str, Option<&str>, Option<&str>) {
    let (name, digest) = match s.split_once('@') {
        Some((n, d)) => (n, Some(d)),
        None => (s, None),
    };
    let last = name.rfind('/').map_or(0, |i| i + 1);
    match name[last..].rfind(':') {
        Some(i) => (&name[..last + i], Some(&name[last + i + 1..]), digest),
        None => (name, None, digest),
    }
}

/// `host/repository[:tag][@sha256:...]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageRef {
    /// Registry host with port, e.g. `registry-1.docker.io` or `127.0.0.1:5000`.
    pub host: String,
    /// Repository path, e.g. `library/nginx` or `viktor/app`.
    pub repository: String,
    pub tag: Option<String>,
    pub digest: Option<String>,
}

impl ImageRef {
    /// Parse a reference with Docker's default-host rules: the first path part is a registry
    /// host only when it contains `.` or `:` or is `localhost`; otherwise the image is on
    /// Docker Hub, where a single name means `library/<name>`. `docker.io` and
    /// `index.docker.io` mean Docker Hub too. Neither tag nor digest means tag `latest`.
    pub fn parse(s: &str) -> Result<ImageRef, String> {
        let text = s.trim();
        let bad = |why: &str| format!("invalid image reference {text:?}: {why}");
        if text.is_empty() {
            return Err(bad("it is empty"));
        }
        let (path, tag, digest) = split(text);
        let digest = match digest {
            Some(d) => {
                if !d.starts_with("sha256:") {
                    return Err(bad("the digest must start with sha256:"));
                }
                if !is_sha256_digest(d) {
                    return Err(bad("the digest must be sha256: and 64 hex digits"));
                }
                Some(d.to_ascii_lowercase())
            }
            None => None,
        };
        let tag = tag.map(str::to_string);
        if let Some(t) = tag.as_deref().filter(|t| !is_oci_tag(t)) {
            return Err(bad(&format!("invalid tag {t:?}")));
        }
        let (host, repo) = match path.split_once('/') {
            Some((first, rest))
                if first.contains('.') || first.contains(':') || first == "localhost" =>
            {
                (first.to_string(), rest.to_string())
            }
            _ => (DOCKER_HUB.to_string(), path.to_string()),
        };
        let host = match host.as_str() {
            "docker.io" | "index.docker.io" => DOCKER_HUB.to_string(),
            _ => host,
        };
        if repo.is_empty() || repo.split('/').any(|p| p.is_empty()) {
            return Err(bad("the repository name is empty"));
        }
        if !repo.chars().all(|c| {
            c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-' | '/')
        }) {
            return Err(bad(
                "repository names use lower-case letters, digits and . _ - / only",
            ));
        }
        let repository = if host == DOCKER_HUB && !repo.contains('/') {
            format!("library/{repo}")
        } else {
            repo
        };
        let tag = if tag.is_none() && digest.is_none() {
            Some("latest".to_string())
        } else {
            tag
        };
        Ok(ImageRef {
            host,
            repository,
            tag,
            digest,
        })
    }

    /// What to ask the registry for: the digest when there is one, else the tag.
    pub fn reference(&self) -> &str {
        self.digest
            .as_deref()
            .or(self.tag.as_deref())
            .unwrap_or("latest")
    }
}

impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.host, self.repository)?;
        if let Some(t) = &self.tag {
            write!(f, ":{t}")?;
        }
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_keeps_what_is_written() {
        let cases = [
            (
                "registry.example:5000/team/app:abc12345",
                ("registry.example:5000/team/app", Some("abc12345"), None),
            ),
            (
                "registry.example:5000/team/app",
                ("registry.example:5000/team/app", None, None),
            ),
            (
                "r/app:v1@sha256:00",
                ("r/app", Some("v1"), Some("sha256:00")),
            ),
            ("nginx", ("nginx", None, None)),
        ];
        for (s, want) in cases {
            assert_eq!(split(s), want, "{s}");
        }
    }

    fn r(s: &str) -> ImageRef {
        ImageRef::parse(s).unwrap()
    }

    #[test]
    fn image_refs_follow_docker_default_host_rules() {
        type Case<'a> = (&'a str, &'a str, &'a str, Option<&'a str>, Option<&'a str>);
        let cases: &[Case] = &[
            ("nginx", DOCKER_HUB, "library/nginx", Some("latest"), None),
            (
                "nginx:1.27",
                DOCKER_HUB,
                "library/nginx",
                Some("1.27"),
                None,
            ),
            (
                "viktor/app:a1b2c3d4",
                DOCKER_HUB,
                "viktor/app",
                Some("a1b2c3d4"),
                None,
            ),
            (
                "docker.io/nginx",
                DOCKER_HUB,
                "library/nginx",
                Some("latest"),
                None,
            ),
            (
                "index.docker.io/foo/bar:x",
                DOCKER_HUB,
                "foo/bar",
                Some("x"),
                None,
            ),
            ("localhost/app", "localhost", "app", Some("latest"), None),
            (
                "localhost:5000/a/b:t",
                "localhost:5000",
                "a/b",
                Some("t"),
                None,
            ),
            (
                "127.0.0.1:23000/viktor/app:v1",
                "127.0.0.1:23000",
                "viktor/app",
                Some("v1"),
                None,
            ),
            ("ghcr.io/o/p/q:v", "ghcr.io", "o/p/q", Some("v"), None),
        ];
        for (input, host, repo, tag, digest) in cases {
            let got = r(input);
            assert_eq!(got.host, *host, "{input}");
            assert_eq!(got.repository, *repo, "{input}");
            assert_eq!(got.tag.as_deref(), *tag, "{input}");
            assert_eq!(got.digest.as_deref(), *digest, "{input}");
        }
        let d = format!("sha256:{}", "ab".repeat(32));
        let got = r(&format!("forge.example/o/app:v1@{d}"));
        assert_eq!(got.tag.as_deref(), Some("v1"));
        assert_eq!(got.digest.as_deref(), Some(d.as_str()));
        assert_eq!(got.reference(), d);
        assert_eq!(got.to_string(), format!("forge.example/o/app:v1@{d}"));
        let got = r(&format!(
            "o/app@{}",
            d.to_uppercase().replace("SHA256", "sha256")
        ));
        assert_eq!(got.tag, None);
        assert_eq!(got.digest.as_deref(), Some(d.as_str()));
    }

    #[test]
    fn bad_image_refs_are_rejected() {
        for bad in [
            "",
            "App/x",
            "o/app:",
            "o/app:-x",
            "o/app@sha256:abc",
            "o/app@md5:00",
            "host.example//x",
            "o/app:has space",
        ] {
            assert!(ImageRef::parse(bad).is_err(), "{bad:?} should be rejected");
        }
    }
}
