//! What nginx's `hash KEY` hashes, in the terms of lbsim's `nginx.hash`: the
//! client's address as text or as bytes, the address and port of the connection,
//! or a value the client sends back (a cookie, a header, a query argument) that
//! lbsim takes to be the user's session id.

/// The `nginx.hash` parameters for a key, and how it was understood.
#[derive(Debug, PartialEq)]
pub struct Mapped {
    /// Parameters to add to `nginx.hash`: `key=session`, `binary=on`, or none.
    pub params: Vec<&'static str>,
    pub note: Option<String>,
}

/// Request headers whose value is the same for many users or says nothing of
/// the user: not a session id.
const NOT_SESSIONS: &[&str] = &[
    "host",
    "user_agent",
    "referer",
    "accept",
    "accept_encoding",
    "accept_language",
    "connection",
    "cache_control",
    "pragma",
    "origin",
    "upgrade",
    "content_type",
    "content_length",
    "via",
];

/// Headers carrying a client address written by a proxy in front.
const ADDRESS_HEADERS: &[&str] = &[
    "x_forwarded_for",
    "x_real_ip",
    "forwarded",
    "true_client_ip",
    "cf_connecting_ip",
];

/// Request variables: the key follows the request, not the client.
const REQUEST_VARIABLES: &[&str] = &[
    "request_uri",
    "uri",
    "document_uri",
    "args",
    "query_string",
    "host",
    "http_host",
    "server_name",
    "request",
    "request_method",
    "scheme",
];

/// The parameters for `key` as written after `hash`, or why lbsim cannot hash it.
pub fn map(key: &str) -> Result<Mapped, String> {
    let key = braces_removed(key);
    let plain = |params: Vec<&'static str>| Ok(Mapped { params, note: None });
    match key.as_str() {
        "$remote_addr" => return plain(vec![]),
        "$binary_remote_addr" => return plain(vec!["binary=on"]),
        "$remote_addr:$remote_port" => return plain(vec!["key=source_port"]),
        _ => {}
    }
    let variables: Vec<&str> = key.split('$').skip(1).map(variable_name).collect();
    if let Some(v) = variables.iter().find(|v| REQUEST_VARIABLES.contains(v)) {
        return Err(format!(
            "hash {key}: ${v} follows the request, not the client, and lbsim's requests carry no URL or host; \
             lbsim models $remote_addr, $binary_remote_addr, $remote_addr:$remote_port and a cookie, header or \
             argument carrying a session id"
        ));
    }
    if variables.contains(&"remote_port") {
        return Err(format!(
            "hash {key}: a per-connection key written differently from \"$remote_addr:$remote_port\", the one \
             lbsim models (nginx hashes the text, so another spelling places clients elsewhere)"
        ));
    }
    let single = key.starts_with('$') && variables.len() == 1 && variables[0].len() == key.len() - 1;
    if !single {
        return Err(format!(
            "hash {key}: lbsim models a key that is one variable ($remote_addr, $binary_remote_addr, $cookie_NAME, \
             $http_NAME, $arg_NAME) or \"$remote_addr:$remote_port\""
        ));
    }
    let v = variables[0];
    let (kind, name) = match v.split_once('_') {
        Some((kind @ ("cookie" | "arg" | "http"), name)) => (kind, name),
        _ => return Err(format!("hash {key}: ${v} is not a client key lbsim models")),
    };
    if kind == "http" && ADDRESS_HEADERS.contains(&name) {
        return Err(format!(
            "hash {key}: the address a proxy in front wrote, as text lbsim does not model; configure the realip \
             module (set_real_ip_from, real_ip_header) and hash $remote_addr, which lbsim models"
        ));
    }
    if kind == "http" && (NOT_SESSIONS.contains(&name) || name.starts_with("if_") || name.starts_with("sec_")) {
        return Err(format!("hash {key}: the {name} header is not a per-user key"));
    }
    let what = match kind {
        "cookie" => format!("the cookie {name}"),
        "arg" => format!("the query argument {name}"),
        _ => format!("the request header {}", name.replace('_', "-")),
    };
    Ok(Mapped {
        params: vec!["key=session"],
        note: Some(format!(
            "hash {key}: lbsim takes {what} to carry a session id that each user keeps whatever their address \
             (key=session); a user who sends none, or a new one, is placed afresh."
        )),
    })
}

/// `${name}` written as `$name`.
fn braces_removed(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    let mut rest = key;
    while let Some(i) = rest.find("${") {
        out.push_str(&rest[..i]);
        match rest[i + 2..].find('}') {
            Some(j) => {
                out.push('$');
                out.push_str(&rest[i + 2..i + 2 + j]);
                rest = &rest[i + 3 + j..];
            }
            None => {
                out.push_str(&rest[i..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// The name of the variable at the start of `s` (after its `$`).
fn variable_name(s: &str) -> &str {
    let end = s
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(s.len());
    &s[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(key: &str) -> Vec<&'static str> {
        map(key).unwrap_or_else(|e| panic!("{key}: {e}")).params
    }

    #[test]
    fn client_keys_map_to_their_parameters() {
        assert!(params("$remote_addr").is_empty());
        assert!(params("${remote_addr}").is_empty());
        assert_eq!(params("$binary_remote_addr"), ["binary=on"]);
        assert_eq!(params("$remote_addr:$remote_port"), ["key=source_port"]);
        assert_eq!(params("${remote_addr}:${remote_port}"), ["key=source_port"]);
        for session in ["$cookie_jsessionid", "$arg_sid", "$http_x_session", "${cookie_sid}"] {
            assert_eq!(params(session), ["key=session"], "{session}");
        }
        assert!(map("$cookie_sid").unwrap().note.unwrap().contains("the cookie sid"));
    }

    #[test]
    fn other_keys_are_refused_with_the_reason() {
        let reason = |key: &str| map(key).unwrap_err();
        assert!(reason("$request_uri").contains("follows the request"));
        assert!(reason("$scheme$request_uri").contains("follows the request"));
        assert!(reason("$remote_addr$remote_port").contains("per-connection"));
        assert!(reason("$http_x_forwarded_for").contains("realip"));
        assert!(reason("$http_user_agent").contains("not a per-user key"));
        assert!(reason("$cookie_a$cookie_b").contains("one variable"));
        assert!(reason("static").contains("one variable"));
        assert!(reason("$server_addr").contains("not a client key"));
    }
}
