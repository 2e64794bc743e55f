//! `aludel import alembic`: an Alembic project made by Alembic itself (`alembic init`,
//! from PyPI in the venv `scripts/test` makes), imported, then run by aludel and by
//! Alembic side by side.

use std::path::{Path, PathBuf};
use std::process::Command;

use aludel_testkit::{python_with_alembic, sqlite_rows};

const BIN: &str = env!("CARGO_BIN_EXE_aludel");

/// Revisions with a branch (labelled), a merge, `depends_on` by label, an
/// `autocommit_block`, a data migration that reads rows through `get_bind()`
/// (offline mode cannot run it, and what a run on a scratch database sends depends on
/// the rows), a bulk insert with a quote and a `%`, a docstring of several lines, and
/// one that asks an inspector about the schema (offline mode cannot run it; a run on
/// a scratch database captures it faithfully).
const REVISIONS: &[(&str, &str)] = &[
    (
        "a1",
        r#""""create customers

Revision ID: a1
Revises:
Create Date: 2024-01-02 03:04:05.000000

"""
from alembic import op
import sqlalchemy as sa

revision = "a1"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "customers",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("email", sa.String(200)),
        sa.CheckConstraint("email LIKE '%@%'", name="customers_email_check"),
    )


def downgrade():
    op.drop_table("customers")
"#,
    ),
    (
        "b2",
        r#""""add note"""
from alembic import op
import sqlalchemy as sa

revision = "b2"
down_revision = "a1"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("customers", sa.Column("note", sa.Text()))
    op.create_index("customers_name_idx", "customers", ["name"])


def downgrade():
    op.drop_index("customers_name_idx", table_name="customers")
    op.drop_column("customers", "note")
"#,
    ),
    (
        "c3",
        r#""""audit log"""
from alembic import op
import sqlalchemy as sa

revision = "c3"
down_revision = "a1"
branch_labels = ("audit",)
depends_on = None


def upgrade():
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("what", sa.Text),
    )


def downgrade():
    op.drop_table("audit_log")
"#,
    ),
    (
        "m4",
        r#""""merge"""
# What a module prints while it loads must not garble the import's answer.
print("loading the merge")

revision = "m4"
down_revision = ("b2", "c3")
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
"#,
    ),
    (
        "d5",
        r#""""index outside a transaction

A longer description
over two lines.
"""
from alembic import op

revision = "d5"
down_revision = "m4"
branch_labels = None
depends_on = "audit"


def upgrade():
    with op.get_context().autocommit_block():
        op.create_index("customers_email_idx", "customers", ["email"], postgresql_concurrently=True)


def downgrade():
    with op.get_context().autocommit_block():
        op.drop_index("customers_email_idx", table_name="customers", postgresql_concurrently=True)
"#,
    ),
    (
        "e6",
        r#""""trim names, row by row"""
from alembic import op
import sqlalchemy as sa

revision = "e6"
down_revision = "d5"
branch_labels = None
depends_on = None


def upgrade():
    conn = op.get_bind()
    rows = conn.execute(sa.text("SELECT id, name FROM customers")).fetchall()
    for id_, name in rows:
        conn.execute(sa.text("UPDATE customers SET name = :n WHERE id = :i"), {"n": name.strip(), "i": id_})


def downgrade():
    pass
"#,
    ),
    (
        "f7",
        r#""""seed"""
from alembic import op
import sqlalchemy as sa

revision = "f7"
down_revision = "e6"
branch_labels = None
depends_on = None


def upgrade():
    t = sa.table("audit_log", sa.column("id", sa.Integer), sa.column("what", sa.Text))
    op.bulk_insert(t, [{"id": 1, "what": "it's seeded; 100%"}])


def downgrade():
    op.execute("DELETE FROM audit_log WHERE id = 1")
"#,
    ),
    (
        "g8",
        r#""""vip, unless it is there"""
from alembic import op
import sqlalchemy as sa

revision = "g8"
down_revision = "f7"
branch_labels = None
depends_on = None


def columns():
    return [c["name"] for c in sa.inspect(op.get_bind()).get_columns("customers")]


def upgrade():
    if "vip" not in columns():
        op.add_column("customers", sa.Column("vip", sa.Boolean, server_default=sa.false()))


def downgrade():
    if "vip" in columns():
        op.drop_column("customers", "vip")
"#,
    ),
];

/// An Alembic project made by `alembic init`, its URL a SQLite file `alembic.db`.
fn alembic_project() -> tempfile::TempDir {
    alembic_project_at("sqlite:///alembic.db")
}

