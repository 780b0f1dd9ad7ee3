"""The review web UI: where a person clears what intake was not sure about.

``app`` builds the FastAPI application (``intake review serve`` runs it), ``security`` holds
login, rate limiting and CSRF, ``pages`` renders the original pages and places evidence on
them, and ``actions`` does what the approve, reject and reprocess buttons do. Nothing here is
imported by the pipeline, so the web stack is loaded only when the UI runs.
"""
