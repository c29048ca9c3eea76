"""Calendar publishing: iCalendar feeds, CalDAV, iMIP mail, and the imported calendars read for conflicts."""
