"""Minutes of meetings, their revisions and the PDF."""
