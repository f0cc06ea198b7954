"""Multipart uploads streamed straight to disk under server-chosen names, with a size limit and
content checks (magic bytes for video, the track parsers for tracks). Client file names are never
used for paths."""

from __future__ import annotations

import json
import shutil
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from fastapi import HTTPException, status
from python_multipart.multipart import MultipartParser, parse_options_header

FILE_FIELDS = ("video", "track")
TEXT_FIELDS = ("options",)
MAX_TEXT_FIELD_BYTES = 64 * 1024
# A track suffix picks the parser; anything else is sniffed from the content (see tenken.track_formats).
TRACK_SUFFIXES = frozenset({".gpx", ".nmea", ".csv", ".srt", ".txt", ".log"})


def video_suffix(head: bytes) -> str | None:
    """The container a video's first bytes announce, as a file suffix; None when not a known video.

    >>> video_suffix(b"\\x00\\x00\\x00\\x18ftypmp42")
    '.mp4'
    >>> video_suffix(b"GIF89a") is None
    True
    """
    if len(head) >= 12 and head[4:8] == b"ftyp":
        return ".mov" if head[8:10] == b"qt" else ".mp4"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return ".mkv"
    if head.startswith(b"RIFF") and head[8:12] == b"AVI ":
        return ".avi"
    if head.startswith(b"\x00\x00\x01\xba"):
        return ".mpg"
    if len(head) >= 377 and head[0] == head[188] == head[376] == 0x47:  # MPEG-TS sync bytes
        return ".ts"
    return None


def track_suffix(client_name: str | None) -> str:
    """A suffix from the allowlist when the client's name ends with one, else `.txt` (content sniffed).

    >>> track_suffix("../../etc/drive.GPX"), track_suffix("x.exe"), track_suffix(None)
    ('.gpx', '.txt', '.txt')
    """
    suffix = Path(client_name or "").suffix.lower()
    return suffix if suffix in TRACK_SUFFIXES else ".txt"


@dataclass
class SavedFile:
    path: Path
    size_bytes: int
    head: bytes  # the first bytes, for the content check
    client_name: str | None


