//! The server itself says which changes of a column's type or character set keep every
//! value: a column of the old type is filled with values at the edges of what it
//! holds, changed with `MODIFY COLUMN` in strict mode, and compared with a copy made
//! before. [`widens`] and [`holds_characters`] must agree, on the server the tests run
//! on (MariaDB, or MySQL with `ALUDEL_TEST_MYSQL_URL`).

use super::{holds_characters, labels, widens};
use crate::render::ddl::disagreement;
use crate::render::ddl::type_parts;
use aludel_testkit::MysqlDatabase;
use aludel_testkit::mysql::prelude::Queryable;

/// Changes marked as losing data although the server keeps every value as it reads
/// back, with why the mark stands; and one not marked though a value reads back
/// otherwise, with why it is not.
const MARKED_THOUGH_KEPT: &[(&str, &str, &str)] = &[
    (
        "timestamp",
        "datetime",
        "a TIMESTAMP is read in the session's time zone and a DATETIME in none: values read in another zone change",
    ),
    (
        "text",
        "blob",
        "the bytes stay, but they are no longer text: compared and sorted as bytes",
    ),
];

const KEPT_THOUGH_READ_OTHERWISE: &[(&str, &str, &str)] = &[(
    "set('x','y')",
    "set('y','x','z')",
    "a SET reads its members in the order its type lists them: the same members, in another order",
)];

/// SQL literals at the edges of what a column of type `ty` holds in a `utf8mb4` table.
fn edges(ty: &str) -> Vec<String> {
    let lower = ty.to_ascii_lowercase();
    for kind in ["enum(", "set("] {
        if let Some(rest) = lower.strip_prefix(kind) {
            let labels = labels(rest).unwrap_or_else(|| panic!("{ty}: labels"));
            let mut out: Vec<String> = labels.iter().map(|l| format!("'{l}'")).collect();
            if kind == "set(" {
                out.push(format!("'{}'", labels.join(",")));
            }
            return out;
        }
    }
    let unsigned = lower.split_whitespace().any(|w| w == "unsigned");
    let base = lower.split_whitespace().next().unwrap_or_default();
    let (name, args) = type_parts(base).unwrap_or_else(|| panic!("{ty}: type"));
    let length = args.first().copied().unwrap_or(1);
    let strings = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    match name.as_str() {
        "tinyint" | "smallint" | "mediumint" | "int" | "integer" | "bigint" => {
            let bits = match name.as_str() {
                "tinyint" => 8,
                "smallint" => 16,
                "mediumint" => 24,
                "int" | "integer" => 32,
                _ => 64,
            };
            if unsigned {
                vec!["0".into(), (u128::MAX >> (128 - bits)).to_string()]
            } else {
                vec![
                    (-(1_i128 << (bits - 1))).to_string(),
                    ((1_i128 << (bits - 1)) - 1).to_string(),
                ]
            }
        }
        // Four bytes a character; trailing spaces, which a CHAR does not read back.
        "char" | "varchar" => {
            let mut out = vec![format!("REPEAT('\u{1F600}', {length})"), "''".into()];
            if length >= 3 {
                out.push("'a  '".into());
            }
            out
        }
        // Trailing zero bytes, which a BINARY pads with.
        "binary" | "varbinary" => {
            let mut out = vec![format!("REPEAT(X'FF', {length})"), "X'61'".into()];
            if length >= 2 {
                out.push("X'6100'".into());
            }
            out
        }
        "tinytext" => strings(&["REPEAT('x', 255)", "REPEAT('\u{1F600}', 63)"]),
        "text" => strings(&["REPEAT('x', 65535)"]),
        "mediumtext" | "longtext" => strings(&["REPEAT('x', 65536)"]),
        "tinyblob" => strings(&["REPEAT(X'FF', 255)"]),
        "blob" => strings(&["REPEAT(X'FF', 65535)"]),
        "mediumblob" | "longblob" => strings(&["REPEAT(X'FF', 65536)"]),
        "decimal" | "numeric" => {
            let (p, s) = match args[..] {
                [] => (10, 0),
                [p] => (p, 0),
                [p, s, ..] => (p, s),
            };
            let whole = "9".repeat((p - s) as usize);
            let largest = match s {
                0 => whole,
                s => format!(
                    "{}.{}",
                    if whole.is_empty() { "0" } else { &whole },
                    "9".repeat(s as usize)
                ),
            };
            let mut out = vec![largest.clone(), "0".into()];
            if !unsigned {
                out.push(format!("-{largest}"));
            }
            out
        }
        "float" => strings(&["3.40282e38", "-1.17549e-38", "0.1"]),
        "double" | "real" => strings(&["1.7976931348623157e308", "2.2250738585072014e-308", "0.1"]),
        "datetime" => strings(&[
            "'9999-12-31 23:59:59'",
            "'1000-01-01 00:00:00'",
            "'2024-02-29 12:34:56.123456'",
        ]),
        "timestamp" => strings(&[
            "'2038-01-19 03:14:07'",
            "'1970-01-01 00:00:01'",
            "'2024-02-29 12:34:56.123456'",
        ]),
        "time" => strings(&["'838:59:59'", "'-838:59:59'", "'12:34:56.123456'"]),
        other => panic!("no edges for {other}"),
    }
}

