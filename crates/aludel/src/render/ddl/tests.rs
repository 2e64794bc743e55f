use super::*;
use crate::diff::{Renames, diff};
use crate::schema::{
    Check, EnumType, IndexKey, PrimaryKey, ReferentialAction, Schema, Unique, View,
};

fn col(name: &str, ty: &str, nullable: bool) -> Column {
    Column {
        name: name.into(),
        data_type: ty.into(),
        nullable,
        ..Column::default()
    }
}

fn catalog(schema: &str, s: Schema) -> Catalog {
    let mut c = Catalog::default();
    c.schemas.insert(schema.into(), s);
    c
}

/// A customers/orders pair with most features, in `schema`.
fn shop(dialect: Dialect) -> Schema {
    let mut s = Schema::default();
    let id = |ty: &str| Column {
        identity: Some(if dialect == Dialect::Postgres {
            Identity::Always
        } else {
            Identity::Serial
        }),
        ..col("id", ty, false)
    };
    let mut customers = Table {
        columns: vec![
            id("integer"),
            Column {
                comment: Some("shown on invoices".into()),
                ..col("name", "text", false)
            },
            col("email", "text", true),
        ],
        primary_key: Some(PrimaryKey {
            name: "customers_pkey".into(),
            columns: vec!["id".into()],
        }),
        comment: Some("who buys".into()),
        ..Table::default()
    };
    customers.uniques.insert(
        "customers_email_key".into(),
        Unique {
            columns: vec!["email".into()],
        },
    );
    let mut orders = Table {
        columns: vec![
            id("integer"),
            col("customer_id", "integer", false),
            Column {
                default: Some("0".into()),
                ..col("total", "numeric(12,2)", false)
            },
            col("order", "text", true),
        ],
        primary_key: Some(PrimaryKey {
            name: "orders_pkey".into(),
            columns: vec!["id".into()],
        }),
        ..Table::default()
    };
    orders.checks.insert(
        "orders_total_check".into(),
        Check {
            expression: "total >= 0".into(),
        },
    );
    orders.foreign_keys.insert(
        "orders_customer_id_fkey".into(),
        ForeignKey {
            columns: vec!["customer_id".into()],
            ref_schema: if dialect == Dialect::Postgres {
                "public".into()
            } else {
                "main".into()
            },
            ref_table: "customers".into(),
            ref_columns: vec!["id".into()],
            on_delete: ReferentialAction::Cascade,
            ..ForeignKey::default()
        },
    );
    orders.indexes.insert(
        "orders_recent_idx".into(),
        Index {
            method: "btree".into(),
            keys: vec![
                IndexKey {
                    expression: "customer_id".into(),
                    is_expression: false,
                    descending: false,
                    nulls_first: false,
                    opclass: None,
                    prefix_length: None,
                },
                IndexKey {
                    expression: "lower(\"order\")".into(),
                    is_expression: true,
                    descending: true,
                    nulls_first: false,
                    opclass: None,
                    prefix_length: None,
                },
            ],
            predicate: Some("total > 0".into()),
            ..Index::default()
        },
    );
    s.tables.insert("customers".into(), customers);
    s.tables.insert("orders".into(), orders);
    s.views.insert(
        "big_orders".into(),
        View {
            definition: "SELECT id FROM orders WHERE total > 100".into(),
            comment: None,
        },
    );
    s
}

fn sql(rendered: &[RenderedOp]) -> String {
    rendered
        .iter()
        .flat_map(|r| r.statements.iter().map(|s| format!("{s};\n")))
        .collect()
}

