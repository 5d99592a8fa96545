"""The password rule: length, letters and digits, and not a common password.

Checked offline against `marketplace/data/common_passwords.txt` (19,640 common
and breached passwords from Django's CommonPasswordValidator list, see the
NOTICE beside it), also with the digits and symbols around a word stripped, so
that `password2026!` counts as `password`.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from marketplace.exceptions import ServiceError

PASSWORD_MIN = 10
PASSWORD_MAX = 128
PASSWORD_HELP = (
    f"至少 {PASSWORD_MIN} 位，需同时包含字母和数字，不能是常见或已泄露的密码。"
)
COMMON_LIST = Path(__file__).resolve().parent.parent / "data" / "common_passwords.txt"
# A common word with a year, a counter or a "!" around it is still that word.
_DECORATION = re.compile(r"^[\d\W_]+|[\d\W_]+$")
_MIN_CORE = 4


@cache
def common_passwords() -> frozenset[str]:
    """The shipped list, lowercased."""
    with COMMON_LIST.open(encoding="utf-8") as handle:
        return frozenset(line.rstrip("\n").lower() for line in handle if line.strip())


def is_common(password: str) -> bool:
    """Whether the password, or its word without digits around it, is on the list."""
    lowered = password.strip().lower()
    known = common_passwords()
    if lowered in known:
        return True
    core = _DECORATION.sub("", lowered)
    return len(core) >= _MIN_CORE and core in known


def password_problem(password: str | None) -> str | None:
    """Why a password breaks the rule, in Chinese, or None."""
    value = password or ""
    if not PASSWORD_MIN <= len(value) <= PASSWORD_MAX:
        return f"密码长度应为 {PASSWORD_MIN}–{PASSWORD_MAX} 位。"
    if not (any(c.isalpha() for c in value) and any(c.isdigit() for c in value)):
        return "密码需同时包含字母和数字。"
    if len(set(value.lower())) < 4:
        return "密码重复字符过多，容易被猜中，请换一个。"
    if is_common(value):
        return "该密码在常见或已泄露的密码名单中，容易被猜中，请换一个。"
    return None


def check_password(password: str | None) -> None:
    """Raise a ServiceError on the password field when the rule is broken."""
    problem = password_problem(password)
    if problem:
        raise ServiceError(problem, "password")
