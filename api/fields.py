"""Field types of request bodies, checked at the edge so that a client's mistake is a 422, not a 500.

* :data:`Id`: a stored row's id, a JSON integer from 1 to 2^31 - 1 (ids are 32-bit keys on
  PostgreSQL). Strict: ``true`` is not household 1, ``"7"`` and ``7.0`` are not ids.
* :data:`Number`: a JSON number. Strict: ``true`` is not 1.0 (integers are numbers).
* :data:`Text`: a JSON string without NUL, lone surrogates or control characters
  (:mod:`services.text_checks`), which the store could not keep or a spreadsheet would misread.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, Strict

from services.access import MAX_ID
from services.text_checks import SingleLine

INT32_MAX = MAX_ID  # ids are 32-bit integer keys on PostgreSQL

Id = Annotated[int, Strict(), Field(ge=1, le=INT32_MAX)]
Number = Annotated[float, Strict()]
Count = Annotated[int, Strict()]
Text = SingleLine
