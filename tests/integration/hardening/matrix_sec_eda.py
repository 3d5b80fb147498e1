"""Bad-input cases added by the Security II issue (#15), area: eda. Same shapes as matrix.py's MODULES and ROLES."""

MODULES = {
}

ROLES = {
}
