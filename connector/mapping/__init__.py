"""The lead plan: the schemas of lead.yaml, status.yaml and conversion.yaml, the transforms,
and the compiled plan a pass maps each record with."""
