"""The staff side of the API: who is asking, and what they may do."""
