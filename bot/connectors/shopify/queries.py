"""The GraphQL documents the connector sends to Shopify's Admin API, each a named operation."""

REQUIRED_SCOPES = (
    "read_products",
    "read_inventory",
    "read_orders",
    "write_orders",  # refundCreate, tags and notes
    "write_order_edits",  # removing and swapping line items
    "read_customers",  # the order's customer: name, e-mail, phone, language
)

# Topics registered through the API; the privacy topics (customers/data_request, customers/redact, shop/redact)
# are set in the app's configuration instead and arrive at the same address.
WEBHOOK_TOPICS = (
    "ORDERS_CREATE",
    "ORDERS_UPDATED",
    "ORDERS_CANCELLED",
    "ORDERS_FULFILLED",
    "FULFILLMENTS_CREATE",
    "PRODUCTS_CREATE",
    "PRODUCTS_UPDATE",
    "PRODUCTS_DELETE",
    "INVENTORY_LEVELS_UPDATE",
    "REFUNDS_CREATE",
)

SHOP_CHECK = """
query ShopCheck {
  shop { name myshopifyDomain currencyCode }
  currentAppInstallation { accessScopes { handle } }
  location { id name }
}
"""

WEBHOOK_SUBSCRIPTIONS = """
query WebhookSubscriptions($cursor: String) {
  webhookSubscriptions(first: 100, after: $cursor) {
    pageInfo { hasNextPage endCursor }
    nodes { id topic uri }
  }
}
"""

WEBHOOK_SUBSCRIPTION_CREATE = """
mutation WebhookSubscriptionCreate($topic: WebhookSubscriptionTopic!, $uri: String!) {
  webhookSubscriptionCreate(topic: $topic, webhookSubscription: {uri: $uri, format: JSON}) {
    webhookSubscription { id topic uri }
    userErrors { field message }
  }
}
"""

PRODUCT_VARIANTS = """
query ProductVariants($first: Int!, $cursor: String) {
  productVariants(first: $first, after: $cursor) {
    pageInfo { hasNextPage endCursor }
    nodes {
      id sku title price inventoryQuantity
      inventoryItem { id tracked }
      product { id title productType vendor updatedAt }
    }
  }
  productVariantsCount { count }
}
"""

# Variants whose product changed since the last reconcile (Shopify's productVariants search takes `updated_at`).
VARIANTS_UPDATED_SINCE = """
query VariantsUpdatedSince($first: Int!, $cursor: String, $query: String!) {
  productVariants(first: $first, after: $cursor, query: $query) {
    pageInfo { hasNextPage endCursor }
    nodes {
      id sku title price inventoryQuantity
      inventoryItem { id tracked }
      product { id title productType vendor updatedAt }
    }
  }
}
"""

# The stock at the location the shop ships from (the primary one unless the connection names another).
STOCK_AT_LOCATION = """
query StockAtLocation($first: Int!, $cursor: String, $location: ID!) {
  productVariants(first: $first, after: $cursor) {
    pageInfo { hasNextPage endCursor }
    nodes {
      id sku
      inventoryItem { id tracked inventoryLevel(locationId: $location) { quantities(names: ["available"]) { name quantity } } }
    }
  }
  productVariantsCount { count }
}
"""

OPEN_ORDERS_QUERY = "status:open AND (fulfillment_status:unshipped OR fulfillment_status:partial)"

OPEN_ORDERS_COUNT = """
query OpenOrdersCount($query: String!) {
  ordersCount(query: $query, limit: null) { count }
}
"""

# Run as a bulk operation: no `first`, nested connections become lines of their own with a __parentId.
OPEN_ORDERS_BULK = """
{
  orders(query: "%s") {
    edges { node {
      __typename id name createdAt updatedAt cancelledAt email phone customerLocale currencyCode taxesIncluded
      customer { firstName lastName displayName phone }
      fulfillments { id }
      lineItems { edges { node {
        __typename id sku quantity currentQuantity unfulfilledQuantity
        originalUnitPriceSet { shopMoney { amount } }
        discountedUnitPriceAfterAllDiscountsSet { shopMoney { amount } }
        taxLines { rate priceSet { shopMoney { amount } } }
        variant { id }
      } } }
    } }
  }
}
""" % OPEN_ORDERS_QUERY

