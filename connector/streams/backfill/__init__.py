"""`leadbridge backfill`: the contacts stream's decisions over a whole population (HubSpot's
contacts in a window of change times, or the synced population), checkpointed per page."""
