//! Reading a PostgreSQL schema into a [`Catalog`]: one query resolves the schemas in
//! scope, then [`QUERIES`] (one per object kind, across every schema and table) are sent
//! together, pipelined on the connection; from [`SPLIT_TABLES`] tables, the constraints
//! are read over a second connection meanwhile. The number of queries never depends on
//! how many tables there are.
//!
//! Every query takes `$1`, the schema names (`text[]`); those about tables also take
//! `$2`, the table names left out (`text[]`). Objects that belong to an extension
//! (PostGIS's `spatial_ref_sys`, ...) are left out silently: the extension owns them.

use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

use super::{PostgresDriver, db_error};
use crate::driver::{DbError, InspectScope, Inspection, Skipped};
use crate::schema::{
    Catalog, Check, Column, EnumType, ForeignKey, Generated, Identity, Index, IndexKey, PrimaryKey,
    ReferentialAction, Sequence, Table, Unique, View, normalize_type,
};

/// `pg_class c` joined to `pg_namespace n` is a table in scope: a plain or partitioned
/// table (not a partition), in a schema of `$1`, not named in `$2`, not an extension's.
macro_rules! table_in_scope {
    () => {
        " c.relkind IN ('r', 'p') AND NOT c.relispartition \
          AND n.nspname::text = ANY($1::text[]) AND c.relname::text <> ALL($2::text[]) \
          AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass \
              AND d.objid = c.oid AND d.deptype = 'e') "
    };
}

/// Whether the relation `c` belongs to an extension.
macro_rules! not_extension_class {
    () => {
        " NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass \
              AND d.objid = c.oid AND d.deptype = 'e') "
    };
}

/// Whether the type `t` belongs to an extension.
macro_rules! not_extension_type {
    () => {
        " NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_type'::regclass \
              AND d.objid = t.oid AND d.deptype = 'e') "
    };
}

/// The schemas of the scope that exist; when none is named, the session's default
/// schema (read under [`PIN_SEARCH_PATH`]), `public` if its search path names none
/// that exists.
/// Also, for each, how many tables it holds, and whether this session has written
/// anything not yet committed (another session would not see it): what
/// [`split_worth_it`] decides by; and the settings this session set itself (the pinned search path among them),
/// which a second session takes over before it reads ([`SESSION_AS`]): a check prints
/// its constants as `TimeZone`, `DateStyle` and the like say.
const SCHEMAS: &str = "SELECT n.nspname::text, \
         (SELECT count(*) FROM pg_class c WHERE c.relnamespace = n.oid \
             AND c.relkind IN ('r', 'p'))::int8, \
         txid_current_if_assigned() IS NOT NULL, \
         ARRAY(SELECT name::text FROM pg_settings WHERE source = 'session' ORDER BY name), \
         ARRAY(SELECT current_setting(name) FROM pg_settings WHERE source = 'session' \
             ORDER BY name) \
     FROM pg_namespace n \
     WHERE n.nspname::text = ANY(CASE WHEN cardinality($1::text[]) = 0 \
         THEN ARRAY[coalesce(current_schema(), 'public')::text] ELSE $1::text[] END) \
     ORDER BY 1";

/// Gives this session the settings `$1` (names) takes in `$2` (values), and a lock
/// timeout: a lock the first session holds (in a transaction block of a library
/// caller) must not keep the second waiting; on a timeout the first reads instead.
const SESSION_AS: &str = "SELECT count(set_config(s.name, s.value, false)) \
         + count(set_config('lock_timeout', '1s', false)) \
     FROM unnest($1::text[], $2::text[]) AS s(name, value)";

/// From this many tables in scope, the constraints (with the tables and the objects
/// not modelled) are read over a second connection while the rest is read over this
/// one ([`split_worth_it`]).
const SPLIT_TABLES: i64 = 200;

/// Whether to read the constraints over a second connection: printing a check
/// constraint opens its table, and the first opening of each table in a session builds
/// a cache entry from the catalogs, so on a large schema that query alone costs about
/// half of the whole (on 1,000 tables, 112 ms against 99 ms for the columns, 54 ms for
/// the indexes, 24 ms for the tables and 19 ms for the objects not modelled). The
/// tables and the objects not modelled go with it, which leaves each connection about
/// half. Not for a small schema (a second connection costs more than it saves), nor
/// while this session holds uncommitted writes (the other would not see them), nor
/// for a temporary schema (only this session sees it).
fn split_worth_it(schemas: &[String], tables: i64, own_writes: bool) -> bool {
    tables >= SPLIT_TABLES && !own_writes && !schemas.iter().any(|s| s.starts_with("pg_temp"))
}

