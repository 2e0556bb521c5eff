"""`hubspot.conversions`: sales-qualified contacts' Leads converted into Account, Contact and
Opportunity, once, with the ids and stage back in HubSpot."""
