"""Import and export of businesses and their contacts: hands the blueprint on (views.py); the work is in
reading, checking, planning, applying and storage, behind services."""

from .views import bp

__all__ = ["bp"]
