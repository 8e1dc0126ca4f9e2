//! The rota edits layer on Redis: edits and undos judged against the
//! layer's version, the audit trail, and gap alerts.

use super::plan::{corrupt, json as to_json, ms};

use super::scripts;
use super::{RedisStore, args};
use crate::clock::Instant;
use crate::rota::layer::RotaLayer;
use crate::rota::layer::{AuditEntry, AuditRecord, LayerWrite, NewRotaEdit, RotaEdit, Undone};
use crate::store_error::StoreResult;

impl RotaLayer for RedisStore {
    fn add_rota_edit(&self, edit: LayerWrite<'_, NewRotaEdit>) -> StoreResult<u64> {
        let (data, audit) = (to_json(edit.change)?, to_json(edit.audit)?);
        self.script(
            &scripts::ADD_ROTA_EDIT,
            args([&data, &audit, &edit.judged_at.to_string()]),
        )
    }

    fn undo_rota_edit(&self, id: u64, undo: LayerWrite<'_, Undone>) -> StoreResult<bool> {
        let (undone, audit) = (to_json(undo.change)?, to_json(undo.audit)?);
        let done: i64 = self.script(
            &scripts::UNDO_ROTA_EDIT,
            args([
                &id.to_string(),
                &undone,
                &audit,
                &undo.judged_at.to_string(),
            ]),
        )?;
        Ok(done == 1)
    }

    fn rota_edits(&self) -> StoreResult<Vec<RotaEdit>> {
        let rows: Vec<(u64, String, String)> = self.script(&scripts::ROTA_EDITS, args([]))?;
        rows.into_iter()
            .map(|(id, data, undone)| {
                Ok(RotaEdit {
                    id,
                    edit: serde_json::from_str(&data).map_err(corrupt)?,
                    undone: if undone.is_empty() {
                        None
                    } else {
                        Some(serde_json::from_str(&undone).map_err(corrupt)?)
                    },
                })
            })
            .collect()
    }

    fn rota_layer_version(&self) -> StoreResult<u64> {
        let v: Option<u64> =
            self.command(redis::cmd("GET").arg(self.key(&["rota-layer"])).clone())?;
        Ok(v.unwrap_or(0))
    }

    fn append_audit(&self, record: &AuditRecord) -> StoreResult<u64> {
        let record = to_json(record)?;
        self.script(&scripts::APPEND_AUDIT, args([&record]))
    }

    fn audit_trail(&self, after: u64, limit: usize) -> StoreResult<Vec<AuditEntry>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let lines: Vec<String> = self.command(
            redis::cmd("LRANGE")
                .arg(self.key(&["audit"]))
                .arg(after)
                .arg(after + limit as u64 - 1)
                .clone(),
        )?;
        lines
            .into_iter()
            .enumerate()
            .map(|(i, line)| {
                let (edit, data) = line
                    .split_once('|')
                    .ok_or_else(|| corrupt("an audit line without its edit field"))?;
                Ok(AuditEntry {
                    seq: after + i as u64 + 1,
                    edit: if edit.is_empty() {
                        None
                    } else {
                        Some(edit.parse().map_err(corrupt)?)
                    },
                    record: serde_json::from_str(data).map_err(corrupt)?,
                })
            })
            .collect()
    }

    fn mark_gap_alerted(&self, key: &str, at: Instant) -> StoreResult<bool> {
        let marked: i64 = self.script(&scripts::MARK_GAP_ALERTED, args([&key, &ms(at)]))?;
        Ok(marked == 1)
    }
}
