"""The domain: every rule and permission check lives here. No Reflex imports."""
