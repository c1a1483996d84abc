"""Planning a dataset's attachments: add, update or keep each by its caption."""

from __future__ import annotations

from scisync.desired.ids import attachment_id
from scisync.desired.model import DesiredDataset
from scisync.observe.model import ObservedDataset
from scisync.plan.model import AttachmentAction, AttachmentChange


def attachment_changes(
    dataset: DesiredDataset, current: ObservedDataset | None
) -> list[AttachmentChange]:
    changes = []
    existing = {a.id: a for a in current.attachments} if current else {}
    for attachment in dataset.attachments:
        aid = attachment_id(current.pid, attachment.caption) if current else ""
        found = existing.get(aid)
        if found is None:
            action = AttachmentAction.ADD
        elif (
            found.thumbnail_sha256 != attachment.thumbnail_sha256
            or found.caption != attachment.caption
        ):
            action = AttachmentAction.UPDATE
        else:
            action = AttachmentAction.KEEP
        changes.append(
            AttachmentChange(
                caption=attachment.caption,
                action=action,
                aid=aid,
                image=str(attachment.image),
                blake3=attachment.blake3,
                thumbnail_sha256=attachment.thumbnail_sha256,
            )
        )
    return changes
