"""Helpers the pages share."""

from ..directory import unit_options
from ..web import select_choices


def unit_choices(user, blank: bool = False) -> list:
    """The units `user` may pick, as select options (code, name), optionally after an empty one."""
    return select_choices(([("", "—")] if blank else []) + [(u.code, u.name) for u in unit_options(user)])
