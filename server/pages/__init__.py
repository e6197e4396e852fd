"""Server-rendered pages for people without an account (the customer's status, QR and
survey pages): one Jinja2 environment, one base template, messages in English and Chinese,
the language from ``?lang=``, else the link's, else the browser's (``Accept-Language``),
else English. Routers use its HTTP face, ``server.pages.http``."""