/// Sets the search path back to the one the session started with (its role's and
/// database's, or the connection's own), returning the path it had. What the session
/// did since (a desired-schema file's `SELECT pg_catalog.set_config('search_path', '',
/// false)`, written by every pg_dump) must not change which schema is the default, nor
/// how types, defaults and view bodies print their names: `public.film_rating` under
/// an empty path, `film_rating` under the usual one.
const PIN_SEARCH_PATH: &str = "SELECT current_setting('search_path'), \
     set_config('search_path', s.reset_val, false) \
     FROM (SELECT reset_val FROM pg_settings WHERE name = 'search_path') s";

/// Puts back the path [`PIN_SEARCH_PATH`] returned.
const RESTORE_SEARCH_PATH: &str = "SELECT set_config('search_path', $1, false)";

/// One catalog query.
struct Query {
    /// What it reads, for error messages: "reading the {what} of schema ...".
    what: &'static str,
    sql: &'static str,
    /// Whether it takes `$2`, the excluded table names.
    excludes: bool,
    /// Whether it is one of those read over a second connection when the inspection
    /// is split ([`split_worth_it`]).
    alone: bool,
    /// Puts its rows into the inspection.
    read: Reader,
}

type Reader = fn(&[Row], &mut Inspection) -> Result<(), tokio_postgres::Error>;

