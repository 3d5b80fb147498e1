#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: reflexion.incident contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: llm_api_probe
short_description: Check that the LLM providers (OpenAI, Anthropic) answer, and why not
version_added: 0.1.0
description:
  - >-
    The runbook's "LLM API Failures" checks, C(curl -H "Authorization: Bearer $OPENAI_API_KEY"
    https://api.openai.com/v1/models) and the Anthropic equivalent, as one read-only probe.
  - Makes one cheap authenticated call per provider (list models), or with O(call=completion) a
    minimal completion (one output token), all providers concurrently.
  - Classifies each answer as V(ok), V(auth_failed) (401/403), V(rate_limited) (429, with
    C(retry_after) and the provider's rate-limit headers), V(server_error) (5xx, 529),
    V(timeout) or V(unreachable), with the latency.
  - The API keys, including those read from E(OPENAI_API_KEY) and E(ANTHROPIC_API_KEY), never appear in any
    return value, failure message or log, in any form (as given, stripped of a trailing newline, or escaped);
    error texts from the providers are redacted.
  - Proxies are not used; the probe measures the direct path to the service.
author:
  - Reflexion SRE team (@reflexion)
extends_documentation_fragment:
  - reflexion.incident.probe
options:
  providers:
    description:
      - The providers to check. By default both, with their public base URLs and the keys from
        E(OPENAI_API_KEY) and E(ANTHROPIC_API_KEY) on the target.
    type: list
    elements: dict
    default: [{name: openai}, {name: anthropic}]
    suboptions:
      name:
        description: The provider.
        type: str
        required: true
        choices: [openai, anthropic]
      base_url:
        description:
          - Base URL (with or without C(/v1)); defaults to the provider's public API.
          - Point it at a fake provider in a lab.
        type: str
      api_key:
        description:
          - The API key. Defaults to E(OPENAI_API_KEY) or E(ANTHROPIC_API_KEY) on the target.
          - Without a key the call is sent unauthenticated and normally ends as V(auth_failed).
          - Surrounding whitespace (a trailing newline from a file or a Kubernetes secret) is stripped, from
            this option and from the environment variables. A key with whitespace or a control character
            inside is refused (the message names the option, never the key); from the environment, that
            provider is reported V(auth_failed) and nothing is sent.
        type: str
      model:
        description: Model for O(call=completion).
        type: str
  call:
    description:
      - V(models) lists the models (free); V(completion) asks for one token (costs a request).
    type: str
    default: models
    choices: [models, completion]
  slow_ms:
    description: An V(ok) answer slower than this many milliseconds makes the provider V(degraded).
    type: float
    default: 5000.0
"""

EXAMPLES = r"""
- name: LLM API failures (runbook)
  reflexion.incident.llm_api_probe:
    timeout: 10
  register: llm

- name: Against the lab's fake provider
  reflexion.incident.llm_api_probe:
    providers:
      - name: openai
        base_url: http://127.0.0.1:18080
      - name: anthropic
        base_url: http://127.0.0.1:18080
    call: completion
"""

RETURN = r"""
status:
  description: The worst status over the providers (ok is V(healthy), rate_limited V(degraded), others V(down)).
  returned: always
  type: str
reason:
  description: Why, in one line.
  returned: always
  type: str
providers:
  description: One entry per provider name.
  returned: always
  type: dict
  sample:
    openai:
      status: degraded
      outcome: rate_limited
      status_code: 429
      latency_ms: 12.4
      retry_after: 20.0
      rate_limits: {"x-ratelimit-remaining-requests": "0"}
  contains:
    status:
      description: V(healthy), V(degraded) or V(down).
      type: str
    outcome:
      description: V(ok), V(auth_failed), V(rate_limited), V(server_error), V(timeout), V(unreachable) or V(unexpected).
      type: str
    status_code:
      description: HTTP status, null without an answer.
      type: int
    latency_ms:
      description: Total time of the call in milliseconds.
      type: float
    retry_after:
      description: Seconds the provider asks to wait (C(retry-after-ms) or C(retry-after)), else null.
      type: float
    rate_limits:
      description: The provider's rate-limit headers (C(x-ratelimit-*), C(anthropic-ratelimit-*)).
      type: dict
    url:
      description: The URL called.
      type: str
    key_source:
      description: Where the key came from, V(param), V(env) or V(none). The key itself is never returned.
      type: str
    error:
      description: The provider's error message or the connection error, redacted; null when ok.
      type: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.reflexion.incident.plugins.module_utils._probe import finish
from ansible_collections.reflexion.incident.plugins.module_utils._probe_llm import (
    LlmApiProbe,
    argument_spec,
    env_secrets,
    validate,
)
from ansible_collections.reflexion.incident.plugins.module_utils._redact import register_secrets, url_passwords


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    # the keys read from the environment, and every form of each key (a trailing newline stripped or
    # escaped), are masked in every output like the api_key option itself
    providers = module.params["providers"] or []
    register_secrets(module, env_secrets() | url_passwords(providers)
                     | set(p["api_key"] for p in providers if p.get("api_key")))
    validate(module)
    result = LlmApiProbe(module.params).run()
    finish(module, result)


if __name__ == "__main__":
    main()
