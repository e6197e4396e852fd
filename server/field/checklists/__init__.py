"""SOP checklists: templates, answers, and the guard that keeps resolve waiting for them."""