@dataclass
class Upload:
    folder: Path
    files: dict[str, SavedFile] = field(default_factory=dict)
    fields: dict[str, str] = field(default_factory=dict)

    def options(self) -> dict[str, Any]:
        raw = self.fields.get("options")
        if not raw:
            return {}
        try:
            value = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise HTTPException(status.HTTP_400_BAD_REQUEST, f"options is not JSON: {exc.msg}") from None
        if not isinstance(value, dict):
            raise HTTPException(status.HTTP_400_BAD_REQUEST, "options must be a JSON object")
        return value

    def discard(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


class _PartWriter:
    """Receives the multipart parser's callbacks and writes each part where it belongs."""

    def __init__(self, folder: Path, check_options: Callable[[dict[str, Any]], object] | None = None) -> None:
        self.upload = Upload(folder)
        self.check_options = check_options
        self.refusal: HTTPException | None = None  # bad options: refused before the rest arrives
        self._header_field = b""
        self._header_value = b""
        self._headers: dict[bytes, bytes] = {}
        self._name: str | None = None
        self._file: IO[bytes] | None = None
        self._saved: SavedFile | None = None
        self._text = bytearray()
        self.error: str | None = None

    def on_part_begin(self) -> None:
        self._headers, self._name, self._file, self._saved = {}, None, None, None
        self._text = bytearray()

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_field += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def on_header_end(self) -> None:
        self._headers[self._header_field.lower()] = self._header_value
        self._header_field, self._header_value = b"", b""

    def on_headers_finished(self) -> None:
        _, params = parse_options_header(self._headers.get(b"content-disposition", b""))
        name = params.get(b"name", b"").decode("utf-8", "replace")
        filename = params.get(b"filename")
        if name in FILE_FIELDS:
            if filename is None:
                self.error = f"{name} must be sent as a file"
                return
            if name in self.upload.files:
                self.error = f"{name} was sent twice"
                return
            # The server names the file; the client's name is kept only as a label.
            path = self.upload.folder / f"{name}.upload"
            self._file = path.open("wb")
            self._saved = SavedFile(path, 0, b"", filename.decode("utf-8", "replace")[:255])
            self.upload.files[name] = self._saved
        elif name in TEXT_FIELDS:
            pass
        else:
            self.error = f"unexpected form field {name[:40]!r}; send video, track and optionally options"
        self._name = name

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self.error:
            return
        chunk = data[start:end]
        if self._file is not None and self._saved is not None:
            if len(self._saved.head) < 512:
                self._saved.head += chunk[: 512 - len(self._saved.head)]
            self._file.write(chunk)
            self._saved.size_bytes += len(chunk)
        elif self._name in TEXT_FIELDS:
            self._text += chunk
            if len(self._text) > MAX_TEXT_FIELD_BYTES:
                self.error = f"{self._name} is longer than {MAX_TEXT_FIELD_BYTES} bytes"

    def on_part_end(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        elif self._name in TEXT_FIELDS and not self.error:
            self.upload.fields[self._name] = self._text.decode("utf-8", "replace")
            if self._name == "options" and self.check_options is not None:
                try:
                    self.check_options(self.upload.options())
                except HTTPException as exc:
                    self.refusal = exc

    def close(self) -> None:
        if self._file is not None:
            self._file.close()


def _too_large(max_bytes: int) -> HTTPException:
    return HTTPException(
        status.HTTP_413_CONTENT_TOO_LARGE,
        f"upload is larger than the limit of {max_bytes / 1024**2:.0f} MiB (setting upload_max_bytes)",
    )


async def receive_upload(
    content_type: str | None,
    content_length: str | None,
    body: AsyncIterator[bytes],
    root: Path,
    max_bytes: int,
    check_options: Callable[[dict[str, Any]], object] | None = None,
) -> Upload:
    """Stream a multipart body into a new folder under `root`; 413 past `max_bytes`, 400 when malformed.

    `check_options` sees the `options` field as soon as it has arrived: options sent before the
    video are refused without waiting for (and storing) the video.
    """
    media, params = parse_options_header(content_type)
    boundary = params.get(b"boundary")
    if media != b"multipart/form-data" or not boundary:
        raise HTTPException(
            status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
            "send the upload as multipart/form-data (fields video, track)",
        )
    if content_length is not None and content_length.isdigit() and int(content_length) > max_bytes:
        raise _too_large(max_bytes)
    folder = root / uuid.uuid4().hex
    folder.mkdir(parents=True)
    writer = _PartWriter(folder, check_options)
    callbacks: Any = {
        name: getattr(writer, name)
        for name in (
            "on_part_begin",
            "on_part_data",
            "on_part_end",
            "on_header_field",
            "on_header_value",
            "on_header_end",
            "on_headers_finished",
        )
    }
    parser = MultipartParser(boundary, callbacks)
    received = 0
    try:
        async for chunk in body:
            received += len(chunk)
            if received > max_bytes:
                raise _too_large(max_bytes)
            parser.write(chunk)
            if writer.error:
                raise HTTPException(status.HTTP_400_BAD_REQUEST, writer.error)
            if writer.refusal is not None:
                raise writer.refusal
        parser.finalize()
    except HTTPException:
        writer.close()
        writer.upload.discard()
        raise
    except Exception as exc:  # python-multipart raises its own errors for a malformed body
        writer.close()
        writer.upload.discard()
        raise HTTPException(status.HTTP_400_BAD_REQUEST, f"malformed multipart body: {exc}") from None
    writer.close()
    return writer.upload


def finalise_names(upload: Upload) -> tuple[Path, Path]:
    """Check both files are there and look like what they claim, and give them their final names."""
    for name in FILE_FIELDS:
        saved = upload.files.get(name)
        if saved is None:
            raise HTTPException(status.HTTP_400_BAD_REQUEST, f"missing file field {name!r}")
        if saved.size_bytes == 0:
            raise HTTPException(status.HTTP_400_BAD_REQUEST, f"{name} is empty")
    video, track = upload.files["video"], upload.files["track"]
    suffix = video_suffix(video.head)
    if suffix is None:
        raise HTTPException(
            status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
            "video is not a video container Tenken reads (MP4/MOV, MKV/WebM, AVI, MPEG-PS/TS)",
        )
    video_path = video.path.rename(upload.folder / f"video{suffix}")
    track_path = track.path.rename(upload.folder / f"track{track_suffix(track.client_name)}")
    return video_path, track_path
