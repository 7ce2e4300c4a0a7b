"""What every `teller` command module shares: the error that ends a command, the settings, and the admin
(the running server's admin API when one owns the data, else the store itself)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from ingest.migrations import migrate
from ingest.sites import SiteRegistry
from ingest.store import Store
from ingest.tokens import TokenRegistry
from teller.admin import Admin, LocalAdmin, remote_admin_for
from teller.audit_log import local_actor
from teller.config import Settings, config_path_from, load_settings
from teller.runtime import ship_leftover_spool, site_defaults


class CliError(Exception):
    """Ends the command with this message and exit status 2."""


def settings_for(args: argparse.Namespace) -> Settings:
    return load_settings(config_path_from(args.config))


def with_admin(settings: Settings, action: Callable[[Admin], Any]) -> Any:
    """Run `action` against the running server when it owns the embedded engine, else against the store."""
    remote = remote_admin_for(settings)
    if remote is not None:
        return action(remote)
    store = Store(settings.storage.clickhouse_dsn, settings.storage.database)
    try:
        migrate(store)
        return action(LocalAdmin(store, SiteRegistry(store, defaults=site_defaults(settings)), TokenRegistry(store),
                                 settings.secret_key, local_actor(),
                                 settle=lambda subject: ship_leftover_spool(settings, store)))
    finally:
        store.close()
