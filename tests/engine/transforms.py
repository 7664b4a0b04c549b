"""A cell transformer for tests, in the shape of Sage's preparser: source in, source out."""


def caret_power(code: str) -> str:
    """Read ^ as power, as Sage does."""
    if code == "BROKEN":
        raise ValueError("cannot transform BROKEN")
    return code.replace("^", "**")
