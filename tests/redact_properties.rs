//! The one redaction, as properties: for arbitrary URLs (any scheme Rota sees, user names,
//! passwords of any characters, `@` included, secret-looking query and fragment parameters in
//! any case and encoding), the planted secret never appears in what [`rota::redact::url`]
//! shows, nor in what [`rota::redact::text`] shows of a message quoting the URL, nor in a JSON
//! document holding it; and what is not secret (the host, a plain parameter) stays visible.
//!
//! Every secret starts with `S3CRET`; every other part of a generated URL is lower-case, so the
//! marker appears in the output only if (part of) a secret does.

use proptest::prelude::*;
use rota::redact;

const MARKER: &str = "S3CRET";

fn word() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9]{0,7}"
}

/// A password: the marker, then anything, `@`, `:`, `/`, `?`, `#`, `%`, spaces and non-ASCII
/// included.
fn password() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9@:/?#%&=;+ !$'()*,.~\u{e9}\u{4e2d}-]{0,12}"
        .prop_map(|tail| format!("{MARKER}{tail}"))
}

/// A query value: the marker, then characters a query value may hold unencoded.
fn query_value() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9;:@/?=+!$'()*,.~%-]{0,12}".prop_map(|tail| format!("{MARKER}{tail}"))
}

/// A secret-looking parameter name, in any case, sometimes percent-encoded.
fn secret_name() -> impl Strategy<Value = String> {
    let names = prop::sample::select(vec![
        "password",
        "passwd",
        "pwd",
        "api_key",
        "apikey",
        "key",
        "token",
        "access_token",
        "secret",
        "client_secret",
        "auth",
        "signature",
        "sig",
        "credential",
        "session",
        "x-amz-signature",
    ]);
    (names, any::<u64>(), any::<bool>()).prop_map(|(name, cases, encode)| {
        let cased: String = name
            .chars()
            .enumerate()
            .map(
                |(index, c)| {
                    if cases >> (index % 64) & 1 == 1 {
                        c.to_ascii_uppercase()
                    } else {
                        c
                    }
                },
            )
            .collect();
        if encode {
            cased.replace('_', "%5F").replace('-', "%2D")
        } else {
            cased
        }
    })
}

#[derive(Debug, Clone)]
struct Planted {
    url: String,
    host: String,
}

fn planted_url() -> impl Strategy<Value = Planted> {
    let scheme = prop::sample::select(vec!["http", "https", "postgres", "postgresql"]);
    (
        scheme,
        word(),
        prop::option::of(password()),
        word(),
        prop::collection::vec(word(), 0..3),
        prop::collection::vec((secret_name(), query_value()), 0..3),
        word(),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(
            |(scheme, user, password, host, path, secrets, plain, lone_user, fragment)| {
                let host = format!("{host}.example");
                let userinfo = match (&password, lone_user) {
                    (Some(password), _) => format!("{user}:{password}@"),
                    // A lone user name is where many services take a token.
                    (None, true) => format!("{MARKER}{user}@"),
                    (None, false) => String::new(),
                };
                let mut pairs: Vec<String> =
                    secrets.iter().map(|(name, value)| format!("{name}={value}")).collect();
                pairs.insert(pairs.len() / 2, format!("page={plain}"));
                let separator = if fragment { '#' } else { '?' };
                let url = format!(
                    "{scheme}://{userinfo}{host}/{}{separator}{}",
                    path.join("/"),
                    pairs.join("&")
                );
                Planted { url, host }
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn no_planted_secret_survives_the_url_redactor(planted in planted_url()) {
        let shown = redact::url(&planted.url);
        prop_assert!(!shown.contains(MARKER), "{} shown as {}", planted.url, shown);
    }

    #[test]
    fn what_is_not_secret_stays_visible(planted in planted_url()) {
        // A URL that parses keeps its host.
        let shown = redact::url(&planted.url);
        if url::Url::parse(&planted.url).is_ok_and(|url| !url.cannot_be_a_base()) {
            prop_assert!(shown.contains(&planted.host), "{} shown as {}", planted.url, shown);
        }
    }

    #[test]
    fn a_url_without_secrets_is_shown_as_it_is(
        scheme in prop::sample::select(vec!["http", "https", "postgres"]),
        host in word(),
        path in prop::collection::vec(word(), 0..3),
        pairs in prop::collection::vec((word(), word()), 0..4),
    ) {
        // Plain names only: none contains a secret marker.
        let pairs: Vec<String> = pairs
            .iter()
            .filter(|(name, _)| !redact::looks_secret(name))
            .map(|(name, value)| format!("{name}={value}"))
            .collect();
        let text = format!("{scheme}://{host}.example/{}?{}", path.join("/"), pairs.join("&"));
        let parsed = url::Url::parse(&text).expect("a plain URL parses");
        prop_assert_eq!(redact::url(&text), parsed.to_string());
        prop_assert!(!redact::url_has_secret(&text));
    }

    #[test]
    fn no_planted_secret_survives_a_message_quoting_the_url(planted in planted_url()) {
        // What a library prints: the parser's serialization (no white space, no quotes).
        let quoted = match url::Url::parse(&planted.url) {
            Ok(url) => url.to_string(),
            Err(_) => planted.url.replace(' ', "%20"),
        };
        let message = format!("error sending request for url ({quoted}): connection refused");
        let shown = redact::text(&message);
        prop_assert!(!shown.contains(MARKER), "{} shown as {}", message, shown);
        prop_assert!(shown.ends_with("): connection refused") || shown.contains("connection refused"));
        let debug = format!("url: {quoted:?} is not valid");
        prop_assert!(!redact::text(&debug).contains(MARKER), "{}", debug);
    }

    #[test]
    fn no_planted_secret_survives_a_json_document(planted in planted_url(), header in secret_name()) {
        let document = serde_json::json!({
            "handler": {"url": planted.url, "headers": {header.clone(): format!("{MARKER}-h")}},
            "list": [planted.url],
        });
        let shown = redact::json(document).to_string();
        prop_assert!(!shown.contains(MARKER), "{}", shown);
    }
}

#[test]
fn a_password_with_at_signs_is_hidden_whole() {
    let shown = redact::url("https://bot:S3CRET-first@S3CRET-second@hooks.example/x");
    assert_eq!(shown, "https://bot:***@hooks.example/x");
    let shown = redact::text("cannot open postgres://rota:S3CRET@half@db:5432/rota: refused");
    assert_eq!(shown, "cannot open postgres://rota:***@db:5432/rota: refused");
}
