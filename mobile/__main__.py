"""``python -m mobile``: the engineer app on the desktop (``make mobile``)."""

from mobile.ui.app import main

main()
