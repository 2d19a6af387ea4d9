"""Run a trained lifter: ``load_lifter(path).predict(keypoints, image_size, confidence)``.

``.onnx`` models run on onnxruntime and this module then never imports torch (the Blender add-on
and the batch tool depend on that). ``.pt`` training checkpoints load with torch
(``weights_only=True``). Both carry the same metadata dict (docs/architecture.md, "Model files"),
which says how to feed the model: its receptive field, output mode and input features.

What ``predict`` does, in order: NaN keypoints become missing (confidence 0) and are filled by
interpolating each joint over time; the frames become :func:`repose_core.features.lifter_features`;
the sequence is edge-padded so that every frame gets an output (the metadata's ``output_offset``
says which input frame an output frame belongs to); the model runs chunk by chunk (bounded
memory for any length); with test-time flip (:func:`flip_averaged`) the mirrored input is run in
the same batch and its mirrored output averaged in; with the upright turn (:func:`upright_turns`)
frames whose body lies or stands on its head in the image are lifted again turned upright and
their pose turned back; with the image pull (:func:`repose_core.image_fit.pulled_to_image`) the
limbs' ends are moved halfway toward the joints the detector saw. Every backbone puts the pelvis
at the origin itself (``skeleton.root_centred``).

``lift`` does the same and also returns, for models that predict it (metadata ``outputs``
lists ``"up"``), the world's up direction in the camera frame per frame: what levels a clip.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from .features import (FEATURE_SETS, FEATURES_VERSION, WORLD_FEATURES_VERSION, lifter_features, mirror_features,
                       roll_features, rolled_xy, with_world)
from .image_fit import pulled_to_image
from .skeleton import JOINT_INDEX, JOINTS, NUM_JOINTS, flip_direction, flip_pose
from .temporal import gaussian_smooth

METADATA_FORMAT = "repose-lifter"
METADATA_VERSION = 1
ONNX_METADATA_KEY = "repose"
DEFAULT_LIFTER_PATH = Path(__file__).resolve().parent / "assets" / "default_lifter.onnx"
# What a model file may output: the pose alone, or the pose and the up direction.
POSE_OUTPUT, UP_OUTPUT = "pose3d", "up"
OUTPUT_SETS: tuple[list[str], ...] = ([POSE_OUTPUT], [POSE_OUTPUT, UP_OUTPUT])
# Output frames per model call. Large enough that per-call overhead vanishes, small enough that
# activations stay in the tens of megabytes whatever the sequence length.
DEFAULT_CHUNK_FRAMES = 4096
# The upright turn. Lifters learn from people filmed upright (cameras roll a few degrees), so a
# cartwheel, a handstand or a person lying across the image is far outside what they saw. A
# frame whose torso (hips to thorax) leans more than UPRIGHT_TURN_FROM_DEG in the image is
# lifted turned about the optical axis by the multiple of UPRIGHT_TURN_STEP_DEG that stands it
# up most (exact for a pinhole camera, :func:`features.roll_features`), the pose turned back.
# Chosen on the rendered benchmark's select people (docs/benchmarks.md, "The upright turn"):
# steps of 30-90 degrees and thresholds of 20-60 scored alike. A torso bent forward lifts better
# as filmed: the bundled clip's balancing person leans up to 48 degrees in its rolled camera's
# image, and a 30-degree threshold put it 6.5 mm further from its triangulated truth. The
# torso's angle is smoothed over UPRIGHT_TURN_SMOOTHING_FRAMES, and frames lifted at different
# turns crossfade over UPRIGHT_TURN_FADE_FRAMES so that a turn switching is not a jump.
UPRIGHT_TURN_FROM_DEG = 60.0
UPRIGHT_TURN_STEP_DEG = 45.0
UPRIGHT_TURN_SMOOTHING_FRAMES = 2.0
UPRIGHT_TURN_FADE_FRAMES = 4.0


class LifterLoadError(ValueError):
    """A model file is missing, unreadable, or not a RePOSE lifter this runtime can run."""


def validate_metadata(metadata: Any, source: str) -> dict:
    """A lifter metadata dict, checked, with ``output_offset`` stated (derived for files from
    before it was written); :class:`LifterLoadError` naming ``source`` if unusable."""
    if not isinstance(metadata, dict) or metadata.get("format") != METADATA_FORMAT:
        raise LifterLoadError(f"{source}: not a RePOSE lifter (metadata 'format' is not {METADATA_FORMAT!r})")
    if metadata.get("version") != METADATA_VERSION:
        raise LifterLoadError(
            f"{source}: lifter metadata version {metadata.get('version')!r}; this RePOSE reads "
            f"version {METADATA_VERSION}"
        )
    missing = [key for key in ("backbone", "model_config", "receptive_field", "output_mode", "window",
                               "input_channels", "features_version", "joints") if key not in metadata]
    if missing:
        raise LifterLoadError(f"{source}: lifter metadata lacks {missing}")
    joints = metadata["joints"]
    if not isinstance(joints, list) or len(joints) != NUM_JOINTS:
        count = len(joints) if isinstance(joints, list) else joints
        raise LifterLoadError(
            f"{source}: model has {count} joints; RePOSE needs the {NUM_JOINTS} H36M joints {list(JOINTS)}"
        )
    if tuple(joints) != JOINTS:
        raise LifterLoadError(f"{source}: model joint order {joints} differs from RePOSE's {list(JOINTS)}")
    if FEATURE_SETS.get(metadata["features_version"]) != metadata["input_channels"]:
        known = ", ".join(f"{version!r} with {channels}" for version, channels in FEATURE_SETS.items())
        raise LifterLoadError(
            f"{source}: model expects input features {metadata['features_version']!r} with "
            f"{metadata['input_channels']} channels; this RePOSE makes {known}"
        )
    mode, field, window = metadata["output_mode"], metadata["receptive_field"], metadata["window"]
    if not isinstance(field, int) or field < 1:
        raise LifterLoadError(f"{source}: receptive_field must be a positive integer, got {field!r}")
    if mode == "window":
        if not isinstance(window, int) or window < 1:
            raise LifterLoadError(f"{source}: a 'window' model needs a positive integer window, got {window!r}")
    elif mode != "valid":
        raise LifterLoadError(f"{source}: output_mode must be 'valid' or 'window', got {mode!r}")
    if not isinstance(metadata["model_config"], dict):
        raise LifterLoadError(f"{source}: model_config must be a dict")
    if model_outputs(metadata) not in OUTPUT_SETS:
        raise LifterLoadError(f"{source}: outputs must be one of {list(OUTPUT_SETS)}, got {metadata['outputs']!r}")
    offset = metadata.get("output_offset", _derived_output_offset(metadata))
    frames_out_of_window = 0 if mode == "window" else field - 1
    if not isinstance(offset, int) or not 0 <= offset <= frames_out_of_window:
        raise LifterLoadError(f"{source}: output_offset must be an integer in 0..{frames_out_of_window}, "
                              f"got {offset!r}")
    return {**metadata, "output_offset": offset}


def _derived_output_offset(metadata: dict) -> int:
    """The output offset of a file from before the metadata stated it: 0 for a window model; a
    TCN's output frame is the centre of its receptive field, or its last frame when causal."""
    if metadata["output_mode"] == "window":
        return 0
    field = metadata["receptive_field"]
    return field - 1 if metadata["model_config"].get("causal", False) else (field - 1) // 2