BULK_RUN = """
mutation BulkOperationRunQuery($query: String!) {
  bulkOperationRunQuery(query: $query) {
    bulkOperation { id status }
    userErrors { field message }
  }
}
"""

BULK_STATUS = """
query BulkOperationStatus($id: ID!) {
  node(id: $id) {
    ... on BulkOperation { id status errorCode objectCount url partialDataUrl }
  }
}
"""

ORDERS_UPDATED_SINCE = """
query OrdersUpdatedSince($query: String!, $cursor: String) {
  orders(first: 25, after: $cursor, query: $query, sortKey: UPDATED_AT) {
    pageInfo { hasNextPage endCursor }
    nodes {
      id name createdAt updatedAt cancelledAt email phone customerLocale currencyCode taxesIncluded
      customer { firstName lastName displayName phone }
      fulfillments(first: 50) { id }
      lineItems(first: 50) { nodes {
        id sku quantity currentQuantity unfulfilledQuantity
        originalUnitPriceSet { shopMoney { amount } }
        discountedUnitPriceAfterAllDiscountsSet { shopMoney { amount } }
        taxLines { rate priceSet { shopMoney { amount } } }
        variant { id }
      } }
    }
  }
}
"""

ORDER_FOR_WRITE_BACK = """
query OrderForWriteBack($id: ID!) {
  order(id: $id) {
    id note tags
    transactions(first: 20) { id kind status gateway }
    refunds(first: 50) { id note }
  }
}
"""

ORDER_EDIT_BEGIN = """
mutation OrderEditBegin($id: ID!) {
  orderEditBegin(id: $id) {
    calculatedOrder { id lineItems(first: 250) { nodes { id quantity sku variant { id } } } }
    userErrors { field message }
  }
}
"""

ORDER_EDIT_SET_QUANTITY = """
mutation OrderEditSetQuantity($id: ID!, $lineItemId: ID!, $quantity: Int!) {
  orderEditSetQuantity(id: $id, lineItemId: $lineItemId, quantity: $quantity, restock: true) {
    calculatedLineItem { id quantity }
    userErrors { field message }
  }
}
"""

ORDER_EDIT_ADD_VARIANT = """
mutation OrderEditAddVariant($id: ID!, $variantId: ID!, $quantity: Int!) {
  orderEditAddVariant(id: $id, variantId: $variantId, quantity: $quantity, allowDuplicates: true) {
    calculatedLineItem { id quantity }
    userErrors { field message }
  }
}
"""

ORDER_EDIT_ADD_DISCOUNT = """
mutation OrderEditAddLineItemDiscount($id: ID!, $lineItemId: ID!, $discount: OrderEditAppliedDiscountInput!) {
  orderEditAddLineItemDiscount(id: $id, lineItemId: $lineItemId, discount: $discount) {
    calculatedLineItem { id }
    userErrors { field message }
  }
}
"""

ORDER_EDIT_COMMIT = """
mutation OrderEditCommit($id: ID!, $staffNote: String) {
  orderEditCommit(id: $id, notifyCustomer: false, staffNote: $staffNote) {
    order { id }
    userErrors { field message }
  }
}
"""

REFUND_CREATE = """
mutation RefundCreate($input: RefundInput!, $key: String!) {
  refundCreate(input: $input) @idempotent(key: $key) {
    refund { id }
    userErrors { field message }
  }
}
"""

ORDER_NOTE = """
mutation OrderNote($input: OrderInput!) {
  orderUpdate(input: $input) {
    order { id note }
    userErrors { field message }
  }
}
"""

TAGS_ADD = """
mutation TagsAdd($id: ID!, $tags: [String!]!) {
  tagsAdd(id: $id, tags: $tags) {
    node { id }
    userErrors { field message }
  }
}
"""
