"""What each message says, in English and Chinese: a subject and a body per template.

Placeholders are ``{name}``; a missing value renders empty (a payload without the key
never fails a delivery). Customer templates end with the work order's status link."""

from __future__ import annotations

import string
from collections.abc import Mapping
from typing import Any

from server.languages import Language
from server.text import engineer_name_for_customers

CUSTOMER_TEMPLATES = (
    "ticket_received",
    "engineer_assigned",
    "engineer_on_the_way",
    "ticket_resolved",
    "survey_invitation",
)

_EN: dict[str, tuple[str, str]] = {
    "ticket_received": (
        "We received your request {number}",
        "Hello {customer},\n\nwe received your request {number} ({title}) and will assign an "
        "engineer soon.\n\nFollow it here: {link}",
    ),
    "engineer_assigned": (
        "{engineer} will come for {number}",
        "Hello {customer},\n\nour engineer {engineer} will handle {number} ({title}).\n"
        "Time window: {window}\n\nFollow it here: {link}",
    ),
    "engineer_on_the_way": (
        "{engineer} is on the way ({number})",
        "Hello {customer},\n\n{engineer} is on the way for {number}. Expected arrival: {eta}."
        "\n\nFollow it here: {link}",
    ),
    "ticket_resolved": (
        "{number} is resolved",
        "Hello {customer},\n\nwe resolved {number} ({title}). Thank you for your patience."
        "\n\nDetails: {link}",
    ),
    "survey_invitation": (
        "How did we do on {number}?",
        "Hello {customer},\n\nplease tell us how the repair {number} went: {url}\n"
        "It takes a minute.",
    ),
    "sla_at_risk": (
        "SLA at risk: {number}",
        "{number} ({title}) is close to its deadline (resolution due {due}). Status: {status}.",
    ),
    "sla_breached": (
        "SLA breached: {number}",
        "{number} ({title}) missed its SLA deadline (resolution due {due}). Status: {status}.",
    ),
    "field_conflict": (
        "Field conflict on {number}",
        "The engineer's offline work on {number} collided with a back-office change; "
        "please review the flag.",
    ),
    "field_after_cancel": (
        "Field work after cancel on {number}",
        "An engineer recorded work on {number} after it was cancelled; please review.",
    ),
    "stock_below_minimum": (
        "Stock below minimum: {sku}",
        "{sku} is at {on_hand} (minimum {minimum}, target {target}) at location {location}.",
    ),
    "stock_discrepancy": (
        "Stock discrepancy: {sku}",
        "A count or movement of {sku} disagrees with the ledger at location {location}{serial}. "
        "Please check.",
    ),
    "escalated": (
        "Escalated to you: {number} (level {level})",
        "{number} ({title}) was escalated to you (level {level}, due {due}).\nReason: {reason}",
    ),
    "followup_created": (
        "Follow-up task for {number}",
        "A follow-up ({kind}) on {number} is assigned to you, due {due}.\n{note}",
    ),
    "customer_update": (
        "Customer update on {number}",
        "The customer added information to {number} ({title}); please review.",
    ),
}

_ZH: dict[str, tuple[str, str]] = {
    "ticket_received": (
        "我们已收到您的报修 {number}",
        "{customer}，您好：\n\n我们已收到您的报修 {number}（{title}），将尽快安排工程师。\n\n"
        "查看进度：{link}",
    ),
    "engineer_assigned": (
        "{engineer}将为您处理 {number}",
        "{customer}，您好：\n\n工程师{engineer}将为您处理 {number}（{title}）。\n"
        "上门时间：{window}\n\n查看进度：{link}",
    ),
    "engineer_on_the_way": (
        "{engineer}正在赶来（{number}）",
        "{customer}，您好：\n\n工程师{engineer}正在前往处理 {number}，预计到达时间：{eta}。\n\n"
        "查看进度：{link}",
    ),
    "ticket_resolved": (
        "{number} 已处理完毕",
        "{customer}，您好：\n\n您的报修 {number}（{title}）已处理完毕，感谢您的耐心。\n\n"
        "详情：{link}",
    ),
    "survey_invitation": (
        "请评价 {number} 的服务",
        "{customer}，您好：\n\n请告诉我们维修 {number} 的服务体验：{url}\n只需一分钟。",
    ),
    "sla_at_risk": (
        "SLA 即将超时：{number}",
        "{number}（{title}）即将到达期限（解决期限 {due}）。状态：{status}。",
    ),
    "sla_breached": (
        "SLA 已超时：{number}",
        "{number}（{title}）已超出 SLA 期限（解决期限 {due}）。状态：{status}。",
    ),
    "field_conflict": (
        "现场数据冲突：{number}",
        "工程师离线完成的工作与后台的修改冲突（{number}），请处理该标记。",
    ),
    "field_after_cancel": (
        "取消后仍有现场记录：{number}",
        "工单 {number} 取消后，工程师仍记录了现场工作，请核查。",
    ),
    "stock_below_minimum": (
        "库存低于下限：{sku}",
        "{sku} 在库位 {location} 的库存为 {on_hand}（下限 {minimum}，目标 {target}）。",
    ),
    "stock_discrepancy": (
        "库存差异：{sku}",
        "{sku} 在库位 {location}{serial} 的盘点或出入库与台账不符，请核查。",
    ),
    "escalated": (
        "工单已升级给您：{number}（第 {level} 级）",
        "{number}（{title}）已升级给您（第 {level} 级，期限 {due}）。\n原因：{reason}",
    ),
    "followup_created": (
        "回访任务：{number}",
        "工单 {number} 的回访任务（{kind}）已分配给您，期限 {due}。\n{note}",
    ),
    "customer_update": (
        "客户补充了信息：{number}",
        "客户为 {number}（{title}）补充了信息，请查看。",
    ),
}

TEMPLATES: dict[str, dict[Language, tuple[str, str]]] = {
    name: {"en": _EN[name], "zh_CN": _ZH[name]} for name in _EN
}


class _Blank(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return ""


# What a message says for a time nobody has set yet (no window, no ETA), by language.
NOT_SET = {"en": "to be arranged (we will let you know)", "zh_CN": "待定（确定后会通知您）"}
_TIMES = ("window", "eta")


def render(template: str, lang: Language, params: Mapping[str, Any]) -> tuple[str, str]:
    """(subject, body) of ``template`` in ``lang`` with ``params`` filled in; a window or
    ETA that is not set reads "to be arranged" in the message's language."""
    subject, body = TEMPLATES[template][lang]
    values = _Blank({k: "" if v is None else str(v) for k, v in params.items()})
    for key in _TIMES:
        if key in values and not values[key]:
            values[key] = NOT_SET[lang]
    formatter = string.Formatter()
    return formatter.vformat(subject, (), values), formatter.vformat(body, (), values)


def first_name(display_name: str) -> str:
    """The engineer's name as customers are told it (server/text.py, the one rule the
    status page follows too)."""
    return engineer_name_for_customers(display_name)
