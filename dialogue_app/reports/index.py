"""The branch ranking index: one score from 0 to 100 out of five measures, with its weights shown to all.

Pure: no Flask, no database. Each measure becomes a sub-score from 0 to 100; the index is their weighted
average. A measure a unit has no data for (nothing answered, nothing rated, no plan) is left out and the
other weights count in proportion, so that a unit is neither rewarded nor punished for what did not happen.
"""

from dataclasses import dataclass, field

# Weights in percent; they add up to 100.
WEIGHTS = {
    "on_time": 30,  # share of answers given by the due date
    "speed": 20,  # working days taken to answer
    "rating": 25,  # the businesses' average rating
    "dialogues": 15,  # dialogues held against the plan for the period
    "engaged": 10,  # businesses engaged against the plan for the period
}
# Answering in this many working days or more scores 0 for speed; answering the same day scores 100.
SLOWEST_WORKDAYS = 20


@dataclass(frozen=True)
class Measures:
    answered: int = 0
    on_time: int = 0
    workdays_total: int = 0
    rated: int = 0
    rating_total: int = 0
    dialogues: int = 0
    dialogues_target: float = 0
    engaged: int = 0
    engaged_target: float = 0


@dataclass(frozen=True)
class Score:
    index: float | None
    parts: dict[str, float | None] = field(default_factory=dict)


def sub_scores(m: Measures) -> dict[str, float | None]:
    def capped(done: float, target: float) -> float | None:
        return min(done / target, 1.0) * 100 if target > 0 else None

    return {
        "on_time": 100 * m.on_time / m.answered if m.answered else None,
        "speed": max(0.0, 1 - m.workdays_total / m.answered / SLOWEST_WORKDAYS) * 100 if m.answered else None,
        "rating": (m.rating_total / m.rated - 1) / 4 * 100 if m.rated else None,
        "dialogues": capped(m.dialogues, m.dialogues_target),
        "engaged": capped(m.engaged, m.engaged_target),
    }


def score(m: Measures) -> Score:
    parts = sub_scores(m)
    weighed = [(WEIGHTS[name], value) for name, value in parts.items() if value is not None]
    total_weight = sum(weight for weight, _ in weighed)
    index = sum(weight * value for weight, value in weighed) / total_weight if total_weight else None
    return Score(index, parts)


def rank(scores: dict[int, Score]) -> dict[int, int]:
    """Rank 1 for the highest index; equal indexes share a rank; units without an index get none."""
    ordered = sorted((-s.index, key) for key, s in scores.items() if s.index is not None)
    ranks: dict[int, int] = {}
    previous, position = None, 0
    for place, (negative, key) in enumerate(ordered, start=1):
        value = -negative
        if previous is None or round(value, 1) != round(previous, 1):
            position = place
        ranks[key] = position
        previous = value
    return ranks
