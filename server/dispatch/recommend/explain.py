"""Reasons in words: one template per reason code, in English and Simplified Chinese.

``explain(reason, locale)`` fills the code's template with its parameters: clock times
(``start``, ``deadline``...) as HH:MM in ``tz`` (UTC unless given), durations in minutes or
hours, the rest as they are. Skill names, territories and job ids are data and shown as
given. Every code the engine produces has both templates (a test holds this); so has every
code of the hard rules' shared vocabulary (``server.dispatch.eligibility.Code``), which the
claim pool words with the same table.

A code some engine gives without parameters (the claim pool's and the planner's ``off_shift``:
no shift that day at all, no window to name) is worded by ``BARE``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from server.dispatch.recommend.model import Reason

LOCALES = ("en", "zh_CN")

TIMES = frozenset({"earliest", "latest", "start", "deadline", "finish", "shift_end", "back"})
MINUTES = frozenset({"travel_added", "slack"})
HOURS = frozenset({"work", "max_work", "planned_work"})

TEMPLATES: Mapping[str, Mapping[str, str]] = {
    # hard filters
    "missing_skill": {
        "en": "Missing skill: {skill} (level {level} needed)",
        "zh_CN": "缺少技能：{skill}（需要 {level} 级）",
    },
    "skill_too_low": {
        "en": "Skill level too low: {skill} (level {level} needed, has {has})",
        "zh_CN": "缺少技能：{skill}（需要 {level} 级，只有 {has} 级）",
    },
    "off_shift": {
        "en": "Off shift between {earliest} and {latest}",
        "zh_CN": "{earliest} 至 {latest} 不在班",
    },
    "outside_territory": {
        "en": "Outside the territory: the job is in {territory}, the engineer covers "
        "{engineer_territory}",
        "zh_CN": "不在服务区域：工单属于 {territory}，工程师负责 {engineer_territory}",
    },
    "declined": {"en": "Declined this job", "zh_CN": "已拒绝此工单"},
    "no_location": {
        "en": "No start or end location for the day",
        "zh_CN": "当天没有出发或结束位置",
    },
    "full_jobs": {
        "en": "Day is full: {planned} jobs planned, at most {max_jobs}",
        "zh_CN": "当天已满：已排 {planned} 个工单，最多 {max_jobs} 个",
    },
    "plan_outside_shift": {
        "en": "The plan puts job {job} outside the shifts",
        "zh_CN": "计划中的工单 {job} 不在班次内",
    },
    "plan_infeasible": {
        "en": "The plan already misses job {job}'s window or SLA",
        "zh_CN": "现有计划已无法满足工单 {job} 的时间窗或 SLA",
    },
    "plan_over_shift": {
        "en": "The plan already ends at {back}, after the shift ends at {shift_end}",
        "zh_CN": "现有计划 {back} 才结束，晚于班次结束时间 {shift_end}",
    },
    "full_hours": {
        "en": "Day is full: {planned_work} planned, at most {max_work}",
        "zh_CN": "当天工时已满：已排 {planned_work}，最多 {max_work}",
    },
    "job_no_location": {
        "en": "The work order has no location",
        "zh_CN": "工单没有地址坐标",
    },
    "sla_impossible": {
        "en": "The SLA deadline {deadline} cannot be met: the job would finish at {finish} "
        "at the earliest",
        "zh_CN": "无法满足 SLA 截止时间 {deadline}：最早也要 {finish} 完成",
    },
    # insertion
    "too_late": {
        "en": "Cannot start by {latest}: {start} at the earliest",
        "zh_CN": "无法在 {latest} 前开始：最早 {start}",
    },
    "misses_sla": {
        "en": "Cannot finish before the SLA deadline {deadline}: {finish} at the earliest",
        "zh_CN": "无法在 SLA 截止时间 {deadline} 前完成：最早 {finish}",
    },
    "breaks_window": {
        "en": "Would break job {job}'s window: it would start at {start}, after {latest}",
        "zh_CN": "会耽误工单 {job} 的时间窗：将在 {start} 开始，晚于 {latest}",
    },
    "breaks_sla": {
        "en": "Would break job {job}'s SLA: it would finish at {finish}, after {deadline}",
        "zh_CN": "会耽误工单 {job} 的 SLA：将在 {finish} 完成，晚于 {deadline}",
    },
    "shift_ends": {
        "en": "The shift ends at {shift_end}: would be back at {back}",
        "zh_CN": "班次 {shift_end} 结束：将在 {back} 才能返回",
    },
    "over_hours": {
        "en": "Would work {work}, more than the {max_work} allowed",
        "zh_CN": "工时将达 {work}，超过上限 {max_work}",
    },
    # a candidate's reasons
    "arrives": {
        "en": "Can start at {start}, adding {travel_added} of travel",
        "zh_CN": "可在 {start} 开始，增加路程 {travel_added}",
    },
    "load": {
        "en": "Jobs already planned: {jobs} ({work})",
        "zh_CN": "已排 {jobs} 个工单（{work}）",
    },
    "rating": {"en": "Rating {rating:.1f}", "zh_CN": "评分 {rating:.1f}"},
    "sla_slack": {
        "en": "Finishes {slack} before the SLA deadline",
        "zh_CN": "比 SLA 截止时间提前 {slack}完成",
    },
    "preferred": {"en": "The customer's preferred engineer", "zh_CN": "客户指定的工程师"},
    "has_parts": {"en": "Has all the parts needed in the van", "zh_CN": "车上备有所需全部备件"},
    "missing_parts": {
        "en": "Parts needed but not in the van: {count}",
        "zh_CN": "车上缺少 {count} 种所需备件",
    },
    "skill_surplus": {
        "en": "Skill levels above the minimum: {levels}",
        "zh_CN": "技能高出要求 {levels} 级",
    },
    # the day planner (server/dispatch/plans): engineers skipped, work orders left out
    "shift_over": {"en": "The shift is already over", "zh_CN": "班次已结束"},
    "no_engineer": {
        "en": "No engineer can be routed in this plan (territory, date)",
        "zh_CN": "此计划中没有可排路线的工程师（区域、日期）",
    },
    "impossible_window": {
        "en": "Its window or SLA deadline leaves no time in any engineer's shift that day",
        "zh_CN": "其时间窗或 SLA 截止时间在当天任何工程师的班次内都无法安排",
    },
    "no_engineer_with_skills": {
        "en": "No engineer has the skills {skills}",
        "zh_CN": "没有工程师具备技能 {skills}",
    },
    "no_engineer_in_territory": {
        "en": "No qualified engineer covers its territory",
        "zh_CN": "没有符合条件的工程师负责其服务区域",
    },
    "declined_by_all": {
        "en": "Every qualified engineer declined it",
        "zh_CN": "所有符合条件的工程师都已拒绝",
    },
    "pinned_engineer_unavailable": {
        "en": "Its engineer is not in this plan",
        "zh_CN": "其指定工程师不在此计划中",
    },
    "pinned_no_room": {
        "en": "Its engineer's day has no room for it; it stays as it is",
        "zh_CN": "其工程师当天已排不下，保持原样",
    },
    "unreachable_window": {
        "en": "No window can be reached within any qualified engineer's shift",
        "zh_CN": "任何符合条件的工程师都无法在班次内赶到其时间窗",
    },
    "no_room": {
        "en": "No room in any engineer's day (cheaper to leave out than to serve)",
        "zh_CN": "所有工程师当天都已排满（不安排比安排成本更低）",
    },
    # auto-assign (server/dispatch/candidates)
    "auto_assigned": {
        "en": "Auto-assigned to {name}: the best of {feasible} engineers who can take it "
        "(start {start}, score {score})",
        "zh_CN": "已自动派给 {name}：{feasible} 位可接单工程师中的最佳人选"
        "（{start} 开始，得分 {score}）",
    },
    "auto_nobody": {
        "en": "Nobody can take it: all {filtered} engineers are ruled out (the candidates list "
        "says why); assign it by hand, change its window, or open it for claiming",
        "zh_CN": "目前没有工程师可以接单：{filtered} 位工程师均被排除（候选列表中有原因）；"
        "请手动派单、调整预约时间或开放抢单",
    },
}


# Words for a code given without its parameters.
BARE: Mapping[str, Mapping[str, str]] = {
    "off_shift": {"en": "No shift that day", "zh_CN": "当天没有班次"},
}


def explain(reason: Reason, locale: str = "en", tz: dt.tzinfo = dt.UTC) -> str:
    """``reason`` in words; a KeyError for an unknown code or locale."""
    table = BARE if not reason.params and reason.code in BARE else TEMPLATES
    template = table[reason.code][locale]
    return template.format(**{k: _value(k, v, locale, tz) for k, v in reason.params.items()})


def _value(name: str, value: Any, locale: str, tz: dt.tzinfo) -> Any:
    if value is None:
        return "-"
    if name in TIMES:
        return dt.datetime.fromtimestamp(value, tz).strftime("%H:%M")
    if name in MINUTES:
        minutes = round(value / 60)
        return f"{minutes} 分钟" if locale == "zh_CN" else f"{minutes} min"
    if name in HOURS:
        hours = value / 3600
        return f"{hours:.1f} 小时" if locale == "zh_CN" else f"{hours:.1f} h"
    return value
