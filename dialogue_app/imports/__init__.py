"""Import and export of businesses and contacts."""
