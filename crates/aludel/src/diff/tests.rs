use super::*;
use crate::schema::{
    Check, Column, EnumType, ForeignKey, Index, IndexKey, PrimaryKey, Sequence, View,
};

fn col(name: &str, ty: &str) -> Column {
    Column {
        name: name.into(),
        data_type: ty.into(),
        nullable: true,
        ..Column::default()
    }
}

fn table(columns: &[(&str, &str)]) -> Table {
    Table {
        columns: columns.iter().map(|(n, t)| col(n, t)).collect(),
        primary_key: Some(PrimaryKey {
            name: "pk".into(),
            columns: vec![columns[0].0.into()],
        }),
        ..Table::default()
    }
}

fn catalog(tables: Vec<(&str, Table)>) -> Catalog {
    let mut c = Catalog::default();
    let s = c.schemas.entry("public".into()).or_default();
    for (name, t) in tables {
        s.tables.insert(name.into(), t);
    }
    c
}

fn lines(ops: &[Op]) -> Vec<String> {
    ops.iter().map(Op::to_string).collect()
}

fn fk(to: &str) -> ForeignKey {
    ForeignKey {
        columns: vec!["customer_id".into()],
        ref_schema: "public".into(),
        ref_table: to.into(),
        ref_columns: vec!["id".into()],
        ..ForeignKey::default()
    }
}

#[test]
fn equal_catalogs_give_nothing() {
    let c = catalog(vec![("t", table(&[("id", "integer")]))]);
    let d = diff(&c, &c, &Renames::default());
    assert!(d.is_empty());
    assert!(d.suggestions.is_empty());
}

#[test]
fn new_tables_come_before_their_indexes_and_foreign_keys_and_views_last() {
    let mut orders = table(&[("id", "integer"), ("customer_id", "integer")]);
    orders
        .foreign_keys
        .insert("orders_customer_id_fkey".into(), fk("customers"));
    orders.indexes.insert(
        "orders_customer_idx".into(),
        Index {
            method: "btree".into(),
            keys: vec![IndexKey {
                expression: "customer_id".into(),
                is_expression: false,
                descending: false,
                nulls_first: false,
                opclass: None,
                prefix_length: None,
            }],
            ..Index::default()
        },
    );
    let mut to = catalog(vec![
        ("orders", orders),
        ("customers", table(&[("id", "integer")])),
    ]);
    let s = to.schemas.get_mut("public").unwrap();
    s.views.insert(
        "big_orders".into(),
        View {
            definition: "SELECT 1".into(),
            comment: None,
        },
    );
    s.enums.insert(
        "mood".into(),
        EnumType {
            labels: vec!["ok".into()],
        },
    );
    let d = diff(&catalog(vec![]), &to, &Renames::default());
    assert_eq!(
        lines(&d.ops),
        [
            "add enum type public.mood (ok)",
            "add table public.customers",
            "add table public.orders",
            "add index orders_customer_idx on public.orders",
            "add foreign key orders_customer_id_fkey on public.orders",
            "add view public.big_orders",
        ]
    );
    // The table op carries no index or foreign key: they have ops of their own.
    let Op::CreateTable(_, t) = &d.ops[2] else {
        panic!("{:?}", d.ops[2])
    };
    assert!(t.indexes.is_empty() && t.foreign_keys.is_empty());
    // The downgrade undoes it in the reverse order.
    assert_eq!(
        lines(&d.inverse()),
        [
            "remove view public.big_orders",
            "remove foreign key orders_customer_id_fkey on public.orders",
            "remove index orders_customer_idx on public.orders",
            "remove table public.orders",
            "remove table public.customers",
            "remove enum type public.mood",
        ]
    );
}

#[test]
fn dropping_tables_drops_foreign_keys_first_and_the_inverse_rebuilds_them() {
    let mut a = table(&[("id", "integer"), ("customer_id", "integer")]);
    a.foreign_keys.insert("a_fkey".into(), fk("b"));
    let mut b = table(&[("id", "integer"), ("customer_id", "integer")]);
    b.foreign_keys.insert("b_fkey".into(), fk("a"));
    let from = catalog(vec![
        ("a", a),
        ("b", b),
        ("keep", table(&[("id", "integer")])),
    ]);
    let to = catalog(vec![("keep", table(&[("id", "integer")]))]);
    let d = diff(&from, &to, &Renames::default());
    assert_eq!(
        lines(&d.ops),
        [
            "remove foreign key a_fkey on public.a",
            "remove foreign key b_fkey on public.b",
            "remove table public.a",
            "remove table public.b",
        ]
    );
    let back = diff(&to, &from, &Renames::default());
    assert_eq!(
        lines(&back.ops),
        [
            "add table public.a",
            "add table public.b",
            "add foreign key a_fkey on public.a",
            "add foreign key b_fkey on public.b",
        ]
    );
    assert_eq!(
        lines(&d.inverse()),
        [
            "add table public.b",
            "add table public.a",
            "add foreign key b_fkey on public.b",
            "add foreign key a_fkey on public.a",
        ]
    );
}