/// An Alembic project made by `alembic init`, its database at `url` (SQLAlchemy's
/// form).
fn alembic_project_at(url: &str) -> tempfile::TempDir {
    alembic_project_from("generic", url)
}

/// An Alembic project made by `alembic init --template TEMPLATE` (`pyproject` puts
/// its settings in `pyproject.toml`, the URL staying in `alembic.ini`).
fn alembic_project_from(template: &str, url: &str) -> tempfile::TempDir {
    alembic_project_of(template, url, REVISIONS)
}

/// As [`alembic_project_from`], with `revisions` (id, module text) in its versions folder.
fn alembic_project_of(template: &str, url: &str, revisions: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let python = python_with_alembic();
    let out = Command::new(&python)
        .args([
            "-m",
            "alembic",
            "init",
            "--template",
            template,
            "migrations",
        ])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ini = dir.path().join("alembic.ini");
    let text = std::fs::read_to_string(&ini).unwrap();
    let text = text.replace(
        "sqlalchemy.url = driver://user:pass@localhost/dbname",
        // alembic.ini is read by configparser, where `%` starts an interpolation.
        &format!("sqlalchemy.url = {}", url.replace('%', "%%")),
    );
    std::fs::write(&ini, text).unwrap();
    for (id, text) in revisions {
        std::fs::write(
            dir.path().join(format!("migrations/versions/{id}.py")),
            text,
        )
        .unwrap();
    }
    dir
}

fn run(dir: &Path, program: &Path, args: &[&str], env: &[(&str, &str)]) -> (bool, String) {
    let mut command = Command::new(program);
    command
        .args(args)
        .current_dir(dir)
        .env_remove("DATABASE_URL");
    for (k, v) in env {
        command.env(k, v);
    }
    let out = command.output().unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

fn aludel(dir: &Path, args: &[&str], db: &str) -> (bool, String) {
    let url = format!("sqlite:///{db}");
    run(
        dir,
        Path::new(BIN),
        args,
        &[("DATABASE_URL", &url), ("ALUDEL_CACHE_DIR", "")],
    )
}

fn alembic(dir: &Path, args: &[&str]) -> (bool, String) {
    let mut all = vec!["-m", "alembic"];
    all.extend_from_slice(args);
    run(dir, &python_with_alembic(), &all, &[])
}

/// A SQLite database's schema (without the version table, whose DDL is each tool's
/// own) and its version rows. Runs of white space count as one: Alembic's offline
/// mode, which the import runs, writes a tab of SQLAlchemy's DDL as four spaces,
/// and SQLite keeps each table's text as it was given.
fn schema_and_versions(db: &Path) -> (Vec<String>, Vec<String>) {
    let schema = sqlite_rows(
        db,
        "SELECT type || ' ' || name || ': ' || coalesce(sql, '') FROM sqlite_master \
         WHERE name NOT LIKE 'alembic_version%' AND name NOT LIKE 'sqlite_%' ORDER BY 1",
    )
    .into_iter()
    .map(|row| row.split_whitespace().collect::<Vec<_>>().join(" "))
    .collect();
    let versions = sqlite_rows(db, "SELECT version_num FROM alembic_version ORDER BY 1");
    (schema, versions)
}

/// Writes the SQL of revision e6 (its Python reads rows, which offline mode cannot)
/// as a person would, removing its `-- aludel:incomplete` line.
fn write_e6_by_hand(dir: &Path) -> PathBuf {
    let e6 = imported(dir, "e6");
    let text = std::fs::read_to_string(&e6).unwrap();
    let text: String = text
        .lines()
        .filter(|l| !l.starts_with("-- aludel:incomplete") && !l.starts_with("-- TODO"))
        .map(|l| format!("{l}\n"))
        .collect();
    let text = text.replace(
        "-- aludel:upgrade\n",
        "-- aludel:upgrade\nUPDATE customers SET name = trim(name);\n",
    );
    std::fs::write(&e6, text).unwrap();
    e6
}

/// The file aludel wrote for revision `id`.
fn imported(dir: &Path, id: &str) -> PathBuf {
    std::fs::read_dir(dir.join("aludel/versions"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with(&format!("{id}_")))
        })
        .unwrap()
}

