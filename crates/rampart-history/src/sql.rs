//! One set of queries for SQLite and PostgreSQL. Queries are written once, in the dialect both
//! accept (`$1` placeholders, `ON CONFLICT ... DO UPDATE`, `RETURNING`, partial indexes), and
//! run through [`Tx`]; the only differences, a placeholder's spelling for SQLite and the
//! identity column in DDL, are translated here.
//!
//! Values are integers (`BIGINT`: times in milliseconds since the Unix epoch, counts, ids) or
//! text, nothing else, so both drivers map them without surprises.

use crate::HistoryError;

/// A value bound to a query or read from a row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Val {
    /// SQL NULL
    Null,
    /// BIGINT
    Int(i64),
    /// TEXT
    Text(String),
}

impl Val {
    /// The integer, if this is one.
    pub fn int(&self) -> Option<i64> {
        match self {
            Val::Int(i) => Some(*i),
            _ => None,
        }
    }

    /// The text, if this is some.
    pub fn text(&self) -> Option<&str> {
        match self {
            Val::Text(s) => Some(s),
            _ => None,
        }
    }
}

impl From<i64> for Val {
    fn from(v: i64) -> Self {
        Val::Int(v)
    }
}

impl From<&str> for Val {
    fn from(v: &str) -> Self {
        Val::Text(v.to_owned())
    }
}

impl From<String> for Val {
    fn from(v: String) -> Self {
        Val::Text(v)
    }
}

impl<T: Into<Val>> From<Option<T>> for Val {
    fn from(v: Option<T>) -> Self {
        v.map_or(Val::Null, Into::into)
    }
}

impl rusqlite::ToSql for Val {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, Value, ValueRef};
        Ok(match self {
            Val::Null => ToSqlOutput::Owned(Value::Null),
            Val::Int(i) => ToSqlOutput::Owned(Value::Integer(*i)),
            Val::Text(s) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
        })
    }
}

impl postgres::types::ToSql for Val {
    fn to_sql(
        &self,
        ty: &postgres::types::Type,
        out: &mut postgres::types::private::BytesMut,
    ) -> Result<postgres::types::IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self {
            Val::Null => Ok(postgres::types::IsNull::Yes),
            Val::Int(i) => i.to_sql(ty, out),
            Val::Text(s) => s.to_sql(ty, out),
        }
    }

    fn accepts(ty: &postgres::types::Type) -> bool {
        use postgres::types::Type;
        matches!(*ty, Type::INT8 | Type::TEXT | Type::VARCHAR)
    }

    postgres::types::to_sql_checked!();
}

/// Which database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// SQLite (a file)
    Sqlite,
    /// PostgreSQL (a server)
    Postgres,
}

/// `$1` → `?1` for SQLite (explicitly numbered, so a placeholder may repeat or come out of
/// order); unchanged for PostgreSQL.
pub fn for_dialect(sql: &str, d: Dialect) -> String {
    match d {
        Dialect::Postgres => sql.to_owned(),
        Dialect::Sqlite => {
            let mut out = String::with_capacity(sql.len());
            let mut chars = sql.chars().peekable();
            while let Some(c) = chars.next() {
                if c == '$' && chars.peek().is_some_and(char::is_ascii_digit) {
                    out.push('?');
                } else {
                    out.push(c);
                }
            }
            out
        }
    }
}

/// A connection.
pub(crate) enum Conn {
    Sqlite(rusqlite::Connection),
    Postgres(Box<postgres::Client>),
}

/// A transaction on either database: the only way queries run.
pub enum Tx<'a> {
    /// SQLite (`BEGIN IMMEDIATE`: one writer at a time, the others wait)
    Sqlite(rusqlite::Transaction<'a>),
    /// PostgreSQL
    Postgres(postgres::Transaction<'a>),
}

fn sqlite_err(e: rusqlite::Error) -> HistoryError {
    HistoryError::Sqlite(e.to_string())
}

fn pg_err(e: postgres::Error) -> HistoryError {
    HistoryError::Postgres(pg_message(&e))
}

/// A PostgreSQL error with the server's message when there is one.
pub(crate) fn pg_message(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{}: {}", db.code().code(), db.message()),
        None => e.to_string(),
    }
}