/// Every query an inspection sends after [`SCHEMAS`], one per object kind. Tables come
/// first: the others attach to them. A `static`, not a `const`: the answers are put
/// back in this order by the address of their query, and each use of a `const` may
/// be a copy at an address of its own.
static QUERIES: [Query; 8] = [
    Query {
        what: "tables",
        sql: concat!(
            "SELECT n.nspname::text, c.relname::text, c.relkind = 'p', \
                 obj_description(c.oid, 'pg_class') \
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE",
            table_in_scope!(),
            "ORDER BY 1, 2"
        ),
        excludes: true,
        alone: true,
        read: read_tables,
    },
    Query {
        what: "columns",
        // A serial column: its default is nextval() of the sequence it owns ('a'). Each
        // default is printed once (`def`), and only a nextval() default looks for its
        // sequence; comments are joined, not looked up a column at a time: on 10,000
        // columns this halves the query. A default cannot name a column, so it is
        // printed without its table (0), which spares opening each table (its first
        // opening in a session costs a cache entry built from the catalogs); a
        // generated column's expression names columns and needs it. Only the order
        // within a table matters.
        sql: concat!(
            "SELECT n.nspname::text, c.relname::text, a.attname::text, \
                 format_type(a.atttypid, a.atttypmod), NOT a.attnotnull, \
                 def.text, a.attidentity::text, a.attgenerated::text, \
                 CASE WHEN a.attcollation <> 0 AND a.attcollation <> t.typcollation THEN \
                     CASE WHEN co.collnamespace = 'pg_catalog'::regnamespace \
                         THEN quote_ident(co.collname) \
                         ELSE quote_ident(cn.nspname) || '.' || quote_ident(co.collname) END \
                 END, \
                 ds.description, \
                 coalesce(def.text LIKE 'nextval(%' AND EXISTS (SELECT 1 FROM pg_depend d \
                     JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S' \
                     WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass \
                       AND d.refobjid = c.oid AND d.refobjsubid = a.attnum AND d.deptype = 'a' \
                       AND def.text = \
                           'nextval(' || quote_literal(s.oid::regclass::text) || '::regclass)'), \
                     false) \
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped \
             JOIN pg_type t ON t.oid = a.atttypid \
             LEFT JOIN pg_attrdef ad ON ad.adrelid = c.oid AND ad.adnum = a.attnum \
             LEFT JOIN LATERAL (SELECT pg_get_expr(ad.adbin, \
                 CASE WHEN a.attgenerated = '' THEN 0 ELSE ad.adrelid END) AS text) def ON true \
             LEFT JOIN pg_description ds ON ds.objoid = c.oid \
                 AND ds.classoid = 'pg_class'::regclass AND ds.objsubid = a.attnum \
             LEFT JOIN pg_collation co ON co.oid = a.attcollation \
             LEFT JOIN pg_namespace cn ON cn.oid = co.collnamespace \
             WHERE",
            table_in_scope!(),
            "ORDER BY a.attrelid, a.attnum"
        ),
        excludes: true,
        alone: false,
        read: read_columns,
    },
    Query {
        what: "constraints",
        // conparentid = 0: not a clone made for a partition of a referenced table.
        sql: concat!(
            "SELECT n.nspname::text, c.relname::text, con.conname::text, con.contype::text, \
                 ARRAY(SELECT a.attname::text FROM unnest(con.conkey) WITH ORDINALITY k(num, ord) \
                     JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.num \
                     ORDER BY k.ord), \
                 rn.nspname::text, rc.relname::text, \
                 ARRAY(SELECT a.attname::text FROM unnest(con.confkey) WITH ORDINALITY k(num, ord) \
                     JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.num \
                     ORDER BY k.ord), \
                 con.confupdtype::text, con.confdeltype::text, con.condeferrable, con.condeferred, \
                 CASE WHEN con.contype = 'c' THEN pg_get_expr(con.conbin, con.conrelid) END \
             FROM pg_constraint con \
             JOIN pg_class c ON c.oid = con.conrelid \
             JOIN pg_namespace n ON n.oid = c.relnamespace \
             LEFT JOIN pg_class rc ON rc.oid = con.confrelid \
             LEFT JOIN pg_namespace rn ON rn.oid = rc.relnamespace \
             WHERE con.contype IN ('p', 'u', 'f', 'c') AND con.conparentid = 0 AND",
            table_in_scope!(),
            "ORDER BY 1, 2, 3"
        ),
        excludes: true,
        alone: true,
        read: read_constraints,
    },
    Query {
        what: "indexes",
        // Key parts: a column's name, or the expression as pg_get_indexdef prints it.
        sql: concat!(
            "SELECT n.nspname::text, c.relname::text, ic.relname::text, i.indisunique, \
                 am.amname::text, i.indnkeyatts::int4, \
                 ARRAY(SELECT CASE WHEN k.num = 0 \
                         THEN pg_get_indexdef(i.indexrelid, k.ord::int4, true) \
                         ELSE (SELECT a.attname::text FROM pg_attribute a \
                               WHERE a.attrelid = i.indrelid AND a.attnum = k.num) END \
                     FROM unnest(i.indkey::int2[]) WITH ORDINALITY k(num, ord) ORDER BY k.ord), \
                 ARRAY(SELECT k.num = 0 \
                     FROM unnest(i.indkey::int2[]) WITH ORDINALITY k(num, ord) ORDER BY k.ord), \
                 ARRAY(SELECT o.opt::int4 \
                     FROM unnest(i.indoption::int2[]) WITH ORDINALITY o(opt, ord) ORDER BY o.ord), \
                 pg_get_expr(i.indpred, i.indrelid), \
                 ARRAY(SELECT CASE WHEN opc.opcdefault THEN NULL ELSE opc.opcname::text END \
                     FROM unnest(i.indclass::oid[]) WITH ORDINALITY k(cls, ord) \
                     JOIN pg_opclass opc ON opc.oid = k.cls ORDER BY k.ord) \
             FROM pg_index i \
             JOIN pg_class ic ON ic.oid = i.indexrelid \
             JOIN pg_am am ON am.oid = ic.relam \
             JOIN pg_class c ON c.oid = i.indrelid \
             JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE NOT EXISTS (SELECT 1 FROM pg_constraint con \
                     WHERE con.conindid = i.indexrelid AND con.conrelid = i.indrelid \
                       AND con.contype IN ('p', 'u', 'x')) AND",
            table_in_scope!(),
            "ORDER BY 1, 2, 3"
        ),
        excludes: true,
        alone: false,
        read: read_indexes,
    },
    Query {
        what: "enum types",
        sql: concat!(
            "SELECT n.nspname::text, t.typname::text, \
                 ARRAY(SELECT e.enumlabel::text FROM pg_enum e WHERE e.enumtypid = t.oid \
                     ORDER BY e.enumsortorder) \
             FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace \
             WHERE t.typtype = 'e' AND n.nspname::text = ANY($1::text[]) AND",
            not_extension_type!(),
            "ORDER BY 1, 2"
        ),
        excludes: false,
        alone: false,
        read: read_enums,
    },
    Query {
        what: "sequences",
        // Left out: identity sequences ('i') and serial ones (owned, 'a', by a column
        // whose default is their nextval()).
        sql: concat!(
            "SELECT n.nspname::text, c.relname::text, format_type(s.seqtypid, NULL), \
                 s.seqstart, s.seqincrement, s.seqmin, s.seqmax, s.seqcycle \
             FROM pg_sequence s JOIN pg_class c ON c.oid = s.seqrelid \
             JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname::text = ANY($1::text[]) \
               AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass \
                   AND d.objid = c.oid AND d.deptype = 'i') \
               AND NOT EXISTS (SELECT 1 FROM pg_depend d \
                   JOIN pg_attrdef ad ON ad.adrelid = d.refobjid AND ad.adnum = d.refobjsubid \
                   WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass \
                     AND d.objid = c.oid AND d.deptype = 'a' \
                     AND pg_get_expr(ad.adbin, ad.adrelid) = \
                         'nextval(' || quote_literal(c.oid::regclass::text) || '::regclass)') \
               AND",
            not_extension_class!(),
            "ORDER BY 1, 2"
        ),
        excludes: false,
        alone: false,
        read: read_sequences,
    },
    Query {
        what: "views",
        sql: concat!(
            "SELECT n.nspname::text, c.relname::text, pg_get_viewdef(c.oid, true), \
                 obj_description(c.oid, 'pg_class') \
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE c.relkind = 'v' AND n.nspname::text = ANY($1::text[]) AND",
            not_extension_class!(),
            "ORDER BY 1, 2"
        ),
        excludes: false,
        alone: false,
        read: read_views,
    },
    Query {
        what: "objects aludel does not model",
        sql: concat!(
            "SELECT n.nspname::text, 'materialized view', c.relname::text, \
                 'materialized views are not modelled' \
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE c.relkind = 'm' AND n.nspname::text = ANY($1::text[]) AND",
            not_extension_class!(),
            "UNION ALL \
             SELECT n.nspname::text, 'foreign table', c.relname::text, \
                 'foreign tables are not modelled' \
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE c.relkind = 'f' AND n.nspname::text = ANY($1::text[]) AND",
            not_extension_class!(),
            "UNION ALL \
             SELECT n.nspname::text, 'trigger', c.relname || '.' || tg.tgname, \
                 'triggers are not modelled' \
             FROM pg_trigger tg JOIN pg_class c ON c.oid = tg.tgrelid \
             JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE NOT tg.tgisinternal AND NOT c.relispartition \
               AND n.nspname::text = ANY($1::text[]) AND c.relname::text <> ALL($2::text[]) AND",
            not_extension_class!(),
            "UNION ALL \
             SELECT n.nspname::text, 'policy', c.relname || '.' || p.polname, \
                 'row-level security policies are not modelled' \
             FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid \
             JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname::text = ANY($1::text[]) AND c.relname::text <> ALL($2::text[]) AND",
            not_extension_class!(),
            "UNION ALL \
             SELECT n.nspname::text, 'rule', c.relname || '.' || r.rulename, \
                 'rules are not modelled' \
             FROM pg_rewrite r JOIN pg_class c ON c.oid = r.ev_class \
             JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE r.rulename <> '_RETURN' \
               AND n.nspname::text = ANY($1::text[]) AND c.relname::text <> ALL($2::text[]) AND",
            not_extension_class!(),
            "UNION ALL \
             SELECT n.nspname::text, 'exclusion constraint', c.relname || '.' || con.conname, \
                 'exclusion constraints are not modelled' \
             FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid \
             JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE con.contype = 'x' AND con.conparentid = 0 AND",
            table_in_scope!(),
            "UNION ALL \
             SELECT n.nspname::text, 'domain', t.typname::text, 'domains are not modelled' \
             FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace \
             WHERE t.typtype = 'd' AND n.nspname::text = ANY($1::text[]) AND",
            not_extension_type!(),
            "UNION ALL \
             SELECT n.nspname::text, 'composite type', t.typname::text, \
                 'composite types are not modelled' \
             FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace \
             JOIN pg_class c ON c.oid = t.typrelid AND c.relkind = 'c' \
             WHERE t.typtype = 'c' AND n.nspname::text = ANY($1::text[]) AND",
            not_extension_type!(),
            "UNION ALL \
             SELECT n.nspname::text, \
                 CASE p.prokind WHEN 'p' THEN 'procedure' WHEN 'a' THEN 'aggregate' \
                     WHEN 'w' THEN 'window function' ELSE 'function' END, \
                 p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')', \
                 'functions and procedures are not modelled' \
             FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace \
             WHERE n.nspname::text = ANY($1::text[]) \
               AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass \
                   AND d.objid = p.oid AND d.deptype = 'e') ",
            "ORDER BY 1, 2, 3"
        ),
        excludes: true,
        alone: true,
        read: read_skipped,
    },
];

