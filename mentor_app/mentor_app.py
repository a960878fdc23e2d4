"""The Reflex app: page registration and lifespan."""

import reflex as rx

# rx.Model shares SQLModel's metadata, so importing the tables is enough for
# `reflex db makemigrations` to see them.
from mentor_app import models  # noqa: F401

app = rx.App()
app.add_page(lambda: rx.text("Mentor circles"), route="/")
