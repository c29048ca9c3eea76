"""The Matrix gateway: the only package that imports nio."""