#[test]
fn an_alembic_history_runs_the_same_under_aludel() {
    let project = alembic_project();
    let dir = project.path();
    let python = python_with_alembic();
    let python = python.to_str().unwrap();

    // Settings aludel has too are carried; the others are named.
    let ini = dir.join("alembic.ini");
    let text = std::fs::read_to_string(&ini).unwrap();
    let text = text.replacen("# file_template = ", "file_template = ", 1);
    std::fs::write(&ini, text).unwrap();

    // The dialect comes from what env.py configures (alembic.ini's SQLite URL).
    let (ok, out) = aludel(dir, &["import", "alembic", "--python", python], "aludel.db");
    assert!(ok, "{out}");
    assert!(
        out.contains("file_template: carried as {year}_{month}_{day}_{hour}{minute}-{rev}_{slug}"),
        "{out}"
    );
    assert!(
        out.contains("transaction_per_migration: carried as false"),
        "{out}"
    );
    let toml = std::fs::read_to_string(dir.join("aludel.toml")).unwrap();
    assert!(toml.contains("transaction_per_migration = false"), "{toml}");
    assert!(out.contains("Wrote 8 revision file(s)"), "{out}");
    assert!(out.contains("version_table = alembic_version"), "{out}");
    assert!(out.contains("(autocommit_block): d5."), "{out}");
    assert!(
        out.contains(
            "e6: imported from Alembic: its upgrade() reads rows (SELECT id, name FROM customers)"
        ),
        "{out}"
    );
    assert!(
        out.contains(
            "Captured from a run on a scratch database (offline mode could not run them): g8."
        ),
        "{out}"
    );
    // e6's upgrade section is a draft: what it sent to a database without rows, its
    // read where it ran.
    let e6 = std::fs::read_to_string(imported(dir, "e6")).unwrap();
    for line in [
        "-- aludel:incomplete imported from Alembic: its upgrade() reads rows",
        "-- aludel:upgrade\n-- TODO: check this draft, add what real rows need, then remove the aludel:incomplete line.\n",
        "\n-- read: SELECT id, name FROM customers\n",
    ] {
        assert!(e6.contains(line), "{line}\n{e6}");
    }
    let g8 = std::fs::read_to_string(imported(dir, "g8")).unwrap();
    for line in [
        "-- Captured from a run of upgrade() on a scratch database",
        "ALTER TABLE customers ADD COLUMN vip BOOLEAN DEFAULT 0;\n",
        "ALTER TABLE customers DROP COLUMN vip;\n",
    ] {
        assert!(g8.contains(line), "{line}\n{g8}");
    }
    assert!(!g8.contains("aludel:incomplete"), "{g8}");

    let d5 = std::fs::read_to_string(imported(dir, "d5")).unwrap();
    for line in [
        "-- aludel:revises m4\n",
        "-- aludel:depends_on audit\n",
        "-- aludel:transaction false\n",
        "-- aludel:doc A longer description\n",
    ] {
        assert!(d5.contains(line), "{line}\n{d5}");
    }
    let a1 = std::fs::read_to_string(imported(dir, "a1")).unwrap();
    assert!(
        a1.contains("-- aludel:created 2024-01-02T03:04:05Z\n"),
        "{a1}"
    );
    assert!(a1.contains("LIKE '%@%'"), "{a1}");
    let c3 = std::fs::read_to_string(imported(dir, "c3")).unwrap();
    assert!(c3.contains("-- aludel:branch_labels audit\n"), "{c3}");
    let f7 = std::fs::read_to_string(imported(dir, "f7")).unwrap();
    assert!(f7.contains("'it''s seeded; 100%'"), "{f7}");

    // `show` prints the revision's own docstring, as Alembic does (only the path
    // differs).
    let (ok, shown) = aludel(dir, &["show", "d5"], "aludel.db");
    assert!(ok, "{shown}");
    let (ok, by_alembic) = alembic(dir, &["show", "d5"]);
    assert!(ok, "{by_alembic}");
    let path = |text: &str, from: &str| {
        text.lines()
            .map(|l| {
                if l.starts_with("Path: ") {
                    from.to_string()
                } else {
                    l.to_string()
                }
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(
        path(&shown, "Path: -"),
        path(&by_alembic.replace("loading the merge\n", ""), "Path: -")
    );
    assert!(
        shown.contains("    A longer description\n    over two lines.\n"),
        "{shown}"
    );

    // aludel reads the same graph as Alembic.
    let (ok, out) = aludel(dir, &["heads"], "aludel.db");
    assert!(ok && out.starts_with("g8 (audit) (head)"), "{out}");

    // The revision offline mode could not run is refused before anything runs.
    let (ok, out) = aludel(dir, &["upgrade", "head"], "aludel.db");
    assert!(
        !ok && out.contains("revision e6 is marked incomplete"),
        "{out}"
    );
    assert!(
        sqlite_rows(&dir.join("aludel.db"), "SELECT name FROM sqlite_master").is_empty(),
        "ran something"
    );
    // A person writes it.
    let e6 = write_e6_by_hand(dir);

    let (ok, out) = aludel(dir, &["upgrade", "head"], "aludel.db");
    assert!(ok, "{out}");
    let (ok, out) = alembic(dir, &["upgrade", "head"]);
    assert!(ok, "{out}");
    let by_alembic = schema_and_versions(&dir.join("alembic.db"));
    assert_eq!(schema_and_versions(&dir.join("aludel.db")), by_alembic);
    assert_eq!(by_alembic.1, ["g8"]);
    assert_eq!(
        sqlite_rows(&dir.join("aludel.db"), "SELECT what FROM audit_log"),
        ["it's seeded; 100%"]
    );

    // A database Alembic took to a middle revision carries on under aludel.
    std::fs::rename(dir.join("alembic.db"), dir.join("alembic-head.db")).unwrap();
    let (ok, out) = alembic(dir, &["upgrade", "d5"]);
    assert!(ok, "{out}");
    std::fs::rename(dir.join("alembic.db"), dir.join("middle.db")).unwrap();
    let (ok, out) = aludel(dir, &["current"], "middle.db");
    assert!(ok && out.starts_with("d5"), "{out}");
    let (ok, out) = aludel(dir, &["upgrade", "head"], "middle.db");
    assert!(ok, "{out}");
    assert_eq!(schema_and_versions(&dir.join("middle.db")), by_alembic);

    // And back to empty.
    let (ok, out) = aludel(dir, &["downgrade", "base"], "aludel.db");
    assert!(ok, "{out}");
    assert_eq!(
        schema_and_versions(&dir.join("aludel.db")),
        (vec![], vec![])
    );

    // Alembic's version table holds ids of 32 characters at most.
    let (ok, out) = aludel(
        dir,
        &["revision", "-m", "long", "--rev-id", &"a".repeat(33)],
        "aludel.db",
    );
    assert!(!ok && out.contains("holds at most 32"), "{out}");
    let (ok, out) = aludel(
        dir,
        &["revision", "-m", "ok", "--rev-id", &"b".repeat(32)],
        "aludel.db",
    );
    assert!(ok, "{out}");
    // Named by the file_template carried from Alembic.
    let new_file = std::fs::read_dir(dir.join("aludel/versions"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().contains(&"b".repeat(32)))
        .unwrap();
    let name = new_file.file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        name.ends_with(&format!("-{}_ok.sql", "b".repeat(32))),
        "{name}"
    );
    std::fs::remove_file(new_file).unwrap();

    // Imported again: nothing new, nothing overwritten.
    let before = std::fs::read_to_string(&e6).unwrap();
    let (ok, out) = aludel(dir, &["import", "alembic", "--python", python], "aludel.db");
    assert!(ok, "{out}");
    assert!(out.contains("Wrote 0 revision file(s); kept 8"), "{out}");
    assert!(
        !out.contains("aludel.toml ("),
        "aludel.toml written again: {out}"
    );
    assert_eq!(std::fs::read_to_string(&e6).unwrap(), before);
}

#[test]
fn import_says_what_it_needs() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, out) = aludel(dir.path(), &["import", "alembic"], "x.db");
    assert!(!ok && out.contains("no alembic.ini"), "{out}");
    let project = alembic_project();
    let (ok, out) = aludel(
        project.path(),
        &["import", "alembic", "--python", "no-such-python-for-aludel"],
        "x.db",
    );
    assert!(!ok && out.contains("could not start"), "{out}");
    let (ok, out) = aludel(
        project.path(),
        &[
            "import",
            "alembic",
            "--dialect",
            "oracle",
            "--python",
            "python3",
        ],
        "x.db",
    );
    assert!(!ok && out.contains("postgresql or sqlite"), "{out}");
    // What the user typed is shown escaped.
    let (ok, out) = aludel(
        project.path(),
        &["import", "alembic", "--dialect", "ora\u{1b}[31mcle"],
        "x.db",
    );
    assert!(!ok && out.contains("--dialect ora\\u{1b}[31mcle:"), "{out}");
    // Alembic's own message is shown with any URL's password masked.
    let ini = project.path().join("alembic.ini");
    let text = std::fs::read_to_string(&ini).unwrap().replace(
        "script_location = %(here)s/migrations",
        "script_location = /nonexistent/host=h password=s3cret",
    );
    std::fs::write(&ini, text).unwrap();
    let python = python_with_alembic();
    let (ok, out) = aludel(
        project.path(),
        &["import", "alembic", "--python", python.to_str().unwrap()],
        "x.db",
    );
    assert!(
        !ok && out.contains("Alembic could not read") && out.contains("password=***"),
        "{out}"
    );
    assert!(!out.contains("s3cret"), "{out}");
}

/// `pg_dump --schema-only` of a database without its version table (whose DDL is each
/// tool's own), its comments and psql meta-commands left out.
fn pg_schema(url: &str) -> String {
    let out = Command::new("pg_dump")
        .args([
            "--schema-only",
            "--no-owner",
            "--no-privileges",
            "-T",
            "alembic_version",
            url,
        ])
        .output()
        .expect("pg_dump, from the PostgreSQL client tools, is needed");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.starts_with("--") && !l.starts_with('\\') && !l.is_empty())
        .map(|l| format!("{l}\n"))
        .collect()
}

