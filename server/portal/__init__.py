"""The customer's pages: the work order's status page (``/t/``) and the asset's QR fault
report (``/q/``), the staff API that makes, lists and revokes their links, and the QR labels
(PNG, and an A4 sheet as PDF). See docs/customer-pages.md."""
