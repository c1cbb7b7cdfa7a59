"""The web UI: static HTML, ES modules and CSS served at `/` (it talks to the public REST API only)."""
