"""An example graphcheck plugin: one team-policy rule and the shapes of one custom layer."""

__version__ = "0.1.0"
