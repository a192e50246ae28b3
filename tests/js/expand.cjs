// Expand an iCalendar file with Mozilla's ical.js and print every occurrence as JSON lines:
//   node expand.cjs FILE FROM TO   ->   {"uid", "start": ISO with offset, "recurrenceId", "status"}
// Used by the Python tests to check Dialogue's calendars with a parser that is not Python's.
const fs = require("fs");
const ICAL = require("ical.js");

const [file, from, to] = process.argv.slice(2);
const root = new ICAL.Component(ICAL.parse(fs.readFileSync(file, "utf8")));
for (const vtimezone of root.getAllSubcomponents("vtimezone")) {
  ICAL.TimezoneService.register(new ICAL.Timezone(vtimezone));
}
const start = ICAL.Time.fromDateTimeString(from + "T00:00:00");
const end = ICAL.Time.fromDateTimeString(to + "T00:00:00");
const events = root.getAllSubcomponents("vevent").map((c) => new ICAL.Event(c));
const exceptions = events.filter((e) => e.isRecurrenceException());
const out = [];
for (const event of events.filter((e) => !e.isRecurrenceException())) {
  for (const exception of exceptions.filter((x) => x.uid === event.uid)) event.relateException(exception);
  if (!event.isRecurring()) {
    out.push({ uid: event.uid, start: event.startDate.toJSDate().toISOString(), zone: event.startDate.zone.tzid });
    continue;
  }
  const iterator = event.iterator();
  let next;
  while ((next = iterator.next())) {
    if (next.compare(end) >= 0) break;
    const details = event.getOccurrenceDetails(next);
    if (details.startDate.compare(start) < 0) continue;
    out.push({ uid: event.uid, start: details.startDate.toJSDate().toISOString(), zone: details.startDate.zone.tzid });
  }
}
for (const item of out) console.log(JSON.stringify(item));