/// The same history on PostgreSQL: imported for it (`--dialect`; the project's URL
/// names it too), the autocommit block's `CREATE INDEX CONCURRENTLY` run outside a
/// transaction, and the schema `pg_dump` shows equal to what Alembic leaves.
#[test]
fn an_alembic_history_runs_the_same_under_aludel_on_postgres() {
    let by_alembic_db = aludel_testkit::PgDatabase::create();
    let by_aludel_db = aludel_testkit::PgDatabase::create();
    let sqlalchemy_url = by_alembic_db
        .url()
        .replacen("postgresql://", "postgresql+psycopg://", 1);
    let project = alembic_project_at(&sqlalchemy_url);
    let dir = project.path();
    let python = python_with_alembic();
    let python = python.to_str().unwrap();
    let aludel_pg = |args: &[&str]| {
        run(
            dir,
            Path::new(BIN),
            args,
            &[
                ("DATABASE_URL", by_aludel_db.url()),
                ("ALUDEL_CACHE_DIR", ""),
            ],
        )
    };
    let (ok, out) = aludel_pg(&[
        "import",
        "alembic",
        "--python",
        python,
        "--dialect",
        "postgresql",
    ]);
    assert!(ok, "{out}");
    let d5 = std::fs::read_to_string(imported(dir, "d5")).unwrap();
    assert!(
        d5.contains("CREATE INDEX CONCURRENTLY customers_email_idx"),
        "{d5}"
    );
    // Run on a scratch database beside DATABASE_URL's, through psycopg.
    let g8 = std::fs::read_to_string(imported(dir, "g8")).unwrap();
    assert!(
        g8.contains("ALTER TABLE customers ADD COLUMN vip BOOLEAN DEFAULT false;\n"),
        "{g8}"
    );
    write_e6_by_hand(dir);

    let (ok, out) = aludel_pg(&["upgrade", "head"]);
    assert!(ok, "{out}");
    let (ok, out) = alembic(dir, &["upgrade", "head"]);
    assert!(ok, "{out}");
    assert_eq!(
        pg_schema(by_aludel_db.url()),
        pg_schema(by_alembic_db.url())
    );
    let versions = "SELECT version_num FROM alembic_version ORDER BY 1";
    assert_eq!(by_aludel_db.rows(versions), by_alembic_db.rows(versions));
    assert_eq!(by_aludel_db.rows(versions), ["g8"]);

    // A database Alembic left at a middle revision carries on under aludel.
    let (ok, out) = alembic(dir, &["downgrade", "d5"]);
    assert!(ok, "{out}");
    let on_alembics = |args: &[&str]| {
        run(
            dir,
            Path::new(BIN),
            args,
            &[
                ("DATABASE_URL", by_alembic_db.url()),
                ("ALUDEL_CACHE_DIR", ""),
            ],
        )
    };
    let (ok, out) = on_alembics(&["current"]);
    assert!(ok && out.starts_with("d5"), "{out}");
    let (ok, out) = on_alembics(&["upgrade", "head"]);
    assert!(ok, "{out}");
    assert_eq!(
        pg_schema(by_alembic_db.url()),
        pg_schema(by_aludel_db.url())
    );
    assert_eq!(by_alembic_db.rows(versions), ["g8"]);

    let (ok, out) = aludel_pg(&["downgrade", "base"]);
    assert!(ok, "{out}");
    assert_eq!(by_aludel_db.tables(), ["alembic_version"]);
}

