"""Process-wide CLI flags."""

DEBUG = False
