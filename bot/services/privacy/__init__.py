"""Privacy: everything stored about a person, exported as one document or erased on request."""

from bot.services.privacy.customer_erasure import ErasureResult, erase_customer
from bot.services.privacy.customer_export import export_customer
from bot.services.privacy.subjects import PersonNotFound, SubjectQuery

__all__ = ["ErasureResult", "PersonNotFound", "SubjectQuery", "erase_customer", "export_customer"]
