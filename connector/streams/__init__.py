"""The streams: each moves one kind of change between HubSpot and Salesforce, a page at a time
(pull, decide, push, record). One folder per stream, holding the stream and its pure decisions."""
