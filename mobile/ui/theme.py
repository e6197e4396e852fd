"""The field theme: high contrast for sunlight (dark text on white, saturated action colours,
AAA contrast for body text), large type, and touch targets of at least 48 dp."""

from __future__ import annotations

# RGBA. Contrast ratios against WHITE noted where text sits on the colour or vice versa.
INK = (0.07, 0.07, 0.07, 1)  # body text on white: 18.9:1
MUTED = (0.27, 0.27, 0.27, 1)  # secondary text on white: 9.6:1
PAPER = (1, 1, 1, 1)
RULE = (0.80, 0.80, 0.80, 1)
TINT = (0.90, 0.92, 0.96, 1)  # secondary buttons, unchosen toggles
TINT_DOWN = (0.78, 0.83, 0.92, 1)
PRIMARY = (0.03, 0.27, 0.60, 1)  # white text on it: 9.1:1; on TINT: 7.5:1
DANGER = (0.69, 0.0, 0.13, 1)  # white text on it: 7.5:1
OK = (0.10, 0.37, 0.13, 1)  # white text on it: 8.0:1
WARN_BG = (1.0, 0.95, 0.80, 1)
WARN_INK = (0.45, 0.28, 0.0, 1)  # on WARN_BG: 7.3:1
BAR_ONLINE = (0.10, 0.37, 0.13, 1)
BAR_OFFLINE = (0.20, 0.20, 0.20, 1)

TOUCH_DP = 56  # every tappable thing is at least this tall (the guideline's floor is 48 dp)
MIN_TOUCH_DP = 48
BODY_SP = 18
SMALL_SP = 15
HEADING_SP = 22

PRIORITY = {
    "P1": DANGER,
    "P2": (0.72, 0.33, 0.0, 1),
    "P3": PRIMARY,
    "P4": MUTED,
}
SLA_LEVEL = {
    "breached": DANGER,
    "at_risk": (0.60, 0.30, 0.0, 1),
    "ok": OK,
    "paused": MUTED,
    "": MUTED,
}