/// Alembic's `pyproject` template: `script_location` is read from `[tool.alembic]`.
#[test]
fn a_pyproject_toml_project_is_read_as_alembic_reads_it() {
    let project = alembic_project_from("pyproject", "sqlite:///alembic.db");
    let dir = project.path();
    let python = python_with_alembic();
    let (ok, out) = aludel(
        dir,
        &["import", "alembic", "--python", python.to_str().unwrap()],
        "aludel.db",
    );
    assert!(ok, "{out}");
    assert!(out.contains("Wrote 8 revision file(s)"), "{out}");
    let (ok, out) = aludel(dir, &["history"], "aludel.db");
    assert!(ok, "{out}");
    let (ok, alembic_history) = alembic(dir, &["history"]);
    assert!(ok, "{alembic_history}");
    assert_eq!(out, alembic_history.replace("loading the merge\n", ""));
}

/// `--dialect postgresql,sqlite`: a section per dialect where their SQL differs, one
/// where it agrees; the same files then run on both.
#[test]
fn several_dialects_give_sections_per_dialect() {
    let project = alembic_project();
    let dir = project.path();
    let pg = aludel_testkit::PgDatabase::create();
    let python = python_with_alembic();
    let (ok, out) = run(
        dir,
        Path::new(BIN),
        &[
            "import",
            "alembic",
            "--python",
            python.to_str().unwrap(),
            "--dialect",
            "postgresql,sqlite",
        ],
        &[("DATABASE_URL", pg.url()), ("ALUDEL_CACHE_DIR", "")],
    );
    assert!(ok, "{out}");
    assert!(
        out.contains("wrote the SQL for postgresql, sqlite"),
        "{out}"
    );
    let a1 = std::fs::read_to_string(imported(dir, "a1")).unwrap();
    assert!(
        a1.contains(
            "\n-- aludel:upgrade postgresql\nCREATE TABLE customers (\n    id SERIAL NOT NULL"
        ),
        "{a1}"
    );
    assert!(
        a1.contains(
            "\n-- aludel:upgrade sqlite\nCREATE TABLE customers (\n    id INTEGER NOT NULL"
        ),
        "{a1}"
    );
    assert!(
        a1.contains("\n-- aludel:downgrade\nDROP TABLE customers;\n"),
        "{a1}"
    );
    // Captured on each dialect's scratch database.
    let g8 = std::fs::read_to_string(imported(dir, "g8")).unwrap();
    assert!(g8.contains("-- aludel:upgrade postgresql\n"), "{g8}");
    assert!(g8.contains("ADD COLUMN vip BOOLEAN DEFAULT false;"), "{g8}");
    assert!(g8.contains("ADD COLUMN vip BOOLEAN DEFAULT 0;"), "{g8}");
    write_e6_by_hand(dir);

    let (ok, out) = aludel(dir, &["upgrade", "head"], "aludel.db");
    assert!(ok, "{out}");
    let (ok, out) = run(
        dir,
        Path::new(BIN),
        &["upgrade", "head"],
        &[("DATABASE_URL", pg.url()), ("ALUDEL_CACHE_DIR", "")],
    );
    assert!(ok, "{out}");
    let mut tables = pg.tables();
    tables.sort();
    assert_eq!(tables, ["alembic_version", "audit_log", "customers"]);
}

