"""Build ``pose_landmarker.task`` and ``hand_landmarker.task`` from the models bundled inside
mediapipe 0.10.21.

The Tasks API reads a ``.task`` bundle: a zip of a detector and a landmark model
(``pose_detector.tflite`` + ``pose_landmarks_detector.tflite``; ``hand_detector.tflite`` +
``hand_landmarks_detector.tflite``) whose TFLite metadata carries the input normalisation. The
legacy copies that mediapipe <= 0.10.21 ships under ``mediapipe/modules`` lack that metadata,
and mediapipe 0.10.30+ ships no models at all, so the project builds the bundle once, with
mediapipe's own ``metadata_writers``, and the package carries the result. Inference then needs
no network and no particular mediapipe version.

Rebuild (needs mediapipe 0.10.21, whose wheel still has the models)::

    python -m repose_core.detect.task_bundle [-o repose_core/assets/pose_landmarker.task]
                                             [--hand-output repose_core/assets/hand_landmarker.task]

Byte-for-byte reproducible: zip entries carry a fixed timestamp.
"""
from __future__ import annotations

import argparse
import io
import struct
import zipfile
from pathlib import Path

import mediapipe
from mediapipe.tasks.python.metadata.metadata_writers import (
    metadata_writer,
    model_asset_bundle_utils,
)

from .atomic import atomic_output
from .hand_landmarker import DEFAULT_HAND_TASK_PATH
from .landmarker import DEFAULT_TASK_PATH

# (bundle entry, model inside the mediapipe wheel, input normalisation mean, std, name).
# The detector (BlazePose SSD) takes [-1, 1] input: (pixel - 127.5) / 127.5. The landmark model
# takes [0, 1]: (pixel - 0) / 255. These are the values mediapipe's own pose graphs used.
_MODELS = (
    ("pose_detector.tflite", "modules/pose_detection/pose_detection.tflite", 127.5, 127.5,
     "BlazePose detector"),
    ("pose_landmarks_detector.tflite", "modules/pose_landmark/pose_landmark_full.tflite", 0.0,
     255.0, "BlazePose GHUM 3D landmarks (full)"),
)
# The hand models both take [0, 1] input, as mediapipe's hand graphs feed them (the palm
# detector finds nothing on [-1, 1] input).
_HAND_MODELS = (
    ("hand_detector.tflite", "modules/palm_detection/palm_detection_full.tflite", 0.0, 255.0,
     "MediaPipe palm detector (full)"),
    ("hand_landmarks_detector.tflite", "modules/hand_landmark/hand_landmark_full.tflite", 0.0,
     255.0, "MediaPipe hand landmarks (full)"),
)
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
_ALIGNMENT = 4  # what mediapipe's bundler uses, so the runtime can mmap the models in place


def _with_normalization(model: bytes, mean: float, std: float, name: str) -> bytes:
    writer = metadata_writer.MetadataWriter.create(bytearray(model))
    writer.add_general_info(name).add_image_input(norm_mean=[mean], norm_std=[std])
    model_with_metadata, _ = writer.populate()
    return _with_fixed_pack_times(bytes(model_with_metadata))


def _with_fixed_pack_times(model: bytes) -> bytes:
    """``model`` with the time stamps of the files packed into it set to _ZIP_TIME.

    The metadata writer re-packs a model's associated files (the palm detector's labels.txt) as
    a zip appended to the model, stamped with the time of the build; fixing the stamps keeps
    the bundle byte-for-byte reproducible. Models without packed files are returned as they are.
    """
    if not zipfile.is_zipfile(io.BytesIO(model)):
        return model
    year, month, day, hour, minute, second = _ZIP_TIME
    dos_time, dos_date = hour << 11 | minute << 5 | second // 2, (year - 1980) << 9 | month << 5 | day
    out = bytearray(model)
    with zipfile.ZipFile(io.BytesIO(model)) as packed:
        entries, directory = packed.infolist(), packed.start_dir  # offsets within ``model``
    for entry in entries:  # the local header: signature, versions, flags, method, time, date
        struct.pack_into("<HH", out, entry.header_offset + 10, dos_time, dos_date)
    for _ in entries:      # the central directory's record of each: time and date at 12
        struct.pack_into("<HH", out, directory + 12, dos_time, dos_date)
        name, extra, comment = struct.unpack_from("<HHH", out, directory + 28)
        directory += 46 + name + extra + comment
    return bytes(out)


def build_task(output: str | Path = DEFAULT_TASK_PATH) -> Path:
    """Write the pose ``.task`` bundle to ``output`` (atomically) and return its path."""
    return _build(_MODELS, output)


def build_hand_task(output: str | Path = DEFAULT_HAND_TASK_PATH) -> Path:
    """Write the hand ``.task`` bundle (a HandLandmarker's) to ``output`` and return its path."""
    return _build(_HAND_MODELS, output)


def _build(models: tuple, output: str | Path) -> Path:
    source_dir = Path(mediapipe.__file__).resolve().parent
    entries = {}
    for entry, relative, mean, std, name in models:
        source = source_dir / relative
        if not source.is_file():
            raise FileNotFoundError(
                f"{source}: bundled model missing; building the .task needs mediapipe 0.10.21 "
                f"(found {mediapipe.__version__}, which no longer ships the legacy models)"
            )
        entries[entry] = _with_normalization(source.read_bytes(), mean, std, name)

    output = Path(output)
    with atomic_output(output) as temp, model_asset_bundle_utils.AlignZipFile(
            temp, mode="w", alignment=_ALIGNMENT) as zf:
        for entry, data in entries.items():
            zf.writestr(zipfile.ZipInfo(entry, date_time=_ZIP_TIME), data)
    return output


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m repose_core.detect.task_bundle",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("-o", "--output", type=Path, default=DEFAULT_TASK_PATH,
                        help=f"where to write the pose bundle (default: {DEFAULT_TASK_PATH})")
    parser.add_argument("--hand-output", type=Path, default=DEFAULT_HAND_TASK_PATH,
                        help=f"where to write the hand bundle (default: {DEFAULT_HAND_TASK_PATH})")
    args = parser.parse_args(argv)
    for path in (build_task(args.output), build_hand_task(args.hand_output)):
        print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
