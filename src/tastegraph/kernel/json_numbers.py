"""JSON has one number type: `5.0` is the integer 5 (JSON Schema agrees), `5.5` is not an integer."""

from __future__ import annotations

from typing import Annotated

from pydantic import BeforeValidator, StrictInt


def _whole_float_as_int(value: object) -> object:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


# A strict integer ("5" and true are refused) that also takes a whole number written as 5.0.
JsonInt = Annotated[StrictInt, BeforeValidator(_whole_float_as_int)]
