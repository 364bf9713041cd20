"""Password hashing (argon2id, argon2-cffi's default parameters) and the password policy.

A stored hash is a PHC string (``$argon2id$v=19$m=...,t=...,p=...$salt$hash``) that carries its
own parameters, so hashes made with older parameters still verify and :func:`needs_rehash` says
when to replace them. Hashing one password takes tens of milliseconds [ms] by design.
"""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

#: Shortest password accepted [characters].
MIN_PASSWORD_CHARS = 10
#: Longest password accepted [characters]: hashing is bounded work, not a denial of service.
MAX_PASSWORD_CHARS = 1024

_HASHER = PasswordHasher()  # argon2id with the library's recommended (RFC 9106 low-memory) parameters


def hash_password(password: str) -> str:
    """The argon2id hash of ``password`` (a PHC string with a fresh random salt)."""
    return _HASHER.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Whether ``password`` matches ``password_hash``; a malformed hash is a mismatch, not an error."""
    try:
        return _HASHER.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """Whether ``password_hash`` was made with other parameters than today's (rehash after a
    successful sign-in)."""
    try:
        return _HASHER.check_needs_rehash(password_hash)
    except InvalidHashError:
        return True


def password_problem(password: str, *, email: str = "") -> str | None:
    """What is wrong with ``password`` as a new password for ``email``, in words a person can act
    on, or None when it is acceptable."""
    if len(password) < MIN_PASSWORD_CHARS:
        return (f"choose a password of at least {MIN_PASSWORD_CHARS} characters "
                f"(this one has {len(password)}); a few unrelated words are easy to remember")
    if len(password) > MAX_PASSWORD_CHARS:
        return f"choose a password of at most {MAX_PASSWORD_CHARS} characters"
    if email and password.strip().casefold() == email.strip().casefold():
        return "choose a password that is not your email address"
    if email and password.strip().casefold() == email.strip().partition("@")[0].casefold():
        return "choose a password that is not the name part of your email address"
    return None
