//! Property test: a password never appears in any message, whatever it holds and
//! however the URL around it is written, valid or not.
//!
//! Passwords are drawn from every printable ASCII character and some non-ASCII ones,
//! with marker words (`JKQW`...) inside them; the markers' letters appear nowhere else,
//! so finding one in a message means a piece of the password leaked, even a piece cut
//! off at an `@`, `&` or space. Each password goes into many URL forms, through every
//! source (`--url`, `DATABASE_URL`, `database_url`, `${VAR}`, a targets file), the
//! parser's errors, the URL's display, a refused connection, and free text.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use aludel::config::{Config, Overrides};
use aludel::driver::{ConnectOptions, connect};
use aludel::fleet::TargetsFile;
use aludel::url::{DatabaseUrl, Dialect, redact_str};
use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;

/// The letters of marker words; no message, form or noise character holds them.
const MARKER_LETTERS: &[char] = &['J', 'K', 'Q', 'W', 'X', 'Z'];

/// Characters between markers: all printable ASCII but the marker letters, and a few
/// non-ASCII ones.
fn noise_char() -> impl Strategy<Value = char> {
    prop_oneof![
        8 => (0x20u8..0x7f)
            .prop_map(char::from)
            .prop_filter("a marker letter", |c| !MARKER_LETTERS.contains(c)),
        1 => prop::sample::select(vec!['é', 'ü', 'ß', '漢', '🙂', '\u{a0}', '→', '\u{3000}']),
    ]
}

fn marker() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(MARKER_LETTERS.to_vec()), 4)
        .prop_map(|v| v.into_iter().collect())
}

/// A password and the marker words inside it.
fn password() -> impl Strategy<Value = (String, Vec<String>)> {
    prop::collection::vec((prop::collection::vec(noise_char(), 0..5), marker()), 1..4)
        .prop_flat_map(|parts| {
            prop::collection::vec(noise_char(), 0..4).prop_map(move |tail| {
                let mut password = String::new();
                let mut markers = Vec::new();
                for (noise, m) in &parts {
                    password.extend(noise);
                    password.push_str(m);
                    markers.push(m.clone());
                }
                password.extend(&tail);
                (password, markers)
            })
        })
}

