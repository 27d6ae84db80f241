"""An upload handler that stops keeping attachment bytes past the limits.

Django stores every uploaded file (in memory or a temporary file) before a view runs, so a
100 MB "photo" would fill the disk before attachments_add refuses it. For the attachment
field ("files") this handler passes the bytes on to Django's handlers only while the file
and the request stay within the limits; a file over them becomes a placeholder that knows
its name and size, and attachments_add refuses it with the usual message next to the field
(the rest of the form survives). Other file fields are not touched.
"""

from __future__ import annotations

import io

from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import FileUploadHandler

FIELD = "files"


class OversizeUpload(UploadedFile):
    """A file the handler did not keep: only its name and its real size are known."""

    truncated = True

    def __init__(self, name: str, size: int, content_type: str | None):
        super().__init__(io.BytesIO(), name, content_type, size, None)


class AttachmentLimitHandler(FileUploadHandler):
    def __init__(self, request=None):
        super().__init__(request)
        self.total = 0  # bytes of the attachment field in this request
        self.active = False
        self.over = False

    def new_file(self, field_name, file_name, content_type, content_length, charset=None, content_type_extra=None):  # fmt: skip
        super().new_file(field_name, file_name, content_type, content_length, charset, content_type_extra)  # fmt: skip
        self.active = field_name == FIELD
        self.over = False

    def receive_data_chunk(self, raw_data, start):
        if not self.active:
            return raw_data
        from .services import max_file_bytes, max_total_bytes

        self.total += len(raw_data)
        if self.over or start + len(raw_data) > max_file_bytes() or self.total > max_total_bytes():
            self.over = True
            return None  # the later handlers keep nothing more of this file
        return raw_data

    def file_complete(self, file_size):
        if self.active and self.over:
            return OversizeUpload(self.file_name or "", file_size, self.content_type)
        return None
