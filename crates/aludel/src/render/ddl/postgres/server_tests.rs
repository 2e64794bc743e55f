//! PostgreSQL itself says which changes of a column's type keep every value: a column
//! of the old type is filled with values at the edges of what it holds, changed as
//! aludel changes it (`ALTER COLUMN ... TYPE ... USING column::type`), and compared
//! with a copy made before. [`widens`] must agree.

use super::{parts, widens};
use crate::render::ddl::disagreement;
use aludel_testkit::PgDatabase;

/// Changes marked as losing data although the server keeps every value as it reads
/// back, with why the mark stands.
const MARKED_THOUGH_KEPT: &[(&str, &str, &str)] = &[
    (
        "timestamp without time zone",
        "timestamp with time zone",
        "a local time becomes an instant in the time zone of the session that changes it",
    ),
    (
        "timestamp with time zone",
        "timestamp without time zone",
        "an instant becomes a local time in the time zone of the session that changes it",
    ),
    (
        "integer",
        "text",
        "the digits stay, but as text: compared and sorted as text",
    ),
];

/// SQL literals at the edges of what a column of the normalised type `ty` holds.
fn edges(ty: &str) -> Vec<String> {
    let (name, args) = parts(ty).unwrap_or_else(|| panic!("{ty}: type"));
    let quoted = |v: &[&str]| v.iter().map(|s| format!("'{s}'")).collect::<Vec<_>>();
    match name.as_str() {
        "smallint" => quoted(&["-32768", "32767"]),
        "integer" => quoted(&["-2147483648", "2147483647"]),
        "bigint" => quoted(&["-9223372036854775808", "9223372036854775807"]),
        "numeric" => match args[..] {
            [] => quoted(&["1e100", "-0.12345678901234567890123456789", "0"]),
            _ => {
                let (p, s) = (args[0], args.get(1).copied().unwrap_or(0));
                let whole = "9".repeat((p - s) as usize);
                let largest = match s {
                    0 => whole,
                    s => format!(
                        "{}.{}",
                        if whole.is_empty() { "0" } else { &whole },
                        "9".repeat(s as usize)
                    ),
                };
                vec![
                    format!("'{largest}'"),
                    format!("'-{largest}'"),
                    "'0'".into(),
                ]
            }
        },
        "real" => quoted(&["3.4028235e38", "1.1754944e-38", "0.1"]),
        "double precision" => quoted(&["1.7976931348623157e308", "2.2250738585072014e-308", "0.1"]),
        // Characters beyond the Basic Multilingual Plane; trailing spaces.
        "character varying" | "text" => {
            let n = args.first().copied().unwrap_or(1000);
            vec![
                format!("repeat('\u{1F600}', {n})"),
                "'a  '".into(),
                "''".into(),
            ]
        }
        "character" => {
            let n = args.first().copied().unwrap_or(1);
            vec![format!("repeat('x', {n})"), "'a'".into()]
        }
        "timestamp without time zone" => quoted(&[
            "2024-02-29 12:34:56.123456",
            "infinity",
            "4713-01-01 00:00:00 BC",
        ]),
        "timestamp with time zone" => quoted(&["2024-02-29 12:34:56.123456+00", "-infinity"]),
        "time without time zone" => quoted(&["12:34:56.123456", "24:00:00"]),
        "interval" => quoted(&["1 day 12:34:56.123456", "-178000000 years"]),
        "json" | "jsonb" => quoted(&[r#"{"b": 1, "a": [1, 2.50]}"#, r#"{"a": 1, "a": 2}"#]),
        other => panic!("no edges for {other}"),
    }
}

/// How a changed value is compared with its copy: numbers and times as values
/// (`1.50` is `1.5000`), anything else as the text it reads as.
fn same(from: &str, to: &str) -> &'static str {
    let kind = |t: &str| {
        let (name, _) = parts(t).unwrap_or_default();
        match name.as_str() {
            "smallint" | "integer" | "bigint" | "numeric" | "real" | "double precision" => "number",
            n if n.starts_with("time") || n == "interval" => "time",
            _ => "text",
        }
    };
    match (kind(from), kind(to)) {
        ("number", "number") | ("time", "time") => "a.v IS NOT DISTINCT FROM b.v",
        _ => "a.v::text IS NOT DISTINCT FROM b.v::text",
    }
}

#[test]
fn widening_agrees_with_the_server() {
    let db = PgDatabase::create();
    let mut client = db.client();
    client.batch_execute("SET TimeZone = 'UTC'").unwrap();
    let pairs = [
        ("smallint", "integer"),
        ("integer", "bigint"),
        ("bigint", "integer"),
        ("integer", "smallint"),
        ("integer", "numeric"),
        ("integer", "numeric(10,0)"),
        ("integer", "numeric(9,0)"),
        ("integer", "numeric(11,2)"),
        ("bigint", "numeric(19,0)"),
        ("bigint", "numeric(20,1)"),
        ("numeric(12,2)", "numeric(14,2)"),
        ("numeric(12,2)", "numeric(14,4)"),
        ("numeric(12,2)", "numeric(12,3)"),
        ("numeric(12,2)", "numeric(12,1)"),
        ("numeric(12,2)", "numeric"),
        ("numeric", "numeric(12,2)"),
        ("numeric(5)", "numeric(6,1)"),
        ("numeric(12,2)", "bigint"),
        ("real", "double precision"),
        ("double precision", "real"),
        ("character varying(50)", "character varying(100)"),
        ("character varying(100)", "character varying(50)"),
        ("character varying(50)", "text"),
        ("character varying", "text"),
        ("text", "character varying"),
        ("text", "character varying(50)"),
        ("character(10)", "character varying(10)"),
        ("character(10)", "character varying(9)"),
        ("character(10)", "character(20)"),
        ("character(20)", "character(10)"),
        ("character(10)", "text"),
        ("character varying(10)", "character(10)"),
        ("text", "character(10)"),
        (
            "timestamp(3) without time zone",
            "timestamp without time zone",
        ),
        (
            "timestamp without time zone",
            "timestamp(3) without time zone",
        ),
        ("timestamp with time zone", "timestamp(3) with time zone"),
        ("timestamp(2) with time zone", "timestamp(4) with time zone"),
        ("time(2) without time zone", "time(4) without time zone"),
        ("time without time zone", "time(0) without time zone"),
        ("interval(3)", "interval"),
        ("interval", "interval(3)"),
        ("timestamp without time zone", "timestamp with time zone"),
        ("timestamp with time zone", "timestamp without time zone"),
        ("jsonb", "json"),
        ("json", "jsonb"),
        ("integer", "text"),
        ("text", "integer"),
    ];
    let mut wrong = Vec::new();
    for (from, to) in pairs {
        client
            .batch_execute(&format!(
                "DROP TABLE IF EXISTS a, b; CREATE TABLE a (id int PRIMARY KEY, v {from})"
            ))
            .unwrap_or_else(|e| panic!("{from}: {e}"));
        for (id, value) in edges(from).iter().enumerate() {
            client
                .batch_execute(&format!("INSERT INTO a VALUES ({id}, {value})"))
                .unwrap_or_else(|e| panic!("{value} into {from}: {e}"));
        }
        client
            .batch_execute("CREATE TABLE b AS SELECT * FROM a")
            .unwrap();
        let changed = client
            .batch_execute(&format!(
                "ALTER TABLE a ALTER COLUMN v TYPE {to} USING v::{to}"
            ))
            .is_ok();
        let server = changed
            && client
                .query_one(
                    &format!(
                        "SELECT count(*) FROM a JOIN b USING (id) WHERE NOT ({})",
                        same(from, to)
                    ),
                    &[],
                )
                .unwrap()
                .get::<_, i64>(0)
                == 0;
        let ours = widens(from, to);
        let excused = server
            && !ours
            && MARKED_THOUGH_KEPT
                .iter()
                .any(|(f, t, _)| (*f, *t) == (from, to));
        if ours != server && !excused {
            wrong.push(disagreement(
                &format!("{from} -> {to}"),
                "the server",
                server,
                ours,
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
