"""Shopify: the GraphQL Admin API client, the adapter, its webhooks' signature and its objects in our words."""
