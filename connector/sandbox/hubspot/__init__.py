"""The HubSpot half of the sandbox: CRM v3 objects, search, batch, properties, associations v4."""
