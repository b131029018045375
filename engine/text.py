"""Marker for user-facing text written in the engine.

The engine never imports Flask, so it cannot translate; it writes English message ids
wrapped in ``N_`` (so ``pybabel extract -k N_`` finds them) and the view layer translates
them into the user's language (Korean by default, Japanese, English).
"""


def N_(message: str) -> str:
    return message
