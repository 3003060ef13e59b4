"""Plain GIS library: coordinate systems, geometry checks. No web framework, no database."""
