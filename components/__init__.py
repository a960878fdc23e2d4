"""Reusable UI pieces: they take vars and event handlers and hold no rules."""
