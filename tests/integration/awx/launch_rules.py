"""How AWX accepts a job template launch's extra_vars (test helper, pure).

AWX's own rules (awx/main/models/mixins.py SurveyJobTemplateMixin, AWX 24), written down so that the tests
can check what EDA Controller posts against the templates in awx/awx_import.json without an AWX:
- a survey question's default is applied only when the default itself passes the question's validation
  (so a text question with min 1 and default "" injects nothing);
- a required question with neither an answer nor a valid default refuses the launch
  ("variables_needed_to_start");
- an answer must pass the question (type, min/max length or value, choices);
- extra vars that are not survey answers need ask_variables_on_launch, otherwise the launch is refused.
"""


def _check(question, value):
    qtype = question["type"]
    var = question["variable"]
    if qtype in ("text", "textarea", "password"):
        if not isinstance(value, str):
            return "%s: must be a string" % var
        if question.get("min") not in ("", None) and len(value) < int(question["min"]):
            return "%s: shorter than %s" % (var, question["min"])
        if question.get("max") not in ("", None) and len(value) > int(question["max"]):
            return "%s: longer than %s" % (var, question["max"])
    elif qtype in ("integer", "float"):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or (qtype == "integer" and not isinstance(value, int)):
            return "%s: must be a number" % var
        if question.get("min") not in ("", None) and value < float(question["min"]):
            return "%s: below %s" % (var, question["min"])
        if question.get("max") not in ("", None) and value > float(question["max"]):
            return "%s: above %s" % (var, question["max"])
    elif qtype == "multiplechoice":
        choices = question["choices"].split("\n") if isinstance(question["choices"], str) else question["choices"]
        if value not in choices:
            return "%s: %r is not one of %s" % (var, value, choices)
    return None


def launch(job_template, posted_extra_vars):
    """The extra vars a job of ``job_template`` (awx export form) would get; raise ValueError as AWX refuses."""
    spec = job_template.get("related", {}).get("survey_spec", {}).get("spec", []) if job_template.get("survey_enabled") else []
    posted = dict(posted_extra_vars or {})
    survey_vars = {q["variable"] for q in spec}
    errors = []
    extra = {}
    for q in spec:
        var = q["variable"]
        if var in posted:
            problem = _check(q, posted[var])
            if problem:
                errors.append(problem)
            continue
        default = q.get("default")
        if default is not None and _check(q, default) is None:
            extra[var] = default
        elif q.get("required"):
            errors.append("variables_needed_to_start: %s" % var)
    others = sorted(set(posted) - survey_vars)
    if others and not job_template.get("ask_variables_on_launch"):
        errors.append("Variables %s provided, but this template cannot accept variables" % ", ".join(others))
    if errors:
        raise ValueError("; ".join(errors))
    extra.update(posted)
    return extra
