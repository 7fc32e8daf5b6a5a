//! How one flag's rule answers for one caller. A pure function, so every rollout rule is tested
//! without a provider, a file or a clock.
//!
//! The percentage rollout hashes the flag's key with the caller's tenant (or subject) into one of
//! 10,000 buckets and lets in the buckets below the share. The hash is FNV-1a, written out here
//! rather than taken from `std` (whose hasher may change between Rust releases): a caller must
//! keep its answer across restarts, replicas and upgrades, or a 10% rollout would reach a new
//! 10% at every deploy. Keying on the flag too means that two flags at 10% reach different
//! callers, so one tenant is not everyone's guinea pig.
//!
//! This module must not read configuration or know OpenFeature.

use uuid::Uuid;

use crate::settings::{FlagRule, RolloutBy};

/// The buckets a percentage is counted in: 10,000, so shares down to 0.01% stay exact later.
const BUCKETS: u64 = 10_000;

/// Who is asking: the tenant the principal acts for, and the principal's subject.
#[derive(Debug, Clone, Copy)]
pub struct Caller<'a> {
    /// The tenant, when the evaluation context carries one.
    pub tenant: Option<Uuid>,
    /// The subject (the OpenFeature targeting key), when known.
    pub subject: Option<&'a str>,
}

/// Why a flag answered as it did, in OpenFeature's terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Why {
    /// The kill switch, or the flag not enabled and the caller not listed.
    Disabled,
    /// The caller's tenant is on the allow list.
    Listed,
    /// The flag is on for everyone.
    Everyone,
    /// The percentage rollout put the caller in or out.
    Share,
}

/// A flag's answer for one caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    /// On or off.
    pub on: bool,
    /// Why.
    pub why: Why,
}

/// Applies `rule` (of the flag `key`) to `caller`: the kill switch, then the allow list, then
/// `enabled` with its rollout share. A share counted in a caller the context does not carry
/// (no tenant, no subject) leaves that caller out.
#[must_use]
pub fn decide(key: &str, rule: &FlagRule, caller: Caller<'_>) -> Decision {
    let answer = |on, why| Decision { on, why };
    if rule.kill {
        return answer(false, Why::Disabled);
    }
    if caller
        .tenant
        .is_some_and(|tenant| rule.tenants.contains(&tenant))
    {
        return answer(true, Why::Listed);
    }
    if !rule.enabled {
        return answer(false, Why::Disabled);
    }
    if rule.rollout_percent >= 100 {
        return answer(true, Why::Everyone);
    }
    let counted = match rule.rollout_by {
        RolloutBy::Tenant => caller.tenant.map(|tenant| tenant.to_string()),
        RolloutBy::Principal => caller.subject.map(str::to_owned),
    };
    let on = counted.is_some_and(|counted| {
        bucket(key, &counted) < u64::from(rule.rollout_percent) * (BUCKETS / 100)
    });
    answer(on, Why::Share)
}

/// The caller's bucket for this flag, 0 to 9,999: the same for the same flag and caller on every
/// machine and in every version of this service.
#[must_use]
pub fn bucket(key: &str, counted: &str) -> u64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut hash = OFFSET;
    // The separator keeps ("ab", "c") and ("a", "bc") apart.
    for byte in key.bytes().chain([0]).chain(counted.bytes()) {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(PRIME);
    }
    hash % BUCKETS
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(enabled: bool, rollout_percent: u8) -> FlagRule {
        FlagRule {
            description: String::new(),
            owner: "o".to_owned(),
            expires: "2030-01-01".to_owned(),
            enabled,
            rollout_percent,
            rollout_by: RolloutBy::Tenant,
            tenants: Vec::new(),
            kill: false,
        }
    }

    fn tenant(tenant: Uuid) -> Caller<'static> {
        Caller {
            tenant: Some(tenant),
            subject: Some("someone"),
        }
    }

    #[test]
    fn on_and_off() {
        let caller = tenant(Uuid::new_v4());
        assert_eq!(
            decide("f", &rule(true, 100), caller),
            Decision {
                on: true,
                why: Why::Everyone
            }
        );
        assert_eq!(
            decide("f", &rule(false, 100), caller),
            Decision {
                on: false,
                why: Why::Disabled
            }
        );
    }

    #[test]
    fn a_listed_tenant_gets_it_before_the_flag_is_enabled_and_the_kill_switch_beats_the_list() {
        let (early, other) = (Uuid::new_v4(), Uuid::new_v4());
        let mut listed = rule(false, 0);
        listed.tenants = vec![early];
        assert!(decide("f", &listed, tenant(early)).on);
        assert!(!decide("f", &listed, tenant(other)).on);
        listed.kill = true;
        listed.enabled = true;
        listed.rollout_percent = 100;
        assert_eq!(
            decide("f", &listed, tenant(early)),
            Decision {
                on: false,
                why: Why::Disabled
            }
        );
    }

    #[test]
    fn a_share_keeps_each_caller_s_answer_and_only_grows() {
        let tenants: Vec<Uuid> = (0..4000).map(|_| Uuid::new_v4()).collect();
        let mut before: Vec<bool> = Vec::new();
        for percent in [0, 10, 25, 50, 90, 100] {
            let share = rule(true, percent);
            let on: Vec<bool> = tenants
                .iter()
                .map(|&id| decide("f", &share, tenant(id)).on)
                .collect();
            let again: Vec<bool> = tenants
                .iter()
                .map(|&id| decide("f", &share, tenant(id)).on)
                .collect();
            assert_eq!(on, again, "the same answer twice at {percent}%");
            let count = on.iter().filter(|on| **on).count();
            let expected = tenants.len() * usize::from(percent) / 100;
            assert!(
                count.abs_diff(expected) <= tenants.len() / 40,
                "{count} of {} on at {percent}%",
                tenants.len()
            );
            for (was, is) in before.iter().zip(&on) {
                assert!(!*was || *is, "raising the share took the flag from someone");
            }
            before = on;
        }
    }

    #[test]
    fn the_buckets_do_not_change_between_versions() {
        // Pinned values: if this fails, the hash changed and every rollout in production would
        // reach different callers after the upgrade. Change the hash only with a new flag key.
        assert_eq!(bucket("items_newest_first", "tenant-a"), 4_227);
        assert_eq!(
            bucket("f", "00000000-0000-0000-0000-000000000001"),
            bucket("f", "00000000-0000-0000-0000-000000000001")
        );
        assert_ne!(bucket("ab", "c"), bucket("a", "bc"));
    }

    #[test]
    fn a_share_by_principal_counts_subjects_and_leaves_out_a_caller_without_one() {
        let mut share = rule(true, 50);
        share.rollout_by = RolloutBy::Principal;
        let one_tenant = Uuid::new_v4();
        let answers: Vec<bool> = (0..400)
            .map(|n| {
                let subject = format!("user-{n}");
                decide(
                    "f",
                    &share,
                    Caller {
                        tenant: Some(one_tenant),
                        subject: Some(&subject),
                    },
                )
                .on
            })
            .collect();
        assert!(
            answers.contains(&true) && answers.contains(&false),
            "split inside a tenant"
        );
        let anonymous = Caller {
            tenant: Some(one_tenant),
            subject: None,
        };
        assert!(!decide("f", &share, anonymous).on);
    }
}
