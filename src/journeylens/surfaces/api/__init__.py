"""The HTTP API (FastAPI). Routers live in their own modules; ``app.create_app`` mounts them."""
