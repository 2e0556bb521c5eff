"""Admin-edited mapping files: their schema, loading with file:line errors, compiled plans."""
