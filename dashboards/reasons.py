"""Errors a page can explain in its own language: the English template and its values travel with the error.

`str(error)` is the English sentence the Stats API answers with; a page passes the template through its
locale's catalogue (dashboards/i18n.py) and fills in the same values, so the parts quoted from the address stay
exactly as the visitor typed them.
"""

from __future__ import annotations

from collections.abc import Callable


class ExplainedError(ValueError):
    """A refused parameter: `template` is English with {fields}, filled from `values`."""

    def __init__(self, template: str, **values: object) -> None:
        self.template = template
        self.values = values
        super().__init__(template.format(**values))

    def translated(self, text: Callable[[str], str]) -> str:
        """The message with its template translated by `text` (a catalogue lookup)."""
        return text(self.template).format(**self.values)
