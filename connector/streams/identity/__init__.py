"""`hubspot.merges` and `hubspot.deletions`: HubSpot contact merges and plain deletions carried
to the store and Salesforce (one Lead per person after a merge; a deleted contact's Lead left,
flagged or deleted, and unlinked)."""
