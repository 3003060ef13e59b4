"""The library's own error hierarchy, so callers can catch GIS problems as one family."""


class GISError(ValueError):
    """Base of every error raised by :mod:`gis`."""


class CRSError(GISError):
    """A coordinate reference system is unknown or cannot be used here."""


class GeometryError(GISError):
    """A geometry is unusable: wrong type, empty, invalid or outside its area."""

    def __init__(self, message: str, *, reason: str, location: tuple[float, float] | None = None):
        super().__init__(message)
        self.reason = reason
        self.location = location
