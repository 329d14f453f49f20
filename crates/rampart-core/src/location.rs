//! Store locations as the user writes them (an SQLite path or a PostgreSQL URL), shared by
//! every store rampart keeps: the history, the layer cache, the fleet.

/// Whether a location names a PostgreSQL server.
pub fn is_postgres(location: &str) -> bool {
    location.starts_with("postgres://") || location.starts_with("postgresql://")
}

/// A location as it may be shown: a URL's password replaced.
pub fn redacted(location: &str) -> String {
    if !is_postgres(location) {
        return location.to_owned();
    }
    let Some((scheme, rest)) = location.split_once("://") else {
        return location.to_owned();
    };
    match rest.split_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
            None => location.to_owned(),
        },
        None => location.to_owned(),
    }
}