#[test]
fn postgres_creates_a_schema_from_nothing_and_drops_it_again() {
    let to = catalog("public", shop(Dialect::Postgres));
    let from = catalog("public", Schema::default());
    let d = diff(&from, &to, &Renames::default());
    let up = render_ops(Dialect::Postgres, "public", &from, &d.ops).unwrap();
    assert_eq!(
        sql(&up),
        r#"CREATE TABLE customers (
    id integer GENERATED ALWAYS AS IDENTITY NOT NULL,
    name text NOT NULL,
    email text,
    CONSTRAINT customers_pkey PRIMARY KEY (id),
    CONSTRAINT customers_email_key UNIQUE (email)
);
COMMENT ON TABLE customers IS 'who buys';
COMMENT ON COLUMN customers.name IS 'shown on invoices';
CREATE TABLE orders (
    id integer GENERATED ALWAYS AS IDENTITY NOT NULL,
    customer_id integer NOT NULL,
    total numeric(12,2) DEFAULT 0 NOT NULL,
    "order" text,
    CONSTRAINT orders_pkey PRIMARY KEY (id),
    CONSTRAINT orders_total_check CHECK (total >= 0)
);
CREATE INDEX orders_recent_idx ON orders (customer_id, (lower("order")) DESC NULLS LAST) WHERE total > 0;
ALTER TABLE orders ADD CONSTRAINT orders_customer_id_fkey FOREIGN KEY (customer_id) REFERENCES customers (id) ON DELETE CASCADE;
CREATE VIEW big_orders AS
SELECT id FROM orders WHERE total > 100;
"#
    );
    let down = render_ops(Dialect::Postgres, "public", &to, &d.inverse()).unwrap();
    assert_eq!(
        sql(&down),
        "DROP VIEW big_orders;\nALTER TABLE orders DROP CONSTRAINT orders_customer_id_fkey;\nDROP INDEX orders_recent_idx;\nDROP TABLE orders;\nDROP TABLE customers;\n"
    );
}

#[test]
fn postgres_column_alterations() {
    let t = QName::new("app", "t");
    let r = |from: Column, to: Column| {
        let op = Op::AlterColumn {
            table: t.clone(),
            from,
            to,
        };
        render_ops(Dialect::Postgres, "public", &Catalog::default(), &[op])
            .unwrap()
            .remove(0)
            .statements
    };
    assert_eq!(
        r(col("n", "integer", true), col("n", "bigint", false)),
        [
            "ALTER TABLE app.t ALTER COLUMN n TYPE bigint USING n::bigint",
            "ALTER TABLE app.t ALTER COLUMN n SET NOT NULL",
        ]
    );
    let with_default = Column {
        default: Some("'x'::text".into()),
        comment: Some("it's".into()),
        ..col("s", "text", true)
    };
    assert_eq!(
        r(col("s", "text", true), with_default.clone()),
        [
            "ALTER TABLE app.t ALTER COLUMN s SET DEFAULT 'x'::text",
            "COMMENT ON COLUMN app.t.s IS 'it''s'",
        ]
    );
    assert_eq!(
        r(with_default, col("s", "text", true)),
        [
            "ALTER TABLE app.t ALTER COLUMN s DROP DEFAULT",
            "COMMENT ON COLUMN app.t.s IS NULL",
        ]
    );
    let identity = |i| Column {
        identity: Some(i),
        ..col("id", "bigint", false)
    };
    // A column that becomes numbered may hold numbers already: its sequence starts
    // after them.
    assert_eq!(
        r(col("id", "bigint", false), identity(Identity::ByDefault)),
        [
            "ALTER TABLE app.t ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY",
            "SELECT setval(pg_get_serial_sequence('app.t', 'id'), coalesce(max(id), 0) + 1, false) FROM app.t",
        ]
    );
    assert_eq!(
        r(col("id", "bigint", false), identity(Identity::Serial)),
        [
            "CREATE SEQUENCE app.t_id_seq OWNED BY app.t.id",
            "ALTER TABLE app.t ALTER COLUMN id SET DEFAULT nextval('app.t_id_seq'::regclass)",
            "SELECT setval(pg_get_serial_sequence('app.t', 'id'), coalesce(max(id), 0) + 1, false) FROM app.t",
        ]
    );
    assert_eq!(
        r(identity(Identity::ByDefault), identity(Identity::Always)),
        ["ALTER TABLE app.t ALTER COLUMN id SET GENERATED ALWAYS"]
    );
    assert_eq!(
        r(identity(Identity::Always), col("id", "bigint", false)),
        ["ALTER TABLE app.t ALTER COLUMN id DROP IDENTITY"]
    );
}

