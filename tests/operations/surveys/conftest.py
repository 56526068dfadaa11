"""Survey fixtures (defined in ``survey_helpers``)."""

from survey_helpers import lens, survey_db, survey_settings  # noqa: F401 - pytest fixtures
