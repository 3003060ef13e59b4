"""HTTP layer: FastAPI app factory, routers and error mapping over :mod:`layers`."""
