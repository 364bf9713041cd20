"""Reusable UI pieces and pure figure builders (DataFrame in, go.Figure out). No store access here."""
