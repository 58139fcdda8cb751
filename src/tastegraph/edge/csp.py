"""The Content-Security-Policy of every HTML answer (pages and the API docs)."""

# Pages (and the API docs) load nothing from anywhere but this origin (the favicon is a data: URI).
PAGE_CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; font-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
