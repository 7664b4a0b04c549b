"""Users at work: adding them, checking their passwords, the rules for names and passwords."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from codenode.frontend.db import User
from codenode.frontend.errors import BadRequest, Conflict
from codenode.frontend.passwords import MIN_LENGTH, hash_password

USERNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@+-]{0,149}")


def check_username(name: str) -> str:
    if not USERNAME.fullmatch(name):
        raise BadRequest(
            "a username is 1-150 letters, digits or _.@+-, starting with a letter or digit"
        )
    return name


def check_password(password: str) -> str:
    if len(password) < MIN_LENGTH:
        raise BadRequest(f"a password has at least {MIN_LENGTH} characters")
    return password


async def by_name(db: AsyncSession, name: str) -> User | None:
    return (await db.execute(select(User).where(User.username == name))).scalar_one_or_none()


async def add_user(db: AsyncSession, name: str, password: str, is_admin: bool = False) -> User:
    """A new user, committed; Conflict if the name is taken."""
    check_username(name)
    check_password(password)
    if await by_name(db, name) is not None:
        raise Conflict(f"the username {name!r} is taken")
    user = User(username=name, password_hash=hash_password(password), is_admin=is_admin)
    db.add(user)
    await db.commit()
    return user
