"""Stable rule ids, shared vocabulary of the model builder, the audit, messages and docs."""

from __future__ import annotations

from enum import StrEnum


class Rule(StrEnum):
    """One id per rule family; the builder and the audit each implement every one independently."""

    COVERAGE = "coverage"        # exactly one lead per key town, none elsewhere
    TIER_QUOTA = "tier_quota"    # towns per tier equal the policy ratio (and per-city quotas)
    ELIGIBILITY = "eligibility"  # counterpart cities, own city, county pairings
    CAPACITY = "capacity"        # a unit leads at most `capacity` towns
    CONTINUITY = "continuity"    # at most `max_changes` previous leads change
    PRIORITY = "priority"        # flagged towns get the tiers / strength the policy requires
    BASELINE = "baseline"        # re-planning: at most `max_baseline_changes` towns leave the baseline plan's lead
    PINS = "pins"                # planners' pins (this unit leads this town) and bans (never this pair)
    LEAD_COUNTS = "lead_counts"  # a unit, or a quota group of units, leads exactly the policy's number of targets
    GROUPS = "groups"            # member units per group: member rules, member capacities, max_members, eligibility
    TEAM_SIZE = "team_size"      # each town's team has exactly policy.staffing.min_team_size cadres, one the leader
    LEADER = "leader_eligibility"  # the team leader is from the lead unit and meets policy.staffing.leader
    MEMBER = "member_eligibility"  # members are from the group's units and meet policy.staffing.member
    COUNTY_HEAD = "county_head"  # a county-paired lead unit sends one cadre meeting policy.staffing.county_head
    ONE_POST = "one_post"        # a cadre holds at most one post (team leader, member, county head) in the horizon
    AVAILABILITY = "availability"  # a cadre serves only within available_from … available_until
    TERM = "term"                # a cadre stays at most policy.staffing.term_years on a post
    ROTATION = "rotation"        # no team replaces more than max_replaced_share of its cadres in one year