def model_outputs(metadata: dict) -> list[str]:
    """The outputs a model file declares (models from before the up direction had only the pose)."""
    return metadata.get("outputs", [POSE_OUTPUT])


# A model call: features (B, T, 17, 3) -> pose (B, T_out, 17, 3) and up (B, T_out, 3) or None.
RunModel = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray | None]]


def flip_averaged(run_model: RunModel, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """Test-time flip: ``run_model`` on feature windows ``batch`` (B, T, 17, C) and on their
    mirror image in one call, the mirror's outputs mirrored back and averaged in. What the
    runtime gives users, and what the trainer's validation scores with ``flip``."""
    pose, up = run_model(np.concatenate([batch, mirror_features(batch)]))
    n = len(batch)
    pose = 0.5 * (pose[:n] + flip_pose(pose[n:]))
    return pose, (None if up is None else 0.5 * (up[:n] + flip_direction(up[n:])))


@dataclass(frozen=True)
class Lifted:
    """What :meth:`Lifter.lift` returns for a clip of T frames."""

    pose: np.ndarray          # (T, 17, 3) float32 metres, camera frame, pelvis at the origin
    up: np.ndarray | None     # (T, 3) float32 unit vectors: the world's up in the camera frame


def upright_turns(features: np.ndarray) -> np.ndarray:
    """Per frame of a clip's features (T, 17, C), the turn about the optical axis (degrees in
    [0, 360), a multiple of UPRIGHT_TURN_STEP_DEG; ``features.rolled_xy``'s sense) that stands
    its torso up in the image, or 0 where it already leans less than UPRIGHT_TURN_FROM_DEG."""
    centred = np.asarray(features, dtype=np.float64)[..., :2]
    hips = 0.5 * (centred[:, JOINT_INDEX["l_hip"]] + centred[:, JOINT_INDEX["r_hip"]])
    torso = centred[:, JOINT_INDEX["thorax"]] - hips
    # Image y points down: an upright torso is (0, -1), and (sin a, -cos a) leans by a.
    lean = torso / np.maximum(np.linalg.norm(torso, axis=-1, keepdims=True), 1e-9)
    lean = gaussian_smooth(np.stack([lean[:, 0], -lean[:, 1]], -1), UPRIGHT_TURN_SMOOTHING_FRAMES)
    degrees = np.degrees(np.arctan2(lean[:, 0], lean[:, 1]))
    turns = (np.round(degrees / UPRIGHT_TURN_STEP_DEG) * UPRIGHT_TURN_STEP_DEG) % 360.0
    return np.where(np.abs(degrees) < UPRIGHT_TURN_FROM_DEG, 0.0, turns)


def fill_missing(keypoints: np.ndarray, missing: np.ndarray) -> np.ndarray:
    """Fill missing keypoints (T, J, 2) by linear interpolation over time, per joint.

    Before the first / after the last seen frame a joint holds its nearest seen position. A joint
    never seen takes, per frame, the mean of the joints that were seen (the body's centre); if
    nothing was ever seen everything is 0 (the model then sees an all-zero, zero-confidence pose).
    """
    filled = np.where(missing[..., None], 0.0, keypoints).astype(np.float64)
    frames = np.arange(len(keypoints))
    never_seen = []
    for joint in range(keypoints.shape[1]):
        seen = ~missing[:, joint]
        if not seen.any():
            never_seen.append(joint)
        elif not seen.all():
            for axis in range(2):
                filled[:, joint, axis] = np.interp(frames, frames[seen], filled[seen, joint, axis])
    if never_seen and len(never_seen) < keypoints.shape[1]:
        seen_joints = [j for j in range(keypoints.shape[1]) if j not in never_seen]
        filled[:, never_seen] = filled[:, seen_joints].mean(axis=1, keepdims=True)
    return filled


def clip_features(keypoints: np.ndarray, image_size: tuple[float, float],
                  confidence: np.ndarray | None = None, world: np.ndarray | None = None,
                  features_version: str = FEATURES_VERSION) -> np.ndarray:
    """A clip's detections (T, 17, 2) pixels (NaN = missing) and confidence (T, 17) or None ->
    its lifter features (T, 17, C): missing joints get confidence 0 and are filled over time.
    With the ``WORLD_FEATURES_VERSION``, MediaPipe's 3D ``world`` (T, 17, 3) pelvis-centred
    metres (NaN or None: absent) joins them (``features.with_world``).
    What :meth:`Lifter.lift` feeds a model, and what the trainer makes of detected footage."""
    keypoints = np.asarray(keypoints, dtype=np.float64)
    if keypoints.ndim != 3 or keypoints.shape[1:] != (NUM_JOINTS, 2) or len(keypoints) < 1:
        raise ValueError(f"keypoints must have shape (T, {NUM_JOINTS}, 2) with T >= 1, got {keypoints.shape}")
    image_size = _check_image_size(image_size)
    if confidence is None:
        confidence = np.ones(keypoints.shape[:2])
    else:
        confidence = np.asarray(confidence, dtype=np.float64)
        if confidence.shape != keypoints.shape[:2]:
            raise ValueError(
                f"confidence must have shape {keypoints.shape[:2]} (T, {NUM_JOINTS}) like keypoints, "
                f"got {confidence.shape}"
            )
        confidence = np.clip(np.nan_to_num(confidence, nan=0.0), 0.0, 1.0)
    missing = ~np.isfinite(keypoints).all(axis=-1)
    confidence = np.where(missing, 0.0, confidence)
    if missing.any():
        keypoints = fill_missing(keypoints, missing)
    features = lifter_features(keypoints, confidence, image_size)
    return with_world(features, world) if features_version == WORLD_FEATURES_VERSION else features


class Lifter:
    """A loaded lifter. Use :func:`load_lifter` to make one.

    ``flip`` (test-time flip augmentation), ``upright_turn`` (:func:`upright_turns`) and
    ``image_pull`` (:func:`repose_core.image_fit.pulled_to_image`) may be switched at any time.
    """

    def __init__(
        self,
        run_model: RunModel,
        metadata: dict,
        path: Path,
        backend: str,
        flip: bool = True,
        chunk_frames: int = DEFAULT_CHUNK_FRAMES,
        upright_turn: bool = True,
        image_pull: bool = True,
    ) -> None:
        if chunk_frames < 1:
            raise ValueError(f"chunk_frames must be positive, got {chunk_frames}")
        self._run_model = run_model
        self.metadata = metadata
        self.path = path
        self.backend = backend
        self.flip = flip
        self.upright_turn = upright_turn
        self.image_pull = image_pull
        self.chunk_frames = chunk_frames
        self.receptive_field: int = metadata["receptive_field"]
        self.output_mode: str = metadata["output_mode"]
        self.window: int | None = metadata["window"]
        self.output_offset: int = metadata["output_offset"]
        self.predicts_up: bool = UP_OUTPUT in model_outputs(metadata)
        self.features_version: str = metadata["features_version"]
        self.reads_world: bool = self.features_version == WORLD_FEATURES_VERSION
        self.causal: bool = bool(metadata["model_config"].get("causal", False))

    def __repr__(self) -> str:
        return (f"Lifter({str(self.path)!r}, backend={self.backend!r}, backbone={self.metadata['backbone']!r}, "
                f"receptive_field={self.receptive_field}, flip={self.flip}, upright_turn={self.upright_turn}, "
                f"image_pull={self.image_pull})")

    def predict(
        self,
        keypoints: np.ndarray,
        image_size: tuple[float, float],
        confidence: np.ndarray | None = None,
        world: np.ndarray | None = None,
    ) -> np.ndarray:
        """(T, 17, 2) pixel keypoints (NaN = missing) -> (T, 17, 3) float32 metres, camera frame,
        pelvis at the origin. ``confidence``: (T, 17) in [0, 1], or None for all ones.
        ``world``: the detector's own 3D (``Detection2D.world_joints``: (T, 17, 3) metres,
        pelvis-centred, NaN where absent), which a model that reads it (``reads_world``) uses
        and any other ignores; optional for both."""
        return self.lift(keypoints, image_size, confidence, world).pose

    def lift(
        self,
        keypoints: np.ndarray,
        image_size: tuple[float, float],
        confidence: np.ndarray | None = None,
        world: np.ndarray | None = None,
    ) -> Lifted:
        """:meth:`predict`'s pose and, from a model that predicts it, the world's up direction in
        the camera frame per frame (``up`` is None otherwise). Same arguments as ``predict``.
        The up direction is always the unturned lift's: turned upright, a body lying or upside
        down would look upright to the up head too (taken from the turned lifts, the benchmark's
        acrobatics leaned 5 degrees more)."""
        features = clip_features(keypoints, image_size, confidence, world if self.reads_world else None,
                                 self.features_version)
        pose, up = self._predict(features)
        if self.upright_turn:
            pose = self._turned_upright(features, pose)
        if self.image_pull and not self.causal:
            pose = pulled_to_image(pose, keypoints, features[..., 2], image_size)
        return Lifted(pose.astype(np.float32), None if up is None else _unit(up).astype(np.float32))

    def _predict(self, features: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        if self.output_mode == "valid":
            return self._predict_valid(features)
        return self._predict_windows(features)

    def _turned_upright(self, features: np.ndarray, pose: np.ndarray) -> np.ndarray:
        """``pose`` (T, 17, 3), lifted from ``features`` as filmed, with the frames of
        :func:`upright_turns` lifted again turned upright, turned back and crossfaded in."""
        turns = upright_turns(features)
        if not turns.any():
            return pose
        blended = np.zeros(pose.shape, dtype=np.float64)
        total = np.zeros(len(pose), dtype=np.float64)
        for turn in np.unique(turns):
            weight = gaussian_smooth((turns == turn).astype(np.float64), UPRIGHT_TURN_FADE_FRAMES)
            if turn == 0.0:
                lifted = pose
            else:
                angle = np.radians(turn)
                lifted = rolled_xy(self._predict(roll_features(features, angle))[0], -angle)
            blended += weight[:, None, None] * lifted
            total += weight
        return (blended / total[:, None, None]).astype(pose.dtype)

    def _run(self, batch: np.ndarray) -> np.ndarray:
        """Model on (B, T, 17, C) features -> (B, T_out, 17 * 3 [+ 3]): the pose, flattened, and
        the up direction when the model predicts it; with flip, :func:`flip_averaged`."""
        return _packed(*(flip_averaged(self._run_model, batch) if self.flip else self._run_model(batch)))

    def _unpacked(self, out: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """(T, 17 * 3 [+ 3]) -> pose (T, 17, 3) and up (T, 3) or None."""
        pose = out[:, : NUM_JOINTS * 3].reshape(len(out), NUM_JOINTS, 3)
        return pose, (out[:, NUM_JOINTS * 3 :] if self.predicts_up else None)

    def _predict_valid(self, features: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        frames, field, left = len(features), self.receptive_field, self.output_offset
        padded = np.pad(features, ((left, field - 1 - left), (0, 0), (0, 0)), mode="edge")
        out = np.empty((frames, NUM_JOINTS * 3 + 3 * self.predicts_up), dtype=np.float32)
        for start in range(0, frames, self.chunk_frames):
            stop = min(start + self.chunk_frames, frames)
            out[start:stop] = self._run(padded[None, start : stop + field - 1])[0]
        return self._unpacked(out)

    def _predict_windows(self, features: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        frames, window = len(features), self.window
        if frames < window:
            left = (window - frames) // 2
            padded = np.pad(features, ((left, window - frames - left), (0, 0), (0, 0)), mode="edge")
            return self._unpacked(self._run(padded[None])[0, left : left + frames])
        # Windows overlapping by half, blended with weights that fall towards each window's edges:
        # an edge frame sees context on one side only, and back-to-back windows jump there. The
        # last window is aligned with the end. Costs about twice the model calls of no overlap.
        starts = list(range(0, frames - window + 1, max(1, window // 2)))
        if starts[-1] + window < frames:
            starts.append(frames - window)
        ramp = np.minimum(np.arange(1, window + 1), np.arange(window, 0, -1)).astype(np.float32)
        total = np.zeros((frames, NUM_JOINTS * 3 + 3 * self.predicts_up), dtype=np.float32)
        weight = np.zeros(frames, dtype=np.float32)
        per_call = max(1, self.chunk_frames // window)
        for first in range(0, len(starts), per_call):
            group = starts[first : first + per_call]
            out = self._run(np.stack([features[s : s + window] for s in group]))
            for s, window_out in zip(group, out):
                total[s : s + window] += ramp[:, None] * window_out
                weight[s : s + window] += ramp
        return self._unpacked(total / weight[:, None])


def _packed(pose: np.ndarray, up: np.ndarray | None) -> np.ndarray:
    """(B, T, 17, 3) and (B, T, 3) or None -> (B, T, 17 * 3 [+ 3]): one array to chunk and blend."""
    flat = pose.reshape(pose.shape[0], pose.shape[1], -1)
    return flat if up is None else np.concatenate([flat, up], axis=-1)


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-9)


def _check_image_size(image_size: Any) -> tuple[float, float]:
    if isinstance(image_size, (str, bytes)):  # "12" would otherwise unpack as (1, 2)
        raise ValueError(f"image_size must be (width, height) in pixels, got {image_size!r}")
    try:
        width, height = (float(v) for v in image_size)
    except (TypeError, ValueError):
        raise ValueError(f"image_size must be (width, height) in pixels, got {image_size!r}") from None
    if not (np.isfinite(width) and np.isfinite(height) and width > 0 and height > 0):
        raise ValueError(f"image_size must be positive and finite (width, height), got {image_size!r}")
    return width, height


def load_lifter(
    path: str | os.PathLike | None = None,
    flip: bool = True,
    num_threads: int | None = None,
    chunk_frames: int = DEFAULT_CHUNK_FRAMES,
    upright_turn: bool = True,
    image_pull: bool = True,
) -> Lifter:
    """Load a lifter from an ``.onnx`` model or a ``.pt`` training checkpoint.

    path: None loads the default model shipped in ``repose_core/assets``.
    flip: test-time flip augmentation (costs a second model pass; worth it for accuracy).
    num_threads: CPU threads for onnxruntime; None uses the cores this process may run on.
    chunk_frames: output frames per model call (bounds memory on long sequences).
    upright_turn: lift bodies lying or upside down in the image turned upright (:func:`upright_turns`;
    another model pass over the clip per turn it needs, none for a person on their feet).
    image_pull: move the knees, ankles, elbows and wrists halfway toward the detector's joints
    (:func:`repose_core.image_fit.pulled_to_image`; no model pass). Not for a causal model, whose
    frames must never depend on later ones: the pull is smoothed over the frames around each.
    Raises :class:`LifterLoadError` naming the file for anything wrong with it.
    """
    if path is None:
        if not DEFAULT_LIFTER_PATH.is_file():
            raise LifterLoadError(
                f"no default lifter is installed ({DEFAULT_LIFTER_PATH} does not exist). Train one with "
                "`python -m train fit --config train/configs/default_cpu.yaml` and export it with "
                "`python -m train export` (or pass path= to a .onnx / .pt lifter)"
            )
        path = DEFAULT_LIFTER_PATH
    path = Path(path)
    if not path.is_file():
        raise LifterLoadError(f"{path}: no such model file")
    suffix = path.suffix.lower()
    if suffix == ".onnx":
        run_model, metadata = _load_onnx(path, num_threads)
        backend = "onnxruntime"
    elif suffix == ".pt":
        run_model, metadata = _load_checkpoint(path)
        backend = "torch"
    else:
        raise LifterLoadError(f"{path}: unknown model file type {path.suffix!r}; expected .onnx or .pt")
    return Lifter(run_model, metadata, path, backend, flip=flip, chunk_frames=chunk_frames,
                  upright_turn=upright_turn, image_pull=image_pull)


def _short(error: BaseException) -> str:
    """First line of an error, for messages that should not drown the user in C++ traces."""
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0][:300] if text else ''}"


def _usable_cores() -> int:
    """Cores this process may run on (a container's or taskset's share, not the host's count)."""
    if hasattr(os, "sched_getaffinity"):  # Linux; macOS and Windows have only cpu_count
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _load_onnx(path: Path, num_threads: int | None) -> tuple[RunModel, dict]:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.intra_op_num_threads = num_threads or _usable_cores()
    options.inter_op_num_threads = 1
    options.log_severity_level = 3  # errors only: warnings about unused initialisers are noise
    try:
        session = ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])
    except Exception as error:  # onnxruntime raises its own types for corrupt / truncated files
        raise LifterLoadError(f"{path}: not a readable ONNX model ({_short(error)})") from error
    raw = session.get_modelmeta().custom_metadata_map.get(ONNX_METADATA_KEY)
    if raw is None:
        raise LifterLoadError(f"{path}: not a RePOSE lifter (no {ONNX_METADATA_KEY!r} metadata in the ONNX file)")
    try:
        metadata = json.loads(raw)
    except json.JSONDecodeError as error:
        raise LifterLoadError(f"{path}: RePOSE metadata is not valid JSON ({error})") from error
    metadata = validate_metadata(metadata, str(path))
    inputs, outputs = session.get_inputs(), session.get_outputs()
    declared = model_outputs(metadata)
    names = [o.name for o in outputs]
    # One output is the pose whatever its name; with the up direction they go by name.
    if len(inputs) != 1 or len(names) != len(declared) or (len(names) > 1 and names != declared):
        raise LifterLoadError(f"{path}: a lifter has one input and the outputs {declared}, this model "
                              f"has {len(inputs)} inputs and {names}")
    shape, channels = inputs[0].shape, metadata["input_channels"]
    if len(shape) != 4 or shape[2:] != [NUM_JOINTS, channels]:
        raise LifterLoadError(
            f"{path}: model input shape {shape} is not (batch, time, {NUM_JOINTS}, {channels})"
        )
    input_name = inputs[0].name

    def run_model(batch: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        out = session.run(names, {input_name: np.ascontiguousarray(batch, dtype=np.float32)})
        return out[0], (out[1] if len(out) > 1 else None)

    return run_model, metadata


def _load_checkpoint(path: Path) -> tuple[RunModel, dict]:
    try:
        import torch
    except ImportError as error:
        raise LifterLoadError(
            f"{path}: .pt checkpoints need PyTorch, which is not installed; use the .onnx export"
        ) from error
    from .models import model_from_metadata

    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # truncated zip, pickle errors, disallowed globals...
        raise LifterLoadError(f"{path}: not a readable PyTorch checkpoint ({_short(error)})") from error
    if not isinstance(checkpoint, dict) or "metadata" not in checkpoint or "model" not in checkpoint:
        raise LifterLoadError(f"{path}: not a RePOSE checkpoint (needs a dict with 'metadata' and 'model')")
    metadata = validate_metadata(checkpoint["metadata"], str(path))
    try:
        model = model_from_metadata(metadata, checkpoint["model"])
    except (ValueError, RuntimeError) as error:
        raise LifterLoadError(f"{path}: weights do not fit the model in its metadata ({_short(error)})") from error
    predicts_up = UP_OUTPUT in model_outputs(metadata)

    def run_model(batch: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        with torch.inference_mode():
            features = torch.from_numpy(np.ascontiguousarray(batch, dtype=np.float32))
            if not predicts_up:
                return model(features).numpy(), None
            pose, up = model.forward_with_up(features)
            return pose.numpy(), up.numpy()

    return run_model, metadata
