"""Offline map assets: Leaflet's script and stylesheet, inlined from an installed PyPI package.

The maps must work with no internet. Leaflet 1.9.3 arrives with ``pip install xstatic-leaflet``
(the XStatic packaging of the same release folium links from its CDN); nothing is fetched at run
time and no copy is committed. :func:`inline_assets` replaces every ``<script src>`` and
``<link href>`` of a rendered page whose URL is a known Leaflet asset by the asset's text, and
refuses any other http(s) script or stylesheet, so an offline page can never silently depend on
the network.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Final

from optimizer.errors import BsbError

LEAFLET_VERSION: Final = "1.9.3"
"""The Leaflet release folium 0.20 links and ``xstatic-leaflet==1.9.3.*`` carries."""

LEAFLET_JS_URL: Final = f"https://cdn.jsdelivr.net/npm/leaflet@{LEAFLET_VERSION}/dist/leaflet.js"
LEAFLET_CSS_URL: Final = f"https://cdn.jsdelivr.net/npm/leaflet@{LEAFLET_VERSION}/dist/leaflet.css"

ASSET_PACKAGE: Final = "xstatic.pkg.leaflet"
"""Import name of the PyPI package ``xstatic-leaflet`` that ships the assets."""

_SCRIPT_SRC = re.compile(
    r"<script\b[^>]*?\bsrc\s*=\s*[\"']([^\"']+)[\"'][^>]*>\s*</script>", re.IGNORECASE
)
_LINK_HREF = re.compile(r"<link\b[^>]*?\bhref\s*=\s*[\"']([^\"']+)[\"'][^>]*?/?>", re.IGNORECASE)
_CSS_URL = re.compile(r"url\((images/[A-Za-z0-9_.-]+\.png)\)")
_SOURCE_MAP = re.compile(r"^\s*//# sourceMappingURL=.*$", re.MULTILINE)


class MissingAssetError(BsbError, RuntimeError):
    """The package carrying the offline assets is not installed, or lacks a file."""


@dataclass(frozen=True, slots=True)
class Asset:
    """One inlinable asset: its CDN URL and whether it is a script or a stylesheet."""

    url: str
    is_script: bool
    text: str


def _asset_folder() -> Traversable:
    try:
        return resources.files(ASSET_PACKAGE).joinpath("data")
    except ModuleNotFoundError as error:
        raise MissingAssetError(
            "offline maps need Leaflet from the PyPI package xstatic-leaflet: "
            "pip install 'xstatic-leaflet==1.9.3.*'"
        ) from error


def _read(folder: Traversable, name: str) -> Traversable:
    path = folder.joinpath(name)
    if not path.is_file():
        raise MissingAssetError(f"{ASSET_PACKAGE} has no {name}: reinstall xstatic-leaflet")
    return path


@cache
def leaflet_js() -> str:
    """Leaflet's minified script, without its source-map comment (nothing to fetch).

    Raises
    ------
    MissingAssetError
        If ``xstatic-leaflet`` is not installed.
    """
    text = _read(_asset_folder(), "leaflet.js").read_text(encoding="utf-8")
    # "</script" inside an inline script would end it early; Leaflet has none, but be sure.
    return _SOURCE_MAP.sub("", text).replace("</script", "<\\/script")


@cache
def leaflet_css() -> str:
    """Leaflet's stylesheet with its images inlined as ``data:`` URIs.

    Raises
    ------
    MissingAssetError
        If ``xstatic-leaflet`` is not installed.
    """
    folder = _asset_folder()
    text = _read(folder, "leaflet.css").read_text(encoding="utf-8")

    def data_uri(match: re.Match[str]) -> str:
        png = _read(folder, match.group(1)).read_bytes()
        return f"url(data:image/png;base64,{base64.b64encode(png).decode('ascii')})"

    return _CSS_URL.sub(data_uri, text)


def known_assets() -> dict[str, Asset]:
    """Return the assets :func:`inline_assets` can inline, by CDN URL."""
    return {
        LEAFLET_JS_URL: Asset(LEAFLET_JS_URL, True, leaflet_js()),
        LEAFLET_CSS_URL: Asset(LEAFLET_CSS_URL, False, leaflet_css()),
    }


def inline_assets(html: str) -> str:
    """Replace the page's links to known assets by inline ``<script>`` / ``<style>`` blocks.

    Parameters
    ----------
    html
        A rendered page.

    Returns
    -------
    str
        The page with no ``<script src>`` or ``<link href>`` naming an http(s) host.

    Raises
    ------
    ValueError
        If the page links a remote script or stylesheet that is not a known asset: the page
        would not work offline.
    MissingAssetError
        If ``xstatic-leaflet`` is not installed.
    """
    assets = known_assets()

    def script(match: re.Match[str]) -> str:
        url = match.group(1)
        asset = assets.get(url)
        if asset is not None and asset.is_script:
            return f"<script>\n{asset.text}\n</script>"
        _refuse_remote(url)
        return match.group(0)

    def link(match: re.Match[str]) -> str:
        url = match.group(1)
        asset = assets.get(url)
        if asset is not None and not asset.is_script:
            return f"<style>\n{asset.text}\n</style>"
        _refuse_remote(url)
        return match.group(0)

    # Function replacements: the asset text is inserted verbatim, never read as a pattern.
    return _LINK_HREF.sub(link, _SCRIPT_SRC.sub(script, html))


def _refuse_remote(url: str) -> None:
    if url.lower().startswith(("http://", "https://", "//")):
        raise ValueError(f"cannot inline {url}: an offline map may not load it from the network")


def remote_references(html: str) -> list[str]:
    """URLs of ``<script src>`` and ``<link href>`` in ``html`` that name an http(s) host."""
    urls = [m.group(1) for m in _SCRIPT_SRC.finditer(html)]
    urls += [m.group(1) for m in _LINK_HREF.finditer(html)]
    return [u for u in urls if u.lower().startswith(("http://", "https://", "//"))]
