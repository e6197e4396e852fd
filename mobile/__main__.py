"""``python -m mobile``: the engineer app on the desktop (``make mobile``)."""

import os

# The app's own options (--server, --data, ...) are not Kivy's: Kivy must not parse argv.
os.environ.setdefault("KIVY_NO_ARGS", "1")

from mobile.ui.app import main

main()
