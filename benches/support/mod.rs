//! Scratch PostgreSQL databases for the benchmarks: uniquely named, dropped at the end.

use sqlx::{Connection, Executor, PgConnection};

const ADMIN: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// The databases one benchmark created, and the connection that drops them.
pub struct ScratchPg {
    admin: PgConnection,
    created: Vec<String>,
}

impl ScratchPg {
    /// Connects to the local server, or says why the benchmark is skipped.
    pub async fn connect() -> Option<ScratchPg> {
        match PgConnection::connect(ADMIN).await {
            Ok(admin) => Some(ScratchPg {
                admin,
                created: vec![],
            }),
            Err(e) => {
                eprintln!("SKIPPING bench: PostgreSQL at 127.0.0.1:5432 is not reachable ({e})");
                None
            }
        }
    }

    /// Creates a database named `prefix` plus a random suffix; its URL.
    pub async fn create(&mut self, prefix: &str) -> String {
        let db = format!("{prefix}_{:08x}", rand::random::<u32>());
        self.admin
            .execute(format!("CREATE DATABASE {db}").as_str())
            .await
            .unwrap();
        self.created.push(db.clone());
        format!("postgres://postgres@127.0.0.1:5432/{db}")
    }

    /// Drops every database it created.
    pub async fn drop_all(mut self) {
        for db in &self.created {
            self.admin
                .execute(format!("DROP DATABASE {db} WITH (FORCE)").as_str())
                .await
                .unwrap();
        }
    }
}
