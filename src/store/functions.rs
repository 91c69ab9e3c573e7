//! SQL functions trainlog registers on every connection, so logits are reachable from SQL:
//! `logit(logits, k)` is the k-th logit (0-based) of a stored logits BLOB, `n_logits(logits)`
//! their number.

use rusqlite::functions::{Context, FunctionFlags};
use rusqlite::types::ValueRef;
use rusqlite::{Connection, Error};

fn blob_arg<'a>(ctx: &'a Context<'_>, i: usize) -> rusqlite::Result<Option<&'a [u8]>> {
    match ctx.get_raw(i) {
        ValueRef::Null => Ok(None),
        ValueRef::Blob(b) => Ok(Some(b)),
        _ => Err(Error::UserFunctionError(
            "logit() takes the logits column (a BLOB) as its first argument".into(),
        )),
    }
}

pub fn register(conn: &Connection) -> rusqlite::Result<()> {
    let flags = FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC;
    conn.create_scalar_function("logit", 2, flags, |ctx| {
        let Some(b) = blob_arg(ctx, 0)? else {
            return Ok(None);
        };
        let k: i64 = ctx.get(1)?;
        let n = (b.len() / 4) as i64;
        if k < 0 || k >= n {
            return Err(Error::UserFunctionError(
                format!("logit(logits, {k}): k must be in 0..{n}").into(),
            ));
        }
        let i = k as usize * 4;
        Ok(Some(
            f32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]) as f64,
        ))
    })?;
    conn.create_scalar_function("n_logits", 1, flags, |ctx| {
        Ok(blob_arg(ctx, 0)?.map(|b| (b.len() / 4) as i64))
    })?;
    Ok(())
}