/// "reading the columns of schema public: ..." with the database's own message.
fn reading(what: &str, schemas: &[String], e: tokio_postgres::Error) -> DbError {
    let inner = db_error(e);
    let place = match schemas {
        [one] => format!("schema {one}"),
        [] => "the current schema".to_string(),
        many => format!("schemas {}", many.join(", ")),
    };
    DbError {
        message: format!("reading the {what} of {place}: {}", inner.message),
        ..inner
    }
}

/// Reads every object in `scope` in `1 + QUERIES.len()` queries, whatever the number
/// of tables.
pub(super) fn inspect(
    driver: &mut PostgresDriver,
    scope: &InspectScope,
) -> Result<Inspection, DbError> {
    pinned(driver, scope, inspect_pinned)
}

/// The schemas [`inspect`] reads: the first column of [`SCHEMAS`], in the same
/// pinned search path.
pub(super) fn inspected_schemas(
    driver: &mut PostgresDriver,
    scope: &InspectScope,
) -> Result<Vec<String>, DbError> {
    pinned(driver, scope, |driver, scope| {
        let requested = &scope.schemas;
        driver.wait_for(async {
            let rows = driver
                .client
                .query(SCHEMAS, &[requested])
                .await
                .map_err(|e| reading("schemas", requested, e))?;
            rows.iter()
                .map(|row| row.try_get::<_, String>(0))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| reading("schemas", requested, e))
        })
    })
}

