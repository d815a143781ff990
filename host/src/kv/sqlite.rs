//! The embedded backend: one SQLite database file per project, in WAL mode so that every host
//! process of a local cluster opens it at once (readers never wait; writers take turns, waiting
//! up to [`BUSY_TIMEOUT`] for each other). Increment and compare-and-swap run in an immediate
//! transaction, so concurrent writers in any process lose no update. Data survives host restarts
//! and hot swaps: it lives in the file, not in a host.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::{KvAnswer, KvBackend, KvError, KvFuture, KvOp, MAX_LISTED_KEYS, add_to_counter, parse_counter};

/// How long a writer waits for another process's write to finish before it fails.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// The stores of one app in a SQLite file.
pub struct SqliteKv {
    app: String,
    db: Arc<Mutex<Connection>>,
}

impl SqliteKv {
    /// Opens (creating if needed) the database at `path`, for the stores of `app`.
    pub fn open(path: &Path, app: &str) -> Result<Arc<SqliteKv>> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        }
        let db = Connection::open(path).with_context(|| format!("cannot open the key-value database {}", path.display()))?;
        db.busy_timeout(BUSY_TIMEOUT)?;
        set_up(&db).with_context(|| format!("cannot set up the key-value database {}", path.display()))?;
        Ok(Arc::new(SqliteKv { app: app.to_string(), db: Arc::new(Mutex::new(db)) }))
    }
}

impl KvBackend for SqliteKv {
    fn run(&self, op: KvOp) -> KvFuture {
        let (db, app) = (self.db.clone(), self.app.clone());
        Box::pin(async move {
            // SQLite blocks (on the disk, on another process's write): keep it off the runtime's threads.
            let ran = tokio::task::spawn_blocking(move || {
                let mut db = db.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                run(&mut db, &app, op)
            });
            ran.await.map_err(KvError::unavailable)?
        })
    }
}

/// Puts a fresh or existing file in WAL mode and creates the table. Host processes of a cluster
/// start together and race here: switching a new file to WAL and the first schema write can
/// answer "database is locked" at once, without waiting in the busy handler, so the whole set-up
/// is retried until [`BUSY_TIMEOUT`].
fn set_up(db: &Connection) -> rusqlite::Result<()> {
    let deadline = std::time::Instant::now() + BUSY_TIMEOUT;
    loop {
        let attempt = (|| {
            // WAL: readers and one writer at a time across processes; NORMAL sync survives a killed
            // process (not a power cut), as an embedded default should at this cost.
            db.pragma_update(None, "journal_mode", "WAL")?;
            db.pragma_update(None, "synchronous", "NORMAL")?;
            db.execute_batch(
                "CREATE TABLE IF NOT EXISTS kv (
                    app TEXT NOT NULL, store TEXT NOT NULL, key TEXT NOT NULL, value BLOB NOT NULL,
                    PRIMARY KEY (app, store, key)
                ) WITHOUT ROWID",
            )
        })();
        match attempt {
            Err(rusqlite::Error::SqliteFailure(e, _))
                if matches!(e.code, rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked) && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(Duration::from_millis(5));
            }
            other => return other,
        }
    }
}

fn run(db: &mut Connection, app: &str, op: KvOp) -> Result<KvAnswer, KvError> {
    let get = |db: &Connection, store: &str, key: &str| -> rusqlite::Result<Option<Vec<u8>>> {
        db.query_row("SELECT value FROM kv WHERE app = ?1 AND store = ?2 AND key = ?3", params![app, store, key], |row| row.get(0)).optional()
    };
    let put = |db: &Connection, store: &str, key: &str, value: &[u8]| {
        db.execute("INSERT INTO kv (app, store, key, value) VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO UPDATE SET value = excluded.value", params![app, store, key, value])
    };
    let failed = |e: rusqlite::Error| KvError::unavailable(format!("the key-value database: {e}"));
    match op {
        KvOp::Get { store, key } => get(db, &store, &key).map(KvAnswer::Value).map_err(failed),
        KvOp::Exists { store, key } => get(db, &store, &key).map(|v| KvAnswer::Flag(v.is_some())).map_err(failed),
        KvOp::Set { store, key, value } => put(db, &store, &key, &value).map(|_| KvAnswer::Done).map_err(failed),
        KvOp::Delete { store, key } => {
            db.execute("DELETE FROM kv WHERE app = ?1 AND store = ?2 AND key = ?3", params![app, store, key]).map(|_| KvAnswer::Done).map_err(failed)
        }
        KvOp::Keys { store, prefix } => {
            let mut query = db.prepare_cached("SELECT key FROM kv WHERE app = ?1 AND store = ?2 AND key >= ?3 ORDER BY key").map_err(failed)?;
            let rows = query.query_map(params![app, store, prefix], |row| row.get::<_, String>(0)).map_err(failed)?;
            let mut keys = Vec::new();
            for key in rows {
                let key = key.map_err(failed)?;
                if !key.starts_with(&prefix) || keys.len() == MAX_LISTED_KEYS {
                    break;
                }
                keys.push(key);
            }
            Ok(KvAnswer::Keys(keys))
        }
        KvOp::Increment { store, key, delta } => {
            let tx = db.transaction_with_behavior(TransactionBehavior::Immediate).map_err(failed)?;
            let sum = add_to_counter(&key, parse_counter(&key, get(&tx, &store, &key).map_err(failed)?.as_deref())?, delta)?;
            put(&tx, &store, &key, sum.to_string().as_bytes()).map_err(failed)?;
            tx.commit().map_err(failed)?;
            Ok(KvAnswer::Number(sum))
        }
        KvOp::CompareAndSwap { store, key, expected, new } => {
            let tx = db.transaction_with_behavior(TransactionBehavior::Immediate).map_err(failed)?;
            let swapped = get(&tx, &store, &key).map_err(failed)? == expected;
            if swapped {
                put(&tx, &store, &key, &new).map_err(failed)?;
            }
            tx.commit().map_err(failed)?;
            Ok(KvAnswer::Flag(swapped))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_increments_from_separate_connections_lose_nothing_and_the_data_outlives_them() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kv.sqlite");
        // Separate connections stand for separate host processes.
        let writers: Vec<_> = (0..4).map(|_| SqliteKv::open(&path, "a").unwrap()).collect();
        let mut tasks = tokio::task::JoinSet::new();
        for kv in writers {
            tasks.spawn(async move {
                for _ in 0..250 {
                    kv.run(KvOp::Increment { store: "s".into(), key: "n".into(), delta: 1 }).await.unwrap();
                }
            });
        }
        while let Some(done) = tasks.join_next().await {
            done.unwrap();
        }
        let kv = SqliteKv::open(&path, "a").unwrap();
        assert_eq!(kv.run(KvOp::Get { store: "s".into(), key: "n".into() }).await.unwrap(), KvAnswer::Value(Some(b"1000".to_vec())));
    }

    #[test]
    fn hosts_starting_together_all_open_a_fresh_file() {
        // As `fusion up` starts every host of a cluster at once on a new project.
        for round in 0..50 {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("kv.sqlite");
            let opening = (0..8).map(|_| {
                let path = path.clone();
                std::thread::spawn(move || SqliteKv::open(&path, "a").map(|_| ()))
            });
            for open in opening.collect::<Vec<_>>() {
                open.join().unwrap().unwrap_or_else(|e| panic!("round {round}: {e:#}"));
            }
        }
    }
}