#[test]
fn column_changes_and_constraints_on_existing_tables() {
    let from = catalog(vec![(
        "t",
        table(&[("id", "integer"), ("old", "text"), ("n", "integer")]),
    )]);
    let mut t = table(&[("id", "integer"), ("n", "bigint"), ("extra", "text")]);
    t.checks.insert(
        "t_n_check".into(),
        Check {
            expression: "n > 0".into(),
        },
    );
    t.comment = Some("the t".into());
    let to = catalog(vec![("t", t)]);
    let d = diff(&from, &to, &Renames::default());
    assert_eq!(
        lines(&d.ops),
        [
            "alter column public.t.n (type)",
            "add column public.t.extra",
            "change the comment of table public.t",
            "remove column public.t.old",
            "add check constraint t_n_check on public.t",
        ]
    );
    assert_eq!(
        d.suggestions,
        [
            "column public.t.old looks renamed to extra: pass --rename t.old=extra to rename it and keep its values"
        ]
    );
}

#[test]
fn declared_renames_become_rename_ops_and_nothing_else() {
    let from = catalog(vec![(
        "customer",
        table(&[("id", "integer"), ("fullname", "text")]),
    )]);
    let to = catalog(vec![(
        "client",
        table(&[("id", "integer"), ("name", "text")]),
    )]);
    let plain = diff(&from, &to, &Renames::default());
    assert_eq!(
        lines(&plain.ops),
        ["add table public.client", "remove table public.customer"]
    );
    assert!(
        plain.suggestions.is_empty(),
        "different columns: {:?}",
        plain.suggestions
    );
    let mut renames = Renames::default();
    renames.add("customer=client").unwrap();
    renames.add("client.fullname=name").unwrap();
    let d = diff(&from, &to, &renames);
    assert_eq!(
        lines(&d.ops),
        [
            "rename table public.customer to client",
            "rename column public.client.fullname to name",
        ]
    );
    assert_eq!(
        lines(&d.inverse()),
        [
            "rename column public.client.name to fullname",
            "rename table public.client to customer",
        ]
    );
}

#[test]
fn a_same_shaped_table_is_suggested_as_a_rename() {
    let from = catalog(vec![("customer", table(&[("id", "integer")]))]);
    let to = catalog(vec![("client", table(&[("id", "integer")]))]);
    let d = diff(&from, &to, &Renames::default());
    assert_eq!(
        d.suggestions,
        [
            "table public.customer looks renamed to client: pass --rename customer=client to rename it and keep its rows"
        ]
    );
}

#[test]
fn enum_labels_added_in_place_are_added_otherwise_the_type_is_recreated() {
    let with = |labels: &[&str]| {
        let mut c = catalog(vec![]);
        c.schemas.get_mut("public").unwrap().enums.insert(
            "mood".into(),
            EnumType {
                labels: labels.iter().map(|l| l.to_string()).collect(),
            },
        );
        c
    };
    let d = diff(
        &with(&["sad", "happy"]),
        &with(&["sad", "ok", "happy", "ecstatic"]),
        &Renames::default(),
    );
    assert_eq!(
        d.ops,
        [
            Op::AddEnumValue {
                name: QName::new("public", "mood"),
                value: "ok".into(),
                before: Some("happy".into()),
            },
            Op::AddEnumValue {
                name: QName::new("public", "mood"),
                value: "ecstatic".into(),
                before: None,
            },
        ]
    );
    let d = diff(
        &with(&["sad", "happy"]),
        &with(&["happy", "sad"]),
        &Renames::default(),
    );
    // The old type must be gone before one of the same name is created, both ways.
    assert_eq!(
        lines(&d.ops),
        [
            "remove enum type public.mood",
            "add enum type public.mood (happy, sad)"
        ]
    );
    assert_eq!(
        lines(&d.inverse()),
        [
            "remove enum type public.mood",
            "add enum type public.mood (sad, happy)"
        ]
    );
}

#[test]
fn a_changed_sequence_is_altered_in_place() {
    let with = |increment: i64| {
        let mut c = catalog(vec![]);
        c.schemas.get_mut("public").unwrap().sequences.insert(
            "invoice_no".into(),
            Sequence {
                data_type: "bigint".into(),
                start: 1000,
                increment,
                min: 1,
                max: i64::MAX,
                cycle: false,
            },
        );
        c
    };
    let d = diff(&with(10), &with(5), &Renames::default());
    assert_eq!(lines(&d.ops), ["alter sequence public.invoice_no"]);
    let Op::AlterSequence { from, to, .. } = &d.inverse()[0] else {
        panic!("{:?}", d.inverse());
    };
    assert_eq!((from.increment, to.increment), (5, 10));
    let mut state = with(10);
    d.ops[0].apply(&mut state);
    assert_eq!(state, with(5));
}

