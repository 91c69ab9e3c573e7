//! SQL functions trainlog registers on every connection.
//!
//! Logits: `logit(logits, k)` is the k-th logit (0-based) of a stored logits BLOB,
//! `n_logits(logits)` their number, `el2n(logits, label)` the L2 norm of softmax − one-hot
//! (of the f32 logits the `dynamics` view gives). The view's own: `tl_loss(logits, label)`,
//! `tl_margin(logits, label)`, `tl_p_true(loss)` and `tl_logits(blob, format)`.
//! Statistics (all from [`crate::stats`]): aggregates `spearman(x, y)`,
//! `kendall_w(rater, item, score)`, `auroc(score, is_positive)`, `stdev_samp(x)`,
//! `stdev_pop(x)`, and the scalar `binom_pmf(n, k, p)`.

use crate::stats;
use rusqlite::functions::{Aggregate, Context, FunctionFlags};
use rusqlite::types::ValueRef;
use rusqlite::{Connection, Error};
use std::collections::BTreeMap;

fn blob_arg<'a>(ctx: &'a Context<'_>, i: usize) -> rusqlite::Result<Option<&'a [u8]>> {
    match ctx.get_raw(i) {
        ValueRef::Null => Ok(None),
        ValueRef::Blob(b) => Ok(Some(b)),
        _ => Err(Error::UserFunctionError(
            "expected the logits column (a BLOB) as the first argument".into(),
        )),
    }
}

fn f64_arg(ctx: &Context<'_>, i: usize) -> rusqlite::Result<Option<f64>> {
    Ok(match ctx.get_raw(i) {
        ValueRef::Null => None,
        ValueRef::Integer(v) => Some(v as f64),
        ValueRef::Real(v) => Some(v),
        _ => {
            return Err(Error::UserFunctionError(
                "statistics functions take numbers".into(),
            ))
        }
    })
}

fn read_logits(b: &[u8]) -> Vec<f64> {
    crate::capture::blob_to_logits(b)
        .into_iter()
        .map(|v| v as f64)
        .collect()
}

/// Pairs (x, y), both non-NULL.
struct Pairs;
impl Aggregate<Vec<(f64, f64)>, Option<f64>> for Pairs {
    fn init(&self, _: &mut Context<'_>) -> rusqlite::Result<Vec<(f64, f64)>> {
        Ok(Vec::new())
    }
    fn step(&self, ctx: &mut Context<'_>, acc: &mut Vec<(f64, f64)>) -> rusqlite::Result<()> {
        if let (Some(x), Some(y)) = (f64_arg(ctx, 0)?, f64_arg(ctx, 1)?) {
            acc.push((x, y));
        }
        Ok(())
    }
    fn finalize(
        &self,
        _: &mut Context<'_>,
        acc: Option<Vec<(f64, f64)>>,
    ) -> rusqlite::Result<Option<f64>> {
        let acc = acc.unwrap_or_default();
        let (x, y): (Vec<f64>, Vec<f64>) = acc.into_iter().unzip();
        Ok(stats::spearman(&x, &y))
    }
}

/// Scores by (rater, item).
struct KendallW;
type Ratings = BTreeMap<i64, BTreeMap<i64, f64>>;
impl Aggregate<Ratings, Option<f64>> for KendallW {
    fn init(&self, _: &mut Context<'_>) -> rusqlite::Result<Ratings> {
        Ok(BTreeMap::new())
    }
    fn step(&self, ctx: &mut Context<'_>, acc: &mut Ratings) -> rusqlite::Result<()> {
        let rater: i64 = ctx.get(0)?;
        let item: i64 = ctx.get(1)?;
        if let Some(score) = f64_arg(ctx, 2)? {
            acc.entry(rater).or_default().insert(item, score);
        }
        Ok(())
    }
    fn finalize(&self, _: &mut Context<'_>, acc: Option<Ratings>) -> rusqlite::Result<Option<f64>> {
        let acc = acc.unwrap_or_default();
        // Only items every rater scored take part.
        let Some(first) = acc.values().next() else {
            return Ok(None);
        };
        let items: Vec<i64> = first
            .keys()
            .copied()
            .filter(|i| acc.values().all(|r| r.contains_key(i)))
            .collect();
        let scores: Vec<Vec<f64>> = acc
            .values()
            .map(|r| items.iter().map(|i| r[i]).collect())
            .collect();
        Ok(stats::kendall_w(&scores))
    }
}

struct Auroc;
impl Aggregate<(Vec<f64>, Vec<bool>), Option<f64>> for Auroc {
    fn init(&self, _: &mut Context<'_>) -> rusqlite::Result<(Vec<f64>, Vec<bool>)> {
        Ok((Vec::new(), Vec::new()))
    }
    fn step(&self, ctx: &mut Context<'_>, acc: &mut (Vec<f64>, Vec<bool>)) -> rusqlite::Result<()> {
        if let (Some(s), Some(p)) = (f64_arg(ctx, 0)?, f64_arg(ctx, 1)?) {
            acc.0.push(s);
            acc.1.push(p != 0.0);
        }
        Ok(())
    }
    fn finalize(
        &self,
        _: &mut Context<'_>,
        acc: Option<(Vec<f64>, Vec<bool>)>,
    ) -> rusqlite::Result<Option<f64>> {
        let (s, p) = acc.unwrap_or_default();
        Ok(stats::auroc(&s, &p))
    }
}

