"""The survey page's words, in English and Simplified Chinese (``survey.*``), and the
default wording of each question (a template's ``wording`` replaces it); the page's router
adds them to the pages' messages."""

from __future__ import annotations

EN = {
    "survey.title": "How did we do?",
    "survey.intro": "Your work order {number} is done. Tell us how it went: it takes a minute.",
    "survey.q.csat": "How satisfied are you with our service?",
    "survey.q.nps": "How likely are you to recommend us to a friend or colleague?",
    "survey.q.ces": "How easy was it to get your problem solved?",
    "survey.q.comment": "Anything else you would like to tell us? (optional)",
    "survey.csat.low": "Very dissatisfied",
    "survey.csat.high": "Very satisfied",
    "survey.nps.low": "Not at all likely",
    "survey.nps.high": "Extremely likely",
    "survey.ces.low": "Very difficult",
    "survey.ces.high": "Very easy",
    "survey.submit": "Send my answers",
    "survey.errors": "Some answers need your attention.",
    "survey.error.required": "Please choose an answer.",
    "survey.error.range": "Please choose one of the values shown.",
    "survey.error.long": "Please keep your comment under 2000 characters.",
    "survey.thanks.title": "Thank you!",
    "survey.thanks.body": "Your answers help us serve you better.",
    "survey.done.title": "Already answered",
    "survey.done.body": "This survey has already been answered. Thank you!",
}
ZH = {
    "survey.title": "服务评价",
    "survey.intro": "您的工单 {number} 已完成。请花一分钟告诉我们服务如何。",
    "survey.q.csat": "您对我们的服务满意吗?",
    "survey.q.nps": "您向朋友或同事推荐我们的可能性有多大?",
    "survey.q.ces": "解决您的问题有多容易?",
    "survey.q.comment": "还有什么想告诉我们的吗?(选填)",
    "survey.csat.low": "非常不满意",
    "survey.csat.high": "非常满意",
    "survey.nps.low": "完全不可能",
    "survey.nps.high": "极有可能",
    "survey.ces.low": "非常困难",
    "survey.ces.high": "非常容易",
    "survey.submit": "提交评价",
    "survey.errors": "部分回答需要您检查。",
    "survey.error.required": "请选择一个答案。",
    "survey.error.range": "请选择页面上显示的数值之一。",
    "survey.error.long": "请将留言控制在 2000 字以内。",
    "survey.thanks.title": "谢谢!",
    "survey.thanks.body": "您的评价帮助我们把服务做得更好。",
    "survey.done.title": "已经评价过了",
    "survey.done.body": "此问卷已经提交过了。谢谢!",
}
