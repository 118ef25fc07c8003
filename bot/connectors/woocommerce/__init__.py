"""WooCommerce: REST API v3 client, webhook signatures, mapping to the store records, write-back."""