#[test]
fn a_renamed_table_is_renamed_before_anything_names_it_by_its_new_name() {
    let from = catalog(vec![(
        "books",
        table(&[("id", "integer"), ("title", "text")]),
    )]);
    let mut renamed = table(&[("id", "integer"), ("title", "text")]);
    renamed.primary_key = Some(PrimaryKey {
        name: "volumes_pkey".into(),
        columns: vec!["id".into()],
    });
    renamed.checks.insert(
        "volumes_title_check".into(),
        Check {
            expression: "title <> ''".into(),
        },
    );
    let to = catalog(vec![("volumes", renamed)]);
    let mut renames = Renames::default();
    renames.add("books=volumes").unwrap();
    let d = diff(&from, &to, &renames);
    assert_eq!(
        lines(&d.ops),
        [
            "rename table public.books to volumes",
            "remove primary key pk on public.volumes",
            "add primary key volumes_pkey on public.volumes",
            "add check constraint volumes_title_check on public.volumes",
        ]
    );
    assert_eq!(
        lines(&d.inverse()),
        [
            "remove check constraint volumes_title_check on public.volumes",
            "remove primary key volumes_pkey on public.volumes",
            "add primary key pk on public.volumes",
            "rename table public.volumes to books",
        ]
    );
}

#[test]
fn new_and_removed_schemas() {
    let mut to = catalog(vec![]);
    to.schemas
        .entry("audit".into())
        .or_default()
        .tables
        .insert("log".into(), table(&[("id", "bigint")]));
    let d = diff(&catalog(vec![]), &to, &Renames::default());
    assert_eq!(lines(&d.ops), ["add schema audit", "add table audit.log"]);
    assert_eq!(
        lines(&d.inverse()),
        ["remove table audit.log", "remove schema audit"]
    );
}

fn view(definition: &str) -> View {
    View {
        definition: definition.into(),
        comment: None,
    }
}

#[test]
fn a_view_is_created_after_the_views_it_reads_and_dropped_before_them() {
    // Name order would create `a_top` (reading `m_mid`, reading `z_base`) first.
    let mut to = catalog(vec![("t", table(&[("id", "integer")]))]);
    let s = to.schemas.get_mut("public").unwrap();
    s.views
        .insert("a_top".into(), view("SELECT id FROM m_mid WHERE id > 1"));
    s.views
        .insert("m_mid".into(), view("SELECT id FROM z_base"));
    s.views.insert("z_base".into(), view("SELECT id FROM t"));
    s.views.insert("other".into(), view("SELECT 1 AS z_based"));
    let from = catalog(vec![("t", table(&[("id", "integer")]))]);
    let d = diff(&from, &to, &Renames::default());
    assert_eq!(
        lines(&d.ops),
        [
            "add view public.other",
            "add view public.z_base",
            "add view public.m_mid",
            "add view public.a_top",
        ]
    );
    assert_eq!(
        lines(&d.inverse()),
        [
            "remove view public.a_top",
            "remove view public.m_mid",
            "remove view public.z_base",
            "remove view public.other",
        ]
    );
    // Dropping them all: readers first.
    let d = diff(&to, &from, &Renames::default());
    assert_eq!(
        lines(&d.ops),
        [
            "remove view public.a_top",
            "remove view public.m_mid",
            "remove view public.other",
            "remove view public.z_base",
        ]
    );
}

#[test]
fn a_view_that_reads_a_changed_view_is_made_again_with_it() {
    let mut from = catalog(vec![("t", table(&[("id", "integer")]))]);
    let s = from.schemas.get_mut("public").unwrap();
    s.views
        .insert("a_top".into(), view("SELECT id FROM z_base"));
    s.views.insert("z_base".into(), view("SELECT id FROM t"));
    s.views.insert("lone".into(), view("SELECT id FROM t"));
    let mut to = from.clone();
    to.schemas
        .get_mut("public")
        .unwrap()
        .views
        .insert("z_base".into(), view("SELECT id FROM t WHERE id > 0"));
    let d = diff(&from, &to, &Renames::default());
    assert_eq!(
        lines(&d.ops),
        [
            "remove view public.a_top",
            "remove view public.z_base",
            "add view public.z_base",
            "add view public.a_top",
        ]
    );
}

#[test]
fn views_reading_a_column_that_changes_type_are_made_again_around_it() {
    let mut from = catalog(vec![(
        "orders",
        table(&[("id", "integer"), ("total", "integer")]),
    )]);
    let view = View {
        definition: "SELECT id, total FROM orders".into(),
        comment: None,
    };
    from.schemas
        .get_mut("public")
        .unwrap()
        .views
        .insert("totals".into(), view.clone());
    let mut to = from.clone();
    to.schemas
        .get_mut("public")
        .unwrap()
        .tables
        .get_mut("orders")
        .unwrap()
        .columns[1]
        .data_type = "bigint".into();
    let d = diff(&from, &to, &Renames::default());
    assert_eq!(
        lines(&d.ops),
        [
            "remove view public.totals",
            "alter column public.orders.total (type)",
            "add view public.totals",
        ]
    );
    // A change that leaves every column's type alone leaves the view alone.
    let mut commented = from.clone();
    commented
        .schemas
        .get_mut("public")
        .unwrap()
        .tables
        .get_mut("orders")
        .unwrap()
        .comment = Some("all orders".into());
    assert_eq!(
        lines(&diff(&from, &commented, &Renames::default()).ops),
        ["change the comment of table public.orders"]
    );
}
