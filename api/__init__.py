"""FastAPI command-post service: routes, auth, live stream, CoT output and the map page."""
