//! The vulnerability layer: OSV records, the local database, matching packages, inventory.
