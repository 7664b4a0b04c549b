"""Users at work: adding them, checking their passwords, the rules for names and passwords."""

from __future__ import annotations

import asyncio
import functools
import re
import secrets

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from codenode.frontend.db import Notebook, User
from codenode.frontend.errors import BadRequest, Conflict, NotFound
from codenode.frontend.passwords import MIN_LENGTH, hash_password, needs_rehash, verify_password

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


# Argon2 takes tens of milliseconds of CPU by design: off the event loop, so that open
# notebooks keep streaming while someone signs in.


async def hashed(password: str) -> str:
    """*password*'s Argon2 hash, computed in a worker thread."""
    return await asyncio.to_thread(hash_password, password)


async def password_matches(password_hash: str, password: str) -> bool:
    """Whether *password* matches *password_hash*, checked in a worker thread."""
    return await asyncio.to_thread(verify_password, password_hash, password)


@functools.cache
def _decoy_hash() -> str:
    return hash_password("not anyone's password")


async def authenticate(db: AsyncSession, name: str, password: str) -> User | None:
    """The user called *name* if *password* is theirs, else None (disabled or not: the caller
    decides). An unknown name costs as much time as a wrong password, so that answer times do
    not tell which names exist."""
    user = await by_name(db, name)
    if user is None:
        await password_matches(await asyncio.to_thread(_decoy_hash), password)
        return None
    return user if await password_matches(user.password_hash, password) else None


async def rehash_if_needed(db: AsyncSession, user: User, password: str) -> None:
    """Store a new hash of *password* (just verified) if *user*'s was made with weaker Argon2
    parameters than today's. The session cookie must be made after this: it carries the
    hash's fingerprint."""
    if needs_rehash(user.password_hash):
        user.password_hash = await hashed(password)
        await db.commit()


async def by_name(db: AsyncSession, name: str) -> User | None:
    """The user called *name*, whatever its case ("ALICE" is alice): names are one per
    spelling, case aside. Where older databases hold two spellings, the exact one wins."""
    found = (
        (await db.execute(select(User).where(func.lower(User.username) == name.lower())))
        .scalars()
        .all()
    )
    exact = [user for user in found if user.username == name]
    if exact:
        return exact[0]
    return found[0] if len(found) == 1 else None


async def add_user(db: AsyncSession, name: str, password: str, is_admin: bool = False) -> User:
    """A new user, committed; Conflict if the name is taken."""
    check_username(name)
    check_password(password)
    if await by_name(db, name) is not None:
        raise Conflict(f"the username {name!r} is taken")
    user = User(username=name, password_hash=await hashed(password), is_admin=is_admin)
    db.add(user)
    try:
        await db.commit()
    except IntegrityError:
        # Someone took the name between the check and the insert.
        await db.rollback()
        raise Conflict(f"the username {name!r} is taken") from None
    return user


async def by_id(db: AsyncSession, user_id: int) -> User:
    """The user with *user_id*; NotFound if there is none."""
    user = await db.get(User, user_id)
    if user is None:
        raise NotFound(f"no user {user_id}")
    return user


async def named(db: AsyncSession, name: str) -> User:
    """The user called *name*; NotFound if there is none."""
    user = await by_name(db, name)
    if user is None:
        raise NotFound(f"no user {name!r}")
    return user


async def change_password(db: AsyncSession, user: User, password: str) -> None:
    """Give *user* a new password, committed. Their sessions end: a session cookie carries a
    fingerprint of the hash it was made with."""
    check_password(password)
    user.password_hash = await hashed(password)
    await db.commit()


async def delete_user(db: AsyncSession, user: User) -> list[str]:
    """Delete *user* with their notebooks (cells, shares and revisions go with them, by the
    database's cascades); the ids of the deleted notebooks, for the hub to forget."""
    notebooks = (
        (await db.execute(select(Notebook.id).where(Notebook.owner_id == user.id))).scalars().all()
    )
    await db.execute(delete(User).where(User.id == user.id))
    await db.commit()
    return list(notebooks)


FIRST_ADMIN = "admin"


async def ensure_first_admin(db: AsyncSession) -> str | None:
    """On a database without users, an admin named "admin" with a random password: the
    password, to be shown once. None when there are users already."""
    if await db.scalar(select(func.count()).select_from(User)):
        return None
    password = secrets.token_urlsafe(12)
    await add_user(db, FIRST_ADMIN, password, is_admin=True)
    return password
