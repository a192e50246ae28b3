"""Import and export of businesses and their contacts: reading (files to rows), checking (rows to problems),
planning (what would change), applying (the writes), storage (the uploaded file), behind services."""

from .services import init_app

__all__ = ["init_app"]
