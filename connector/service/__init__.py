"""The deployed service (`leadbridge run`): the streams as loops in a worker thread, the HubSpot
webhook endpoint, health, readiness and metrics, under uvicorn with a clean stop."""