/// `read` run with the session's starting search path, which is put back after.
fn pinned<T>(
    driver: &mut PostgresDriver,
    scope: &InspectScope,
    read: impl FnOnce(&mut PostgresDriver, &InspectScope) -> Result<T, DbError>,
) -> Result<T, DbError> {
    // aludel's own queries: bounded like every other (a frozen proxy ends them).
    let pinned = driver.wait_for(async {
        driver
            .client
            .query_one(PIN_SEARCH_PATH, &[])
            .await
            .and_then(|row| row.try_get::<_, String>(0))
            .map_err(|e| reading("schemas", &scope.schemas, e))
    })?;
    let read = read(driver, scope);
    let restored = driver.wait_for(async {
        driver
            .client
            .query_one(RESTORE_SEARCH_PATH, &[&pinned])
            .await
            .map_err(|e| reading("schemas", &scope.schemas, e))
    });
    let value = read?;
    restored?;
    Ok(value)
}

/// Runs `q` over `client` with the scope's parameters.
async fn run_query(
    client: &tokio_postgres::Client,
    q: &'static Query,
    schemas: &Vec<String>,
    excludes: &Vec<String>,
) -> Result<Vec<Row>, DbError> {
    let params: &[&(dyn ToSql + Sync)] = if q.excludes {
        &[schemas, excludes]
    } else {
        &[schemas]
    };
    client
        .query(q.sql, params)
        .await
        .map_err(|e| reading(q.what, schemas, e))
}

