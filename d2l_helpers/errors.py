"""The error of a bad setting, in a module of its own that imports nothing,
so that :mod:`d2l_helpers.config` and :mod:`d2l_helpers.modes` can both use
it without importing each other."""


class ConfigError(ValueError):
    """A d2l_helpers environment variable holds a value we cannot use."""