/// A history whose first revision uses a table its application makes outside the
/// migrations: the run on a scratch database stops there (the reasons say so) until
/// `--scratch-setup` makes that table first.
#[test]
fn a_history_that_is_not_self_contained_is_captured_after_a_setup() {
    let project = alembic_project();
    let dir = project.path();
    let a1 = dir.join("migrations/versions/a1.py");
    let text = std::fs::read_to_string(&a1).unwrap();
    let text = text
        .replace(
            "def downgrade():\n    op.drop_table(\"customers\")",
            "def downgrade():\n    op.drop_index(\"users_name_idx\", table_name=\"users\")\n    op.drop_table(\"customers\")",
        )
        .replace(
            "    )\n\n\ndef downgrade",
            "    )\n    op.create_index(\"users_name_idx\", \"users\", [\"name\"])\n\n\ndef downgrade",
        );
    assert!(
        text.contains("op.create_index(\"users_name_idx\""),
        "{text}"
    );
    std::fs::write(&a1, text).unwrap();
    let python = python_with_alembic();
    let python = python.to_str().unwrap();

    let (ok, out) = aludel(dir, &["import", "alembic", "--python", python], "aludel.db");
    assert!(ok, "{out}");
    assert!(
        out.contains("g8: imported from Alembic: offline mode could not run its upgrade()"),
        "{out}"
    );
    assert!(out.contains("stopped at a1's upgrade()"), "{out}");

    // Imported afresh after `setup` (SQL) is written as FILE.
    let import_after = |file: &str, setup: &str| {
        std::fs::remove_dir_all(dir.join("aludel")).unwrap();
        std::fs::write(dir.join(file), setup).unwrap();
        let args = [
            "import",
            "alembic",
            "--python",
            python,
            "--scratch-setup",
            file,
        ];
        aludel(dir, &args, "aludel.db")
    };
    let (ok, out) = import_after(
        "users.sql",
        "CREATE TABLE users (id integer PRIMARY KEY, name text);\n",
    );
    assert!(ok, "{out}");
    assert!(
        out.contains(
            "Captured from a run on a scratch database (offline mode could not run them): g8."
        ),
        "{out}"
    );

    // A setup the scratch database refuses stops the import, naming the statement.
    let (ok, out) = import_after("bad.sql", "CREATE TABLE ok (id int);\nCREATE TABL oops;\n");
    assert!(
        !ok && out.contains("--scratch-setup: ") && out.contains("bad.sql:2:"),
        "{out}"
    );
}

