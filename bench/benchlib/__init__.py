"""Helpers for bench/run.py, the yubin vs Dovecot comparison (stdlib only)."""
