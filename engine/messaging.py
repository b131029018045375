"""Korean message rules: byte counting, SMS/LMS/MMS switching, placeholders, sender numbers,
advertising rules and AlimTalk template matching.

These are pure functions of their inputs (``now`` is passed in): the send screens, the preview
API, rule actions and the scheduler all classify and check a message through them, per
recipient and after substitution, before anything is stored or sent.
"""
from __future__ import annotations

import datetime as dt
import functools
import re
from dataclasses import dataclass, field

from engine.errors import ValidationError
from engine.text import N_

SMS_MAX_BYTES = 90
LMS_MAX_BYTES = 2000
SUBJECT_MAX_BYTES = 40
ALIMTALK_MAX_CHARS = 1000
ALIMTALK_MAX_BUTTONS = 5
CARRIER_ENCODING = "cp949"  # what carriers count in; EUC-KR's superset (see shared/stack.md)

SMS, LMS, MMS, ALIMTALK, EMAIL = "SMS", "LMS", "MMS", "ALIMTALK", "EMAIL"

PLACEHOLDER = re.compile(r"#\{([^{}#\n]{1,40})\}")
AD_PREFIX = "(광고)"
AD_OPT_OUT = re.compile(r"(무료\s*)?수신\s*거부\s*[:：]?\s*080-?\d{3,4}-?\d{4}\s*$")
NIGHT_START, NIGHT_END = dt.time(21, 0), dt.time(8, 0)


# --- bytes and types ----------------------------------------------------------------------

def unsendable_chars(text: str) -> list[str]:
    """Characters carriers cannot carry (most emoji), each listed once, in order."""
    try:
        text.encode(CARRIER_ENCODING)
        return []
    except UnicodeEncodeError:
        pass
    seen = []
    for char in text:
        try:
            char.encode(CARRIER_ENCODING)
        except UnicodeEncodeError:
            if char not in seen:
                seen.append(char)
    return seen


def byte_length(text: str) -> int:
    """Bytes as carriers count them: CP949, Hangul 2, ASCII 1; an unsendable char counts 2."""
    try:
        return len(text.encode(CARRIER_ENCODING))   # the common case: one C-level call
    except UnicodeEncodeError:
        pass
    total = 0
    for char in text:
        try:
            total += len(char.encode(CARRIER_ENCODING))
        except UnicodeEncodeError:
            total += 2
    return total