/// Everything but unreserved characters percent-encoded.
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// A libpq single-quoted value.
fn quoted(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// Port 1: nothing listens there, so a connection is refused at once. Each form
/// holds the password where it can only be one: `postgresql://app:1/db` without an
/// `@` is a valid URL of host `app`, port 1, so every form has its `@`.
fn forms(p: &str) -> Vec<String> {
    let e = encode(p);
    // An '@' of the password right before a '?' or '/' reads as the end of the user
    // information (`u:p@?name=v@h` is also user `u`, password `p`, no host and a
    // query): raw, such a password cannot be told apart. Encoded, it always can.
    if p.contains("@?") || p.contains("@/") {
        return vec![
            format!("postgresql://app:{e}@127.0.0.1:1/db"),
            format!("postgresql://127.0.0.1:1/db?user=app&password={e}"),
            format!("host=127.0.0.1 port=1 password={} dbname=db", quoted(p)),
        ];
    }
    let mut forms = vec![
        format!("postgresql://app:{p}@127.0.0.1:1/db"),
        format!("postgresql://app:{e}@127.0.0.1:1/db"),
        format!("postgresql+psycopg2://app:{p}@127.0.0.1:1/db?sslmode=disable"),
        format!("postgresql://127.0.0.1:1/db?user=app&password={e}"),
        format!("postgresql://app:{p}@127.0.0.1:1/db?sslpassword={e}"),
        format!("host=127.0.0.1 port=1 password={} dbname=db", quoted(p)),
        format!("postgresql://app:{p}@127.0.0.1:1x/db"),
        format!("postgresql://app:{p}@127.0.0.1:0/db"),
        format!("postgresql://app:{p}@[::1:1/db"),
        format!("postgres://app:{p}@"),
        format!("app:{p}@127.0.0.1:1/db"),
        format!("mysql://app:{p}@127.0.0.1:1/db"),
        format!("oracle://app:{p}@127.0.0.1:1/db"),
        format!("  postgresql://app:{p}@127.0.0.1:1/db  "),
    ];
    // A `://` inside the password; after a space, in free text, it reads as another
    // URL (`see postgresql://x`), and nothing tells the two apart.
    if !p.contains(char::is_whitespace) {
        forms.push(format!("postgresql://app:{p}://x@127.0.0.1:1/db"));
    }
    // libpq wants a value with spaces quoted; unquoted, ` name=` starts another one.
    if !p.contains(char::is_whitespace) {
        forms.push(format!(
            "host=127.0.0.1 port=1 user=app password={p} dbname=db"
        ));
    }
    // Unencoded in a query, `&name=` inside a password is another parameter.
    if !holds_a_parameter(p) {
        forms.push(format!("postgresql://127.0.0.1:1/db?user=app&password={p}"));
        forms.push(format!(
            "postgresql://127.0.0.1:1/db?password={p}&sslmode=disable"
        ));
        forms.push(format!(
            "postgresql://127.0.0.1:1/db?sslmode=disable&pasword={p}"
        ));
    }
    forms
}

/// Whether `p` holds `&name=`.
fn holds_a_parameter(p: &str) -> bool {
    p.split('&').skip(1).any(|after| {
        let name = after
            .bytes()
            .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_')
            .count();
        name > 0 && after[name..].starts_with('=')
    })
}

/// Every message the URL can produce on the paths a user reaches without a server.
/// Free text is left out for `user:pass word@host` without a scheme: there nothing
/// tells it from prose (`note: see admin@host`), and no message of aludel's quotes one.
fn messages(url: &str) -> Vec<String> {
    let mut out = Vec::new();
    if url.contains("://") || !url.contains(char::is_whitespace) {
        out.push(redact_str(&format!("error: could not use {url} today")));
        out.push(redact_str(&format!(
            "  |\n2 | database_url = \"{url}\" junk\n  |"
        )));
        // Another URL on the line, and wide characters and separators around it, as
        // a database's message may hold them.
        out.push(redact_str(&format!("see https://a 詳細→{url}")));
        out.push(redact_str(&format!("{url}→https://b")));
        out.push(redact_str(&format!("x\u{3000}{url}\u{a0}y")));
    }
    match url.parse::<DatabaseUrl>() {
        Err(e) => out.push(e.to_string()),
        Ok(parsed) => {
            out.push(parsed.to_string());
            out.push(format!("{parsed:?}"));
            if parsed.dialect() == Dialect::Postgres {
                let options = ConnectOptions {
                    busy_timeout: Duration::from_secs(1),
                    ..ConnectOptions::default()
                };
                if let Err(e) = connect(&parsed, &options) {
                    out.push(e.to_string());
                }
            }
        }
    }
    let path = Path::new("/p/aludel.toml");
    let toml_string = format!("\"{}\"", url.replace('\\', "\\\\").replace('"', "\\\""));
    let env = |pairs: &[(&str, &str)]| -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    let flag = Overrides {
        url: Some(url.to_string()),
        ..Overrides::default()
    };
    let none = Overrides::default();
    for (text, env, overrides) in [
        (String::new(), env(&[]), &flag),
        (String::new(), env(&[("DATABASE_URL", url)]), &none),
        (
            format!("[aludel]\ndatabase_url = {toml_string}\n"),
            env(&[]),
            &none,
        ),
        (
            "[aludel]\ndatabase_url = \"${DB_URL}\"\n".to_string(),
            env(&[("DB_URL", url)]),
            &none,
        ),
    ] {
        if let Err(e) = Config::from_text(path, &text, overrides, &env) {
            out.push(e.to_string());
        }
    }
    let targets = Path::new("/p/targets.txt");
    let mut lines = vec![("${T}\n".to_string(), env(&[("T", url)]))];
    // Written out in a targets file, ` #` starts a comment: the password it cuts is
    // read as a host or a database, which the file's syntax cannot tell from one.
    let comment = url
        .char_indices()
        .any(|(i, c)| c.is_whitespace() && url[i + c.len_utf8()..].starts_with('#'));
    if !comment {
        lines.push((format!("{url}\n"), env(&[])));
    }
    for (text, env) in lines {
        match TargetsFile::parse(targets, &text, &env) {
            Err(e) => out.push(e.to_string()),
            Ok(file) => out.push(format!("{file:?}")),
        }
    }
    out
}

/// proptest's default of 256 cases keeps the suite fast; `PROPTEST_CASES` raises it
/// for a longer hunt. The seed is fixed so that CI always runs the same cases (a rare
/// case found by chance would fail one run and pass the next); `PROPTEST_RNG_SEED`
/// picks another for a hunt, e.g. `PROPTEST_RNG_SEED=$RANDOM PROPTEST_CASES=20000`.
/// Failures are kept next to this file, in `redaction_props.proptest-regressions`
/// (proptest's default, placed from the binary's `main.rs`, would be
/// `tests/proptest-regressions/redaction_props.txt`).
fn config() -> ProptestConfig {
    let default = ProptestConfig::default();
    let rng_seed = if std::env::var_os("PROPTEST_RNG_SEED").is_some() {
        default.rng_seed
    } else {
        proptest::test_runner::RngSeed::Fixed(0xA1DE_1009)
    };
    ProptestConfig {
        rng_seed,
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource(
            "proptest-regressions",
        ))),
        ..default
    }
}

proptest! {
    #![proptest_config(config())]
    #[test]
    fn no_message_holds_a_password((password, markers) in password()) {
        for url in forms(&password) {
            for message in messages(&url) {
                for m in &markers {
                    prop_assert!(
                        !message.contains(m.as_str()),
                        "{m} of password {password:?} leaked from {url:?}:\n{message}"
                    );
                }
            }
        }
    }
}
