"""What the two HTTP adapters (api: JSON routes; web: pages) share and neither owns: cookies, who the
request says it is, the FastAPI dependencies for the system and the caller, and the pages' CSP. It uses
only usecases, bootstrap and kernel, like the adapters themselves."""
