"""The admin-edited files as data: YAML read safely into pydantic models, every problem
reported at its `file:line:col` with a "did you mean" for a typo (`loader`, `suggest`), and the
one strict base all those models share (`strict`)."""
