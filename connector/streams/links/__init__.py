"""Links between HubSpot contacts and Salesforce records as one-off jobs: `relink` rebuilds them
from both sides, `reconcile` compares both sides for the synced population."""