#[test]
fn postgres_types_and_sequences() {
    let mut s = Schema::default();
    s.enums.insert(
        "mood".into(),
        EnumType {
            labels: vec!["sad".into(), "happy".into()],
        },
    );
    let to = catalog("public", s.clone());
    s.enums.get_mut("mood").unwrap().labels = vec!["happy".into()];
    let from = catalog("public", s);
    let d = diff(&from, &to, &Renames::default());
    let up = render_ops(Dialect::Postgres, "public", &from, &d.ops).unwrap();
    assert_eq!(
        sql(&up),
        "ALTER TYPE mood ADD VALUE 'sad' BEFORE 'happy';\n"
    );
    let down = render_ops(Dialect::Postgres, "public", &to, &d.inverse()).unwrap();
    assert!(down[0].statements.is_empty());
    assert_eq!(
        down[0].notes,
        ["PostgreSQL cannot remove the value 'sad' from enum type public.mood: it stays"]
    );
}

#[test]
fn a_view_whose_comment_alone_changes_is_only_commented() {
    let view = |comment: Option<&str>| {
        let mut s = Schema::default();
        s.views.insert(
            "v".into(),
            View {
                definition: "SELECT 1".into(),
                comment: comment.map(str::to_string),
            },
        );
        catalog("public", s)
    };
    let (from, to) = (view(None), view(Some("one")));
    let d = diff(&from, &to, &Renames::default());
    let up = render_ops(Dialect::Postgres, "public", &from, &d.ops).unwrap();
    assert_eq!(sql(&up), "COMMENT ON VIEW v IS 'one';\n");
    let down = render_ops(Dialect::Postgres, "public", &to, &d.inverse()).unwrap();
    assert_eq!(sql(&down), "COMMENT ON VIEW v IS NULL;\n");
    let mut state = from.clone();
    d.ops[0].apply(&mut state);
    assert_eq!(state, to);
    // SQLite keeps no comments.
    let up = render_ops(Dialect::Sqlite, "public", &from, &d.ops).unwrap();
    assert_eq!(sql(&up), "");
}

#[test]
fn sqlite_creates_tables_with_their_foreign_keys_inline() {
    let to = catalog("main", shop(Dialect::Sqlite));
    let from = catalog("main", Schema::default());
    let d = diff(&from, &to, &Renames::default());
    let up = render_ops(Dialect::Sqlite, "main", &from, &d.ops).unwrap();
    assert_eq!(
        sql(&up),
        r#"CREATE TABLE customers (
    id integer PRIMARY KEY AUTOINCREMENT,
    name text NOT NULL,
    email text,
    CONSTRAINT customers_email_key UNIQUE (email)
);
CREATE TABLE orders (
    id integer PRIMARY KEY AUTOINCREMENT,
    customer_id integer NOT NULL,
    total numeric(12,2) DEFAULT 0 NOT NULL,
    "order" text,
    CONSTRAINT orders_total_check CHECK (total >= 0),
    CONSTRAINT orders_customer_id_fkey FOREIGN KEY (customer_id) REFERENCES customers (id) ON DELETE CASCADE
);
CREATE INDEX orders_recent_idx ON orders (customer_id, (lower("order")) DESC) WHERE total > 0;
CREATE VIEW big_orders AS
SELECT id FROM orders WHERE total > 100;
"#
    );
    let down = render_ops(Dialect::Sqlite, "main", &to, &d.inverse()).unwrap();
    assert_eq!(
        sql(&down),
        "DROP VIEW big_orders;\nDROP INDEX orders_recent_idx;\nDROP TABLE orders;\nDROP TABLE customers;\n"
    );
}

