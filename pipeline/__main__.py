"""``python -m pipeline`` is ``cacao-screen``."""

from .cli import console

console()
