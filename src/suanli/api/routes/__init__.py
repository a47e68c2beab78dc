"""Thin route modules: parse, call one service function, convert."""
