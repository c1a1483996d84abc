"""Who may read and write what: the backend's CASL abilities, reduced to what clients see."""

from __future__ import annotations

from typing import Any

from scisync.sandbox import dto
from scisync.sandbox.auth import Caller
from scisync.sandbox.settings import ALL_USERS, SandboxSettings

PRIVATE, PUBLIC, REGISTERED, AMENDED = dto.PUBLISHED_DATA_STATUSES


class Access:
    """Group checks for one server's settings."""

    def __init__(self, settings: SandboxSettings) -> None:
        self.settings = settings

    def member(self, caller: Caller, groups: tuple[str, ...]) -> bool:
        """Is an authenticated *caller* in one of *groups* (``#all`` = everybody)?"""
        if caller.account is None:
            return False
        return ALL_USERS in groups or any(group in groups for group in caller.groups)

    def is_admin(self, caller: Caller) -> bool:
        return self.member(caller, tuple(g for g in self.settings.admin_groups if g != ALL_USERS))

    def owns(self, caller: Caller, doc: dict[str, Any]) -> bool:
        return doc.get("ownerGroup") in caller.groups

    def can_read(self, caller: Caller, doc: dict[str, Any]) -> bool:
        if doc.get("isPublished") is True or self.is_admin(caller):
            return True
        if caller.account is None:
            return False
        if self.owns(caller, doc):
            return True
        access = doc.get("accessGroups") or []
        # sharedWith is honoured by list queries only (read_clause), not by GET-by-id.
        return any(group in caller.groups for group in access)

    # --- datasets (also gate origdatablocks and v3 attachments) -------------------
    def dataset_creator(self, caller: Caller) -> bool:
        s = self.settings
        return self.is_admin(caller) or self.member(
            caller,
            s.create_dataset_groups
            + s.create_dataset_with_pid_groups
            + s.create_dataset_privileged_groups,
        )

    def may_supply_pid(self, caller: Caller) -> bool:
        s = self.settings
        return self.is_admin(caller) or self.member(
            caller, s.create_dataset_with_pid_groups + s.create_dataset_privileged_groups
        )

    def any_owner_group(self, caller: Caller) -> bool:
        return self.is_admin(caller) or self.member(
            caller, self.settings.create_dataset_privileged_groups
        )

    def may_update_dataset(self, caller: Caller, dataset: dict[str, Any]) -> bool:
        return self.is_admin(caller) or (
            self.dataset_creator(caller) and self.owns(caller, dataset)
        )

    def may_delete(self, caller: Caller) -> bool:
        return self.member(caller, self.settings.delete_groups)

    # --- samples -----------------------------------------------------------------
    def sample_creator(self, caller: Caller) -> bool:
        s = self.settings
        return self.is_admin(caller) or self.member(
            caller, s.sample_groups + s.sample_privileged_groups
        )

    def sample_any_owner(self, caller: Caller) -> bool:
        return self.is_admin(caller) or self.member(caller, self.settings.sample_privileged_groups)

    def may_update_sample(self, caller: Caller, sample: dict[str, Any]) -> bool:
        return self.is_admin(caller) or (self.sample_creator(caller) and self.owns(caller, sample))

    # --- attachments (v4) ------------------------------------------------------------
    def attachment_creator(self, caller: Caller) -> bool:
        s = self.settings
        return self.is_admin(caller) or self.member(
            caller, s.attachment_groups + s.attachment_privileged_groups
        )

    def attachment_any_owner(self, caller: Caller) -> bool:
        return self.is_admin(caller) or self.member(
            caller, self.settings.attachment_privileged_groups
        )

    def may_update_attachment(self, caller: Caller, attachment: dict[str, Any]) -> bool:
        return self.is_admin(caller) or (
            self.attachment_creator(caller) and self.owns(caller, attachment)
        )

    def read_clause(self, caller: Caller) -> dict[str, Any] | None:
        """The ``where`` the backend adds to list queries (None: sees everything)."""
        if self.is_admin(caller):
            return None
        if caller.account is None:
            return {"isPublished": True}
        ors: list[dict[str, Any]] = [
            {"ownerGroup": {"$in": list(caller.groups)}},
            {"accessGroups": {"$in": list(caller.groups)}},
            {"isPublished": True},
        ]
        if caller.email:
            ors.append({"sharedWith": {"$in": [caller.email]}})
        return {"$or": ors}

    # --- published data ----------------------------------------------------------------
    def published_data_clause(self, caller: Caller, *, listing: bool) -> dict[str, Any] | None:
        """The ``where`` that limits which published-data records *caller* sees (None: all).

        The backend's ``getAccessBasedFilters``: admins see everything; everyone else the
        ``public``, ``registered`` and ``amended`` records, and a signed-in caller also the
        records they created.  On lists (*listing*) its ``RegisteredFilterPipe`` narrows an
        anonymous caller to ``registered`` records.  The API and the web pages both apply
        this one rule; the keys are spread over a caller's ``where`` as the backend does.
        """
        if self.is_admin(caller):
            return None
        ors: list[dict[str, Any]] = [{"status": s} for s in (PUBLIC, REGISTERED, AMENDED)]
        if caller.account is not None:
            ors.append({"createdBy": caller.username})
        elif listing:
            return {"status": REGISTERED, "$or": ors}
        return {"$or": ors}