/// [`inspect`] once the search path is the session's own.
fn inspect_pinned(
    driver: &mut PostgresDriver,
    scope: &InspectScope,
) -> Result<Inspection, DbError> {
    let requested = scope.schemas.clone();
    let (schemas, tables, own_writes, settings) = driver.wait_for(async {
        let rows = driver
            .client
            .query(SCHEMAS, &[&requested])
            .await
            .map_err(|e| reading("schemas", &requested, e))?;
        let mut schemas = Vec::with_capacity(rows.len());
        let (mut tables, mut own_writes) = (0i64, false);
        let mut settings: (Vec<String>, Vec<String>) = Default::default();
        for row in &rows {
            let read = |e| reading("schemas", &requested, e);
            schemas.push(row.try_get::<_, String>(0).map_err(read)?);
            tables += row.try_get::<_, i64>(1).map_err(read)?;
            own_writes |= row.try_get::<_, bool>(2).map_err(read)?;
            settings = (row.try_get(3).map_err(read)?, row.try_get(4).map_err(read)?);
        }
        Ok((schemas, tables, own_writes, settings))
    })?;
    let excludes = scope.exclude_tables.clone();
    let (schemas, excludes) = (&schemas, &excludes);
    let second = match &driver.probe {
        Some(probe) if split_worth_it(schemas, tables, own_writes) => Some(probe.clone()),
        _ => None,
    };

    // Sent together: tokio-postgres pipelines requests polled concurrently, so the
    // whole inspection costs a couple of round trips, not one per query. When split,
    // the query read alone runs over a second connection on another thread meanwhile,
    // in this session's settings. If that connection is not open by the time the rest
    // is read (a slow pooler, a role allowed one connection), or it fails, the query
    // runs here instead, and the other thread reads nothing and ends on its own:
    // nothing waits on a connection attempt.
    let split = second.is_some();
    let here: Vec<&'static Query> = QUERIES.iter().filter(|q| !split || !q.alone).collect();
    use std::sync::atomic::{AtomicU8, Ordering};
    // The second connection's state: connecting, then reading or given up, as
    // whichever side gets there first decides.
    const CONNECTING: u8 = 0;
    const READING: u8 = 1;
    const GIVEN_UP: u8 = 2;
    let other = second.map(|(url, options)| {
        let state = std::sync::Arc::new(AtomicU8::new(CONNECTING));
        let (send, receive) = std::sync::mpsc::channel();
        let (state_there, schemas, excludes) = (state.clone(), schemas.clone(), excludes.clone());
        let spawned = std::thread::Builder::new()
            .name("aludel-inspect".into())
            .spawn(move || {
                let Ok(other) = PostgresDriver::connect(&url, &options) else {
                    return;
                };
                // Read only if the first connection has not given up on this one.
                if state_there
                    .compare_exchange(CONNECTING, READING, Ordering::SeqCst, Ordering::SeqCst)
                    .is_err()
                {
                    return;
                }
                let alone: Vec<&'static Query> = QUERIES.iter().filter(|q| q.alone).collect();
                let read = async {
                    other
                        .client
                        .query_one(SESSION_AS, &[&settings.0, &settings.1])
                        .await
                        .map_err(db_error)?;
                    let pending = alone
                        .iter()
                        .map(|q| run_query(&other.client, q, &schemas, &excludes));
                    futures_util::future::try_join_all(pending).await
                };
                let _ = send.send(other.wait_for(read));
            });
        (state, receive, spawned.is_ok())
    });
    let client = &driver.client;
    let results = driver.wait_for(futures_util::future::try_join_all(
        here.iter().map(|q| run_query(client, q, schemas, excludes)),
    ))?;
    let alone = other.and_then(|(state, receive, spawned)| {
        let reading = spawned
            && state
                .compare_exchange(CONNECTING, GIVEN_UP, Ordering::SeqCst, Ordering::SeqCst)
                .is_err();
        reading
            .then(|| receive.recv().ok().and_then(Result::ok))
            .flatten()
    });
    let mut by_query: Vec<(&'static Query, Vec<Row>)> = here.into_iter().zip(results).collect();
    if split {
        let alone_queries: Vec<&'static Query> = QUERIES.iter().filter(|q| q.alone).collect();
        let rows = match alone {
            Some(rows) => rows,
            None => {
                let client = &driver.client;
                driver.wait_for(futures_util::future::try_join_all(
                    alone_queries
                        .iter()
                        .map(|q| run_query(client, q, schemas, excludes)),
                ))?
            }
        };
        by_query.extend(alone_queries.into_iter().zip(rows));
    }
    // Read in the order of QUERIES: tables first, the others attach to them.
    by_query.sort_by_key(|(q, _)| QUERIES.iter().position(|o| std::ptr::eq(o, *q)));

    let mut inspection = Inspection::default();
    for name in schemas {
        inspection
            .catalog
            .schemas
            .insert(name.clone(), Default::default());
    }
    for (query, rows) in &by_query {
        (query.read)(rows, &mut inspection).map_err(|e| reading(query.what, schemas, e))?;
    }
    Ok(inspection)
}

fn table_mut<'a>(catalog: &'a mut Catalog, schema: &str, table: &str) -> Option<&'a mut Table> {
    catalog.schemas.get_mut(schema)?.tables.get_mut(table)
}

