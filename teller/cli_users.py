"""`teller user …`: dashboard users, their roles per site, the second factor and their Stats API tokens."""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from typing import Any

from ingest.sites import Site
from teller.api_tokens import ApiToken
from teller.cli_support import CliError, settings_for, with_admin
from teller.passwords import PasswordError, check_new_password
from teller.totp import provisioning_uri
from teller.users import ROLES, Account


def read_password(args: argparse.Namespace) -> str:
    """One line from stdin with --password-stdin (for scripts), else asked twice on the terminal."""
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    elif sys.stdin.isatty():
        password = getpass.getpass("Password: ")
        if getpass.getpass("The same password again: ") != password:
            raise CliError("the two passwords differ; nothing changed")
    else:
        raise CliError("no terminal to ask for the password on; pipe it in with --password-stdin")
    try:
        return check_new_password(password)
    except PasswordError as error:
        raise CliError(str(error)) from None


def describe_grants(user: Account, names: dict[int, str]) -> str:
    if user.super_admin:
        return "every site (super-admin)"
    if not user.grants:
        return "no sites yet (teller user grant)"
    return ", ".join(f"{names.get(grant.site_id, '?')} #{grant.site_id} ({grant.role})" for grant in user.grants)


def cmd_user_add(args: argparse.Namespace) -> int:
    password = read_password(args)
    user: Account = with_admin(settings_for(args), lambda admin: admin.add_user(args.email, password,
                                                                                args.super_admin))
    kind = "super-admin (sees every site)" if user.super_admin else "user"
    print(f"Added {kind} {user.email} (id {user.user_id}).")
    if not user.super_admin:
        print(f"Give them a site: teller user grant {user.email} --site N --role viewer")
    return 0


def cmd_user_list(args: argparse.Namespace) -> int:
    def listing(admin: Any) -> tuple[list[Account], list[Site]]:
        return admin.list_users(), admin.list_sites()

    users, sites = with_admin(settings_for(args), listing)
    if args.json:
        print(json.dumps([user.as_json() for user in users], indent=2))
        return 0
    if not users:
        print("No users yet: teller user add EMAIL")
    names = {site.site_id: site.name for site in sites}
    for user in users:
        second = ", TOTP" if user.totp else ""
        print(f"{user.user_id:>5}  {user.email}{second}\n       {describe_grants(user, names)}")
    return 0


def cmd_user_reset_password(args: argparse.Namespace) -> int:
    password = read_password(args)
    user: Account = with_admin(settings_for(args), lambda admin: admin.reset_password(args.email, password))
    print(f"New password set for {user.email}; their sessions have ended.")
    return 0


def cmd_user_grant(args: argparse.Namespace) -> int:
    user: Account = with_admin(settings_for(args), lambda admin: admin.grant(args.email, args.site, args.role))
    print(f"{user.email} is now {args.role} of site {args.site}.")
    return 0


def cmd_user_revoke(args: argparse.Namespace) -> int:
    user: Account = with_admin(settings_for(args), lambda admin: admin.revoke_grant(args.email, args.site))
    print(f"{user.email} no longer sees site {args.site}.")
    return 0


def cmd_user_delete(args: argparse.Namespace) -> int:
    user: Account = with_admin(settings_for(args), lambda admin: admin.delete_user(args.email))
    print(f"Deleted user {user.email} with their roles and API tokens.")
    return 0


def cmd_user_totp_enable(args: argparse.Namespace) -> int:
    secret, user = with_admin(settings_for(args), lambda admin: admin.enable_totp(args.email))
    print(f"Second factor on for {user.email}. Add it to an authenticator app; it is shown only now:\n\n"
          f"  {provisioning_uri(secret, user.email)}\n\n  secret: {secret}\n\n"
          "Their next login asks for the six-digit code; sessions begun before have ended.")
    return 0


def cmd_user_totp_disable(args: argparse.Namespace) -> int:
    user: Account = with_admin(settings_for(args), lambda admin: admin.disable_totp(args.email))
    print(f"Second factor off for {user.email}.")
    return 0


def cmd_user_token_add(args: argparse.Namespace) -> int:
    secret, token = with_admin(settings_for(args),
                               lambda admin: admin.add_user_token(args.email, args.site or [], args.label))
    scope = ", ".join(f"site {site}" for site in token.site_ids) or "every site the user may see"
    print(f"Stats API token {token.token_id} of {token.email} for {scope}. It is shown only now:\n\n  {secret}\n\n"
          "Send it as Authorization: Bearer <token> to /api/v1/.")
    return 0


