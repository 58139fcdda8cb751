"""Use cases: one module per capability a person or an advertiser sees. Each function takes the system,
the caller's primitives and returns typed results; the HTTP API, the pages and the CLI are adapters that
parse, call one use case and render. (Issue 13: accounts and sessions come first; the rest still live in
the API's route modules.)"""
