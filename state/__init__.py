"""Reflex state classes: thin, they call services and show their errors."""
