"""The shared app fixtures (one production build per test session, for tests/e2e and
tests/adversarial alike) as a plugin of the whole suite."""

pytest_plugins = ["tests.support.app_fixtures"]
