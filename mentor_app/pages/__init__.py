"""One module per page area: compose components and bind states."""