def cmd_user_token_list(args: argparse.Namespace) -> int:
    tokens: list[ApiToken] = with_admin(settings_for(args), lambda admin: admin.list_user_tokens(args.email))
    if args.json:
        print(json.dumps([token.as_json() for token in tokens], indent=2))
        return 0
    if not tokens:
        print("No API tokens.")
    for token in tokens:
        scope = ",".join(str(site) for site in token.site_ids) or "all"
        print(f"{token.token_id}  {token.email}  sites {scope}  created {token.created_at:%Y-%m-%d}  {token.label}")
    return 0


def cmd_user_token_revoke(args: argparse.Namespace) -> int:
    token: ApiToken = with_admin(settings_for(args), lambda admin: admin.revoke_user_token(args.token_id))
    print(f"Revoked API token {token.token_id} of {token.email}.")
    return 0


def add_user_commands(commands: Any) -> None:
    """`teller user …` under the top-level parser's subcommands."""
    user = commands.add_parser("user", help="manage dashboard users, their roles per site and their API tokens")
    actions = user.add_subparsers(dest="user_command", required=True, metavar="ACTION")

    add = actions.add_parser("add", help="add a user (asks for the password, or reads it with --password-stdin)")
    add.add_argument("email")
    add.add_argument("--super-admin", dest="super_admin", action="store_true",
                     help="sees every site, the retention audit and /metrics (the hosting provider)")
    add.add_argument("--password-stdin", dest="password_stdin", action="store_true",
                     help="read the password from the first line of stdin")
    add.set_defaults(handler=cmd_user_add)

    listing = actions.add_parser("list", help="list users and their roles")
    listing.add_argument("--json", action="store_true", help="machine-readable output")
    listing.set_defaults(handler=cmd_user_list)

    reset = actions.add_parser("reset-password", help="set a new password; ends the user's sessions")
    reset.add_argument("email")
    reset.add_argument("--password-stdin", dest="password_stdin", action="store_true",
                       help="read the password from the first line of stdin")
    reset.set_defaults(handler=cmd_user_reset_password)

    grant = actions.add_parser("grant", help="give a user a role on a site (or change it)")
    grant.add_argument("email")
    grant.add_argument("--site", type=int, required=True, help="site id")
    grant.add_argument("--role", choices=ROLES, required=True,
                       help="viewer: sees the site's reports; admin: the site's owner, may also change its settings")
    grant.set_defaults(handler=cmd_user_grant)

    revoke = actions.add_parser("revoke", help="take a user's role on a site away")
    revoke.add_argument("email")
    revoke.add_argument("--site", type=int, required=True, help="site id")
    revoke.set_defaults(handler=cmd_user_revoke)

    delete = actions.add_parser("delete", help="delete a user with their roles and API tokens")
    delete.add_argument("email")
    delete.set_defaults(handler=cmd_user_delete)

    totp = actions.add_parser("totp", help="the second factor (TOTP codes from an authenticator app)")
    totp_actions = totp.add_subparsers(dest="totp_command", required=True, metavar="ACTION")
    enable = totp_actions.add_parser("enable", help="give the user a new TOTP secret; prints it and its URI once")
    enable.add_argument("email")
    enable.set_defaults(handler=cmd_user_totp_enable)
    disable = totp_actions.add_parser("disable", help="log in with the password alone again")
    disable.add_argument("email")
    disable.set_defaults(handler=cmd_user_totp_disable)

    token = actions.add_parser("token", help="a user's tokens for the Stats API")
    token_actions = token.add_subparsers(dest="user_token_command", required=True, metavar="ACTION")
    token_add = token_actions.add_parser("add", help="make a token (shown once) for some or all of the user's sites")
    token_add.add_argument("email")
    token_add.add_argument("--site", type=int, action="append", metavar="N",
                           help="only this site; repeat for more (default: every site the user may see)")
    token_add.add_argument("--label", default="", help="what the token is for, e.g. the intranet report")
    token_add.set_defaults(handler=cmd_user_token_add)
    token_list = token_actions.add_parser("list", help="list API tokens (their ids, never the tokens)")
    token_list.add_argument("email", nargs="?", help="only this user's")
    token_list.add_argument("--json", action="store_true", help="machine-readable output")
    token_list.set_defaults(handler=cmd_user_token_list)
    token_revoke = token_actions.add_parser("revoke", help="revoke an API token by its id (or a unique prefix)")
    token_revoke.add_argument("token_id")
    token_revoke.set_defaults(handler=cmd_user_token_revoke)
