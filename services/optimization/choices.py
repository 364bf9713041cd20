"""The choices a schedule request offers: objectives, terminal rules and step lengths.

Shared by the request types (:mod:`.problem`) and their checks (:mod:`.input_checks`),
so that neither has to import the other for them.
"""

from __future__ import annotations

from typing import Literal

Objective = Literal["cost", "self_consumption", "peak"]
Terminal = Literal["at_least_initial", "free", "value"]
#: Step lengths the schedule supports [h]: 5, 15, 30 and 60 minutes.
STEP_HOURS = (5 / 60, 0.25, 0.5, 1.0)