fn read_tables(rows: &[Row], out: &mut Inspection) -> Result<(), tokio_postgres::Error> {
    for row in rows {
        let schema: String = row.try_get(0)?;
        let name: String = row.try_get(1)?;
        let partitioned: bool = row.try_get(2)?;
        if partitioned {
            out.skipped.push(Skipped {
                schema: schema.clone(),
                kind: "partitions".into(),
                name: name.clone(),
                reason: "the table is modelled, its partitions are not".into(),
            });
        }
        let table = Table {
            comment: row.try_get(3)?,
            ..Table::default()
        };
        out.catalog
            .schemas
            .entry(schema)
            .or_default()
            .tables
            .insert(name, table);
    }
    Ok(())
}

fn read_columns(rows: &[Row], out: &mut Inspection) -> Result<(), tokio_postgres::Error> {
    for row in rows {
        let schema: String = row.try_get(0)?;
        let table: String = row.try_get(1)?;
        let mut default: Option<String> = row.try_get(5)?;
        let attidentity: String = row.try_get(6)?;
        let attgenerated: String = row.try_get(7)?;
        let serial: bool = row.try_get(10)?;
        let identity = match attidentity.as_str() {
            "a" => Some(Identity::Always),
            "d" => Some(Identity::ByDefault),
            _ if serial => Some(Identity::Serial),
            _ => None,
        };
        // The sequence stands for the default; a generated column's expression is not one.
        let mut generated = None;
        if identity.is_some() {
            default = None;
        } else if attgenerated == "s" {
            generated = default.take().map(Generated::stored);
        } else if attgenerated == "v" {
            // PostgreSQL 18's virtual generated columns.
            generated = default.take().map(Generated::virtual_);
        }
        let column = Column {
            name: row.try_get(2)?,
            data_type: normalize_type(&row.try_get::<_, String>(3)?),
            nullable: row.try_get(4)?,
            default,
            identity,
            generated,
            collation: row.try_get(8)?,
            comment: row.try_get(9)?,
        };
        if let Some(t) = table_mut(&mut out.catalog, &schema, &table) {
            t.columns.push(column);
        }
    }
    Ok(())
}

fn action(code: &str) -> ReferentialAction {
    match code {
        "r" => ReferentialAction::Restrict,
        "c" => ReferentialAction::Cascade,
        "n" => ReferentialAction::SetNull,
        "d" => ReferentialAction::SetDefault,
        _ => ReferentialAction::NoAction,
    }
}

fn read_constraints(rows: &[Row], out: &mut Inspection) -> Result<(), tokio_postgres::Error> {
    for row in rows {
        let schema: String = row.try_get(0)?;
        let table: String = row.try_get(1)?;
        let name: String = row.try_get(2)?;
        let kind: String = row.try_get(3)?;
        let columns: Vec<String> = row.try_get(4)?;
        let Some(t) = table_mut(&mut out.catalog, &schema, &table) else {
            continue;
        };
        match kind.as_str() {
            "p" => t.primary_key = Some(PrimaryKey { name, columns }),
            "u" => {
                t.uniques.insert(name, Unique { columns });
            }
            "f" => {
                let deferrable: bool = row.try_get(10)?;
                let deferred: bool = row.try_get(11)?;
                let fk = ForeignKey {
                    columns,
                    ref_schema: row.try_get::<_, Option<String>>(5)?.unwrap_or_default(),
                    ref_table: row.try_get::<_, Option<String>>(6)?.unwrap_or_default(),
                    ref_columns: row.try_get(7)?,
                    on_update: action(&row.try_get::<_, String>(8)?),
                    on_delete: action(&row.try_get::<_, String>(9)?),
                    deferrable: deferrable.then_some(deferred),
                };
                t.foreign_keys.insert(name, fk);
            }
            _ => {
                let expression: Option<String> = row.try_get(12)?;
                t.checks.insert(
                    name,
                    Check {
                        expression: expression.unwrap_or_default(),
                    },
                );
            }
        }
    }
    Ok(())
}