/// Standard deviation; `sample` divides by n − 1 (NULL for one value), else by n.
struct Stdev {
    sample: bool,
}
impl Aggregate<Vec<f64>, Option<f64>> for Stdev {
    fn init(&self, _: &mut Context<'_>) -> rusqlite::Result<Vec<f64>> {
        Ok(Vec::new())
    }
    fn step(&self, ctx: &mut Context<'_>, acc: &mut Vec<f64>) -> rusqlite::Result<()> {
        if let Some(x) = f64_arg(ctx, 0)? {
            acc.push(x);
        }
        Ok(())
    }
    fn finalize(
        &self,
        _: &mut Context<'_>,
        acc: Option<Vec<f64>>,
    ) -> rusqlite::Result<Option<f64>> {
        let xs = acc.unwrap_or_default();
        let n = xs.len() as f64;
        Ok(match stats::mean_std(&xs) {
            None => None,
            Some((_, pop)) if !self.sample => Some(pop),
            Some(_) if xs.len() < 2 => None,
            Some((_, pop)) => Some((pop * pop * n / (n - 1.0)).sqrt()),
        })
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
        Ok(Some(read_logits(b)[k as usize]))
    })?;
    // The dynamics view's derived columns (migration 0004): loss and margin of f32 logits
    // by the capture arithmetic, p_true = exp(−loss), and f16 BLOBs as f32 ones.
    let observed = |ctx: &Context<'_>| -> rusqlite::Result<Option<crate::capture::Observation>> {
        let Some(b) = blob_arg(ctx, 0)? else {
            return Ok(None);
        };
        let y: i64 = ctx.get(1)?;
        let z = crate::capture::blob_to_logits(b);
        if z.len() < 2 || y < 0 || y as usize >= z.len() {
            return Ok(None);
        }
        Ok(Some(crate::capture::observe(&z, y as u32)))
    };
    conn.create_scalar_function("tl_loss", 2, flags, move |ctx| {
        Ok(observed(ctx)?.map(|o| o.loss))
    })?;
    conn.create_scalar_function("tl_margin", 2, flags, move |ctx| {
        Ok(observed(ctx)?.map(|o| o.margin))
    })?;
    conn.create_scalar_function("tl_p_true", 1, flags, |ctx| {
        Ok(f64_arg(ctx, 0)?.map(|l| (-l).exp()))
    })?;
    conn.create_scalar_function("tl_logits", 2, flags, |ctx| {
        let Some(b) = blob_arg(ctx, 0)? else {
            return Ok(None);
        };
        let format: String = ctx.get(1)?;
        Ok(Some(match crate::capture::LogitsFormat::parse(&format) {
            crate::capture::LogitsFormat::F16 => {
                let mut out = Vec::with_capacity(b.len() * 2);
                crate::capture::LogitsFormat::F32
                    .encode(&crate::capture::LogitsFormat::F16.decode(b), &mut out);
                out
            }
            _ => b.to_vec(),
        }))
    })?;
    conn.create_scalar_function("n_logits", 1, flags, |ctx| {
        Ok(blob_arg(ctx, 0)?.map(|b| (b.len() / 4) as i64))
    })?;
    conn.create_scalar_function("el2n", 2, flags, |ctx| {
        let Some(b) = blob_arg(ctx, 0)? else {
            return Ok(None);
        };
        let y: i64 = ctx.get(1)?;
        let z = read_logits(b);
        if y < 0 || y as usize >= z.len() {
            return Err(Error::UserFunctionError(
                format!("el2n: label {y} out of range").into(),
            ));
        }
        let max = z.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let sum: f64 = z.iter().map(|v| (v - max).exp()).sum();
        let sq: f64 = z
            .iter()
            .enumerate()
            .map(|(k, v)| {
                let p = (v - max).exp() / sum;
                let t = if k as i64 == y { 1.0 } else { 0.0 };
                (p - t) * (p - t)
            })
            .sum();
        Ok(Some(sq.sqrt()))
    })?;
    conn.create_scalar_function("binom_pmf", 3, flags, |ctx| {
        let n: i64 = ctx.get(0)?;
        let k: i64 = ctx.get(1)?;
        let p: f64 = ctx.get(2)?;
        if n < 0 || k < 0 || !(0.0..=1.0).contains(&p) {
            return Err(Error::UserFunctionError(
                "binom_pmf(n, k, p): n, k ≥ 0 and p in [0, 1]".into(),
            ));
        }
        Ok(stats::binomial_pmf(n as u64, k as u64, p))
    })?;
    conn.create_aggregate_function("spearman", 2, flags, Pairs)?;
    conn.create_aggregate_function("kendall_w", 3, flags, KendallW)?;
    conn.create_aggregate_function("auroc", 2, flags, Auroc)?;
    conn.create_aggregate_function("stdev_samp", 1, flags, Stdev { sample: true })?;
    conn.create_aggregate_function("stdev_pop", 1, flags, Stdev { sample: false })?;
    Ok(())
}
