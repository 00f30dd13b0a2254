"""The lab: what runs the course rather than teaches it.

The teaching library (``tutorial_lib``: data, models, attacks, budgets, evaluation, training, the
toy model, trade-offs, interpretation, generation, statistics, plotting, the zoo's read side) never
imports from here. The lab holds the records of long runs and their stamps (``records``), every
recipe (``recipes``), the zoo's build side (``cards``), each chapter's recorded runs
(``training_runs``, ``tradeoff_runs``, ``feature_runs``), the exercise checks (``grading``), the instructor
guide's tables (``course``), the slide decks (``slides``), the student edition (``edition``) and
the command line (``cli``; ``python -m tutorial_lib``).
"""
