"""Privacy: everything stored about a person, exported as one document or erased on request."""

from bot.services.privacy.customer_erasure import ErasureResult, erase_customer
from bot.services.privacy.customer_export import export_customer
from bot.services.privacy.staff_members import StaffErasureResult, erase_staff_member, export_staff_member
from bot.services.privacy.subjects import PersonNotFound, SubjectQuery

__all__ = [
    "ErasureResult",
    "PersonNotFound",
    "StaffErasureResult",
    "SubjectQuery",
    "erase_customer",
    "erase_staff_member",
    "export_customer",
    "export_staff_member",
]