/// The scratch database must be of the dialect the revisions are written for: with
/// env.py naming SQLite and DATABASE_URL naming PostgreSQL, nothing PostgreSQL sends
/// lands in SQLite's sections; the revision stays incomplete, saying why.
#[test]
fn a_scratch_database_of_another_dialect_is_not_used() {
    let project = alembic_project();
    let dir = project.path();
    let pg = aludel_testkit::PgDatabase::create();
    let python = python_with_alembic();
    let (ok, out) = run(
        dir,
        Path::new(BIN),
        &["import", "alembic", "--python", python.to_str().unwrap()],
        &[("DATABASE_URL", pg.url()), ("ALUDEL_CACHE_DIR", "")],
    );
    assert!(ok, "{out}");
    assert!(out.contains("wrote the SQL for sqlite"), "{out}");
    assert!(
        out.contains("the scratch database is postgresql, the revisions are written for sqlite"),
        "{out}"
    );
    let g8 = std::fs::read_to_string(imported(dir, "g8")).unwrap();
    assert!(g8.contains("-- aludel:incomplete"), "{g8}");
    assert!(!g8.contains("Captured from a run"), "{g8}");
}

/// A history whose downgrades cannot all run in reverse (r4 drops the table and its
/// downgrade does nothing, as real histories do): r2's downgrade, which asks an
/// inspector, is tried right after r2's upgrade in a transaction rolled back, so it
/// is captured on the schema its upgrade left, and r3's upgrade, which looks for what
/// r2 made, still finds it after the trial. r5's downgrade, in an autocommit block,
/// cannot be rolled back: it comes from the run in reverse, which it heads.
const LOSSY_REVISIONS: &[(&str, &str)] = &[
    (
        "r1",
        r#""""t"""
from alembic import op
import sqlalchemy as sa

revision = "r1"
down_revision = None


def upgrade():
    op.create_table("t", sa.Column("id", sa.Integer, primary_key=True))


def downgrade():
    op.drop_table("t")
"#,
    ),
    (
        "r2",
        r#""""b, if missing"""
from alembic import op
import sqlalchemy as sa

revision = "r2"
down_revision = "r1"


def columns():
    return [c["name"] for c in sa.inspect(op.get_bind()).get_columns("t")]


def upgrade():
    if "b" not in columns():
        op.add_column("t", sa.Column("b", sa.Integer))


def downgrade():
    if "b" in columns():
        op.drop_column("t", "b")
"#,
    ),
    (
        "r3",
        r#""""index on b, if there"""
from alembic import op
import sqlalchemy as sa

revision = "r3"
down_revision = "r2"


def upgrade():
    if "b" in [c["name"] for c in sa.inspect(op.get_bind()).get_columns("t")]:
        op.create_index("t_b_idx", "t", ["b"])


def downgrade():
    op.drop_index("t_b_idx", table_name="t")
"#,
    ),
    (
        "r4",
        r#""""drop t"""
from alembic import op

revision = "r4"
down_revision = "r3"


def upgrade():
    op.drop_table("t")


def downgrade():
    pass
"#,
    ),
    (
        "r5",
        r#""""u"""
from alembic import op
import sqlalchemy as sa

revision = "r5"
down_revision = "r4"


def upgrade():
    op.create_table("u", sa.Column("id", sa.Integer, primary_key=True))


def downgrade():
    if "u" in sa.inspect(op.get_bind()).get_table_names():
        with op.get_context().autocommit_block():
            op.drop_table("u")
"#,
    ),
];

/// `aludel import alembic --dialect DIALECT` of the project in `dir`, its scratch
/// database on the server of `url`: whether it succeeded, and its output.
fn import_for(dir: &Path, dialect: &str, url: &str) -> (bool, String) {
    let python = python_with_alembic();
    run(
        dir,
        Path::new(BIN),
        &[
            "import",
            "alembic",
            "--python",
            python.to_str().unwrap(),
            "--dialect",
            dialect,
        ],
        &[("DATABASE_URL", url), ("ALUDEL_CACHE_DIR", "")],
    )
}

