"""The report's words in each language it is printed in (``en``, ``zh_CN``: the languages
a user may choose, server/auth/schemas.py). The project has no gettext catalogue yet; a
dict per language keeps every label in one place, and a test checks both languages name
the same keys."""

from __future__ import annotations

from typing import Literal

Language = Literal["en", "zh_CN"]
LANGUAGES: tuple[Language, ...] = ("en", "zh_CN")
DEFAULT: Language = "en"

EN: dict[str, str] = {
    "title": "Service report",
    "work_order": "Work order",
    "status": "Status",
    "type": "Type",
    "priority": "Priority",
    "generated": "Issued",
    "times_in": "Times in {zone}",
    "page": "Page {n}",
    "customer": "Customer",
    "contact": "Contact",
    "phone": "Phone",
    "site": "Site",
    "address": "Address",
    "asset": "Equipment",
    "model": "Model",
    "serial": "Serial number",
    "installed": "Installed",
    "warranty": "Warranty",
    "warranty_until": "until {date}",
    "in_warranty": "in warranty",
    "out_of_warranty": "out of warranty",
    "problem": "Problem reported",
    "fault_code": "Fault code",
    "engineer": "Engineer",
    "timeline": "Timeline",
    "created_at": "Reported",
    "first_response_at": "First response",
    "arrived_at": "Arrived on site",
    "resolved_at": "Resolved",
    "closed_at": "Closed",
    "visits": "Visits",
    "visit": "Visit",
    "check_in": "Check-in",
    "check_out": "Check-out",
    "location": "Location",
    "at_site": "at the site",
    "away": "away from the site",
    "no_position": "no position",
    "open": "open",
    "work_done": "Work done",
    "resolution_code": "Resolution",
    "root_cause": "Root cause",
    "summary": "Summary",
    "notes": "Findings",
    "checklist": "Checklist",
    "item": "Item",
    "answer": "Answer",
    "yes": "Yes",
    "no": "No",
    "not_answered": "not answered",
    "photos_n": "{n} photo(s)",
    "parts": "Parts",
    "sku": "SKU",
    "part": "Part",
    "qty": "Qty",
    "unit_price": "Unit price",
    "line_total": "Amount",
    "total": "Total",
    "serials": "Serial numbers",
    "removed_parts": "Parts removed from the equipment",
    "labour": "Labour",
    "kind": "Kind",
    "start": "Start",
    "end": "End",
    "duration": "Duration",
    "travel": "Travel",
    "work": "Work",
    "break": "Break",
    "worked": "Travel and work",
    "photos": "Photos",
    "photos_more": "{n} more photo(s) not shown",
    "signature": "Customer signature",
    "signer": "Signed by",
    "signed_at": "Signed",
    "signed_status": "Work order status when signed",
    "none": "None recorded",
    "minutes": "{h} h {m:02d} min",
    # Statuses, types and priorities (shared/lifecycle.py, server/tickets/models.py).
    "status.new": "New",
    "status.assigned": "Assigned",
    "status.accepted": "Accepted",
    "status.travelling": "Travelling",
    "status.on_site": "On site",
    "status.on_hold": "On hold",
    "status.resolved": "Resolved",
    "status.closed": "Closed",
    "status.cancelled": "Cancelled",
    "type.repair": "Repair",
    "type.installation": "Installation",
    "type.maintenance": "Maintenance",
    "type.inspection": "Inspection",
    "type.complaint": "Complaint",
}

ZH_CN: dict[str, str] = {
    "title": "服务报告",
    "work_order": "工单",
    "status": "状态",
    "type": "类型",
    "priority": "优先级",
    "generated": "出具时间",
    "times_in": "时间均为 {zone} 时区",
    "page": "第 {n} 页",
    "customer": "客户",
    "contact": "联系人",
    "phone": "电话",
    "site": "现场",
    "address": "地址",
    "asset": "设备",
    "model": "型号",
    "serial": "序列号",
    "installed": "安装日期",
    "warranty": "保修",
    "warranty_until": "至 {date}",
    "in_warranty": "保修期内",
    "out_of_warranty": "已过保修期",
    "problem": "报修问题",
    "fault_code": "故障代码",
    "engineer": "工程师",
    "timeline": "时间线",
    "created_at": "报修时间",
    "first_response_at": "首次响应",
    "arrived_at": "到达现场",
    "resolved_at": "完成时间",
    "closed_at": "关闭时间",
    "visits": "上门记录",
    "visit": "上门",
    "check_in": "签到",
    "check_out": "签退",
    "location": "位置",
    "at_site": "在现场",
    "away": "不在现场",
    "no_position": "无定位",
    "open": "未签退",
    "work_done": "处理情况",
    "resolution_code": "处理结果",
    "root_cause": "故障原因",
    "summary": "处理说明",
    "notes": "检查发现",
    "checklist": "检查清单",
    "item": "项目",
    "answer": "结果",
    "yes": "是",
    "no": "否",
    "not_answered": "未填写",
    "photos_n": "{n} 张照片",
    "parts": "备件",
    "sku": "编号",
    "part": "名称",
    "qty": "数量",
    "unit_price": "单价",
    "line_total": "金额",
    "total": "合计",
    "serials": "序列号",
    "removed_parts": "从设备上拆下的备件",
    "labour": "工时",
    "kind": "类别",
    "start": "开始",
    "end": "结束",
    "duration": "时长",
    "travel": "路途",
    "work": "作业",
    "break": "休息",
    "worked": "路途及作业",
    "photos": "照片",
    "photos_more": "另有 {n} 张照片未显示",
    "signature": "客户签字",
    "signer": "签字人",
    "signed_at": "签字时间",
    "signed_status": "签字时工单状态",
    "none": "无记录",
    "minutes": "{h} 小时 {m:02d} 分",
    "status.new": "新建",
    "status.assigned": "已派工",
    "status.accepted": "已接单",
    "status.travelling": "在途",
    "status.on_site": "在现场",
    "status.on_hold": "挂起",
    "status.resolved": "已完成",
    "status.closed": "已关闭",
    "status.cancelled": "已取消",
    "type.repair": "维修",
    "type.installation": "安装",
    "type.maintenance": "保养",
    "type.inspection": "巡检",
    "type.complaint": "投诉",
}

CATALOGUES: dict[Language, dict[str, str]] = {"en": EN, "zh_CN": ZH_CN}


def language(value: str | None) -> Language | None:
    """A supported language for ``value`` (``zh-CN``, ``zh_cn`` and ``zh`` count as
    ``zh_CN``), or None."""
    if not value:
        return None
    normal = value.replace("-", "_").lower()
    if normal in ("zh_cn", "zh", "zh_hans"):
        return "zh_CN"
    if normal == "en" or normal.startswith("en_"):
        return "en"
    return None


class Labels:
    """Look-ups in one language; an unknown key (a status added later) prints as is."""

    def __init__(self, lang: Language) -> None:
        self.lang = lang
        self._words = CATALOGUES[lang]

    def __call__(self, key: str, **values: object) -> str:
        text = self._words.get(key, EN.get(key, key))
        return text.format(**values) if values else text

    def code(self, prefix: str, value: str) -> str:
        """A status or type in words (``status.on_site`` -> "On site")."""
        return self._words.get(f"{prefix}.{value}", value)

    def duration(self, seconds: int) -> str:
        minutes = max(0, seconds) // 60
        return self("minutes", h=minutes // 60, m=minutes % 60)