impl Tx<'_> {
    /// The dialect.
    pub fn dialect(&self) -> Dialect {
        match self {
            Tx::Sqlite(_) => Dialect::Sqlite,
            Tx::Postgres(_) => Dialect::Postgres,
        }
    }

    /// Runs a statement; the number of rows changed.
    pub fn exec(&mut self, sql: &str, params: &[Val]) -> Result<u64, HistoryError> {
        match self {
            Tx::Sqlite(t) => {
                let mut st = t
                    .prepare_cached(&for_dialect(sql, Dialect::Sqlite))
                    .map_err(sqlite_err)?;
                let n = st
                    .execute(rusqlite::params_from_iter(params.iter()))
                    .map_err(sqlite_err)?;
                Ok(n as u64)
            }
            Tx::Postgres(t) => {
                let refs: Vec<&(dyn postgres::types::ToSql + Sync)> =
                    params.iter().map(|p| p as _).collect();
                t.execute(sql, &refs).map_err(pg_err)
            }
        }
    }

    /// Runs statements with no parameters, separated by `;` (DDL).
    pub fn batch(&mut self, sql: &str) -> Result<(), HistoryError> {
        match self {
            Tx::Sqlite(t) => t.execute_batch(sql).map_err(sqlite_err),
            Tx::Postgres(t) => t.batch_execute(sql).map_err(pg_err),
        }
    }

    /// Runs a query; its rows, each column an integer, a text or null.
    pub fn query(&mut self, sql: &str, params: &[Val]) -> Result<Vec<Vec<Val>>, HistoryError> {
        match self {
            Tx::Sqlite(t) => {
                let mut st = t
                    .prepare_cached(&for_dialect(sql, Dialect::Sqlite))
                    .map_err(sqlite_err)?;
                let n = st.column_count();
                let mut rows = st
                    .query(rusqlite::params_from_iter(params.iter()))
                    .map_err(sqlite_err)?;
                let mut out = Vec::new();
                while let Some(r) = rows.next().map_err(sqlite_err)? {
                    let mut row = Vec::with_capacity(n);
                    for i in 0..n {
                        use rusqlite::types::ValueRef;
                        row.push(match r.get_ref(i).map_err(sqlite_err)? {
                            ValueRef::Null => Val::Null,
                            ValueRef::Integer(v) => Val::Int(v),
                            ValueRef::Real(v) => Val::Int(v as i64),
                            ValueRef::Text(b) | ValueRef::Blob(b) => {
                                Val::Text(String::from_utf8_lossy(b).into_owned())
                            }
                        });
                    }
                    out.push(row);
                }
                Ok(out)
            }
            Tx::Postgres(t) => {
                let refs: Vec<&(dyn postgres::types::ToSql + Sync)> =
                    params.iter().map(|p| p as _).collect();
                let rows = t.query(sql, &refs).map_err(pg_err)?;
                let mut out = Vec::with_capacity(rows.len());
                for r in rows {
                    let mut row = Vec::with_capacity(r.len());
                    for (i, col) in r.columns().iter().enumerate() {
                        use postgres::types::Type;
                        let v = match *col.type_() {
                            Type::INT8 => r.try_get::<_, Option<i64>>(i).map(Val::from),
                            Type::INT4 => r
                                .try_get::<_, Option<i32>>(i)
                                .map(|v| Val::from(v.map(i64::from))),
                            // (SUM and AVG of BIGINT are NUMERIC in PostgreSQL: queries
                            // cast them to BIGINT)
                            Type::FLOAT8 => r
                                .try_get::<_, Option<f64>>(i)
                                .map(|v| Val::from(v.map(|f| f as i64))),
                            _ => r.try_get::<_, Option<String>>(i).map(Val::from),
                        }
                        .map_err(pg_err)?;
                        row.push(v);
                    }
                    out.push(row);
                }
                Ok(out)
            }
        }
    }

    /// The first column of every row, as integers (NULLs and text left out): a query's
    /// many numbers without a row's allocations (SQLite reads them in place).
    pub fn ints(&mut self, sql: &str, params: &[Val]) -> Result<Vec<i64>, HistoryError> {
        match self {
            Tx::Sqlite(t) => {
                let mut st = t
                    .prepare_cached(&for_dialect(sql, Dialect::Sqlite))
                    .map_err(sqlite_err)?;
                let mut rows = st
                    .query(rusqlite::params_from_iter(params.iter()))
                    .map_err(sqlite_err)?;
                let mut out = Vec::new();
                while let Some(r) = rows.next().map_err(sqlite_err)? {
                    if let rusqlite::types::ValueRef::Integer(v) =
                        r.get_ref(0).map_err(sqlite_err)?
                    {
                        out.push(v);
                    }
                }
                Ok(out)
            }
            Tx::Postgres(_) => Ok(self
                .query(sql, params)?
                .into_iter()
                .filter_map(|r| r.into_iter().next().and_then(|v| v.int()))
                .collect()),
        }
    }

    /// The first column of the first row, when there is one.
    pub fn one(&mut self, sql: &str, params: &[Val]) -> Result<Option<Val>, HistoryError> {
        Ok(self
            .query(sql, params)?
            .into_iter()
            .next()
            .and_then(|r| r.into_iter().next()))
    }

    /// Commits.
    pub fn commit(self) -> Result<(), HistoryError> {
        match self {
            Tx::Sqlite(t) => t.commit().map_err(sqlite_err),
            Tx::Postgres(t) => t.commit().map_err(pg_err),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_become_numbered_for_sqlite() {
        assert_eq!(
            for_dialect("SELECT $1, $2, $1, '$x', $10", Dialect::Sqlite),
            "SELECT ?1, ?2, ?1, '$x', ?10"
        );
        assert_eq!(for_dialect("SELECT $1", Dialect::Postgres), "SELECT $1");
    }
}
