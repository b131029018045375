"""ruledesk's domain and interpreters: models, operations, rules, messages, jobs.

Never imports Flask: the same functions serve the web forms, the JSON API, rule actions and
the scheduler.
"""
