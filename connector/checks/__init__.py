"""The admin's checks of the mapping files against the live Salesforce org and HubSpot portal,
apart from the lead plan they check: `mappings validate`, the check before every pass, and
`mappings plan`'s preview of what a pass would change."""