@dataclass
class Classification:
    """What a text becomes once sent: its type, size and every problem that stops it."""

    kind: str
    bytes: int
    subject_bytes: int = 0
    problems: list[tuple[str, dict]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def classify(text: str, subject: str = "", has_image: bool = False) -> Classification:
    """SMS up to 90 bytes, else LMS up to 2,000 (subject ≤ 40 bytes); an image makes it MMS."""
    try:  # the common case, one encode each; the slow per-character path only on failure
        size, bad = len(text.encode(CARRIER_ENCODING)), []
    except UnicodeEncodeError:
        size, bad = byte_length(text), unsendable_chars(text)
    subject_size = byte_length(subject) if subject else 0
    kind = MMS if has_image else (SMS if size <= SMS_MAX_BYTES and not subject else LMS)
    result = Classification(kind, size, subject_size)
    if not text.strip():
        result.problems.append((N_("The message is empty."), {}))
    if size > LMS_MAX_BYTES:
        result.problems.append((N_("The message is %(n)d bytes; at most %(max)d can be sent."),
                                {"n": size, "max": LMS_MAX_BYTES}))
    if subject_size > SUBJECT_MAX_BYTES:
        result.problems.append((N_("The subject is %(n)d bytes; at most %(max)d are allowed."),
                                {"n": subject_size, "max": SUBJECT_MAX_BYTES}))
    if subject:
        bad += [c for c in unsendable_chars(subject) if c not in bad]
    if bad:
        result.problems.append((N_("These characters cannot be sent by SMS: %(chars)s"),
                                {"chars": " ".join(bad)}))
    return result


# --- placeholders -------------------------------------------------------------------------

def placeholders(text: str) -> list[str]:
    """The ``#{name}`` placeholders of a template, each once, in order."""
    names = []
    for name in PLACEHOLDER.findall(text or ""):
        if name not in names:
            names.append(name)
    return names


def check_placeholders(text: str, known: set[str] | list[str], field_name: str = "body") -> None:
    """Refuse at save time a placeholder the sending context cannot fill."""
    unknown = [name for name in placeholders(text) if name not in known]
    if unknown:
        raise ValidationError(N_("Unknown placeholder %(name)s; use one of: %(known)s"),
                              field_name, name="#{%s}" % unknown[0],
                              known=", ".join("#{%s}" % k for k in known))


@functools.lru_cache(maxsize=256)
def _compiled_template(text: str) -> tuple[str, tuple[str, ...]]:
    """A template turned once into a positional ``str.format`` string and its names."""
    parts = PLACEHOLDER.split(text)
    literal = [p.replace("{", "{{").replace("}", "}}") for p in parts[0::2]]
    names = tuple(parts[1::2])
    return "".join(lit + ("{%d}" % i if i < len(names) else "")
                   for i, lit in enumerate(literal)), names


def substitute(text: str, values: dict[str, object]) -> str:
    """Fill ``#{name}`` placeholders; a missing value leaves an empty string."""
    pattern, names = _compiled_template(text or "")
    if not names:
        return text or ""
    return pattern.format(*[str(values.get(name, "") or "") for name in names])


def matches_template(template: str, text: str) -> bool:
    """Whether ``text`` is ``template`` with only its placeholders filled (AlimTalk's check)."""
    pattern, last = [], 0
    for match in PLACEHOLDER.finditer(template):
        pattern.append(re.escape(template[last:match.start()]))
        pattern.append(r"(.*?)")
        last = match.end()
    pattern.append(re.escape(template[last:]))
    return re.fullmatch("".join(pattern), text, flags=re.DOTALL) is not None


# --- sender numbers (발신번호 사전등록제) -----------------------------------------------------

def normalise_sender(number: str, field_name: str = "number") -> str:
    """Digits of a sender number that meets the pre-registration rules, or ValidationError."""
    digits = re.sub(r"[\s-]", "", number or "")
    if not digits.isascii() or not digits.isdigit():
        raise ValidationError(N_("A sender number may contain digits and hyphens only."),
                              field_name)
    if digits.startswith("050"):
        raise ValidationError(N_("050 numbers cannot be used as sender numbers."), field_name)
    if digits[:2] in ("15", "16", "18"):
        if len(digits) != 8:
            raise ValidationError(N_("A representative number (15XX/16XX/18XX) has exactly 8 "
                                     "digits."), field_name)
        return digits
    if not 8 <= len(digits) <= 11:
        raise ValidationError(N_("A sender number has 8 to 11 digits."), field_name)
    return digits


# --- advertising (정보통신망법 제50조) ----------------------------------------------------------

def ad_problems(text: str) -> list[tuple[str, dict]]:
    """An advertising message starts with (광고) and ends with a free 080 opt-out line."""
    problems = []
    if not text.lstrip().startswith(AD_PREFIX):
        problems.append((N_("An advertising message must start with (광고)."), {}))
    if not AD_OPT_OUT.search(text.rstrip()):
        problems.append((N_("An advertising message must end with the free opt-out line, "
                            "e.g. 무료수신거부 080-000-0000."), {}))
    return problems


def ad_release_time(local_now: dt.datetime, night_consent: bool) -> dt.datetime | None:
    """When an ad may go out: None (now), or 08:00 after a 21:00–08:00 night without consent."""
    if night_consent:
        return None
    clock = local_now.timetz().replace(tzinfo=None)
    if clock >= NIGHT_START:
        day = local_now.date() + dt.timedelta(days=1)
    elif clock < NIGHT_END:
        day = local_now.date()
    else:
        return None
    return dt.datetime.combine(day, NIGHT_END, tzinfo=local_now.tzinfo)
