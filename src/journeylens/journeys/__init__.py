"""Journeys: the definition (YAML) applied to events — stage, channel, step, episode."""
