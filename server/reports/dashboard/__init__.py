"""The managers' dashboard: server-rendered pages behind a login (``/dashboard``) that show
the KPIs of ``server.reports.service`` as headline cards, charts (inline SVG, ``svg``) and
tables, each number linking to the work orders behind it. See docs/dashboard.md."""
