"""Analyses: pure functions over warehouse tables that return typed results."""
