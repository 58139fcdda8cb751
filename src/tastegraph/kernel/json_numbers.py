"""JSON has one number type: `5.0` is the integer 5 (JSON Schema agrees), `5.5` is not an integer."""

from __future__ import annotations

from typing import Annotated

from pydantic import BeforeValidator, StrictInt


def _whole_float_as_int(value: object) -> object:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


# Put last in an Annotated integer, after its constraints (so they stay in its JSON schema):
# Annotated[StrictInt, Field(ge=1), WHOLE_NUMBER].
WHOLE_NUMBER = BeforeValidator(_whole_float_as_int)

# A strict integer ("5" and true are refused) that also takes a whole number written as 5.0.
JsonInt = Annotated[StrictInt, WHOLE_NUMBER]
