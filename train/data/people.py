"""Who is held out of training: the one split every recipe, validation and benchmark shares.

Accuracy on people a model never saw is the product's promise, and a figure is only honest on
people no choice was made on. So the held-out people come in two groups:

- ``SELECTION``: never trained on; recipes (losses, data mixes, schedules) are chosen on them,
  in validation and on the rendered benchmark's "select" set.
- ``REPORT``: never trained on and never used for any choice; the figures the docs publish.

Everyone else in ``../shared/data/mocap`` may be trained on. Subjects are the libraries' own
(``train.data.mocap``): CMU-Daz takes by style or CMU subject, ReActIdle by its clip number (the
person), DeepMimic by motion (its performers are not named).
"""
from __future__ import annotations

SELECTION: frozenset[str] = frozenset({
    "indian", "cmu_12",                                   # CMU-Daz: Indian dance; walks
    "reactidle_010", "reactidle_011",                     # standing idle
    "deepmimic_kick", "deepmimic_jog", "deepmimic_dance_a", "deepmimic_getup_faceup",
})
REPORT: frozenset[str] = frozenset({
    "martial", "cmu_13",                                  # CMU-Daz: martial arts; walks, jumps
    "reactidle_012", "reactidle_013", "reactidle_014", "reactidle_015",
    "deepmimic_punch", "deepmimic_run", "deepmimic_spinkick", "deepmimic_cartwheel",
    "deepmimic_getup_facedown", "deepmimic_dance_b",
})
HELD_OUT: frozenset[str] = SELECTION | REPORT
GROUPS: dict[str, frozenset[str]] = {"select": SELECTION, "report": REPORT}
