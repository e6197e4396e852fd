from tests.fixtures.browser import browser_for, fresh_limits, live_server  # noqa: F401
