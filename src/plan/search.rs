//! The search for the fewest servers: double the count from the least allowed
//! until every policy meets its objectives (or the most allowed is reached),
//! then halve each policy's gap between its last miss and its first hit.
//!
//! Every policy runs in every simulated scenario, so a count evaluated for one
//! policy's search answers for all of them: each round evaluates the counts
//! the policies still need, together (and so in parallel), and nothing is
//! evaluated twice. The search assumes more servers never make a policy worse;
//! it only ever compares counts it simulated, so it is deterministic either way.

use std::collections::BTreeMap;

/// What a search found.
#[derive(Debug, PartialEq)]
pub struct Found {
    /// For each count evaluated, whether each policy met every objective.
    pub met: BTreeMap<u32, Vec<bool>>,
    /// Per policy: the fewest servers that met, or `None` if `max` did not.
    pub fewest: Vec<Option<u32>>,
}

/// Searches counts from `min` to `max` for `policies` policies; `evaluate`
/// takes a batch of counts and says, per count and policy, whether the
/// objectives are met.
pub fn fewest<E>(
    policies: usize,
    min: u32,
    max: u32,
    mut evaluate: impl FnMut(&[u32]) -> Result<Vec<Vec<bool>>, E>,
) -> Result<Found, E> {
    let mut met: BTreeMap<u32, Vec<bool>> = BTreeMap::new();
    // Doubling: each policy's last miss and first hit.
    let mut bounds: Vec<(Option<u32>, Option<u32>)> = vec![(None, None); policies];
    let mut count = min;
    loop {
        let result = evaluate(&[count])?.remove(0);
        for (p, b) in bounds.iter_mut().enumerate() {
            if b.1.is_none() {
                if result[p] {
                    b.1 = Some(count)
                } else {
                    b.0 = Some(count)
                }
            }
        }
        met.insert(count, result);
        if count >= max || bounds.iter().all(|b| b.1.is_some()) {
            break;
        }
        count = count.saturating_mul(2).min(max);
    }
    // Bisection: halve every open gap at once.
    loop {
        let mut wanted: Vec<u32> = bounds
            .iter()
            .filter_map(|&(miss, hit)| match (miss, hit) {
                (Some(lo), Some(hi)) if hi - lo > 1 => Some(lo + (hi - lo) / 2),
                _ => None,
            })
            .collect();
        wanted.sort_unstable();
        wanted.dedup();
        if wanted.is_empty() {
            break;
        }
        for (c, result) in wanted.iter().zip(evaluate(&wanted)?) {
            met.insert(*c, result);
        }
        for (p, b) in bounds.iter_mut().enumerate() {
            let (Some(lo), Some(hi)) = *b else { continue };
            // Counts inside the gap, lowest first: the first hit closes it from above.
            for (&c, result) in met.range(lo + 1..hi) {
                if result[p] {
                    b.1 = Some(c);
                    break;
                }
                b.0 = Some(c);
            }
        }
    }
    Ok(Found {
        met,
        fewest: bounds.into_iter().map(|b| b.1).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A search where policy p needs `need[p]` servers, with the counts it evaluated.
    fn search(need: &[u32], min: u32, max: u32) -> (Found, Vec<Vec<u32>>) {
        let mut batches = Vec::new();
        let found = fewest::<()>(need.len(), min, max, |counts| {
            batches.push(counts.to_vec());
            Ok(counts.iter().map(|&c| need.iter().map(|&n| c >= n).collect()).collect())
        })
        .expect("no failure");
        (found, batches)
    }

    #[test]
    fn finds_each_policys_fewest_sharing_counts() {
        let (found, batches) = search(&[5, 12, 1, 64], 1, 64);
        assert_eq!(found.fewest, [Some(5), Some(12), Some(1), Some(64)]);
        // Doubling 1..64, then the gaps (4, 8), (8, 16) and (32, 64) halved together.
        assert_eq!(&batches[..7], [[1], [2], [4], [8], [16], [32], [64]]);
        assert_eq!(batches[7], [6, 12, 48]);
        let evaluated: Vec<u32> = found.met.keys().copied().collect();
        assert_eq!(
            evaluated.len(),
            batches.iter().map(Vec::len).sum::<usize>(),
            "nothing twice"
        );
    }

    #[test]
    fn a_policy_not_met_by_the_most_servers_has_no_answer() {
        let (found, _) = search(&[3, 100], 2, 40);
        assert_eq!(found.fewest, [Some(3), None]);
        assert_eq!(found.met.keys().max(), Some(&40));
    }

    #[test]
    fn every_answer_is_the_least_count_met() {
        for min in 1..4 {
            for need in min..70 {
                let (found, _) = search(&[need], min, 70);
                assert_eq!(found.fewest, [Some(need)], "min {min}");
                assert!(found.met.range(..need).all(|(_, m)| !m[0]));
            }
        }
    }
}
