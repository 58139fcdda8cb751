"""Images the platform serves itself: decoding and re-encoding what came from elsewhere, and the store
the copies live in.

Nothing fetched from another site is served as it came: `reencode` decodes it with Pillow (JPEG, PNG,
GIF, WebP only; at most MAX_SIDE pixels a side and MAX_PIXELS in all, checked from the header before
any pixel is decoded, so a decompression bomb costs nothing) and writes a new file from the pixels
alone, without EXIF, XMP, ICC or text chunks. The copy goes into a `MediaStore` under a name made from
its content (so the same picture is stored once) and is served from the platform (`/media/<key>`), so
a page showing it never calls the site it came from.

`LocalMediaStore` keeps the files in a directory (`TASTEGRAPH_MEDIA_DIR`); a deployment with several
machines implements the same four methods over object storage.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from PIL import Image, ImageOps, UnidentifiedImageError

from tastegraph.kernel import InvalidInput

MAX_SIDE = 8000
# 8,000 x 8,000 RGBA would be 256 MB in memory; 40 megapixels (e.g. 8,000 x 5,000) is 160 MB at most.
MAX_PIXELS = 40_000_000
ACCEPTED_FORMATS = frozenset({"JPEG", "PNG", "GIF", "WEBP"})
CONTENT_TYPES = {"jpg": "image/jpeg", "png": "image/png"}
MEDIA_PATH = "/media/"
_KEY = re.compile(r"^[0-9a-f]{64}\.(jpg|png)$")


@dataclass(frozen=True)
class EncodedImage:
    data: bytes
    content_type: str  # image/jpeg or image/png
    extension: str  # jpg or png
    width: int
    height: int


def reencode(data: bytes, field: str = "media", formats: frozenset[str] = ACCEPTED_FORMATS) -> EncodedImage:
    """A clean copy of the image in `data`: JPEG (quality 88) for opaque pictures, PNG for ones with
    transparency; the first frame of an animation; EXIF orientation applied, every metadata block
    left behind. Raises InvalidInput (422) for anything that is not a picture in one of `formats`
    (Pillow's names; by default JPEG, PNG, GIF or WebP) within the size limits."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            source = Image.open(io.BytesIO(data))
            if source.format not in formats & ACCEPTED_FORMATS:
                names = "JPEG, PNG, GIF or WebP" if formats == ACCEPTED_FORMATS else "/".join(sorted(formats))
                raise InvalidInput(f"the image must be a {names} picture", field=field)
            width, height = source.size
            if width < 1 or height < 1 or width > MAX_SIDE or height > MAX_SIDE:
                raise InvalidInput(
                    f"the image is {width} x {height} pixels; at most {MAX_SIDE} a side", field=field
                )
            if width * height > MAX_PIXELS:
                raise InvalidInput(
                    f"the image has {width * height:,} pixels; at most {MAX_PIXELS:,}", field=field
                )
            source.seek(0)
            source.load()
            upright = ImageOps.exif_transpose(source)
    except InvalidInput:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise InvalidInput("that is not an image we can read", field=field) from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:  # truncated or corrupt data
        raise InvalidInput("that image is damaged or incomplete", field=field) from exc

    alpha = upright.mode in ("RGBA", "LA", "PA") or (upright.mode == "P" and "transparency" in upright.info)
    mode = "RGBA" if alpha else "RGB"
    converted = upright.convert(mode)
    # A new image from the pixels alone: nothing of the source's info (ICC, EXIF, text) comes along.
    clean = Image.frombytes(mode, converted.size, converted.tobytes())
    out = io.BytesIO()
    if alpha:
        clean.save(out, format="PNG", optimize=True)
        ext = "png"
    else:
        clean.save(out, format="JPEG", quality=88, optimize=True, progressive=True)
        ext = "jpg"
    return EncodedImage(out.getvalue(), CONTENT_TYPES[ext], ext, clean.width, clean.height)


@dataclass(frozen=True)
class StoredMedia:
    data: bytes
    content_type: str


class MediaStore(Protocol):
    """Where the platform's copies of images live. Keys are `<sha256 of the bytes>.<jpg|png>`."""

    def put(self, image: EncodedImage) -> str:
        """Store the image (once: the same bytes give the same key) and return its key."""
        ...

    def get(self, key: str) -> StoredMedia | None:
        """The stored file, or None for an unknown or malformed key."""
        ...

    def exists(self, key: str) -> bool: ...

    def sweep_unused(self, used: set[str], older_than_seconds: float) -> int:
        """Delete files not in `used` and older than `older_than_seconds`; how many went."""
        ...


def media_key(image: EncodedImage) -> str:
    return f"{hashlib.sha256(image.data).hexdigest()}.{image.extension}"


def valid_key(key: str) -> bool:
    return bool(_KEY.match(key))


def served_url(key: str) -> str:
    """The path the platform serves a stored image from, as a Pin's `image_url` keeps it."""
    return MEDIA_PATH + key


def key_of_url(url: str) -> str | None:
    """The store key in a served URL (`/media/<key>`), else None."""
    if not url.startswith(MEDIA_PATH):
        return None
    key = url[len(MEDIA_PATH) :]
    return key if valid_key(key) else None


class LocalMediaStore:
    """Files in one directory, two levels of sub-folders by key (`ab/cd/abcd....jpg`), written under a
    temporary name and renamed into place so a reader never sees half a file."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        return self.root / key[:2] / key[2:4] / key

    def put(self, image: EncodedImage) -> str:
        key = media_key(image)
        path = self._path(key)
        if path.is_file():
            return key
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{key}.{os.getpid()}.{time.monotonic_ns()}.tmp")
        tmp.write_bytes(image.data)
        os.replace(tmp, path)
        return key

    def get(self, key: str) -> StoredMedia | None:
        if not valid_key(key):
            return None
        try:
            data = self._path(key).read_bytes()
        except FileNotFoundError:
            return None
        return StoredMedia(data, CONTENT_TYPES[key.rsplit(".", 1)[1]])

    def exists(self, key: str) -> bool:
        return valid_key(key) and self._path(key).is_file()

    def sweep_unused(self, used: set[str], older_than_seconds: float) -> int:
        if not self.root.is_dir():
            return 0
        cutoff = time.time() - older_than_seconds
        gone = 0
        for path in self.root.glob("??/??/*"):
            if path.name in used or not valid_key(path.name):
                continue
            try:
                if path.stat().st_mtime < cutoff:
                    path.unlink()
                    gone += 1
            except FileNotFoundError:
                continue
        return gone