/// How a value of a column changed from `from` to `to` is compared with its copy:
/// bytes as bytes, text as its characters, numbers and times as values.
fn same(from: &str, to: &str) -> &'static str {
    let name = |t: &str| {
        let t = t.to_ascii_lowercase();
        t.split(['(', ' ']).next().unwrap_or_default().to_string()
    };
    let bytes = |n: &str| matches!(n, "binary" | "varbinary") || n.ends_with("blob");
    let text = |n: &str| matches!(n, "char" | "varchar" | "enum" | "set") || n.ends_with("text");
    let (from, to) = (name(from), name(to));
    if bytes(&from) || bytes(&to) {
        "HEX(t.v) <=> HEX(b.v)"
    } else if text(&from) || text(&to) {
        // As bytes: a `_bin` collation of MariaDB ignores trailing spaces.
        "HEX(CONVERT(t.v USING utf8mb4)) <=> HEX(CONVERT(b.v USING utf8mb4))"
    } else {
        "t.v <=> b.v"
    }
}

/// Whether the server keeps every value of `values` in a column of `from` changed to
/// `to`: the change must succeed in strict mode and leave each value as it was. A
/// value the old column refuses is a mistake of the test when `all_values` is set,
/// else left out (a character its character set lacks).
fn server_keeps(
    conn: &mut aludel_testkit::mysql::Conn,
    from: &str,
    to: &str,
    values: &[String],
    all_values: bool,
) -> bool {
    conn.query_drop("DROP TABLE IF EXISTS t, b").unwrap();
    conn.query_drop(format!(
        "CREATE TABLE t (id int PRIMARY KEY, v {from}) DEFAULT CHARSET=utf8mb4"
    ))
    .unwrap_or_else(|e| panic!("{from}: {e}"));
    let mut kept = 0;
    for (id, value) in values.iter().enumerate() {
        match conn.query_drop(format!("INSERT INTO t VALUES ({id}, {value})")) {
            Ok(()) => kept += 1,
            Err(e) if all_values => panic!("{value} into {from}: {e}"),
            Err(_) => {}
        }
    }
    assert!(kept > 0, "no value of {values:?} fits {from}");
    conn.query_drop("CREATE TABLE b AS SELECT * FROM t")
        .unwrap();
    if conn
        .query_drop(format!("ALTER TABLE t MODIFY v {to}"))
        .is_err()
    {
        return false;
    }
    let changed: Option<u64> = conn
        .query_first(format!(
            "SELECT COUNT(*) FROM t JOIN b USING (id) WHERE NOT ({})",
            same(from, to)
        ))
        .unwrap();
    changed == Some(0)
}

fn strict(conn: &mut aludel_testkit::mysql::Conn) {
    conn.query_drop(
        "SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION', time_zone = '+00:00'",
    )
    .unwrap();
}

