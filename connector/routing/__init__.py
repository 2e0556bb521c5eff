"""Routing: which account a lead belongs to, whether its hierarchy is global, who owns it.

Pure decisions over data the gateways fetched: `match` (lead → candidate accounts, with
`normalize` and `domains` underneath), then the hierarchy walk and the global/regional policy,
which decides from a lead's facts (`decision`) and the users and queues (`directory`) and says
why (`explain`).
"""
