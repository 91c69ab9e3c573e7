//! Seed lists (`0..3`, `4,7`, `5`) and the derivation of per-epoch seeds, so that every epoch's
//! data order and dropout draws depend only on (seed, epoch).

/// Parses a seed list: a half-open range `a..b`, a comma-separated list, or one seed.
pub fn parse_seeds(s: &str) -> Result<Vec<u64>, String> {
    let s = s.trim();
    let seeds: Vec<u64> = if let Some((a, b)) = s.split_once("..") {
        let a: u64 = a
            .trim()
            .parse()
            .map_err(|_| format!("'{s}': expected a range like 0..3"))?;
        let b: u64 = b
            .trim()
            .parse()
            .map_err(|_| format!("'{s}': expected a range like 0..3"))?;
        (a..b).collect()
    } else {
        s.split(',')
            .map(|p| {
                p.trim().parse::<u64>().map_err(|_| {
                    format!("'{p}' is not a seed: use a range like 0..3 or a list like 4,7")
                })
            })
            .collect::<Result<_, _>>()?
    };
    if seeds.is_empty() {
        return Err(format!(
            "'{s}' is an empty seed range (the end is excluded): use e.g. 0..3 for seeds 0, 1, 2"
        ));
    }
    let mut sorted = seeds.clone();
    sorted.sort_unstable();
    sorted.dedup();
    if sorted.len() != seeds.len() {
        return Err(format!("'{s}' lists a seed twice: give each seed once"));
    }
    Ok(seeds)
}

/// SplitMix64: a well-mixed 64-bit hash of a 64-bit value.
pub fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The seed for one epoch of one stream (`salt` tells the streams apart: order, dropout).
pub fn epoch_seed(seed: u64, epoch: u64, salt: u64) -> u64 {
    splitmix64(seed ^ splitmix64(epoch.wrapping_mul(0x1000_0001) ^ salt))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_and_lists() {
        assert_eq!(parse_seeds("0..3").unwrap(), vec![0, 1, 2]);
        assert_eq!(parse_seeds("4,7").unwrap(), vec![4, 7]);
        assert_eq!(parse_seeds("5").unwrap(), vec![5]);
        assert!(parse_seeds("3..3").unwrap_err().contains("empty"));
        assert!(parse_seeds("a").is_err());
        assert!(parse_seeds("1,1").is_err());
    }

    #[test]
    fn epoch_seeds_differ() {
        assert_ne!(epoch_seed(0, 1, 0), epoch_seed(0, 2, 0));
        assert_ne!(epoch_seed(0, 1, 0), epoch_seed(1, 1, 0));
        assert_ne!(epoch_seed(0, 1, 0), epoch_seed(0, 1, 1));
    }
}
