from tests.fixtures.browser import browser_for, live_server  # noqa: F401
