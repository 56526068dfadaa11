"""Customer-experience analyses of the whole relationship (see :mod:`.departures`)."""
