"""The web app and REST API (FastAPI): ``agegender serve``."""
