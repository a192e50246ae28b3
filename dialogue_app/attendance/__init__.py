"""Attendance: invitations to one meeting, answers (RSVP), who came, the sign-in sheet."""
