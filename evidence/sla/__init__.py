"""SLA profiles: which remediation deadline each exposure gets, as versioned data.

The profiles live in `evidence/sla/data/<slug>.yaml`; `evidence.sla.profiles` loads and
validates them and turns an exposure's facts into a tier, a clock start and a due date with a
rationale an auditor can read; `evidence.sla.conditions` is the tiers' `when` condition
language. Pure Python: no database, no Django.
"""

from evidence.sla.profiles import (
    CLOCKS,
    DEFAULT_SLUG,
    Assessment,
    Condition,
    Facts,
    Profile,
    ProfileError,
    RetiredRule,
    Source,
    Term,
    Tier,
    UnknownProfileError,
    assess,
    assess_retired,
    profile_canonical,
    profile_digest,
    profile_from_file,
    profile_from_mapping,
    profile_from_text,
    profile_load,
    profiles_all,
)

__all__ = [
    "CLOCKS",
    "DEFAULT_SLUG",
    "Assessment",
    "Condition",
    "Facts",
    "Profile",
    "ProfileError",
    "RetiredRule",
    "Source",
    "Term",
    "Tier",
    "UnknownProfileError",
    "assess",
    "assess_retired",
    "profile_canonical",
    "profile_digest",
    "profile_from_file",
    "profile_from_mapping",
    "profile_from_text",
    "profile_load",
    "profiles_all",
]
