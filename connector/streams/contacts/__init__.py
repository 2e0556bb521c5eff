"""`hubspot.contacts`: qualified HubSpot contacts become Salesforce Leads (or link to a Lead or
Contact that exists), routed, with the Salesforce ids written back."""
