"""libical's opinion of iCalendar objects: parse errors and the iTIP restriction check (RFC 5546's tables).

Run by tests/calendar/test_itip_check.py with Debian's python3, which has python3-gi and gir1.2-ical-3.0 (the
virtualenv has neither): reads a JSON list of {"name", "ics"} on stdin, writes a JSON list of {"name", "method",
"errors"} on stdout. Exits 3, saying why on stderr, when GObject introspection or libical-glib is missing.
"""

import json
import sys

try:
    import gi

    gi.require_version("ICalGLib", "3.0")
    from gi.repository import ICalGLib
except (ImportError, ValueError) as error:
    print(f"libical-glib is not reachable from {sys.executable}: {error} "
          "(Debian: apt-get install python3-gi gir1.2-ical-3.0)", file=sys.stderr)
    sys.exit(3)


def errors_in(component) -> list[str]:
    """The X-LIC-ERROR properties libical wrote into the component and everything under it."""
    found = []
    name = ICalGLib.Component.kind_to_string(component.isa())
    prop = component.get_first_property(ICalGLib.PropertyKind.XLICERROR_PROPERTY)
    while prop is not None:
        found.append(f"{name}: {prop.get_xlicerror()}")
        prop = component.get_next_property(ICalGLib.PropertyKind.XLICERROR_PROPERTY)
    child = component.get_first_component(ICalGLib.ComponentKind.ANY_COMPONENT)
    while child is not None:
        found += errors_in(child)
        child = component.get_next_component(ICalGLib.ComponentKind.ANY_COMPONENT)
    return found


def check(ics: str) -> dict:
    component = ICalGLib.Component.new_from_string(ics)
    if component is None:
        return {"method": None, "errors": ["libical could not parse it at all"]}
    if component.isa() != ICalGLib.ComponentKind.VCALENDAR_COMPONENT:
        return {"method": None, "errors": [f"not a VCALENDAR but {component.isa().value_nick}"]}
    errors = [f"parse: {e}" for e in errors_in(component)]
    method = component.get_method()
    if method in (ICalGLib.PropertyMethod.NONE, ICalGLib.PropertyMethod.X):
        errors.append("no METHOD libical knows")
    # icalrestriction_check: RFC 5546's table for the METHOD, as X-LIC-ERROR properties; 0 when any failed.
    if not ICalGLib.restriction_check(component):
        errors += [e for e in errors_in(component) if f"parse: {e}" not in errors]
    # libical writes the same complaint once per property it looked at: say each once.
    return {"method": ICalGLib.Property.method_to_string(method), "errors": list(dict.fromkeys(errors))}


def main() -> None:
    documents = json.load(sys.stdin)
    json.dump([{"name": d["name"], **check(d["ics"])} for d in documents], sys.stdout)


if __name__ == "__main__":
    main()
