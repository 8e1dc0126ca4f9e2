//! The rota edits layer ([`RotaLayer`]): edits, undos and their audit, each
//! checked against the layer's version.

use rusqlite::params;

use super::SqliteStore;
use super::apply::layer_still_at;
use crate::clock::Instant;
use crate::rota::layer::RotaLayer;
use crate::rota::layer::{AuditEntry, AuditRecord, LayerWrite, NewRotaEdit, RotaEdit, Undone};
use crate::store::codec::{corrupt, ms, to_json};
use crate::store_error::StoreResult;

impl RotaLayer for SqliteStore {
    fn add_rota_edit(&self, edit: LayerWrite<'_, NewRotaEdit>) -> StoreResult<u64> {
        let (judged_at, audit) = (edit.judged_at, edit.audit.clone());
        let edit = edit.change.clone();
        self.write(move |tx| {
            layer_still_at(tx, judged_at)?;
            tx.execute(
                "INSERT INTO rota_edits (data) VALUES (?1)",
                params![to_json(&edit)?],
            )?;
            let id = tx.last_insert_rowid();
            tx.execute(
                "INSERT INTO audit (edit, data) VALUES (?1, ?2)",
                params![id, to_json(&audit)?],
            )?;
            tx.execute(
                "UPDATE rota_layer SET version = version + 1 WHERE id = 1",
                [],
            )?;
            Ok(id as u64)
        })
    }

    fn undo_rota_edit(&self, id: u64, undo: LayerWrite<'_, Undone>) -> StoreResult<bool> {
        let (judged_at, audit) = (undo.judged_at, undo.audit.clone());
        let undone = undo.change.clone();
        self.write(move |tx| {
            layer_still_at(tx, judged_at)?;
            let n = tx.execute(
                "UPDATE rota_edits SET undone = ?2 WHERE id = ?1 AND undone IS NULL",
                params![id as i64, to_json(&undone)?],
            )?;
            if n == 0 {
                return Ok(false);
            }
            tx.execute(
                "INSERT INTO audit (edit, data) VALUES (?1, ?2)",
                params![id as i64, to_json(&audit)?],
            )?;
            tx.execute(
                "UPDATE rota_layer SET version = version + 1 WHERE id = 1",
                [],
            )?;
            Ok(true)
        })
    }

    fn rota_edits(&self) -> StoreResult<Vec<RotaEdit>> {
        let rows: Vec<(i64, String, Option<String>)> = self.read(|c| {
            let mut stmt = c.prepare("SELECT id, data, undone FROM rota_edits ORDER BY id")?;
            stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                .collect()
        })?;
        rows.into_iter()
            .map(|(id, data, undone)| {
                Ok(RotaEdit {
                    id: id as u64,
                    edit: serde_json::from_str(&data).map_err(corrupt)?,
                    undone: undone
                        .map(|u| serde_json::from_str(&u))
                        .transpose()
                        .map_err(corrupt)?,
                })
            })
            .collect()
    }

    fn rota_layer_version(&self) -> StoreResult<u64> {
        self.read(|c| {
            c.query_row("SELECT version FROM rota_layer WHERE id = 1", [], |r| {
                r.get::<_, i64>(0)
            })
        })
        .map(|v| v as u64)
    }

    fn append_audit(&self, record: &AuditRecord) -> StoreResult<u64> {
        let record = record.clone();
        self.write(move |tx| {
            tx.execute(
                "INSERT INTO audit (data) VALUES (?1)",
                params![to_json(&record)?],
            )?;
            Ok(tx.last_insert_rowid() as u64)
        })
    }

    fn audit_trail(&self, after: u64, limit: usize) -> StoreResult<Vec<AuditEntry>> {
        let rows: Vec<(i64, Option<i64>, String)> = self.read(move |c| {
            let mut stmt = c.prepare(
                "SELECT seq, edit, data FROM audit WHERE seq > ?1 ORDER BY seq LIMIT ?2",
            )?;
            stmt.query_map(params![after as i64, limit as i64], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })?
            .collect()
        })?;
        rows.into_iter()
            .map(|(seq, edit, data)| {
                Ok(AuditEntry {
                    seq: seq as u64,
                    edit: edit.map(|e| e as u64),
                    record: serde_json::from_str(&data).map_err(corrupt)?,
                })
            })
            .collect()
    }

    fn mark_gap_alerted(&self, key: &str, at: Instant) -> StoreResult<bool> {
        let key = key.to_owned();
        self.write(move |tx| {
            Ok(tx.execute(
                "INSERT OR IGNORE INTO gap_alerts (key, at) VALUES (?1, ?2)",
                params![key, ms(at)],
            )? == 1)
        })
    }
}
