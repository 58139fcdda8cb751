"""The Content-Security-Policy of every HTML answer (pages and the API docs)."""

# Pages (and the API docs) load nothing from anywhere but this origin (the favicon is a data: URI).
PAGE_CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; font-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)

# The save button's frame (issue 14: off-site visits without third-party cookies) is the one page any
# site may embed: it asks the browser for storage access and reports the visit from our own origin.
FRAME_PATHS = ("/widget/frame",)
FRAME_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; "
    "base-uri 'none'; form-action 'none'; frame-ancestors http: https:"
)


def page_csp(measurement_pixels: str, insecure_hosts: frozenset[str] = frozenset()) -> str:
    """The pages' CSP for a deployment. With TASTEGRAPH_MEASUREMENT_PIXELS=browser the page calls ads'
    third-party measurement URLs itself (fetch, no credentials, no referrer), so `connect-src` must let
    it reach https hosts (and the plain-http test hosts allowed); scripts, styles, images and frames
    still come only from this origin. In the default `server` mode, and in `off`, nothing changes."""
    if measurement_pixels != "browser":
        return PAGE_CSP
    extra = " ".join(["https:", *(f"http://{h}" for h in sorted(insecure_hosts))])
    return PAGE_CSP.replace("connect-src 'self'", f"connect-src 'self' {extra}")