#[test]
fn sqlite_rebuilds_what_alter_table_cannot_do() {
    let from = catalog("main", shop(Dialect::Sqlite));
    let mut s = shop(Dialect::Sqlite);
    let orders = s.tables.get_mut("orders").unwrap();
    orders.columns[2].data_type = "real".into();
    orders.columns.push(col("note", "text", true));
    let to = catalog("main", s);
    let d = diff(&from, &to, &Renames::default());
    let up = render_ops(Dialect::Sqlite, "main", &from, &d.ops).unwrap();
    assert_eq!(
        sql(&up),
        r#"DROP VIEW big_orders;
PRAGMA defer_foreign_keys = ON;
CREATE TABLE _aludel_old_orders AS SELECT * FROM orders;
DROP TABLE orders;
CREATE TABLE orders (
    id integer PRIMARY KEY AUTOINCREMENT,
    customer_id integer NOT NULL,
    total real DEFAULT 0 NOT NULL,
    "order" text,
    CONSTRAINT orders_total_check CHECK (total >= 0),
    CONSTRAINT orders_customer_id_fkey FOREIGN KEY (customer_id) REFERENCES customers (id) ON DELETE CASCADE
);
INSERT INTO orders (id, customer_id, total, "order") SELECT id, customer_id, total, "order" FROM _aludel_old_orders;
DROP TABLE _aludel_old_orders;
CREATE INDEX orders_recent_idx ON orders (customer_id, (lower("order")) DESC) WHERE total > 0;
ALTER TABLE orders ADD COLUMN note text;
CREATE VIEW big_orders AS
SELECT id FROM orders WHERE total > 100;
"#
    );
    // Dropping a plain column is an ALTER TABLE; a checked one needs the rebuild.
    let down = render_ops(Dialect::Sqlite, "main", &to, &d.inverse()).unwrap();
    // The view that reads the table goes around the type change both ways.
    assert_eq!(down[0].statements, ["DROP VIEW big_orders"]);
    assert_eq!(down[1].statements, ["ALTER TABLE orders DROP COLUMN note"]);
    assert!(down[2].statements[3].starts_with("CREATE TABLE orders ("));
}

/// Changes of one table that each need a rebuild, one after the other, are one
/// rebuild (the rows are copied once) into the table as the last leaves it.
#[test]
fn sqlite_rebuilds_a_table_once_for_a_run_of_changes() {
    let from = catalog("main", shop(Dialect::Sqlite));
    let mut s = shop(Dialect::Sqlite);
    let orders = s.tables.get_mut("orders").unwrap();
    orders.columns[1].nullable = true;
    orders.columns[2].data_type = "real".into();
    let to = catalog("main", s);
    let d = diff(&from, &to, &Renames::default());
    let up = render_ops(Dialect::Sqlite, "main", &from, &d.ops).unwrap();
    let copies = |rendered: &[RenderedOp]| {
        rendered
            .iter()
            .flat_map(|r| &r.statements)
            .filter(|st| st.starts_with("CREATE TABLE _aludel_old_orders"))
            .count()
    };
    assert_eq!(copies(&up), 1, "{}", sql(&up));
    let first = up
        .iter()
        .position(|r| !r.statements.is_empty() && r.rebuilt.is_some())
        .unwrap();
    assert_eq!(
        up[first].notes,
        ["the table is rebuilt once, with the next change below"]
    );
    let made = up[first]
        .statements
        .iter()
        .find(|st| st.starts_with("CREATE TABLE orders"))
        .unwrap();
    assert!(
        made.contains("customer_id integer,") && made.contains("total real"),
        "{made}"
    );
    assert!(up[first + 1].statements.is_empty());
    assert_eq!(
        up[first + 1].notes,
        [format!(
            "written above, in one rebuild of the table with \"{}\"",
            up[first].description
        )]
    );
    let down = render_ops(Dialect::Sqlite, "main", &to, &d.inverse()).unwrap();
    assert_eq!(copies(&down), 1, "{}", sql(&down));
}

