"""The marketing side: HubSpot contacts through hubspot-api-client (`gateway`), paced under the
rate limits (`pacing`), paged past the search cap (`search`), errors decided by `classify`."""
