"""Evidence of what ran: executions, tool results, approvals and incidents.

Each is an event in the same signed ledger as the authorization it belongs
to, linked by ``authorization_id`` and ``trace_id``.
"""
