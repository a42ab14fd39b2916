//! Client errors keep the HTTP status and the system's own message (Woodpecker answers in plain
//! text, Forgejo and the registry in JSON, Vault with `{"errors": [...]}`): users need both.

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The server answered with a non-success status.
    #[error("{system} answered {status} to {method} {path}{}", fmt_msg(.message))]
    Status {
        system: &'static str,
        method: String,
        /// Path and query, never credentials (those travel in headers).
        path: String,
        status: u16,
        message: String,
    },
    /// The server could not be reached or the connection failed.
    #[error("could not reach {system} ({method} {path}): {message}")]
    Transport {
        system: &'static str,
        method: String,
        path: String,
        message: String,
    },
    /// The answer could not be understood.
    #[error("{system} sent an answer to {method} {path} that could not be read: {message}")]
    Decode {
        system: &'static str,
        method: String,
        path: String,
        message: String,
    },
    /// Anything else, already phrased for the user.
    #[error("{0}")]
    Other(String),
}

fn fmt_msg(m: &str) -> String {
    if m.trim().is_empty() {
        String::new()
    } else {
        format!(": {}", m.trim())
    }
}

impl Error {
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Status { status, .. } => Some(*status),
            _ => None,
        }
    }
    pub fn is_not_found(&self) -> bool {
        self.status() == Some(404)
    }
    pub fn is_conflict(&self) -> bool {
        self.status() == Some(409)
    }
    /// A failure that may pass on its own: the connection failed or was cut, or the server
    /// answered 429, 502, 503 or 504. For a write, the outcome is unknown: read before
    /// writing again.
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Transport { .. } => true,
            Error::Status { status, .. } => super::retry::transient_status(*status),
            _ => false,
        }
    }
    pub fn is_forbidden(&self) -> bool {
        matches!(self.status(), Some(401) | Some(403))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_keep_status_and_server_text() {
        let e = Error::Status {
            system: "Woodpecker",
            method: "POST".into(),
            path: "/api/repos?forge_remote_id=7".into(),
            status: 409,
            message: "Repository is already active.\n".into(),
        };
        assert_eq!(
            e.to_string(),
            "Woodpecker answered 409 to POST /api/repos?forge_remote_id=7: Repository is already active."
        );
        assert!(e.is_conflict());
        let e = Error::Status {
            system: "Woodpecker",
            method: "GET".into(),
            path: "/api/repos/9".into(),
            status: 404,
            message: String::new(),
        };
        assert_eq!(e.to_string(), "Woodpecker answered 404 to GET /api/repos/9");
        assert!(e.is_not_found());
    }
}