fn a_downgrade_is_tried_on_the_schema_its_upgrade_leaves(url: &str, dialect: &str) {
    let project = alembic_project_of("generic", url, LOSSY_REVISIONS);
    let dir = project.path();
    let (ok, out) = import_for(dir, dialect, url);
    assert!(ok, "{out}");
    assert!(!out.contains("stopped at"), "{out}");
    let r2 = std::fs::read_to_string(imported(dir, "r2")).unwrap();
    assert!(!r2.contains("aludel:incomplete"), "{r2}");
    let downgrade = &r2[r2.find("-- aludel:downgrade").expect(&r2)..];
    assert!(downgrade.contains("ALTER TABLE t DROP COLUMN b;\n"), "{r2}");
    let upgrade = &r2[r2.find("-- aludel:upgrade").expect(&r2)..];
    assert!(
        upgrade.contains("ALTER TABLE t ADD COLUMN b INTEGER;\n"),
        "{r2}"
    );
    // r5's downgrade commits on its own: no trial, the run in reverse gives it.
    let r5 = std::fs::read_to_string(imported(dir, "r5")).unwrap();
    assert!(r5.contains("-- aludel:transaction false\n"), "{r5}");
    let downgrade = &r5[r5.find("-- aludel:downgrade").expect(&r5)..];
    assert!(downgrade.contains("\nDROP TABLE u;\n"), "{r5}");
    // r2's trial left b in place for r3.
    let r3 = std::fs::read_to_string(imported(dir, "r3")).unwrap();
    assert!(r3.contains("CREATE INDEX t_b_idx ON t (b);\n"), "{r3}");
}

#[test]
fn a_downgrade_is_tried_on_the_schema_its_upgrade_leaves_on_sqlite() {
    let scratch = tempfile::tempdir().unwrap();
    let url = format!("sqlite:///{}", scratch.path().join("x.db").display());
    a_downgrade_is_tried_on_the_schema_its_upgrade_leaves(&url, "sqlite");
}

#[test]
fn a_downgrade_is_tried_on_the_schema_its_upgrade_leaves_on_postgres() {
    let db = aludel_testkit::PgDatabase::create();
    a_downgrade_is_tried_on_the_schema_its_upgrade_leaves(db.url(), "postgresql");
}

/// The scratch database's server cannot be reached to drop it (the relay cuts every
/// `DROP DATABASE`): the import is done, and its report names the database with the
/// statement that drops it, which is true and works. When the import fails too
/// (Alembic cannot read the project), the error says both.
#[test]
fn a_scratch_database_that_cannot_be_dropped_is_named_in_the_report() {
    use aludel_testkit::faults::{Relay, RelayMode};
    let db = aludel_testkit::PgDatabase::create();
    let relay = Relay::to_test_postgres(RelayMode::CutEvery("DROP DATABASE"));
    let url = relay.url(db.name());
    let project = alembic_project_of("generic", &url, LOSSY_REVISIONS);
    let admin = aludel_testkit::postgres_admin_url();
    let exists = |name: &str| {
        aludel_testkit::pg_rows(
            &admin,
            &format!("SELECT datname FROM pg_database WHERE datname = '{name}'"),
        )
        .len()
            == 1
    };
    // The database `out` names: there, said so, and gone after its statement runs
    // (whatever the assertions find, it goes).
    let named_and_dropped = |out: &str| {
        let said = "Could not drop the scratch database ";
        let Some((_, rest)) = out.split_once(said) else {
            panic!("no scratch database named: {out}");
        };
        let name = rest.split(' ').next().unwrap();
        let statement = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
        let there = exists(name);
        aludel_testkit::pg_rows(&admin, &statement);
        assert!(
            out.contains(&format!("{said}{name} on {} (", relay.addr()))
                && out.contains(&format!(
                    "): it may still be there (no answer said whether a drop ran); drop it with: {statement}\n"
                )),
            "{out}"
        );
        assert!(there, "the database named is on the server");
        assert!(!exists(name));
    };
    let (ok, out) = import_for(project.path(), "postgresql", &url);
    named_and_dropped(&out);
    assert!(ok, "{out}");

    let ini = project.path().join("alembic.ini");
    let text = std::fs::read_to_string(&ini).unwrap().replace(
        "script_location = %(here)s/migrations",
        "script_location = /nonexistent",
    );
    std::fs::write(&ini, text).unwrap();
    std::fs::remove_dir_all(project.path().join("aludel")).ok();
    let (ok, out) = import_for(project.path(), "postgresql", &url);
    named_and_dropped(&out);
    assert!(!ok && out.contains("Alembic could not read"), "{out}");
}
