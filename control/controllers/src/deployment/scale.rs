//! Scaling without a rollout (`sync`/`scale`): a `replicas` change spreads over the active
//! ReplicaSets in proportion to their size; and cleanup of old revisions.

use super::hash::{DESIRED_REPLICAS, MAX_REPLICAS};
use super::rolling::Run;

impl Run<'_> {
    /// `isScalingEvent`: an active ReplicaSet was last scaled for another `replicas`.
    pub(super) fn scaling_event(&self) -> bool {
        self.rss.iter().any(|r| {
            r.replicas > 0
                && r.annotations
                    .get(DESIRED_REPLICAS)
                    .and_then(|v| v.parse::<i32>().ok())
                    .is_some_and(|v| v != self.ctx.replicas)
        })
    }

    /// `scale`: one active (or the latest) ReplicaSet takes `replicas`; a saturated new
    /// ReplicaSet lets the old ones go to zero; otherwise spread proportionally.
    pub(super) fn scale(&mut self) {
        let active: Vec<usize> = (0..self.rss.len())
            .filter(|&i| self.rss[i].replicas > 0)
            .collect();
        let single = match active.as_slice() {
            [] => self.new.or_else(|| self.olds().last()),
            [one] => Some(*one),
            _ => None,
        };
        if let Some(i) = single {
            self.set_size(i, self.ctx.replicas, true);
            return;
        }
        if let Some(n) = self.new.filter(|&n| self.saturated(n)) {
            for i in active.into_iter().filter(|&i| i != n) {
                self.set_size(i, 0, false);
            }
            return;
        }
        if self.ctx.rolling {
            self.proportional(active);
        }
    }

    fn saturated(&self, n: usize) -> bool {
        let r = &self.rss[n];
        let desired = r
            .annotations
            .get(DESIRED_REPLICAS)
            .and_then(|v| v.parse::<i32>().ok());
        desired == Some(self.ctx.replicas)
            && r.replicas == self.ctx.replicas
            && r.available == self.ctx.replicas
    }

    /// Spreads `replicas + maxSurge - current` over the active ReplicaSets, largest first
    /// (newer first when adding, older first when removing); the rounding leftover goes to
    /// the first.
    fn proportional(&mut self, mut active: Vec<usize>) {
        let current: i32 = active.iter().map(|&i| self.rss[i].replicas).sum();
        let allowed = if self.ctx.replicas > 0 {
            self.ctx.replicas + self.ctx.max_surge
        } else {
            0
        };
        let to_add = allowed - current;
        if to_add > 0 {
            active.sort_by(|&a, &b| {
                (self.rss[b].replicas, self.rss[b].created)
                    .cmp(&(self.rss[a].replicas, self.rss[a].created))
            });
        } else {
            active.sort_by(|&a, &b| {
                (self.rss[b].replicas, self.rss[a].created)
                    .cmp(&(self.rss[a].replicas, self.rss[b].created))
            });
        }
        let mut sizes: Vec<i32> = active.iter().map(|&i| self.rss[i].replicas).collect();
        let mut added = 0;
        for (k, &i) in active.iter().enumerate() {
            if to_add == 0 || to_add == added {
                break;
            }
            let fraction = self.fraction(i);
            let rest = to_add - added;
            let p = if to_add > 0 {
                fraction.min(rest)
            } else {
                fraction.max(rest)
            };
            sizes[k] += p;
            added += p;
        }
        if let Some(first) = sizes.first_mut() {
            *first = (*first + to_add - added).max(0);
        }
        for (k, &i) in active.iter().enumerate() {
            self.set_size(i, sizes[k], true);
        }
    }

    /// `getReplicaSetFraction`: the ReplicaSet's share of the new maximum, from the maximum
    /// it was last scaled for, rounded half away from zero.
    fn fraction(&self, i: usize) -> i32 {
        let r = &self.rss[i];
        if self.ctx.replicas == 0 {
            return -r.replicas;
        }
        let max = i64::from(self.ctx.replicas + self.ctx.max_surge);
        let status_replicas = self
            .d
            .status
            .as_ref()
            .map_or(0, |s| s.replicas.unwrap_or(0));
        let annotated = r
            .annotations
            .get(MAX_REPLICAS)
            .and_then(|v| v.parse::<i64>().ok())
            .unwrap_or(i64::from(status_replicas));
        if annotated <= 0 {
            return 0;
        }
        let num = i64::from(r.replicas) * max;
        let rounded = (2 * num + annotated) / (2 * annotated);
        i32::try_from(rounded).unwrap_or(i32::MAX) - r.replicas
    }

    /// `DeploymentComplete` on the status the Deployment had before this sync.
    pub(super) fn complete_before(&self) -> bool {
        let Some(s) = self.d.status.as_ref() else {
            return false;
        };
        let want = self.ctx.replicas;
        s.updated_replicas == Some(want)
            && s.replicas == Some(want)
            && s.available_replicas == Some(want)
            && s.observed_generation.unwrap_or(0) >= self.d.metadata.generation.unwrap_or(0)
    }

    /// `cleanupDeployment`: old ReplicaSets beyond `revisionHistoryLimit` (default 10), lowest
    /// revision first, that are scaled to zero with no pods left.
    pub(super) fn cleanup(&mut self) {
        let limit = self
            .d
            .spec
            .as_ref()
            .and_then(|s| s.revision_history_limit)
            .unwrap_or(10);
        let mut olds: Vec<usize> = self.olds().filter(|&i| self.rss[i].cleanable).collect();
        let excess = olds
            .len()
            .saturating_sub(usize::try_from(limit).unwrap_or(0));
        olds.sort_by_key(|&i| (self.rss[i].revision, self.rss[i].created));
        for &i in olds.iter().take(excess) {
            let r = &self.rss[i];
            if r.replicas == 0 && r.status_replicas == 0 {
                self.delete.push(r.name.clone());
            }
        }
    }
}
