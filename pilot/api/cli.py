"""`pilot tokens`: create, list and revoke a user's API tokens from the command line."""

import click
from flask.cli import with_appcontext
from sqlmodel import select

from pilot.extensions import db


@click.group("tokens", help="API tokens (bearer tokens for /api/v1).")
def tokens_group() -> None:
    pass


def _user(username: str):
    from pilot.accounts.models import User

    user = db.session.exec(select(User).where(User.username == username)).first()
    if user is None:
        raise click.ClickException(f"No user is called {username}.")
    return user


@tokens_group.command("create")
@click.option("--username", required=True, help="Whose token: it acts as this user.")
@click.option("--name", default="command line", show_default=True, help="What will use it.")
@with_appcontext
def tokens_create(username: str, name: str) -> None:
    """Create a token and print its secret (shown this once: only its hash is kept)."""
    from pilot.api.services import TokenError, issue_token

    try:
        _token, secret = issue_token(db.session, _user(username), name)
    except TokenError as error:
        raise click.ClickException(str(error)) from None
    db.session.commit()
    click.echo(secret)


@tokens_group.command("list")
@click.option("--username", required=True)
@with_appcontext
def tokens_list(username: str) -> None:
    """Tab-separated: id, name, first characters, created (UTC). Live tokens only."""
    from pilot.api.services import live_tokens

    for token in live_tokens(db.session, _user(username)):
        click.echo(f"{token.id}\t{token.name}\t{token.prefix}\t{token.created_at:%Y-%m-%d %H:%M}")


@tokens_group.command("revoke")
@click.option("--username", required=True)
@click.argument("token_id", type=int)
@with_appcontext
def tokens_revoke(username: str, token_id: int) -> None:
    """Revoke one of the user's tokens (its id from `pilot tokens list`)."""
    from pilot.api.models import ApiToken
    from pilot.api.services import revoke_token

    user = _user(username)
    token = db.session.get(ApiToken, token_id)
    if token is None or token.user_id != user.id:
        raise click.ClickException(f"{username} has no token {token_id}.")
    revoke_token(db.session, user, token)
    db.session.commit()
    click.echo(f"revoked {token.prefix}… ({token.name})")
