"""Detector-like 2D from projected mocap: what MediaPipe does to joints it can and cannot see.

Three sources of "not seen", all vectorised over whole batches (B, T, 17):
1. Geometric self-occlusion: the body is a set of capsules (torso, limbs, head); a joint is
   occluded when the segment from the camera to the joint passes through a capsule that is not
   the joint's own. The segment stops short of the joint by the joint's own radius, so a joint
   on the surface of the torso (a hip, a shoulder) is not hidden by the torso it sits in, yet is
   hidden when the torso lies between it and the camera (tested in the image plane, see
   :func:`self_occlusion`). The nose is occluded when the face
   looks away from the camera; joints outside the image are occluded too.
2. Occluders: boxes (a passer-by, furniture, a pole) sliding across the person over the window.
3. Dropped frames: runs of frames with no detection; as in the runtime, their keypoints are
   interpolated over time and their confidence is 0.

Detector behaviour then follows the mask: visible joints get small white jitter and high
confidence (MediaPipe visibility ~0.9-1.0); occluded joints get a larger error that drifts
smoothly over time (a detector guesses a plausible, slowly moving position, it does not jump
about) and low confidence (~0.1-0.6). Errors are relative to the person's size in the image,
so they mean the same at any resolution and distance. The synthesised joints (pelvis, spine,
thorax, head) are rebuilt from the corrupted 2D of their sources by the MediaPipe mapping's
rules, with the minimum confidence of their sources (docs/joint_definitions.md).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from repose_core.skeleton import JOINT_INDEX, NUM_JOINTS

from .cameras import CameraBatch

J = JOINT_INDEX
# (a, b, radius m): the body as capsules between joints. The torso is its centre line plus its
# four sides, which together fill a ~35 x 20 cm trunk.
CAPSULES: tuple[tuple[int, int, float], ...] = (
    (J["pelvis"], J["thorax"], 0.09),
    (J["l_shoulder"], J["l_hip"], 0.06), (J["r_shoulder"], J["r_hip"], 0.06),
    (J["thorax"], J["l_shoulder"], 0.06), (J["thorax"], J["r_shoulder"], 0.06),
    (J["pelvis"], J["l_hip"], 0.07), (J["pelvis"], J["r_hip"], 0.07),
    (J["l_hip"], J["l_knee"], 0.07), (J["r_hip"], J["r_knee"], 0.07),
    (J["l_knee"], J["l_ankle"], 0.05), (J["r_knee"], J["r_ankle"], 0.05),
    (J["l_shoulder"], J["l_elbow"], 0.045), (J["r_shoulder"], J["r_elbow"], 0.045),
    (J["l_elbow"], J["l_wrist"], 0.04), (J["r_elbow"], J["r_wrist"], 0.04),
    (J["neck_nose"], J["head"], 0.09),
)
# How far inside the body each joint centre lies (its own radius), metres.
JOINT_DEPTH: dict[str, float] = {
    "r_hip": 0.08, "l_hip": 0.08, "r_knee": 0.06, "l_knee": 0.06, "r_ankle": 0.05,
    "l_ankle": 0.05, "l_shoulder": 0.06, "r_shoulder": 0.06, "l_elbow": 0.045,
    "r_elbow": 0.045, "l_wrist": 0.04, "r_wrist": 0.04, "head": 0.05, "neck_nose": 0.0,
}
# Joints a detector sees directly; the others are built from them (joint -> sources).
SYNTHESISED: dict[int, tuple[int, ...]] = {
    J["pelvis"]: (J["l_hip"], J["r_hip"]),
    J["thorax"]: (J["l_shoulder"], J["r_shoulder"]),
    J["spine"]: (J["l_hip"], J["r_hip"], J["l_shoulder"], J["r_shoulder"]),
}
DIRECT: tuple[int, ...] = tuple(j for j in range(NUM_JOINTS) if j not in SYNTHESISED)
_FACE_AWAY_COS = 0.2  # nose hidden once the face turns more than ~80 deg from the camera


@dataclass(frozen=True)
class OcclusionConfig:
    """Knobs of the simulated detector. Lengths are fractions of the person's 2D bounding-box
    diagonal; times are in frames."""

    self_occlusion: bool = True
    visible_jitter: float = 0.004         # std of white jitter on visible joints
    occluded_error: float = 0.06          # std of the smooth error on occluded joints
    error_smoothness: float = 6.0         # Gaussian sigma (frames) of that error over time
    # mean, std; MediaPipe's visibility on the shared clips: median 0.99-1.0, 25th pct 0.93-0.98
    # (bench/bench_2d_gap.py); occluded joints read ~0.1-0.6.
    visible_confidence: tuple[float, float] = (0.985, 0.02)
    occluded_confidence: tuple[float, float] = (0.35, 0.15)
    occluder_probability: float = 0.3     # windows with a box sliding across the person
    occluder_size: tuple[float, float] = (0.2, 0.6)
    drop_probability: float = 0.2         # windows with a run of dropped frames
    max_dropped: int = 8
    # Windows where the detector flags nothing: every joint visible and confident, small jitter
    # only. Real detectors often report self-occluded limbs with high confidence (MediaPipe's
    # visibility stays high behind the torso), so a lifter must not read "confident" as "in
    # front"; these windows also cover clean 2D (mocap projections, a perfect detector).
    clean_probability: float = 0.0


def self_occlusion(cam: np.ndarray) -> np.ndarray:
    """(..., 17) bool: joints hidden by the body, for camera-frame joints (..., 17, 3) with the
    camera at the origin. Synthesised joints are left False (see :func:`simulate_detector`).

    Tested in the image plane, where it is cheap: a capsule hides joint j when the joint's
    normalised image point lies within the capsule's projected radius of its projected axis,
    and the capsule's near surface along that ray is in front of the joint by more than the
    joint's own depth inside the body. (Depth along the projected axis is interpolated
    linearly; the body's depth span is small next to its distance from the camera.)
    """
    cam = cam.astype(np.float32, copy=False)
    z = np.maximum(cam[..., 2], 1e-3)                                  # (..., 17)
    qx, qy = cam[..., 0] / z, cam[..., 1] / z                          # normalised image
    ca = np.array([c[0] for c in CAPSULES])
    cb = np.array([c[1] for c in CAPSULES])
    radius2 = np.array([c[2] for c in CAPSULES], dtype=np.float32) ** 2
    # x and y are kept as separate arrays: reductions over a length-2 axis are slow in numpy.
    ax, ay, za = qx[..., ca, None], qy[..., ca, None], z[..., ca, None]  # (..., K, 1)
    dx, dy, dz = qx[..., cb, None] - ax, qy[..., cb, None] - ay, z[..., cb, None] - za
    dd = np.maximum(dx * dx + dy * dy, 1e-12)
    rx = qx[..., None, :] - ax                                         # (..., K, 17)
    ry = qy[..., None, :] - ay
    u = np.clip((rx * dx + ry * dy) / dd, 0.0, 1.0)
    ox, oy = rx - u * dx, ry - u * dy
    zc = za + u * dz                                                   # capsule depth there
    lateral2 = (ox * ox + oy * oy) * zc * zc                           # metres^2 from its axis
    near = zc - np.sqrt(np.maximum(radius2[:, None] - lateral2, 0.0))  # its near surface
    depth = np.array([JOINT_DEPTH.get(n, 0.0) for n in J], dtype=np.float32)
    hits = (lateral2 < radius2[:, None]) & (near < (z - depth)[..., None, :])   # (..., K, 17)
    own = (ca[:, None] == np.arange(NUM_JOINTS)) | (cb[:, None] == np.arange(NUM_JOINTS))
    hidden = (hits & ~own).any(-2)
    # The nose: hidden when the face (nose off the thorax-head axis) points away from the camera.
    nose, thorax, head = cam[..., J["neck_nose"], :], cam[..., J["thorax"], :], cam[..., J["head"], :]
    axis = head - thorax
    axis = axis / np.maximum(np.linalg.norm(axis, axis=-1, keepdims=True), 1e-9)
    face = nose - thorax
    face = face - (face * axis).sum(-1, keepdims=True) * axis
    face = face / np.maximum(np.linalg.norm(face, axis=-1, keepdims=True), 1e-9)
    view = nose / np.maximum(np.linalg.norm(nose, axis=-1, keepdims=True), 1e-9)
    hidden[..., J["neck_nose"]] |= (face * view).sum(-1) > _FACE_AWAY_COS
    for j in SYNTHESISED:
        hidden[..., j] = False
    return hidden


def smooth_noise(rng: np.random.Generator, shape: tuple[int, ...], sigma: float) -> np.ndarray:
    """Unit-variance Gaussian noise smoothed over axis 1 (time) by a Gaussian of ``sigma``
    frames (FFT convolution on a padded buffer, so windows have no wrap-around)."""
    if sigma <= 0:
        return rng.standard_normal(shape)
    half = int(np.ceil(3 * sigma))
    kernel = np.exp(-0.5 * (np.arange(-half, half + 1) / sigma) ** 2)
    kernel /= np.sqrt((kernel**2).sum())   # unit variance of the output
    t = shape[1]
    n = t + 2 * half
    white = rng.standard_normal((shape[0], n) + shape[2:])
    k = np.zeros(n)
    k[: 2 * half + 1] = kernel
    spec = np.fft.rfft(white, axis=1) * np.fft.rfft(k).reshape((1, -1) + (1,) * (len(shape) - 2))
    return np.fft.irfft(spec, n=n, axis=1)[:, 2 * half : 2 * half + t]


def _occluder_mask(pixels: np.ndarray, box_scale: np.ndarray, rng: np.random.Generator,
                   config: OcclusionConfig) -> np.ndarray:
    """(B, T, 17): joints behind a box that slides across the person during the window."""
    b, t = pixels.shape[:2]
    has = rng.random(b) < config.occluder_probability
    centre = np.nanmedian(pixels, axis=(1, 2))                        # (B, 2)
    half = 0.5 * rng.uniform(*config.occluder_size, (b, 2)) * box_scale[:, None]
    travel = rng.uniform(-1.5, 1.5, (b, 2, 2)) * box_scale[:, None, None]  # start, end offsets
    frac = np.linspace(0.0, 1.0, t)[None, :, None]
    path = centre[:, None] + travel[:, None, 0] + (travel[:, None, 1] - travel[:, None, 0]) * frac
    inside = (np.abs(pixels - path[:, :, None]) < half[:, None, None]).all(-1)
    return inside & has[:, None, None]


def _dropped_frames(b: int, t: int, rng: np.random.Generator, config: OcclusionConfig) -> np.ndarray:
    """(B, T) bool: one run of dropped frames in some windows."""
    has = rng.random(b) < config.drop_probability
    length = rng.integers(1, config.max_dropped + 1, b)
    start = rng.integers(0, np.maximum(t - length, 0) + 1)
    frames = np.arange(t)[None]
    return has[:, None] & (frames >= start[:, None]) & (frames < (start + length)[:, None])


def _interpolate_dropped(pixels: np.ndarray, dropped: np.ndarray) -> np.ndarray:
    """Fill dropped frames (B, T) by linear interpolation between the nearest kept frames (held
    at the window's ends), as the runtime fills missing detections."""
    b, t = dropped.shape
    frames = np.broadcast_to(np.arange(t), (b, t))
    kept = np.where(~dropped, frames, -1)
    prev = np.maximum.accumulate(kept, axis=1)
    nxt = np.where(~dropped, frames, t)
    nxt = np.minimum.accumulate(nxt[:, ::-1], axis=1)[:, ::-1]
    none_before, none_after = prev < 0, nxt >= t
    prev = np.where(none_before, nxt, prev).clip(0, t - 1)
    nxt = np.where(none_after, prev, nxt).clip(0, t - 1)
    span = np.maximum(nxt - prev, 1)
    w = np.where(nxt > prev, (frames - prev) / span, 0.0)[..., None, None]
    rows = np.arange(b)[:, None]
    filled = (1 - w) * pixels[rows, prev] + w * pixels[rows, nxt]
    return np.where(dropped[..., None, None], filled, pixels)


def simulate_detector(
    cam: np.ndarray,
    pixels: np.ndarray,
    cameras: CameraBatch,
    rng: np.random.Generator,
    config: OcclusionConfig,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Detector-like keypoints (B, T, 17, 2), confidence (B, T, 17) and the occlusion mask
    (B, T, 17) bool from camera-frame joints (B, T, 17, 3) and their projections."""
    b, t = pixels.shape[:2]
    lo, hi = pixels.min(axis=(1, 2)), pixels.max(axis=(1, 2))
    box_scale = np.linalg.norm(hi - lo, axis=-1)                       # (B,) bbox diagonal, px
    size = cameras.size[:, None, None, :]
    occluded = ((pixels < 0) | (pixels > size)).any(-1)                # out of the image
    if config.self_occlusion:
        occluded |= self_occlusion(cam)
    occluded |= _occluder_mask(pixels, box_scale, rng, config)
    dropped = _dropped_frames(b, t, rng, config)
    occluded |= dropped[..., None]
    if config.clean_probability > 0:   # no draw at 0: the default detector's stream is unchanged
        clean = rng.random(b) < config.clean_probability
        occluded[clean] = False
        dropped[clean] = False
    # A synthesised joint counts as occluded when none of its sources was seen (its 2D then
    # carries the full occluded error); its confidence is still the minimum of its sources.
    for j, sources in SYNTHESISED.items():
        occluded[..., j] = occluded[..., list(sources)].all(-1)

    # Soft mask: errors and confidence change over a few frames, not in one step.
    soft = occluded.astype(np.float64)
    if config.error_smoothness > 0:
        soft = np.maximum(soft, _blur_time(soft, config.error_smoothness / 2))
    scale = box_scale[:, None, None, None]
    error = (config.visible_jitter * rng.standard_normal(pixels.shape)
             + soft[..., None] * config.occluded_error
             * smooth_noise(rng, pixels.shape, config.error_smoothness)) * scale
    noisy = pixels + error
    vis_mean, vis_std = config.visible_confidence
    occ_mean, occ_std = config.occluded_confidence
    conf_vis = vis_mean + vis_std * smooth_noise(rng, occluded.shape, config.error_smoothness)
    conf_occ = occ_mean + occ_std * smooth_noise(rng, occluded.shape, config.error_smoothness)
    confidence = np.clip((1 - soft) * np.minimum(conf_vis, 0.999) + soft * conf_occ, 0.01, 0.999)

    # Synthesised joints from the corrupted sources, as the MediaPipe mapping builds them.
    for j, sources in SYNTHESISED.items():
        noisy[..., j, :] = noisy[..., list(sources), :].mean(-2)
        confidence[..., j] = confidence[..., list(sources)].min(-1)
    head_sources = [J["head"], J["l_shoulder"], J["r_shoulder"]]
    confidence[..., J["head"]] = confidence[..., head_sources].min(-1)

    noisy = _interpolate_dropped(noisy, dropped)
    confidence[dropped] = 0.0
    return noisy, confidence, occluded


def _blur_time(x: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur along axis 1 with edge padding (for the soft occlusion mask)."""
    half = int(np.ceil(3 * sigma))
    kernel = np.exp(-0.5 * (np.arange(-half, half + 1) / sigma) ** 2)
    kernel /= kernel.sum()
    padded = np.concatenate([np.repeat(x[:, :1], half, 1), x, np.repeat(x[:, -1:], half, 1)], 1)
    out = np.zeros_like(x)
    for k, w in enumerate(kernel):   # 2*half+1 shifted adds, each over the whole batch
        out += w * padded[:, k : k + x.shape[1]]
    return out
