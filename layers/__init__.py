"""The domain: one module per table and published layer, and the queries that serve them."""