/// A rebuild of a table that others point to keeps their rows valid and leaves the
/// views that read it working: run for real, with foreign keys enforced.
#[cfg(feature = "sqlite")]
#[test]
fn sqlite_rebuilds_a_referenced_table_in_place() {
    let from = catalog("main", shop(Dialect::Sqlite));
    let mut s = shop(Dialect::Sqlite);
    let customers = s.tables.get_mut("customers").unwrap();
    customers.columns[1].data_type = "varchar(100)".into();
    let to = catalog("main", s);
    let d = diff(&from, &to, &Renames::default());
    let up = render_ops(Dialect::Sqlite, "main", &from, &d.ops).unwrap();
    let conn = rusqlite::Connection::open_in_memory().unwrap();
    conn.execute_batch(
        "PRAGMA foreign_keys = ON;
         CREATE TABLE customers (id integer PRIMARY KEY AUTOINCREMENT, name text NOT NULL,
             email text UNIQUE);
         CREATE TABLE orders (id integer PRIMARY KEY,
             customer_id integer NOT NULL REFERENCES customers (id));
         CREATE VIEW names AS SELECT c.name FROM customers c JOIN orders o ON o.customer_id = c.id;
         INSERT INTO customers VALUES (1, 'Ada', NULL), (2, 'Grace', NULL);
         INSERT INTO orders VALUES (10, 1), (20, 2);",
    )
    .unwrap();
    let statements: Vec<&str> = up[0].statements.iter().map(String::as_str).collect();
    conn.execute_batch(&format!("BEGIN;\n{};\nCOMMIT;", statements.join(";\n")))
        .unwrap();
    let names: Vec<String> = conn
        .prepare("SELECT name FROM names ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(names, ["Ada", "Grace"]);
    let fk_target: String = conn
        .query_row(
            "SELECT \"table\" FROM pragma_foreign_key_list('orders')",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(fk_target, "customers");
    // A row left without its parent still fails the commit.
    conn.execute_batch(&format!(
        "BEGIN;\n{};\nDELETE FROM customers WHERE id = 2;",
        statements.join(";\n")
    ))
    .unwrap();
    assert!(conn.execute_batch("COMMIT").is_err());
}

#[test]
fn sqlite_has_no_enum_types() {
    let mut s = Schema::default();
    s.enums.insert("mood".into(), EnumType::default());
    let from = catalog("main", Schema::default());
    let ops = diff(&from, &catalog("main", s), &Renames::default()).ops;
    let e = render_ops(Dialect::Sqlite, "main", &from, &ops).unwrap_err();
    assert_eq!(
        e.to_string(),
        "sqlite has no enum types (add enum type main.mood ())"
    );
}

#[test]
fn names_are_quoted_only_when_they_must_be() {
    let r = Renderer {
        dialect: Dialect::Postgres,
        default_schema: "public",
    };
    assert_eq!(r.ident("orders"), "orders");
    assert_eq!(r.ident("user"), "\"user\"");
    assert_eq!(r.ident("Orders"), "\"Orders\"");
    assert_eq!(r.ident("2fa"), "\"2fa\"");
    assert_eq!(r.qname(&QName::new("public", "t")), "t");
    assert_eq!(r.qname(&QName::new("Audit", "t")), "\"Audit\".t");
    assert!(crate::diff::mentions("SELECT * FROM Orders o", "orders"));
    assert!(!crate::diff::mentions(
        "SELECT * FROM orders_archive",
        "orders"
    ));
}

#[test]
fn sqlite_defaults_other_than_literals_get_their_parentheses_back() {
    // SQLite prints `DEFAULT (strftime('%s', 'now'))` as `strftime('%s', 'now')`, and
    // refuses that text without its parentheses.
    let defaults = [
        (
            "a",
            "strftime('%s', 'now')",
            "DEFAULT (strftime('%s', 'now'))",
        ),
        ("b", "(1 + 2)", "DEFAULT ((1 + 2))"),
        ("c", "'a' || 'b'", "DEFAULT ('a' || 'b')"),
        ("d", "'it''s'", "DEFAULT 'it''s'"),
        ("e", "-1.5", "DEFAULT -1.5"),
        ("f", "1e3", "DEFAULT 1e3"),
        ("g", "CURRENT_TIMESTAMP", "DEFAULT CURRENT_TIMESTAMP"),
        ("h", "NULL", "DEFAULT NULL"),
        ("i", "x'00ff'", "DEFAULT x'00ff'"),
    ];
    let mut t = Table::default();
    for (name, default, _) in defaults {
        let mut c = col(name, "text", true);
        c.default = Some(default.into());
        t.columns.push(c);
    }
    let mut s = Schema::default();
    s.tables.insert("t".into(), t);
    let from = catalog("main", Schema::default());
    let ops = diff(&from, &catalog("main", s), &Renames::default()).ops;
    let text = sql(&render_ops(Dialect::Sqlite, "main", &from, &ops).unwrap());
    for (name, _, expected) in defaults {
        assert!(
            text.contains(&format!("{name} text {expected},"))
                || text.contains(&format!("{name} text {expected}\n")),
            "{name}: {text}"
        );
    }
    #[cfg(feature = "sqlite")]
    rusqlite::Connection::open_in_memory()
        .unwrap()
        .execute_batch(&text)
        .unwrap();
    // And PostgreSQL takes any expression as it is.
    let pg = sql(&render_ops(Dialect::Postgres, "main", &from, &ops).unwrap());
    assert!(pg.contains("a text DEFAULT strftime('%s', 'now')"), "{pg}");
}

/// The shop as MySQL holds it: `AUTO_INCREMENT` keys, the connection's own database
/// as the unnamed schema, no partial or expression index.
fn mysql_shop() -> Schema {
    let mut s = shop(Dialect::Mysql);
    for t in s.tables.values_mut() {
        t.columns[0].identity = Some(Identity::AutoIncrement);
        t.columns[0].data_type = "int(11)".into();
        for f in t.foreign_keys.values_mut() {
            f.ref_schema = String::new();
        }
    }
    let orders = s.tables.get_mut("orders").unwrap();
    let index = orders.indexes.get_mut("orders_recent_idx").unwrap();
    index.predicate = None;
    index.keys[1] = IndexKey {
        expression: "order".into(),
        is_expression: false,
        descending: true,
        nulls_first: false,
        opclass: None,
        prefix_length: Some(10),
    };
    s
}

#[test]
fn mysql_creates_a_schema_from_nothing_and_drops_it_again() {
    let to = catalog("", mysql_shop());
    let from = catalog("", Schema::default());
    let d = diff(&from, &to, &Renames::default());
    let up = render_ops(Dialect::Mysql, "", &from, &d.ops).unwrap();
    let down = render_ops(Dialect::Mysql, "", &to, &d.inverse()).unwrap();
    insta::assert_snapshot!(format!("{}-- down\n{}", sql(&up), sql(&down)), @r"
    CREATE TABLE `customers` (
        `id` int(11) NOT NULL AUTO_INCREMENT,
        `name` text NOT NULL COMMENT 'shown on invoices',
        `email` text,
        PRIMARY KEY (`id`),
        CONSTRAINT `customers_email_key` UNIQUE (`email`)
    ) COMMENT = 'who buys';
    CREATE TABLE `orders` (
        `id` int(11) NOT NULL AUTO_INCREMENT,
        `customer_id` integer NOT NULL,
        `total` numeric(12,2) NOT NULL DEFAULT 0,
        `order` text,
        PRIMARY KEY (`id`),
        CONSTRAINT `orders_total_check` CHECK (total >= 0)
    );
    CREATE INDEX `orders_recent_idx` ON `orders` (`customer_id`, `order`(10) DESC);
    ALTER TABLE `orders` ADD CONSTRAINT `orders_customer_id_fkey` FOREIGN KEY (`customer_id`) REFERENCES `customers` (`id`) ON DELETE CASCADE;
    CREATE VIEW `big_orders` AS
    SELECT id FROM orders WHERE total > 100;
    -- down
    DROP VIEW `big_orders`;
    ALTER TABLE `orders` DROP FOREIGN KEY `orders_customer_id_fkey`;
    DROP INDEX `orders_recent_idx` ON `orders`;
    DROP TABLE `orders`;
    DROP TABLE `customers`;
    ");
}

#[test]
fn mysql_changes_a_column_with_its_whole_definition_and_names_what_it_lacks() {
    let t = QName::new("", "t");
    let render = |op: Op| render_ops(Dialect::Mysql, "", &Catalog::default(), &[op]);
    let from = col("n", "int(11)", true);
    let to = Column {
        default: Some("0".into()),
        comment: Some("it's a \\ count".into()),
        collation: None,
        ..col("n", "bigint(20)", false)
    };
    let altered = render(Op::AlterColumn {
        table: t.clone(),
        from,
        to,
    })
    .unwrap();
    insta::assert_snapshot!(sql(&altered), @r"ALTER TABLE `t` MODIFY COLUMN `n` bigint(20) NOT NULL DEFAULT 0 COMMENT 'it''s a \\ count';");
    let partial = Index {
        keys: vec![IndexKey {
            expression: "n".into(),
            is_expression: false,
            descending: false,
            nulls_first: true,
            opclass: None,
            prefix_length: None,
        }],
        predicate: Some("n > 0".into()),
        ..Index::default()
    };
    let err = render(Op::CreateIndex(t.clone(), "t_n".into(), partial)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "mysql has no partial indexes (add index t_n on t)"
    );
    let err = render(Op::CreateSequence(
        QName::new("", "s"),
        crate::schema::Sequence {
            data_type: "bigint".into(),
            start: 1,
            increment: 1,
            min: 1,
            max: 10,
            cycle: false,
        },
    ))
    .unwrap_err();
    assert!(
        err.to_string().starts_with("mysql has no sequences"),
        "{err}"
    );
}

#[test]
fn mysql_adds_a_key_taking_over_a_foreign_keys_index_in_the_statement_that_drops_it() {
    let start = catalog("", mysql_shop());
    let orders = QName::new("", "orders");
    let recent = start.schemas[""].tables["orders"].indexes["orders_recent_idx"].clone();
    let drop = Op::DropIndex(orders.clone(), "orders_recent_idx".into(), recent);
    let unique = |columns: &[&str]| {
        Op::AddUnique(
            orders.clone(),
            "orders_key".into(),
            Unique {
                columns: columns.iter().map(|c| c.to_string()).collect(),
            },
        )
    };
    let render = |ops: &[Op]| {
        let rendered = render_ops(Dialect::Mysql, "", &start, ops).unwrap();
        let notes: Vec<String> = rendered.iter().flat_map(|r| r.notes.clone()).collect();
        format!("{}{}", sql(&rendered), notes.join("\n"))
    };

    // The foreign key on customer_id rests on the dropped index until the key serves it.
    insta::assert_snapshot!(render(&[drop.clone(), unique(&["customer_id", "total"])]), @r#"
    ALTER TABLE `orders` DROP INDEX `orders_recent_idx`,
        ADD CONSTRAINT `orders_key` UNIQUE (`customer_id`, `total`);
    one statement with "add unique constraint orders_key on orders" below: a foreign key rests on this key, which cannot be dropped before another takes its place
    written above, in one statement with "remove index orders_recent_idx on orders"
    "#);
    // A key that cannot serve it (customer_id is not first), or a change of the table in
    // between, leaves each op its own statement.
    insta::assert_snapshot!(render(&[drop.clone(), unique(&["total", "customer_id"])]), @r"
    DROP INDEX `orders_recent_idx` ON `orders`;
    ALTER TABLE `orders` ADD CONSTRAINT `orders_key` UNIQUE (`total`, `customer_id`);
    ");
    let added = Op::AddColumn(orders.clone(), col("note", "text", true));
    insta::assert_snapshot!(render(&[drop.clone(), added, unique(&["customer_id"])]), @r"
    DROP INDEX `orders_recent_idx` ON `orders`;
    ALTER TABLE `orders` ADD COLUMN `note` text;
    ALTER TABLE `orders` ADD CONSTRAINT `orders_key` UNIQUE (`customer_id`);
    ");
}

#[test]
fn mysql_writes_the_keys_dropped_before_the_one_taking_over_in_its_statement() {
    // orders_key changes from (total) to (customer_id, total) and takes over from
    // orders_recent_idx: the old orders_key is dropped in the same statement, before
    // the new one of the same name is added, not after it (ERROR 1061).
    let mut shop = mysql_shop();
    let old_key = Unique {
        columns: vec!["total".into()],
    };
    shop.tables
        .get_mut("orders")
        .unwrap()
        .uniques
        .insert("orders_key".into(), old_key.clone());
    let start = catalog("", shop);
    let orders = QName::new("", "orders");
    let recent = start.schemas[""].tables["orders"].indexes["orders_recent_idx"].clone();
    let ops = [
        Op::DropIndex(orders.clone(), "orders_recent_idx".into(), recent.clone()),
        Op::DropUnique(orders.clone(), "orders_key".into(), old_key),
        Op::AddUnique(
            orders.clone(),
            "orders_key".into(),
            Unique {
                columns: vec!["customer_id".into(), "total".into()],
            },
        ),
    ];
    let rendered = render_ops(Dialect::Mysql, "", &start, &ops).unwrap();
    insta::assert_snapshot!(sql(&rendered), @r"
    ALTER TABLE `orders` DROP INDEX `orders_recent_idx`,
        DROP INDEX `orders_key`,
        ADD CONSTRAINT `orders_key` UNIQUE (`customer_id`, `total`);
    ");

    // A dropped key the foreign key does not rest on alone (orders_recent_idx still
    // serves it) leaves each op its own statement.
    let mut shop = mysql_shop();
    let wide = Index {
        keys: vec![
            recent.keys[0].clone(),
            IndexKey {
                expression: "total".into(),
                ..recent.keys[0].clone()
            },
        ],
        ..Index::default()
    };
    let table = shop.tables.get_mut("orders").unwrap();
    table.indexes.insert("orders_wide_idx".into(), wide.clone());
    let start = catalog("", shop);
    let ops = [
        Op::DropIndex(orders.clone(), "orders_wide_idx".into(), wide),
        Op::CreateIndex(
            orders.clone(),
            "orders_all_idx".into(),
            Index {
                keys: vec![
                    recent.keys[0].clone(),
                    IndexKey {
                        expression: "total".into(),
                        ..recent.keys[0].clone()
                    },
                    IndexKey {
                        expression: "id".into(),
                        ..recent.keys[0].clone()
                    },
                ],
                ..Index::default()
            },
        ),
    ];
    let rendered = render_ops(Dialect::Mysql, "", &start, &ops).unwrap();
    insta::assert_snapshot!(sql(&rendered), @r"
    DROP INDEX `orders_wide_idx` ON `orders`;
    CREATE INDEX `orders_all_idx` ON `orders` (`customer_id`, `total`, `id`);
    ");
}
