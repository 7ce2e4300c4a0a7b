"""`teller share …`: read-only dashboard links for one site, optionally with a password; made, listed, changed
(label, password) and revoked."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from teller.cli_support import CliError, settings_for, with_admin
from teller.passwords import PasswordError, check_new_password
from teller.shared_links import SharedLink, share_path


def link_password(args: argparse.Namespace) -> str | None:
    """The link's password from --password-file (its first line) or --password-stdin; None without either.
    Never an argument: command lines end up in shell histories and process listings."""
    if args.password_file:
        try:
            text = Path(args.password_file).read_text(encoding="utf-8")
        except OSError as error:
            raise CliError(f"cannot read {args.password_file}: {error.strerror or error}") from None
        password = (text.splitlines() or [""])[0]
    elif args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        return None
    try:
        return check_new_password(password)
    except PasswordError as error:
        raise CliError(str(error)) from None


def describe(link: SharedLink) -> str:
    state = f"revoked {link.revoked_at:%Y-%m-%d %H:%M}" if link.revoked_at else "live"
    password = ", password" if link.has_password else ""
    return (f"{link.link_id}  site {link.site_id}  {state}{password}  created {link.created_at:%Y-%m-%d} "
            f"by {link.created_by}  {link.label}")


def cmd_share_add(args: argparse.Namespace) -> int:
    password = link_password(args)
    settings = settings_for(args)
    secret, link = with_admin(settings, lambda admin: admin.add_shared_link(args.site, args.label, password))
    url = settings.server.public_url.rstrip("/") + share_path(secret)
    protection = "Viewers need the password." if link.has_password else "Anyone with the URL can see it."
    print(f"Shared link {link.link_id} of site {link.site_id}: a read-only dashboard. {protection}\n"
          f"The URL is shown only now:\n\n  {url}\n\n"
          f"To embed it: <iframe src=\"{url}?embed=1\"></iframe>. Revoke it with: teller share revoke {link.link_id}")
    return 0


def cmd_share_list(args: argparse.Namespace) -> int:
    links: list[SharedLink] = with_admin(settings_for(args),
                                         lambda admin: admin.list_shared_links(args.site, args.all))
    if args.json:
        print(json.dumps([link.as_json() for link in links], indent=2))
        return 0
    if not links:
        print(f"No shared links of site {args.site}: teller share add --site {args.site}")
    for link in links:
        print(describe(link))
    return 0


def cmd_share_revoke(args: argparse.Namespace) -> int:
    link: SharedLink = with_admin(settings_for(args), lambda admin: admin.revoke_shared_link(args.link_id))
    print(f"Revoked shared link {link.link_id} of site {link.site_id}; its URL opens nothing now.")
    return 0


def cmd_share_update(args: argparse.Namespace) -> int:
    password = link_password(args)
    if args.label is None and password is None and not args.no_password:
        raise CliError("nothing to change: give --label, --password-file, --password-stdin or --no-password")
    link: SharedLink = with_admin(settings_for(args), lambda admin: admin.update_shared_link(
        args.link_id, label=args.label, password=password, remove_password=args.no_password))
    protection = "Viewers need the password." if link.has_password else "Anyone with the URL can see it."
    print(f"Updated shared link {link.link_id} of site {link.site_id}; its URL is unchanged. {protection}")
    return 0


def add_password_options(parser: argparse.ArgumentParser, removable: bool = False) -> None:
    """--password-file and --password-stdin (read by link_password), and --no-password when `removable`: one of
    them at most."""
    password = parser.add_mutually_exclusive_group()
    password.add_argument("--password-file", dest="password_file", metavar="FILE",
                          help="protect the link with the password on the first line of FILE")
    password.add_argument("--password-stdin", dest="password_stdin", action="store_true",
                          help="protect the link with the password on the first line of stdin")
    if removable:
        password.add_argument("--no-password", dest="no_password", action="store_true",
                              help="remove the password: anyone with the URL can see the dashboard")


def add_share_commands(commands: Any) -> None:
    """`teller share …` under the top-level parser's subcommands."""
    share = commands.add_parser("share", help="read-only dashboard links for one site (shared links)")
    actions = share.add_subparsers(dest="share_command", required=True, metavar="ACTION")

    add = actions.add_parser("add", help="make a shared link; prints its URL once")
    add.add_argument("--site", type=int, required=True, help="site id")
    add.add_argument("--label", default="", help="what the link is for, e.g. the board's intranet page")
    add_password_options(add)
    add.set_defaults(handler=cmd_share_add)

    listing = actions.add_parser("list", help="list a site's shared links (their ids, never their URLs)")
    listing.add_argument("--site", type=int, required=True, help="site id")
    listing.add_argument("--all", action="store_true", help="revoked links too")
    listing.add_argument("--json", action="store_true", help="machine-readable output")
    listing.set_defaults(handler=cmd_share_list)

    update = actions.add_parser("update", help="change a live link's label or password; its URL stays the same")
    update.add_argument("link_id")
    update.add_argument("--label", help="the new label")
    add_password_options(update, removable=True)
    update.set_defaults(handler=cmd_share_update)

    revoke = actions.add_parser("revoke", help="revoke a shared link by its id (or a unique prefix)")
    revoke.add_argument("link_id")
    revoke.set_defaults(handler=cmd_share_revoke)
