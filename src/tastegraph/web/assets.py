"""Files the pages and other sites load from us: the save button's and the tag's scripts, generated
placeholder pictures, and the IKEA catalogue's images (when TASTEGRAPH_IKEA_DIR is set)."""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import FileResponse

from tastegraph.edge.deps import SystemDep
from tastegraph.kernel import NotFound
from tastegraph.web.images import TOPIC_SLUG, placeholder_svg, svg_response
from tastegraph.web.rendering import STATIC

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".gif")


def _script(name: str) -> FileResponse:
    return FileResponse(
        STATIC / name, media_type="application/javascript", headers={"Cache-Control": "public, max-age=3600"}
    )


def routes() -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/widget.js")
    def widget_js() -> FileResponse:
        return _script("widget.js")

    @router.get("/tag.js")
    def tag_js() -> FileResponse:
        return _script("tag.js")

    @router.get("/static/demo-img/{topic}/{k}.svg")
    def demo_image(topic: str, k: str) -> Response:
        if not TOPIC_SLUG.match(topic) or not k.isdigit() or len(k) > 4:
            raise NotFound("no such image", field="path")
        return svg_response(placeholder_svg(topic, int(k)))

    @router.get("/ikea-images/{path:path}")
    def ikea_image(path: str, system: SystemDep) -> FileResponse:
        base = system.settings.ikea_dir
        if base is None or not _plain_relative_path(path):
            raise NotFound("no such image", field="path")
        root = base.resolve()
        target = (root / path).resolve()
        if (
            not target.is_relative_to(root)
            or not target.is_file()
            or target.suffix.lower() not in IMAGE_SUFFIXES
        ):
            raise NotFound("no such image", field="path")
        return FileResponse(target, headers={"Cache-Control": "public, max-age=86400"})

    return router


def _plain_relative_path(path: str) -> bool:
    """Only names below the image folder: no NUL (the file system refuses it with an error), no `..`
    or empty segments, no absolute path, no backslash."""
    segments = path.split("/")
    return (
        "\x00" not in path
        and "\\" not in path
        and all(segment not in ("", ".", "..") for segment in segments)
    )