#[test]
fn widening_agrees_with_the_server() {
    let db = MysqlDatabase::create();
    let mut conn = db.conn();
    strict(&mut conn);
    let pairs = [
        ("int", "bigint"),
        ("int(11)", "bigint(20)"),
        ("bigint(20)", "int(11)"),
        ("tinyint(1)", "smallint"),
        ("tinyint", "tinyint unsigned"),
        ("tinyint unsigned", "tinyint"),
        ("tinyint unsigned", "smallint"),
        ("smallint unsigned", "mediumint"),
        ("mediumint unsigned", "int"),
        ("mediumint", "smallint"),
        ("int unsigned", "int"),
        ("int unsigned", "bigint"),
        ("bigint unsigned", "bigint"),
        ("int", "bigint unsigned"),
        ("int(10) unsigned zerofill", "int unsigned"),
        ("varchar(50)", "varchar(100)"),
        ("varchar(100)", "varchar(50)"),
        ("char(10)", "varchar(10)"),
        ("char(10)", "char(20)"),
        ("varchar(10)", "char(10)"),
        ("varchar(63)", "tinytext"),
        ("varchar(64)", "tinytext"),
        ("varchar(100)", "text"),
        ("tinytext", "text"),
        ("text", "mediumtext"),
        ("mediumtext", "text"),
        ("text", "tinytext"),
        ("text", "blob"),
        ("tinyblob", "blob"),
        ("blob", "tinyblob"),
        ("varbinary(10)", "blob"),
        ("varbinary(10)", "varbinary(5)"),
        ("binary(4)", "varbinary(4)"),
        ("binary(4)", "varbinary(8)"),
        ("binary(4)", "binary(8)"),
        ("varbinary(4)", "binary(4)"),
        ("decimal(12,2)", "decimal(14,2)"),
        ("decimal(12,2)", "decimal(14,4)"),
        ("decimal(12,2)", "decimal(12,4)"),
        ("decimal(12,2)", "decimal(12,1)"),
        ("decimal", "decimal(12,2)"),
        ("decimal(5,2) unsigned", "decimal(5,2)"),
        ("decimal(5,2)", "decimal(6,2) unsigned"),
        ("float", "double"),
        ("double", "float"),
        ("datetime", "datetime(3)"),
        ("datetime(6)", "datetime(3)"),
        ("time(2)", "time(4)"),
        ("time(4)", "time"),
        ("timestamp", "datetime"),
        ("datetime", "timestamp"),
        ("timestamp(3)", "timestamp(6)"),
        ("enum('a','b')", "enum('a','b','c')"),
        ("enum('a','b')", "enum('b','a')"),
        ("enum('a','b')", "enum('b','c')"),
        ("set('x','y')", "set('y','x','z')"),
        ("set('x','y')", "set('x')"),
        ("enum('a','b')", "set('a','b')"),
        ("enum('a','b')", "set('a')"),
    ];
    let mut wrong = Vec::new();
    for (from, to) in pairs {
        let server = server_keeps(&mut conn, from, to, &edges(from), true);
        let ours = widens(from, to);
        let listed =
            |list: &[(&str, &str, &str)]| list.iter().any(|(f, t, _)| (*f, *t) == (from, to));
        let excused = (server && !ours && listed(MARKED_THOUGH_KEPT))
            || (!server && ours && listed(KEPT_THOUGH_READ_OTHERWISE));
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

#[test]
fn character_sets_agree_with_the_server() {
    let db = MysqlDatabase::create();
    let mut conn = db.conn();
    strict(&mut conn);
    // A character of each reach: ASCII, Latin-1, the Basic Multilingual Plane, beyond.
    let values: Vec<String> = ["'a'", "'\u{e9}'", "'\u{3a9}'", "'\u{1F600}'"]
        .map(String::from)
        .to_vec();
    let sets = [
        "ascii", "latin1", "utf8mb3", "ucs2", "utf8mb4", "utf16", "utf32",
    ];
    let mut wrong = Vec::new();
    for from in sets {
        for to in sets {
            let column = |set: &str| format!("varchar(20) CHARACTER SET {set}");
            let server = server_keeps(&mut conn, &column(from), &column(to), &values, false);
            let ours = holds_characters(Some(from), Some(to));
            if ours != server {
                let change = format!("{from} -> {to}");
                wrong.push(disagreement(&change, "the server", server, ours));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
