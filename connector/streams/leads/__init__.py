"""`salesforce.leads`: what sales did with a Lead (status, owner, rejection reason, the fields
synced both ways) mirrored to its HubSpot contact."""
