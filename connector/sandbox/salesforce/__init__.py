"""The Salesforce half of the sandbox: schema, in-memory org, REST, SOQL, SOAP."""
