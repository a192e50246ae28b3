// Read iCalendar objects with Mozilla's ical.js (what Thunderbird's calendar is built on) and say what it makes of
// them: stdin a JSON list of {"name", "ics"}, stdout a JSON list of {"name", "method", "components", "errors"}.
// Used by tests/calendar/test_itip_check.py.
const ICAL = require("ical.js");

function check(ics) {
  const errors = [];
  let root;
  try {
    root = new ICAL.Component(ICAL.parse(ics));
  } catch (error) {
    return { method: null, components: 0, errors: [`parse: ${error.message}`] };
  }
  if (root.name !== "vcalendar") errors.push(`not a VCALENDAR but ${root.name}`);
  for (const vtimezone of root.getAllSubcomponents("vtimezone")) {
    ICAL.TimezoneService.register(new ICAL.Timezone(vtimezone));
  }
  for (const name of ["refresh-interval", "x-published-ttl"]) {
    const value = root.getFirstPropertyValue(name);
    if (value === null) continue;
    try {
      const duration = value instanceof ICAL.Duration ? value : ICAL.Duration.fromString(String(value));
      if (duration.toSeconds() <= 0) errors.push(`${name.toUpperCase()} is not a positive duration: ${value}`);
    } catch (error) {
      errors.push(`${name.toUpperCase()} is not a duration: ${value} (${error.message})`);
    }
  }
  for (const component of root.getAllSubcomponents("vevent")) {
    try {
      const event = new ICAL.Event(component);
      if (!event.uid) errors.push("a VEVENT without UID");
      if (event.startDate.zone === ICAL.Timezone.localTimezone) {
        errors.push(`${event.uid}: DTSTART read as floating time`);
      }
      if (event.isRecurring()) event.iterator().next();
    } catch (error) {
      errors.push(`VEVENT: ${error.message}`);
    }
  }
  const first = root.getFirstPropertyValue("method");
  return { method: first === null ? null : String(first), components: root.getAllSubcomponents().length, errors };
}

const input = JSON.parse(require("fs").readFileSync(0, "utf8"));
console.log(JSON.stringify(input.map((item) => ({ name: item.name, ...check(item.ics) }))));
