"""The live view of a running zipper: a page that updates in place (server-sent events).

:mod:`~rxyomo.observe.dashboard.view` makes what the page shows out of the zipper's
observer; :mod:`~rxyomo.observe.web` serves it with ``static/`` (the ``dashboard`` extra);
:mod:`~rxyomo.observe.dashboard.previews` loads an application's previews (the
image-recognition demo's thumbnails).
"""

from __future__ import annotations

from rxyomo.observe.dashboard.view import LiveView

__all__ = ["LiveView"]