fn read_indexes(rows: &[Row], out: &mut Inspection) -> Result<(), tokio_postgres::Error> {
    for row in rows {
        let schema: String = row.try_get(0)?;
        let table: String = row.try_get(1)?;
        let name: String = row.try_get(2)?;
        let key_count = usize::try_from(row.try_get::<_, i32>(5)?).unwrap_or(0);
        let parts: Vec<Option<String>> = row.try_get(6)?;
        let expressions: Vec<bool> = row.try_get(7)?;
        let options: Vec<i32> = row.try_get(8)?;
        // Only key columns have an operator class; NULL where it is the default.
        let opclasses: Vec<Option<String>> = row.try_get(10)?;
        let mut index = Index {
            unique: row.try_get(3)?,
            method: row.try_get(4)?,
            predicate: row.try_get(9)?,
            ..Index::default()
        };
        for (k, part) in parts.into_iter().enumerate() {
            let part = part.unwrap_or_default();
            if k >= key_count {
                index.include.push(part);
                continue;
            }
            // indoption bits: 1 = DESC, 2 = NULLS FIRST.
            let option = options.get(k).copied().unwrap_or(0);
            index.keys.push(IndexKey {
                expression: part,
                is_expression: expressions.get(k).copied().unwrap_or(false),
                descending: option & 1 != 0,
                nulls_first: option & 2 != 0,
                opclass: opclasses.get(k).cloned().flatten(),
                prefix_length: None,
            });
        }
        if let Some(t) = table_mut(&mut out.catalog, &schema, &table) {
            t.indexes.insert(name, index);
        }
    }
    Ok(())
}

fn read_enums(rows: &[Row], out: &mut Inspection) -> Result<(), tokio_postgres::Error> {
    for row in rows {
        let schema: String = row.try_get(0)?;
        let enum_type = EnumType {
            labels: row.try_get(2)?,
        };
        out.catalog
            .schemas
            .entry(schema)
            .or_default()
            .enums
            .insert(row.try_get(1)?, enum_type);
    }
    Ok(())
}

fn read_sequences(rows: &[Row], out: &mut Inspection) -> Result<(), tokio_postgres::Error> {
    for row in rows {
        let schema: String = row.try_get(0)?;
        let sequence = Sequence {
            data_type: normalize_type(&row.try_get::<_, String>(2)?),
            start: row.try_get(3)?,
            increment: row.try_get(4)?,
            min: row.try_get(5)?,
            max: row.try_get(6)?,
            cycle: row.try_get(7)?,
        };
        out.catalog
            .schemas
            .entry(schema)
            .or_default()
            .sequences
            .insert(row.try_get(1)?, sequence);
    }
    Ok(())
}

fn read_views(rows: &[Row], out: &mut Inspection) -> Result<(), tokio_postgres::Error> {
    for row in rows {
        let schema: String = row.try_get(0)?;
        let definition: String = row.try_get(2)?;
        // pg_get_viewdef ends the query with a semicolon: a terminator, not the query.
        let definition = definition
            .trim()
            .trim_end_matches(';')
            .trim_end()
            .to_string();
        let view = View {
            definition,
            comment: row.try_get(3)?,
        };
        out.catalog
            .schemas
            .entry(schema)
            .or_default()
            .views
            .insert(row.try_get(1)?, view);
    }
    Ok(())
}

fn read_skipped(rows: &[Row], out: &mut Inspection) -> Result<(), tokio_postgres::Error> {
    for row in rows {
        out.skipped.push(Skipped {
            schema: row.try_get(0)?,
            kind: row.try_get(1)?,
            name: row.try_get(2)?,
            reason: row.try_get(3)?,
        });
    }
    out.skipped
        .sort_by(|a, b| (&a.schema, &a.kind, &a.name).cmp(&(&b.schema, &b.kind, &b.name)));
    Ok(())
}
