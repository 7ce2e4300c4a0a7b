"""The one error the administration layer raises (CLI, admin API and their remote client alike)."""

from __future__ import annotations


class AdminError(Exception):
    """A request was refused; the message is for the operator. Messages starting with "no " mean not found."""
