"""Mentor circles: mentorship programs for community groups."""
