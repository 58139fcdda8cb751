"""Use cases: one module per capability a person or an advertiser sees. Each function takes the system
and a typed caller (usecases.callers), opens its own read or write transaction, asks consent where the
capability needs it, calls the domains and returns typed results. The HTTP API (`api`), the pages
(`web`) and the CLI are adapters that parse, call one use case and render; docs/architecture.md lists
the modules."""
