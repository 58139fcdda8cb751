"""Server-rendered pages, static assets, and the save-button widget script."""
